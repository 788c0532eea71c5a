use super::*;

fn parse(json: &str) -> Event<'_> {
    Kubernetes.parse_json(json.as_bytes()).unwrap()
}

fn sniff(json: &str) -> bool {
    Kubernetes.sniff_json(&sonic_rs::from_str::<Probe>(json).unwrap())
}

/// `actor (type) | action | service | resource | outcome | error | details`, `-` for none.
fn row(e: &Event<'_>) -> String {
    let o = |v: &Option<Cow<'_, str>>| v.as_deref().unwrap_or("-").to_owned();
    let (actor, kind) = (o(&e.actor), e.actor_type.as_str());
    let (action, service, resource) = (o(&e.action), o(&e.service), o(&e.resource));
    let (outcome, error, details) = (e.outcome.as_str(), o(&e.error), o(&e.details));
    format!(
        "{actor} ({kind}) | {action} | {service} | {resource} | {outcome} | {error} | {details}"
    )
}

const BINDING_V1: &str = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"RequestResponse",
    "auditID":"0d3b7a52-1111-4c1e-9e5e-5b1f0c2a9e01","stage":"ResponseComplete",
    "requestURI":"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings?fieldManager=kubectl-create",
    "verb":"create","user":{"username":"alice@example.com","groups":["devs","system:authenticated"],
    "extra":{"authentication.kubernetes.io/credential-id":["X509SHA256=abc123"]}},
    "sourceIPs":["203.0.113.10","10.0.0.1"],"userAgent":"kubectl/v1.30.1 (linux/amd64)",
    "objectRef":{"resource":"clusterrolebindings","name":"tmp-admin","apiGroup":"rbac.authorization.k8s.io"},
    "responseStatus":{"metadata":{},"code":201},
    "requestObject":{"kind":"ClusterRoleBinding","metadata":{"name":"tmp-admin"},
      "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},
      "subjects":[{"kind":"User","name":"mallory@example.com"},{"kind":"ServiceAccount","name":"deployer","namespace":"ci"}]},
    "responseObject":{"kind":"ClusterRoleBinding","metadata":{"name":"tmp-admin","uid":"x"}},
    "requestReceivedTimestamp":"2024-05-02T10:15:30.123456Z","stageTimestamp":"2024-05-02T10:15:30.130000Z",
    "annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed"}}"#;

#[test]
fn v1_role_binding_names_role_and_subjects() {
    assert!(sniff(BINDING_V1));
    let e = parse(BINDING_V1);
    assert_eq!(e.time, parse_rfc3339("2024-05-02T10:15:30.123456Z"));
    assert_eq!((e.provider, e.log_type.as_ref()), ("kubernetes", "audit"));
    let id = "0d3b7a52-1111-4c1e-9e5e-5b1f0c2a9e01";
    assert_eq!(e.event_id.as_deref(), Some(id));
    assert!(matches!(e.actor, Some(Cow::Borrowed("alice@example.com"))));
    assert_eq!(e.src_ip.as_deref(), Some("203.0.113.10"));
    let ua = "kubectl/v1.30.1 (linux/amd64)";
    assert_eq!(e.user_agent.as_deref(), Some(ua));
    assert_eq!(e.session.as_deref(), Some("X509SHA256=abc123"));
    assert_eq!((e.mfa, e.read_only), (None, Some(false)));
    assert_eq!((e.account.as_deref(), e.region.as_deref()), (None, None));
    assert_eq!(
        row(&e),
        "alice@example.com (human) | create clusterrolebindings | rbac.authorization.k8s.io | tmp-admin | success | - | stage=ResponseComplete decision=allow roleRef=ClusterRole/cluster-admin subjects=User:mallory@example.com,ServiceAccount:ci/deployer"
    );
}

#[test]
fn v1beta1_impersonation_and_forbidden() {
    let json = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","metadata":{"creationTimestamp":"2017-09-11T19:55:05Z"},
        "level":"Metadata","timestamp":"2017-09-11T19:55:05Z","auditID":"a1","stage":"ResponseComplete",
        "requestURI":"/api/v1/namespaces/default/pods","verb":"list","user":{"username":"system:admin"},
        "impersonatedUser":{"username":"bob","groups":["system:masters","system:authenticated"]},"sourceIPs":["::1"],
        "objectRef":{"resource":"pods","namespace":"default","apiVersion":"v1"},
        "responseStatus":{"metadata":{},"status":"Failure","message":"pods is forbidden","reason":"Forbidden","code":403}}"#;
    let e = parse(json);
    assert_eq!(e.time, parse_rfc3339("2017-09-11T19:55:05Z"));
    assert_eq!(
        (e.src_ip.as_deref(), e.read_only),
        (Some("::1"), Some(true))
    );
    assert_eq!(
        row(&e),
        "system:admin (system) | list pods | core | default | failure | 403 Forbidden | stage=ResponseComplete as=bob as_groups=system:masters"
    );
}

