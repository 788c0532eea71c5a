//! Saved views from the command line: save, list, show, open with overrides, rename and
//! remove; the layers (user, case folder, `--views`) and which wins; broken files named by
//! file and line and never overwritten. The built-in views: `views/builtin.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::util::{sample_logs, stderr, stdout};

mod builtin;

/// A scratch place: a working directory and a user configuration directory.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        Case {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn cwd(&self) -> PathBuf {
        self.dir.path().join("case")
    }

    fn user_file(&self) -> PathBuf {
        self.dir.path().join("xdg/trailscope/views.toml")
    }

    fn project_file(&self) -> PathBuf {
        self.cwd().join(".trailscope/views.toml")
    }

    fn write(&self, path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn command(&self) -> Command {
        std::fs::create_dir_all(self.cwd()).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_trailscope"));
        command
            .current_dir(self.cwd())
            .env_remove("TRAILSCOPE_CONFIG")
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg"));
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// Runs and asserts success; returns standard output.
    #[track_caller]
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "{args:?} failed: {}",
            stderr(&output)
        );
        stdout(&output)
    }
}

fn sample() -> String {
    sample_logs().display().to_string()
}

/// The `views list` row of a view, if listed.
fn listed(list: &str, name: &str) -> Option<String> {
    list.lines()
        .find(|l| l.split_whitespace().next() == Some(name))
        .map(str::to_string)
}

#[test]
fn save_list_show_open_override_rename_and_remove_from_the_cli() {
    let case = Case::new();
    let s = sample();
    let saved = case.run(&[
        "views",
        "save",
        "weekly-failures",
        "--filter",
        "outcome:failure",
        "--columns",
        "time,actor,action",
        "--sort",
        "actor",
        "--title",
        "Failures this week",
        "--note",
        "for INC-42",
    ]);
    assert!(saved.status.success(), "{}", stderr(&saved));
    assert!(
        stderr(&saved).contains(&format!(
            "saved view 'weekly-failures' in {}",
            case.user_file().display()
        )),
        "{}",
        stderr(&saved)
    );

    let list = case.ok(&["views", "list"]);
    let row = listed(&list, "weekly-failures").expect("listed");
    assert!(row.contains("events"), "{row}");
    assert!(
        row.contains(&format!("{}:1", case.user_file().display())),
        "{row}"
    );
    assert!(row.ends_with("Failures this week"), "{row}");
    // The built-ins are listed too.
    assert!(
        listed(&list, "failed-signins")
            .unwrap()
            .contains("built-in")
    );

    let shown = case.ok(&["views", "show", "weekly-failures"]);
    let toml: toml::Table = toml::from_str(&shown).unwrap();
    let view = &toml["view"]["weekly-failures"];
    assert_eq!(view["filter"].as_str(), Some("outcome:failure"));
    assert_eq!(view["note"].as_str(), Some("for INC-42"));
    assert_eq!(view["columns"].as_array().unwrap().len(), 3, "{shown}");

    // Opening the view prints what the same flags print.
    let by_view = case.ok(&["query", "--view", "weekly-failures", "--format", "csv", &s]);
    let by_flags = case.ok(&[
        "query",
        "--filter",
        "outcome:failure",
        "--columns",
        "time,actor,action",
        "--sort",
        "actor",
        "--format",
        "csv",
        &s,
    ]);
    assert_eq!(by_view, by_flags);
    assert_eq!(by_view.lines().next(), Some("time,actor,action"));
    assert!(by_view.lines().count() > 5, "{by_view}");

    // Flags override the view's settings, one at a time.
    let columns = case.ok(&[
        "query",
        "--view",
        "weekly-failures",
        "--columns",
        "actor,outcome",
        "--format",
        "csv",
        &s,
    ]);
    assert_eq!(columns.lines().next(), Some("actor,outcome"));
    assert!(
        columns.lines().skip(1).all(|l| l.ends_with(",failure")),
        "{columns}"
    );
    let filter = case.ok(&[
        "query",
        "--view",
        "weekly-failures",
        "--filter",
        "outcome:success",
        "--columns",
        "outcome",
        "--format",
        "csv",
        &s,
    ]);
    assert!(filter.lines().count() > 5);
    assert!(filter.lines().skip(1).all(|l| l == "success"), "{filter}");

    // Rename, then remove.
    let renamed = case.run(&["views", "rename", "weekly-failures", "monthly-failures"]);
    assert!(renamed.status.success(), "{}", stderr(&renamed));
    let list = case.ok(&["views", "list"]);
    assert!(listed(&list, "weekly-failures").is_none());
    assert!(
        listed(&list, "monthly-failures")
            .unwrap()
            .ends_with("Failures this week")
    );
    let gone = case.run(&["query", "--view", "weekly-failures", &s]);
    assert_eq!(gone.status.code(), Some(2));
    assert!(
        stderr(&gone).contains("no view named 'weekly-failures'"),
        "{}",
        stderr(&gone)
    );
    assert_eq!(
        case.ok(&["query", "--view", "monthly-failures", "--format", "csv", &s]),
        by_flags
    );

    let removed = case.run(&["views", "rm", "monthly-failures"]);
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert!(listed(&case.ok(&["views", "list"]), "monthly-failures").is_none());
    assert!(
        case.user_file().is_file(),
        "the file stays, without the view"
    );
}

