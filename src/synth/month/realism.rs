//! What real organisations log besides the teams' routines, and what a detector tuned on
//! tidy data mistakes for attacks: Kubernetes kubelets and controllers around the clock
//! (secrets read on Sundays, a node-pool upgrade that moves nodes and pods to new /24s of
//! the cluster's ranges, pods evicted, requests logged at two stages), Entra sign-ins in
//! both export shapes (diagnostic records and Graph pages) and all four categories
//! (non-interactive ones riding on an MFA claim, managed identities), PIM activations
//! carried out by Microsoft's own `MS-PIM` and expiring on time, people re-enrolling their
//! MFA, a night-shift admin, colleagues flying between offices on real flight times, a
//! user mistyping a password a few times and a help desk resetting several passwords.
//! Nothing here is planted: every medium-or-higher finding on it is noise.

use serde_json::{Value, json};

use super::{DAYS, Day, HOUR, MINUTE, Member, START, TEAMS, Work, local, workday};
use crate::synth::{
    DAY, Person, Rng, SECOND, TENANT, cloudtrail_user_event, entra_directory_audit, entra_signin,
    k8s_event, okta_event, rfc3339,
};

/// The day the node pool is upgraded (a Wednesday).
const UPGRADE_DAY: i64 = 16;

/// Adds a day of the realism above to `d`; Entra sign-ins exported as Graph pages go to
/// `graph`.
pub(super) fn realism(
    rng: &mut Rng,
    day: i64,
    members: &[Member],
    d: &mut Day,
    graph: &mut Vec<Value>,
) {
    kubernetes(rng, day, d);
    if workday(day) {
        entra_shapes(rng, day, members, d, graph);
        pim(rng, day, members, d);
        help_desk(rng, day, members, d);
    }
    mfa_reenrolment(rng, day, members, d);
    night_shift(rng, day, d);
    travel(rng, day, d);
}

fn kubernetes(rng: &mut Rng, day: i64, d: &mut Day) {
    let day_start = START + day * DAY;
    let upgraded = day >= UPGRADE_DAY;
    let pool = if upgraded { "pool-b" } else { "pool-a" };
    // Nodes and pods move to new /24s of the cluster's node and pod ranges.
    let node_net = if upgraded { "10.128.4" } else { "10.128.0" };
    let pod_net = if upgraded { "10.4.9" } else { "10.4.1" };
    for node in 0..3 {
        let name = format!("system:node:gke-prod-{pool}-{node}");
        let ip = format!("{node_net}.{}", 10 + node);
        // Kubelets fetch the secrets and config maps of their pods every hour, every day.
        for hour in 0..24 {
            let t = day_start + hour * HOUR + (node * 5 + rng.below(120) as i64) * SECOND;
            let verb_resource = if hour % 2 == 0 {
                ("get", "secrets")
            } else {
                ("get", "configmaps")
            };
            let mut e = k8s_event(
                rng,
                &name,
                &ip,
                t,
                verb_resource.0,
                verb_resource.1,
                "shop",
                200,
            );
            e["user"]["groups"] = json!(["system:nodes", "system:authenticated"]);
            e["userAgent"] = json!("kubelet/v1.29.2 (linux/amd64) kubernetes/4b8e819");
            d.k8s.push((t, e));
        }
    }
    // The shop's pods read their config around the clock from the pod range.
    for slot in 0..48 {
        let t = day_start + slot * 30 * MINUTE + rng.below(600) as i64 * SECOND;
        let ip = format!("{pod_net}.{}", 20 + slot % 5);
        let mut e = k8s_event(
            rng,
            "system:serviceaccount:shop:web",
            &ip,
            t,
            "get",
            "configmaps",
            "shop",
            200,
        );
        e["userAgent"] = json!("web/1.8.2 (linux/amd64) kubernetes/client-go");
        // A long-running watch is logged when received and when complete.
        if slot % 6 == 0 {
            let mut received = e.clone();
            received["stage"] = json!("RequestReceived");
            if let Some(o) = received.as_object_mut() {
                o.remove("responseStatus");
            }
            d.k8s.push((t, received));
        }
        d.k8s.push((t, e));
    }
    // Controllers of the control plane.
    for slot in 0..24 {
        let t = day_start + slot * HOUR + 30 * MINUTE + rng.below(300) as i64 * SECOND;
        for (user, verb, resource) in [
            (
                "system:serviceaccount:kube-system:deployment-controller",
                "update",
                "deployments",
            ),
            ("system:kube-scheduler", "create", "pods/binding"),
            ("system:kube-controller-manager", "update", "leases"),
        ] {
            let ns = if resource == "leases" {
                "kube-system"
            } else {
                "shop"
            };
            d.k8s.push((
                t,
                k8s_event(rng, user, "10.128.0.2", t, verb, resource, ns, 200),
            ));
        }
    }
    if day == UPGRADE_DAY {
        // The upgrade: the autoscaler removes the old nodes, the node controller evicts
        // their pods, new nodes register.
        let t0 = START + day * DAY + 14 * HOUR;
        for node in 0..3 {
            let t = t0 + node * 4 * MINUTE;
            let mut e = k8s_event(
                rng,
                "system:serviceaccount:kube-system:cluster-autoscaler",
                "10.128.0.3",
                t,
                "delete",
                "nodes",
                "",
                200,
            );
            e["objectRef"] = json!({"resource": "nodes", "name": format!("gke-prod-pool-a-{node}"), "apiVersion": "v1"});
            d.k8s.push((t, e));
            for pod in 0..3 {
                let t = t + (pod + 1) * 20 * SECOND;
                d.k8s.push((
                    t,
                    k8s_event(
                        rng,
                        "system:serviceaccount:kube-system:node-controller",
                        "10.128.0.2",
                        t,
                        "delete",
                        "pods",
                        "shop",
                        200,
                    ),
                ));
            }
            let t = t + 2 * MINUTE;
            let mut e = k8s_event(
                rng,
                &format!("system:node:gke-prod-pool-b-{node}"),
                &format!("10.128.4.{}", 10 + node),
                t,
                "create",
                "nodes",
                "",
                201,
            );
            e["objectRef"] = json!({"resource": "nodes", "name": format!("gke-prod-pool-b-{node}"), "apiVersion": "v1"});
            d.k8s.push((t, e));
        }
    }
}

