use super::*;
use crate::providers::time::parse_rfc3339;

fn parse(record: &str) -> Event<'_> {
    GitHub.parse_json(record.as_bytes()).unwrap()
}

fn probe(record: &str) -> Probe {
    sonic_rs::from_str(record).unwrap()
}

const UPDATE_MEMBER: &str = r#"{"@timestamp":1711431195806,"_document_id":"Zx9aQ1bC2dE3fG4hI5jK6w","action":"org.update_member",
  "actor":"alice-admin","actor_id":1001,"actor_ip":"203.0.113.20","actor_location":{"country_code":"DE"},"business":"example-corp",
  "business_id":77,"created_at":1711431195806,"hashed_token":"dGVzdHRva2VuaGFzaA==","old_permission":"read","operation_type":"modify",
  "org":"example-org","org_id":4242,"permission":"admin","programmatic_access_type":"Personal access token","token_id":9001,
  "user":"bob-dev","user_agent":"curl/8.5.0","user_id":1002}"#;

#[test]
fn new_format_role_change_targets_the_user() {
    let e = parse(UPDATE_MEMBER);
    assert_eq!(e.time, parse_rfc3339("2024-03-26T05:33:15.806Z"));
    assert_eq!(e.provider, "github");
    assert_eq!(e.log_type, "audit");
    assert_eq!(e.event_id.as_deref(), Some("Zx9aQ1bC2dE3fG4hI5jK6w"));
    assert_eq!(e.actor.as_deref(), Some("alice-admin"));
    assert_eq!(
        e.actor_type,
        ActorType::Human,
        "a PAT stays with its human owner"
    );
    assert_eq!(e.action.as_deref(), Some("org.update_member"));
    assert_eq!(e.service.as_deref(), Some("org"));
    assert_eq!(e.resource.as_deref(), Some("bob-dev"));
    assert_eq!(e.src_ip.as_deref(), Some("203.0.113.20"));
    assert_eq!(e.user_agent.as_deref(), Some("curl/8.5.0"));
    assert_eq!(e.country, Some("DE"));
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.error, None);
    assert_eq!(e.mfa, None);
    assert_eq!(e.session.as_deref(), Some("dGVzdHRva2VuaGFzaA=="));
    assert_eq!(e.read_only, Some(false));
    assert_eq!(e.account.as_deref(), Some("example-org"));
    assert_eq!(
        e.details.as_deref(),
        Some(
            "permission=admin old_permission=read token_type=Personal access token \
             operation_type=modify"
        )
    );
}

#[test]
fn old_format_uses_created_at_and_data_team() {
    let rec = r#"{"actor":"carol","data":{"team":"example-org/admins"},"org":"example-org","created_at":1611618266125,
      "action":"team.add_member","actor_location":{"country_code":"US"},"user":"dave"}"#;
    let e = parse(rec);
    assert_eq!(e.time, Some(1_611_618_266_125_000));
    assert_eq!(e.event_id, None);
    assert_eq!(e.resource.as_deref(), Some("dave"));
    assert_eq!(e.service.as_deref(), Some("team"));
    assert_eq!(e.read_only, None);
    assert_eq!(e.details.as_deref(), Some("team=example-org/admins"));
    let create = r#"{"actor":"carol","data":{"team":"example-org/admins"},"org":"example-org","created_at":1611618266125,"action":"team.create"}"#;
    let e = parse(create);
    assert_eq!(e.resource.as_deref(), Some("example-org/admins"));
    assert_eq!(e.details, None);
}

