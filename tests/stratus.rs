//! Stratus Red Team's own CloudTrail detonation logs (the real public samples under
//! `TRAILSCOPE_REAL_SAMPLES`, `cloudtrail/stratus-red-team/`, one file per technique): each
//! technique gives a finding at medium or higher, of the rule that judges it, carrying the
//! technique's ATT&CK id and the ids of the technique's own events from the file. Also: every
//! technique file in the folder (a new one too) gives a medium-or-higher finding, and every
//! real sample runs through every rule.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;
use trailscope::detectors::{Finding, Severity};

use crate::util::detect_dir;

/// The real samples' root (the tests are ignored without it).
fn root() -> PathBuf {
    let Some(root) = std::env::var_os("TRAILSCOPE_REAL_SAMPLES") else {
        panic!("TRAILSCOPE_REAL_SAMPLES is not set");
    };
    PathBuf::from(root)
}

fn technique_file(name: &str) -> PathBuf {
    root().join("cloudtrail/stratus-red-team").join(name)
}

/// The `eventID`s of the file's records whose `eventName` is one of `names`.
fn event_ids(path: &Path, names: &[&str]) -> BTreeSet<String> {
    let records: Vec<Value> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    records
        .iter()
        .filter(|r| names.contains(&r["eventName"].as_str().unwrap_or("")))
        .filter_map(|r| r["eventID"].as_str().map(str::to_string))
        .collect()
}

/// Asserts that the technique in `file` gives `rule` findings at medium or higher, that they
/// carry `technique`, and that together they name every event of `events` in the file.
#[track_caller]
fn detected(file: &str, rule: &str, technique: &str, events: &[&str]) {
    let path = technique_file(file);
    let findings = detect_dir(&path);
    let serious: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.rule == rule && f.severity >= Severity::Medium)
        .collect();
    assert!(
        !serious.is_empty(),
        "{file}: no {rule} finding at medium or higher; found {:#?}",
        findings
            .iter()
            .map(|f| (f.rule.as_str(), f.severity, f.reason.as_str()))
            .collect::<Vec<_>>()
    );
    for f in &serious {
        assert!(
            f.mitre.iter().any(|m| m == technique),
            "{file}: {rule} carries {:?}, not {technique}",
            f.mitre
        );
        assert!(!f.reason.is_empty());
    }
    let named: BTreeSet<&str> = serious
        .iter()
        .flat_map(|f| f.event_ids.iter().map(String::as_str))
        .collect();
    let wanted = event_ids(&path, events);
    assert!(!wanted.is_empty(), "{file}: no {events:?} events");
    for id in &wanted {
        assert!(
            named.contains(id.as_str()),
            "{file}: {rule} does not name event {id} ({events:?}); it names {named:?}"
        );
    }
}

/// One test per technique file: (test, file, rule, ATT&CK technique, the technique's events).
macro_rules! techniques {
    ($($name:ident: $file:literal, $rule:literal, $technique:literal, [$($event:literal),+];)+) => {
        /// Every technique file with a test of its own.
        const TESTED: &[&str] = &[$($file),+];
        $(
            #[test]
            #[cfg_attr(
                not(real_samples),
                ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
            )]
            fn $name() {
                detected($file, $rule, $technique, &[$($event),+]);
            }
        )+
    };
}

