use super::*;
use crate::providers::time::parse_rfc3339;

fn parse(record: &str) -> Event<'_> {
    Okta.parse_json(record.as_bytes()).unwrap()
}

fn probe(record: &str) -> Probe {
    sonic_rs::from_str(record).unwrap()
}

const PRIVILEGE_GRANT: &str = r#"{"actor":{"id":"00u1admin","type":"User","alternateId":"alice@example.com","displayName":"Alice Admin","detailEntry":null},
  "client":{"userAgent":{"rawUserAgent":"Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0","os":"Linux","browser":"FIREFOX"},"zone":"null","device":"Computer","id":null,"ipAddress":"203.0.113.10","geographicalContext":{"city":"Lyon","state":"Auvergne-Rhone-Alpes","country":"France","postalCode":null}},
  "authenticationContext":{"authenticationProvider":null,"credentialType":null,"authenticationStep":0,"rootSessionId":"idxRoot1","externalSessionId":"idxExt1"},
  "displayMessage":"Grant user privilege","eventType":"user.account.privilege.grant","outcome":{"result":"SUCCESS","reason":null},
  "published":"2025-03-04T10:15:30.123Z","securityContext":{"asNumber":64500,"asOrg":"example net","isProxy":false},"severity":"INFO",
  "debugContext":{"debugData":{"privilegeGranted":"Super administrator","requestUri":"/api/v1/users/00u2bob/roles"}},
  "legacyEventType":"core.user.admin_privilege.granted","transaction":{"type":"WEB","id":"tx1","detail":{}},"uuid":"0b1e7c2a-0000-4000-8000-000000000001","version":"0",
  "request":{"ipChain":[{"ip":"203.0.113.10","geographicalContext":null,"version":"V4","source":null}]},
  "target":[{"id":"ROLE_ASSIGNED","type":"ROLE_ASSIGNED","alternateId":"unknown","displayName":"Role Assigned","detailEntry":null},
            {"id":"00u2bob","type":"User","alternateId":"bob@example.com","displayName":"Bob","detailEntry":null},
            {"id":"SuperOrgAdmin","type":"ROLE","alternateId":"KNKV","displayName":"Super Organization Administrator","detailEntry":null}]}"#;

#[test]
fn privilege_grant_names_the_receiving_user() {
    let e = parse(PRIVILEGE_GRANT);
    assert_eq!(e.time, parse_rfc3339("2025-03-04T10:15:30.123Z"));
    assert_eq!(e.provider, "okta");
    assert_eq!(e.log_type, "system_log");
    assert_eq!(
        e.event_id.as_deref(),
        Some("0b1e7c2a-0000-4000-8000-000000000001")
    );
    assert_eq!(e.actor.as_deref(), Some("alice@example.com"));
    assert_eq!(e.actor_type, ActorType::Human);
    assert_eq!(e.action.as_deref(), Some("user.account.privilege.grant"));
    assert_eq!(e.service.as_deref(), Some("user"));
    assert_eq!(e.resource.as_deref(), Some("bob@example.com"));
    assert_eq!(e.src_ip.as_deref(), Some("203.0.113.10"));
    assert_eq!(
        e.user_agent.as_deref(),
        Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
    );
    assert_eq!((e.country, e.city.as_deref()), (Some("FR"), Some("Lyon")));
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.error, None);
    assert_eq!(e.mfa, None);
    assert_eq!(e.session.as_deref(), Some("idxExt1"));
    assert_eq!(e.read_only, None);
    assert_eq!(e.account, None);
    assert_eq!(
        e.details.as_deref(),
        Some(
            "privilegeGranted=Super administrator targets=User:bob@example.com,\
             ROLE:Super Organization Administrator asn=64500 msg=Grant user privilege"
        )
    );
}

