//! `query --sql` over a lake: the filter prunes as usual, the SQL runs over the matching
//! events with only the columns it names read, and the answers equal those of the same SQL
//! over the loaded events the filter selects.

use polars::prelude::*;
use trailscope::analysis::{self, ViewSpec};
use trailscope::lake::{query, write};
use trailscope::schema::{ACTOR, OUTCOME, SRC_IP, TIME};

use crate::util::{load, sample_logs};

/// The same SQL over the loaded events a filter selects (all of them for a blank one).
fn over_loaded(store: &trailscope::store::FrameStore, filter: &str, sql: &str) -> DataFrame {
    let frame = store.frame();
    let view = ViewSpec {
        filter: filter.into(),
        ..ViewSpec::default()
    };
    let rows = analysis::select_rows(frame, &view.compile(frame).unwrap())
        .unwrap()
        .rows;
    let table = match rows {
        Some(rows) => frame.take(&rows).unwrap(),
        None => frame.clone(),
    };
    analysis::sql(&table, sql).unwrap()
}

#[test]
fn sql_over_the_lake_equals_sql_over_the_loaded_events_the_filter_selects() {
    let store = load(&[&sample_logs()]);
    let dir = tempfile::tempdir().unwrap();
    write::export(&store, None, dir.path()).unwrap();
    let queries = [
        (
            "",
            "SELECT provider, COUNT(*) AS n FROM events GROUP BY provider ORDER BY n DESC, provider",
        ),
        (
            "provider:aws",
            "SELECT action, COUNT(DISTINCT actor) AS actors, MAX(time) AS last FROM events \
             GROUP BY action ORDER BY actors DESC, action LIMIT 5",
        ),
        (
            "",
            "SELECT event_id, actor, src_ip FROM events WHERE outcome = 'failure' \
             AND actor LIKE '%a%' ORDER BY time, event_id",
        ),
        (
            "after:2024-03-10 -read_only",
            "SELECT time, event_id, action FROM events WHERE action LIKE '%Create%' \
             ORDER BY time DESC, event_id LIMIT 7",
        ),
        ("last:3d", "SELECT COUNT(*) AS n FROM events"),
        (
            "provider:kubernetes",
            "SELECT * FROM events ORDER BY time, event_id LIMIT 3",
        ),
    ];
    for (filter, sql) in queries {
        let view = ViewSpec {
            filter: filter.into(),
            ..ViewSpec::default()
        };
        let (got, stats) = query::sql(dir.path(), &view, sql).unwrap();
        let mut want = over_loaded(&store, filter, sql);
        if sql.starts_with("SELECT *") {
            // The lake holds no locators of the loaded inputs (`raw_offset` and the like).
            want = want
                .select(got.get_column_names().into_iter().cloned())
                .unwrap();
        }
        assert!(want.height() > 0, "[{filter}] {sql}");
        assert!(
            got.equals_missing(&want),
            "[{filter}] {sql}\nlake:\n{got}\nloaded:\n{want}"
        );
        assert!(!stats.columns_read.iter().any(|c| c == "raw"), "{stats:?}");
    }
}

#[test]
fn sql_over_the_lake_reads_only_the_columns_it_names() {
    let store = load(&[&sample_logs()]);
    let dir = tempfile::tempdir().unwrap();
    write::export(&store, None, dir.path()).unwrap();
    let sql = "SELECT actor, COUNT(DISTINCT src_ip) AS ips FROM events GROUP BY actor";
    let (result, stats) = query::sql(dir.path(), &ViewSpec::default(), sql).unwrap();
    assert!(result.height() > 1);
    let mut read = stats.columns_read.clone();
    read.sort();
    assert_eq!(read, [ACTOR, SRC_IP]);
    // A filter adds its own columns, and prunes: a day reads that day's partitions.
    let view = ViewSpec {
        filter: "outcome:failure time:2024-03-15".into(),
        ..ViewSpec::default()
    };
    let (_, stats) = query::sql(dir.path(), &view, sql).unwrap();
    let mut read = stats.columns_read.clone();
    read.sort();
    assert_eq!(read, [ACTOR, OUTCOME, SRC_IP, TIME]);
    assert!(stats.partitions_read < stats.partitions, "{stats:?}");
    // The original record is read only when named.
    let (raw, stats) = query::sql(
        dir.path(),
        &ViewSpec::default(),
        "SELECT raw FROM events WHERE provider = 'aws' LIMIT 1",
    )
    .unwrap();
    assert!(stats.columns_read.iter().any(|c| c == "raw"));
    let record = raw.column("raw").unwrap().str().unwrap().get(0).unwrap();
    assert!(record.contains("eventVersion"), "{record}");
}