#[test]
fn two_stages_of_one_request_stay_distinct() {
    let received = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","timestamp":"2017-09-11T19:57:33Z",
        "auditID":"efa6","stage":"RequestReceived","verb":"delete","user":{"username":"system:admin"},
        "objectRef":{"resource":"roles","namespace":"default","name":"r1","apiGroup":"rbac.authorization.k8s.io"}}"#;
    let complete = received
        .replace("RequestReceived", "ResponseComplete")
        .replace(
            r#""verb""#,
            r#""responseStatus":{"status":"Failure","reason":"NotFound","code":404},"verb""#,
        );
    let (a, b) = (parse(received), parse(&complete));
    assert_eq!((&a.event_id, a.time), (&b.event_id, b.time));
    assert_eq!(
        row(&a),
        "system:admin (system) | delete roles | rbac.authorization.k8s.io | default/r1 | unknown | - | stage=RequestReceived"
    );
    assert_eq!(
        row(&b),
        "system:admin (system) | delete roles | rbac.authorization.k8s.io | default/r1 | failure | 404 NotFound | stage=ResponseComplete"
    );
}

#[test]
fn pod_specs_and_workload_templates() {
    // Falco trace shape: no apiVersion, the name only in the response object.
    let pod = r#"{"annotations":{"authorization.k8s.io/decision":"allow"},"auditID":"p1","kind":"Event",
        "objectRef":{"apiVersion":"v1","namespace":"default","resource":"pods"},
        "requestObject":{"kind":"Pod","metadata":{"generateName":"web-"},"spec":{"hostNetwork":true,"hostPID":"true",
          "containers":[{"name":"a"},{"name":"b","securityContext":{"privileged":true}}],
          "volumes":[{"hostPath":{"path":"/etc"}},{"secret":{"secretName":"x"}},{"hostPath":{"path":"/"}},{"hostPath":{"path":"/etc"}}]}},
        "requestURI":"/api/v1/namespaces/default/pods","responseObject":{"metadata":{"name":"web-x7k2p"}},
        "responseStatus":{"code":201},"sourceIPs":["::1"],"stage":"ResponseComplete",
        "stageTimestamp":"2018-10-25T14:09:12.581541Z","timestamp":"2018-10-25T14:09:12Z",
        "user":{"username":"system:serviceaccount:kube-system:replicaset-controller"},"verb":"create"}"#;
    assert!(sniff(pod));
    let e = parse(pod);
    assert_eq!(e.time, parse_rfc3339("2018-10-25T14:09:12Z"));
    assert_eq!(
        row(&e),
        "system:serviceaccount:kube-system:replicaset-controller (service) | create pods | core | default/web-x7k2p | success | - | stage=ResponseComplete decision=allow privileged=true hostNetwork=true hostPID=true hostPath=/etc,/"
    );
    let deployment = r#"{"auditID":"d1","stage":"ResponseComplete","verb":"create","user":{"username":"bob"},
        "requestReceivedTimestamp":"2024-01-01T00:00:00Z","objectRef":{"resource":"deployments","namespace":"prod","apiGroup":"apps"},
        "requestObject":{"metadata":{"name":"api"},"spec":{"template":{"spec":{"hostIPC":true,
          "initContainers":[{"securityContext":{"privileged":true}}]}}}}}"#;
    assert_eq!(
        row(&parse(deployment)),
        "bob (human) | create deployments | apps | prod/api | unknown | - | stage=ResponseComplete privileged=true hostIPC=true"
    );
    let cronjob = r#"{"auditID":"c1","stage":"ResponseComplete","verb":"patch","user":{"username":"bob"},"timestamp":"2024-01-01T00:00:00Z",
        "objectRef":{"resource":"cronjobs","namespace":"prod","name":"nightly","apiGroup":"batch"},
        "requestObject":{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"volumes":[{"hostPath":{"path":"/var/run/docker.sock"}}]}}}}}}}"#;
    let details = Some("stage=ResponseComplete hostPath=/var/run/docker.sock");
    assert_eq!(parse(cronjob).details.as_deref(), details);
}

