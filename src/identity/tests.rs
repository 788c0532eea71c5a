//! Joins the resolver must make, and the ones it must never make.

use super::*;

/// Observes one (provider, actor, actor_id) as `label` does; returns the event's node.
fn see(ids: &mut Identities, provider: &'static str, actor: &str, id: Option<&str>) -> usize {
    see_typed(ids, provider, actor, id, None)
}

/// [`see`], with the event's `actor_type`.
fn see_typed(
    ids: &mut Identities,
    provider: &'static str,
    actor: &str,
    id: Option<&str>,
    actor_type: Option<&'static str>,
) -> usize {
    let (node, names) = ids.observe(provider, actor, id, actor_type);
    // Observations are held as dictionary ids, as the loaded rows give them.
    let dicts = Dictionaries::shared();
    let id_of = |column: &str, value: &str| {
        let mapping = dicts.mapping(column).expect("a categorical column");
        mapping.insert_cat(value).expect("room in the dictionary")
    };
    let key = (
        id_of(PROVIDER, provider),
        id_of(ACTOR, actor),
        id.map_or(NO_ID, |id| id_of(ACTOR_ID, id)),
    );
    ids.observed.push(key);
    ids.observed_types
        .push(actor_type.map_or(NO_ID, |t| id_of(ACTOR_TYPE, t)));
    ids.observed_spans.push(None);
    ids.observed_node.push(node);
    ids.observed_names.push(names);
    ids.index_observation(ids.observed.len() - 1, names);
    node
}

/// [`see`] of an event at `hour` (hours since the epoch), with its time noted as `label`
/// notes a frame's.
fn see_at(ids: &mut Identities, provider: &'static str, actor: &str, id: &str, hour: i64) {
    see(ids, provider, actor, Some(id));
    let seen = ids.observed.len() - 1;
    let time = hour * 3_600_000_000;
    ids.frame_spans.resize(seen + 1, None);
    ids.frame_spans[seen] = Some((time, time));
    ids.frame_seen.push(seen);
    ids.note_spans();
}

/// Settles and names, as the end of `label` does.
fn finish(ids: &mut Identities) {
    ids.settle();
    ids.refresh();
}

