//! Grouping without a frame: keys given, what groups.

use std::collections::BTreeSet;

use super::links::{Key, group};
use crate::detectors::{Finding, Severity};
use crate::time::{DAY, HOUR, MINUTE};

fn finding(rule: &str, actor: &str, time: i64) -> Finding {
    Finding {
        rule: rule.into(),
        title: rule.into(),
        severity: Severity::Medium,
        time: Some(time),
        actor: actor.into(),
        provider: "aws".into(),
        event_ids: vec![format!("{rule}-{time}")],
        rows: vec![],
        count: 1,
        reason: String::new(),
        mitre: vec![],
    }
}

fn who(name: &str) -> BTreeSet<Key> {
    BTreeSet::from([Key::Who(name.into())])
}

#[test]
fn a_busy_identity_over_a_month_is_many_incidents_none_longer_than_the_window() {
    // A service account with a finding every 30 minutes for 30 days: one key chains them
    // all; the window must cut the chain.
    let findings: Vec<Finding> = (0..(30 * 48))
        .map(|i| finding("rare-action-for-actor", "svc-etl", i * 30 * MINUTE))
        .collect();
    let keys: Vec<_> = findings.iter().map(|_| who("svc-etl")).collect();
    let groups = group(&findings, &keys, 2 * HOUR);
    assert!(groups.len() >= 30 * 24 / 3, "{} groups", groups.len());
    for g in &groups {
        let times: Vec<i64> = g.iter().filter_map(|i| findings[*i].time).collect();
        let span = times.iter().max().unwrap() - times.iter().min().unwrap();
        assert!(span <= 2 * HOUR, "an incident spans {span} µs");
    }
    let mut all: Vec<usize> = groups.concat();
    all.sort_unstable();
    assert_eq!(
        all,
        (0..findings.len()).collect::<Vec<_>>(),
        "each finding once"
    );
}

#[test]
fn findings_joined_through_a_third_merge_and_unlinked_ones_stay_apart() {
    let findings = vec![
        finding("password-spray", "203.0.113.9", 0),
        finding("mfa-fatigue", "dana", 10 * MINUTE),
        finding("off-hours-privileged-action", "erin", 20 * MINUTE),
        finding("audit-log-tampering", "svc-sync", 30 * MINUTE),
        finding("audit-log-tampering", "svc-sync", DAY),
    ];
    let keys = vec![
        BTreeSet::from([Key::Address("203.0.113.9".into())]),
        BTreeSet::from([Key::Who("dana".into()), Key::Address("203.0.113.9".into())]),
        who("erin"),
        // svc-sync acted from the attacker's address.
        BTreeSet::from([
            Key::Who("svc-sync".into()),
            Key::Address("203.0.113.9".into()),
        ]),
        who("svc-sync"),
    ];
    let groups = group(&findings, &keys, 2 * HOUR);
    assert_eq!(groups, vec![vec![0, 1, 3], vec![2], vec![4]]);
}