#[test]
fn exec_keeps_container_and_decoded_command() {
    let json = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"e1","stage":"ResponseStarted",
        "requestURI":"/api/v1/namespaces/payments/pods/api-7f9c/exec?command=sh&command=-c&command=cat+%2Fetc%2Fshadow&container=app&container=app&tty=true",
        "verb":"get","user":{"username":"carol@example.com"},"sourceIPs":["198.51.100.7"],
        "objectRef":{"resource":"pods","namespace":"payments","name":"api-7f9c","apiVersion":"v1","subresource":"exec"},
        "responseStatus":{"code":101},"requestReceivedTimestamp":"2024-06-01T08:00:00.5Z",
        "annotations":{"authorization.k8s.io/decision":"allow"}}"#;
    let e = parse(json);
    assert_eq!(e.time, parse_rfc3339("2024-06-01T08:00:00.500Z"));
    assert_eq!(e.read_only, Some(true));
    assert_eq!(
        row(&e),
        "carol@example.com (human) | get pods/exec | core | payments/api-7f9c | success | - | stage=ResponseStarted decision=allow container=app command=sh_-c_cat_/etc/shadow"
    );
}

#[test]
fn resource_falls_back_to_the_request_path() {
    let healthz = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"h1","stage":"ResponseComplete",
        "requestURI":"/healthz?verbose=1","verb":"get","user":{"username":"system:anonymous"},
        "responseStatus":{"code":200},"requestReceivedTimestamp":"2024-06-01T08:00:00Z"}"#;
    assert_eq!(
        row(&parse(healthz)),
        "system:anonymous (anonymous) | get /healthz | - | /healthz | success | - | stage=ResponseComplete"
    );
    let base = r#"{"auditID":"s1","stage":"ResponseComplete","user":{"username":"dave"},"timestamp":"2022-11-23T13:10:04Z","#;
    for (rest, action, resource) in [
        (
            r#""verb":"patch","requestURI":"/apis/apps/v1/namespaces/test/deployments/web/scale",
            "objectRef":{"resource":"deployments","namespace":"test","subresource":"scale"},"requestObject":{"spec":{"replicas":3}}}"#,
            "patch deployments/scale",
            "test/web",
        ),
        (
            r#""verb":"list","requestURI":"/api/v1/secrets?limit=500","objectRef":{"resource":"secrets"}}"#,
            "list secrets",
            "/api/v1/secrets",
        ),
        (
            r#""verb":"delete","requestURI":"/api/v1/namespaces/foo","objectRef":{"resource":"namespaces","namespace":"foo","name":"foo"}}"#,
            "delete namespaces",
            "foo",
        ),
        (
            r#""verb":"get","requestURI":"/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Aaggregate-to-edit",
            "objectRef":{"resource":"clusterroles","apiGroup":"rbac.authorization.k8s.io"}}"#,
            "get clusterroles",
            "system:aggregate-to-edit",
        ),
    ] {
        let json = format!("{base}{rest}");
        let e = parse(&json);
        let got = (e.action.as_deref(), e.resource.as_deref());
        assert_eq!(got, (Some(action), Some(resource)), "{rest}");
    }
}

#[test]
fn roles_configmaps_secrets_and_services() {
    let base = r#"{"auditID":"r1","stage":"ResponseComplete","user":{"username":"erin"},"timestamp":"2024-01-01T00:00:00Z","#;
    for (rest, details) in [
        (
            r#""verb":"create","objectRef":{"resource":"clusterroles","name":"ops"},"requestObject":{"rules":[
            {"verbs":["get","list"],"resources":["pods","pods/exec"]},{"verbs":["*"],"resources":["secrets","pods"]}]}}"#,
            "verbs=get,list,* resources=pods,pods/exec,secrets",
        ),
        (
            r#""verb":"update","objectRef":{"resource":"configmaps","namespace":"default","name":"app-cfg"},
            "requestObject":{"data":{"app.ini":"aws_access_key_id = AKIAEXAMPLE\n","color":"blue"}}}"#,
            "name=app-cfg keys=app.ini,color credentials=true",
        ),
        (
            r#""verb":"create","objectRef":{"resource":"configmaps","namespace":"default"},
            "requestObject":{"metadata":{"name":"plain"},"data":{"color":"blue"}}}"#,
            "name=plain keys=color",
        ),
        (
            r#""verb":"get","objectRef":{"resource":"secrets","namespace":"kube-system","name":"db-pass"}}"#,
            "name=db-pass",
        ),
        (
            r#""verb":"create","objectRef":{"resource":"secrets","namespace":"ci","name":"t"},
            "requestObject":{"type":"kubernetes.io/service-account-token","data":{"token":"c2VjcmV0"}}}"#,
            "name=t type=kubernetes.io/service-account-token",
        ),
        (
            r#""verb":"create","objectRef":{"resource":"services","namespace":"default","name":"web"},
            "requestObject":{"spec":{"type":"NodePort","ports":[{"port":80}]}}}"#,
            "type=NodePort",
        ),
    ] {
        let json = format!("{base}{rest}");
        let expected = format!("stage=ResponseComplete {details}");
        assert_eq!(parse(&json).details.as_deref(), Some(expected.as_str()));
    }
}

