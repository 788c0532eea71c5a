//! Saved views: reading the layered library and saving one view into a file of 100 views
//! (what the TUI does on its UI thread when `s` is confirmed). Prints the median and the
//! slowest of `runs` runs.

use std::time::{Duration, Instant};

use trailscope::views::{Locations, SavedView, ViewLibrary};

fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    let median = times[times.len() / 2];
    let max = times[times.len() - 1];
    println!(
        "views {what}: median {:.2} ms, slowest {:.2} ms ({} runs)",
        median.as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
        times.len()
    );
}

pub fn bench(runs: usize) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("views.toml");
    let locations = Locations {
        user: None,
        project: dir.path().join("none.toml"),
        explicit: Some(file.clone()),
    };
    let (mut library, _) = ViewLibrary::load_from(locations.clone());
    for i in 0..100 {
        let mut view = SavedView::new(format!("view-{i}"));
        view.title = format!("View {i}");
        view.note = "# kept as written\nsecond line".into();
        view.view.filter = format!("actor:user{i} outcome:failure (action:*Policy* or privileged)");
        library.save(&view).unwrap();
    }
    println!(
        "views file: {} views, {} bytes",
        library.list().len(),
        std::fs::metadata(&file).unwrap().len()
    );
    let mut loads = Vec::new();
    let mut saves = Vec::new();
    for run in 0..runs.max(20) {
        let started = Instant::now();
        let (loaded, problems) = ViewLibrary::load_from(locations.clone());
        loads.push(started.elapsed());
        assert!(problems.is_empty() && loaded.list().len() == library.list().len());
        let mut view = SavedView::new("view-50");
        view.view.filter = format!("actor:changed{run}");
        let started = Instant::now();
        library.save(&view).unwrap();
        saves.push(started.elapsed());
    }
    report("load (built-ins + 100 in a file)", loads);
    report("save one (atomic, synced)", saves);
}
