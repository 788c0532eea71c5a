use super::*;

/// Every non-empty normalized field of an event, `|`-separated, for one-line assertions.
fn view(ev: &Event<'_>) -> String {
    let (a, r) = (ev.actor_type.as_str(), ev.outcome.as_str());
    let mut out = vec![format!("{}/{}/{a}/{r}", ev.provider, ev.log_type)];
    let a = [
        ("id", &ev.event_id),
        ("actor", &ev.actor),
        ("action", &ev.action),
    ];
    let b = [
        ("service", &ev.service),
        ("resource", &ev.resource),
        ("ip", &ev.src_ip),
    ];
    let c = [
        ("ua", &ev.user_agent),
        ("loc", &ev.region),
        ("error", &ev.error),
    ];
    let d = [
        ("session", &ev.session),
        ("operation", &ev.correlation_id),
        ("account", &ev.account),
        ("details", &ev.details),
    ];
    for (k, v) in a.iter().chain(&b).chain(&c).chain(&d) {
        out.extend(v.as_deref().map(|v| format!("{k}={v}")));
    }
    out.extend(ev.mfa.map(|m| format!("mfa={m}")));
    out.extend(ev.read_only.map(|r| format!("read_only={r}")));
    out.join(" | ")
}

/// Parses a record and compares its time (RFC 3339, or "" for none) and its view.
fn check(record: &str, time: &str, want: &str) {
    let ev = match Gcp.parse_json(record.as_bytes()) {
        Ok(ev) => ev,
        Err(e) => panic!("{e}: {record}"),
    };
    assert_eq!(ev.time, parse_rfc3339(time), "time of {record}");
    assert_eq!(view(&ev), want, "view of {record}");
}

fn view_of(record: &str) -> String {
    let ev = Gcp.parse_json(record.as_bytes());
    ev.map(|e| view(&e)).unwrap_or_default()
}

fn details(record: &str) -> String {
    let details = Gcp.parse_json(record.as_bytes()).map(|e| e.details);
    details
        .ok()
        .flatten()
        .map(Cow::into_owned)
        .unwrap_or_default()
}

