#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The filter language's tests: a fixture of events around the 2024 DST changes (here),
//! results of filters against it ([`results`]), and the parser, its errors and its canonical
//! text ([`parser`]).

use std::borrow::Cow;
use std::collections::BTreeSet;

use super::*;
use crate::schema::{
    ACCOUNT, ActorType, DETAILS, EVENT_ID, Event, EventBatch, MFA, OUTCOME, Outcome, PRIVILEGED,
    PROVIDER, READ_ONLY, RawSpan, SESSION,
};
use crate::time::DAY;

// ---------------------------------------------------------------------------------------
// Fixture: events around the 2024 DST changes of America/New_York.

fn ts(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().unwrap().as_microsecond()
}

fn new_york() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").unwrap()
}

struct Row {
    event: Event<'static>,
    privileged: bool,
}

fn s(v: &'static str) -> Option<Cow<'static, str>> {
    Some(Cow::Borrowed(v))
}

fn ev(
    id: &'static str,
    time: &str,
    provider: &'static str,
    actor: Option<&'static str>,
    action: Option<&'static str>,
    src_ip: Option<&'static str>,
    more: impl FnOnce(&mut Event<'static>),
) -> Event<'static> {
    let mut e = Event {
        time: (!time.is_empty()).then(|| ts(time)),
        provider,
        log_type: Cow::Borrowed("audit"),
        event_id: s(id),
        actor: actor.map(Cow::Borrowed),
        action: action.map(Cow::Borrowed),
        src_ip: src_ip.map(Cow::Borrowed),
        ..Event::default()
    };
    more(&mut e);
    e
}

fn rows() -> Vec<Row> {
    let p = |event| Row {
        event,
        privileged: true,
    };
    let n = |event| Row {
        event,
        privileged: false,
    };
    vec![
        p(ev(
            "e01",
            "2024-03-09T12:00:00Z",
            "aws",
            Some("jdoe"),
            Some("AttachUserPolicy"),
            Some("10.1.2.3"),
            |e| {
                e.mfa = Some(true);
                e.read_only = Some(false);
                e.outcome = Outcome::Success;
                e.resource = s("arn:aws:iam::111:user/jdoe");
                e.actor_type = ActorType::Human;
                e.account = s("111");
            },
        )),
        n(ev(
            "e02",
            "2024-03-09T23:30:00Z",
            "aws",
            Some("JDoe"),
            Some("GetObject"),
            Some("192.168.1.5"),
            |e| {
                e.read_only = Some(true);
                e.outcome = Outcome::Success;
                e.resource = s("s3://Bucket-Logs/a.txt");
                e.session = s("sess-ABC-1");
            },
        )),
        p(ev(
            "e03",
            "2024-03-10T04:59:59Z",
            "azure",
            Some("Admin Alice"),
            Some("Add member to role"),
            Some("2001:db8::1"),
            |e| {
                e.mfa = Some(false);
                e.outcome = Outcome::Failure;
                e.error = s("AccessDenied");
                e.details = s("role=GlobalAdmin");
            },
        )),
        n(ev(
            "e04",
            "2024-03-10T05:00:00Z",
            "gcp",
            Some("svc-deployer@proj.iam.gserviceaccount.com"),
            Some("storage.objects.get"),
            Some("AWS Internal"),
            |e| {
                e.read_only = Some(true);
                e.actor_type = ActorType::Service;
                e.resource = s("projects/_/buckets/deploy");
            },
        )),
        p(ev(
            "e05",
            "2024-03-10T06:59:59Z",
            "aws",
            Some("root"),
            Some("PutRolePolicy"),
            Some("253.252.51.07"),
            |e| {
                e.actor_type = ActorType::Root;
                e.read_only = Some(false);
                e.mfa = Some(true);
            },
        )),
        n(ev(
            "e06",
            "2024-03-10T07:00:00Z",
            "aws",
            None,
            Some("ConsoleLogin"),
            Some("203.0.113.7"),
            |e| {
                e.outcome = Outcome::Failure;
                e.error = s("Failed authentication");
            },
        )),
        n(ev(
            "e07",
            "2024-03-10T07:30:00Z",
            "okta",
            Some("alice@corp.com"),
            Some("user.session.start"),
            Some("::ffff:10.9.9.9"),
            |e| {
                e.mfa = Some(true);
                e.outcome = Outcome::Success;
                e.session = s("sess-okta-7");
            },
        )),
        n(ev(
            "e08",
            "2024-03-10T12:00:00Z",
            "github",
            Some("octocat"),
            Some("repo.create"),
            Some("ec2.amazonaws.com"),
            |e| {
                e.resource = s("octo-org/admin-tools");
            },
        )),
        n(ev(
            "e09",
            "2024-03-11T03:59:59Z",
            "kubernetes",
            Some("system:serviceaccount:kube-system:admin-bot"),
            Some("create pods"),
            Some("10.200.0.1"),
            |e| {
                e.read_only = Some(false);
                e.actor_type = ActorType::Service;
            },
        )),
        p(ev(
            "e10",
            "2024-03-11T04:00:00Z",
            "aws",
            Some("jdoe2"),
            Some("AttachRolePolicy"),
            Some("2001:db9::1"),
            |e| {
                e.mfa = Some(false);
                e.read_only = Some(false);
            },
        )),
        n(ev(
            "e11",
            "",
            "aws",
            Some("jdoe"),
            Some("DeleteBucket"),
            None,
            |e| {
                e.error = s("NoSuchBucket");
                e.outcome = Outcome::Failure;
                e.resource = s("arn:aws:s3:::my-bucket");
            },
        )),
        n(ev(
            "e12",
            "2024-11-03T05:30:00Z",
            "aws",
            Some("bob smith"),
            Some("ListUsers"),
            Some("10.0.0.1"),
            |e| {
                e.read_only = Some(true);
            },
        )),
        n(ev(
            "e13",
            "2024-11-03T06:30:00Z",
            "aws",
            Some("bob"),
            Some("ListUsers"),
            Some("172.16.0.1"),
            |e| {
                e.read_only = Some(true);
                e.mfa = Some(true);
            },
        )),
        p(ev(
            "e14",
            "2024-11-04T04:59:59Z",
            "entra",
            Some("ADMINISTRATOR"),
            Some("Update policy"),
            Some("fe80::1"),
            |e| {
                e.details = s("target=Conditional Access");
            },
        )),
        n(ev(
            "e15",
            "2024-11-04T05:00:00Z",
            "entra",
            Some("carol"),
            Some("Put*Star"),
            Some("10.0.0.0"),
            |e| {
                e.resource = s("a*b");
                e.error = s("");
            },
        )),
        n(ev(
            "e16",
            "2024-11-03T12:00:00Z",
            "aws",
            Some(r"C:\Users\dave"),
            Some("PutObject"),
            Some("192.168.1.77"),
            |e| {
                e.resource = s("s3://bucket-data/x (1).csv");
                e.details = s("size=10");
            },
        )),
        n(ev(
            "e17",
            "2024-11-03T13:00:00Z",
            "aws",
            Some("say \"hi\""),
            Some("GetCallerIdentity"),
            Some("2001:DB8:0:0::ff"),
            |e| {
                e.read_only = Some(true);
            },
        )),
        p(ev(
            "e18",
            "2024-11-03T14:00:00Z",
            "gcp",
            Some("admin@corp.com"),
            Some("SetIamPolicy"),
            Some("100.64.0.1"),
            |e| {
                e.details = s("role=roles/owner member=user:eve@evil.com");
                e.resource = s("projects/prod");
            },
        )),
        n(ev(
            "e19",
            "2024-11-03T15:00:00Z",
            "github",
            None,
            None,
            None,
            |_| {},
        )),
        n(ev(
            "e20",
            "2024-11-03T16:00:00Z",
            "okta",
            Some("eve@evil.com"),
            Some("user.authentication.auth_via_mfa"),
            Some("198.51.100.23"),
            |e| {
                e.outcome = Outcome::Failure;
                e.error = s("INVALID_CREDENTIALS");
                e.mfa = Some(false);
            },
        )),
        n(ev(
            "e21",
            "2024-11-03T17:00:00Z",
            "kubernetes",
            Some("kubernetes-admin"),
            Some("get secrets"),
            Some("10.96.0.10"),
            |e| {
                e.read_only = Some(true);
                e.resource = s("secrets/kube-system/admin-token");
            },
        )),
        n(ev(
            "e22",
            "2024-11-03T18:00:00Z",
            "azure",
            Some("Ops Team"),
            Some("Microsoft.Compute/virtualMachines/write"),
            Some("AzureResourceManager"),
            |e| {
                e.resource = s("/subscriptions/x/vm1");
                e.session = s("corr-1234");
            },
        )),
        n(ev(
            "e23",
            "2024-11-03T19:00:00Z",
            "aws",
            Some("JDOE"),
            Some("ListBuckets"),
            Some("10.1.2.3"),
            |e| {
                e.read_only = Some(true);
                e.mfa = Some(true);
            },
        )),
        p(ev(
            "e24",
            "2024-11-03T20:00:00Z",
            "aws",
            Some("jdoe"),
            Some("PutUserPolicy"),
            Some("::1"),
            |e| {
                e.read_only = Some(false);
            },
        )),
        n(ev(
            "e25",
            "2024-11-03T21:00:00Z",
            "aws",
            Some("älice"),
            Some("GetObject"),
            Some(" 10.5.5.5 "),
            |e| {
                e.resource = s("s3://bucket-logs/Ä.txt");
            },
        )),
        n(ev(
            "e26",
            "2024-11-03T22:00:00Z",
            "okta",
            Some("svc-sync"),
            Some("system.import.start"),
            Some("10.0.0.256"),
            |e| {
                e.actor_type = ActorType::System;
            },
        )),
        n(ev(
            "e27",
            "2024-11-03T23:00:00Z",
            "gcp",
            Some("backup@proj.iam.gserviceaccount.com"),
            Some("storage.objects.create"),
            Some("[2001:db8::5]"),
            |e| {
                e.actor_type = ActorType::Service;
                e.resource = s("projects/_/buckets/backup/objects/db.dump");
            },
        )),
        n(ev(
            "e28",
            "2024-11-04T05:00:01Z",
            "aws",
            Some("mallory"),
            Some("StopLogging"),
            Some("203.0.113.99"),
            |e| {
                e.outcome = Outcome::Success;
                e.error = s("AccessDenied for admin");
            },
        )),
        n(ev(
            "e29",
            "2024-11-04T03:00:00Z",
            "github",
            Some("dependabot[bot]"),
            Some("pull_request.create"),
            Some("140.82.112.4"),
            |e| {
                e.actor_type = ActorType::Service;
            },
        )),
        n(ev(
            "e30",
            "2024-11-02T03:00:00Z",
            "aws",
            Some("Admin"),
            Some("CreateAccessKey"),
            Some("2001:db8:ffff::1"),
            |e| {
                e.mfa = Some(false);
            },
        )),
    ]
}

/// The newest event time of the fixture.
fn newest() -> i64 {
    ts("2024-11-04T05:00:01Z")
}

struct Fixture {
    rows: Vec<Row>,
    frame: DataFrame,
    ctx: FilterContext,
    dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let rows = rows();
    let mut batch = EventBatch::new("filter-tests");
    for (i, row) in rows.iter().enumerate() {
        let span = RawSpan {
            offset: i as u64,
            len: 1,
            line: i as u64 + 1,
        };
        batch.push(&row.event, b"{}", span, row.privileged);
    }
    let frame = batch.into_frame().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("oncall.txt"),
        "# on-call engineers\njdoe\n\n   ALICE@corp.com  \n*svc*   # service identities\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("vpn ranges.txt"),
        "\u{feff}10.0.0.0/8 # corp\n\n# v6\r\n2001:db8::/32\r\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("bad.txt"), "10.0.0.0/8\nnot-a-cidr\n").unwrap();
    std::fs::write(dir.path().join("resources.txt"), "A*B\nprojects/PROD\n").unwrap();
    let ctx = FilterContext {
        tz: new_york(),
        newest: Some(newest()),
        base_dir: dir.path().to_path_buf(),
    };
    Fixture {
        rows,
        frame,
        ctx,
        dir,
    }
}

impl Fixture {
    fn ids(&self, filter: &str) -> BTreeSet<String> {
        let expr = compile_str(filter, &self.ctx).unwrap_or_else(|e| panic!("{filter}: {e}"));
        let out = self
            .frame
            .clone()
            .lazy()
            .filter(expr)
            .collect()
            .unwrap_or_else(|e| panic!("{filter}: {e}"));
        let ids = out.column(EVENT_ID).unwrap().str().unwrap().clone();
        ids.iter().map(|v| v.unwrap().to_string()).collect()
    }

    fn expected(&self, keep: impl Fn(&Row) -> bool) -> BTreeSet<String> {
        self.rows
            .iter()
            .filter(|r| keep(r))
            .map(|r| r.event.event_id.as_deref().unwrap().to_string())
            .collect()
    }

    #[track_caller]
    fn check(&self, filter: &str, keep: impl Fn(&Row) -> bool) {
        let expected = self.expected(keep);
        let got = self.ids(filter);
        assert_eq!(got, expected, "filter {filter:?}");
        // The canonical text selects the same rows.
        let canonical = parse(filter).unwrap().to_filter_string();
        assert_eq!(
            self.ids(&canonical),
            expected,
            "canonical {canonical:?} of {filter:?}"
        );
    }
}

fn lower(v: Option<&str>) -> String {
    v.unwrap_or_default().to_lowercase()
}

fn actor(r: &Row) -> Option<&str> {
    r.event.actor.as_deref()
}

fn action(r: &Row) -> Option<&str> {
    r.event.action.as_deref()
}

fn time(r: &Row) -> Option<i64> {
    r.event.time
}

fn ip_is(r: &Row, values: &[&str]) -> bool {
    r.event
        .src_ip
        .as_deref()
        .is_some_and(|v| values.contains(&v))
}

mod parser;
mod results;