techniques! {
    ec2_get_password_data: "aws.credential-access.ec2-get-password-data.json",
        "instance-data-harvest", "T1552", ["GetPasswordData"];
    ec2_steal_instance_credentials: "aws.credential-access.ec2-steal-instance-credentials.json",
        "instance-credentials-used-elsewhere", "T1552.005", ["GetCallerIdentity", "DescribeInstances"];
    secretsmanager_batch_retrieve_secrets: "aws.credential-access.secretsmanager-batch-retrieve-secrets.json",
        "cloud-secrets-bulk-read", "T1555.006", ["BatchGetSecretValue"];
    secretsmanager_retrieve_secrets: "aws.credential-access.secretsmanager-retrieve-secrets.json",
        "cloud-secrets-bulk-read", "T1555.006", ["GetSecretValue"];
    ssm_retrieve_securestring_parameters: "aws.credential-access.ssm-retrieve-securestring-parameters.json",
        "cloud-secrets-bulk-read", "T1555.006", ["GetParameters"];
    cloudtrail_delete: "aws.defense-evasion.cloudtrail-delete.json",
        "audit-log-tampering", "T1562.008", ["DeleteTrail"];
    cloudtrail_event_selectors: "aws.defense-evasion.cloudtrail-event-selectors.json",
        "audit-log-tampering", "T1562.008", ["PutEventSelectors"];
    cloudtrail_stop: "aws.defense-evasion.cloudtrail-stop.json",
        "audit-log-tampering", "T1562.008", ["StopLogging"];
    dns_delete_logs: "aws.defense-evasion.dns-delete-logs.json",
        "audit-log-tampering", "T1562.008", ["DeleteResolverQueryLogConfig"];
    organizations_leave: "aws.defense-evasion.organizations-leave.json",
        "organization-left", "T1666", ["LeaveOrganization"];
    vpc_remove_flow_logs: "aws.defense-evasion.vpc-remove-flow-logs.json",
        "audit-log-tampering", "T1562.008", ["DeleteFlowLogs"];
    ec2_download_user_data: "aws.discovery.ec2-download-user-data.json",
        "instance-data-harvest", "T1552", ["DescribeInstanceAttribute"];
    ec2_launch_unusual_instances: "aws.execution.ec2-launch-unusual-instances.json",
        "unusual-instance-launch", "T1496", ["RunInstances"];
    ec2_user_data: "aws.execution.ec2-user-data.json",
        "instance-user-data-replaced", "T1059.009", ["ModifyInstanceAttribute", "StopInstances", "StartInstances"];
    ssm_send_command: "aws.execution.ssm-send-command.json",
        "remote-command-on-instances", "T1651", ["SendCommand"];
    ssm_start_session: "aws.execution.ssm-start-session.json",
        "remote-command-on-instances", "T1651", ["StartSession"];
    ec2_security_group_open_port_22_ingress: "aws.exfiltration.ec2-security-group-open-port-22-ingress.json",
        "security-group-open-to-world", "T1562.007", ["AuthorizeSecurityGroupIngress"];
    ec2_share_ami: "aws.exfiltration.ec2-share-ami.json",
        "resource-made-public", "T1537", ["ModifyImageAttribute"];
    ec2_share_ebs_snapshot: "aws.exfiltration.ec2-share-ebs-snapshot.json",
        "resource-made-public", "T1537", ["ModifySnapshotAttribute"];
    rds_share_snapshot: "aws.exfiltration.rds-share-snapshot.json",
        "resource-made-public", "T1537", ["ModifyDBSnapshotAttribute"];
    bedrock_invoke_model: "aws.impact.bedrock-invoke-model.json",
        "bedrock-model-invoked", "T1496.004",
        ["InvokeModel", "CreateFoundationModelAgreement", "PutFoundationModelEntitlement", "PutUseCaseForModelAccess"];
    console_login_without_mfa: "aws.initial-access.console-login-without-mfa.json",
        "console-signin-without-mfa", "T1078.004", ["ConsoleLogin"];
    ec2_instance_connect: "aws.lateral-movement.ec2-instance-connect.json",
        "remote-command-on-instances", "T1021.008", ["SendSSHPublicKey"];
    ec2_serial_console_send_ssh_public_key: "aws.lateral-movement.ec2-serial-console-send-ssh-public-key.json",
        "remote-command-on-instances", "T1021.008", ["SendSerialConsoleSSHPublicKey", "EnableSerialConsoleAccess"];
    iam_backdoor_role: "aws.persistence.iam-backdoor-role.json",
        "aws-policy-version-escalation", "T1098", ["UpdateAssumeRolePolicy"];
    iam_backdoor_user: "aws.persistence.iam-backdoor-user.json",
        "credential-created-for-other-identity", "T1098.001", ["CreateAccessKey"];
    iam_create_admin_user: "aws.persistence.iam-create-admin-user.json",
        "aws-admin-policy-attached", "T1098.003", ["AttachUserPolicy"];
    iam_create_backdoor_role: "aws.persistence.iam-create-backdoor-role.json",
        "aws-admin-policy-attached", "T1098.003", ["AttachRolePolicy"];
    iam_create_user_login_profile: "aws.persistence.iam-create-user-login-profile.json",
        "credential-created-for-other-identity", "T1098.001", ["CreateLoginProfile"];
    lambda_backdoor_function: "aws.persistence.lambda-backdoor-function.json",
        "resource-made-public", "T1537", ["AddPermission20150331v2"];
    lambda_layer_extension: "aws.persistence.lambda-layer-extension.json",
        "lambda-function-modified", "T1525", ["UpdateFunctionConfiguration20150331v2"];
    lambda_overwrite_code: "aws.persistence.lambda-overwrite-code.json",
        "lambda-function-modified", "T1525", ["UpdateFunctionCode20150331v2"];
    rolesanywhere_create_trust_anchor: "aws.persistence.rolesanywhere-create-trust-anchor.json",
        "roles-anywhere-trust-anchor", "T1098.001", ["CreateTrustAnchor", "CreateProfile"];
    sts_federation_token: "aws.persistence.sts-federation-token.json",
        "unusual-role-assumption", "T1550.001", ["GetFederationToken"];
    iam_update_user_login_profile: "aws.privilege-escalation.iam-update-user-login-profile.json",
        "credential-created-for-other-identity", "T1098.001", ["UpdateLoginProfile"];
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn every_technique_file_has_its_test_and_a_serious_finding() {
    let dir = root().join("cloudtrail/stratus-red-team");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    let mut missing = Vec::new();
    for file in &files {
        if !TESTED.contains(&file.as_str()) {
            missing.push(format!("{file}: no test of its own"));
        }
        let findings = detect_dir(&dir.join(file));
        if !findings.iter().any(|f| f.severity >= Severity::Medium) {
            missing.push(format!("{file}: nothing at medium or higher"));
        }
    }
    assert_eq!(files.len(), TESTED.len(), "{files:#?}");
    assert!(missing.is_empty(), "{missing:#?}");
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn every_real_sample_runs_through_every_rule() {
    let all = detect_dir(&root());
    assert!(!all.is_empty());
}
