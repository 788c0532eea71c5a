//! The built-in views on the bundled sample and on the real public exports: each matches
//! events of every provider that has such events, and not unrelated ones.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use trailscope::analysis::{self, ViewSpec};
use trailscope::schema::{ACTION, PROVIDER};
use trailscope::views::{Locations, Origin, ViewAnalysis, ViewLibrary, builtin};

use crate::util::{load, sample_logs};

#[test]
fn the_builtin_views_read_without_problems() {
    let read = trailscope::views::file::read_text(
        builtin::TEXT,
        Path::new("builtin.toml"),
        Origin::BuiltIn,
    );
    assert!(read.problems.is_empty(), "{:?}", read.problems);
    let names: Vec<String> = builtin::views().into_iter().map(|v| v.name).collect();
    assert_eq!(
        names,
        [
            "access-audit",
            "access-review",
            "credential-creation",
            "deletions",
            "failed-signins",
            "identity-inventory",
            "logging-changes",
            "mfa-and-conditional-access",
            "non-human-anomalies",
            "privileged-changes",
            "role-and-group-changes",
            "root-and-break-glass",
        ]
    );
    let empty = tempfile::tempdir().unwrap();
    let (library, problems) = ViewLibrary::load_from(Locations {
        user: Some(empty.path().join("none.toml")),
        project: empty.path().join("none-either.toml"),
        explicit: None,
    });
    assert!(problems.is_empty());
    assert_eq!(library.list().len(), 12);
    assert!(
        library
            .list()
            .iter()
            .all(|v| v.origin == Origin::BuiltIn && !v.title.is_empty())
    );
}

/// (provider, action) of every event a built-in view selects in a frame.
fn matched(frame: &polars::prelude::DataFrame, name: &str) -> BTreeSet<(String, String)> {
    let view = builtin::views()
        .into_iter()
        .find(|v| v.name == name)
        .unwrap();
    let spec = ViewSpec {
        columns: vec![PROVIDER.into(), ACTION.into()],
        ..view.view
    };
    let compiled = spec.compile(frame).unwrap();
    let selected = analysis::select(frame, &compiled).unwrap();
    let providers = selected.column(PROVIDER).unwrap();
    let actions = selected.column(ACTION).unwrap();
    (0..selected.height())
        .map(|i| {
            (
                providers.get(i).unwrap().str_value().into_owned(),
                actions.get(i).unwrap().str_value().into_owned(),
            )
        })
        .collect()
}

/// Asserts that a view matches these provider/action pairs, matches events of exactly these
/// providers, and none of the unrelated actions.
#[track_caller]
fn assert_view(
    frame: &polars::prelude::DataFrame,
    name: &str,
    providers: &[&str],
    must: &[(&str, &str)],
    never: &[&str],
) {
    let found = matched(frame, name);
    let seen: BTreeSet<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        seen,
        providers.iter().copied().collect(),
        "{name}: {found:?}"
    );
    for (p, a) in must {
        assert!(
            found.contains(&(p.to_string(), a.to_string())),
            "{name} misses {p} {a}: {found:?}"
        );
    }
    for a in never {
        assert!(
            found.iter().all(|(_, action)| action != a),
            "{name} matches {a}"
        );
    }
}