/// The Entra sign-in categories besides interactive ones, and a Graph export of a team's
/// interactive sign-ins.
fn entra_shapes(rng: &mut Rng, day: i64, members: &[Member], d: &mut Day, graph: &mut Vec<Value>) {
    for m in members.iter().filter(|m| m.team == 1).take(12) {
        let start = local(TEAMS[m.team].tz, day, m.start, 0);
        // Outlook refreshing its token all day: non-interactive, MFA carried by the token.
        for i in 0..4 {
            let t = start + i * 2 * HOUR + rng.below(900) as i64 * SECOND;
            let mut e = entra_signin(rng, &m.upn, &m.ip, t, 0, "Microsoft Outlook");
            e["category"] = json!("NonInteractiveUserSignInLogs");
            let p = &mut e["properties"];
            p["isInteractive"] = json!(false);
            p["authenticationRequirement"] = json!("singleFactorAuthentication");
            p["clientAppUsed"] = json!("Mobile Apps and Desktop clients");
            p["status"]["additionalDetails"] =
                json!("MFA requirement satisfied by claim in the token");
            p["authenticationDetails"] = json!([
                {"authenticationMethod": "Previously satisfied", "succeeded": true, "authenticationStepResultDetail": "First factor requirement satisfied by claim in the token"},
                {"authenticationMethod": "Previously satisfied", "succeeded": true, "authenticationStepResultDetail": "MFA requirement satisfied by claim in the token"}
            ]);
            d.signins.push((t, e));
        }
        // The same team's interactive sign-ins as a Graph page (`auditLogs/signIns`).
        let t = start + 20 * MINUTE + rng.below(600) as i64 * SECOND;
        let e = entra_signin(rng, &m.upn, &m.ip, t, 0, "Azure Portal");
        let mut page = e["properties"].clone();
        page["location"] = json!({"city": "Berlin", "state": "Berlin", "countryOrRegion": "DE", "geoCoordinates": {"latitude": 52.52, "longitude": 13.4}});
        graph.push(page);
    }
    // A managed identity fetching its token every hour.
    for hour in 0..24 {
        let t = START + day * DAY + hour * HOUR + 12 * MINUTE;
        d.signins.push((
            t,
            json!({
                "time": rfc3339(t),
                "resourceId": format!("/tenants/{TENANT}/providers/Microsoft.aadiam"),
                "operationName": "Sign-in activity",
                "category": "ManagedIdentitySignInLogs",
                "tenantId": TENANT,
                "resultType": "0",
                "callerIpAddress": "10.1.0.12",
                "correlationId": rng.uuid(),
                "properties": {
                    "id": rng.uuid(),
                    "createdDateTime": rfc3339(t),
                    "servicePrincipalName": "func-invoice-export",
                    "servicePrincipalId": "7d6c5b4a-3f2e-4d1c-8b0a-9f8e7d6c5b4a",
                    "appId": "2b3c4d5e-6f70-4a81-9b2c-3d4e5f607182",
                    "ipAddress": "10.1.0.12",
                    "status": {"errorCode": 0},
                    "resourceDisplayName": "Azure Key Vault",
                    "managedIdentityType": "SystemAssigned"
                }
            }),
        ));
    }
}