#[test]
fn pivot_timeline_and_detect_open_views_and_take_overrides() {
    let case = Case::new();
    let s = sample();
    case.ok(&[
        "views",
        "save",
        "failed-by-actor",
        "--filter",
        "outcome:failure",
        "--pivot-rows",
        "actor",
        "--pivot-cols",
        "provider",
    ]);
    let by_view = case.ok(&["pivot", "--view", "failed-by-actor", "--format", "csv", &s]);
    let by_flags = case.ok(&[
        "pivot",
        "--rows",
        "actor",
        "--cols",
        "provider",
        "--filter",
        "outcome:failure",
        "--format",
        "csv",
        &s,
    ]);
    assert_eq!(by_view, by_flags);
    let cols = case.ok(&[
        "pivot",
        "--view",
        "failed-by-actor",
        "--cols",
        "action",
        "--format",
        "csv",
        &s,
    ]);
    let cols_flags = case.ok(&[
        "pivot",
        "--rows",
        "actor",
        "--cols",
        "action",
        "--filter",
        "outcome:failure",
        "--format",
        "csv",
        &s,
    ]);
    assert_eq!(cols, cols_flags);
    assert_ne!(cols, by_view);
    // A view without a pivot says what is missing.
    case.ok(&["views", "save", "plain", "--filter", "privileged"]);
    let missing = case.run(&["pivot", "--view", "plain", &s]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("view 'plain' has no pivot (events): give --rows COL"),
        "{}",
        stderr(&missing)
    );

    case.ok(&[
        "views",
        "save",
        "hourly",
        "--filter",
        "privileged",
        "--timeline-by",
        "provider",
        "--bucket",
        "1h",
    ]);
    let timeline = case.ok(&["timeline", "--view", "hourly", "--format", "json", &s]);
    let timeline_flags = case.ok(&[
        "timeline",
        "--by",
        "provider",
        "--bucket",
        "1h",
        "--filter",
        "privileged",
        "--format",
        "json",
        &s,
    ]);
    assert_eq!(timeline, timeline_flags);
    let daily = case.ok(&[
        "timeline", "--view", "hourly", "--bucket", "1d", "--format", "json", &s,
    ]);
    let daily_flags = case.ok(&[
        "timeline",
        "--by",
        "provider",
        "--bucket",
        "1d",
        "--filter",
        "privileged",
        "--format",
        "json",
        &s,
    ]);
    assert_eq!(daily, daily_flags);
    assert_ne!(daily, timeline);

    // Findings: the view's severity, overridden by --min-severity; its filter keeps the
    // findings with an event it selects.
    case.ok(&[
        "views",
        "save",
        "aws-findings",
        "--filter",
        "provider:aws",
        "--findings",
        "medium",
    ]);
    let findings = |args: &[&str]| -> Vec<serde_json::Value> {
        case.ok(args)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let all = findings(&["detect", "--format", "jsonl", &s]);
    let aws = findings(&["detect", "--view", "aws-findings", "--format", "jsonl", &s]);
    assert!(!aws.is_empty());
    assert!(aws.len() < all.len());
    let rank = |f: &serde_json::Value| {
        ["info", "low", "medium", "high", "critical"]
            .iter()
            .position(|s| Some(*s) == f["severity"].as_str())
            .unwrap()
    };
    assert!(aws.iter().all(|f| rank(f) >= 2), "{aws:?}");
    assert!(aws.iter().all(|f| f["provider"] == "aws"), "{aws:?}");
    let expected = all
        .iter()
        .filter(|f| f["provider"] == "aws" && rank(f) >= 2)
        .count();
    assert_eq!(aws.len(), expected);
    let high = findings(&[
        "detect",
        "--view",
        "aws-findings",
        "--min-severity",
        "high",
        "--format",
        "jsonl",
        &s,
    ]);
    let critical = findings(&[
        "detect",
        "--view",
        "aws-findings",
        "--min-severity",
        "critical",
        "--format",
        "jsonl",
        &s,
    ]);
    assert!(high.iter().all(|f| rank(f) >= 3) && critical.iter().all(|f| rank(f) == 4));
    assert_eq!(high.len(), aws.iter().filter(|f| rank(f) >= 3).count());
    assert_eq!(critical.len(), aws.iter().filter(|f| rank(f) == 4).count());
    assert!(critical.len() < aws.len(), "{aws:?}");
}

#[test]
fn a_view_keeps_its_zone_and_a_view_without_one_follows_tz() {
    let case = Case::new();
    let s = sample();
    case.ok(&[
        "views",
        "save",
        "berlin",
        "--tz",
        "Europe/Berlin",
        "--filter",
        "privileged",
        "--columns",
        "time,actor",
    ]);
    case.ok(&[
        "views",
        "save",
        "anywhere",
        "--filter",
        "privileged",
        "--columns",
        "time,actor",
    ]);
    let shown = case.ok(&["views", "show", "berlin"]);
    assert!(shown.contains("tz = \"Europe/Berlin\""), "{shown}");
    assert!(!case.ok(&["views", "show", "anywhere"]).contains("tz ="));
    let berlin_flags = case.ok(&[
        "query",
        "--tz",
        "Europe/Berlin",
        "--filter",
        "privileged",
        "--columns",
        "time,actor",
        &s,
    ]);
    let utc_flags = case.ok(&[
        "query",
        "--filter",
        "privileged",
        "--columns",
        "time,actor",
        &s,
    ]);
    assert_ne!(berlin_flags, utc_flags);
    assert_eq!(case.ok(&["query", "--view", "berlin", &s]), berlin_flags);
    assert_eq!(case.ok(&["query", "--view", "anywhere", &s]), utc_flags);
    assert_eq!(
        case.ok(&["query", "--view", "anywhere", "--tz", "Europe/Berlin", &s]),
        berlin_flags
    );
}

#[test]
fn closer_files_win_by_name_and_save_goes_to_the_case_folder() {
    let case = Case::new();
    let view =
        |title: &str| format!("[view.shared]\ntitle = \"{title}\"\nfilter = 'provider:aws'\n");
    case.write(&case.user_file(), &view("from the user file"));
    let title = |extra: &[&str]| {
        let mut args = vec!["views", "list"];
        args.extend_from_slice(extra);
        let list = case.ok(&args);
        listed(&list, "shared").unwrap()
    };
    assert!(title(&[]).ends_with("from the user file"));
    case.write(&case.project_file(), &view("from the case folder"));
    assert!(title(&[]).ends_with("from the case folder"));
    let explicit = case.dir.path().join("explicit.toml");
    case.write(&explicit, &view("from --views"));
    let explicit_arg = explicit.display().to_string();
    assert!(title(&["--views", &explicit_arg]).ends_with("from --views"));
    assert!(title(&[]).ends_with("from the case folder"));

    // With a case folder, a new view is saved there.
    let saved = case.run(&["views", "save", "mine", "--filter", "actor:bob"]);
    assert!(
        stderr(&saved).contains("in .trailscope/views.toml"),
        "{}",
        stderr(&saved)
    );
    let project = std::fs::read_to_string(case.project_file()).unwrap();
    assert!(project.contains("[view.mine]") && project.contains("from the case folder"));
    // With --views, there.
    case.ok(&[
        "views",
        "save",
        "theirs",
        "--filter",
        "actor:eve",
        "--views",
        &explicit_arg,
    ]);
    assert!(
        std::fs::read_to_string(&explicit)
            .unwrap()
            .contains("[view.theirs]")
    );

    // A built-in is overridden by name, and shows again when the override is removed; the
    // built-in itself cannot be removed.
    case.ok(&[
        "views",
        "save",
        "deletions",
        "--filter",
        "action:Delete*",
        "--title",
        "Ours",
    ]);
    let list = case.ok(&["views", "list"]);
    let row = listed(&list, "deletions").unwrap();
    assert!(
        row.contains("(overrides built-in)") && row.ends_with("Ours"),
        "{row}"
    );
    let removed = case.run(&["views", "rm", "deletions"]);
    assert!(
        stderr(&removed).contains("(built-in shows again)"),
        "{}",
        stderr(&removed)
    );
    let row = listed(&case.ok(&["views", "list"]), "deletions").unwrap();
    assert!(
        row.contains("built-in") && row.ends_with("Deletions"),
        "{row}"
    );
    let refused = case.run(&["views", "rm", "deletions"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("'deletions' is a built-in view: it can be overridden"),
        "{}",
        stderr(&refused)
    );
}

const BROKEN: &str = r#"# Case 42
[view.good-before]
filter = 'actor:alice'

[view.bad-zone]
filter = 'actor:bob'
tz = "Mars/Base"

[view.bad-syntax]
filter = 'actor:carol
columns = ["time"]

[view.good-after]
title = "Still here"
filter = 'outcome:failure'
"#;

#[test]
fn a_broken_file_names_file_and_line_and_loses_no_other_view() {
    let case = Case::new();
    case.write(
        &case.user_file(),
        "[view.from-user]\nfilter = 'privileged'\n",
    );
    case.write(&case.project_file(), BROKEN);
    let output = case.run(&["views", "list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    let file = ".trailscope/views.toml";
    assert!(
        err.contains(&format!(
            "{file}:7: view 'bad-zone': unknown time zone 'Mars/Base'"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{file}:10: ")),
        "the unclosed string: {err}"
    );
    let list = stdout(&output);
    for name in ["from-user", "good-before", "good-after", "failed-signins"] {
        assert!(listed(&list, name).is_some(), "{name} missing:\n{list}");
    }
    for name in ["bad-zone", "bad-syntax"] {
        assert!(listed(&list, name).is_none(), "{name} listed:\n{list}");
    }
    // The good views open.
    let s = sample();
    let opened = case.run(&["query", "--view", "good-after", "--columns", "outcome", &s]);
    assert!(opened.status.success(), "{}", stderr(&opened));
    assert!(stdout(&opened).contains("failure"));

    // Saving to, removing from or renaming in the broken file is refused, and it is left as
    // the user wrote it.
    for args in [
        vec!["views", "save", "new", "--filter", "actor:dave"],
        vec!["views", "rm", "good-after"],
        vec!["views", "rename", "good-before", "renamed"],
    ] {
        let refused = case.run(&args);
        assert_eq!(refused.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&refused).contains(&format!("{file}:10: "))
                && stderr(&refused).contains("not changed"),
            "{args:?}: {}",
            stderr(&refused)
        );
        assert_eq!(
            std::fs::read_to_string(case.project_file()).unwrap(),
            BROKEN
        );
    }
}

#[test]
fn saving_keeps_the_comments_and_the_other_views_of_the_file() {
    let case = Case::new();
    let text = "# Incident 42: views for the ticket\n\n# the first one\n[view.first]\nfilter = 'actor:alice' # who did it\ntitle = \"First\"\n\n[view.second]\nfilter = 'actor:bob'\n";
    case.write(&case.project_file(), text);
    case.ok(&[
        "views",
        "save",
        "first",
        "--filter",
        "actor:carol",
        "--title",
        "First",
    ]);
    let after = std::fs::read_to_string(case.project_file()).unwrap();
    let expected = text.replace("'actor:alice'", "\"actor:carol\"");
    assert_eq!(after, expected);
    case.ok(&["views", "save", "third", "--filter", "actor:dave"]);
    let after = std::fs::read_to_string(case.project_file()).unwrap();
    assert!(after.starts_with(&expected), "{after}");
    assert!(
        after.ends_with("[view.third]\nfilter = \"actor:dave\"\n"),
        "{after}"
    );
    case.ok(&["views", "rename", "first", "renamed"]);
    let after = std::fs::read_to_string(case.project_file()).unwrap();
    assert!(
        after.starts_with(
            "# Incident 42: views for the ticket\n\n# the first one\n[view.renamed]\n"
        ),
        "{after}"
    );
    // No temporary file is left next to it.
    let names: Vec<_> = std::fs::read_dir(case.project_file().parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["views.toml"]);
}

#[test]
fn a_range_is_saved_with_a_view_and_overridden_by_last_after_before() {
    let case = Case::new();
    let s = sample();
    case.ok(&[
        "views",
        "save",
        "recent",
        "--filter",
        "outcome:failure",
        "--last",
        "2d",
        "--columns",
        "time,actor",
    ]);
    assert!(
        case.ok(&["views", "show", "recent"])
            .contains("range = { last = \"2d\" }")
    );
    let query = |args: &[&str]| {
        let mut all = vec!["query", "--format", "csv"];
        all.extend_from_slice(args);
        all.push(&s);
        case.ok(&all)
    };
    let recent = query(&["--view", "recent"]);
    assert_eq!(
        recent,
        query(&[
            "--filter",
            "outcome:failure last:2d",
            "--columns",
            "time,actor"
        ])
    );
    let everything = query(&["--filter", "outcome:failure", "--columns", "time,actor"]);
    assert!(recent.lines().count() < everything.lines().count());
    let between = query(&[
        "--view",
        "recent",
        "--after",
        "2024-03-10",
        "--before",
        "2024-03-20",
    ]);
    assert_eq!(
        between,
        query(&[
            "--filter",
            "outcome:failure after:2024-03-10 before:2024-03-20",
            "--columns",
            "time,actor",
        ])
    );
    assert_ne!(between, recent);
}