fn resolve(events: &[(&'static str, &str, Option<&str>)], links: &IdentityLinks) -> Identities {
    let mut ids = Identities::new(links);
    for (provider, actor, id) in events {
        see(&mut ids, provider, actor, *id);
    }
    finish(&mut ids);
    ids
}

fn no_links() -> IdentityLinks {
    IdentityLinks::new()
}

#[test]
fn a_sign_in_with_both_names_joins_upn_and_object_id() {
    let guid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
    let ids = resolve(
        &[
            ("entra", "dana@corp.example", Some(guid)),
            ("entra", guid, None),
            ("azure", "Dana@Corp.Example", None),
        ],
        &no_links(),
    );
    assert_eq!(ids.identity_of(guid), Some("dana@corp.example"));
    assert_eq!(
        ids.identity_of("DANA@corp.example"),
        Some("dana@corp.example")
    );
    let links = ids.links("dana@corp.example");
    let guid_link = links
        .iter()
        .find(|l| l.actor == guid)
        .expect("object id linked");
    assert!(
        guid_link
            .why
            .contains("entra records name dana@corp.example and"),
        "{guid_link:?}"
    );
    let azure = links
        .iter()
        .find(|l| l.provider == "azure")
        .expect("azure caller linked");
    assert!(azure.why.contains("same e-mail address"), "{azure:?}");
}

#[test]
fn an_identity_center_session_is_the_person_with_its_email() {
    let session = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_0a1b2c3d4e5f6789/dana@corp.example";
    let ids = resolve(
        &[
            ("aws", session, None),
            ("okta", "dana@corp.example", Some("00u1abcd")),
        ],
        &no_links(),
    );
    assert_eq!(ids.identity_of(session), Some("dana@corp.example"));
    assert_eq!(ids.identity_of("00u1abcd"), Some("dana@corp.example"));
    let why = &ids
        .links("dana@corp.example")
        .iter()
        .find(|l| l.actor == session)
        .unwrap()
        .why;
    assert!(why.contains("IAM Identity Center session"), "{why}");
}

#[test]
fn an_eks_user_mapped_from_a_role_is_the_session_not_the_role() {
    let role = "arn:aws:iam::111122223333:role/eks-admins";
    let dana = "arn:aws:sts::111122223333:assumed-role/eks-admins/dana";
    let lee = "arn:aws:sts::111122223333:assumed-role/eks-admins/lee";
    let mut ids = Identities::new(&no_links());
    let a = see(&mut ids, "kubernetes", role, Some(dana));
    let b = see(&mut ids, "kubernetes", role, Some(lee));
    let c = see(&mut ids, "aws", dana, None);
    finish(&mut ids);
    assert_ne!(
        ids.root(a),
        ids.root(b),
        "two people sharing a role must not merge"
    );
    assert_eq!(ids.root(a), ids.root(c), "the EKS event is the AWS session");
    assert_eq!(
        ids.identity_of(role),
        Some(role),
        "the role stays its own node"
    );
}

#[test]
fn shared_display_names_ip_or_roles_never_merge_people() {
    let (g1, g2) = (
        "11111111-1111-1111-1111-111111111111",
        "22222222-2222-2222-2222-222222222222",
    );
    let mut ids = Identities::new(&no_links());
    let a = see(&mut ids, "entra", "Dana Smith", Some(g1));
    let b = see(&mut ids, "entra", "Dana Smith", Some(g2));
    finish(&mut ids);
    assert_ne!(ids.root(a), ids.root(b));
    assert_eq!(ids.names[&ids.root(a)], g1);
    // A session named by e-mail outside Identity Center is chosen by the caller: no join.
    let spoofed = "arn:aws:sts::111122223333:assumed-role/deploy/ceo@corp.example";
    let ids = resolve(
        &[("aws", spoofed, None), ("entra", "ceo@corp.example", None)],
        &no_links(),
    );
    assert_ne!(ids.identity_of(spoofed), Some("ceo@corp.example"));
    // The same login in two providers is not the same account.
    let ids = resolve(
        &[("github", "dana", None), ("kubernetes", "dana", None)],
        &no_links(),
    );
    assert_eq!(ids.identity_in("github", "dana"), Some("dana (github)"));
    assert_eq!(
        ids.identity_in("kubernetes", "dana"),
        Some("dana (kubernetes)")
    );
    assert_eq!(ids.all().len(), 2, "{:?}", ids.all());
}

#[test]
fn configuration_links_what_logs_cannot_prove_and_splits_what_they_wrongly_join() {
    let mut links = IdentityLinks::new();
    links.insert(
        "dana".into(),
        vec![
            "dana@corp.example".into(),
            "Dana-GH".into(),
            "arn:aws:iam::111122223333:user/dana".into(),
        ],
    );
    let ids = resolve(
        &[
            ("entra", "dana@corp.example", None),
            ("github", "dana-gh", Some("77")),
            ("aws", "arn:aws:iam::111122223333:user/dana", None),
        ],
        &links,
    );
    for actor in [
        "dana@corp.example",
        "dana-gh",
        "77",
        "arn:aws:iam::111122223333:user/dana",
    ] {
        assert_eq!(ids.identity_of(actor), Some("dana"), "{actor}");
    }
    let why = &ids
        .links("dana")
        .iter()
        .find(|l| l.provider == "github" && l.actor == "dana-gh");
    assert!(why.unwrap().why.contains("[identities]"));

    // A shared mailbox the logs join to a person (one record names both) is split off by
    // pinning each to its own name.
    let mut links = IdentityLinks::new();
    links.insert("ops".into(), vec!["ops@corp.example".into()]);
    links.insert("lee".into(), vec!["lee@corp.example".into()]);
    let ids = resolve(
        &[("okta", "ops@corp.example", Some("lee@corp.example"))],
        &links,
    );
    assert_eq!(ids.identity_of("ops@corp.example"), Some("ops"));
    assert_eq!(ids.identity_of("lee@corp.example"), Some("lee"));
    assert_eq!(ids.refused(), 1);
}

#[test]
fn a_join_that_renames_labelled_rows_asks_for_a_relabel() {
    let guid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
    let mut ids = Identities::new(&no_links());
    let n = see(&mut ids, "entra", guid, None);
    finish(&mut ids);
    let root = ids.root(n);
    ids.used.insert(root, ids.names[&root].clone());
    assert!(!ids.take_relabel());
    ids.observe("entra", "dana@corp.example", Some(guid), None);
    ids.refresh();
    assert!(
        ids.take_relabel(),
        "rows named by the object id must be renamed"
    );
    // A new alias that keeps the name asks for nothing.
    ids.observe("okta", "dana@corp.example", Some("00uX"), None);
    ids.refresh();
    assert!(!ids.take_relabel());
}

#[test]
fn placeholder_ids_join_nobody() {
    let nil = "00000000-0000-0000-0000-000000000000";
    let ids = resolve(
        &[
            ("entra", "mscore@afos.io", Some(nil)),
            ("entra", "rknight@company.io", Some(nil)),
            ("okta", "john.doe@example.org", Some("REDACTED")),
            ("okta", "admin@example.com", Some("REDACTED")),
            ("entra", "test@test.test", Some("user1")),
            ("entra", "john.doe@example.com", Some("user1")),
        ],
        &no_links(),
    );
    for actor in [
        "mscore@afos.io",
        "rknight@company.io",
        "john.doe@example.org",
        "admin@example.com",
        "test@test.test",
        "john.doe@example.com",
    ] {
        assert_eq!(
            ids.identity_of(actor),
            Some(actor),
            "{actor} must stay alone"
        );
    }
}

#[test]
fn an_id_many_names_claim_is_a_placeholder_and_its_joins_are_undone() {
    let shared = "8a4de8b5-095c-47d0-a96f-a75130c61d53";
    let mut ids = Identities::new(&no_links());
    for name in ["a@corp.example", "b@corp.example"] {
        see(&mut ids, "entra", name, Some(shared));
    }
    finish(&mut ids);
    let root = ids.find(ids.index[&(Space::Email, "a@corp.example".to_owned())]);
    ids.used.insert(root, ids.names[&root].clone());
    assert_eq!(
        ids.identity_of("b@corp.example"),
        ids.identity_of("a@corp.example")
    );
    see(&mut ids, "entra", "c@corp.example", Some(shared));
    finish(&mut ids);
    assert!(
        ids.take_relabel(),
        "rows labelled with the undone join are relabelled"
    );
    for name in ["a@corp.example", "b@corp.example", "c@corp.example"] {
        assert_eq!(ids.identity_of(name), Some(name));
    }
    assert_eq!(ids.placeholders(), 1);
    let why = &ids.links("c@corp.example")[0].why;
    assert!(
        why.contains(&format!("not joined through {shared}"))
            && why.contains("3 names are seen beside it"),
        "{why}"
    );
    // A UPN renamed once keeps its object id's join.
    let ids = resolve(
        &[
            ("entra", "dana@old.example", Some(shared)),
            ("entra", "dana@new.example", Some(shared)),
        ],
        &no_links(),
    );
    assert_eq!(
        ids.identity_of("dana@old.example"),
        ids.identity_of("dana@new.example")
    );
}

#[test]
fn many_placeholders_each_undo_only_their_own_joins() {
    let mut ids = Identities::new(&no_links());
    // A real join that must survive the placeholders around it.
    let guid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
    see(&mut ids, "entra", "dana@corp.example", Some(guid));
    for p in 0..500 {
        let id = format!("00000000-0000-4000-8000-{p:012x}");
        for n in 0..4 {
            see(
                &mut ids,
                "entra",
                &format!("user{p}-{n}@corp.example"),
                Some(&id),
            );
        }
    }
    finish(&mut ids);
    assert_eq!(ids.placeholders(), 500);
    assert_eq!(
        ids.identity_of("user7-2@corp.example"),
        Some("user7-2@corp.example")
    );
    assert_eq!(ids.identity_of(guid), Some("dana@corp.example"));
}

#[test]
fn an_id_given_to_a_person_and_to_a_workload_joins_neither() {
    // Elastic's Entra and Azure test records reuse one GUID as a user's id, a service
    // principal's id and an application's id: a person and a workload, not one principal.
    let reused = "8a4de8b5-095c-47d0-a96f-a75130c61d53";
    let mut ids = Identities::new(&no_links());
    see_typed(
        &mut ids,
        "entra",
        "test@elastic.co",
        Some(reused),
        Some("human"),
    );
    see_typed(&mut ids, "entra", "UserName", Some(reused), Some("human"));
    see_typed(&mut ids, "azure", reused, None, Some("service"));
    finish(&mut ids);
    // Until a workload is named beside it, the id is the person's (a rename, two names).
    assert_eq!(
        ids.identity_of("UserName"),
        ids.identity_of("test@elastic.co")
    );
    see_typed(
        &mut ids,
        "entra",
        "Device Registration Service",
        Some(reused),
        Some("service"),
    );
    finish(&mut ids);
    let person = ids.identity_of("test@elastic.co");
    let workload = ids.identity_of("Device Registration Service");
    assert!(person.is_some() && workload.is_some());
    assert_ne!(person, workload);
    assert_ne!(ids.identity_of("UserName"), person);
    assert_ne!(ids.identity_of(reused), person);
    assert_eq!(ids.placeholders(), 1);
    // A workload's own id beside its name still joins them.
    let sp = "c3813493-bf92-4123-a717-8a8b2979c38b";
    let ids = {
        let mut ids = Identities::new(&no_links());
        see_typed(&mut ids, "entra", "billing-app", Some(sp), Some("service"));
        see_typed(&mut ids, "azure", sp, None, Some("service"));
        finish(&mut ids);
        ids
    };
    assert_eq!(ids.identity_of(sp), ids.identity_of("billing-app"));
}

#[test]
fn a_rename_joins_and_names_used_in_turn_do_not() {
    let id = "00u1abvz4pYqdM8ms4x6";
    // A rename: the old login until Monday noon, the new one from an hour before (an old
    // session still carrying the old name), never the old one again.
    let mut ids = Identities::new(&no_links());
    for hour in [0, 5, 11, 12] {
        see_at(&mut ids, "okta", "dana@old.example", id, hour);
    }
    for hour in [11, 13, 30, 200] {
        see_at(&mut ids, "okta", "dana@new.example", id, hour);
    }
    finish(&mut ids);
    assert_eq!(
        ids.identity_of("dana@old.example"),
        Some("dana@new.example")
    );
    assert_eq!(ids.identity_of(id), Some("dana@new.example"));
    assert_eq!(ids.placeholders(), 0);

    // Two names taking turns under one id for days: a shared or reused id, not a rename.
    let mut ids = Identities::new(&no_links());
    for (hour, name) in [(0, "a"), (24, "b"), (48, "a"), (72, "b")] {
        see_at(&mut ids, "okta", &format!("{name}@corp.example"), id, hour);
    }
    finish(&mut ids);
    assert_eq!(ids.identity_of("a@corp.example"), Some("a@corp.example"));
    assert_eq!(ids.identity_of("b@corp.example"), Some("b@corp.example"));
    assert_eq!(ids.placeholders(), 1);
    let why = &ids.links("b@corp.example")[0].why;
    assert!(
        why.contains("a@corp.example and b@corp.example are seen beside it in turn"),
        "{why}"
    );

    // The same when the turns arrive out of order (a later file loaded first).
    let mut ids = Identities::new(&no_links());
    for (hour, name) in [(72, "b"), (48, "a"), (24, "b"), (0, "a")] {
        see_at(&mut ids, "okta", &format!("{name}@corp.example"), id, hour);
    }
    finish(&mut ids);
    assert_ne!(
        ids.identity_of("a@corp.example"),
        ids.identity_of("b@corp.example")
    );

    // Three names in turn, and three names one after the other (two renames within the
    // hour, as GitHub's test records give one account id): neither joins.
    for hours in [[0, 1, 2, 3, 4, 5], [0, 0, 1, 1, 2, 2]] {
        let mut ids = Identities::new(&no_links());
        let names = ["john_doe", "moderator", "super_admin"];
        for (i, hour) in hours.iter().enumerate() {
            let name = if hours[1] == hours[0] {
                names[i / 2]
            } else {
                names[i % 3]
            };
            see_at(&mut ids, "github", name, "12345", *hour);
        }
        finish(&mut ids);
        for name in names {
            assert_eq!(ids.identity_in("github", name), Some(name), "{hours:?}");
        }
    }
}
