//! Filters against the fixture frame: each selects exactly the rows a plain predicate keeps.

use super::*;

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
                r.event.details.as_deref(),
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
            r.event.details.as_deref(),
        ]
        .iter()
        .any(|v| {
            let v = lower(*v);
            v.find("put").is_some_and(|i| v[i..].contains("policy"))
        })
    });
    f.check(r#""privileged""#, contains("privileged"));
    f.check(r#""or""#, contains("or"));
    // Text in details is free text (issue 19); src_ip is not.
    f.check("owner", contains("owner"));
    assert!(
        f.rows.iter().any(|r| {
            let (d, rest) = (lower(r.event.details.as_deref()), lower(actor(r)));
            d.contains("owner") && !rest.contains("owner")
        }),
        "a row has 'owner' only in its details"
    );
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
