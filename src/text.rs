//! Untrusted text. Log content is written by whoever can write a log line, so before it
//! reaches a terminal, an HTML page or a spreadsheet it passes through here. Clean input is
//! borrowed unchanged.

use std::borrow::Cow;
use std::fmt::Write;

/// Escapes control characters (C0, DEL, C1, and the bidi/zero-width format characters that
/// can hide or reorder text) so nothing in `s` can drive a terminal. Escapes are shown as
/// `\n`, `\t`, `\e`, `\u{..}`, and a backslash stays a backslash.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\u{1b}' => out.push_str("\\e"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> Cow<'_, str> {
    if !s
        .chars()
        .any(|c| matches!(c, '<' | '>' | '&' | '"' | '\'') || needs_escape(c))
    {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if needs_escape(c) => push_escaped(&mut out, c),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Escapes text for Markdown (a table cell or a paragraph): control characters as
/// [`escape_control`] shows them, then a backslash before every character that Markdown or
/// GitHub's extensions could read as markup, a table border, a link or an autolink (`:` of
/// a URL scheme, `@` of an address, `.` of a `www.` host), and `&` so no entity is decoded.
pub fn escape_markdown(s: &str) -> Cow<'_, str> {
    const MARKUP: &[char] = &[
        '\\', '`', '*', '_', '{', '}', '[', ']', '<', '>', '(', ')', '#', '+', '-', '.', '!', '|',
        '~', ':', '@', '&', '=', '"', '\'', '$', '%', '^',
    ];
    let controlled = escape_control(s);
    if !controlled.contains(MARKUP) {
        return controlled;
    }
    let mut out = String::with_capacity(controlled.len() + 16);
    for c in controlled.chars() {
        if MARKUP.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// Neutralizes spreadsheet formulas: a cell starting with `=`, `+`, `-`, `@`, tab or CR is
/// prefixed with `'` so spreadsheet programs show it as text (OWASP CSV injection advice).
/// Control characters are escaped too.
pub fn guard_csv_cell(s: &str) -> Cow<'_, str> {
    let escaped = escape_control_keep_newlines(s);
    match escaped.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{escaped}")),
        _ => escaped,
    }
}

/// Like [`escape_control`] but keeps line breaks and tabs, for multi-line output that is
/// not a terminal line (CSV cells, pretty-printed records).
pub fn escape_control_keep_newlines(s: &str) -> Cow<'_, str> {
    // Printable ASCII (nearly every cell of a CSV report) is tested 64 bytes at a time
    // without an early exit per byte, which the compiler turns into vector compares.
    let plain = |b: u8| (0x20..0x7f).contains(&b) | (b == b'\n') | (b == b'\t');
    if (s.as_bytes().chunks(64)).all(|c| c.iter().fold(true, |ok, b| ok & plain(*b))) {
        return Cow::Borrowed(s);
    }
    let keep = |c: char| matches!(c, '\n' | '\t');
    if !s.chars().any(|c| needs_escape(c) && !keep(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) && !keep(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Cuts `s` to at most `width` terminal columns (by characters; wide characters count as
/// two), ending with `…` when cut.
pub fn truncate(s: &str, width: usize) -> Cow<'_, str> {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        let w = char_width(c);
        if used + w > width {
            if width == 0 {
                return Cow::Borrowed("");
            }
            let mut out = String::new();
            let mut cut = 0;
            for c in s[..i].chars() {
                let w = char_width(c);
                if cut + w + 1 > width {
                    break;
                }
                cut += w;
                out.push(c);
            }
            out.push('…');
            return Cow::Owned(out);
        }
        used += w;
    }
    Cow::Borrowed(s)
}

/// Display width of a character: 2 for East Asian wide ranges, 0 for combining marks, else 1.
pub fn char_width(c: char) -> usize {
    match c as u32 {
        0x0300..=0x036f | 0x200b..=0x200f => 0,
        0x1100..=0x115f
        | 0x2e80..=0xa4cf
        | 0xac00..=0xd7a3
        | 0xf900..=0xfaff
        | 0xfe30..=0xfe4f
        | 0xff00..=0xff60
        | 0xffe0..=0xffe6
        | 0x1f300..=0x1f64f
        | 0x1f900..=0x1f9ff
        | 0x20000..=0x3fffd => 2,
        _ => 1,
    }
}

/// `s` in at most `width` display columns, its middle replaced by `…` when it is longer, so
/// both the start and the end of a long identifier stay readable (`arn:aws:i…/dana`).
pub fn middle_ellipsis(s: &str, width: usize) -> Cow<'_, str> {
    let total: usize = s.chars().map(char_width).sum();
    if total <= width {
        return Cow::Borrowed(s);
    }
    if width <= 1 {
        return Cow::Borrowed(if width == 1 { "…" } else { "" });
    }
    let room = width - 1;
    let (head_room, tail_room) = (room.div_ceil(2), room / 2);
    let mut head = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = char_width(c);
        if used + w > head_room {
            break;
        }
        used += w;
        head.push(c);
    }
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for c in s.chars().rev() {
        let w = char_width(c);
        if used + w > tail_room {
            break;
        }
        used += w;
        tail.push(c);
    }
    head.push('…');
    head.extend(tail.into_iter().rev());
    Cow::Owned(head)
}

