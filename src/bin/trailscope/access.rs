//! `trailscope access`: every grant or elevation with its approval, end and use (the access
//! audit), or with `--review` who holds each privileged role at the end of the logs (the
//! access review), as a table, CSV, JSON or Markdown. Exports written with `--out` carry
//! their evidence in a sidecar `FILE.manifest.json` (inputs with SHA-256, tool version, UTC
//! time made, who made it, the export's own SHA-256), so the CSV stays a plain table that
//! spreadsheets and importers load; Markdown carries the same header inline.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use trailscope::audit::access::{self, Access, Grant, Holding, Status};
use trailscope::output::audit::{access_grid, review_grid};
use trailscope::output::report::{default_author, scope};
use trailscope::output::{Grid, OutputFormat, Table};
use trailscope::text::{escape_control, escape_markdown, format_time, format_time_utc};

use crate::args::{Common, ViewArgs};
use crate::inputs::{Loaded, load_selected};

/// What `trailscope access` was asked.
#[derive(clap::Args)]
pub(crate) struct AccessArgs {
    /// Inputs (default: the bundled sample-logs/).
    pub(crate) paths: Vec<String>,
    /// Only grants, ends, approvals and use in the events this filter selects.
    #[arg(long, short = 'f', value_name = "EXPR", allow_hyphen_values = true)]
    pub(crate) filter: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AccessFormat::Table)]
    pub(crate) format: AccessFormat,
    /// The access review instead: per privileged role and scope, who holds it at the end of
    /// the logs, since when, granted by whom, last use, and a recommendation; as CSV in the
    /// columns of Entra's review history, `decision` and `reviewer_note` left to the reviewer.
    #[arg(long)]
    pub(crate) review: bool,
    /// Only privileged grants (not plain group or team memberships).
    #[arg(long)]
    pub(crate) privileged_only: bool,
    /// The review recommends removal of what was not used in this many days [default: 90].
    #[arg(long, value_name = "DAYS")]
    pub(crate) unused_days: Option<u32>,
    /// Window of a temporary grant when neither the log nor [detect.jit.roles] says (hours;
    /// default: [detect.jit] window_hours).
    #[arg(long, value_name = "HOURS")]
    pub(crate) window_hours: Option<u32>,
    /// Write the export to FILE, with its evidence in FILE.manifest.json.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Who made the export (default: $USER@host).
    #[arg(long, value_name = "WHO")]
    pub(crate) author: Option<String>,
    #[command(flatten)]
    pub(crate) view: ViewArgs,
}

#[derive(Clone, Copy, clap::ValueEnum, PartialEq, Eq)]
pub(crate) enum AccessFormat {
    Table,
    Csv,
    Json,
    Md,
}

