//! `session` is a categorical (issue 21's memory target: a credential session spans many calls
//! of one actor, so a dictionary holds it in 4 bytes a row instead of a string per row). What a
//! user sees is what a string column gave: filters (values, wildcards, case, regexes, lists),
//! sorting and pivots over the real public exports give the rows a plain string comparison
//! picks, and a lake keeps the sessions as plain text that reads back the same.

use std::collections::BTreeMap;
use std::path::PathBuf;

use polars::prelude::*;
use polars_io::parquet::read::ParquetReader;
use trailscope::schema::{EVENT_ID, SESSION};

use crate::util::{Row, load, rows, run, stderr, stdout};

fn real_samples() -> PathBuf {
    PathBuf::from(std::env::var_os("TRAILSCOPE_REAL_SAMPLES").unwrap())
}

/// (event id, session) of a row; rows are compared as sorted lists (multisets).
type Key = (String, String);

fn key(row: &Row) -> Key {
    (row[EVENT_ID].clone(), row[SESSION].clone())
}

/// The rows `trailscope query ARGS` prints, as keys.
fn query(args: &[&str]) -> Vec<Key> {
    let mut command = vec!["query"];
    command.extend(args);
    command.extend(["--columns", "event_id,session", "--format", "csv"]);
    let out = run(&command);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    let text = stdout(&out);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let field = |i: usize| r.get(i).unwrap_or_default().to_string();
            (field(0), field(1))
        })
        .collect()
}

fn sorted(mut keys: Vec<Key>) -> Vec<Key> {
    keys.sort();
    keys
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn filters_sorting_and_pivots_on_session_give_what_a_string_column_gave() {
    let dir = real_samples();
    let input = dir.to_str().unwrap();
    let store = load(&[&dir]);
    let frame = store.frame();
    assert!(
        matches!(
            frame.column(SESSION).unwrap().dtype(),
            DataType::Categorical(..)
        ),
        "session is held as a dictionary"
    );
    let all: Vec<Row> = rows(frame);
    let with_session: Vec<&Row> = all.iter().filter(|r| !r[SESSION].is_empty()).collect();
    // The real exports repeat sessions (access keys, sign-in sessions, Okta sessions).
    let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &with_session {
        *uses.entry(row[SESSION].as_str()).or_default() += 1;
    }
    assert!(uses.len() > 50, "{}", uses.len());
    assert!(
        with_session.len() > 3 * uses.len(),
        "{} rows",
        with_session.len()
    );
    let expect = |accept: &dyn Fn(&str) -> bool| -> Vec<Key> {
        sorted(
            with_session
                .iter()
                .filter(|r| accept(&r[SESSION]))
                .map(|r| key(r))
                .collect(),
        )
    };

    // The most used session, as written and in another case (values match case-insensitively).
    let (busiest, count) = uses.iter().max_by_key(|(_, n)| **n).unwrap();
    let exact = expect(&|s| s.eq_ignore_ascii_case(busiest));
    assert_eq!(exact.len(), *count);
    for value in [busiest.to_string(), busiest.to_lowercase()] {
        let filter = format!("session:\"{value}\"");
        assert_eq!(
            sorted(query(&["--filter", &filter, input])),
            exact,
            "{filter}"
        );
    }
    // Wildcards: temporary (ASIA) and long-term (AKIA) AWS keys.
    let temporary = expect(&|s| s.to_ascii_uppercase().starts_with("ASIA"));
    assert!(!temporary.is_empty());
    assert_eq!(
        sorted(query(&["--filter", "session:asia*", input])),
        temporary
    );
    // A regex is case-sensitive.
    let long_term = expect(&|s| s.starts_with("AKIA"));
    assert!(!long_term.is_empty());
    assert_eq!(
        sorted(query(&["--filter", "session~\"^AKIA\"", input])),
        long_term
    );
    // A list of a value and a pattern; a value no row holds matches nothing.
    let listed = expect(&|s| s.eq_ignore_ascii_case(busiest) || s.starts_with("AKIA"));
    let filter = format!("session in [\"{busiest}\", AKIA*]");
    assert_eq!(sorted(query(&["--filter", &filter, input])), listed);
    assert!(query(&["--filter", "session:NO-SUCH-SESSION", input]).is_empty());
    // Negation keeps the rows without a session.
    let others: Vec<Key> = sorted(
        all.iter()
            .filter(|r| !r[SESSION].starts_with("AKIA"))
            .map(key)
            .collect(),
    );
    assert_eq!(
        sorted(query(&["--filter", "not session~\"^AKIA\"", input])),
        others
    );

    // Sorting by session: by the text, rows without one last.
    let by_session = query(&["--sort", "session", input]);
    assert_eq!(by_session.len(), all.len());
    let shown: Vec<&str> = by_session.iter().map(|k| k.1.as_str()).collect();
    let named = shown.iter().take_while(|s| !s.is_empty()).count();
    assert_eq!(named, with_session.len());
    assert!(shown[..named].windows(2).all(|w| w[0] <= w[1]), "{shown:?}");

    // A pivot by session counts the rows of each.
    let out = run(&["pivot", "--rows", "session", "--format", "csv", input]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let counted: BTreeMap<String, usize> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_string(), r[1].parse().unwrap())
        })
        .filter(|(s, _)| !s.is_empty())
        .collect();
    let expected: BTreeMap<String, usize> = uses.iter().map(|(s, n)| (s.to_string(), *n)).collect();
    assert_eq!(counted, expected);
}

#[test]
#[cfg_attr(
    not(real_samples),
    ignore = "needs TRAILSCOPE_REAL_SAMPLES=<path to the real public exports> (CI sets it)"
)]
fn a_lake_keeps_sessions_as_text_and_reads_them_back() {
    let dir = real_samples();
    let input = dir.to_str().unwrap();
    let loaded: Vec<Key> = sorted(rows(load(&[&dir]).frame()).iter().map(key).collect());
    let temp = tempfile::tempdir().unwrap();
    let lake = temp.path().join("lake");
    let lake = lake.to_str().unwrap();
    let out = run(&["export", "--lake", lake, input]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Other engines read the Parquet column as a plain string.
    let file = walkdir::WalkDir::new(lake)
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| e.path().extension().is_some_and(|x| x == "parquet"))
        .unwrap();
    let written = ParquetReader::new(std::fs::File::open(file.path()).unwrap())
        .finish()
        .unwrap();
    assert_eq!(written.column(SESSION).unwrap().dtype(), &DataType::String);

    // Read back, every row keeps its session; a filter on it answers from the lake as from
    // the loaded files.
    let back = sorted(query(&["--lake", lake]));
    assert_eq!(back, loaded);
    let filter = "session:asia*";
    assert_eq!(
        sorted(query(&["--lake", lake, "--filter", filter])),
        sorted(query(&["--filter", filter, input])),
    );
}