#[test]
fn the_builtin_views_match_the_bundled_sample() {
    let store = load(&[&sample_logs()]);
    let frame = store.frame();
    assert_view(
        frame,
        "privileged-changes",
        &[
            "aws",
            "azure",
            "entra",
            "gcp",
            "github",
            "kubernetes",
            "okta",
        ],
        &[
            ("aws", "AttachRolePolicy"),
            ("entra", "Add member to role"),
            ("azure", "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE"),
            ("gcp", "SetIamPolicy"),
            ("kubernetes", "create clusterrolebindings"),
            ("okta", "user.account.privilege.grant"),
            ("github", "repo.access"),
        ],
        &[
            "DescribeInstances",
            "Sign-in",
            "user.session.start",
            "git.clone",
        ],
    );
    assert_view(
        frame,
        "role-and-group-changes",
        &["aws", "azure", "entra", "gcp", "kubernetes", "okta"],
        &[
            ("entra", "Add member to group"),
            ("aws", "AttachUserPolicy"),
            ("kubernetes", "create clusterrolebindings"),
            ("okta", "user.account.privilege.grant"),
        ],
        &["StopLogging", "Sign-in", "CreateAccessKey"],
    );
    assert_view(
        frame,
        "failed-signins",
        &["entra", "okta"],
        &[("entra", "Sign-in"), ("okta", "user.session.start")],
        &["DescribeInstances", "AttachRolePolicy"],
    );
    assert_view(
        frame,
        "logging-changes",
        &["aws", "azure"],
        &[
            ("aws", "StopLogging"),
            ("azure", "MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE"),
        ],
        &["TerminateInstances", "AttachRolePolicy"],
    );
    assert_view(
        frame,
        "credential-creation",
        &["aws", "gcp", "github"],
        &[
            ("aws", "CreateAccessKey"),
            ("gcp", "google.iam.admin.v1.CreateServiceAccountKey"),
            ("github", "personal_access_token.create"),
        ],
        &["AttachRolePolicy", "Sign-in"],
    );
    assert_view(
        frame,
        "deletions",
        &["aws", "azure"],
        &[
            ("aws", "TerminateInstances"),
            ("azure", "MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE"),
        ],
        &["RunInstances", "DescribeInstances"],
    );
    // The sample has neither MFA changes nor root use.
    assert!(matched(frame, "mfa-and-conditional-access").is_empty());
    assert!(matched(frame, "root-and-break-glass").is_empty());
}

