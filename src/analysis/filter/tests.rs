#![allow(clippy::unwrap_used, clippy::expect_used)]

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

// ---------------------------------------------------------------------------------------
// Results against the frame

#[test]
fn equality_and_wildcards() {
    let f = fixture();
    f.check("actor:jdoe", |r| lower(actor(r)) == "jdoe");
    f.check("user:JDOE", |r| lower(actor(r)) == "jdoe");
    f.check("actor:*admin*", |r| lower(actor(r)).contains("admin"));
    f.check("actor:admin*", |r| lower(actor(r)).starts_with("admin"));
    f.check("action:Attach*Policy", |r| {
        let a = lower(action(r));
        a.starts_with("attach") && a.ends_with("policy")
    });
    f.check("action:put*", |r| lower(action(r)).starts_with("put"));
    f.check("action:*policy", |r| lower(action(r)).ends_with("policy"));
    f.check("action:**Put**Policy**", |r| {
        let a = lower(action(r));
        a.find("put").is_some_and(|i| a[i..].contains("policy"))
    });
    f.check("actor:**", |r| actor(r).is_some());
    f.check("provider:AWS", |r| r.event.provider == "aws");
    f.check("outcome:failure", |r| r.event.outcome == Outcome::Failure);
    f.check("type:service", |r| r.event.actor_type == ActorType::Service);
    f.check(r"action:Put\*Star", |r| action(r) == Some("Put*Star"));
    f.check(r"action:Put\*", |_| false);
    f.check(r#"actor:"Admin Alice""#, |r| {
        actor(r) == Some("Admin Alice")
    });
    f.check(r#"action:"Add member to role""#, |r| {
        action(r) == Some("Add member to role")
    });
    f.check(r"actor:C:\Users\dave", |r| {
        actor(r) == Some(r"C:\Users\dave")
    });
    f.check(r#"actor:"C:\\Users\\dave""#, |r| {
        actor(r) == Some(r"C:\Users\dave")
    });
    f.check(r#"actor:"say \"hi\"""#, |r| actor(r) == Some("say \"hi\""));
    f.check("actor:ÄLICE", |r| actor(r) == Some("älice"));
    f.check("actor:*", |r| actor(r).is_some());
    f.check("-actor:*", |r| actor(r).is_none());
    f.check("-actor:jdoe", |r| {
        lower(actor(r)) != "jdoe" || actor(r).is_none()
    });
    f.check(r#"error:"""#, |r| r.event.error.as_deref() == Some(""));
    f.check("src_ip:10.*", |r| {
        r.event
            .src_ip
            .as_deref()
            .is_some_and(|v| v.starts_with("10."))
    });
    f.check("account:111", |r| r.event.account.as_deref() == Some("111"));
    f.check("source:filter-tests", |_| true);
    // String columns.
    f.check("resource:*bucket*", |r| {
        lower(r.event.resource.as_deref()).contains("bucket")
    });
    f.check("resource:A*B", |r| {
        lower(r.event.resource.as_deref()) == "a*b"
    });
    f.check(r"resource:a\*b", |r| {
        r.event.resource.as_deref() == Some("a*b")
    });
    f.check("event_id:E01", |r| {
        r.event.event_id.as_deref() == Some("e01")
    });
    f.check("session:SESS-*", |r| {
        lower(r.event.session.as_deref()).starts_with("sess-")
    });
    f.check(r#"resource:"s3://bucket-data/x (1).csv""#, |r| {
        r.event.resource.as_deref() == Some("s3://bucket-data/x (1).csv")
    });
    f.check("-resource:*bucket*", |r| {
        !lower(r.event.resource.as_deref()).contains("bucket")
    });
}

#[test]
fn regexes() {
    let f = fixture();
    f.check(r#"action~"^(Attach|Put).*Policy$""#, |r| {
        action(r).is_some_and(|a| {
            (a.starts_with("Attach") || a.starts_with("Put")) && a.ends_with("Policy")
        })
    });
    f.check("action~^(Attach|Put).*Policy$", |r| {
        action(r).is_some_and(|a| {
            (a.starts_with("Attach") || a.starts_with("Put")) && a.ends_with("Policy")
        })
    });
    f.check("action~policy", |r| {
        action(r).is_some_and(|a| a.contains("policy"))
    });
    f.check("action~(?i)policy", |r| lower(action(r)).contains("policy"));
    f.check(r#"details~"role=.*Admin""#, |r| {
        r.event
            .details
            .as_deref()
            .is_some_and(|d| d.starts_with("role=") && d.contains("Admin"))
    });
    f.check(r"resource~\.csv$", |r| {
        r.event
            .resource
            .as_deref()
            .is_some_and(|v| v.ends_with(".csv"))
    });
    f.check(r"actor~\\", |r| actor(r).is_some_and(|a| a.contains('\\')));
    f.check("-action~Policy", |r| {
        !action(r).is_some_and(|a| a.contains("Policy"))
    });
}

#[test]
fn booleans() {
    let f = fixture();
    f.check("privileged", |r| r.privileged);
    f.check("-privileged", |r| !r.privileged);
    f.check("privileged:false", |r| !r.privileged);
    f.check("read_only:true", |r| r.event.read_only == Some(true));
    f.check("read_only", |r| r.event.read_only == Some(true));
    for not in ["!read_only", "-read_only", "not read_only", "NOT read_only"] {
        f.check(not, |r| r.event.read_only != Some(true));
    }
    f.check("read_only:false", |r| r.event.read_only == Some(false));
    f.check("mfa:false", |r| r.event.mfa == Some(false));
    f.check("mfa:no", |r| r.event.mfa == Some(false));
    f.check("mfa:unknown", |r| r.event.mfa.is_none());
    f.check("-mfa:unknown", |r| r.event.mfa.is_some());
    f.check("mfa", |r| r.event.mfa == Some(true));
    f.check("-mfa", |r| r.event.mfa != Some(true));
}

