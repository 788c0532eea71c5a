//! `trailscope identities`: the identity inventory of the events a filter (or a saved view)
//! selects, as a table, CSV (formulas neutralized) or the JSON contract documented in the
//! README.

use std::io::{self, Write};
use std::process::ExitCode;

use serde_json::{Value, json};

use trailscope::audit::identities::{self, IdentityColumn, Inventory};
use trailscope::output::OutputFormat;
use trailscope::output::audit::{inventory_grid, inventory_table};
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
    permissions: bool,
) -> anyhow::Result<ExitCode> {
    let order = sort.map(IdentityColumn::parse_sort).transpose()?;
    loaded.require_events()?;
    // A saved identities view gives the spec.
    let mut spec = resolved.identities().unwrap_or_default();
    spec.permissions |= permissions;
    let selection = loaded.selection(&resolved.view)?;
    let mut inventory = identities::inventory_store(
        &loaded.store,
        &loaded.config,
        selection.rows.as_ref(),
        &spec,
    )?;
    if let Some((column, descending)) = order {
        inventory
            .rows
            .sort_by(|a, b| column.compare(a, b, descending));
    }
    loaded.report_timings();
    let tz = &resolved.view.tz;
    let mut out = io::stdout().lock();
    match format {
        IdentitiesFormat::Table => {
            inventory_table(&inventory).write(&mut out, OutputFormat::Table, tz)?
        }
        IdentitiesFormat::Csv => {
            inventory_grid(&inventory).write(&mut out, OutputFormat::Csv, tz)?
        }
        IdentitiesFormat::Json => writeln!(out, "{}", json_rows(&inventory))?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
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
