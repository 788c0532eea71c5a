//! The lake on other engines, for real: a lake of trailscope's own events is registered in
//! DuckDB and in Apache Spark (local-cluster mode: a master and two executor processes) with
//! the DDL `trailscope lake ddl` prints, and the SQL `query|pivot --emit-sql` prints for
//! filters covering the language must select the same event ids, and count the same pivot
//! cells, as `trailscope query|pivot` on the same events.
//!
//! The engines run from Python (`duckdb`, `pyspark` from PyPI) through
//! `tests/engines/run_sql.py`, once per engine for every statement. `TRAILSCOPE_PYTHON` names
//! the interpreter (CI: a virtual environment with both); when it is set, a missing module
//! or Java is a failure, otherwise the test says it skipped.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::util::{sample_logs, stderr, stdout, trailscope};

/// Filters covering the language: fields and aliases, wildcards and escapes, regexes and
/// their flags, free text, booleans, CIDRs, lists, time terms, and boolean logic.
const FILTERS: [&str; 52] = [
    "actor:*admin*",
    "user:erin@northwind.example",
    "who:ERIN@*",
    "action:Attach*Policy",
    "action:get*",
    "actor_type:non-human",
    "outcome:failure",
    "provider:aws service:iam*",
    "error:*",
    "-error:*",
    "details:*policy*",
    "event_id:*-*-*",
    "resource:*\\**",
    "actor:*Administrator_ccess*",
    "actor:*erin%northwind*",
    "actor:*100%*",
    "actor:*a_b*",
    "actor:*\\\\*",
    "actor:*ädmin*",
    "actor:*esc\u{1b}ape*",
    "\"it's\"",
    "action~\"^(Attach|Put).*Policy$\"",
    "actor~\"(?i)ADMIN\"",
    "actor~\"line\\nbreak\"",
    "actor~\"it's-me$\"",
    "src_ip~\"^10\\.\"",
    "user_agent~\"\\d+\\.\\d+\"",
    "action~\"^Get(Object|Bucket)\"",
    "admin",
    "\"access denied\"",
    "denied OR forbidden",
    "privileged",
    "-read_only",
    "mfa:false",
    "read_only:unknown",
    "ip:10.0.0.0/8",
    "ip:198.51.100.0/22",
    "ip:10.9.8.7",
    "-ip:10.0.0.0/8",
    "ip in (10.0.0.0/8, 192.168.0.0/16, 140.82.112.4)",
    "action in (GetObject, \"ListBuckets\", Put*, CreateUser)",
    "actor in @LIST",
    "after:2024-03-21",
    "before:\"2024-03-21 12:00\"",
    "time:2024-03-21",
    "time:\"2024-03-20 14\"",
    "last:24h",
    "last:5d",
    "not (actor:erin* or provider:gcp) and outcome:success",
    "(provider:aws or provider:gcp) -read_only after:2024-03-20",
    "-(privileged or mfa:true) ip:0.0.0.0/0",
    "region:us-* || country:DE",
];

/// A pivot: `rows`, `cols`, `distinct`, `top`, filter.
type PivotCase = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    usize,
    &'static str,
);

/// Pivots by text and boolean columns, counting events and distinct values.
const PIVOTS: [PivotCase; 7] = [
    ("privileged", Some("provider"), None, 20, ""),
    ("error", None, None, 3, ""),
    ("actor", None, None, 5, ""),
    ("actor", Some("action"), None, 4, "-read_only"),
    ("provider", Some("outcome"), None, 20, ""),
    ("action", None, Some("actor"), 6, "after:2024-03-01"),
    (
        "service",
        Some("provider"),
        Some("src_ip"),
        3,
        "privileged or outcome:failure",
    ),
];

fn python() -> (String, bool) {
    match std::env::var("TRAILSCOPE_PYTHON") {
        Ok(p) if !p.is_empty() => (p, true),
        _ => ("python3".to_string(), false),
    }
}

fn runner() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/engines/run_sql.py")
}

/// Whether `python` can import `module`; a failure when the environment was promised.
fn has_module(module: &str) -> bool {
    let (python, required) = python();
    let ok = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || !required,
        "TRAILSCOPE_PYTHON={python} cannot import {module} (.ci/run installs it)"
    );
    if !ok {
        eprintln!("lake_engines: python3 has no {module} module: this engine check was skipped");
    }
    ok
}