#[test]
fn user_export_without_actor_uses_user_and_array_orgs() {
    let rec = r#"{"@timestamp":1707480167952,"_document_id":"fp1","action":"user.forgot_password","created_at":1707480167952,
      "email":"erin@example.com","operation_type":"authentication","user":"erin","user_id":5}"#;
    let e = parse(rec);
    assert_eq!(e.actor.as_deref(), Some("erin"));
    assert_eq!(e.actor_type, ActorType::Human);
    assert_eq!(e.resource.as_deref(), Some("erin"));
    assert_eq!(e.account, None);
    assert_eq!(e.read_only, None);
    assert_eq!(e.details.as_deref(), Some("operation_type=authentication"));
    let empty = r#"{"@timestamp":1710243918530,"action":"oauth_authorization.create","actor":"erin","org":[],"org_id":[],"user":"erin"}"#;
    assert_eq!(parse(empty).account, None);
    let pat = r#"{"@timestamp":1711292499390,"action":"personal_access_token.create","actor":"erin","org":["example-org"],"user":"erin","user_programmatic_access_name":"ci"}"#;
    let e = parse(pat);
    assert_eq!(e.resource.as_deref(), Some("erin"), "the token holder");
    assert_eq!(e.account.as_deref(), Some("example-org"));
    assert_eq!(e.details.as_deref(), Some("token_name=ci"));
    let listed = r#"{"@timestamp":1710243918530,"action":"user.failed_login","actor":"erin","org":["example-org","other"],"org_id":[1,2],"business":"example-corp","user":"erin"}"#;
    let e = parse(listed);
    assert_eq!(e.account.as_deref(), Some("example-org"));
    assert_eq!(e.resource.as_deref(), Some("example-org"));
}

#[test]
fn failures_are_read_from_the_action_name() {
    for (action, kind) in [
        ("user.failed_login", "failed_login"),
        (
            "user.two_factor_challenge_failure",
            "two_factor_challenge_failure",
        ),
        (
            "protected_branch.rejected_ref_update",
            "rejected_ref_update",
        ),
        ("personal_access_token.request_denied", "request_denied"),
    ] {
        let rec = format!(r#"{{"created_at":1711431177229,"action":"{action}","actor":"frank"}}"#);
        let e = GitHub.parse_json(rec.as_bytes()).unwrap();
        assert_eq!(e.outcome, Outcome::Failure, "{action}");
        assert_eq!(e.error.as_deref(), Some(kind), "{action}");
    }
    for action in [
        "user.login",
        "repo.destroy",
        "org.update_default_repository_permission",
    ] {
        let rec = format!(r#"{{"created_at":1711431177229,"action":"{action}","actor":"frank"}}"#);
        assert_eq!(
            GitHub.parse_json(rec.as_bytes()).unwrap().outcome,
            Outcome::Success,
            "{action}"
        );
    }
    let mfa = r#"{"created_at":1711431177229,"action":"user.two_factor_challenge_success","actor":"frank"}"#;
    assert_eq!(parse(mfa).mfa, Some(true));
    // A failed challenge is evidence that MFA was not satisfied, not that it was.
    let failed = r#"{"created_at":1711431177229,"action":"user.two_factor_challenge_failure","actor":"frank"}"#;
    assert_eq!(parse(failed).mfa, Some(false));
}

#[test]
fn git_access_actor_types_and_read_only() {
    let anon = r#"{"@timestamp":1692989148721,"action":"git.clone","business":"example-corp","org":"example-org",
      "repo":"example-org/site","repository":"example-org/site","repository_public":true,"transport_protocol_name":"http","user_id":0}"#;
    let e = parse(anon);
    assert_eq!(e.actor, None);
    assert_eq!(e.actor_type, ActorType::Anonymous);
    assert_eq!(e.read_only, Some(true));
    assert_eq!(e.resource.as_deref(), Some("example-org/site"));
    assert_eq!(e.details.as_deref(), Some("transport=http"));
    let bot = r#"{"@timestamp":1655872622832,"action":"git.clone","actor":"github-actions[bot]","repo":"example-org/site","user":""}"#;
    assert_eq!(parse(bot).actor_type, ActorType::Service);
    let dependabot =
        r#"{"created_at":1655872622832,"action":"pull_request.create","actor":"dependabot"}"#;
    assert_eq!(parse(dependabot).actor_type, ActorType::Service);
    let flagged = r#"{"created_at":1655872622832,"action":"repo.create","actor":"ci-runner","actor_is_bot":true}"#;
    assert_eq!(parse(flagged).actor_type, ActorType::Service);
    let app = r#"{"created_at":1655872622832,"action":"repo.create","actor":"deploy-app","programmatic_access_type":"GitHub App server-to-server token"}"#;
    assert_eq!(parse(app).actor_type, ActorType::Service);
    let platform = r#"{"created_at":1655872622832,"action":"secret_scanning_alert.create","actor":"github","repo":"example-org/site"}"#;
    assert_eq!(parse(platform).actor_type, ActorType::System);
    let push = r#"{"created_at":1655872622832,"action":"git.push","actor":"gina","repo":"example-org/site"}"#;
    assert_eq!(parse(push).read_only, Some(false));
}

#[test]
fn special_resources() {
    let block = r#"{"@timestamp":1685465626150,"action":"org.block_user","actor":"alice-admin","blocked_user":"spammer","org":"example-org"}"#;
    assert_eq!(parse(block).resource.as_deref(), Some("spammer"));
    let install = r#"{"@timestamp":1692981844013,"action":"integration_installation.repositories_added","actor":"alice-admin",
      "integration":"Example CI","repositories_added_names":["example-org/api","example-org/web"],"org":"example-org"}"#;
    let e = parse(install);
    assert_eq!(e.resource.as_deref(), Some("Example CI"));
    assert_eq!(e.details.as_deref(), Some("repos_added=example-org/api"));
    let add = r#"{"created_at":1619733030434,"action":"repo.add_member","actor":"alice-admin","repo":"example-org/api","user":"hank","permission":"admin"}"#;
    let e = parse(add);
    assert_eq!(e.resource.as_deref(), Some("hank"));
    assert_eq!(
        e.details.as_deref(),
        Some("permission=admin repo=example-org/api")
    );
}