#[test]
fn system_principal_has_no_ip_and_is_system() {
    let rec = r#"{"actor":{"id":"spr1","type":"SystemPrincipal","alternateId":"system@okta.com","displayName":"Okta System"},
      "client":{"userAgent":null,"zone":null,"device":null,"id":null,"ipAddress":null,"geographicalContext":null},
      "eventType":"zone.create","displayMessage":"Network zone create","outcome":{"result":"SUCCESS","reason":null},
      "published":"2025-03-04T10:00:00.000Z","uuid":"u-2","request":{"ipChain":[]},
      "target":[{"id":"nzo1","type":"NetworkZoneEntity","alternateId":"unknown","displayName":"BlockedIpZone","detailEntry":null}]}"#;
    let e = parse(rec);
    assert_eq!(e.actor.as_deref(), Some("system@okta.com"));
    assert_eq!(e.actor_type, ActorType::System);
    assert_eq!(e.src_ip, None);
    assert_eq!(e.user_agent, None);
    assert_eq!((e.country, e.city), (None, None));
    assert_eq!(e.service.as_deref(), Some("zone"));
    assert_eq!(e.resource.as_deref(), Some("BlockedIpZone"));
    assert_eq!(e.session, None);
}

#[test]
fn failure_keeps_the_reason_as_error() {
    let rec = r#"{"uuid":"u-3","published":"2025-03-04T11:00:00Z","eventType":"user.session.start",
      "actor":{"id":"00u3","type":"User","alternateId":"carol@example.com","displayName":"Carol"},
      "client":{"ipAddress":null,"userAgent":{"rawUserAgent":"curl/8.5.0"},"geographicalContext":{"city":null,"country":"Germany"}},
      "request":{"ipChain":[{"ip":"198.51.100.7"}]},
      "outcome":{"result":"FAILURE","reason":"INVALID_CREDENTIALS"},
      "securityContext":{"isProxy":true},
      "debugContext":{"debugData":{"threatSuspected":"true","behaviors":"{New Geo-Location=POSITIVE, New Device=NEGATIVE, New IP=POSITIVE}","risk":"{reasons=Anomalous Location, level=HIGH}"}},
      "authenticationContext":{"externalSessionId":"unknown","credentialType":"PASSWORD"}}"#;
    let e = parse(rec);
    assert_eq!(e.outcome, Outcome::Failure);
    assert_eq!(e.error.as_deref(), Some("INVALID_CREDENTIALS"));
    assert_eq!(
        e.src_ip.as_deref(),
        Some("198.51.100.7"),
        "falls back to ipChain"
    );
    assert_eq!(e.country, Some("DE"));
    assert_eq!(e.session, None, "unknown session ids are dropped");
    assert_eq!(e.resource, None);
    assert_eq!(e.mfa, None);
    assert_eq!(
        e.details.as_deref(),
        Some(
            "result=FAILURE threatSuspected=true behaviors=NewGeoLocation,NewIP risk=HIGH \
             proxy=true credential=PASSWORD"
        )
    );
}

#[test]
fn challenge_is_unknown_with_result_in_details() {
    let rec = r#"{"uuid":"u-4","published":"2025-03-04T11:00:00.5Z","eventType":"policy.evaluate_sign_on",
      "actor":{"type":"User","alternateId":"dave@example.com"},
      "outcome":{"result":"CHALLENGE","reason":"Sign-on policy evaluation resulted in ENROLL"},
      "target":[{"type":"AppInstance","alternateId":"Okta Admin Console","displayName":"Okta Admin Console"}]}"#;
    let e = parse(rec);
    assert_eq!(e.outcome, Outcome::Unknown);
    assert_eq!(e.error, None);
    assert_eq!(e.service.as_deref(), Some("policy"));
    assert_eq!(e.resource.as_deref(), Some("Okta Admin Console"));
    assert_eq!(
        e.details.as_deref(),
        Some(
            "targets=AppInstance:Okta Admin Console result=CHALLENGE \
             reason=Sign-on policy evaluation resulted in ENROLL"
        )
    );
}