#[test]
fn forbid_decision_is_a_failure() {
    let json = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"f1","stage":"ResponseComplete","verb":"create",
        "user":{"username":"system:serviceaccount:ci:builder"},"objectRef":{"resource":"pods","namespace":"ci","subresource":"exec","name":"p"},
        "requestReceivedTimestamp":"2024-01-01T00:00:00Z","annotations":{"authorization.k8s.io/decision":"forbid"}}"#;
    assert_eq!(
        row(&parse(json)),
        "system:serviceaccount:ci:builder (service) | create pods/exec | core | ci/p | failure | Forbidden | stage=ResponseComplete decision=forbid"
    );
}

#[test]
fn actor_types() {
    for (user, kind) in [
        (
            "system:serviceaccount:kube-system:default",
            ActorType::Service,
        ),
        ("ci@proj.iam.gserviceaccount.com", ActorType::Service),
        ("system:anonymous", ActorType::Anonymous),
        ("system:node:ip-10-0-1-5", ActorType::System),
        ("system:kube-scheduler", ActorType::System),
        ("system:apiserver", ActorType::System),
        ("eks:node-manager", ActorType::System),
        ("aksService", ActorType::System),
        ("kubernetes-admin", ActorType::Human),
        ("minikube-user", ActorType::Human),
    ] {
        assert_eq!(actor_type(user), kind, "{user}");
    }
}

#[test]
fn wrong_types_cost_the_field_only() {
    let json = r#"{"kind":"Event","auditID":"w1","stage":"ResponseComplete","verb":"delete","user":"mallory",
        "impersonatedUser":null,"sourceIPs":"203.0.113.9","objectRef":[1,2],"responseStatus":{"code":"403"},
        "requestObject":"not an object","annotations":7,"requestReceivedTimestamp":"2024-01-01T00:00:00Z",
        "requestURI":"/api/v1/namespaces/x/pods/y"}"#;
    let e = parse(json);
    assert_eq!(e.src_ip.as_deref(), Some("203.0.113.9"));
    assert_eq!(
        row(&e),
        "- (unknown) | delete /api/v1/namespaces/x/pods/y | - | /api/v1/namespaces/x/pods/y | failure | 403 | stage=ResponseComplete"
    );
    let spec = r#"{"auditID":"w2","stage":"ResponseComplete","verb":"create","user":{"username":"x","extra":[]},
        "timestamp":"2024-01-01T00:00:00Z","objectRef":{"resource":"pods","namespace":"a","name":"b"},
        "requestObject":{"spec":{"containers":"oops","volumes":{"a":1},"hostNetwork":"yes","template":null}}}"#;
    let details = Some("stage=ResponseComplete hostNetwork=true");
    assert_eq!(parse(spec).details.as_deref(), details);
}

