//! `trailscope permissions`: permissions granted versus used per identity (AWS: inline,
//! managed and customer policies, group membership and role sessions seen in the logs,
//! against the calls made), as a table, CSV (formulas neutralized) or the JSON contract
//! documented in the README. The mapping data and its versions are named in every format.

use std::io::{self, Write};
use std::process::ExitCode;

use serde_json::json;

use trailscope::audit::permissions::{self, PermissionRow, Permissions, PermissionsSpec};
use trailscope::output::{Cell, Grid, OutputFormat};

use crate::args::{Common, ViewArgs};
use crate::inputs::load_selected;

/// What `trailscope permissions` was asked.
#[derive(clap::Args)]
pub(crate) struct PermissionsArgs {
    /// Inputs (default: the bundled sample-logs/).
    pub(crate) paths: Vec<String>,
    /// Only this identity (an identity, a principal ARN, or a user or role name).
    #[arg(long, value_name = "X")]
    pub(crate) identity: Option<String>,
    /// The tracking period: a permission not used in this many days before the end of the
    /// logs is unused [default: 90].
    #[arg(long, value_name = "N")]
    pub(crate) tracking_days: Option<u32>,
    /// Permissions granted within this many days of the end are not judged [default: 14].
    #[arg(long, value_name = "N")]
    pub(crate) grace_days: Option<u32>,
    /// Only the events this filter expression selects.
    #[arg(long, short = 'f', value_name = "EXPR", allow_hyphen_values = true)]
    pub(crate) filter: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PermissionsFormat::Table)]
    pub(crate) format: PermissionsFormat,
    #[command(flatten)]
    pub(crate) view: ViewArgs,
}

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub(crate) enum PermissionsFormat {
    Table,
    Csv,
    Json,
}

/// Runs `trailscope permissions`.
pub(crate) fn permissions(
    args: PermissionsArgs,
    input_format: Option<&str>,
    common: &Common,
) -> anyhow::Result<ExitCode> {
    let (loaded, resolved, selection) = load_selected(
        &args.paths,
        input_format,
        common,
        args.filter.clone(),
        &args.view,
    )?;
    let mut spec = PermissionsSpec {
        identity: args.identity.clone(),
        ..PermissionsSpec::default()
    };
    if let Some(days) = args.tracking_days {
        spec.tracking_days = days;
    }
    if let Some(days) = args.grace_days {
        spec.grace_days = days;
    }
    let result = permissions::audit_store(&loaded.store, selection.rows.as_ref(), &spec)?;
    loaded.report_timings();
    let tz = &resolved.view.tz;
    let mut out = io::stdout().lock();
    match args.format {
        PermissionsFormat::Table => {
            table(&result).write(&mut out, OutputFormat::Table, tz)?;
            let s = &result.summary;
            writeln!(
                out,
                "\n{} rows; calls: {} mapped to IAM actions, {} cannot tell, {} need no \
                 permission, {} without an IAM user or role\nmapping: {}",
                result.rows.len(),
                s.mapped_events,
                s.cannot_tell_events,
                s.unpermissioned_events,
                s.unattributed_events,
                result.mapping
            )?;
        }
        PermissionsFormat::Csv => grid(&result).write(&mut out, OutputFormat::Csv, tz)?,
        PermissionsFormat::Json => writeln!(out, "{}", contract(&result))?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn time(t: Option<i64>) -> Cell {
    t.map_or(Cell::Null, Cell::Time)
}

/// The table: what a person reads first, a projection of [`grid`].
fn table(result: &Permissions) -> Grid {
    const SHOWN: [&str; 7] = [
        "identity",
        "permission",
        "via",
        "status",
        "uses",
        "last_use",
        "reason",
    ];
    let full = grid(result);
    let at: Vec<usize> = SHOWN
        .iter()
        .filter_map(|name| full.headers.iter().position(|h| h == name))
        .collect();
    Grid {
        headers: at.iter().map(|&i| full.headers[i].clone()).collect(),
        rows: full
            .rows
            .into_iter()
            .map(|row| at.iter().map(|&i| row[i].clone()).collect())
            .collect(),
    }
}

fn top(r: &PermissionRow) -> String {
    let list: Vec<String> = r
        .top_actions
        .iter()
        .map(|(a, n)| format!("{a} {n}"))
        .collect();
    list.join(", ")
}

/// Every column, for CSV.
fn grid(result: &Permissions) -> Grid {
    Grid {
        headers: [
            "identity",
            "principal",
            "provider",
            "permission",
            "via",
            "status",
            "reason",
            "conditional",
            "actions_granted",
            "actions_used",
            "top_actions",
            "uses",
            "first_use",
            "last_use",
            "granted_at",
            "removed_at",
            "used_after_removal",
            "granted_by_events",
            "removed_by_event",
            "sessions",
            "mapping",
        ]
        .map(String::from)
        .to_vec(),
        rows: result
            .rows
            .iter()
            .map(|r| {
                vec![
                    Cell::Text(r.identity.clone()),
                    Cell::Text(r.principal.clone()),
                    Cell::Text(r.provider.clone()),
                    Cell::Text(r.permission.clone()),
                    Cell::Text(r.via.clone()),
                    Cell::Text(r.status.as_str().into()),
                    Cell::Text(r.reason.clone()),
                    Cell::Bool(r.conditional),
                    Cell::UInt(r.actions_granted),
                    Cell::UInt(r.actions_used),
                    Cell::Text(top(r)),
                    Cell::UInt(r.uses),
                    time(r.first_use),
                    time(r.last_use),
                    time(r.granted_at),
                    time(r.removed_at),
                    Cell::UInt(r.used_after_removal),
                    Cell::Text(r.granted_by_events.join(" ")),
                    r.removed_by_event.clone().map_or(Cell::Null, Cell::Text),
                    Cell::Text(r.sessions.join(" ")),
                    Cell::Text(result.mapping.clone()),
                ]
            })
            .collect(),
    }
}

/// The JSON contract (see the README's "Permissions granted versus used").
fn contract(result: &Permissions) -> serde_json::Value {
    json!({
        "mapping": result.mapping,
        "tracking_from": result.tracking_from.map(trailscope::text::format_time_utc),
        "end": result.end.map(trailscope::text::format_time_utc),
        "summary": result.summary,
        "permissions": result.rows,
    })
}
