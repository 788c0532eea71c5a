//! `trailscope report -o A -o B ...`: several formats from one load, each the same file a
//! run of its own would write.

use std::path::Path;

use crate::util::{run, sample_logs};

/// A document's text without its generation time and with the output's own name (the
/// command line it shows to make it again) made neutral.
fn comparable(path: &Path) -> String {
    let name = path.file_name().unwrap().to_str().unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter(|l| !l.contains("generated-at") && !l.starts_with("Generated "))
        .map(|l| l.replace(name, "OUT"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn one_report_run_writes_every_format_it_is_given_as_separate_runs_would() {
    let sample = sample_logs();
    let sample = sample.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let filter = "provider:aws or outcome:failure";
    let together = run(&[
        "report",
        sample,
        "--filter",
        filter,
        "-o",
        &at("all.html"),
        "-o",
        &at("all.csv"),
        "-o",
        &at("all.md"),
        "-o",
        &at("all.ndjson"),
    ]);
    let err = String::from_utf8_lossy(&together.stderr);
    assert!(together.status.success(), "{err}");
    // One line per file, in the order given, the documents with their findings.
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("wrote")).collect();
    assert_eq!(lines.len(), 4, "{err}");
    for (line, name) in lines
        .iter()
        .zip(["all.html", "all.csv", "all.md", "all.ndjson"])
    {
        assert!(line.contains(name), "{line}");
    }
    assert!(lines[0].contains("findings in scope") && !lines[1].contains("findings"));
    for ext in ["html", "csv", "md", "ndjson"] {
        let alone = run(&[
            "report",
            sample,
            "--filter",
            filter,
            "-o",
            &at(&format!("one.{ext}")),
        ]);
        assert!(alone.status.success());
        let (a, b) = (
            dir.path().join(format!("all.{ext}")),
            dir.path().join(format!("one.{ext}")),
        );
        if ext == "html" || ext == "md" {
            let (a, b) = (comparable(&a), comparable(&b));
            assert!(
                a.len() > 1000 && a == b,
                "{ext} differs from a run of its own"
            );
        } else {
            let (a, b) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
            assert!(
                a.len() > 1000 && a == b,
                "{ext} differs from a run of its own"
            );
        }
    }
}

#[test]
fn several_outputs_need_their_extensions_and_distinct_names() {
    let sample = sample_logs();
    let sample = sample.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let at = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let twice = run(&["report", sample, "-o", &at("r.html"), "-o", &at("r.html")]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("given twice"));
    let format = run(&[
        "report",
        sample,
        "--format",
        "csv",
        "-o",
        &at("a.x"),
        "-o",
        &at("b.y"),
    ]);
    assert_eq!(format.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&format.stderr).contains("single --out"));
    // Nothing was written before the flags were refused.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