/// The real public exports (`$TRAILSCOPE_REAL_SAMPLES`).
fn real_samples() -> trailscope::store::FrameStore {
    let dir = std::env::var_os("TRAILSCOPE_REAL_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_default();
    assert!(
        dir.join("SOURCES.md").is_file(),
        "TRAILSCOPE_REAL_SAMPLES={} holds no SOURCES.md",
        dir.display()
    );
    load(&[&dir])
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn the_builtin_views_match_the_real_samples_of_every_provider_that_has_such_events() {
    let store = real_samples();
    let frame = store.frame();
    assert_view(
        frame,
        "failed-signins",
        &["entra", "gcp", "github", "okta"],
        &[
            ("entra", "Sign-in"),
            ("entra", "Sign-in (service principal)"),
            ("gcp", "google.login.LoginService.loginFailure"),
            ("gcp", "google.login.LoginService.accountDisabledHijacked"),
            ("github", "user.failed_login"),
            ("github", "user.two_factor_challenge_failure"),
            ("okta", "user.account.lock"),
            ("okta", "user.authentication.sso"),
        ],
        // The real AWS console sign-ins all succeeded.
        &[
            "ConsoleLogin",
            "DeleteLoginProfile",
            "user.login",
            "google.login.LoginService.loginSuccess",
        ],
    );
    assert_view(
        frame,
        "mfa-and-conditional-access",
        &["gcp", "github", "okta"],
        &[
            ("gcp", "google.login.LoginService.2svDisable"),
            ("gcp", "google.login.LoginService.titaniumUnenroll"),
            ("github", "two_factor_authentication.add_factor"),
            ("okta", "policy.rule.update"),
            ("okta", "system.mfa.factor.activate"),
            ("okta", "zone.create"),
        ],
        &[
            "policy.evaluate_sign_on",
            "user.authentication.auth_via_mfa",
        ],
    );
    assert_view(
        frame,
        "root-and-break-glass",
        &["aws", "kubernetes"],
        &[("aws", "ConsoleLogin"), ("aws", "CreateUser")],
        &[],
    );
    assert_view(
        frame,
        "logging-changes",
        &["aws", "azure", "gcp"],
        &[
            ("aws", "StopLogging"),
            ("aws", "DeleteTrail"),
            ("aws", "PutEventSelectors"),
            ("aws", "DeleteFlowLogs"),
            ("azure", "MICROSOFT.SECURITYINSIGHTS/DATACONNECTORS/DELETE"),
            ("gcp", "google.logging.v2.ConfigServiceV2.CreateSink"),
            ("gcp", "google.logging.v2.ConfigServiceV2.CreateExclusion"),
        ],
        &["LookupEvents", "DescribeLogGroups"],
    );
    assert_view(
        frame,
        "credential-creation",
        &[
            "aws",
            "azure",
            "entra",
            "gcp",
            "github",
            "kubernetes",
            "okta",
        ],
        &[
            ("aws", "CreateAccessKey"),
            ("aws", "CreateLoginProfile"),
            (
                "azure",
                "MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTACCOUNTSAS/ACTION",
            ),
            (
                "entra",
                "Update application – Certificates and secrets management",
            ),
            ("gcp", "CreateCryptoKey"),
            ("gcp", "cloudsql.sslCerts.create"),
            ("github", "personal_access_token.create"),
            ("kubernetes", "create secrets"),
            ("okta", "app.oauth2.credentials.lifecycle.create"),
        ],
        &[
            "GetSecretValue",
            "get secrets",
            "personal_access_token.destroy",
        ],
    );
    assert_view(
        frame,
        "role-and-group-changes",
        // The real Azure Activity samples change no role assignment.
        &["aws", "entra", "gcp", "github", "kubernetes", "okta"],
        &[
            ("aws", "CreateUser"),
            ("entra", "Remove member from group"),
            ("gcp", "google.iam.admin.v1.CreateRole"),
            ("github", "team.add_member"),
            ("github", "org.add_member"),
            ("kubernetes", "delete rolebindings"),
            ("okta", "application.user_membership.add"),
        ],
        &["get rolebindings", "pull_request.create", "Update device"],
    );
    assert_view(
        frame,
        "deletions",
        &["aws", "azure", "entra", "gcp", "github", "kubernetes"],
        &[
            ("aws", "DeleteTrail"),
            ("azure", "MICROSOFT.KEYVAULT/VAULTS/DELETE"),
            ("entra", "Delete device"),
            ("gcp", "google.container.v1.ClusterManager.DeleteCluster"),
            ("github", "repo.destroy"),
            ("kubernetes", "delete namespaces"),
        ],
        &["CreateBucket", "get pods", "Remove member from group"],
    );
    let privileged = matched(frame, "privileged-changes");
    let providers: BTreeSet<&str> = privileged.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(providers.len(), 7, "{providers:?}");
    assert!(
        !privileged
            .iter()
            .any(|(_, a)| a == "GetSecretValue" || a == "get secrets")
    );

    // The findings view: rules that learn habits, events of service identities.
    let library = builtin::views();
    let view = library
        .iter()
        .find(|v| v.name == "non-human-anomalies")
        .unwrap();
    let ViewAnalysis::Findings(spec) = &view.analysis else {
        panic!("non-human-anomalies is a findings view");
    };
    let config = trailscope::config::Config::builtin().unwrap();
    let all = trailscope::detectors::run(store.frame(), &config).unwrap();
    let compiled = view.view.compile(store.frame()).unwrap();
    let rows = analysis::select_rows(store.frame(), &compiled)
        .unwrap()
        .rows
        .unwrap();
    let selected: BTreeSet<u32> = rows.into_no_null_iter().collect();
    let listed: Vec<_> = all
        .iter()
        .filter(|f| spec.admits(&f.rule, f.severity))
        .filter(|f| f.rows.iter().any(|r| selected.contains(r)))
        .collect();
    assert!(
        listed
            .iter()
            .any(|f| f.actor == "robot@test-project.iam.gserviceaccount.com"
                && f.rule == "dormant-identity-reactivated"),
        "{listed:#?}"
    );
    assert!(
        listed.iter().all(|f| !f.actor.contains("@")
            || f.actor.contains("gserviceaccount")
            || f.actor.starts_with("system:serviceaccount")),
        "{listed:#?}"
    );
}