#[test]
fn mfa_is_true_for_factor_authentication() {
    let rec = r#"{"uuid":"u-5","published":"2025-03-04T12:00:00.000Z","eventType":"user.authentication.auth_via_mfa",
      "actor":{"type":"User","alternateId":"erin@example.com"},"outcome":{"result":"SUCCESS"},
      "authenticationContext":{"authenticationProvider":"FACTOR_PROVIDER","externalSessionId":"102abc"}}"#;
    let e = parse(rec);
    assert_eq!(e.mfa, Some(true));
    assert_eq!(e.session.as_deref(), Some("102abc"));
    let sso = r#"{"uuid":"u-6","published":"2025-03-04T12:00:00.000Z","eventType":"user.authentication.sso",
      "actor":{"type":"User","alternateId":"erin@example.com"},"outcome":{"result":"SUCCESS"},
      "authenticationContext":{"credentialType":"OTP"}}"#;
    assert_eq!(parse(sso).mfa, Some(true));
}

#[test]
fn mfa_is_false_for_a_failed_factor_or_a_bypass_attempt_and_unknown_elsewhere() {
    let failed = r#"{"uuid":"u-7","published":"2025-03-04T12:00:00.000Z","eventType":"user.authentication.auth_via_mfa",
      "actor":{"type":"User","alternateId":"erin@example.com"},"outcome":{"result":"FAILURE","reason":"INVALID_CREDENTIALS"},
      "authenticationContext":{"authenticationProvider":"FACTOR_PROVIDER"}}"#;
    assert_eq!(parse(failed).mfa, Some(false));
    let bypass = r#"{"uuid":"u-8","published":"2025-03-04T12:00:00.000Z","eventType":"user.mfa.attempt_bypass",
      "actor":{"type":"User","alternateId":"erin@example.com"},"outcome":{"result":"DENY"}}"#;
    assert_eq!(parse(bypass).mfa, Some(false));
    // A session start never says how the user authenticated.
    let start = r#"{"uuid":"u-9","published":"2025-03-04T12:00:00.000Z","eventType":"user.session.start",
      "actor":{"type":"User","alternateId":"erin@example.com"},"outcome":{"result":"SUCCESS"},
      "authenticationContext":{"credentialType":"PASSWORD"}}"#;
    assert_eq!(parse(start).mfa, None);
}

#[test]
fn success_keeps_the_reason_in_details() {
    let rec = r#"{"uuid":"u-13","published":"2025-03-04T12:00:00.000Z","eventType":"user.mfa.factor.deactivate",
      "actor":{"type":"User","alternateId":"gina@example.com"},"outcome":{"result":"SUCCESS","reason":"User reset SMS_FACTOR factor"},
      "target":[{"type":"User","alternateId":"gina@example.com"}]}"#;
    let e = parse(rec);
    assert_eq!(e.outcome, Outcome::Success);
    assert_eq!(e.error, None);
    assert_eq!(
        e.details.as_deref(),
        Some("targets=User:gina@example.com reason=User reset SMS_FACTOR factor")
    );
}

#[test]
fn admin_consent_targets_the_client_app() {
    let rec = r#"{"uuid":"u-7","published":"2025-03-04T12:00:00.000Z","eventType":"app.oauth2.admin.consent.grant",
      "actor":{"type":"SystemPrincipal","alternateId":"system@okta.com"},"outcome":{"result":"SUCCESS"},
      "target":[{"id":"oag1","type":"ConsentGrant","alternateId":null,"displayName":"okta.users.manage","detailEntry":{"publicclientapp":"0oaApp1"}},
                {"id":"oag2","type":"ConsentGrant","alternateId":null,"displayName":"okta.apps.manage","detailEntry":{"publicclientapp":"0oaApp1"}}]}"#;
    let e = parse(rec);
    assert_eq!(e.resource.as_deref(), Some("0oaApp1"));
    assert_eq!(e.service.as_deref(), Some("app"));
    assert_eq!(
        e.details.as_deref(),
        Some("scopes=okta.users.manage,okta.apps.manage")
    );
}