/// The events the test lake holds: the bundled samples and a generated month.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let month = dir.join("month");
    let out = trailscope()
        .args([
            "synth", "month", "--events", "20000", "--seed", "5", "--out",
        ])
        .arg(&month)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let hostile = dir.join("hostile");
    std::fs::create_dir_all(&hostile).unwrap();
    std::fs::write(hostile.join("cloudtrail.json"), hostile_records()).unwrap();
    vec![sample_logs(), month, hostile]
}

/// CloudTrail records whose values test the escapes of the SQL (quotes, backslashes, LIKE
/// wildcards, control characters, non-ASCII case) and the address parsing of CIDRs
/// (IPv4-mapped IPv6, padding, leading zeros, IPv6, text).
fn hostile_records() -> String {
    let users = [
        "it's-me",
        "C:\\Users\\admin",
        "100%-sure",
        "a_b",
        "aXb",
        "ÄDMIN-ops",
        "line\nbreak",
        "esc\u{1b}ape",
        "AdministratorXccess",
    ];
    let ips = [
        "::ffff:10.9.8.7",
        "::FFFF:10.9.8.6",
        " 10.1.2.3 ",
        "010.1.2.3",
        "10.1.2.300",
        "2001:db8::1",
        "10.1.2.3.4",
        "AWS Internal",
        "198.51.103.255",
    ];
    let records: Vec<Value> = users
        .iter()
        .zip(ips)
        .enumerate()
        .map(|(i, (user, ip))| {
            json!({
                "eventVersion": "1.09",
                "userIdentity": {"type": "IAMUser", "arn": format!("arn:aws:iam::111122223333:user/{user}"), "accountId": "111122223333", "userName": user},
                "eventTime": format!("2024-03-22T0{i}:00:00Z"),
                "eventSource": "iam.amazonaws.com",
                "eventName": "CreateAccessKey",
                "awsRegion": "us-east-1",
                "sourceIPAddress": ip,
                "userAgent": "aws-cli/2.15.10",
                "requestParameters": {"userName": user},
                "eventID": format!("hostile-{i}"),
                "readOnly": false,
                "eventType": "AwsApiCall",
            })
        })
        .collect();
    json!({"Records": records}).to_string()
}

/// The lake of `inputs`, as users make it: `trailscope export --lake`.
fn build_lake(inputs: &[PathBuf], lake: &Path) {
    let out = trailscope()
        .arg("export")
        .arg("--lake")
        .arg(lake)
        .args(inputs)
        .output()
        .unwrap();
    assert!(out.status.success(), "exporting the lake: {}", stderr(&out));
}

/// trailscope's own answer: the event ids a filter selects, sorted.
fn trailscope_ids(inputs: &[PathBuf], filter: &str, tz: &str) -> Vec<String> {
    let out = trailscope()
        .arg("query")
        .args(inputs)
        .args([
            "--tz",
            tz,
            "--columns",
            "event_id",
            "--format",
            "ndjson",
            "--filter",
            filter,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{filter}: {}", stderr(&out));
    let mut ids: Vec<String> = stdout(&out)
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            v["event_id"].as_str().unwrap_or("").to_string()
        })
        .collect();
    ids.sort();
    ids
}

/// The SQL trailscope emits (without the final `;`).
fn emit(args: &[&str]) -> String {
    let out = trailscope().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out).trim_end().trim_end_matches(';').to_string()
}

