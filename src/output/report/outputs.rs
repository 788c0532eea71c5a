//! Several report files from one load (`report -o case.html -o case.csv`): the rules run
//! once for every document (HTML, Markdown), and row files are written on their own threads
//! while they run.

use std::path::PathBuf;

use crate::config::Config;
use crate::detectors::Finding;
use crate::store::FrameStore;
use crate::{Error, Result};

use super::ReportFormat;

/// Whether a format is a document (scope, findings) rather than rows.
pub fn is_document(format: ReportFormat) -> bool {
    matches!(format, ReportFormat::Html | ReportFormat::Markdown)
}

/// Writes each of `outs` with `write` (given the findings when they were computed ahead),
/// row formats on threads beside the documents; the results in the order of `outs`.
pub fn write_each<T: Send>(
    outs: &[(PathBuf, ReportFormat)],
    store: &FrameStore,
    config: &Config,
    write: impl Fn(&(PathBuf, ReportFormat), Option<&[Finding]>) -> Result<T> + Sync,
) -> Vec<Result<T>> {
    let mut results: Vec<(usize, Result<T>)> = std::thread::scope(|s| {
        let write = &write;
        let rows: Vec<_> = (outs.iter().enumerate())
            .filter(|(_, (_, format))| !is_document(*format))
            .map(|(i, out)| (i, s.spawn(move || write(out, None))))
            .collect();
        let mut results = documents(outs, store, config, write);
        for (i, thread) in rows {
            let result = thread
                .join()
                .unwrap_or_else(|_| Err(Error::Invalid("writing the report failed".into())));
            results.push((i, result));
        }
        results
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Writes the documents of `outs`, running the rules once beforehand when there are several
/// (one alone runs them while it hashes what the load did not).
fn documents<T>(
    outs: &[(PathBuf, ReportFormat)],
    store: &FrameStore,
    config: &Config,
    write: impl Fn(&(PathBuf, ReportFormat), Option<&[Finding]>) -> Result<T>,
) -> Vec<(usize, Result<T>)> {
    let docs: Vec<usize> = (0..outs.len())
        .filter(|&i| is_document(outs[i].1))
        .collect();
    let known = (docs.len() > 1).then(|| super::findings_of(store, config));
    docs.into_iter()
        .map(|i| {
            let result = match &known {
                None => write(&outs[i], None),
                Some(Ok(findings)) => write(&outs[i], Some(findings)),
                Some(Err(e)) => Err(Error::Invalid(e.to_string())),
            };
            (i, result)
        })
        .collect()
}