#[test]
fn site_admin_actions_on_an_account_target_it() {
    // Enterprise stream records (shapes of Elastic's github enterprise test records): the
    // account acted on is named by `user_id` only, or by `user`.
    let block = r#"{"@timestamp":1698580140000,"action":"user.block","actor":"moderator","actor_id":12345,
      "actor_location":{"country_name":"Japan","ip":"198.51.100.3"},"org":"mod-team","user_id":56789,"business":"mod-services"}"#;
    let e = parse(block);
    assert_eq!(e.resource.as_deref(), Some("56789"));
    assert_eq!(e.actor.as_deref(), Some("moderator"));
    assert_eq!(e.account.as_deref(), Some("mod-team"));
    let promote = r#"{"@timestamp":1698580740000,"action":"user.promote","actor":"super_admin","actor_id":12345,
      "org":"mod-team","user":"newadmin","user_id":56789}"#;
    assert_eq!(parse(promote).resource.as_deref(), Some("newadmin"));
    let suspend = r#"{"created_at":1698580740000,"action":"user.suspend","actor":"site-admin","user_id":777}"#;
    assert_eq!(parse(suspend).resource.as_deref(), Some("777"));
    // The account's own events keep the account: its own id is no target.
    let login = r#"{"@timestamp":1698579600000,"action":"user.login","actor":"john_doe","actor_id":12345,
      "org":"tech-corp","user_id":12345}"#;
    assert_eq!(parse(login).resource.as_deref(), Some("tech-corp"));
    // Anonymous events carry `user_id` 0.
    let clone = r#"{"@timestamp":1692989148721,"action":"git.clone","org":"github-org","repo":"github-org/4","user_id":0}"#;
    assert_eq!(parse(clone).resource.as_deref(), Some("github-org/4"));
}

#[test]
fn the_address_of_an_enterprise_stream_is_read_from_actor_location() {
    let rec = r#"{"@timestamp":1698579780000,"action":"repo.destroy","actor":"bob_admin","actor_id":45678,
      "actor_location":{"country_name":"Germany","ip":"203.0.113.52"},"org":"admin-hub","repo":"admin-hub/legacy"}"#;
    let e = parse(rec);
    assert_eq!(e.src_ip.as_deref(), Some("203.0.113.52"));
    assert_eq!(e.country, Some("DE"));
    // `actor_ip` is the record's own field and comes first.
    let both = rec.replace(r#""actor_id""#, r#""actor_ip":"192.0.2.7","actor_id""#);
    assert_eq!(parse(&both).src_ip.as_deref(), Some("192.0.2.7"));
}

#[test]
fn times_may_be_strings() {
    let text = r#"{"created_at":"2024-03-26T05:33:15.806Z","action":"repo.create","actor":"ivy"}"#;
    assert_eq!(parse(text).time, parse_rfc3339("2024-03-26T05:33:15.806Z"));
    let digits = r#"{"@timestamp":"1711431195806","action":"repo.create","actor":"ivy"}"#;
    assert_eq!(
        parse(digits).time,
        parse_rfc3339("2024-03-26T05:33:15.806Z")
    );
}

