//! The parser: every construct, spans, errors naming what was expected, canonical text.

use super::*;
use crate::schema::{CITY, COUNTRY, REGION};

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
    parses("region:eu-west-1", field(REGION, "eu-west-1"));
    parses("country:DE", field(COUNTRY, "DE"));
    parses("city:Lyon", field(CITY, "Lyon"));
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
        "unknown field 'login' (fields: time, provider, log_type, event_id, actor, identity, \
         actor_type, actor_id, action, service, resource, src_ip, user_agent, region, country, city, outcome, error, mfa, session, correlation_id, \
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
