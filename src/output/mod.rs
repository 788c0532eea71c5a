//! The way out for headless commands: [`table`] (aligned text tables, and the CSV, JSON and
//! NDJSON writers with their escaping), [`analyses`] (the summary, pivots, timelines and
//! activity profiles), [`findings`] (detection output) and [`alert`] (live findings sent to
//! webhooks and commands). Every string from a log passes
//! through [`crate::text`] before it is written.

pub mod alert;
pub mod analyses;
pub mod audit;
pub mod findings;
pub mod incidents;
pub mod report;
pub mod stream;
pub mod table;

pub use analyses::{
    pivot_grid, pivot_json, profiles_json, summary_json, timeline_grid, timeline_json,
    write_profiles, write_summary_table,
};
pub use findings::{finding_json, write_findings_json, write_findings_jsonl, write_findings_table};
pub use incidents::{
    incident_json, write_incidents_json, write_incidents_jsonl, write_incidents_table,
};
pub use table::{Cell, Grid, OutputFormat, Table, column_cells};
