//! Per-format fixtures: every provider and export shape, asserting the normalized values a
//! user sees, row by row.

use crate::util::{Row, assert_fields, fixture, load, rows};

/// Loads one fixture; returns its rows and (events, rejected).
fn fixture_rows(rel: &str) -> (Vec<Row>, (u64, u64), Option<&'static str>) {
    let store = load(&[&fixture(rel)]);
    let input = &store.inputs()[0];
    (
        rows(store.frame()),
        (input.events, input.rejected),
        input.format,
    )
}

/// The row with this event id.
#[track_caller]
fn by_id<'a>(rows: &'a [Row], id: &str) -> &'a Row {
    rows.iter()
        .find(|r| r["event_id"] == id)
        .unwrap_or_else(|| panic!("no event {id} in {rows:#?}"))
}

mod okta {
    use super::*;

    #[test]
    fn api_page_json_array() {
        let (rows, counts, format) = fixture_rows("okta/system-log-api-page.json");
        assert_eq!((counts, format), ((3, 0), Some("okta")));
        assert_fields(
            by_id(&rows, "5f0c1a2e-3f4b-11f0-9a1b-0242ac120001"),
            &[
                ("time", "2025-06-02T09:14:07.412Z"),
                ("provider", "okta"),
                ("log_type", "system_log"),
                ("actor", "alice@example.com"),
                ("actor_type", "human"),
                ("action", "user.account.privilege.grant"),
                ("service", "user"),
                ("resource", "bob@example.com"),
                ("src_ip", "203.0.113.10"),
                ("country", "NL"),
                ("city", "Amsterdam"),
                ("outcome", "success"),
                ("session", "idxR00tSess10nAl1ce"),
                ("privileged", "true"),
                ("mfa", ""),
            ],
        );
        assert!(
            rows.iter()
                .any(|r| r["actor_type"] == "system" && r["src_ip"].is_empty())
        );
        assert!(rows.iter().any(|r| r["outcome"] == "failure"));
    }

    #[test]
    fn ndjson_with_crlf() {
        let (rows, counts, _) = fixture_rows("okta/system-log.ndjson");
        assert_eq!(counts, (4, 0));
        assert_fields(
            by_id(&rows, "8d2f6b10-4a11-11f0-8c3e-0242ac130001"),
            &[
                ("time", "2025-06-03T07:02:11.005Z"),
                ("actor", "dave@example.com"),
                ("action", "user.authentication.auth_via_mfa"),
                ("src_ip", "192.0.2.44"),
                ("country", "CA"),
                ("city", "Toronto"),
                ("mfa", "true"),
                ("session", "102DaveSess"),
            ],
        );
    }

    #[test]
    fn cribl_and_eventbridge_envelopes_are_unwrapped() {
        let (rows, counts, _) = fixture_rows("okta/cribl-raw-wrapper.json");
        assert_eq!(counts, (2, 0));
        assert_fields(
            by_id(&rows, "a41c7e00-4b22-11f0-b1d2-0242ac140001"),
            &[
                ("time", "2025-06-04T12:00:03.333Z"),
                ("actor", "frank@example.com"),
                ("action", "system.api_token.create"),
                ("resource", "terraform-ci"),
                ("privileged", "true"),
            ],
        );
        let (rows, counts, _) = fixture_rows("okta/eventbridge-log-stream.ndjson");
        assert_eq!(counts, (2, 0));
        assert_fields(
            by_id(&rows, "c9e1f5a0-4c33-11f0-a1b2-0242ac150001"),
            &[
                ("actor", "hank@example.com"),
                ("action", "user.account.lock"),
                ("outcome", "failure"),
                ("error", "LOCKED_OUT"),
            ],
        );
    }

    #[test]
    fn an_event_without_published_is_rejected_with_its_line() {
        let store = load(&[&fixture("okta/bad-missing-published.json")]);
        let input = &store.inputs()[0];
        assert_eq!((input.events, input.rejected), (1, 1));
        let reason = input.rejections[0].to_string();
        assert!(
            reason.contains("bad-missing-published.json:2") && reason.contains("no published time"),
            "{reason}"
        );
    }
}

mod github {
    use super::*;

    #[test]
    fn organisation_stream_new_format() {
        let (rows, counts, format) = fixture_rows("github-audit/org-audit-stream.ndjson");
        assert_eq!((counts, format), ((4, 0), Some("github-audit")));
        assert_fields(
            by_id(&rows, "Qm9vdHN0cmFwLWV4YW1wbGUx"),
            &[
                ("time", "2025-06-02T09:14:07.412Z"),
                ("provider", "github"),
                ("log_type", "audit"),
                ("actor", "alice-admin"),
                ("actor_type", "human"),
                ("action", "org.update_member"),
                ("service", "org"),
                ("resource", "bob-dev"),
                ("src_ip", "203.0.113.10"),
                ("country", "NL"),
                ("read_only", "false"),
                ("account", "example-org"),
                (
                    "details",
                    "permission=admin old_permission=read operation_type=modify",
                ),
                ("privileged", "true"),
            ],
        );
        assert!(rows.iter().any(|r| r["actor_type"] == "service"
            && r["action"] == "git.clone"
            && r["read_only"] == "true"));
        assert!(rows.iter().any(|r| r["outcome"] == "failure"));
    }

    #[test]
    fn old_export_without_document_ids() {
        let (rows, counts, _) = fixture_rows("github-audit/org-audit-export-old.json");
        assert_eq!(counts, (4, 0));
        let row = rows
            .iter()
            .find(|r| r["action"] == "team.add_member")
            .unwrap();
        assert_fields(
            row,
            &[
                ("time", "2021-01-25T23:44:26.125Z"),
                ("event_id", ""),
                ("actor", "dave-lead"),
                ("resource", "erin-ops"),
                ("country", "CA"),
                ("account", "example-org"),
            ],
        );
    }

    #[test]
    fn user_security_log_without_trailing_newline() {
        let (rows, counts, _) = fixture_rows("github-audit/user-security-log.ndjson");
        assert_eq!(counts, (5, 0));
        assert_fields(
            by_id(&rows, "dXNlci1sb2dpbi0wMDAx"),
            &[
                ("time", "2024-03-26T05:33:15.806Z"),
                ("actor", "gina-dev"),
                ("action", "user.login"),
                ("src_ip", ""),
            ],
        );
        let forgot = rows
            .iter()
            .find(|r| r["action"] == "user.forgot_password")
            .unwrap();
        assert!(
            !forgot["actor"].is_empty(),
            "the user stands in for the missing actor"
        );
    }

    #[test]
    fn an_event_without_a_time_is_rejected() {
        let store = load(&[&fixture("github-audit/bad-missing-time.json")]);
        let input = &store.inputs()[0];
        assert_eq!((input.events, input.rejected), (1, 1));
        assert!(
            input.rejections[0]
                .reason
                .contains("no usable @timestamp or created_at")
        );
    }
}
