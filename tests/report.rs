//! Issue 17, reports: `trailscope report` in every format. What a reader sees (checked in
//! headless Chromium when it can run), what a script reads back (Polars, the csv crate),
//! that the same inputs give the same report, that log values cannot become markup,
//! formulas or links, and that redaction leaves no original value anywhere.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use polars::prelude::*;
use polars_io::SerReader;
use polars_io::parquet::read::ParquetReader;
use trailscope::analysis::{self, ViewSpec};
use trailscope::config::Config;
use trailscope::output::report::{self, ReportFormat, ReportSpec, rows};
use trailscope::schema::{
    ACTION, ACTOR, DETAILS, EVENT_ID, RAW_LINE, RESOURCE, SRC_IP, TIME, USER_AGENT,
};
use trailscope::store::FrameStore;

use crate::util::{load, run, sample_logs, stderr, trailscope};

const SCRIPT: &str = "<script>document.title='pwned'</script>";
const IMG: &str = "<img src=x onerror=\"document.title='pwned'\">";
const FORMULA: &str = "=HYPERLINK(\"http://evil.example/\",\"click\")";
const MARKDOWN: &str = "a|b`c [link](http://evil.example/) **bold**";

/// One CloudTrail record as a line of NDJSON.
fn cloudtrail(id: &str, time: &str, user: &str, agent: &str, ip: &str, action: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "arn": format!("arn:aws:iam::111122223333:user/{user}"),
            "accountId": "111122223333",
            "userName": user,
        },
        "eventTime": time,
        "eventSource": "iam.amazonaws.com",
        "eventName": action,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "userAgent": agent,
        "requestParameters": {"userName": user, "note": format!("by {user} from {ip}")},
        "eventID": id,
        "eventType": "AwsApiCall",
        "readOnly": false,
    })
    .to_string()
}

