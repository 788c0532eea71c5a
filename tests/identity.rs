//! Identity resolution on records in the providers' export shapes: who is joined, why, and
//! who must never be.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use trailscope::identity::IdentityLinks;
use trailscope::load::classify::Classifier;
use trailscope::load::pipeline::LoadOptions;
use trailscope::load::source;
use trailscope::schema::{ACTOR, EVENT_ID, IDENTITY, PROVIDER};
use trailscope::store::FrameStore;

use crate::util::{fixture, load, rows, run, stderr, stdout};

const DANA: &str = "dana.smith@corp.example";

/// event id -> identity, for every event of the identity fixtures.
fn identities(store: &FrameStore) -> BTreeMap<String, String> {
    rows(store.frame())
        .into_iter()
        .map(|r| (r[EVENT_ID].clone(), r[IDENTITY].clone()))
        .collect()
}

fn load_with(paths: &[PathBuf], links: IdentityLinks) -> FrameStore {
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let mut options = LoadOptions::new(Arc::new(Classifier::builtin().expect("config")));
    options.identity_links = Arc::new(links);
    FrameStore::load(source::expand(&names).inputs, options).expect("load")
}

#[test]
fn one_person_is_one_identity_across_six_providers() {
    let store = load(&[&fixture("identity")]);
    let ids = identities(&store);
    for event in [
        "7a1e0c55-1111-4a3b-9c2d-000000000001", // Entra sign-in: UPN + object id
        "Directory_aaaa0001",                   // Entra audit: display name + the same object id
        "b1f0a6e2-0000-11ee-8000-000000000001", // Okta: the same e-mail as login
        "e0000000-0000-4000-8000-000000000001", // AWS: IAM Identity Center session
        "a1000000-0000-4000-8000-000000000003", // EKS: mapped from the Identity Center session
        "aWRlbnRpdHktMDAx",                     // GitHub: SAML name id
        "aWRlbnRpdHktMDAy",                     // GitHub: the same account id
    ] {
        assert_eq!(ids[event], DANA, "event {event}: {ids:#?}");
    }
    let links = store.identities().links(DANA);
    let why = |actor: &str| {
        links
            .iter()
            .find(|l| l.actor == actor)
            .map(|l| l.why.clone())
            .unwrap_or_else(|| panic!("{actor} not linked: {links:#?}"))
    };
    assert!(why("d4a00000-aaaa-4aaa-8aaa-00000000da0a").contains("entra records name"));
    assert!(why("dana-gh").contains("github records name dana-gh and"));
    assert!(
        why("arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_0a1b2c3d4e5f6789/dana.smith@corp.example")
            .contains("IAM Identity Center session")
    );
    let providers: std::collections::BTreeSet<&str> =
        links.iter().map(|l| l.provider.as_str()).collect();
    assert_eq!(
        providers.into_iter().collect::<Vec<_>>(),
        ["aws", "entra", "github", "kubernetes", "okta"]
    );
}

#[test]
fn shared_names_roles_and_caller_chosen_sessions_join_nobody() {
    let store = load(&[&fixture("identity")]);
    let ids = identities(&store);
    // Another "Dana Smith" (a different object id) is another identity.
    assert_eq!(
        ids["Directory_aaaa0002"],
        "0f0e0000-cccc-4ccc-8ccc-000000000d02"
    );
    // An Okta user whose login reads "Dana Smith" is its user id.
    assert_eq!(
        ids["b1f0a6e2-0000-11ee-8000-000000000002"],
        "00u1lee00000abcdE5d7"
    );
    // A session name chosen by the caller proves nothing, even when it reads like Dana.
    assert_eq!(
        ids["e0000000-0000-4000-8000-000000000002"],
        "arn:aws:sts::111122223333:assumed-role/ci-deploy/dana.smith@corp.example"
    );
    // Two people through one EKS role: each is the session that used it, and the AWS
    // session's own events join it.
    let lee = "arn:aws:sts::111122223333:assumed-role/eks-admins/lee-laptop";
    assert_eq!(ids["a1000000-0000-4000-8000-000000000001"], lee);
    assert_eq!(ids["e0000000-0000-4000-8000-000000000003"], lee);
    assert_eq!(
        ids["a1000000-0000-4000-8000-000000000002"],
        "arn:aws:sts::111122223333:assumed-role/eks-admins/kim-laptop"
    );
    // A GitHub login `dana` without evidence is not Dana.
    assert_eq!(ids["aWRlbnRpdHktMDAz"], "dana");
}

#[test]
fn configured_links_join_and_split() {
    let mut links = IdentityLinks::new();
    links.insert("dana".into(), vec!["dana".into(), DANA.into()]);
    links.insert(
        "kim".into(),
        vec!["arn:aws:sts::111122223333:assumed-role/eks-admins/kim-laptop".into()],
    );
    let store = load_with(&[fixture("identity")], links);
    let ids = identities(&store);
    assert_eq!(
        ids["aWRlbnRpdHktMDAz"], "dana",
        "the configured GitHub login"
    );
    assert_eq!(ids["7a1e0c55-1111-4a3b-9c2d-000000000001"], "dana");
    assert_eq!(ids["a1000000-0000-4000-8000-000000000002"], "kim");
    let why = &store.identities().links("dana");
    assert!(
        why.iter()
            .any(|l| l.actor == "dana" && l.why.contains("[identities]")),
        "{why:#?}"
    );

    // Split: the GitHub account pinned elsewhere leaves Dana, whatever its SAML name id says.
    let mut links = IdentityLinks::new();
    links.insert("shared-gh".into(), vec!["dana-gh".into()]);
    links.insert("dana".into(), vec![DANA.into()]);
    let store = load_with(&[fixture("identity")], links);
    let ids = identities(&store);
    assert_eq!(ids["aWRlbnRpdHktMDAx"], "shared-gh");
    assert_eq!(ids["7a1e0c55-1111-4a3b-9c2d-000000000001"], "dana");
    assert!(store.identities().refused() > 0);
    assert_eq!(
        ids["aWRlbnRpdHktMDAz"], "dana (github)",
        "the login moves aside for the name"
    );
}