/// An Entra audit record initiated by Microsoft's PIM service rather than a person.
fn by_ms_pim(mut e: Value) -> Value {
    e["initiatedBy"] = json!({"app": {"appId": null, "displayName": "MS-PIM", "servicePrincipalId": "ae3b1a5e-52b1-4a0c-9d64-3f3e1a2b5c6d", "servicePrincipalName": null}, "user": null});
    e["loggedByService"] = json!("PIM");
    e
}

/// PIM activations of roles outside Microsoft's privileged list, requested, approved,
/// carried out by MS-PIM and expired on time; one Global Reader activation a week.
fn pim(rng: &mut Rng, day: i64, members: &[Member], d: &mut Day) {
    let admins: Vec<&Member> = members
        .iter()
        .filter(|m| m.admin && matches!(TEAMS[m.team].work, Work::Identity | Work::Support))
        .collect();
    let Some(approver) = admins.first() else {
        return;
    };
    for m in admins.iter().skip(1).take(4) {
        if !rng.chance(0.3) {
            continue;
        }
        let role = *rng.pick(&[
            "Teams Administrator",
            "License Administrator",
            "Groups Administrator",
        ]);
        let role = if day % 7 == 2 && m.team == 1 {
            "Global Reader"
        } else {
            role
        };
        let t = local(TEAMS[m.team].tz, day, m.start + 1, rng.below(50) as i64);
        let hours = 2 + rng.below(3) as i64;
        let steps: [(i64, &Member, &str, bool); 5] = [
            (t, m, "Add member to role requested (PIM activation)", false),
            (
                t + 4 * MINUTE,
                approver,
                "Add member to role request approved (PIM activation)",
                false,
            ),
            (t + 5 * MINUTE, m, "Add member to role", true),
            (
                t + 5 * MINUTE,
                m,
                "Add member to role completed (PIM activation)",
                false,
            ),
            (
                t + 5 * MINUTE + hours * HOUR,
                m,
                "Remove member from role (PIM activation expired)",
                true,
            ),
        ];
        for (at, who, op, first_party) in steps {
            let e = entra_directory_audit(rng, &who.upn, &who.ip, at, op, &m.upn, Some(role));
            d.audits
                .push((at, if first_party { by_ms_pim(e) } else { e }));
        }
    }
}

/// The help desk resets a few passwords in a row on Monday mornings; a user mistypes
/// their password three times before getting it right.
fn help_desk(rng: &mut Rng, day: i64, members: &[Member], d: &mut Day) {
    let Some(desk) = members.iter().find(|m| TEAMS[m.team].work == Work::Support) else {
        return;
    };
    if day % 7 == 0 {
        let t = local(TEAMS[desk.team].tz, day, desk.start + 1, 0);
        for (i, m) in members.iter().step_by(7).take(5).enumerate() {
            let at = t + i as i64 * 3 * MINUTE;
            d.audits.push((
                at,
                entra_directory_audit(
                    rng,
                    &desk.upn,
                    &desk.ip,
                    at,
                    "Reset user password",
                    &m.upn,
                    None,
                ),
            ));
        }
    }
    let typo = &members[(day as usize * 5) % members.len()];
    let t = local(TEAMS[typo.team].tz, day, typo.start + 2, 10);
    for i in 0..3 {
        let at = t + i * 25 * SECOND;
        d.signins.push((
            at,
            entra_signin(
                rng,
                &typo.upn,
                &typo.ip,
                at,
                50126,
                "Office 365 Exchange Online",
            ),
        ));
    }
    let at = t + 2 * MINUTE;
    d.signins.push((
        at,
        entra_signin(
            rng,
            &typo.upn,
            &typo.ip,
            at,
            0,
            "Office 365 Exchange Online",
        ),
    ));
}