#[test]
fn boolean_operators() {
    let f = fixture();
    let jdoe = |r: &Row| lower(actor(r)) == "jdoe";
    let aws = |r: &Row| r.event.provider == "aws";
    let ro = |r: &Row| r.event.read_only == Some(true);
    f.check("actor:jdoe or provider:gcp", |r| {
        jdoe(r) || r.event.provider == "gcp"
    });
    f.check("actor:jdoe OR provider:gcp", |r| {
        jdoe(r) || r.event.provider == "gcp"
    });
    f.check("actor:jdoe || provider:gcp", |r| {
        jdoe(r) || r.event.provider == "gcp"
    });
    f.check("provider:aws read_only", |r| aws(r) && ro(r));
    f.check("provider:aws and read_only", |r| aws(r) && ro(r));
    f.check("provider:aws && read_only", |r| aws(r) && ro(r));
    // not > and > or
    f.check("actor:jdoe read_only or privileged", |r| {
        (jdoe(r) && ro(r)) || r.privileged
    });
    f.check("privileged or actor:jdoe read_only", |r| {
        r.privileged || (jdoe(r) && ro(r))
    });
    f.check("(privileged or actor:jdoe) read_only", |r| {
        (r.privileged || jdoe(r)) && ro(r)
    });
    f.check("not actor:jdoe read_only", |r| !jdoe(r) && ro(r));
    f.check("not (actor:jdoe read_only)", |r| !(jdoe(r) && ro(r)));
    f.check("-(actor:jdoe or privileged)", |r| {
        !(jdoe(r) || r.privileged)
    });
    f.check("not(actor:jdoe)", |r| !jdoe(r));
    f.check("--actor:jdoe", jdoe);
    f.check("((actor:jdoe))", jdoe);
    f.check("  ", |_| true);
    f.check("", |_| true);
}

#[test]
fn time_terms_in_a_zone_with_dst() {
    let f = fixture();
    let at_or_after = |s: &str| {
        let t = ts(s);
        move |r: &Row| time(r).is_some_and(|v| v >= t)
    };
    let before = |s: &str| {
        let t = ts(s);
        move |r: &Row| time(r).is_some_and(|v| v < t)
    };
    let within = |a: &str, b: &str| {
        let (a, b) = (ts(a), ts(b));
        move |r: &Row| time(r).is_some_and(|v| v >= a && v < b)
    };
    // Midnight in New York is 05:00Z in winter.
    f.check("after:2024-03-10", at_or_after("2024-03-10T05:00:00Z"));
    f.check("before:2024-03-10", before("2024-03-10T05:00:00Z"));
    f.check("-after:2024-03-10", |r| {
        time(r).is_none_or(|v| v < ts("2024-03-10T05:00:00Z"))
    });
    // The day clocks spring forward has 23 hours.
    f.check(
        "time:2024-03-10",
        within("2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z"),
    );
    // 03:00 EDT is 07:00Z; 02:30 does not exist and is read as 03:30 EDT.
    f.check(
        r#"after:"2024-03-10 03:00""#,
        at_or_after("2024-03-10T07:00:00Z"),
    );
    f.check(
        "after:2024-03-10T03:00",
        at_or_after("2024-03-10T07:00:00Z"),
    );
    f.check(
        r#"after:"2024-03-10 02:30""#,
        at_or_after("2024-03-10T07:30:00Z"),
    );
    // Explicit offsets are respected.
    f.check(
        "before:2024-03-10T07:00:00Z",
        before("2024-03-10T07:00:00Z"),
    );
    f.check(
        "after:2024-03-10T02:00:00-05:00",
        at_or_after("2024-03-10T07:00:00Z"),
    );
    f.check(
        "time:2024-03-10T07:30:00Z",
        within("2024-03-10T07:30:00Z", "2024-03-10T07:30:01Z"),
    );
    // The day clocks fall back has 25 hours.
    f.check(
        "time:2024-11-03",
        within("2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z"),
    );
    // 01:30 happens twice on that day; the earlier (EDT) is taken.
    f.check(
        r#"time:"2024-11-03 01:30""#,
        within("2024-11-03T05:30:00Z", "2024-11-03T05:31:00Z"),
    );
    f.check(
        r#"time:"2024-11-03 14""#,
        within("2024-11-03T19:00:00Z", "2024-11-03T20:00:00Z"),
    );
    f.check(
        r#"after:2024-03-09 before:"2024-03-10 12:00""#,
        within("2024-03-09T05:00:00Z", "2024-03-10T16:00:00Z"),
    );
    // Relative to the newest event (2024-11-04T05:00:01Z, just after midnight EST).
    let newest = newest();
    f.check("last:24h", move |r| {
        time(r).is_some_and(|v| v >= newest - 24 * HOUR)
    });
    f.check("last:30m", move |r| {
        time(r).is_some_and(|v| v >= newest - 30 * MINUTE)
    });
    f.check("last:1h30m", move |r| {
        time(r).is_some_and(|v| v >= newest - 90 * MINUTE)
    });
    f.check("last:7d", move |r| {
        time(r).is_some_and(|v| v >= newest - 7 * DAY)
    });
    f.check("-last:7d", move |r| {
        time(r).is_none_or(|v| v < newest - 7 * DAY)
    });
    f.check(
        "time:today",
        within("2024-11-04T05:00:00Z", "2024-11-05T05:00:00Z"),
    );
    f.check(
        "time:yesterday",
        within("2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z"),
    );
    f.check("before:yesterday", before("2024-11-03T04:00:00Z"));
    // Without a newest event, relative terms match nothing.
    let ctx = FilterContext {
        newest: None,
        ..f.ctx.clone()
    };
    let out = f
        .frame
        .clone()
        .lazy()
        .filter(compile_str("last:24h or time:today", &ctx).unwrap())
        .collect()
        .unwrap();
    assert_eq!(out.height(), 0);
    // for_frame finds the newest event.
    assert_eq!(
        FilterContext::for_frame(&f.frame, new_york()).newest,
        Some(newest)
    );
}