#[test]
fn evidence_arriving_later_relabels_rows_already_loaded() {
    let mut store = load(&[&fixture("identity/entra-audit.json")]);
    let before = identities(&store);
    assert_eq!(
        before["Directory_aaaa0001"],
        "d4a00000-aaaa-4aaa-8aaa-00000000da0a"
    );
    let generation = store.frame().height();
    let more = source::expand(&[fixture("identity/entra-signins.json").display().to_string()]);
    let options = LoadOptions::new(Arc::new(Classifier::builtin().expect("config")));
    store.load_more(more.inputs, options).expect("load more");
    assert_eq!(store.frame().height(), generation + 1);
    let after = identities(&store);
    assert_eq!(
        after["Directory_aaaa0001"], DANA,
        "the audit row is renamed"
    );
    assert_eq!(
        after["Directory_aaaa0002"],
        "0f0e0000-cccc-4ccc-8ccc-000000000d02"
    );
}

#[test]
fn the_filter_language_and_group_bys_use_identities() {
    let dir = fixture("identity");
    let dir = dir.to_str().expect("utf-8 path");
    let out = run(&[
        "query",
        "--filter",
        &format!("identity:{DANA}"),
        "--columns",
        "provider",
        "--format",
        "csv",
        dir,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut providers: Vec<String> = stdout(&out).lines().skip(1).map(str::to_owned).collect();
    providers.sort();
    assert_eq!(
        providers,
        [
            "aws",
            "entra",
            "entra",
            "github",
            "github",
            "kubernetes",
            "okta"
        ]
    );
    let out = run(&["pivot", "--rows", "identity", "--format", "csv", dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let dana = text
        .lines()
        .find(|l| l.starts_with(DANA))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(dana.split(',').nth(1), Some("7"), "{dana}");
    let out = run(&["timeline", "--by", "identity", "--format", "csv", dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(DANA));
}

/// The real public exports: every event with an actor has an identity, and the Azure caller
/// whose token carries its object id is joined to it.
#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn real_exports_resolve_every_actor() {
    let dir = std::env::var_os("TRAILSCOPE_REAL_SAMPLES")
        .map(PathBuf::from)
        .unwrap_or_default();
    assert!(
        dir.join("SOURCES.md").is_file(),
        "TRAILSCOPE_REAL_SAMPLES names no samples"
    );
    let store = load(&[&dir]);
    let all = rows(store.frame());
    let missing: Vec<_> = all
        .iter()
        .filter(|r| !r[ACTOR].is_empty() && r[IDENTITY].is_empty())
        .collect();
    assert!(missing.is_empty(), "{missing:#?}");
    let adele = all
        .iter()
        .filter(|r| r[PROVIDER] == "azure" && r[ACTOR] == "AdeleV@M365x816222.OnMicrosoft.com")
        .map(|r| r[IDENTITY].as_str())
        .collect::<std::collections::BTreeSet<_>>();
    assert_eq!(
        adele.into_iter().collect::<Vec<_>>(),
        ["adelev@m365x816222.onmicrosoft.com"]
    );
    // Redacted and nil ids in the samples join nobody: no identity spans unrelated e-mails.
    for (identity, links) in store.identities().all() {
        let emails: std::collections::BTreeSet<String> = links
            .iter()
            .filter(|l| l.actor.contains('@') && !l.actor.contains(':'))
            .map(|l| l.actor.to_lowercase())
            .collect();
        assert!(emails.len() <= 2, "{identity} joins {emails:?}");
    }
}

/// A rename joins the old and the new name; an id beside names that take turns, or beside
/// more names than one rename gives, joins none of them, and each says why.
#[test]
fn renames_join_and_shared_ids_do_not() {
    let dir = fixture("identity-renames");
    let out = run(&[
        "identities",
        dir.to_str().expect("utf-8 path"),
        "--format",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let actors_of = |identity: &str| -> Vec<(String, String)> {
        all.as_array()
            .expect("array")
            .iter()
            .find(|i| i["identity"] == identity)
            .unwrap_or_else(|| panic!("no identity {identity}: {all:#}"))["actors"]
            .as_array()
            .expect("actors")
            .iter()
            .map(|a| {
                (
                    a["actor"].as_str().unwrap_or("").to_owned(),
                    a["why"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    let lee: Vec<String> = actors_of("lee@new.example")
        .into_iter()
        .map(|(actor, _)| actor)
        .collect();
    assert!(
        lee.contains(&"lee@old.example".to_owned()),
        "the rename joins: {lee:?}"
    );
    for (name, reason) in [
        ("ana@corp.example", "are seen beside it in turn"),
        ("ben@corp.example", "are seen beside it in turn"),
        ("john_doe", "3 names are seen beside it"),
        ("moderator", "3 names are seen beside it"),
        ("super_admin", "3 names are seen beside it"),
    ] {
        let actors = actors_of(name);
        assert_eq!(actors.len(), 1, "{name} stays alone: {actors:?}");
        assert!(actors[0].1.contains(reason), "{name}: {actors:?}");
    }
}