/// A long principal name as people say it: an AWS ARN without its partition and account
/// (`arn:aws:sts::111122223333:assumed-role/Admin/dana@corp` reads `Admin/dana@corp`, an IAM
/// user `user/dana`, an Identity Center role `sso:AdministratorAccess/dana@corp`), a
/// Kubernetes service account `sa:namespace/name`. Anything else is returned unchanged.
pub fn shorten_identity(s: &str) -> Cow<'_, str> {
    if let Some(rest) = s.strip_prefix("system:serviceaccount:")
        && let Some((namespace, name)) = rest.split_once(':')
    {
        return Cow::Owned(format!("sa:{namespace}/{name}"));
    }
    let Some(rest) = s.strip_prefix("arn:") else {
        return Cow::Borrowed(s);
    };
    // arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE (the resource may hold colons).
    let mut parts = rest.splitn(5, ':');
    let (Some(_partition), Some(service), Some(_region), Some(_account), Some(resource)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Cow::Borrowed(s);
    };
    if !matches!(service, "iam" | "sts") || resource.is_empty() {
        return Cow::Borrowed(s);
    }
    if let Some(role_session) = resource.strip_prefix("assumed-role/") {
        let (role, session) = role_session.split_once('/').unwrap_or((role_session, ""));
        let role = sso_role(role).map_or_else(|| role.to_string(), |r| format!("sso:{r}"));
        return Cow::Owned(if session.is_empty() {
            role
        } else {
            format!("{role}/{session}")
        });
    }
    if resource == "root" {
        return Cow::Borrowed("root");
    }
    // user/path/name, role/path/name: the kind and the last segment.
    match resource.split_once('/') {
        Some((kind, path)) => {
            let name = path.rsplit('/').next().unwrap_or(path);
            Cow::Owned(format!("{kind}/{name}"))
        }
        None => Cow::Borrowed(resource),
    }
}

/// The permission set of an IAM Identity Center role (`AWSReservedSSO_<set>_<hex id>`).
fn sso_role(role: &str) -> Option<&str> {
    let rest = role.strip_prefix("AWSReservedSSO_")?;
    let (set, id) = rest.rsplit_once('_')?;
    (!set.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit())).then_some(set)
}

/// A count with thousands separators (`1,000,000`).
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats UTC microseconds in a time zone as `YYYY-MM-DD HH:MM:SS` plus the zone's
/// abbreviation when it is not UTC.
pub fn format_time(micros: i64, tz: &jiff::tz::TimeZone) -> String {
    match jiff::Timestamp::from_microsecond(micros) {
        Ok(ts) => {
            let zoned = ts.to_zoned(tz.clone());
            if tz.iana_name() == Some("UTC") {
                zoned.strftime("%Y-%m-%d %H:%M:%S").to_string()
            } else {
                zoned.strftime("%Y-%m-%d %H:%M:%S %Z").to_string()
            }
        }
        Err(_) => format!("<invalid time {micros}>"),
    }
}