/// A minimal audit entry of project `p` (no `@type`) around a protoPayload body.
fn minimal(log: &str, proto: &str) -> String {
    let name = format!("projects/p/logs/cloudaudit.googleapis.com%2F{log}");
    let head = format!(r#""insertId":"m1","logName":"{name}","timestamp":"{T}""#);
    format!(r#"{{{head},"protoPayload":{{{proto}}}}}"#)
}

const T: &str = "2024-03-26T05:33:15.806118Z";

const SET_IAM: &str = r#"{"insertId":"1x9k2zqe4a8c","logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{"principalEmail":"alice@example.com"},"authorizationInfo":[{"granted":true,"permission":"resourcemanager.projects.setIamPolicy","resource":"projects/acme-prod"}],"methodName":"SetIamPolicy","requestMetadata":{"callerIp":"203.0.113.10","callerSuppliedUserAgent":"google-cloud-sdk gcloud/468.0.0"},"resourceName":"projects/acme-prod","serviceData":{"@type":"type.googleapis.com/google.iam.v1.logging.AuditData","policyDelta":{"bindingDeltas":[{"action":"ADD","member":"user:mallory@example.net","role":"roles/owner"},{"action":"REMOVE","member":"group:ops@example.com","role":"roles/viewer"}]}},"serviceName":"cloudresourcemanager.googleapis.com","status":{}},"receiveTimestamp":"2024-03-26T05:33:16.402913544Z","resource":{"labels":{"project_id":"acme-prod"},"type":"project"},"severity":"NOTICE","timestamp":"2024-03-26T05:33:15.806118Z"}"#;
const SET_IAM_WANT: &str = "gcp/activity/human/success | id=1x9k2zqe4a8c | actor=alice@example.com | action=SetIamPolicy | service=cloudresourcemanager | resource=projects/acme-prod | ip=203.0.113.10 | ua=google-cloud-sdk gcloud/468.0.0 | account=acme-prod | details=bindings=ADD roles/owner user:mallory@example.net;REMOVE roles/viewer group:ops@example.com | read_only=false";
const SA_KEY: &str = r#"{"insertId":"k3y","logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity","timestamp":"2024-03-26T05:33:15.806118Z","resource":{"labels":{"project_id":"acme-prod","email_id":"backup@acme-prod.iam.gserviceaccount.com"},"type":"service_account"},"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"iam.googleapis.com","methodName":"google.iam.admin.v1.CreateServiceAccountKey","resourceName":"projects/-/serviceAccounts/104857600000000000001","authenticationInfo":{"principalEmail":"deploy-bot@acme-prod.iam.gserviceaccount.com","serviceAccountKeyName":"//iam.googleapis.com/projects/acme-prod/serviceAccounts/deploy-bot@acme-prod.iam.gserviceaccount.com/keys/9f3c","serviceAccountDelegationInfo":[{"firstPartyPrincipal":{"principalEmail":"bob@example.com"}}]},"authorizationInfo":[{"permission":"iam.serviceAccountKeys.create","granted":true}],"request":{"name":"projects/-/serviceAccounts/backup@acme-prod.iam.gserviceaccount.com","private_key_type":2},"response":{"name":"projects/acme-prod/serviceAccounts/backup@acme-prod.iam.gserviceaccount.com/keys/4a1fd2","key_algorithm":2}}}"#;
const SA_KEY_WANT: &str = "gcp/activity/service/success | id=k3y | actor=deploy-bot@acme-prod.iam.gserviceaccount.com | action=google.iam.admin.v1.CreateServiceAccountKey | service=iam | resource=backup@acme-prod.iam.gserviceaccount.com | session=//iam.googleapis.com/projects/acme-prod/serviceAccounts/deploy-bot@acme-prod.iam.gserviceaccount.com/keys/9f3c | account=acme-prod | details=serviceAccountKey=4a1fd2 permission=iam.serviceAccountKeys.create delegation=bob@example.com | read_only=false";
const DENIED: &str = r#"{"insertId":"d1","logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity","timestamp":"2024-03-26T05:33:15.806118Z","resource":{"labels":{"project_id":"acme-prod","zone":"europe-west1-b"}},"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"compute.googleapis.com","methodName":"v1.compute.instances.setMetadata","resourceName":"projects/acme-prod/zones/europe-west1-b/instances/web-1","authenticationInfo":{"principalEmail":"carol@example.com"},"authorizationInfo":[{"permission":"compute.instances.setMetadata","granted":false}],"status":{"code":7,"message":"Permission 'compute.instances.setMetadata' denied"}}}"#;
const DENIED_WANT: &str = "gcp/activity/human/failure | id=d1 | actor=carol@example.com | action=v1.compute.instances.setMetadata | service=compute | resource=projects/acme-prod/zones/europe-west1-b/instances/web-1 | loc=europe-west1-b | error=7 PERMISSION_DENIED: Permission 'compute.instances.setMetadata' denied | account=acme-prod | details=permission=compute.instances.setMetadata | read_only=false";
const NOT_GRANTED: &str = r#"{"insertId":"d2","logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Fdata_access","timestamp":"2024-03-26T05:33:15.806118Z","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"compute.googleapis.com","methodName":"beta.compute.instances.aggregatedList","resourceName":"projects/acme-prod/global/instances","authenticationInfo":{"principalEmail":"carol@example.com"},"authorizationInfo":[{"permission":"compute.instances.list","granted":false}],"resourceLocation":{"currentLocations":["global"]},"numResponseItems":"3"}}"#;
const NOT_GRANTED_WANT: &str = "gcp/data_access/human/failure | id=d2 | actor=carol@example.com | action=beta.compute.instances.aggregatedList | service=compute | resource=projects/acme-prod/global/instances | loc=global | error=7 PERMISSION_DENIED | account=acme-prod | details=permission=compute.instances.list | read_only=true";

#[test]
fn admin_activity_and_data_access_entries() {
    check(SET_IAM, T, SET_IAM_WANT);
    check(SA_KEY, T, SA_KEY_WANT);
    check(DENIED, T, DENIED_WANT);
    check(NOT_GRANTED, T, NOT_GRANTED_WANT);
    let actor = Gcp.parse_json(SET_IAM.as_bytes()).map(|e| e.actor);
    assert!(
        matches!(actor, Ok(Some(Cow::Borrowed(_)))),
        "strings stay borrowed"
    );
}

const GKE_EXEC: &str = r#"{"insertId":"5d25-96","labels":{"authorization.k8s.io/decision":"allow"},"logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity","operation":{"first":true,"id":"5d25-96","last":true,"producer":"k8s.io"},"protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{"principalEmail":"system:serviceaccount:ci:deployer"},"methodName":"io.k8s.core.v1.pods.exec.create","requestMetadata":{"callerIp":"::1","callerSuppliedUserAgent":"kubectl/v1.29.2"},"resourceName":"core/v1/namespaces/payments/pods/api-7d9f/exec","serviceName":"k8s.io","status":{}},"resource":{"labels":{"cluster_name":"prod","location":"europe-west1-b","project_id":"acme-prod"},"type":"k8s_cluster"},"timestamp":"2024-03-26T05:33:15.806118Z"}"#;
const GKE_EXEC_WANT: &str = "gcp/activity/service/success | id=5d25-96 | actor=system:serviceaccount:ci:deployer | action=io.k8s.core.v1.pods.exec.create | service=k8s.io | resource=core/v1/namespaces/payments/pods/api-7d9f/exec | ip=::1 | ua=kubectl/v1.29.2 | loc=europe-west1-b | account=acme-prod | details=namespace=payments object=pods/api-7d9f/exec | read_only=false";
const GKE_BINDING: &str = r#"{"insertId":"b1","logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity","timestamp":"2024-03-26T05:33:15.806118Z","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"k8s.io","methodName":"io.k8s.authorization.rbac.v1.clusterrolebindings.create","resourceName":"rbac.authorization.k8s.io/v1/clusterrolebindings/tmp-admin","authenticationInfo":{"principalEmail":"dev@example.com"},"request":{"@type":"rbac.authorization.k8s.io/v1.ClusterRoleBinding","roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},"subjects":[{"kind":"User","name":"mallory@example.net"},{"kind":"ServiceAccount","name":"deployer","namespace":"ci"}]}}}"#;
const GKE_BINDING_WANT: &str = "gcp/activity/human/success | id=b1 | actor=dev@example.com | action=io.k8s.authorization.rbac.v1.clusterrolebindings.create | service=k8s.io | resource=rbac.authorization.k8s.io/v1/clusterrolebindings/tmp-admin | account=acme-prod | details=object=clusterrolebindings/tmp-admin roleRef=cluster-admin subjects=User:mallory@example.net,ServiceAccount:ci/deployer | read_only=false";
const GKE_ANON: &str = r#"{"insertId":"a1","logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Fdata_access","timestamp":"2024-03-26T05:33:15.806118Z","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"k8s.io","methodName":"io.k8s.get","resourceName":"readyz","authenticationInfo":{"principalEmail":"system:anonymous"},"requestMetadata":{"callerIp":"127.0.0.1","callerSuppliedUserAgent":"kube-probe/1.29"},"status":{}}}"#;
const GKE_ANON_WANT: &str = "gcp/data_access/anonymous/success | id=a1 | actor=system:anonymous | action=io.k8s.get | service=k8s.io | resource=readyz | ip=127.0.0.1 | ua=kube-probe/1.29 | account=acme-prod | read_only=true";

const GKE_ROLE: &str = r#"{"insertId":"r1","logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Factivity","timestamp":"2024-03-26T05:33:15.806118Z","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"k8s.io","methodName":"io.k8s.authorization.rbac.v1.clusterroles.create","resourceName":"rbac.authorization.k8s.io/v1/clusterroles/debugger","authenticationInfo":{"principalEmail":"dev@example.com"},"authorizationInfo":[{"granted":true,"permission":"io.k8s.authorization.rbac.v1.clusterroles.create","resource":"rbac.authorization.k8s.io/v1/clusterroles/debugger"}],"request":{"@type":"rbac.authorization.k8s.io/v1.ClusterRole","apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"debugger"},"rules":[{"apiGroups":[""],"resources":["pods","pods/log"],"verbs":["get","list"]},{"apiGroups":[""],"resources":["pods/exec"],"verbs":["create"]}]},"requestMetadata":{"callerIp":"203.0.113.5","callerSuppliedUserAgent":"kubectl/v1.29.2"},"status":{}},"resource":{"labels":{"cluster_name":"prod","location":"europe-west1","project_id":"acme-prod"},"type":"k8s_cluster"}}"#;
const GKE_ROLE_WANT: &str = "gcp/activity/human/success | id=r1 | actor=dev@example.com | action=io.k8s.authorization.rbac.v1.clusterroles.create | service=k8s.io | resource=rbac.authorization.k8s.io/v1/clusterroles/debugger | ip=203.0.113.5 | ua=kubectl/v1.29.2 | loc=europe-west1 | account=acme-prod | details=object=clusterroles/debugger verbs=get,list,create resources=pods,pods/log,pods/exec | read_only=false";
const GKE_SELECTOR: &str = r#"{"insertId":"a2","logName":"projects/acme-prod/logs/cloudaudit.googleapis.com%2Fdata_access","timestamp":"2024-03-26T05:33:15.806118Z","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","serviceName":"k8s.io","methodName":"io.k8s.core.v1.secrets.list","resourceName":"core/v1/namespaces/default/secrets","authenticationInfo":{"authoritySelector":"system:anonymous"},"authorizationInfo":[{"granted":true,"permission":"io.k8s.core.v1.secrets.list","resource":"core/v1/namespaces/default/secrets"}],"requestMetadata":{"callerIp":"198.51.100.9","callerSuppliedUserAgent":"curl/8.5.0"},"status":{}}}"#;
const GKE_SELECTOR_WANT: &str = "gcp/data_access/anonymous/success | id=a2 | actor=system:anonymous | action=io.k8s.core.v1.secrets.list | service=k8s.io | resource=core/v1/namespaces/default/secrets | ip=198.51.100.9 | ua=curl/8.5.0 | account=acme-prod | details=namespace=default object=secrets | read_only=true";

#[test]
fn gke_entries_name_the_kubernetes_object() {
    check(GKE_EXEC, T, GKE_EXEC_WANT);
    check(GKE_BINDING, T, GKE_BINDING_WANT);
    check(GKE_ANON, T, GKE_ANON_WANT);
}

#[test]
fn gke_roles_give_their_rules_as_the_kubernetes_parser_does() {
    check(GKE_ROLE, T, GKE_ROLE_WANT);
    // Deleting a role grants nothing: its rules are not read.
    let deleted = GKE_ROLE.replace("clusterroles.create", "clusterroles.delete");
    assert!(
        !details(&deleted).contains("verbs="),
        "{}",
        details(&deleted)
    );
    // Past six items the grants that matter come first.
    let many = r#"{"verbs":["get","list","watch","update","delete","deletecollection","patch","escalate"],"resources":["a","b","c","d","e","f","*"]}"#;
    let wide = GKE_ROLE.replace(
        r#"{"apiGroups":[""],"resources":["pods/exec"],"verbs":["create"]}"#,
        many,
    );
    let d = details(&wide);
    assert!(
        d.contains(" verbs=escalate,get,list,watch,update,delete,+2 "),
        "{d}"
    );
    assert!(d.contains(" resources=pods/log,*,pods,a,b,c,+3"), "{d}");
}

#[test]
fn an_anonymous_gke_caller_named_only_by_its_authority_selector_is_the_actor() {
    check(GKE_SELECTOR, T, GKE_SELECTOR_WANT);
    // A principal, when named, is the actor; outside GKE the selector is not a principal.
    let named = GKE_SELECTOR.replace(
        r#""authoritySelector":"system:anonymous""#,
        r#""principalEmail":"dev@example.com","authoritySelector":"system:anonymous""#,
    );
    assert!(view_of(&named).contains("| actor=dev@example.com |"));
    let other = GKE_SELECTOR.replace(
        r#""serviceName":"k8s.io""#,
        r#""serviceName":"storage.googleapis.com""#,
    );
    assert!(!view_of(&other).contains("actor="), "{}", view_of(&other));
}

const LOGIN_OK: &str = r#"{"insertId":"w1","logName":"organizations/123/logs/cloudaudit.googleapis.com%2Fdata_access","timestamp":"2024-03-26T05:33:15.806118Z","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{"principalEmail":"alice@example.com"},"requestMetadata":{"callerIp":"203.0.113.7"},"serviceName":"login.googleapis.com","methodName":"google.login.LoginService.loginSuccess","resourceName":"organizations/123","metadata":{"event":[{"eventName":"login_success","eventType":"login","parameter":[{"name":"login_type","value":"google_password"},{"name":"login_challenge_method","multiStrValue":["password"]}]}]}}}"#;
const LOGIN_OK_WANT: &str = "gcp/data_access/human/success | id=w1 | actor=alice@example.com | action=google.login.LoginService.loginSuccess | service=login | resource=organizations/123 | ip=203.0.113.7 | account=organizations/123 | details=login_type=google_password challenge=password | mfa=false";
const LOGIN_FAIL: &str = r#"{"insertId":"w2","logName":"organizations/123/logs/cloudaudit.googleapis.com%2Fdata_access","timestamp":"2024-03-26T05:33:15.806118Z","protoPayload":{"@type":"type.googleapis.com/google.cloud.audit.AuditLog","authenticationInfo":{"principalEmail":"bob@example.com"},"serviceName":"login.googleapis.com","methodName":"google.login.LoginService.loginFailure","resourceName":"organizations/123","metadata":{"event":[{"eventName":"login_failure","parameter":[{"name":"login_challenge_method","multiStrValue":["password","security_key"]},{"name":"login_failure_type","value":"login_failure_invalid_second_factor"},{"name":"is_suspicious","boolValue":true}]}]}}}"#;
const LOGIN_FAIL_WANT: &str = "gcp/data_access/human/failure | id=w2 | actor=bob@example.com | action=google.login.LoginService.loginFailure | service=login | resource=organizations/123 | error=login_failure_invalid_second_factor | account=organizations/123 | details=challenge=password,security_key suspicious=true | mfa=true";
const CHALLENGE: &str = r#"{"insertId":"w3","logName":"organizations/123/logs/cloudaudit.googleapis.com%2Fdata_access","timestamp":"2024-03-26T05:33:15.806118Z","protoPayload":{"authenticationInfo":{"principalEmail":"bob@example.com"},"serviceName":"login.googleapis.com","methodName":"google.login.LoginService.loginChallenge","metadata":{"event":[{"parameter":[{"name":"login_challenge_status","value":"incorrect_answer_entered"},{"name":"is_second_factor","boolValue":true}]}]}}}"#;
const CHALLENGE_WANT: &str = "gcp/data_access/human/failure | id=w3 | actor=bob@example.com | action=google.login.LoginService.loginChallenge | service=login | error=incorrect_answer_entered | account=organizations/123 | mfa=true";
const WARNING: &str = r#"{"insertId":"w4","logName":"organizations/123/logs/cloudaudit.googleapis.com%2Fdata_access","timestamp":"2024-03-26T05:33:15Z","protoPayload":{"authenticationInfo":{},"serviceName":"login.googleapis.com","methodName":"google.login.LoginService.suspiciousLogin","resourceName":"organizations/123","metadata":{"event":[{"eventName":"suspicious_login","status":{"success":true},"parameter":[{"name":"affected_email_address","value":"bob@example.com"}]}]}}}"#;
const WARNING_WANT: &str = "gcp/data_access/unknown/success | id=w4 | action=google.login.LoginService.suspiciousLogin | service=login | resource=bob@example.com | account=organizations/123";

#[test]
fn workspace_sign_ins_carry_outcome_and_mfa() {
    check(LOGIN_OK, T, LOGIN_OK_WANT);
    check(LOGIN_FAIL, T, LOGIN_FAIL_WANT);
    check(CHALLENGE, T, CHALLENGE_WANT);
    check(WARNING, "2024-03-26T05:33:15Z", WARNING_WANT);
}

const NO_TIME: &str = r#"{"insertId":"n1","logName":"projects/project","receiveTimestamp":"2021-04-29T08:19:21.606980385Z","protoPayload":{"methodName":"io.k8s.get","serviceName":"k8s.io","authenticationInfo":{"principalSubject":"user:system:kube-scheduler"}}}"#;
const NO_TIME_WANT: &str = "gcp/audit/system/success | id=n1 | actor=system:kube-scheduler | action=io.k8s.get | service=k8s.io | account=project | read_only=true";
const ODD_TYPES: &str = r#"{"insertId":42,"logName":"projects/p/logs/cloudaudit.googleapis.com%2Fsystem_event","timestamp":"2024-03-26T05:33:15.806118Z","resource":"oops","operation":{"id":"operation-17","first":true},"protoPayload":{"methodName":"compute.instances.preempted","serviceName":"compute.googleapis.com","authenticationInfo":[{"principalEmail":"system@google.com"}],"authorizationInfo":"denied","status":"bad","requestMetadata":null,"resourceLocation":{"currentLocations":"us-east1-b"},"serviceData":{"policyDelta":{"bindingDeltas":[7,{"action":"ADD"}]}},"metadata":{"event":"x"}}}"#;
const ODD_TYPES_WANT: &str = "gcp/system_event/system/success | id=42 | actor=system@google.com | action=compute.instances.preempted | service=compute | loc=us-east1-b | operation=operation-17 | account=p | details=bindings=ADD ? ? | read_only=false";
const DELEGATED: &str = r#"{"insertId":"m1","logName":"projects/p/logs/cloudaudit.googleapis.com%2Fdata_access","timestamp":"2024-03-26T05:33:15.806118Z","protoPayload":{"methodName":"storage.objects.get","serviceName":"storage.googleapis.com","authenticationInfo":{"serviceAccountDelegationInfo":[{"firstPartyPrincipal":{"principalEmail":"carol@example.com"}}]},"status":{"code":"5","message":"NOT_FOUND"}}}"#;
const DELEGATED_WANT: &str = "gcp/data_access/human/failure | id=m1 | actor=carol@example.com | action=storage.objects.get | service=storage | error=5 NOT_FOUND | account=p | read_only=true";
const SUBJECT: &str = r#""methodName":"x.Get","authenticationInfo":{"principalSubject":"serviceAccount:etl@p.iam.gserviceaccount.com"}"#;
const LONG_OP: &str =
    r#""methodName":"v1.compute.instances.insert"},"operation":{"id":"operation-9","last":true"#;

#[test]
fn awkward_entries() {
    // No `timestamp`: the receive time stands in; a log name without the audit suffix.
    check(NO_TIME, "2021-04-29T08:19:21.606980Z", NO_TIME_WANT);
    let no_time_at_all = NO_TIME.replace("receiveTimestamp", "received");
    check(&no_time_at_all, "", NO_TIME_WANT);
    check(ODD_TYPES, T, ODD_TYPES_WANT);
    check(DELEGATED, T, DELEGATED_WANT);
    let by_subject = view_of(&minimal("data_access", SUBJECT));
    assert!(by_subject.contains("service/success | id=m1 | actor=etl@p.iam"));
    assert!(view_of(&minimal("activity", LONG_OP)).contains("operation=operation-9"));
}

const LOGGING: &str = r#""serviceName":"logging.googleapis.com""#;
const SINK: &str = r#","request":{"sink":{"name":"siem-export","destination":"storage.googleapis.com/acme-logs"}}"#;
const EXCLUSION: &str =
    r#","request":{"exclusion":{"name":"quiet","filter":"resource.type=gce_instance"}}"#;

#[test]
fn logging_configuration_changes_name_the_sink() {
    let call = |method: &str, resource: &str, request: &str| {
        let method = format!(r#""methodName":"google.logging.v2.ConfigServiceV2.{method}""#);
        let name = format!(r#""resourceName":"projects/p/{resource}""#);
        details(&minimal(
            "activity",
            &format!("{LOGGING},{method},{name}{request}"),
        ))
    };
    let (sink, bucket) = ("sinks/siem-export", "locations/global/buckets/_Default");
    assert_eq!(call("DeleteSink", sink, ""), "sink=siem-export");
    let want = "sink=siem-export destination=storage.googleapis.com/acme-logs";
    assert_eq!(call("UpdateSink", sink, SINK), want);
    let want = "exclusion=quiet filter=resource.type=gce_instance";
    assert_eq!(call("CreateExclusion", "exclusions/quiet", EXCLUSION), want);
    assert_eq!(call("UpdateBucket", bucket, ""), "bucket=_Default");
    assert_eq!(call("ListSinks", "sinks", ""), "");
}

const ACTOR_TYPES: &str = "service-123@gcp-sa-cloudbuild.iam.gserviceaccount.com system
    123@cloudservices.gserviceaccount.com system
    service-123@container-engine-robot.iam.gserviceaccount.com system
    system:node:gke-prod-pool-1 system
    123-compute@developer.gserviceaccount.com service
    principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/gh/subject/x service
    principal://iam.googleapis.com/locations/global/workforcePools/p/subject/x human
    system:unauthenticated anonymous
    client unknown";
const LOG_NAMES: &str = "projects/p/logs/cloudaudit.googleapis.com%2fdata_access data_access p
    folders/42/logs/cloudaudit.googleapis.com/system_event system_event folders/42
    organizations/7/logs/cloudaudit.googleapis.com%2Fpolicy policy organizations/7
    projects/p/logs/cloudaudit.googleapis.com%2Faccess_transparency access_transparency p
    projects/p/logs/syslog audit p";
const READ_ONLY: &str = "data_access io.k8s.core.v1.secrets.list Some(true)
    data_access google.monitoring.v3.MetricService.CreateTimeSeries Some(false)
    data_access jobservice.jobcompleted None
    policy storage.objects.delete Some(false)";
const DELTA: &str =
    r#"{"action":"ADD","role":"roles/editor","member":"user:someone-long@example.com"},"#;

#[test]
fn classification_tables() {
    for line in ACTOR_TYPES.lines().map(str::trim) {
        let (who, kind) = line.rsplit_once(' ').unwrap_or_default();
        assert_eq!(actor_type(Some(who)).as_str(), kind, "{line}");
    }
    for line in LOG_NAMES.lines().map(str::trim) {
        let (name, want) = line.split_once(' ').unwrap_or_default();
        let account = account_of_log_name(name).unwrap_or("-");
        assert_eq!(format!("{} {account}", log_type(name)), want, "{name}");
    }
    for line in READ_ONLY.lines().map(str::trim) {
        let (log, rest) = line.split_once(' ').unwrap_or_default();
        let (method, want) = rest.split_once(' ').unwrap_or_default();
        assert_eq!(format!("{:?}", read_only(log, method)), want, "{line}");
    }
    assert_eq!(
        (status_error(99, None).as_str(), account_of_log_name("")),
        ("99", None)
    );
    let deltas = format!(
        r#"{{"policyDelta":{{"bindingDeltas":[{}{{}}]}}}}"#,
        DELTA.repeat(9)
    );
    let proto = format!(r#""methodName":"SetIamPolicy","serviceData":{deltas}"#);
    let text = details(&minimal("activity", &proto));
    assert!(
        text.ends_with(";+6 more") && text.len() <= MAX_DETAILS,
        "{text}"
    );
    assert_eq!(shorten("é".repeat(200).as_str(), 10), "ééé...");
}

const SCC: &str = r#"{"notificationConfigName":"organizations/1/notificationConfigs/n","finding":{"category":"FLOW_LOGS_DISABLED","eventTime":"2021-03-16T20:21:34.229Z"},"resource":{"name":"//compute.googleapis.com/projects/p"}}"#;
const APP: &str = r#"{"logName":"projects/p/logs/appengine.googleapis.com%2Frequest_log","protoPayload":{"@type":"type.googleapis.com/google.appengine.logging.v1.RequestLog","resource":"/"}}"#;
const AXT: &str = r#"{"logName":"projects/p/logs/cloudaudit.googleapis.com%2Faccess_transparency","jsonPayload":{"@type":"type.googleapis.com/google.cloud.audit.TransparencyLog"}}"#;
const TRAIL: &str = r#"{"eventVersion":"1.08","eventTime":"2024-03-26T05:33:15Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser"}"#;
const K8S: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"get","user":{"username":"system:anonymous"}}"#;
const OKTA: &str = r#"{"uuid":"1","published":"2024-03-26T05:33:15Z","eventType":"user.session.start","actor":{"alternateId":"a@example.com"}}"#;
const KIND: &str = r#"{"kind": 0}"#;
const NOT_AUDIT: [&str; 8] = [SCC, APP, AXT, TRAIL, K8S, OKTA, KIND, "0"];
const TEXT_PAYLOAD: &str =
    r#"{"logName":"projects/p/logs/cloudaudit.googleapis.com%2Factivity","protoPayload":"x"}"#;
const BROKEN: &str = r#""x"} not an object
    {"status":{}}} no protoPayload.methodName
    { invalid JSON"#;

#[test]
fn other_json_is_refused() {
    for other in NOT_AUDIT {
        let refused = Gcp.parse_json(other.as_bytes());
        assert_eq!(refused.err(), Some(RecordError::NotThisFormat), "{other}");
    }
    for line in BROKEN.lines().map(str::trim) {
        let (body, reason) = line.split_once(' ').unwrap_or_default();
        let json = TEXT_PAYLOAD.replace(r#""x"}"#, body);
        let err = Gcp.parse_json(json.as_bytes()).err();
        let why = match err {
            Some(RecordError::Invalid(why)) => why,
            other => format!("{other:?}"),
        };
        assert!(why.contains(reason), "{json}: {why}");
    }
}

#[test]
fn sniffing_is_precise() {
    let sniff = |json: &str| sonic_rs::from_str::<Probe>(json).is_ok_and(|p| Gcp.sniff_json(&p));
    assert!(sniff(SET_IAM) && sniff(GKE_ANON) && sniff(&minimal("data_access", "")));
    for other in NOT_AUDIT.iter().chain([&TEXT_PAYLOAD]) {
        assert!(!sniff(other), "{other}");
    }
}

#[test]
fn a_token_minted_for_a_service_account_names_it() {
    let proto = r#""serviceName":"iamcredentials.googleapis.com","methodName":"GenerateAccessToken","resourceName":"projects/-/serviceAccounts/104857600000000000002","authenticationInfo":{"principalEmail":"ci@p.iam.gserviceaccount.com"},"authorizationInfo":[{"permission":"iam.serviceAccounts.getAccessToken","granted":true}],"request":{"@type":"type.googleapis.com/google.iam.credentials.v1.GenerateAccessTokenRequest","name":"projects/-/serviceAccounts/deployer@p.iam.gserviceaccount.com"}"#;
    let view = view_of(&minimal("data_access", proto));
    assert!(
        view.contains("resource=deployer@p.iam.gserviceaccount.com"),
        "{view}"
    );
    // Without the request, the resource name is all there is.
    let bare = proto.replace(
        r#","request":{"@type":"type.googleapis.com/google.iam.credentials.v1.GenerateAccessTokenRequest","name":"projects/-/serviceAccounts/deployer@p.iam.gserviceaccount.com"}"#,
        "",
    );
    let view = view_of(&minimal("data_access", &bare));
    assert!(view.contains("resource=104857600000000000002"), "{view}");
}

#[test]
fn a_service_account_name_with_a_slash_is_kept_whole() {
    assert_eq!(
        service_account_of("projects/p/serviceAccounts/users/alice@example.com"),
        Some("users/alice@example.com")
    );
    assert_eq!(
        service_account_of("projects/p/serviceAccounts/sa@p.iam.gserviceaccount.com/keys/4a1f"),
        Some("sa@p.iam.gserviceaccount.com")
    );
}