#[test]
fn rejections() {
    let no_time = r#"{"action":"repo.create","actor":"ivy","_document_id":"x"}"#;
    assert_eq!(
        GitHub.parse_json(no_time.as_bytes()),
        Err(RecordError::Invalid(
            "GitHub audit event has no usable @timestamp or created_at".into()
        ))
    );
    let bad_time = r#"{"action":"repo.create","actor":"ivy","created_at":"soon"}"#;
    assert!(matches!(
        GitHub.parse_json(bad_time.as_bytes()),
        Err(RecordError::Invalid(_))
    ));
    let no_action = r#"{"created_at":1711431195806,"actor":"ivy"}"#;
    assert_eq!(
        GitHub.parse_json(no_action.as_bytes()),
        Err(RecordError::Invalid(
            "GitHub audit event has no action".into()
        ))
    );
    for other in [
        r#"{"uuid":"u","published":"2025-03-04T12:00:00.000Z","eventType":"user.session.start","actor":{"type":"User"}}"#,
        r#"{"eventTime":"2025-03-04T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","eventType":"AwsApiCall"}"#,
        r#"{"kind": 0}"#,
    ] {
        assert_eq!(
            GitHub.parse_json(other.as_bytes()),
            Err(RecordError::NotThisFormat),
            "{other}"
        );
    }
    assert!(matches!(
        GitHub.parse_json(b"[1,"),
        Err(RecordError::Invalid(_))
    ));
}

#[test]
fn first_text_takes_the_first_array_element() {
    #[derive(Deserialize)]
    struct R<'a> {
        #[serde(borrow, default)]
        a: FirstText<'a>,
        #[serde(borrow, default)]
        b: FirstText<'a>,
        #[serde(borrow, default)]
        c: FirstText<'a>,
        #[serde(borrow, default)]
        d: FirstText<'a>,
    }
    let r: R = from_json(br#"{"a":"acme","b":["x","y"],"c":[],"d":{"k":1}}"#).unwrap();
    assert_eq!(r.a.0.as_deref(), Some("acme"));
    assert_eq!(r.b.0.as_deref(), Some("x"));
    assert_eq!(r.c.0, None);
    assert_eq!(r.d.0, None);
}

#[test]
fn sniff_accepts_github_only() {
    assert!(GitHub.sniff_json(&probe(UPDATE_MEMBER)));
    assert!(GitHub.sniff_json(&probe(
        r#"{"actor":"carol","org":"example-org","created_at":1611618266125,"action":"team.create"}"#
    )));
    for other in [
        r#"{"uuid":"u","published":"2025-03-04T12:00:00.000Z","eventType":"user.session.start","actor":{"type":"User"}}"#,
        r#"{"eventTime":"2025-03-04T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","userIdentity":{}}"#,
        r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","verb":"get","user":{"username":"x"}}"#,
        r#"{"name":"organizations/1/sources/2/findings/3","finding":{"category":"OPEN_FIREWALL"},"resource":{"name":"x"}}"#,
        r#"{"kind": 0}"#,
        r#"{"action":"login","actor":"x","created_at":1}"#,
        r#"{"action":"repo.create","actor":"x"}"#,
    ] {
        assert!(!GitHub.sniff_json(&probe(other)), "{other}");
    }
}

#[test]
fn a_clone_by_a_deploy_key_is_a_machine() {
    // Git events name a deploy key's access `deploy_key`, with no actor id and user_id 0.
    let record = r#"{"@timestamp":1746802588000,"_document_id":"dk-1","action":"git.clone","actor":"deploy_key",
      "actor_location":{"country_code":"US"},"org":"example-org","org_id":4242,"programmatic_access_type":"Public Key (User/Deploy)",
      "repo":"example-org/infra","repository":"example-org/infra","repository_public":false,"transport_protocol":1,
      "transport_protocol_name":"ssh","user_id":0,"business":"example-corp"}"#;
    let e = parse(record);
    assert_eq!(e.actor.as_deref(), Some("deploy_key"));
    assert_eq!(e.actor_type, ActorType::Service);
    assert_eq!(e.resource.as_deref(), Some("example-org/infra"));
    assert_eq!(e.read_only, Some(true));
}