/// Formats UTC microseconds as RFC 3339 (`2024-07-31T12:46:41.25Z`), for machine output.
pub fn format_time_utc(micros: i64) -> String {
    match jiff::Timestamp::from_microsecond(micros) {
        Ok(ts) => ts.to_string(),
        Err(_) => format!("<invalid time {micros}>"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_shorten_as_people_say_them() {
        let cases = [
            (
                "arn:aws:sts::111122223333:assumed-role/Admin/dana@corp",
                "Admin/dana@corp",
            ),
            (
                "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_AdministratorAccess_4f2c9a1b7e3d5c60/dana@corp",
                "sso:AdministratorAccess/dana@corp",
            ),
            ("arn:aws:iam::111122223333:user/dana", "user/dana"),
            (
                "arn:aws:iam::111122223333:role/service-role/etl",
                "role/etl",
            ),
            ("arn:aws:iam::111122223333:root", "root"),
            (
                "system:serviceaccount:kube-system:replicaset-controller",
                "sa:kube-system/replicaset-controller",
            ),
            ("arn:aws:s3:::bucket/key", "arn:aws:s3:::bucket/key"),
            ("arn:aws", "arn:aws"),
            ("dana@corp.example", "dana@corp.example"),
        ];
        for (long, short) in cases {
            assert_eq!(shorten_identity(long), short, "{long}");
        }
    }

    #[test]
    fn middle_ellipsis_keeps_both_ends_within_the_width() {
        assert_eq!(middle_ellipsis("abcdefghij", 10), "abcdefghij");
        assert_eq!(middle_ellipsis("abcdefghij", 7), "abc…hij");
        assert_eq!(middle_ellipsis("abcdefghij", 6), "abc…ij");
        assert_eq!(middle_ellipsis("abcdefghij", 1), "…");
        assert_eq!(middle_ellipsis("abcdefghij", 0), "");
        // Wide characters count twice.
        let wide = middle_ellipsis("日本語のテキスト", 7);
        assert!(wide.chars().map(char_width).sum::<usize>() <= 7, "{wide}");
    }

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(
            escape_control("alice@example.com"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(escape_html("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn terminal_escape_sequences_are_neutralized() {
        let evil = "x\u{1b}]0;pwned\u{7}\u{1b}[2J\r\n\u{9b}31m";
        let shown = escape_control(evil);
        assert!(!shown.chars().any(|c| c.is_control()));
        assert_eq!(shown, "x\\e]0;pwned\\u{7}\\e[2J\\r\\n\\u{9b}31m");
    }

    #[test]
    fn bidi_overrides_are_escaped() {
        assert_eq!(escape_control("a\u{202e}b"), "a\\u{202e}b");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<script>alert('x')</script>&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
        );
    }

    #[test]
    fn markdown_markup_is_escaped() {
        assert_eq!(escape_markdown("a|b`c"), "a\\|b\\`c");
        assert_eq!(
            escape_markdown("[x](http://evil) <img> *y*"),
            "\\[x\\]\\(http\\://evil\\) \\<img\\> \\*y\\*"
        );
        assert_eq!(escape_markdown("line\nnext"), "line\\\\nnext");
        assert_eq!(escape_markdown("plain text"), "plain text");
    }

    #[test]
    fn csv_formulas_are_neutralized() {
        assert_eq!(
            guard_csv_cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(guard_csv_cell("+1"), "'+1");
        assert_eq!(guard_csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(guard_csv_cell("alice"), "alice");
    }

    #[test]
    fn csv_cells_keep_line_breaks_and_escape_other_controls_anywhere() {
        let long = "x".repeat(70);
        assert!(matches!(
            escape_control_keep_newlines("a\tb\nc"),
            Cow::Borrowed("a\tb\nc")
        ));
        // A control byte past the first 64 bytes, DEL, and a bidi override.
        assert_eq!(
            escape_control_keep_newlines(&format!("{long}\u{1b}[31m")),
            format!("{long}\\e[31m")
        );
        assert_eq!(escape_control_keep_newlines("a\u{7f}"), "a\\u{7f}");
        assert_eq!(escape_control_keep_newlines("\u{202e}ab"), "\\u{202e}ab");
        assert_eq!(escape_control_keep_newlines("Zürich"), "Zürich");
    }

    #[test]
    fn times_format_in_the_display_zone() {
        let t = 1_722_430_001_000_000; // 2024-07-31T12:46:41Z
        assert_eq!(format_time_utc(t), "2024-07-31T12:46:41Z");
        assert_eq!(
            format_time(t, &jiff::tz::TimeZone::UTC),
            "2024-07-31 12:46:41"
        );
        let chicago = jiff::tz::TimeZone::get("America/Chicago").unwrap();
        assert_eq!(format_time(t, &chicago), "2024-07-31 07:46:41 CDT");
    }

    #[test]
    fn truncation_respects_width() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(truncate("日本語テキスト", 5), "日本…");
    }
}