#[test]
fn trusted_networks_of_the_config_and_ip_filters_agree() {
    // The detection config's trusted networks and `ip:` in a filter read addresses with one
    // parser: an IPv4-mapped IPv6 address is the IPv4 address it carries in both.
    let config = crate::config::Config::overlay(
        "[detect]\ntrusted_cidrs = [\"10.0.0.0/8\", \"2001:db8::/32\"]\n",
        std::path::Path::new("trusted.toml"),
    )
    .unwrap();
    let trusted: Vec<Cidr> = config
        .detect
        .trusted_cidrs
        .iter()
        .map(|c| Cidr::parse(c).unwrap())
        .collect();
    let f = fixture();
    let filter = format!("ip in ({})", config.detect.trusted_cidrs.join(", "));
    f.check(&filter, |r| {
        r.event
            .src_ip
            .as_deref()
            .is_some_and(|ip| trusted.iter().any(|n| n.contains_text(ip)))
    });
    assert!(f.ids(&filter).contains("e07"), "::ffff:10.9.9.9 is trusted");
    assert!(trusted[0].contains_text("::ffff:10.1.2.3"));
    let mapped = FilterContext::default();
    for (ip, inside) in [
        ("::ffff:10.1.2.3", true),
        ("10.1.2.3", true),
        ("::ffff:11.1.2.3", false),
        ("2001:db8::7", true),
    ] {
        assert_eq!(trusted.iter().any(|n| n.contains_text(ip)), inside, "{ip}");
        let mut batch = EventBatch::new("mapped");
        let event = ev(
            "m1",
            "2024-03-09T12:00:00Z",
            "aws",
            None,
            None,
            Some(ip),
            |_| {},
        );
        let span = RawSpan {
            offset: 0,
            len: 1,
            line: 1,
        };
        batch.push(&event, b"{}", span, false);
        let frame = batch.into_frame().unwrap();
        let expr = compile_str(&filter, &mapped).unwrap();
        let kept = frame.lazy().filter(expr).collect().unwrap().height();
        assert_eq!(kept == 1, inside, "filter {filter} on {ip}");
    }
}

#[test]
fn cidrs() {
    let f = fixture();
    let ten = [
        "10.1.2.3",
        "::ffff:10.9.9.9",
        "10.200.0.1",
        "10.0.0.1",
        "10.0.0.0",
        "10.96.0.10",
        " 10.5.5.5 ",
    ];
    f.check("ip:10.0.0.0/8", |r| ip_is(r, &ten));
    f.check("-ip:10.0.0.0/8", |r| !ip_is(r, &ten));
    f.check("ip:10.1.2.0/24", |r| ip_is(r, &["10.1.2.3"]));
    f.check("ip:10.1.2.3", |r| ip_is(r, &["10.1.2.3"]));
    f.check("ip:203.0.113.7", |r| ip_is(r, &["203.0.113.7"]));
    f.check("ip:203.0.113.7/32", |r| ip_is(r, &["203.0.113.7"]));
    f.check("ip:2001:db8::/32", |r| {
        ip_is(r, &["2001:db8::1", "2001:DB8:0:0::ff", "2001:db8:ffff::1"])
    });
    f.check("ip:2001:db8::ff", |r| ip_is(r, &["2001:DB8:0:0::ff"]));
    f.check("ip:::ffff:10.9.9.0/120", |r| ip_is(r, &["::ffff:10.9.9.9"]));
    f.check("ip:fe80::/10", |r| ip_is(r, &["fe80::1"]));
    // Every valid IPv4 address; never "AWS Internal", "253.252.51.07", hostnames, 10.0.0.256.
    let v4 = [
        "10.1.2.3",
        "192.168.1.5",
        "203.0.113.7",
        "::ffff:10.9.9.9",
        "10.200.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "10.0.0.0",
        "192.168.1.77",
        "100.64.0.1",
        "198.51.100.23",
        "10.96.0.10",
        " 10.5.5.5 ",
        "203.0.113.99",
        "140.82.112.4",
    ];
    f.check("ip:0.0.0.0/0", |r| ip_is(r, &v4));
    f.check("ip:::/0", |r| {
        ip_is(
            r,
            &[
                "2001:db8::1",
                "2001:db9::1",
                "fe80::1",
                "2001:DB8:0:0::ff",
                "::1",
                "2001:db8:ffff::1",
            ],
        )
    });
    f.check("ip:192.168.0.0/16 or ip:2001:db9::/32", |r| {
        ip_is(r, &["192.168.1.5", "192.168.1.77", "2001:db9::1"])
    });
    f.check("ip in (10.0.0.0/8, 2001:db8::/32)", |r| {
        ip_is(r, &ten) || ip_is(r, &["2001:db8::1", "2001:DB8:0:0::ff", "2001:db8:ffff::1"])
    });
}