/// Events whose actor and user agent carry markup, a formula and Markdown, beside ordinary
/// ones, in a temporary directory.
fn hostile_log() -> (tempfile::TempDir, PathBuf) {
    let mut lines = Vec::new();
    let hostile = [
        (SCRIPT, IMG),
        (FORMULA, "-2+3"),
        (MARKDOWN, "@SUM(A1)"),
        ("alice", "aws-cli/2.15"),
    ];
    for (i, (user, agent)) in hostile.iter().enumerate() {
        for j in 0..3 {
            lines.push(cloudtrail(
                &format!("id-{i}-{j}"),
                &format!("2024-03-04T1{i}:0{j}:00Z"),
                user,
                agent,
                &format!("203.0.113.{}", 10 + i),
                if j == 0 {
                    "CreateUser"
                } else {
                    "AttachUserPolicy"
                },
            ));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.ndjson");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    (dir, path)
}

fn spec(filter: &str) -> ReportSpec {
    ReportSpec {
        title: "Case 17".into(),
        note: "why we looked".into(),
        view: ViewSpec {
            filter: filter.into(),
            columns: [TIME, ACTOR, USER_AGENT, ACTION, SRC_IP, RESOURCE, DETAILS]
                .map(String::from)
                .to_vec(),
            ..ViewSpec::default()
        },
        author: Some("analyst@example".into()),
        ..ReportSpec::default()
    }
}

/// Writes a report of `store` into `dir` and returns its path.
fn write(store: &FrameStore, spec: &ReportSpec, dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let format = ReportFormat::from_path(&path).unwrap();
    report::write(store, &Config::builtin().unwrap(), spec, format, &path).unwrap();
    path
}

/// What `query --format csv` selects for `filter` (every event column and the source),
/// categoricals as text.
fn expected(store: &FrameStore, filter: &str) -> DataFrame {
    let view = ViewSpec {
        filter: filter.into(),
        columns: rows::export_columns()
            .iter()
            .filter(|c| **c != RAW_LINE)
            .map(|c| c.to_string())
            .collect(),
        ..ViewSpec::default()
    };
    let selected = analysis::select(store.frame(), &view.compile(store.frame()).unwrap()).unwrap();
    rows::plain(selected, None).unwrap()
}

/// Headless Chromium's DOM of a page, or None (said on stderr) when it cannot run.
fn rendered_dom(page: &Path) -> Option<String> {
    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    let Some(browser) = browser else {
        eprintln!("BROWSER CHECK SKIPPED: no chromium found (.ci/run installs it)");
        return None;
    };
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--virtual-time-budget=2000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output();
    match output {
        Ok(o) if o.status.success() && !o.stdout.is_empty() => {
            Some(String::from_utf8_lossy(&o.stdout).into_owned())
        }
        Ok(o) => {
            eprintln!(
                "BROWSER CHECK SKIPPED: {browser} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Err(e) => {
            eprintln!("BROWSER CHECK SKIPPED: {browser} did not start: {e}");
            None
        }
    }
}

/// Checks what a browser rendered of an HTML report: title, scope, chart, events table,
/// and no element or script from a log value.
#[track_caller]
fn assert_renders(page: &Path, title: &str) {
    let Some(dom) = rendered_dom(page) else {
        return;
    };
    assert!(
        dom.contains(&format!("<title>{title}</title>")),
        "the page title is the report's, not changed by a script:\n{}",
        &dom[..dom.len().min(600)]
    );
    assert!(dom.contains(r#"<h1 id="title">"#), "title heading");
    assert!(
        dom.contains(r#"<section id="scope">"#) && dom.contains("SHA-256"),
        "scope"
    );
    assert!(
        dom.contains("<svg") && dom.contains("<rect"),
        "timeline chart"
    );
    assert!(dom.contains(r#"<table class="events">"#), "events table");
    assert!(!dom.contains("pwned</title>"), "no script ran");
    assert!(!dom.contains("<script"), "no script element in the DOM");
    assert!(!dom.contains("<img"), "no image element in the DOM");
}

#[test]
fn html_report_of_the_sample_holds_every_section_and_renders() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("sample.html");
    let sample = sample_logs();
    let out = run(&[
        "report",
        sample.to_str().unwrap(),
        "--filter",
        "privileged",
        "--title",
        "Privileged activity",
        "--note",
        "Quarterly access review",
        "--out",
        page.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("matching events"), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    for part in [
        "<title>Privileged activity</title>",
        "Quarterly access review",
        "Content-Security-Policy",
        "default-src 'none'",
        r#"<section id="scope">"#,
        r#"<section id="view">"#,
        "trailscope report --filter privileged",
        "trailscope query --filter privileged",
        r#"<section id="timeline">"#,
        r#"<table class="top" id="top-actor">"#,
        r#"<section id="findings">"#,
        "<th>event_id</th>",
    ] {
        assert!(html.contains(part), "missing {part}");
    }
    assert!(!html.contains("<script"), "no script at all");
    assert!(
        !html.contains("http://") || !html.contains("src=\"http"),
        "nothing external"
    );
    // Every input with its SHA-256, as sha256sum prints it.
    let store = load(&[&sample]);
    for input in store.inputs() {
        let (size, hash) = report::scope::hash_input(&input.name);
        assert!(html.contains(&hash.unwrap()), "hash of {}", input.name);
        assert!(size.unwrap() > 0);
    }
    if let Ok(o) = Command::new("sha256sum")
        .arg(&store.inputs()[0].name)
        .output()
    {
        let printed = String::from_utf8_lossy(&o.stdout);
        let hash = printed.split_whitespace().next().unwrap();
        assert!(html.contains(hash), "sha256sum's hash is in the report");
    }
    // The count the report states is the query's.
    let matching = expected(&store, "privileged").height();
    assert!(matching > 0);
    assert!(html.contains(&format!(
        "{}<span>matching events</span>",
        report::html::group(matching as u64)
    )));
    assert_renders(&page, "Privileged activity");
}

#[test]
fn injected_markup_stays_text_in_html_and_markdown() {
    let (dir, log) = hostile_log();
    let store = load(&[&log]);
    let page = write(&store, &spec(""), dir.path(), "hostile.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror="));
    assert!(!html.contains("<script") && !html.contains("<img"));
    assert_renders(&page, "Case 17");

    let md = std::fs::read_to_string(write(&store, &spec(""), dir.path(), "hostile.md")).unwrap();
    let unescaped = md.replace("\\<", "");
    assert!(md.contains("\\<script\\>"), "the value is there, escaped");
    assert!(
        !unescaped.contains("<script") && !unescaped.contains("<img"),
        "no raw tags"
    );
    assert!(!md.contains("](http"), "no link syntax survives");
    assert!(!md.contains("**bold**"), "no emphasis survives");
    // Every event row has exactly as many cells as the header: `|` in a value is escaped.
    let table: Vec<&str> = md
        .lines()
        .skip_while(|l| !l.starts_with("## Events"))
        .take_while(|l| !l.starts_with("## Scope"))
        .filter(|l| l.starts_with('|'))
        .collect();
    let cells = |line: &str| line.replace("\\|", "").matches('|').count();
    assert!(table.len() > 2);
    for line in &table {
        assert_eq!(cells(line), cells(table[0]), "{line}");
    }
    assert!(md.contains("a\\|b\\`c"), "pipe and backtick escaped");
}

#[test]
fn csv_cells_that_would_be_formulas_are_neutralized() {
    let (dir, log) = hostile_log();
    let store = load(&[&log]);
    let csv = write(&store, &spec(""), dir.path(), "hostile.csv");
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let headers = reader.headers().unwrap().clone();
    let agent = headers.iter().position(|h| h == USER_AGENT).unwrap();
    let mut agents = BTreeSet::new();
    for record in reader.records() {
        let record = record.unwrap();
        for cell in record.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula cell {cell:?}"
            );
        }
        agents.insert(record[agent].to_string());
    }
    assert!(
        agents.contains("'-2+3") && agents.contains("'@SUM(A1)"),
        "{agents:?}"
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(text.contains("'=HYPERLINK"));
}

#[test]
fn parquet_json_and_csv_read_back_to_the_query_result() {
    let sample = sample_logs();
    let store = load(&[&sample]);
    let dir = tempfile::tempdir().unwrap();
    let filter = "-outcome:success";
    let want = expected(&store, filter);
    assert!(want.height() > 10);

    let parquet = write(&store, &spec(filter), dir.path(), "events.parquet");
    let got = ParquetReader::new(std::fs::File::open(&parquet).unwrap())
        .finish()
        .unwrap();
    let names: Vec<&str> = rows::export_columns();
    assert_eq!(
        got.get_column_names()
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>(),
        names
    );
    let lines = got.column(RAW_LINE).unwrap();
    assert_eq!(
        lines.null_count(),
        0,
        "every event says which line it came from"
    );
    let got = got.drop(RAW_LINE).unwrap();
    assert!(got.equals_missing(&want), "Parquet:\n{got}\nwant:\n{want}");

    let json = write(&store, &spec(filter), dir.path(), "events.json");
    let values: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let ndjson = write(&store, &spec(filter), dir.path(), "events.ndjson");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&ndjson)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(values, lines, "JSON and NDJSON carry the same objects");
    // Every JSON value is the query's value (times RFC 3339 UTC).
    for column in want.columns() {
        let cells = trailscope::output::column_cells(column).unwrap();
        for (i, cell) in cells.iter().enumerate() {
            assert_eq!(
                values[i][column.name().as_str()],
                cell.json(),
                "row {i} {}",
                column.name()
            );
        }
    }
    assert_eq!(values.len(), want.height());
    let csv = write(&store, &spec(filter), dir.path(), "events.csv");
    let mut reader = csv::Reader::from_path(&csv).unwrap();
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(headers, names);
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), want.height());
    for (i, (record, object)) in records.iter().zip(&values).enumerate() {
        for (column, cell) in headers.iter().zip(record.iter()) {
            let value = &object[column];
            let text = match value {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            // The CSV guard adds a quote before formula-like cells; nothing else differs.
            let shown = trailscope::text::guard_csv_cell(&text);
            assert_eq!(cell, shown, "row {i} column {column}");
        }
        let id = want.column(EVENT_ID).unwrap().get(i).unwrap();
        assert_eq!(
            object[EVENT_ID].as_str(),
            id.get_str(),
            "row {i} is the query's row"
        );
        let time = want.column(TIME).unwrap().get(i).unwrap();
        if let AnyValue::Datetime(us, _, _) = time {
            assert_eq!(
                object[TIME].as_str().unwrap(),
                trailscope::text::format_time_utc(us),
                "RFC 3339 times"
            );
        }
    }
}

/// A report's text without the line that says when it was generated, and how many lines
/// were left out.
fn without_generation_time(text: &str) -> (String, usize) {
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("generated-at") && !l.starts_with("Generated "))
        .collect();
    (kept.join("\n"), text.lines().count() - kept.len())
}

#[test]
fn the_same_inputs_give_the_same_report_in_every_format() {
    let sample = sample_logs();
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec("");
    spec.view.sort = Some(analysis::SortKey::parse("actor").unwrap());
    for name in ["r.html", "r.md", "r.csv", "r.json", "r.ndjson", "r.parquet"] {
        // Each from a fresh load, as two runs of the command would be.
        let first = std::fs::read(write(&load(&[&sample]), &spec, dir.path(), name)).unwrap();
        let second = std::fs::read(write(&load(&[&sample]), &spec, dir.path(), name)).unwrap();
        assert!(first.len() > 200, "{name} is not empty");
        if name.ends_with(".html") || name.ends_with(".md") {
            let a = without_generation_time(&String::from_utf8_lossy(&first));
            let b = without_generation_time(&String::from_utf8_lossy(&second));
            assert!(a == b, "{name} differs between runs");
            assert_eq!(a.1, 1, "only the generation line was left out of {name}");
        } else {
            assert!(first == second, "{name} differs between runs");
        }
    }
}

#[test]
fn redaction_leaves_no_original_value_in_any_format() {
    let (dir, log) = hostile_log();
    let store = load(&[&log]);
    let key = dir.path().join("keys/redact.key");
    let mut spec = spec("");
    spec.redact = vec!["actor".into(), "ip".into(), "user_agent".into()];
    spec.redact_key = Some(key.clone());
    // The filter names a redacted value: the command line shown must not.
    spec.view.filter = "203.0.113.13 or action:CreateUser".into();
    let originals: BTreeSet<String> = [ACTOR, SRC_IP, USER_AGENT]
        .iter()
        .flat_map(|c| {
            let column = store
                .frame()
                .column(c)
                .unwrap()
                .cast(&DataType::String)
                .unwrap();
            column
                .str()
                .unwrap()
                .iter()
                .flatten()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|v| v.len() >= 3)
        .collect();
    assert!(originals.contains("203.0.113.13"));
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    for name in ["r.html", "r.md", "r.csv", "r.json", "r.ndjson"] {
        let text = std::fs::read_to_string(write(&store, &spec, &out, name)).unwrap();
        for value in &originals {
            for shown in [
                value.clone(),
                trailscope::text::escape_html(value).into_owned(),
                trailscope::text::escape_markdown(value).into_owned(),
                serde_json::to_string(value)
                    .unwrap()
                    .trim_matches('"')
                    .to_string(),
            ] {
                assert!(!text.contains(&shown), "{name} holds {shown:?}");
            }
        }
        assert!(
            text.contains("actor-") || text.contains("actor\\-"),
            "{name} holds pseudonyms"
        );
        if name.ends_with(".html") || name.ends_with(".md") {
            assert!(text.contains("Redacted"), "{name} says it was redacted");
        }
    }
    let parquet = write(&store, &spec, &out, "r.parquet");
    let frame = ParquetReader::new(std::fs::File::open(parquet).unwrap())
        .finish()
        .unwrap();
    for column in frame.columns() {
        if let Ok(values) = column.str() {
            for v in values.iter().flatten() {
                for original in &originals {
                    assert!(!v.contains(original.as_str()), "Parquet holds {original:?}");
                }
            }
        }
    }
    // The key is secret, and pseudonyms are stable across reports made with it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let a = std::fs::read_to_string(write(&store, &spec, &out, "a.csv")).unwrap();
    let b = std::fs::read_to_string(write(&store, &spec, &out, "b.csv")).unwrap();
    assert_eq!(a, b);
    std::fs::remove_file(&key).unwrap();
    let c = std::fs::read_to_string(write(&store, &spec, &out, "c.csv")).unwrap();
    assert_ne!(a, c, "a new key gives new pseudonyms");
    let page = write(&store, &spec, &out, "redacted.html");
    assert_renders(&page, "Case 17");
}

#[test]
fn a_large_result_is_capped_in_html_with_the_full_count() {
    let sample = sample_logs();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("capped.html");
    let md = dir.path().join("capped.md");
    for path in [&page, &md] {
        let out = trailscope()
            .arg("report")
            .arg(&sample)
            .args(["--max-rows", "5", "--out"])
            .arg(path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let store = load(&[&sample]);
    let total = report::html::group(store.frame().height() as u64);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains(&format!("The first 5 of {total} matching events")));
    let events = html.split(r#"<table class="events">"#).nth(1).unwrap();
    let events = events.split("</table>").next().unwrap();
    assert_eq!(
        events.matches("<tr>").count(),
        1 + 5,
        "header and five rows"
    );
    let text = std::fs::read_to_string(&md).unwrap();
    assert!(text.contains(&format!("The first 5 of {total} matching events")));
    assert_renders(&page, "trailscope report");
}

#[test]
fn a_bad_format_or_field_is_refused_before_loading() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&[
        "report",
        "--out",
        dir.path().join("x.txt").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot tell the format"),
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "report",
        "--redact",
        "password",
        "--out",
        dir.path().join("x.csv").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown field to redact"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("x.csv").exists());
}

#[test]
fn duckdb_reads_the_parquet_report() {
    let has_duckdb = Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_duckdb {
        eprintln!(
            "DUCKDB CHECK SKIPPED: python3 with the duckdb module not found (pip install duckdb)"
        );
        return;
    }
    let sample = sample_logs();
    let store = load(&[&sample]);
    let dir = tempfile::tempdir().unwrap();
    let filter = "privileged or outcome:failure";
    let want = expected(&store, filter);
    let parquet = write(&store, &spec(filter), dir.path(), "events.parquet");
    let script = format!(
        "import duckdb\n\
         rows = duckdb.sql(\"SELECT count(*), count(DISTINCT actor), \
         epoch_us(min(time)), epoch_us(max(time)), count(event_id) FROM '{0}'\").fetchall()[0]\n\
         kinds = dict((r[0], r[1]) for r in duckdb.sql(\"DESCRIBE SELECT * FROM '{0}'\").fetchall())\n\
         print(*rows, kinds['time'], kinds['actor'], kinds['privileged'])",
        parquet.display()
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let times = want
        .column(TIME)
        .unwrap()
        .as_materialized_series()
        .to_physical_repr();
    let times = times.i64().unwrap();
    let actors = want.column(ACTOR).unwrap().n_unique().unwrap()
        - usize::from(want.column(ACTOR).unwrap().null_count() > 0);
    let ids = want.height() - want.column(EVENT_ID).unwrap().null_count();
    assert_eq!(
        printed,
        format!(
            "{} {actors} {} {} {ids} TIMESTAMP WITH TIME ZONE VARCHAR BOOLEAN",
            want.height(),
            times.min().unwrap(),
            times.max().unwrap()
        )
    );
}

#[test]
fn coverage_gaps_are_the_silences_the_rule_judges_not_nights() {
    // A month of multi-provider activity: people-driven streams are silent every night and
    // weekend; the Kubernetes audit log is cut for six hours one Saturday.
    let dir = tempfile::tempdir().unwrap();
    trailscope::synth::write(trailscope::synth::Kind::Month, dir.path(), 100_000, 7).unwrap();
    let store = load(&[dir.path()]);
    let out = tempfile::tempdir().unwrap();
    let md = std::fs::read_to_string(write(&store, &spec(""), out.path(), "month.md")).unwrap();
    let scope = md.split("### Coverage").nth(1).unwrap();
    assert!(scope.contains("1 found:"), "{scope}");
    let gaps: Vec<&str> = scope.lines().filter(|l| l.starts_with("- ")).collect();
    assert_eq!(gaps.len(), 1, "{gaps:#?}");
    assert!(
        gaps[0].starts_with("- kubernetes/audit was silent for 6 h"),
        "{}",
        gaps[0]
    );
    // The streams whose nights are silent were judged, and none of their nights is a gap.
    let okta = scope.lines().find(|l| l.starts_with("| okta/")).unwrap();
    assert!(okta.ends_with("| yes |"), "{okta}");
    let html = std::fs::read_to_string(write(&store, &spec(""), out.path(), "month.html")).unwrap();
    assert!(html.contains("kubernetes/audit was silent for 6 h"));
    assert_renders(&out.path().join("month.html"), "Case 17");
}

/// A report of a saved view carries the view's title, note and filter, counts what
/// `query --view` selects, and lets a flag given on the command line override the view.
#[test]
fn a_saved_view_becomes_a_report_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    let views = dir.path().join("views.toml");
    std::fs::write(
        &views,
        "[view.admin-writes]\ntitle = \"Admin writes\"\nnote = \"For ticket SEC-42\"\n\
         filter = 'privileged -read_only:true'\n",
    )
    .unwrap();
    let sample = sample_logs();
    let (sample, views_arg) = (sample.to_str().unwrap(), views.to_str().unwrap());
    let count = |extra: &[&str]| {
        let mut args = vec![
            "query",
            sample,
            "--views",
            views_arg,
            "--view",
            "admin-writes",
        ];
        args.extend_from_slice(extra);
        args.extend(["--format", "ndjson"]);
        let out = run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        crate::util::stdout(&out).lines().count()
    };
    let page = dir.path().join("view.html");
    let out = run(&[
        "report",
        sample,
        "--views",
        views_arg,
        "--view",
        "admin-writes",
        "--out",
        page.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<title>Admin writes</title>"));
    assert!(html.contains("For ticket SEC-42"));
    assert!(html.contains("privileged -read_only:true"));
    let matching = count(&[]);
    assert!(matching > 0);
    assert!(
        stderr(&out).contains(&format!("of {matching} matching events")),
        "{}",
        stderr(&out)
    );
    // --filter and --title given on the command line win over the view's.
    let page = dir.path().join("override.csv");
    let out = run(&[
        "report",
        sample,
        "--views",
        views_arg,
        "--view",
        "admin-writes",
        "--filter",
        "provider:okta",
        "--out",
        page.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let okta = count(&["--filter", "provider:okta"]);
    let rows = csv::Reader::from_path(&page).unwrap().records().count();
    assert_eq!(rows, okta);
    assert_ne!(okta, matching);
    // An unknown view is an error that names it, before anything is written.
    let out = run(&[
        "report",
        sample,
        "--views",
        views_arg,
        "--view",
        "nope",
        "--out",
        dir.path().join("nope.html").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("nope"), "{}", stderr(&out));
    assert!(!dir.path().join("nope.html").exists());
}

/// The events of `query --view NAME`, as (provider, event id) rows in the view's order.
fn view_rows(sample: &str, view: &str) -> Vec<(String, String)> {
    let out = run(&[
        "query",
        sample,
        "--view",
        view,
        "--columns",
        "provider,event_id",
        "--format",
        "csv",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = crate::util::stdout(&out);
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].to_string())
        })
        .collect()
}

/// The part of a page from one view's section to the next section (or the scope).
fn section<'a>(html: &'a str, anchor: &str) -> &'a str {
    let start = html
        .find(&format!(r#"<section id="{anchor}" class="report-view">"#))
        .unwrap_or_else(|| panic!("no section {anchor}"));
    let rest = &html[start..];
    let body = rest.find('>').unwrap() + 1;
    let end = rest[body..]
        .find(r#"class="report-view">"#)
        .map(|e| e + body)
        .or_else(|| rest.find(r#"<section id="scope">"#))
        .unwrap();
    &rest[..end]
}

/// Issue 17: `report --view A --view B --view C` is one HTML page with a table of contents,
/// a section per view in the order given (each counting what `query --view` selects,
/// narrowed by `--filter`, which each section says), and one scope; Chromium renders every
/// section's title and events table.
#[test]
fn several_views_make_one_page_with_a_section_each() {
    let sample = sample_logs();
    let sample = sample.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("pack.html");
    let views = ["failed-signins", "credential-creation", "deletions"];
    let mut args = vec![
        "report",
        sample,
        "--filter",
        "provider:aws or provider:entra",
    ];
    for v in views {
        args.extend(["--view", v]);
    }
    args.extend(["--title", "Weekly pack", "--out", page.to_str().unwrap()]);
    let out = run(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("3 views"), "{}", stderr(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(
        html.matches(r#"<section id="scope">"#).count(),
        1,
        "one scope"
    );
    assert_eq!(html.matches("<h1").count(), 1, "one masthead");
    // The contents link every section, in the order given, and the sections follow it.
    let nav = html.split(r#"<nav id="contents">"#).nth(1).unwrap();
    let nav = nav.split("</nav>").next().unwrap();
    let mut positions = Vec::new();
    for v in views {
        assert!(
            nav.contains(&format!(r##"href="#view-{v}""##)),
            "contents link {v}"
        );
        positions.push(html.find(&format!(r#"<section id="view-{v}""#)).unwrap());
    }
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "the order given");
    assert!(
        nav.contains("trailscope report --view failed-signins --view credential-creation --view deletions --filter"),
        "the command line that makes the whole report again:\n{nav}"
    );
    for v in views {
        let part = section(&html, &format!("view-{v}"));
        let wanted = view_rows(sample, v)
            .into_iter()
            .filter(|(p, _)| p == "aws" || p == "entra")
            .count();
        let all = view_rows(sample, v).len();
        assert!(
            wanted > 0 && wanted < all,
            "{v}: the filter narrows a view that matches"
        );
        assert!(
            part.contains(&format!("{}<span>matching events</span>", wanted)),
            "{v} counts {wanted}"
        );
        assert!(part.contains(&format!(r#"<h2 id="view-{v}-title">"#)));
        assert!(
            part.contains(r#"<table class="events">"#),
            "{v} events table"
        );
        assert!(part.contains(&format!(r#"<section id="view-{v}-timeline">"#)));
        assert!(part.contains(&format!(r#"<section id="view-{v}-findings">"#)));
        assert!(
            part.contains("<tr><th>Every view</th><td><code>--filter &#39;provider:aws or provider:entra&#39;</code>"),
            "{v} says what the command line applied to every view"
        );
        assert!(part.contains(&format!("trailscope report --view {v} --filter")));
    }
    let Some(dom) = rendered_dom(&page) else {
        return;
    };
    assert!(dom.contains("<title>Weekly pack</title>"));
    for v in views {
        assert!(dom.contains(&format!(r#"<section id="view-{v}" class="report-view">"#)));
        assert!(dom.contains(&format!(r#"id="view-{v}-events""#)));
    }
    assert_eq!(dom.matches(r#"<table class="events">"#).count(), 3);
    assert!(dom.contains(r#"<section id="scope">"#) && dom.contains("SHA-256"));
}

/// A views file of two views over the hostile log: titles and values with markup.
fn hostile_views(dir: &Path) -> PathBuf {
    let views = dir.join("views.toml");
    std::fs::write(
        &views,
        format!(
            "[view.creates]\ntitle = {:?}\nnote = \"who was created\"\nfilter = 'action:CreateUser'\n\n\
             [view.attaches]\ntitle = \"Policies attached\"\nfilter = 'action:AttachUserPolicy'\n",
            format!("Users created {IMG}")
        ),
    )
    .unwrap();
    views
}

#[test]
fn markup_stays_text_in_every_section_and_redaction_is_one_across_them() {
    let (dir, log) = hostile_log();
    let views = hostile_views(dir.path());
    let key = dir.path().join("redact.key");
    let report = |name: &str, redact: bool| {
        let path = dir.path().join(name);
        let mut args = vec![
            "report",
            log.to_str().unwrap(),
            "--views",
            views.to_str().unwrap(),
            "--view",
            "creates",
            "--view",
            "attaches",
            "--title",
            "Case 17",
            "--out",
            path.to_str().unwrap(),
        ];
        if redact {
            args.extend([
                "--redact",
                "actor,ip,user_agent",
                "--redact-key-file",
                key.to_str().unwrap(),
            ]);
        }
        let out = run(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        path
    };
    let page = report("pack.html", false);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<script") && !html.contains("<img"));
    assert!(html.contains("Users created &lt;img src=x onerror="));
    assert!(
        html.contains("&lt;script&gt;document.title"),
        "log values, escaped"
    );
    assert_renders(&page, "Case 17");
    if let Some(dom) = rendered_dom(&page) {
        assert!(dom.contains(r#"<section id="view-creates" class="report-view">"#));
        assert!(dom.contains(r#"<section id="view-attaches" class="report-view">"#));
        assert_eq!(dom.matches(r#"<table class="events">"#).count(), 2);
    }
    // The row formats: one file per view, cells that would be formulas neutralized.
    report("pack.csv", false);
    for view in ["creates", "attaches"] {
        let file = dir.path().join(format!("pack-{view}.csv"));
        let mut reader = csv::Reader::from_path(&file).unwrap();
        let mut rows = 0;
        for record in reader.records() {
            rows += 1;
            for cell in record.unwrap().iter() {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{view}: formula cell {cell:?}"
                );
            }
        }
        assert_eq!(rows, if view == "creates" { 4 } else { 8 }, "{view}");
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("'@SUM(A1)"), "{view}");
    }
    let md = std::fs::read_to_string(report("pack.md", false)).unwrap();
    assert!(
        !md.replace("\\<", "").contains("<img"),
        "no raw tags in Markdown"
    );
    assert!(md.contains("## 1\\. Users created"));
    assert!(md.contains("## 2\\. Policies attached"));
    assert!(md.contains("### Events"));

    // Redacted: no original value anywhere, and the same actor has the same pseudonym in
    // both sections.
    let store = load(&[&log]);
    let originals: BTreeSet<String> = [ACTOR, SRC_IP, USER_AGENT]
        .iter()
        .flat_map(|c| {
            let column = store.frame().column(c).unwrap();
            let column = column.cast(&DataType::String).unwrap();
            let values: Vec<String> = column
                .str()
                .unwrap()
                .iter()
                .flatten()
                .map(String::from)
                .collect();
            values
        })
        .filter(|v| v.len() >= 3)
        .collect();
    let alice_arn = "arn:aws:iam::111122223333:user/alice";
    assert!(originals.contains(alice_arn) && originals.contains("203.0.113.13"));
    for name in ["red.html", "red.md"] {
        let text = std::fs::read_to_string(report(name, true)).unwrap();
        for value in &originals {
            for shown in [
                value.clone(),
                trailscope::text::escape_html(value).into_owned(),
                trailscope::text::escape_markdown(value).into_owned(),
            ] {
                assert!(!text.contains(&shown), "{name} holds {shown:?}");
            }
        }
        let r = report::Redactor::new(vec![ACTOR], std::fs::read(&key).unwrap(), []).unwrap();
        let mut alice = r.pseudonym(ACTOR, alice_arn);
        if name.ends_with(".md") {
            alice = trailscope::text::escape_markdown(&alice).into_owned();
        }
        // The second section's heading is the title's last mention (the first: contents).
        let (creates, attaches) = text.split_at(text.rfind("Policies attached").unwrap());
        assert!(
            creates.contains(&alice),
            "{name}: alice's pseudonym in the first"
        );
        assert!(attaches.contains(&alice), "{name}: the same in the second");
    }
}

/// The row formats write one file per view beside `--out`, each the file a report of that
/// view alone writes (narrowed by `--filter`), and name them.
#[test]
fn several_views_in_a_row_format_are_one_file_each() {
    let sample = sample_logs();
    let sample = sample.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for ext in ["csv", "json"] {
        let out_path = dir.path().join(format!("pack.{ext}"));
        let out = run(&[
            "report",
            sample,
            "--view",
            "deletions",
            "--view",
            "failed-signins",
            "--filter",
            "provider:aws or provider:entra",
            "--out",
            out_path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(!out_path.exists(), "no file of the name itself");
        for view in ["deletions", "failed-signins"] {
            let file = dir.path().join(format!("pack-{view}.{ext}"));
            assert!(
                stderr(&out).contains(&format!("wrote {}", file.display())),
                "{}",
                stderr(&out)
            );
            let wanted: Vec<String> = view_rows(sample, view)
                .into_iter()
                .filter(|(p, _)| p == "aws" || p == "entra")
                .map(|(_, id)| id)
                .collect();
            let ids: Vec<String> = if ext == "csv" {
                let mut reader = csv::Reader::from_path(&file).unwrap();
                let at = reader
                    .headers()
                    .unwrap()
                    .iter()
                    .position(|h| h == EVENT_ID)
                    .unwrap();
                reader
                    .records()
                    .map(|r| r.unwrap()[at].to_string())
                    .collect()
            } else {
                let doc: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
                doc.as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o[EVENT_ID].as_str().unwrap().to_string())
                    .collect()
            };
            assert!(!wanted.is_empty());
            assert_eq!(ids, wanted, "{view}.{ext}: the view's events, narrowed");
        }
    }
    // A view named twice is refused before anything is written.
    let out = run(&[
        "report",
        sample,
        "--view",
        "deletions",
        "--view",
        "deletions",
        "--out",
        dir.path().join("twice.html").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("given twice"), "{}", stderr(&out));
    assert!(!dir.path().join("twice.html").exists());
}

#[test]
fn the_same_views_give_the_same_report_twice() {
    let sample = sample_logs();
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.html", "a.md"] {
        let texts: Vec<String> = (0..2)
            .map(|i| {
                let path = dir.path().join(format!("{i}{name}"));
                let out = run(&[
                    "report",
                    sample.to_str().unwrap(),
                    "--view",
                    "deletions",
                    "--view",
                    "privileged-changes",
                    "--out",
                    path.to_str().unwrap(),
                ]);
                assert!(out.status.success(), "{}", stderr(&out));
                // The command line names the file: the same name for both.
                std::fs::read_to_string(&path)
                    .unwrap()
                    .replace(&format!("{i}{name}"), name)
            })
            .collect();
        let a = without_generation_time(&texts[0]);
        let b = without_generation_time(&texts[1]);
        assert!(a == b, "{name} differs between runs");
        assert_eq!(a.1, 1, "only the generation line was left out of {name}");
    }
}

/// Loads `paths` with each file's SHA-256 computed while it is read, as `report` does.
fn load_hashing(paths: &[&Path]) -> FrameStore {
    use trailscope::load::{classify::Classifier, pipeline::LoadOptions, source};
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let mut options = LoadOptions::new(std::sync::Arc::new(Classifier::builtin().unwrap()));
    options.hash_inputs = true;
    FrameStore::load(source::expand(&names).inputs, options).unwrap()
}

/// Issue 17's speed target: the SHA-256 a report states is computed while loading reads
/// the bytes (plain and gzip files alike: the file's bytes, as `sha256sum` reads them), not
/// by reading the inputs again; a file changed after loading is hashed again, and the report
/// says so.
#[test]
fn the_load_hashes_the_inputs_it_reads_and_a_changed_file_is_hashed_again() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("events.ndjson");
    let lines: Vec<String> = (0..50)
        .map(|i| {
            cloudtrail(
                &format!("id-{i}"),
                &format!("2024-03-04T10:{:02}:00Z", i % 60),
                "alice",
                "aws-cli/2.15",
                "203.0.113.9",
                "CreateUser",
            )
        })
        .collect();
    std::fs::write(&plain, lines.join("\n") + "\n").unwrap();
    let gz = dir.path().join("more.ndjson.gz");
    let mut encoder =
        flate2::write::GzEncoder::new(std::fs::File::create(&gz).unwrap(), Default::default());
    std::io::Write::write_all(&mut encoder, lines[..10].join("\n").as_bytes()).unwrap();
    encoder.finish().unwrap();

    let store = load_hashing(&[&plain, &gz]);
    assert_eq!(store.inputs().len(), 2);
    for input in store.inputs() {
        let digest = store
            .origin(&input.name)
            .and_then(|o| o.digest())
            .unwrap_or_else(|| panic!("{} was hashed while loading", input.name));
        let (size, hash) = report::scope::hash_input(&input.name);
        assert_eq!(Some(digest.size), size, "{}", input.name);
        assert_eq!(
            Some(report::scope::hex(&digest.sha256)),
            hash,
            "{}: the load's SHA-256 is the file's",
            input.name
        );
    }
    // Every input of the bundled sample (NDJSON, JSON documents, CSV, gzip) is read to its
    // end by the load, so none is read again for its hash.
    let sample = load_hashing(&[&sample_logs()]);
    for input in sample.inputs() {
        let digest = sample.origin(&input.name).and_then(|o| o.digest());
        assert!(digest.is_some(), "{} hashed while loading", input.name);
    }
    // Without being asked, the load hashes nothing.
    let unhashed = load(&[&plain]);
    assert!(
        unhashed
            .origin(&unhashed.inputs()[0].name)
            .unwrap()
            .digest()
            .is_none()
    );

    let page = write(&store, &spec(""), dir.path(), "r.html");
    let html = std::fs::read_to_string(&page).unwrap();
    let (_, before) = report::scope::hash_input(&plain.display().to_string());
    assert!(html.contains(&before.clone().unwrap()));
    assert!(!html.contains("changed since it was loaded"));

    // The file changes after loading: the report states its hash now, and says so.
    std::fs::write(&plain, lines[..20].join("\n") + "\n").unwrap();
    let (_, after) = report::scope::hash_input(&plain.display().to_string());
    assert_ne!(before, after);
    let html = std::fs::read_to_string(write(&store, &spec(""), dir.path(), "r2.html")).unwrap();
    assert!(html.contains(&after.unwrap()), "the file's hash now");
    assert!(!html.contains(&before.unwrap()), "not the loaded one");
    assert_eq!(html.matches("changed since it was loaded").count(), 1);
    let md = std::fs::read_to_string(write(&store, &spec(""), dir.path(), "r2.md")).unwrap();
    assert!(md.contains("changed since it was loaded"));
}
