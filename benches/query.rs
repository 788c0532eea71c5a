//! query: filters, pivots and timelines over 1,000,000 loaded events, in the same process
//! after loading (what a TUI keypress or a scripted query costs).

use std::sync::Arc;
use std::time::Instant;

use trailscope::analysis::{self, PivotSpec, SortKey, TimelineSpec, ViewSpec};
use trailscope::load::classify::Classifier;
use trailscope::load::pipeline::LoadOptions;
use trailscope::load::source;
use trailscope::store::FrameStore;
use trailscope::synth;

/// Best and median wall time of `runs` calls, in milliseconds.
fn time_ms(runs: usize, mut f: impl FnMut() -> usize) -> (f64, f64, usize) {
    let mut times = Vec::with_capacity(runs);
    let mut out = 0;
    for _ in 0..runs {
        let started = Instant::now();
        out = f();
        times.push(started.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    (times[0], times[times.len() / 2], out)
}

pub fn bench_query(events: usize, runs: usize) {
    let dir = super::data_dir().join(format!("cloudtrail-ndjson-{events}"));
    super::ensure(synth::Kind::CloudtrailNdjson, &dir, events);
    let inputs = source::expand(&[dir.display().to_string()]).inputs;
    let options = LoadOptions::new(Arc::new(Classifier::builtin().unwrap()));
    let store = FrameStore::load(inputs, options).unwrap();
    let frame = store.frame().clone();
    let list = super::data_dir().join("bench-watchlist.txt");
    std::fs::write(&list, "10.0.0.0/8\n192.0.2.0/25\n2001:db8::/32\n").unwrap();
    let distinct = |c: &str| frame.column(c).unwrap().n_unique().unwrap();
    println!(
        "query: {} events ({} actors, {} actions, {} source IPs), {runs} runs each, best / median ms",
        frame.height(),
        distinct(trailscope::schema::ACTOR),
        distinct(trailscope::schema::ACTION),
        distinct(trailscope::schema::SRC_IP),
    );
    let chicago = jiff::tz::TimeZone::get("America/Chicago").unwrap();
    // What `query --format ndjson` prints: every event column of the matching events.
    let view = |filter: &str, sort: Option<SortKey>, limit: Option<usize>| ViewSpec {
        filter: filter.to_string(),
        tz: chicago.clone(),
        columns: trailscope::schema::EVENT_COLUMNS.map(String::from).to_vec(),
        sort,
        limit,
        ..ViewSpec::default()
    };
    let filters = [
        (
            "regex on a categorical",
            r#"action~"^(Attach|Put).*Policy$""#.to_string(),
        ),
        ("wildcard", "actor:*admin*".to_string()),
        ("CIDR", "ip:198.51.100.0/24".to_string()),
        ("IP list file", format!("ip in @{}", list.display())),
        ("free text", "admin".to_string()),
        // Free text before it searched details: the same columns without it, and details
        // alone (what searching it adds).
        (
            "free text without details",
            "(actor:*admin* or identity:*admin* or action:*admin* or resource:*admin* or error:*admin*)"
                .to_string(),
        ),
        ("details substring", "details:*admin*".to_string()),
        (
            "regex on a string column",
            "resource~\"^north.*reports$\"".to_string(),
        ),
        (
            "boolean + time",
            "privileged !read_only last:24h".to_string(),
        ),
        (
            "combined",
            r#"(actor:*admin* or action~"^Attach") -outcome:success after:"2024-03-02 08:00""#
                .to_string(),
        ),
    ];
    println!(
        "{:<28} {:>9} {:>9} {:>10}  filter",
        "", "best", "median", "matches"
    );
    for (name, text) in &filters {
        let (best, median, n) = time_ms(runs, || {
            let compiled = view(text, None, None).compile(&frame).unwrap();
            analysis::select(&frame, &compiled).unwrap().height()
        });
        println!("{name:<28} {best:>9.1} {median:>9.1} {n:>10}  {text}");
    }
    let spec = PivotSpec {
        rows: "actor".into(),
        cols: Some("action".into()),
        distinct: None,
        top: 20,
    };
    let (best, median, n) = time_ms(runs, || {
        analysis::run(&frame, None, &spec).unwrap().total as usize
    });
    println!(
        "{:<28} {best:>9.1} {median:>9.1} {n:>10}",
        "pivot actor x action top 20"
    );
    let spec = TimelineSpec {
        by: "actor".into(),
        bucket: None,
        tz: chicago.clone(),
        top: 20,
    };
    let (best, median, n) = time_ms(runs, || {
        analysis::run(&frame, None, &spec)
            .unwrap()
            .totals
            .iter()
            .sum::<u64>() as usize
    });
    println!(
        "{:<28} {best:>9.1} {median:>9.1} {n:>10}",
        "timeline by actor (auto)"
    );
    let sorted = view("", Some(SortKey::parse("actor").unwrap()), Some(100))
        .compile(&frame)
        .unwrap();
    let (best, median, n) = time_ms(runs, || analysis::select(&frame, &sorted).unwrap().height());
    println!(
        "{:<28} {best:>9.1} {median:>9.1} {n:>10}",
        "sort by actor, first 100"
    );
}