#[test]
fn lists() {
    let f = fixture();
    // jdoe, alice@corp.com, *svc*
    f.check("actor in @oncall.txt", |r| {
        let a = lower(actor(r));
        a == "jdoe" || a == "alice@corp.com" || a.contains("svc")
    });
    f.check("-actor in @oncall.txt", |r| {
        let a = lower(actor(r));
        !(a == "jdoe" || a == "alice@corp.com" || a.contains("svc")) || actor(r).is_none()
    });
    f.check(r#"ip in @"vpn ranges.txt""#, |r| {
        let ten = [
            "10.1.2.3",
            "::ffff:10.9.9.9",
            "10.200.0.1",
            "10.0.0.1",
            "10.0.0.0",
            "10.96.0.10",
            " 10.5.5.5 ",
        ];
        ip_is(r, &ten) || ip_is(r, &["2001:db8::1", "2001:DB8:0:0::ff", "2001:db8:ffff::1"])
    });
    f.check("src_ip in @oncall.txt", |_| false);
    f.check(r#"actor in (JDOE, "bob smith", *SVC*)"#, |r| {
        let a = lower(actor(r));
        a == "jdoe" || a == "bob smith" || a.contains("svc")
    });
    f.check("actor in (jdoe,bob)", |r| {
        let a = lower(actor(r));
        a == "jdoe" || a == "bob"
    });
    // String columns: exact values ignore case, wildcards work.
    f.check("resource in @resources.txt", |r| {
        let v = lower(r.event.resource.as_deref());
        (v.starts_with('a') && v.ends_with('b')) || v == "projects/prod"
    });
    f.check(r"resource in (a\*b, *.CSV)", |r| {
        let v = lower(r.event.resource.as_deref());
        v == "a*b" || v.ends_with(".csv")
    });
    // Long lists take the set path; non-ASCII values fold case like short ones.
    let long: Vec<String> = (0..20)
        .map(|i| format!("nothing-{i}"))
        .chain(["A*B", "projects/PROD", "S3://BUCKET-LOGS/Ä.TXT", "*.CSV"].map(String::from))
        .collect();
    std::fs::write(f.dir.path().join("long.txt"), long.join("\n")).unwrap();
    let long_match = |r: &Row| {
        let v = lower(r.event.resource.as_deref());
        (v.starts_with('a') && v.ends_with('b'))
            || v == "projects/prod"
            || v == "s3://bucket-logs/ä.txt"
            || v.ends_with(".csv")
    };
    f.check("resource in @long.txt", long_match);
    f.check(
        r#"resource in (A*B, projects/PROD, "S3://BUCKET-LOGS/Ä.TXT", *.CSV)"#,
        long_match,
    );
    // Relative paths are relative to the base directory; absolute paths work too.
    let absolute = f.dir.path().join("oncall.txt");
    let filter = format!("user in @{}", quote_value(&absolute.to_string_lossy()));
    assert_eq!(f.ids(&filter), f.ids("actor in @oncall.txt"));
}