fn ddl(engine: &str, lake: &Path) -> Vec<String> {
    let text = emit(&[
        "lake",
        "ddl",
        "--engine",
        engine,
        "--location",
        lake.to_str().unwrap(),
    ]);
    text.split(";\n")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Runs the DDL and the queries on `engine` in one Python process; results by name.
fn run_engine(
    engine: &str,
    setup: Vec<String>,
    queries: &[(String, String)],
) -> BTreeMap<String, Value> {
    let job = json!({"engine": engine, "setup": setup, "queries": queries});
    let mut child = Command::new(python().0)
        .arg(runner())
        .arg("run")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(job.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{engine} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    value["results"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn rows(result: &Value, name: &str) -> Vec<Vec<Option<String>>> {
    assert!(
        result.get("error").is_none(),
        "{name}: the engine refused the emitted SQL: {}",
        result["error"]
    );
    result["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().map(String::from))
                .collect()
        })
        .collect()
}

/// The cells of `trailscope pivot --format json`, in its order: (row, [col,] count), the
/// empty ones left out.
fn trailscope_pivot(inputs: &[PathBuf], args: &[String]) -> Vec<Vec<Option<String>>> {
    let out = trailscope()
        .arg("pivot")
        .args(inputs)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let pivot: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let columns = pivot.get("columns").and_then(Value::as_array).cloned();
    let mut cells = Vec::new();
    for row in pivot["data"].as_array().unwrap() {
        let key = row["key"].as_str().map(String::from);
        match &columns {
            None => cells.push(vec![key, Some(row["total"].to_string())]),
            Some(columns) => {
                for (column, n) in columns.iter().zip(row["cells"].as_array().unwrap()) {
                    if n.as_u64() != Some(0) {
                        cells.push(vec![
                            key.clone(),
                            column.as_str().map(String::from),
                            Some(n.to_string()),
                        ]);
                    }
                }
            }
        }
    }
    cells
}

fn pivot_args(pivot: &PivotCase) -> Vec<String> {
    let (rows, cols, distinct, top, filter) = pivot;
    let mut args = vec![
        "--tz".into(),
        "UTC".into(),
        "--rows".into(),
        rows.to_string(),
        "--top".into(),
        top.to_string(),
    ];
    if let Some(c) = cols {
        args.extend(["--cols".into(), c.to_string()]);
    }
    if let Some(d) = distinct {
        args.extend(["--distinct".into(), d.to_string()]);
    }
    if !filter.is_empty() {
        args.extend(["--filter".into(), filter.to_string()]);
    }
    args
}

/// Runs every filter and pivot on `engine` and compares with trailscope.
fn engine_agrees_with_trailscope(engine: &str) {
    let dir = tempfile::tempdir().unwrap();
    let inputs = inputs(dir.path());
    let lake = dir.path().join("lake");
    build_lake(&inputs, &lake);
    let list = dir.path().join("actors.txt");
    std::fs::write(
        &list,
        "# on call\nbackup-sync\nERIN@NORTHWIND.EXAMPLE  # case is ignored\n\n*dependabot*\nsystem:kube-scheduler\n",
    )
    .unwrap();
    let list_ref = format!("\"{}\"", list.display());
    let mut cases: Vec<(String, String, String)> = Vec::new(); // (name, filter, tz)
    for filter in FILTERS {
        let filter = filter.replace("@LIST", &format!("@{list_ref}"));
        cases.push((filter.clone(), filter, "UTC".to_string()));
    }
    for filter in ["time:2024-03-21", "before:\"2024-03-21 02:00\""] {
        cases.push((
            format!("{filter} (Berlin)"),
            filter.to_string(),
            "Europe/Berlin".to_string(),
        ));
    }
    let mut queries = Vec::new();
    for (name, filter, tz) in &cases {
        let sql = emit(&[
            "query",
            "--tz",
            tz,
            "--columns",
            "event_id",
            "--filter",
            filter,
            "--emit-sql",
            engine,
        ]);
        queries.push((name.clone(), sql));
    }
    for (i, pivot) in PIVOTS.iter().enumerate() {
        let mut args = vec!["pivot".to_string()];
        args.extend(pivot_args(pivot));
        args.extend(["--emit-sql".into(), engine.into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        queries.push((format!("pivot {i}"), emit(&args)));
    }
    let pruned = "after:2024-04-20 provider:aws";
    if engine == "spark" {
        let sql = emit(&[
            "query",
            "--tz",
            "UTC",
            "--filter",
            pruned,
            "--emit-sql",
            engine,
        ]);
        queries.push(("explain".to_string(), format!("EXPLAIN {sql}")));
    }
    let results = run_engine(engine, ddl(engine, &lake), &queries);
    let mut nonempty = 0;
    for (name, filter, tz) in &cases {
        let ours = trailscope_ids(&inputs, filter, tz);
        let mut theirs: Vec<String> = rows(&results[name], name)
            .into_iter()
            .map(|row| row[0].clone().unwrap_or_default())
            .collect();
        theirs.sort();
        assert_eq!(
            theirs.len(),
            ours.len(),
            "{engine}: `{name}` selects {} events, trailscope {}",
            theirs.len(),
            ours.len()
        );
        assert!(
            theirs == ours,
            "{engine}: `{name}` selects other events than trailscope"
        );
        nonempty += usize::from(!ours.is_empty());
        eprintln!("{engine}: {} events: {name}", ours.len());
    }
    assert!(
        nonempty >= cases.len() * 3 / 4,
        "too few filters select anything ({nonempty} of {}): the comparison proves little",
        cases.len()
    );
    for (i, pivot) in PIVOTS.iter().enumerate() {
        let name = format!("pivot {i}");
        let ours = trailscope_pivot(&inputs, &pivot_args(pivot));
        let theirs = rows(&results[&name], &name);
        assert!(!ours.is_empty(), "{name}: trailscope's pivot is empty");
        assert_eq!(
            theirs, ours,
            "{engine}: {pivot:?} differs from trailscope's pivot"
        );
    }
    if engine == "spark" {
        // The date predicate next to each time term reaches the scan as a partition filter.
        let plan = rows(&results["explain"], "explain")[0][0]
            .clone()
            .unwrap_or_default();
        let partition_filters = plan
            .split("PartitionFilters: [")
            .nth(1)
            .and_then(|rest| rest.split(']').next())
            .unwrap_or_default();
        assert!(
            partition_filters.contains("date") && partition_filters.contains("2024-04-20"),
            "`{pruned}` prunes no date partition in Spark: {plan}"
        );
        let executors = rows(&results["__executors"], "executors");
        // The driver and two executor processes of the local cluster.
        assert_eq!(
            executors[0][0].as_deref(),
            Some("3"),
            "Spark did not run on a cluster"
        );
    }
}

#[test]
fn duckdb_selects_the_events_trailscope_selects() {
    if has_module("duckdb") {
        engine_agrees_with_trailscope("duckdb");
    }
}

#[test]
fn spark_on_a_local_cluster_selects_the_events_trailscope_selects() {
    if !has_module("duckdb") || !has_module("pyspark") {
        return;
    }
    let java = Command::new("java").arg("-version").output();
    assert!(
        java.is_ok_and(|o| o.status.success()),
        "Spark needs Java 17 or newer on PATH (`java -version` failed); install a JDK"
    );
    engine_agrees_with_trailscope("spark");
}

#[test]
fn what_has_no_faithful_translation_is_refused_with_the_reason() {
    for (filter, reason) in [
        ("ip:2001:db8::/32", "IPv6"),
        ("ip in (10.0.0.0/8, 2001:db8::/32)", "IPv6"),
        ("actor~\"\\bjdoe\\b\"", "word boundaries"),
        ("actor~\"(?m)^jdoe$\"", "multi-line anchors"),
        ("time:today", "relative to the newest event"),
    ] {
        for engine in ["duckdb", "spark", "trino", "athena"] {
            let out = trailscope()
                .args(["query", "--filter", filter, "--emit-sql", engine])
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(2),
                "{engine}: {filter} was translated"
            );
            assert!(
                stderr(&out).contains(reason),
                "{engine}: {filter}: {}",
                stderr(&out)
            );
        }
    }
}

#[test]
fn emitted_sql_is_printable_and_holds_the_hostile_value_as_escapes() {
    let filter = "actor:*it's\u{1b}[31m\u{202e}*";
    let duckdb = emit(&["query", "--filter", filter, "--emit-sql", "duckdb"]);
    let spark = emit(&["query", "--filter", filter, "--emit-sql", "spark"]);
    for sql in [&duckdb, &spark] {
        assert!(
            !sql.contains('\u{1b}') && !sql.contains('\u{202e}'),
            "control characters reached the output: {sql:?}"
        );
    }
    assert!(
        duckdb.contains("'%it''s' || chr(27) || '[31m' || chr(8238) || '%'"),
        "{duckdb}"
    );
    assert!(spark.contains("'%it\\'s\\u001B[31m\\u202E%'"), "{spark}");
}

#[test]
fn ddl_registers_partitions_for_every_engine() {
    let athena = emit(&[
        "lake",
        "ddl",
        "--engine",
        "athena",
        "--location",
        "s3://audit/lake/",
    ]);
    assert!(athena.contains("STORED AS PARQUET"), "{athena}");
    assert!(
        athena.contains("'projection.date.format' = 'yyyy-MM-dd'"),
        "{athena}"
    );
    assert!(
        athena.contains(
            "'storage.location.template' = 's3://audit/lake/provider=${provider}/date=${date}/'"
        ),
        "{athena}"
    );
    let trino = emit(&[
        "lake",
        "ddl",
        "--engine",
        "trino",
        "--table",
        "hive.audit.events",
        "--location",
        "s3://audit/lake",
    ]);
    assert!(
        trino.contains("partitioned_by = ARRAY['provider', 'date']"),
        "{trino}"
    );
    assert!(
        trino.contains("CALL \"hive\".system.sync_partition_metadata('audit', 'events', 'FULL')"),
        "{trino}"
    );
    let spark = emit(&[
        "lake",
        "ddl",
        "--engine",
        "spark",
        "--location",
        "/data/lake",
    ]);
    assert!(
        spark.contains("PARTITIONED BY (`provider`, `date`)"),
        "{spark}"
    );
    assert!(spark.contains("MSCK REPAIR TABLE `events`"), "{spark}");
}
