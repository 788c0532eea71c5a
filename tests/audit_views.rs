//! The identity inventory, the access audit and the access review as saved views and as
//! reports: what `trailscope identities`/`access` print is what a view and a report of it
//! hold.

use std::path::Path;

use crate::util::{fixture, run, stderr, stdout};

fn dir(name: &str) -> String {
    fixture(name).display().to_string()
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

fn report(args: &[&str], out: &Path) -> String {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    let path = out.display().to_string();
    all.extend_from_slice(&["--out", &path]);
    ok(&all);
    std::fs::read_to_string(out).expect("report written")
}

#[test]
fn the_builtin_access_review_view_is_the_review_and_a_saved_one_keeps_its_thresholds() {
    let access = dir("access");
    let review = ok(&[
        "access",
        &access,
        "--review",
        "--privileged-only",
        "--format",
        "csv",
    ]);
    assert!(review.lines().count() > 1, "{review}");
    let by_view = ok(&[
        "access",
        &access,
        "--view",
        "access-review",
        "--format",
        "csv",
    ]);
    assert_eq!(by_view, review);

    // A views file written by hand: its thresholds reach the command.
    let tmp = tempfile::tempdir().unwrap();
    let views = tmp.path().join("views.toml");
    std::fs::write(
        &views,
        "[view.strict-review]\ntitle = \"Strict\"\nreview = { unused_days = 1 }\n",
    )
    .unwrap();
    let views = views.display().to_string();
    let strict = ok(&[
        "access",
        &access,
        "--views",
        &views,
        "--view",
        "strict-review",
        "--format",
        "csv",
    ]);
    let flags = ok(&[
        "access",
        &access,
        "--review",
        "--unused-days",
        "1",
        "--format",
        "csv",
    ]);
    assert_eq!(strict, flags);
    let listed = ok(&["views", "list", "--views", &views]);
    assert!(
        listed.contains("strict-review") && listed.contains("review"),
        "{listed}"
    );
}

#[test]
fn reports_of_the_audit_views_hold_the_same_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let access = dir("access");
    // CSV: exactly the review the command prints.
    let csv = report(
        &["--view", "access-review", &access],
        &tmp.path().join("review.csv"),
    );
    let review = ok(&[
        "access",
        &access,
        "--view",
        "access-review",
        "--format",
        "csv",
    ]);
    assert_eq!(csv, review);
    assert!(
        csv.starts_with("principal,type,resource,scope,provider,decision"),
        "{csv}"
    );

    // HTML: the audit as its own section, with its summary, beside the events.
    let html = report(
        &["--view", "access-audit", &access],
        &tmp.path().join("audit.html"),
    );
    assert!(
        html.contains(r#"<section id="access"><h2>Access audit</h2>"#),
        "{html}"
    );
    assert!(html.contains(r#"<p id="access-summary">"#));
    let grants: serde_json::Value =
        serde_json::from_str(&ok(&["access", &access, "--format", "json"])).unwrap();
    for g in grants.as_array().unwrap() {
        let grantee = g["grantee"].as_str().unwrap();
        assert!(
            html.contains(&trailscope::text::escape_html(grantee).into_owned()),
            "{grantee}"
        );
    }
    assert!(html.contains(r#"<section id="events">"#));

    // Markdown: the identity inventory, one row per identity.
    let identities = dir("identity");
    let md = report(
        &["--view", "identity-inventory", &identities],
        &tmp.path().join("ids.md"),
    );
    assert!(md.contains("## Identity inventory"), "{md}");
    let dana = trailscope::text::escape_markdown("dana.smith@corp.example").into_owned();
    assert!(md.contains(&format!("| {dana} |")), "{md}");
    let inventory: serde_json::Value =
        serde_json::from_str(&ok(&["identities", &identities, "--format", "json"])).unwrap();
    assert!(
        md.contains(&format!(
            "{} identities",
            inventory.as_array().unwrap().len()
        )),
        "{md}"
    );

    // Parquet holds events, not an audit: it says so.
    let out = run(&[
        "report",
        "--view",
        "access-review",
        &access,
        "--out",
        &tmp.path().join("r.parquet").display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Parquet report holds events"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_redacted_audit_report_leaks_no_grantee() {
    let tmp = tempfile::tempdir().unwrap();
    let access = dir("access");
    let key = tmp.path().join("key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    let key = key.display().to_string();
    let grants: serde_json::Value =
        serde_json::from_str(&ok(&["access", &access, "--format", "json"])).unwrap();
    for (name, view) in [
        ("a.html", "access-audit"),
        ("r.csv", "access-review"),
        ("r.md", "access-review"),
    ] {
        let text = report(
            &[
                "--view",
                view,
                "--redact",
                "actor",
                "--redact-key-file",
                &key,
                &access,
            ],
            &tmp.path().join(name),
        );
        for g in grants.as_array().unwrap() {
            let grantee = g["grantee"].as_str().unwrap();
            if grantee.len() >= 3 {
                assert!(!text.contains(grantee), "{name} shows {grantee}");
            }
        }
    }
}