#[test]
fn free_text() {
    let f = fixture();
    let contains = |needle: &'static str| {
        move |r: &Row| {
            [
                actor(r),
                action(r),
                r.event.resource.as_deref(),
                r.event.error.as_deref(),
            ]
            .iter()
            .any(|v| lower(*v).contains(needle))
        }
    };
    f.check("admin", contains("admin"));
    f.check("ADMIN", contains("admin"));
    f.check("bucket", contains("bucket"));
    f.check(r#""access denied""#, |_| false);
    f.check(r#""Add member""#, contains("add member"));
    f.check("@corp.com", contains("@corp.com"));
    f.check("-admin", |r| !contains("admin")(r));
    f.check("admin provider:aws", |r| {
        contains("admin")(r) && r.event.provider == "aws"
    });
    f.check("put*policy", |r| {
        [
            actor(r),
            action(r),
            r.event.resource.as_deref(),
            r.event.error.as_deref(),
        ]
        .iter()
        .any(|v| {
            let v = lower(*v);
            v.find("put").is_some_and(|i| v[i..].contains("policy"))
        })
    });
    f.check(r#""privileged""#, contains("privileged"));
    f.check(r#""or""#, contains("or"));
    // Text in details or src_ip is not free text.
    f.check("owner", contains("owner"));
    f.check("192.168", |_| false);
}

#[test]
fn quote_value_reads_back_as_exact_equality() {
    let f = fixture();
    for row in &f.rows {
        let Some(a) = actor(row) else { continue };
        let filter = format!("actor:{}", quote_value(a));
        let want = lower(Some(a));
        f.check(&filter, |r| {
            actor(r).is_some_and(|v| v.to_lowercase() == want)
        });
        let res = row.event.resource.as_deref().unwrap_or("x");
        let filter = format!("resource:{}", quote_value(res));
        let want = res.to_lowercase();
        f.check(&filter, |r| lower(r.event.resource.as_deref()) == want);
    }
    for value in [
        "AWS Internal",
        "a*b",
        "*",
        r"C:\Users\x y",
        "say \"hi\"",
        "",
        "(x)",
        "back\\",
        "back\\\\",
        "\\\"",
        "x)",
        "a b\\*",
        "or",
        "-x",
    ] {
        let quoted = quote_value(value);
        let parsed = parse(&format!("actor:{quoted}")).unwrap();
        let FilterExpr::Field {
            op: MatchOp::Match,
            value: pattern,
            ..
        } = &parsed
        else {
            panic!("{value:?} -> {quoted} -> {parsed:?}");
        };
        let pieces = pattern_pieces(pattern);
        let literal: Option<String> = pieces
            .iter()
            .map(|p| match p {
                Piece::Lit(c) => Some(*c),
                Piece::Star => None,
            })
            .collect();
        assert_eq!(literal.as_deref(), Some(value), "{value:?} -> {quoted}");
    }
    for value in ["AWS Internal", "a*b", r"C:\x", "say \"hi\"", ""] {
        // The drill-down quoting and the printer of parsed filters spell the same term.
        let term = FilterExpr::equals(ACTOR, value);
        let quoted = format!("actor:{}", quote_value(value));
        assert_eq!(parse(&quoted).unwrap(), term, "{quoted}");
        assert_eq!(parse(&term.to_filter_string()).unwrap(), term);
    }
    let pivot = FilterExpr::And(vec![
        FilterExpr::equals(SRC_IP, "AWS Internal"),
        FilterExpr::Not(Box::new(FilterExpr::equals(ACTION, "Put*Star"))),
    ]);
    assert_eq!(
        pivot.to_filter_string(),
        r#"src_ip:"AWS Internal" -action:Put\*Star"#
    );
    f.check(&pivot.to_filter_string(), |r| {
        r.event.src_ip.as_deref() == Some("AWS Internal") && action(r) != Some("Put*Star")
    });
    assert_eq!(quote_value("jdoe"), "jdoe");
    assert_eq!(quote_value("AWS Internal"), r#""AWS Internal""#);
    assert_eq!(quote_value("a*b"), r#""a\*b""#);
    assert_eq!(quote_value("dependabot[bot]"), r#""dependabot[bot]""#);
    assert_eq!(quote_value("-x"), r#""-x""#);
    assert_eq!(
        quote_value("arn:aws:iam::1:user/a.b+c@d"),
        "arn:aws:iam::1:user/a.b+c@d"
    );
    assert_eq!(quote_value(""), r#""""#);
}

// ---------------------------------------------------------------------------------------
// Parser

fn field(field: &'static str, value: &str) -> FilterExpr {
    FilterExpr::Field {
        field,
        op: MatchOp::Match,
        value: value.to_string(),
        span: 0..0,
    }
}

fn text(t: &str) -> FilterExpr {
    FilterExpr::Text {
        text: t.to_string(),
        span: 0..0,
    }
}

fn boolean(field: &'static str, value: Option<bool>) -> FilterExpr {
    FilterExpr::Bool {
        field,
        value,
        span: 0..0,
    }
}

fn not(e: FilterExpr) -> FilterExpr {
    FilterExpr::Not(Box::new(e))
}

#[track_caller]
fn parses(input: &str, want: FilterExpr) {
    let got = parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
    assert_eq!(got, want, "{input:?}");
    let canonical = got.to_filter_string();
    assert_eq!(
        parse(&canonical).unwrap(),
        got,
        "{input:?} -> {canonical:?}"
    );
}

#[test]
fn parses_every_construct() {
    parses("", FilterExpr::All);
    parses(" \t ", FilterExpr::All);
    parses("actor:jdoe", field(ACTOR, "jdoe"));
    parses("Actor:jdoe", field(ACTOR, "jdoe"));
    parses("user:jdoe", field(ACTOR, "jdoe"));
    parses("who:jdoe", field(ACTOR, "jdoe"));
    parses("type:human", field(ACTOR_TYPE, "human"));
    parses("ua:curl*", field(USER_AGENT, "curl*"));
    parses("region:eu-west-1", field(LOCATION, "eu-west-1"));
    parses("actor:*admin*", field(ACTOR, "*admin*"));
    parses(
        r#"action:"Add member to role""#,
        field(ACTION, "Add member to role"),
    );
    parses(r#"actor:"a \"b\" \\ c""#, field(ACTOR, r#"a "b" \\ c"#));
    parses(r"actor:a\*b", field(ACTOR, r"a\*b"));
    parses(r#"actor:"a\*b""#, field(ACTOR, r"a\*b"));
    parses(r"actor:C:\Users", field(ACTOR, r"C:\\Users"));
    parses("src_ip:10.0.0.1", field(SRC_IP, "10.0.0.1"));
    parses("resource:fn(x)", field(RESOURCE, "fn(x)"));
    parses(
        r#"action~"^(Attach|Put).*Policy$""#,
        FilterExpr::Field {
            field: ACTION,
            op: MatchOp::Regex,
            value: "^(Attach|Put).*Policy$".into(),
            span: 0..0,
        },
    );
    parses(
        r"details~(?i)role=\w+",
        FilterExpr::Field {
            field: DETAILS,
            op: MatchOp::Regex,
            value: r"(?i)role=\w+".into(),
            span: 0..0,
        },
    );
    parses(
        r#"actor~"a\"b\\\\c\d""#,
        FilterExpr::Field {
            field: ACTOR,
            op: MatchOp::Regex,
            value: r#"a"b\\c\d"#.into(),
            span: 0..0,
        },
    );
    parses("privileged", boolean(PRIVILEGED, Some(true)));
    parses("Privileged", boolean(PRIVILEGED, Some(true)));
    parses("!read_only", not(boolean(READ_ONLY, Some(true))));
    parses("-read_only", not(boolean(READ_ONLY, Some(true))));
    parses("not read_only", not(boolean(READ_ONLY, Some(true))));
    parses("mfa:false", boolean(MFA, Some(false)));
    parses("mfa:unknown", boolean(MFA, None));
    parses("mfa:NULL", boolean(MFA, None));
    parses("read_only:true", boolean(READ_ONLY, Some(true)));
    let time = |bound, value: &str| FilterExpr::Time {
        bound,
        value: value.into(),
        span: 0..0,
    };
    parses("after:2024-03-01", time(TimeBound::After, "2024-03-01"));
    parses(
        r#"before:"2024-03-02 12:00""#,
        time(TimeBound::Before, "2024-03-02 12:00"),
    );
    parses(
        "after:2024-03-01T10:00:00Z",
        time(TimeBound::After, "2024-03-01T10:00:00Z"),
    );
    parses("time:2024-03-01", time(TimeBound::During, "2024-03-01"));
    parses("after:today", time(TimeBound::After, "today"));
    parses("last:24h", time(TimeBound::Last, "24h"));
    parses("last:30m", time(TimeBound::Last, "30m"));
    parses("last:7d", time(TimeBound::Last, "7d"));
    let cidr = |c: &str| FilterExpr::Cidr {
        cidr: c.into(),
        span: 0..0,
    };
    parses("ip:10.0.0.0/8", cidr("10.0.0.0/8"));
    parses("ip:2001:db8::/32", cidr("2001:db8::/32"));
    parses("ip:203.0.113.7", cidr("203.0.113.7"));
    let list = |field, l: ListSource| FilterExpr::InList {
        field,
        list: l,
        span: 0..0,
    };
    parses(
        "actor in @oncall.txt",
        list(ACTOR, ListSource::File("oncall.txt".into())),
    );
    parses(
        "ip in @vpn-ranges.txt",
        list(IP, ListSource::File("vpn-ranges.txt".into())),
    );
    parses(
        r#"actor IN @"my lists/on call.txt""#,
        list(ACTOR, ListSource::File("my lists/on call.txt".into())),
    );
    parses(
        r#"actor in (alice, "bob smith",*svc* "a,b")"#,
        list(
            ACTOR,
            ListSource::Values(vec![
                "alice".into(),
                "bob smith".into(),
                "*svc*".into(),
                "a,b".into(),
            ]),
        ),
    );
    parses(
        "ip in(10.0.0.0/8,fe80::/10)",
        list(
            IP,
            ListSource::Values(vec!["10.0.0.0/8".into(), "fe80::/10".into()]),
        ),
    );
    parses("admin", text("admin"));
    parses(r#""access denied""#, text("access denied"));
    parses(r#""or""#, text("or"));
    parses(r#""privileged""#, text("privileged"));
    parses(r#""actor:x""#, text("actor:x"));
    parses("@corp.com", text("@corp.com"));
    parses("10.0.0.1", text("10.0.0.1"));
    parses("foo(bar)", text("foo(bar)"));
    parses(r#"say"hi"#, text(r#"say"hi"#));
    // Boolean structure.
    let a = || field(ACTOR, "a");
    let b = || field(ACTOR, "b");
    let c = || field(ACTOR, "c");
    parses("actor:a actor:b", FilterExpr::And(vec![a(), b()]));
    parses("actor:a and actor:b", FilterExpr::And(vec![a(), b()]));
    parses(
        "actor:a AND actor:b && actor:c",
        FilterExpr::And(vec![a(), b(), c()]),
    );
    parses(
        "actor:a or actor:b || actor:c",
        FilterExpr::Or(vec![a(), b(), c()]),
    );
    parses(
        "actor:a actor:b or actor:c",
        FilterExpr::Or(vec![FilterExpr::And(vec![a(), b()]), c()]),
    );
    parses(
        "actor:a or actor:b actor:c",
        FilterExpr::Or(vec![a(), FilterExpr::And(vec![b(), c()])]),
    );
    parses("not actor:a actor:b", FilterExpr::And(vec![not(a()), b()]));
    parses("-(actor:a or actor:b)", not(FilterExpr::Or(vec![a(), b()])));
    parses("not(actor:a)", not(a()));
    parses("NOT actor:a", not(a()));
    parses("!!actor:a", not(not(a())));
    parses("(actor:a)", a());
    parses(
        "(actor:a or actor:b) actor:c",
        FilterExpr::And(vec![FilterExpr::Or(vec![a(), b()]), c()]),
    );
    parses(
        "actor:a (actor:b actor:c)",
        FilterExpr::And(vec![a(), FilterExpr::And(vec![b(), c()])]),
    );
    parses(
        "(actor:a or actor:b) or actor:c",
        FilterExpr::Or(vec![FilterExpr::Or(vec![a(), b()]), c()]),
    );
    parses("(actor:a)actor:b", FilterExpr::And(vec![a(), b()]));
    parses(
        "action~^(Attach|Put).*Policy$ privileged",
        FilterExpr::And(vec![
            FilterExpr::Field {
                field: ACTION,
                op: MatchOp::Regex,
                value: "^(Attach|Put).*Policy$".into(),
                span: 0..0,
            },
            boolean(PRIVILEGED, Some(true)),
        ]),
    );
}

#[test]
fn spans_are_in_characters() {
    let e = parse("é actor:jdoe").unwrap();
    let FilterExpr::And(items) = e else { panic!() };
    assert_eq!(items[0].span(), Some(0..1));
    assert_eq!(items[1].span(), Some(2..12));
    let e = parse(r#"ünï in (a, b) ip:10.0.0.0/8"#);
    assert_eq!(e.unwrap_err().span, 0..3);
    let e = parse("actor in (a, b)").unwrap();
    assert_eq!(e.span(), Some(0..15));
}

#[track_caller]
fn fails(input: &str, message: &str, span: Range<usize>) {
    let err = parse(input).expect_err(input);
    assert_eq!(err.message, message, "{input:?}");
    assert_eq!(err.span, span, "{input:?}: {}", err.message);
}

#[test]
fn errors_name_what_was_expected_and_where() {
    let err = parse("acter:jdoe").unwrap_err();
    assert_eq!(err.span, 0..5);
    assert!(
        err.message.starts_with(
            "unknown field 'acter' (fields: time, provider, log_type, event_id, actor,"
        ),
        "{}",
        err.message
    );
    assert!(
        err.message.ends_with("; did you mean 'actor'?)"),
        "{}",
        err.message
    );
    assert_eq!(err.to_string(), format!("column 1: {}", err.message),);
    let err = parse("provider:aws arn:aws:iam::1").unwrap_err();
    assert_eq!(err.span, 13..16);
    assert!(
        err.message
            .ends_with("; quote the word to search for it as text)")
    );
    fails(r#"actor:"jdoe"#, "unclosed quote", 6..11);
    fails(r#"é "abc"#, "unclosed quote", 2..6);
    fails(r#"actor:"a\""#, "unclosed quote", 6..10);
    fails("actor:", "expected a value after 'actor:'", 0..6);
    fails("actor: jdoe", "expected a value after 'actor:'", 0..6);
    fails(
        "privileged actor~",
        "expected a value after 'actor~'",
        11..17,
    );
    fails(
        r#"action~"(unclosed""#,
        "invalid regex: unclosed group",
        7..18,
    );
    fails(
        "action~a{2,1}",
        "invalid regex: invalid repetition count range, the start must be <= the end",
        7..13,
    );
    fails("ip:10.0.0/8", "invalid CIDR '10.0.0/8'", 3..11);
    fails("ip:10.0.0.0/33", "invalid CIDR '10.0.0.0/33'", 3..14);
    fails(
        "ip:host.example.com",
        "invalid CIDR 'host.example.com'",
        3..19,
    );
    fails(
        "ip in (10.0.0.0/8, 300.1.1.1)",
        "invalid CIDR '300.1.1.1'",
        19..28,
    );
    fails(
        "after:yesterdayy",
        "invalid time 'yesterdayy' (use 2024-03-01, \"2024-03-01 12:00\", or last:24h)",
        6..16,
    );
    fails(
        "before:2024-13-01",
        "invalid time '2024-13-01' (use 2024-03-01, \"2024-03-01 12:00\", or last:24h)",
        7..17,
    );
    fails(
        "last:24",
        "invalid duration '24' (use last:30m, last:24h or last:7d)",
        5..7,
    );
    fails(
        "last:99999999999999999w",
        "invalid duration '99999999999999999w' (use last:30m, last:24h or last:7d)",
        5..23,
    );
    fails(
        "mfa:maybe",
        "invalid value 'maybe' for mfa (use true, false or unknown)",
        4..9,
    );
    fails(
        "mfa~x",
        "'mfa' does not take a regex (use mfa:true, mfa:false or mfa:unknown)",
        0..5,
    );
    fails(
        "ip~^10",
        "'ip' does not take a regex (use ip:CIDR, or src_ip~ for a regex)",
        0..6,
    );
    fails(
        "actor!=jdoe",
        "unexpected '!=' after 'actor' (use -actor:VALUE to exclude a value)",
        0..7,
    );
    fails(
        "x user=jdoe",
        "unexpected '=' after 'user' (use user:VALUE)",
        2..7,
    );
    fails(
        "actor==jdoe",
        "unexpected '==' after 'actor' (use actor:VALUE)",
        0..7,
    );
    fails(
        "action!~^Get",
        "unexpected '!~' after 'action' (use -action~REGEX to exclude a regex)",
        0..8,
    );
    fails(
        "time>=2024-03-01",
        "unexpected '>=' after 'time' (use after:TIME)",
        0..6,
    );
    fails(
        "time<2024-03-01",
        "unexpected '<' after 'time' (use before:TIME)",
        0..5,
    );
    fails(
        "raw_len>5 mfa>1",
        "unexpected '>' after 'mfa' ('mfa' cannot be compared with '>')",
        10..14,
    );
    parses("a=b", text("a=b"));
    parses("x!=y", text("x!=y"));
    fails(
        "(actor:x",
        "unbalanced parenthesis: '(' is never closed",
        0..1,
    );
    fails(
        "((actor:x) or y",
        "unbalanced parenthesis: '(' is never closed",
        0..1,
    );
    fails(
        "actor:x)",
        "unbalanced parenthesis: ')' has no matching '('",
        7..8,
    );
    fails(")", "unbalanced parenthesis: ')' has no matching '('", 0..1);
    fails("(", "unbalanced parenthesis: '(' is never closed", 0..1);
    fails("a ()", "empty parentheses", 2..4);
    fails("a or", "expected a term after 'or'", 2..4);
    fails("a or or b", "expected a term after 'or'", 2..4);
    fails("(a ||)", "expected a term after '||'", 3..5);
    fails("or a", "expected a term before 'or'", 0..2);
    fails("a and", "expected a term after 'and'", 2..5);
    fails("and", "expected a term before 'and'", 0..3);
    fails("not", "expected a term after 'not'", 0..3);
    fails("a -", "expected a term after '-'", 2..3);
    fails("!(", "unbalanced parenthesis: '(' is never closed", 1..2);
    fails(r#""""#, "empty search text", 0..2);
    fails(
        r#""a"b"#,
        "expected a space or ')' after the closing quote",
        3..4,
    );
    fails(
        r#"actor:"a"b"#,
        "expected a space or ')' after the closing quote",
        9..10,
    );
    fails(
        "login in",
        "unknown field 'login' (fields: time, provider, log_type, event_id, actor, actor_type, \
         action, service, resource, src_ip, user_agent, location, outcome, error, mfa, session, \
         read_only, privileged, account, details, source, after, before, last, ip; quote the \
         word to search for it as text)",
        0..5,
    );
    fails("actor in", "expected @FILE or (VALUES) after 'in'", 6..8);
    fails("actor in x", "expected @FILE or (VALUES) after 'in'", 6..8);
    fails("actor in @", "expected a file name after '@'", 9..10);
    fails("actor in ()", "empty list", 9..11);
    fails("actor in (a, b", "unclosed list: expected ')'", 9..14);
    fails(
        "mfa in (true)",
        "'mfa' cannot be matched against a list (lists work on text fields and ip)",
        0..3,
    );
    fails(
        "in @x",
        "'in' needs a field before it and a list after it (actor in @oncall.txt, actor in \
         (alice, bob)); quote \"in\" to search for the word",
        0..2,
    );
    fails(
        r#""actor" in (a)"#,
        "'in' needs a field before it and a list after it (actor in @oncall.txt, actor in \
         (alice, bob)); quote \"in\" to search for the word",
        8..10,
    );
    let deep = format!("{}a{}", "(".repeat(300), ")".repeat(300));
    assert!(
        parse(&deep)
            .unwrap_err()
            .message
            .contains("nested too deeply")
    );
    let deep = format!("{}a", "-".repeat(300));
    assert!(
        parse(&deep)
            .unwrap_err()
            .message
            .contains("nested too deeply")
    );
    // A filter made of many terms stays shallow when compiled.
    let wide = vec!["actor:x"; 5000].join(" or ");
    let f = fixture();
    assert!(f.ids(&wide).is_empty());
}

#[test]
fn compile_errors() {
    let f = fixture();
    let err = compile_str("actor in @missing.txt", &f.ctx).unwrap_err();
    assert!(
        err.message
            .starts_with("cannot read list file 'missing.txt': "),
        "{}",
        err.message
    );
    assert_eq!(err.span, 0..21);
    let err = compile_str("provider:aws ip in @bad.txt", &f.ctx).unwrap_err();
    assert_eq!(err.message, "invalid CIDR 'not-a-cidr' in bad.txt line 2");
    assert_eq!(err.span, 13..27);
    // Hand-built expressions are checked too.
    let bad = FilterExpr::Field {
        field: MFA,
        op: MatchOp::Match,
        value: "x".into(),
        span: 3..4,
    };
    assert_eq!(compile(&bad, &f.ctx).unwrap_err().span, 3..4);
    let bad = FilterExpr::Bool {
        field: ACTOR,
        value: Some(true),
        span: 0..1,
    };
    assert!(compile(&bad, &f.ctx).is_err());
    let e: crate::Error = err.into();
    assert!(e.to_string().starts_with("invalid filter: column 14: "));
}

#[test]
fn canonical_strings() {
    let cases = [
        ("actor:jdoe", "actor:jdoe"),
        ("User:JDoe", "actor:JDoe"),
        ("privileged AND NOT read_only", "privileged -read_only"),
        ("a OR b c", "a or b c"),
        ("(a or b) c", "(a or b) c"),
        ("a (b c)", "a (b c)"),
        ("not (a b)", "-(a b)"),
        ("not not a", "--a"),
        (
            r#"action:"Add member to role""#,
            r#"action:"Add member to role""#,
        ),
        (r#"actor:"say \"hi\"""#, r#"actor:"say \"hi\"""#),
        ("mfa:no", "mfa:false"),
        ("mfa:null", "mfa:unknown"),
        (
            r#"before:"2024-03-02 12:00""#,
            r#"before:"2024-03-02 12:00""#,
        ),
        ("actor in ( a ,b )", "actor in (a, b)"),
        (r#"ip in @"x y.txt""#, r#"ip in @"x y.txt""#),
        (r#""or""#, r#""or""#),
        (r#""-x""#, r#""-x""#),
        (r#""a:b""#, r#""a:b""#),
        (r#""actor=x""#, r#""actor=x""#),
        ("", ""),
    ];
    for (input, want) in cases {
        let e = parse(input).unwrap();
        assert_eq!(e.to_filter_string(), want, "{input:?}");
        assert_eq!(parse(want).unwrap(), e, "{input:?}");
    }
    // Hand-built expressions print as something equivalent.
    let all_inside = FilterExpr::And(vec![FilterExpr::All, boolean(MFA, None)]);
    let f = fixture();
    let s = all_inside.to_filter_string();
    f.check(&s, |r| r.event.mfa.is_none());
    let never = FilterExpr::Or(vec![]);
    assert!(f.ids(&never.to_filter_string()).is_empty());
    assert!(
        f.frame
            .clone()
            .lazy()
            .filter(compile(&never, &f.ctx).unwrap())
            .collect()
            .unwrap()
            .height()
            == 0
    );
}

#[test]
fn field_names_are_complete() {
    let names = field_names();
    for c in EVENT_COLUMNS {
        assert!(names.contains(&c), "{c}");
        assert_eq!(lookup(c).map(|(f, _)| f), Some(c), "{c}");
    }
    for c in [
        SOURCE, AFTER, BEFORE, LAST, IP, PROVIDER, OUTCOME, ACCOUNT, SESSION,
    ] {
        assert!(names.contains(&c), "{c}");
    }
}

/// Random input never panics; what parses prints back to an equal expression, compiles, and
/// runs.
#[test]
fn fuzz() {
    let f = fixture();
    let atoms = [
        "a",
        "x",
        "é",
        "*",
        ":",
        "~",
        "\"",
        "\\",
        "(",
        ")",
        " ",
        " ",
        "-",
        "!",
        "|",
        "||",
        "&&",
        "@",
        ",",
        "/",
        ".",
        "1",
        "0",
        "or",
        "and",
        "not",
        "in",
        "actor:",
        "action~",
        "ip:",
        "after:",
        "before:",
        "last:",
        "time:",
        "mfa:",
        "privileged",
        "10.0.0.0/8",
        "::",
        "24h",
        "2024-03-10",
        "T03:00",
        "unknown",
        "false",
        "in (",
        "in @",
        "oncall.txt",
        "[",
        "?",
        "{",
        "\t",
        "💥",
        "=",
        "!=",
        ">",
        "user",
        "\"actor=x\"",
    ];
    let mut rng = crate::synth::Rng::new(7);
    let mut ran = 0;
    let mut parsed = 0;
    for _ in 0..30_000 {
        let len = rng.below(12) as usize;
        let input: String = (0..len).map(|_| *rng.pick(&atoms)).collect();
        let chars = input.chars().count();
        match parse(&input) {
            Err(e) => {
                assert!(
                    e.span.start <= e.span.end && e.span.end <= chars,
                    "{input:?}: {e:?}"
                );
                assert!(!e.message.is_empty());
            }
            Ok(expr) => {
                parsed += 1;
                let canonical = expr.to_filter_string();
                let again =
                    parse(&canonical).unwrap_or_else(|e| panic!("{input:?} -> {canonical:?}: {e}"));
                assert_eq!(again, expr, "{input:?} -> {canonical:?}");
                if let Ok(compiled) = compile(&expr, &f.ctx)
                    && ran < 400
                {
                    ran += 1;
                    f.frame
                        .clone()
                        .lazy()
                        .filter(compiled)
                        .collect()
                        .unwrap_or_else(|e| panic!("{input:?}: {e}"));
                }
            }
        }
    }
    assert!(parsed > 1000, "{parsed}");
}

/// The fast string-column matcher agrees with the regex it stands for.
#[test]
fn glob_matches_like_its_regex() {
    let mut rng = crate::synth::Rng::new(11);
    let alphabet = [
        "a", "A", "b", "B", "k", "K", "-", "/", "\u{212a}", "ä", "Ä", "\n", "1",
    ];
    let pattern_atoms = ["a", "B", "k", "-", "/", "*", "*", "ab", "1", "\\*"];
    for _ in 0..20_000 {
        let pattern: String = (0..rng.below(6))
            .map(|_| *rng.pick(&pattern_atoms))
            .collect();
        let hay: String = (0..rng.below(10)).map(|_| *rng.pick(&alphabet)).collect();
        for anchored in [true, false] {
            let regex = Matcher::pattern(&pattern, anchored).unwrap().regex;
            let Some(glob) = Glob::new(&pattern, anchored).unwrap() else {
                continue;
            };
            assert_eq!(
                glob.is_match(&hay),
                regex.is_match(&hay),
                "{pattern:?} anchored={anchored} on {hay:?} ({regex})"
            );
        }
    }
}