/// A few people a week replace their phone: they remove their old authenticator and
/// register the new one themselves (Entra security info, Okta factors).
fn mfa_reenrolment(rng: &mut Rng, day: i64, members: &[Member], d: &mut Day) {
    if !workday(day) {
        return;
    }
    let m = &members[(day as usize * 11 + 3) % members.len()];
    let t = local(TEAMS[m.team].tz, day, m.start + 3, rng.below(40) as i64);
    for (at, op) in [
        (t, "User deleted security info"),
        (t + 2 * MINUTE, "User registered security info"),
        (t + 3 * MINUTE, "User changed default security info"),
    ] {
        let mut e = entra_directory_audit(rng, &m.upn, &m.ip, at, op, &m.upn, None);
        e["category"] = json!("UserManagement");
        e["loggedByService"] = json!("Authentication Methods");
        d.audits.push((at, e));
    }
    for (at, event) in [
        (t + 5 * MINUTE, "user.mfa.factor.deactivate"),
        (t + 6 * MINUTE, "user.mfa.factor.activate"),
    ] {
        d.okta.push((
            at,
            okta_event(
                rng,
                &m.upn,
                "User",
                &m.ip,
                at,
                event,
                "SUCCESS",
                None,
                Some(("User", &m.upn)),
            ),
        ));
    }
}

/// An operations admin on the night shift (22:00-06:00 Chicago), doing routine IAM work.
fn night_shift(rng: &mut Rng, day: i64, d: &mut Day) {
    if !workday(day) {
        return;
    }
    let person = Person {
        login: "noc-admin",
        upn: "noc-admin@northwind.example",
        tz: "America/Chicago",
        hours: (22, 30),
        ip: "198.51.100.240",
        agent: "aws-cli/2.15.10 Python/3.11.6 Linux/6.5.0 exe/x86_64",
    };
    let start = local(person.tz, day, 22, 0);
    for i in 0..12 {
        let t = start + rng.below(8 * 3600) as i64 * SECOND;
        if t >= START + DAYS * DAY {
            continue; // the export ends with the month
        }
        let (name, source) = if i % 4 == 0 {
            ("AttachRolePolicy", "iam")
        } else {
            ("DescribeInstances", "ec2")
        };
        let mut e = cloudtrail_user_event(rng, &person, t, name, source, "");
        if name == "AttachRolePolicy" {
            e["requestParameters"] = json!({"roleName": "batch-worker", "policyArn": "arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"});
        }
        if let Some(o) = e.as_object_mut() {
            o.remove("errorCode");
            o.remove("errorMessage");
        }
        d.aws.push((t, e));
    }
}

/// The CEO flying between offices on real flight times: Berlin to New York (8 h 45 in
/// the air) and back a week later, then to Tokyo (12 h) and back. She signs in before
/// leaving and after landing, and from the hotel while away.
fn travel(rng: &mut Rng, day: i64, d: &mut Day) {
    const UPN: &str = "ceo@northwind.example";
    // (country, city, address, UTC hour her working day starts)
    let berlin = ("DE", "Berlin", "198.51.100.200", 7);
    let new_york = ("US", "New York", "192.0.2.77", 13);
    let tokyo = ("JP", "Tokyo", "192.0.2.150", 0);
    // (day, departure UTC hour, flight hours, from, to)
    let flights = [
        (8, 9, 9, berlin, new_york),
        (15, 22, 8, new_york, berlin),
        (22, 10, 12, berlin, tokyo),
        (28, 3, 13, tokyo, berlin),
    ];
    let mut sign_in = |rng: &mut Rng, t: i64, (country, city, ip, _): (&str, &str, &str, i64)| {
        let mut e = entra_signin(rng, UPN, ip, t, 0, "Office 365 Exchange Online");
        e["properties"]["location"] =
            json!({"city": city, "state": "", "countryOrRegion": country});
        d.signins.push((t, e));
    };
    if let Some((_, hour, hours, from, to)) = flights.iter().find(|f| f.0 == day) {
        let departure = START + day * DAY + hour * HOUR;
        sign_in(rng, departure - 40 * MINUTE, *from);
        sign_in(rng, departure + hours * HOUR + 50 * MINUTE, *to);
        return;
    }
    let place = match flights.iter().rev().find(|f| f.0 < day) {
        Some(f) => f.4,
        None => berlin,
    };
    if workday(day) {
        for _ in 0..2 {
            let t = START + day * DAY + place.3 * HOUR + rng.below(8 * 3600) as i64 * SECOND;
            sign_in(rng, t, place);
        }
    }
}
