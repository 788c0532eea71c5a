//! `trailscope identities`: the identity inventory of the events a filter (or a saved view)
//! selects, as a table, CSV (formulas neutralized) or the JSON contract documented in the
//! README.

use std::io::{self, Write};
use std::process::ExitCode;

use serde_json::{Value, json};

use trailscope::analysis;
use trailscope::audit::identities::{IdentitiesSpec, IdentityColumn, IdentityRow, Inventory};
use trailscope::output::{Cell, Grid, OutputFormat};
use trailscope::text::format_time_utc;
use trailscope::views::Resolved;

use crate::args::IdentitiesFormat;
use crate::inputs::Loaded;

/// Runs the inventory over the view's events and prints it.
pub(crate) fn identities(
    loaded: &Loaded,
    resolved: &Resolved,
    sort: Option<&str>,
    format: IdentitiesFormat,
) -> anyhow::Result<ExitCode> {
    let order = sort.map(IdentityColumn::parse_sort).transpose()?;
    loaded.require_events()?;
    let spec = IdentitiesSpec {
        breakglass: loaded.config.detect.breakglass_actors.clone(),
        ..IdentitiesSpec::default()
    };
    let selection = loaded.selection(&resolved.view)?;
    let mut inventory = analysis::run(loaded.store.frame(), selection.rows.as_ref(), &spec)?;
    // The evidence joining each actor string into its identity (the resolver's links).
    let identities = loaded.store.identities();
    for row in &mut inventory.rows {
        let links = identities.links(&row.identity);
        for actor in &mut row.actors {
            // The exact (actor, provider) link; another provider's link for the same string
            // only when the inventory has no reason of its own.
            let exact = links
                .iter()
                .find(|l| l.actor == actor.actor && l.provider == actor.provider);
            let link = exact.or_else(|| {
                links
                    .iter()
                    .find(|l| l.actor.eq_ignore_ascii_case(&actor.actor))
                    .filter(|_| actor.why.is_empty())
            });
            if let Some(link) = link {
                actor.why = link.why.clone();
            }
        }
    }
    if let Some((column, descending)) = order {
        inventory
            .rows
            .sort_by(|a, b| column.compare(a, b, descending));
    }
    loaded.report_timings();
    let tz = &resolved.view.tz;
    let mut out = io::stdout().lock();
    match format {
        IdentitiesFormat::Table => table(&inventory).write(&mut out, OutputFormat::Table, tz)?,
        IdentitiesFormat::Csv => csv(&inventory).write(&mut out, OutputFormat::Csv, tz)?,
        IdentitiesFormat::Json => writeln!(out, "{}", json_rows(&inventory))?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The cell of a table column.
fn cell(row: &IdentityRow, column: IdentityColumn) -> Cell {
    let time = |t: Option<i64>| t.map_or(Cell::Null, Cell::Time);
    match column {
        IdentityColumn::Identity => Cell::Text(row.identity.clone()),
        IdentityColumn::Kind => Cell::Text(row.kind.as_str().to_string()),
        IdentityColumn::Providers => Cell::Text(row.providers.join(",")),
        IdentityColumn::Events => Cell::UInt(row.events),
        IdentityColumn::ActiveDays => Cell::UInt(row.active_days),
        IdentityColumn::Privileged => Cell::UInt(row.privileged),
        IdentityColumn::Failures => Cell::UInt(row.failures),
        IdentityColumn::Mfa => Cell::Text(row.mfa_text()),
        IdentityColumn::Networks => Cell::UInt(row.networks),
        IdentityColumn::FirstSeen => time(row.first_seen),
        IdentityColumn::LastSeen => time(row.last_seen),
        IdentityColumn::Flags => Cell::Text(row.flag_names()),
    }
}

/// The table: the inventory's columns (the grid escapes every cell).
fn table(inventory: &Inventory) -> Grid {
    Grid {
        headers: IdentityColumn::ALL
            .iter()
            .map(|c| c.name().to_string())
            .collect(),
        rows: inventory
            .rows
            .iter()
            .map(|r| IdentityColumn::ALL.iter().map(|c| cell(r, *c)).collect())
            .collect(),
    }
}

/// CSV: the table's columns, then the detail a spreadsheet wants (lists joined with `; `).
fn csv(inventory: &Inventory) -> Grid {
    let mut grid = table(inventory);
    let end = inventory.end.unwrap_or(0);
    grid.headers.extend(
        [
            "kind_why",
            "accounts",
            "countries",
            "user_agents",
            "top_user_agent",
            "last_privileged_action",
            "last_privileged_at",
            "created",
            "created_by",
            "owner",
            "owner_gone",
            "credentials",
            "held_at_end",
            "flag_reasons",
        ]
        .map(String::from),
    );
    for (cells, row) in grid.rows.iter_mut().zip(&inventory.rows) {
        let created = row
            .lifecycle
            .iter()
            .find(|e| e.kind == trailscope::audit::identities::LifecycleKind::Created);
        let credentials: Vec<String> = row
            .credentials
            .iter()
            .map(|c| {
                let id = c.id.as_deref().unwrap_or("?");
                let age = c
                    .age_days(end)
                    .map_or(String::new(), |d| format!(", {d} days"));
                let state = if c.active() { "active" } else { "deleted" };
                format!("{} {id} ({state}{age})", c.kind)
            })
            .collect();
        let held: Vec<&str> = row.held().map(|h| h.what.as_str()).collect();
        let reasons: Vec<String> = row
            .flags
            .iter()
            .map(|f| format!("{}: {}", f.kind.as_str(), f.reason))
            .collect();
        let text = |s: String| Cell::Text(s);
        cells.extend([
            text(row.kind_why.clone()),
            text(row.accounts.join("; ")),
            text(row.countries.join("; ")),
            Cell::UInt(row.user_agents),
            text(row.top_user_agent.clone()),
            text(
                row.last_privileged
                    .as_ref()
                    .map(|(_, a)| a.clone())
                    .unwrap_or_default(),
            ),
            row.last_privileged
                .as_ref()
                .map_or(Cell::Null, |(t, _)| Cell::Time(*t)),
            created.map_or(Cell::Null, |e| Cell::Time(e.time)),
            text(created.map(|e| e.by.clone()).unwrap_or_default()),
            text(
                row.owner
                    .as_ref()
                    .map(|o| o.name.clone())
                    .unwrap_or_default(),
            ),
            row.owner
                .as_ref()
                .and_then(|o| o.gone)
                .map_or(Cell::Null, |(t, _)| Cell::Time(t)),
            text(credentials.join("; ")),
            text(held.join("; ")),
            text(reasons.join("; ")),
        ]);
    }
    grid
}

fn time(t: Option<i64>) -> Value {
    t.map_or(Value::Null, |t| Value::String(format_time_utc(t)))
}

/// The JSON contract: one object per identity (see the README's "Identities").
fn json_rows(inventory: &Inventory) -> Value {
    let end = inventory.end.unwrap_or(0);
    Value::Array(
        inventory
            .rows
            .iter()
            .map(|r| {
                json!({
                    "identity": r.identity,
                    "kind": r.kind.as_str(),
                    "kind_why": r.kind_why,
                    "providers": r.providers,
                    "actors": r.actors.iter().map(|a| json!({
                        "actor": a.actor, "provider": a.provider, "why": a.why,
                    })).collect::<Vec<_>>(),
                    "accounts": r.accounts,
                    "first_seen": time(r.first_seen),
                    "last_seen": time(r.last_seen),
                    "active_days": r.active_days,
                    "events": r.events,
                    "privileged_actions": r.privileged,
                    "last_privileged_action": r.last_privileged.as_ref().map(|(t, a)| json!({
                        "time": format_time_utc(*t), "action": a,
                    })),
                    "privileged_without_mfa": r.privileged_without_mfa,
                    "failures": r.failures,
                    "mfa": {
                        "interactive_signins": r.signins,
                        "with_mfa": r.mfa_signins,
                        "coverage": r.mfa_coverage(),
                    },
                    "networks": r.networks,
                    "countries": r.countries,
                    "user_agents": r.user_agents,
                    "top_user_agent": r.top_user_agent,
                    "lifecycle": r.lifecycle.iter().map(|e| json!({
                        "time": format_time_utc(e.time),
                        "event": e.kind.as_str(),
                        "by": e.by,
                        "action": e.action,
                        "provider": e.provider,
                        "event_id": e.event_id,
                    })).collect::<Vec<_>>(),
                    "owner": r.owner.as_ref().map(|o| json!({
                        "name": o.name,
                        "source": o.source,
                        "gone_at": time(o.gone.map(|g| g.0)),
                        "gone": o.gone.map(|g| g.1.as_str()),
                    })),
                    "credentials": r.credentials.iter().map(|c| json!({
                        "kind": c.kind,
                        "id": c.id,
                        "provider": c.provider,
                        "created": time(c.created),
                        "created_by": c.created_by,
                        "rotated": time(c.rotated),
                        "deleted": time(c.deleted),
                        "first_used": time(c.first_used),
                        "last_used": time(c.last_used),
                        "age_days": c.age_days(end),
                        "networks": c.networks,
                        "use_logged": c.use_logged,
                    })).collect::<Vec<_>>(),
                    "holdings": r.holdings.iter().map(|h| json!({
                        "what": h.what,
                        "provider": h.provider,
                        "privileged": h.privileged,
                        "temporary": h.temporary,
                        "granted": time(h.granted),
                        "granted_by": h.granted_by,
                        "removed": time(h.removed),
                        "removed_by": h.removed_by,
                        "held_at_end": h.held_at_end,
                    })).collect::<Vec<_>>(),
                    "flags": r.flags.iter().map(|f| json!({
                        "flag": f.kind.as_str(), "reason": f.reason,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}
