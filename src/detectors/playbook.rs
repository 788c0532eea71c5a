//! What to check next, per rule: one or two sentences an analyst reads beside a finding, from
//! the detection catalogue's notes (`detections.md`) and common triage practice.

/// The next steps for a rule's findings, keyed by rule id.
const STEPS: &[(&str, &str)] = &[
    (
        "audit-log-tampering",
        "Restore logging first, then list everything the same actor and address did from an hour before to the end of the gap: tampering usually hides what follows.",
    ),
    (
        "root-or-breakglass-use",
        "Confirm with the account's owners that the use was planned; if not, rotate the root or break-glass credentials and review every action of that session.",
    ),
    (
        "console-signin-without-mfa",
        "Check whether the user has an MFA device and whether the address is known; enforce MFA and review the session's privileged actions.",
    ),
    (
        "aws-admin-policy-attached",
        "Check who approved the attachment and whether the target used the new rights; detach the policy if it was not planned.",
    ),
    (
        "aws-policy-version-escalation",
        "Compare the new policy version with the previous one and revert it if it widens access; check who assumed roles under it since.",
    ),
    (
        "privileged-role-assigned",
        "Verify the grant with the grantee's manager or a change ticket; look at what the grantee did with the role afterwards and remove it if unexplained.",
    ),
    (
        "k8s-privileged-rbac-binding",
        "Check the binding's subjects and who created it; delete it if unplanned and review what those subjects did in the cluster since.",
    ),
    (
        "credential-created-for-other-identity",
        "Find where the new credential was used (its key id or the target identity's later events, from which addresses) and disable it if nobody asked for it.",
    ),
    (
        "mfa-or-conditional-access-weakened",
        "Restore the factor or policy, then review sign-ins that the weaker setting allowed, especially new addresses for the affected users.",
    ),
    (
        "oauth-consent-high-privilege",
        "Review the application's publisher, its granted scopes and who consented; revoke the grant if the app is not known and check its sign-ins.",
    ),
    (
        "k8s-exec-into-pod",
        "Check what the pod holds (secrets, service account token) and whether the actor normally debugs it; review commands from the same actor around it.",
    ),
    (
        "k8s-secret-access",
        "List which secrets were read and rotate those the actor had no need for; check whether the values were used elsewhere afterwards.",
    ),
    (
        "k8s-anonymous-or-impersonated-privileged",
        "Check the API server's anonymous-auth and impersonation permissions; list every request of that identity and remove the access that allowed it.",
    ),
    (
        "unusual-role-assumption",
        "Confirm the cross-account trust is expected and who uses it; review what the assumed session did.",
    ),
    (
        "resource-made-public",
        "Revert the policy or visibility, then check access logs for reads from outside the organization since the change.",
    ),
    (
        "security-group-open-to-world",
        "Close the rule or limit it to known networks, and check connections to the exposed ports since it opened.",
    ),
    (
        "organization-left",
        "Treat as an escape from organization controls: contact the account owner, and check who held the management rights that allowed it.",
    ),
    (
        "roles-anywhere-trust-anchor",
        "Check whose CA the anchor trusts and which roles its profiles grant; remove it if unknown and review sessions created through it.",
    ),
    (
        "cloud-secrets-bulk-read",
        "List the secrets read and rotate them if the identity had no need; look for their use from new addresses afterwards.",
    ),
    (
        "remote-command-on-instances",
        "Read the commands or session logs sent to the instances, and check whether the actor administers them normally.",
    ),
    (
        "instance-data-harvest",
        "Check whether the user data or passwords read contain secrets and rotate them; review the actor's other reads.",
    ),
    (
        "instance-user-data-replaced",
        "Compare the new boot script with the old one and check what ran at the next start; restore it if unplanned.",
    ),
    (
        "unusual-instance-launch",
        "Check the instances' purpose and owner; stop them if unexplained (crypto-mining is the common case) and review the launching identity.",
    ),
    (
        "lambda-function-modified",
        "Diff the function code or layers against the deployed version from the pipeline; check invocations since the change.",
    ),
    (
        "bedrock-model-invoked",
        "Check who enabled model access and what the invocations cost; disable access if it was not planned (LLM-jacking).",
    ),
    (
        "instance-credentials-used-elsewhere",
        "Instance role credentials left the instance: revoke the role's sessions, find the instance's compromise (SSRF, metadata access) and review the calls from the outside address.",
    ),
    (
        "provider-risk-signal",
        "Read the provider's risk detail for the sign-in, confirm with the user, and reset credentials if it was not them.",
    ),
    (
        "jit-control-bypass",
        "Check why the role was assigned outside the approval workflow and restore the workflow's settings; remove the direct assignment if unjustified.",
    ),
    (
        "signin-failure-burst",
        "Check whether a success followed from the same address and whether the account got locked; block the address if it is not the user's.",
    ),
    (
        "password-spray",
        "Check which targeted accounts then signed in successfully (from this address or others) and reset those; block the address.",
    ),
    (
        "mfa-fatigue",
        "Confirm with the user whether they approved the prompt; if not, revoke their sessions, reset the password and review what followed the approval.",
    ),
    (
        "signin-success-after-failures",
        "Treat the account as taken over until the user confirms the sign-in: revoke sessions, reset credentials and review what the session did.",
    ),
    (
        "mass-destruction",
        "Stop the actor's access, check backups and snapshots of the destroyed resources, and look for earlier signs of compromise of the actor.",
    ),
    (
        "mass-identity-deletion",
        "Suspend the actor, restore the deleted identities where possible, and check whether admins were locked out.",
    ),
    (
        "access-denied-burst",
        "Denied calls across services often mean discovery with stolen credentials: check the address and user agent, and what the same credentials did successfully.",
    ),
    (
        "off-hours-privileged-action",
        "Ask the actor whether they worked at that time; look at the same session's other actions and its source address.",
    ),
    (
        "dormant-identity-reactivated",
        "Confirm the identity's owner still needs it; check the source and what it did, and disable it if nobody claims it.",
    ),
    (
        "first-seen-source-for-privileged-action",
        "Check whether the new address, country or user agent is the actor's (travel, new device) and what else came from it.",
    ),
    (
        "non-human-identity-anomaly",
        "Service identities should not sign in interactively or move networks: find who holds its secret, rotate it and review its actions.",
    ),
    (
        "rare-action-for-actor",
        "Check whether the action fits the actor's role or a planned change; it matters most next to other findings about the same actor.",
    ),
    (
        "impossible-travel",
        "Compare the two sign-ins' devices and addresses (VPN, proxy); if one is not the user's, revoke sessions and reset credentials.",
    ),
    (
        "jit-grant-not-revoked-or-overused",
        "Remove the grant that outlived its window and review what was done with it after it should have ended.",
    ),
    (
        "nhi-secret-hygiene",
        "Retire the old or sprawling credentials of the identity and check where each one is used from.",
    ),
    (
        "permission-creep",
        "Review the identity's held grants with its owner and remove the ones it no longer uses.",
    ),
    (
        "log-integrity-gap",
        "Check the log pipeline for the gap (delivery, retention, tampering) and whether findings fall right before or after it.",
    ),
];

/// What to check next after a finding of `rule`.
pub fn next_steps(rule: &str) -> Option<&'static str> {
    STEPS.iter().find(|(id, _)| *id == rule).map(|(_, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_rule_says_what_to_check_next() {
        let missing: Vec<&str> = crate::detectors::catalogue()
            .iter()
            .map(|r| r.id)
            .filter(|id| next_steps(id).is_none_or(|s| s.is_empty()))
            .collect();
        assert!(missing.is_empty(), "no next steps for {missing:?}");
        let known: Vec<&str> = crate::detectors::catalogue().iter().map(|r| r.id).collect();
        let stale: Vec<&str> = STEPS
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| !known.contains(id))
            .collect();
        assert!(stale.is_empty(), "next steps for unknown rules {stale:?}");
    }
}