#[test]
fn rejects_what_is_not_an_audit_event() {
    for json in [
        r#"{"kind": 0}"#,
        r#"{"kind":"Event","apiVersion":"v1","metadata":{"name":"x"},"reason":"Killing","involvedObject":{"kind":"Pod"}}"#,
        r#"{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[]}"#,
        r#"{"eventVersion":"1.08","eventTime":"2024-07-31T12:46:41Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser"}"#,
        r#"{"uuid":"u1","published":"2025-07-21T14:48:24.597Z","eventType":"user.session.start","actor":{"alternateId":"a@b.c"}}"#,
        r#"{"protoPayload":{"serviceName":"k8s.io","methodName":"io.k8s.core.v1.pods.exec.create"},"timestamp":"2024-01-01T00:00:00Z"}"#,
        r#"{"records":[{"category":"kube-audit","properties":{"log":"{}"}}]}"#,
        r#"{"category":"kube-audit","time":"2020-05-05T16:16:37Z","properties":{"log":"{\"auditID\":\"a\"}"}}"#,
        r#"{"action":"repo.create","actor":"octocat","created_at":1711431195806}"#,
    ] {
        assert!(!sniff(json), "{json}");
        let got = Kubernetes.parse_json(json.as_bytes());
        assert_eq!(got, Err(RecordError::NotThisFormat), "{json}");
    }
    for (json, why) in [
        (
            r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"n1","stage":"ResponseComplete"}"#,
            "no verb",
        ),
        (
            r#"{"auditID":"n2","stage":"ResponseComplete","verb":"get","stageTimestamp":"garbage"}"#,
            "no timestamp",
        ),
        (r#"{"auditID":"n3","verb":"#, "invalid JSON"),
    ] {
        match Kubernetes.parse_json(json.as_bytes()) {
            Err(RecordError::Invalid(reason)) => assert!(reason.contains(why), "{reason}"),
            other => panic!("{json}: {other:?}"),
        }
    }
}

#[test]
fn sniffs_each_real_shape() {
    assert!(sniff(
        r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1","auditID":"a"}"#
    ));
    // SEKOIA shape: neither kind nor apiVersion; Falco shape: kind, no apiVersion.
    assert!(sniff(
        r#"{"level":"Request","auditID":"a","stage":"ResponseComplete","verb":"get"}"#
    ));
    assert!(sniff(
        r#"{"kind":"Event","auditID":"a","stage":"ResponseStarted","verb":"create"}"#
    ));
    assert!(!sniff(r#"{"kind":"Event","auditID":"a"}"#));
    assert!(!sniff(
        r#"{"auditID":"a","stage":"x","verb":"get","apiVersion":"v1"}"#
    ));
}

/// An EKS audit event by a user mapped from IAM (the aws-iam-authenticator's extras).
fn eks(username: &str, canonical: &str, session: &str) -> String {
    format!(
        r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"e1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/prod/secrets","verb":"list",
        "user":{{"username":"{username}","uid":"aws-iam-authenticator:111122223333:AROAEXAMPLE","groups":["system:authenticated"],
        "extra":{{"accessKeyId":["ASIAEXAMPLE"],"arn":["arn:aws:sts::111122223333:assumed-role/x/{session}"],"canonicalArn":["{canonical}"],"principalId":["AROAEXAMPLE"],"sessionName":["{session}"]}}}},
        "sourceIPs":["10.0.1.5"],"objectRef":{{"resource":"secrets","namespace":"prod","apiVersion":"v1"}},"responseStatus":{{"code":200}},
        "requestReceivedTimestamp":"2025-03-04T12:00:00.000000Z","stageTimestamp":"2025-03-04T12:00:00.010000Z"}}"#
    )
}

#[test]
fn eks_roles_are_workloads_unless_the_mapping_proves_a_person() {
    let kind = |u: &str, c: &str, s: &str| parse(&eks(u, c, s)).actor_type;
    // A CI role and a node role: workloads, whatever the username template made of them.
    let ci = "arn:aws:iam::111122223333:role/ci-deployer";
    assert_eq!(
        kind(
            "arn:aws:sts::111122223333:assumed-role/ci-deployer/build-4411",
            ci,
            "build-4411"
        ),
        ActorType::Service
    );
    assert_eq!(kind("eks-admin", ci, "1712345678901"), ActorType::Service);
    // Identity Center permission sets and e-mail sessions are people.
    let sso = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Admin_0123abcd";
    assert_eq!(kind("admin:dana", sso, "dana"), ActorType::Human);
    let saml = "arn:aws:iam::111122223333:role/federated-admins";
    assert_eq!(
        kind(
            "arn:aws:sts::111122223333:assumed-role/federated-admins/dana@corp.example",
            saml,
            "dana@corp.example"
        ),
        ActorType::Human
    );
    // IAM users are people.
    assert_eq!(
        kind("alice", "arn:aws:iam::111122223333:user/alice", ""),
        ActorType::Human
    );
    // Users not mapped from IAM keep the name rules.
    let plain = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"e2","stage":"ResponseComplete","verb":"get","requestURI":"/api/v1/nodes","user":{"username":"system:node:ip-10-0-1-5"},"requestReceivedTimestamp":"2025-03-04T12:00:00Z"}"#;
    assert_eq!(parse(plain).actor_type, ActorType::System);
}