/// Runs `trailscope access`.
pub(crate) fn access(
    args: AccessArgs,
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
    // A saved access or review view gives the spec; flags given here override it.
    let (mut spec, view_review) = resolved.access().unwrap_or_default();
    let review = args.review || view_review;
    let args = AccessArgs { review, ..args };
    spec.privileged_only |= args.privileged_only;
    if args.window_hours.is_some() {
        spec.window_hours = args.window_hours;
    }
    if let Some(days) = args.unused_days {
        spec.unused_days = days;
    }
    let result = access::audit_store(
        &loaded.store,
        &loaded.config,
        selection.rows.as_ref(),
        &spec,
    )?;
    loaded.report_timings();
    let tz = &resolved.view.tz;
    let mut buffer: Vec<u8> = Vec::new();
    let rows = if review {
        let holdings = access::review(&result.grants, &spec, result.span.1);
        write_review(&mut buffer, &holdings, args.format, tz, &loaded, &args)?;
        holdings.len()
    } else {
        write_grants(&mut buffer, &result, args.format, tz, &loaded, &args)?;
        result.grants.len()
    };
    match &args.out {
        None => {
            let mut out = io::stdout().lock();
            out.write_all(&buffer)?;
            out.flush()?;
        }
        Some(path) => {
            std::fs::write(path, &buffer).with_context(|| {
                format!("writing {}", escape_control(&path.display().to_string()))
            })?;
            let manifest = manifest_path(path);
            let text = serde_json::to_string_pretty(&evidence(
                &loaded,
                &args,
                Some((path, &buffer, rows)),
            ))?;
            std::fs::write(&manifest, text + "\n").with_context(|| {
                format!(
                    "writing {}",
                    escape_control(&manifest.display().to_string())
                )
            })?;
            let _ = writeln!(
                io::stderr(),
                "trailscope: wrote {} ({rows} rows) and {}",
                escape_control(&path.display().to_string()),
                escape_control(&manifest.display().to_string())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `FILE.manifest.json` next to `FILE`.
fn manifest_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".manifest.json");
    PathBuf::from(name)
}

/// The evidence an export carries: what it was made from (each input's size and SHA-256),
/// with which tool, when (UTC), by whom, how, and (for a file) the export's own SHA-256.
fn evidence(loaded: &Loaded, args: &AccessArgs, export: Option<(&Path, &[u8], usize)>) -> Value {
    let inputs = loaded.store.inputs();
    let hashes = scope::hash_inputs(inputs);
    let inputs: Vec<Value> = inputs
        .iter()
        .zip(hashes)
        .map(|(input, hash)| {
            json!({"name": input.name, "size": hash.size, "sha256": hash.sha256, "events": input.events})
        })
        .collect();
    let command: Vec<String> = std::env::args().collect();
    let mut value = json!({
        "tool": "trailscope",
        "version": env!("CARGO_PKG_VERSION"),
        "made_at": format_time_utc(now_micros()),
        "made_by": args.author.clone().unwrap_or_else(default_author),
        "command": command,
        "kind": if args.review { "access review" } else { "access audit" },
        "inputs": inputs,
    });
    if let Some((path, bytes, rows)) = export {
        value["export"] = json!({
            "file": path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "sha256": scope::hex(&Sha256::digest(bytes)),
            "rows": rows,
        });
    }
    value
}

fn now_micros() -> i64 {
    jiff::Timestamp::now().as_microsecond()
}

// ---------------------------------------------------------------------------------------
// The audit
// ---------------------------------------------------------------------------------------

fn write_grants(
    out: &mut dyn Write,
    access: &Access,
    format: AccessFormat,
    tz: &jiff::tz::TimeZone,
    loaded: &Loaded,
    args: &AccessArgs,
) -> anyhow::Result<()> {
    let grid = || access_grid(access);
    match format {
        AccessFormat::Table => {
            writeln!(out, "{}", escape_control(&access.summary.line()))?;
            let mut table = Table::new(
                &[
                    "granted at",
                    "grantee",
                    "role",
                    "scope",
                    "provider",
                    "granted by",
                    "approver",
                    "ended",
                    "flags",
                    "use",
                ],
                &[],
            );
            for g in &access.grants {
                table.row(vec![
                    format_time(g.granted_at, tz),
                    g.grantee.clone(),
                    g.role.clone(),
                    g.scope.clone(),
                    g.provider.clone(),
                    g.granted_by.clone(),
                    g.approver.clone().unwrap_or_default(),
                    end_text(g, tz),
                    flags(g),
                    g.use_text(),
                ]);
            }
            table.write(out, 40)?;
        }
        AccessFormat::Csv => grid().write(out, OutputFormat::Csv, tz)?,
        AccessFormat::Json => {
            serde_json::to_writer(&mut *out, &access.grants)?;
            writeln!(out)?;
        }
        AccessFormat::Md => {
            write_markdown_header(out, "Access audit", loaded, args)?;
            writeln!(
                out,
                "**Summary:** {}\n",
                escape_markdown(&access.summary.line())
            )?;
            let grid = grid();
            write_markdown_table(out, &grid, tz)?;
        }
    }
    Ok(())
}

/// The end of a grant for a table: its time, `still held` or `expired <time>`.
fn end_text(g: &Grant, tz: &jiff::tz::TimeZone) -> String {
    match (g.status, g.ended_at) {
        (Status::Held, _) => "still held".to_string(),
        (Status::Expired, Some(t)) => format!("expired {}", format_time(t, tz)),
        (_, Some(t)) => format_time(t, tz),
        (_, None) => String::new(),
    }
}

/// The flags of a grant, as words.
fn flags(g: &Grant) -> String {
    let mut out = Vec::new();
    if g.overdue {
        out.push("overdue");
    }
    if g.never_used {
        out.push("unused");
    }
    if g.used_after_window > 0 {
        out.push("used after window");
    }
    if g.used_outside_purpose > 0 {
        out.push("outside purpose");
    }
    if g.self_approved {
        out.push("self-approved");
    }
    if g.justification.is_none() && g.ticket.is_none() {
        out.push("no justification");
    }
    out.join(", ")
}

// ---------------------------------------------------------------------------------------
// The review
// ---------------------------------------------------------------------------------------

fn write_review(
    out: &mut dyn Write,
    holdings: &[Holding],
    format: AccessFormat,
    tz: &jiff::tz::TimeZone,
    loaded: &Loaded,
    args: &AccessArgs,
) -> anyhow::Result<()> {
    match format {
        AccessFormat::Table => {
            let mut table = Table::new(
                &[
                    "role",
                    "scope",
                    "provider",
                    "principal",
                    "since",
                    "granted by",
                    "last used",
                    "recommendation",
                ],
                &[],
            );
            for h in holdings {
                table.row(vec![
                    h.role.clone(),
                    h.scope.clone(),
                    h.provider.clone(),
                    h.principal.clone(),
                    format_time(h.since, tz),
                    h.granted_by.clone(),
                    h.last_used
                        .map_or_else(|| "never".to_string(), |t| format_time(t, tz)),
                    h.recommendation.clone(),
                ]);
            }
            table.write(out, 40)?;
        }
        AccessFormat::Csv => review_grid(holdings).write(out, OutputFormat::Csv, tz)?,
        AccessFormat::Json => {
            serde_json::to_writer(&mut *out, holdings)?;
            writeln!(out)?;
        }
        AccessFormat::Md => {
            write_markdown_header(out, "Access review", loaded, args)?;
            write_markdown_table(out, &review_grid(holdings), tz)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------

/// The title and the evidence as Markdown: who made it, when, with which version, from
/// which inputs (with their SHA-256).
fn write_markdown_header(
    out: &mut dyn Write,
    title: &str,
    loaded: &Loaded,
    args: &AccessArgs,
) -> io::Result<()> {
    let m = |s: &str| escape_markdown(s).into_owned();
    let e = evidence(loaded, args, None);
    let field = |k: &str| e[k].as_str().unwrap_or_default().to_string();
    writeln!(out, "# {}\n", m(title))?;
    writeln!(
        out,
        "Made {} by {} with trailscope {}.\n",
        m(&field("made_at")),
        m(&field("made_by")),
        m(&field("version"))
    )?;
    writeln!(
        out,
        "| input | bytes | sha256 | events |\n|---|---:|---|---:|"
    )?;
    for input in e["inputs"].as_array().into_iter().flatten() {
        writeln!(
            out,
            "| {} | {} | {} | {} |",
            m(input["name"].as_str().unwrap_or_default()),
            input["size"]
                .as_u64()
                .map_or_else(|| "-".to_string(), |s| s.to_string()),
            input["sha256"].as_str().unwrap_or("-"),
            input["events"].as_u64().unwrap_or(0)
        )?;
    }
    writeln!(out)
}

fn write_markdown_table(
    out: &mut dyn Write,
    grid: &Grid,
    tz: &jiff::tz::TimeZone,
) -> io::Result<()> {
    let m = |s: &str| escape_markdown(s).into_owned();
    let headers: Vec<String> = grid.headers.iter().map(|h| m(h)).collect();
    writeln!(out, "| {} |", headers.join(" | "))?;
    writeln!(out, "|{}", "---|".repeat(headers.len()))?;
    for row in &grid.rows {
        let cells: Vec<String> = row.iter().map(|c| m(&c.display(tz))).collect();
        writeln!(out, "| {} |", cells.join(" | "))?;
    }
    Ok(())
}