#[test]
fn group_membership_targets_the_user_and_app_actor_is_service() {
    let rec = r#"{"uuid":"u-8","published":"2025-03-04T12:00:00.000Z","eventType":"group.user_membership.add",
      "actor":{"id":"0oaSvc","type":"PublicClientApp","alternateId":"unknown","displayName":"scim-sync"},"outcome":{"result":"SUCCESS"},
      "target":[{"type":"UserGroup","alternateId":"unknown","displayName":"Okta Admins"},{"type":"User","alternateId":"frank@example.com","displayName":"Frank"}],
      "transaction":{"detail":{"requestApiTokenId":"00T1token"}}}"#;
    let e = parse(rec);
    assert_eq!(e.actor.as_deref(), Some("scim-sync"));
    assert_eq!(e.actor_type, ActorType::Service);
    assert_eq!(e.resource.as_deref(), Some("frank@example.com"));
    assert_eq!(e.session.as_deref(), Some("00T1token"));
    assert_eq!(e.service.as_deref(), Some("group"));
}

#[test]
fn wrong_types_cost_the_field_not_the_record() {
    let rec = r#"{"uuid":"u-9","published":"2025-03-04T12:00:00.000Z","eventType":"user.lifecycle.create",
      "actor":"alice","client":[1,2],"outcome":"SUCCESS","target":{"type":"User","alternateId":"gina@example.com"},
      "debugContext":{"debugData":"x"},"securityContext":{"isProxy":"maybe"},"request":{"ipChain":"203.0.113.1"}}"#;
    let e = parse(rec);
    assert_eq!(e.actor, None);
    assert_eq!(e.actor_type, ActorType::Unknown);
    assert_eq!(e.outcome, Outcome::Unknown);
    assert_eq!(
        e.resource.as_deref(),
        Some("gina@example.com"),
        "a lone target object"
    );
}

#[test]
fn rejections() {
    let no_time = r#"{"uuid":"u-10","eventType":"user.session.start","actor":{"type":"User"}}"#;
    assert_eq!(
        Okta.parse_json(no_time.as_bytes()),
        Err(RecordError::Invalid(
            "Okta event has no published time".into()
        ))
    );
    let bad_time = r#"{"uuid":"u-11","eventType":"user.session.start","published":"yesterday"}"#;
    assert!(
        matches!(Okta.parse_json(bad_time.as_bytes()), Err(RecordError::Invalid(r)) if r.contains("unreadable published"))
    );
    let no_type = r#"{"uuid":"u-12","published":"2025-03-04T12:00:00.000Z"}"#;
    assert_eq!(
        Okta.parse_json(no_type.as_bytes()),
        Err(RecordError::Invalid("Okta event has no eventType".into()))
    );
    let cloudtrail = r#"{"eventVersion":"1.08","eventTime":"2025-03-04T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","eventType":"AwsApiCall"}"#;
    assert_eq!(
        Okta.parse_json(cloudtrail.as_bytes()),
        Err(RecordError::NotThisFormat)
    );
    let github = r#"{"action":"org.add_member","actor":"alice","created_at":1711431195806}"#;
    assert_eq!(
        Okta.parse_json(github.as_bytes()),
        Err(RecordError::NotThisFormat)
    );
    assert_eq!(
        Okta.parse_json(br#"{"kind": 0}"#),
        Err(RecordError::NotThisFormat)
    );
    assert!(matches!(
        Okta.parse_json(b"{\"uuid\":"),
        Err(RecordError::Invalid(_))
    ));
}

#[test]
fn sniff_accepts_okta_only() {
    assert!(Okta.sniff_json(&probe(PRIVILEGE_GRANT)));
    for other in [
        r#"{"eventVersion":"1.08","eventTime":"2025-03-04T12:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","eventType":"AwsApiCall","userIdentity":{"type":"IAMUser"}}"#,
        r#"{"@timestamp":1711431195806,"_document_id":"x","action":"user.login","actor":"alice","created_at":1711431195806}"#,
        r#"{"protoPayload":{"methodName":"SetIamPolicy"},"timestamp":"2025-03-04T12:00:00Z","insertId":"x"}"#,
        r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"a","verb":"get"}"#,
        r#"{"eventType":"com.okta.event_hook","eventTime":"2025-03-04T12:00:00Z","data":{"events":[]}}"#,
        r#"{"kind": 0}"#,
        r#"{"uuid":"u","eventType":"user.session.start"}"#,
    ] {
        assert!(!Okta.sniff_json(&probe(other)), "{other}");
    }
}

#[test]
fn behaviour_and_risk_text_forms() {
    assert_eq!(
        positive_behaviors(
            r#"{"New Geo-Location":"UNKNOWN","New Device":"POSITIVE","Velocity":"POSITIVE"}"#
        )
        .as_deref(),
        Some("NewDevice,Velocity")
    );
    assert_eq!(positive_behaviors("{New IP=NEGATIVE}"), None);
    assert_eq!(risk_level(r#"{"reasons":"x","level":"LOW"}"#), Some("LOW"));
    assert_eq!(
        risk_level("{reasons=Anomalous Device, level=MEDIUM}"),
        Some("MEDIUM")
    );
    assert_eq!(risk_level("none"), None);
}

#[test]
fn behaviours_are_read_as_text_lists_objects_and_log_only_security_data() {
    // An admin-console sign-on evaluation, as the System Log API returns it.
    let record = |debug: &str| {
        format!(
            r#"{{"uuid":"u-9","published":"2025-03-04T12:00:00.000Z","eventType":"policy.evaluate_sign_on","displayMessage":"Evaluation of sign-on policy",
      "actor":{{"id":"00u9","type":"User","alternateId":"dana@example.com","displayName":"Dana"}},
      "client":{{"ipAddress":"198.51.100.120","userAgent":{{"rawUserAgent":"Mozilla/5.0"}},"geographicalContext":{{"city":"Lisbon","country":"Portugal"}}}},
      "outcome":{{"result":"ALLOW","reason":"Sign-on policy evaluation resulted in ALLOW"}},
      "securityContext":{{"asNumber":12345,"isProxy":false}},
      "debugContext":{{"debugData":{{"requestUri":"/admin/sso/request",{debug}}}}},
      "target":[{{"id":"0oa1","type":"AppInstance","alternateId":"Okta Admin Console","displayName":"Okta Admin Console"}}]}}"#
        )
    };
    let behaviors = |debug: &str| {
        let json = record(debug);
        let e = Okta
            .parse_json(json.as_bytes())
            .map(|e| e.details.map(Cow::into_owned));
        let details = e.ok().flatten().unwrap_or_default();
        let value = details
            .split(' ')
            .find_map(|p| p.strip_prefix("behaviors="));
        value.map(str::to_owned)
    };
    let both = Some("NewDevice,NewIP".to_owned());
    // The System Log's own text form.
    let text = r#""behaviors":"{New Geo-Location=NEGATIVE, New Device=POSITIVE, New IP=POSITIVE, Velocity=NEGATIVE}""#;
    assert_eq!(behaviors(text), both);
    // A list of `Name=VALUE` strings, and an object.
    let list =
        r#""behaviors":["New Geo-Location=NEGATIVE","New Device=POSITIVE","New IP=POSITIVE"]"#;
    assert_eq!(behaviors(list), both);
    let object =
        r#""behaviors":{"New Device":"POSITIVE","New IP":"POSITIVE","Velocity":"NEGATIVE"}"#;
    assert_eq!(behaviors(object), both);
    // Only in `logOnlySecurityData`: JSON text as Okta writes it, or an object.
    let log_only = r#"{"risk":{"level":"LOW"},"behaviors":{"New Geo-Location":"NEGATIVE","New Device":"POSITIVE","New IP":"POSITIVE","New State":"NEGATIVE"}}"#;
    let as_text = format!(
        r#""logOnlySecurityData":{}"#,
        sonic_rs::to_string(log_only).unwrap()
    );
    assert_eq!(behaviors(&as_text), both);
    assert_eq!(
        behaviors(&format!(r#""logOnlySecurityData":{log_only}"#)),
        both
    );
    // Nothing positive, no behaviours, or a shape that is none of these: no key.
    let quiet = r#""logOnlySecurityData":"{\"behaviors\":{\"New IP\":\"NEGATIVE\"}}""#;
    assert_eq!(behaviors(quiet), None);
    assert_eq!(
        behaviors(r#""behaviors":42,"logOnlySecurityData":[1]"#),
        None
    );
    assert_eq!(behaviors(r#""logOnlySecurityData":"not json""#), None);
    // The record is read whatever the shape.
    let e = parse(Box::leak(record(list).into_boxed_str()));
    assert_eq!(e.resource.as_deref(), Some("Okta Admin Console"));
}

#[test]
fn a_null_client_address_falls_back_to_the_request_chain() {
    let record = PRIVILEGE_GRANT
        .replace(r#""ipAddress":"203.0.113.10""#, r#""ipAddress":"null""#)
        .replace(r#"{"ip":"203.0.113.10""#, r#"{"ip":"198.51.100.4""#);
    assert_eq!(parse(&record).src_ip.as_deref(), Some("198.51.100.4"));
    let nowhere = record.replace(r#"{"ip":"198.51.100.4""#, r#"{"ip":"null""#);
    assert_eq!(parse(&nowhere).src_ip, None);
}

#[test]
fn the_risk_level_is_read_from_the_security_data_too() {
    let security = r#""debugData":{"logOnlySecurityData":"{\"risk\":{\"reasons\":\"Anomalous Location\",\"level\":\"HIGH\"},\"behaviors\":{\"New IP\":\"POSITIVE\"}}","privilegeGranted""#;
    let record = PRIVILEGE_GRANT.replace(r#""debugData":{"privilegeGranted""#, security);
    let details = parse(&record).details.unwrap().into_owned();
    assert!(details.contains("risk=HIGH"), "{details}");
    assert!(details.contains("behaviors=NewIP"), "{details}");
    // A level that is not a word is not shown.
    let odd = record.replace(r#"\"level\":\"HIGH\""#, r#"\"level\":\"<b>\""#);
    let details = parse(&odd).details.unwrap().into_owned();
    assert!(!details.contains("risk="), "{details}");
}

#[test]
fn a_sign_in_targets_the_app_not_the_authenticator() {
    // Identity Engine lists the authenticator enrollment before the app signed in to.
    let record = r#"{"actor":{"id":"00u9carol","type":"User","alternateId":"carol@example.com","displayName":"Carol","detailEntry":null},
      "client":{"userAgent":{"rawUserAgent":"Mozilla/5.0","os":"Mac OS X","browser":"CHROME"},"zone":"null","device":"Computer","id":null,"ipAddress":"198.51.100.40","geographicalContext":null},
      "authenticationContext":{"authenticationStep":0,"externalSessionId":"idxCarol1"},
      "displayMessage":"User login to Okta","eventType":"user.session.start","outcome":{"result":"SUCCESS","reason":null},
      "published":"2025-03-26T21:05:32.159Z","severity":"INFO","uuid":"0b1e7c2a-0000-4000-8000-000000000042","version":"0",
      "target":[{"id":"lae1enroll","type":"AuthenticatorEnrollment","alternateId":"unknown","displayName":"Password","detailEntry":null},
                {"id":"0oa1console","type":"AppInstance","alternateId":"Okta Admin Console","displayName":"Okta Admin Console","detailEntry":null}]}"#;
    let e = parse(record);
    assert_eq!(e.resource.as_deref(), Some("Okta Admin Console"));
    // Elsewhere target[0] stays the resource.
    let other = record.replace("user.session.start", "user.mfa.factor.update");
    assert_eq!(parse(&other).resource.as_deref(), Some("Password"));
}
