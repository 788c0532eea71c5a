//! Each grant's use, counted with Polars: the grantee's successful privileged actions (not
//! sign-ins, not the grant's own events) joined on the grantee to the grants' windows, then
//! counted per grant: in the window (until its end, or the end of the logs while held),
//! after a temporary grant's window (within one more window length, until the grantee's next
//! grant of the same kind), the most frequent actions, and those outside the role's
//! configured purpose (`[detect.jit.roles]` actions, as `jit-grant-not-revoked-or-overused`
//! judges them).

use std::collections::HashMap;

use polars::prelude::*;

use crate::detectors::Context;
use crate::detectors::event::{ROW, i64s, strings, u64s};
use crate::detectors::grants::{Side, next_by_key};
use crate::detectors::jit::Roles;
use crate::schema::{ACTION, ACTOR, IDENTITY, LOG_TYPE, OUTCOME, PRIVILEGED, PROVIDER, TIME};
use crate::time::MINUTE;
use crate::{Error, Result};

use super::actors::{ACTOR_ID, Actors, IDENTITY_ID, KEY, PROVIDER_ID};
use super::pairing::Paired;
use super::{AccessSpec, ActionCount, Grant};

/// Most frequent actions kept per grant.
const TOP_ACTIONS: usize = 5;

// Columns of the join (the event columns never start with `__`).
const GID: &str = "__grant";
const START: &str = "__start";
const STOP: &str = "__stop";
const AFTER_LO: &str = "__after_lo";
const AFTER_HI: &str = "__after_hi";
const IN: &str = "__in";
const AFTER: &str = "__after";
const N: &str = "__n";
const LAST: &str = "__last";

/// Counts the use of every grant and fills its use columns; returns the grants.
pub(crate) fn count(
    ctx: &Context<'_>,
    spec: &AccessSpec,
    actors: &Actors,
    paired: Vec<Paired>,
) -> Result<Vec<Grant>> {
    if paired.is_empty() {
        return Ok(Vec::new());
    }
    let err = Error::polars("counting the grants' use");
    let grace = i64::from(spec.grace_minutes.unwrap_or(ctx.config.jit.grace_minutes)) * MINUTE;
    let last = ctx.span.1;
    // The next grant of the same grantee and kind bounds the "after its window" interval: use
    // then rests on the new grant.
    let side: Side = paired
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                format!("{}|{}", p.use_key, p.what),
                p.grant.granted_at,
                i as u32,
            )
        })
        .collect();
    let next = next_by_key(&side, &side, true, true)?;
    let mut own_rows: Vec<u32> = paired.iter().flat_map(|p| p.rows.iter().copied()).collect();
    own_rows.sort_unstable();
    own_rows.dedup();

    let n = paired.len();
    let (mut keys, mut gids) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut starts, mut stops) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut lows, mut highs) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for (i, p) in paired.iter().enumerate() {
        let g = &p.grant;
        keys.push(p.use_key.clone());
        gids.push(i as u32);
        starts.push(g.granted_at);
        stops.push(g.ended_at.unwrap_or(last));
        let (lo, hi) = match (g.scheduled_end, p.length) {
            (Some(end), Some(length)) if g.lifetime != super::Lifetime::Standing => {
                let due = end + grace;
                let bound = next
                    .get(&(i as u32))
                    .map_or(i64::MAX, |&j| paired[j as usize].grant.granted_at);
                (due, (due + length.max(0)).min(bound))
            }
            // An empty interval: nothing is "after" a standing grant.
            _ => (0, -1),
        };
        lows.push(lo);
        highs.push(hi);
    }
    let windows = DataFrame::new_infer_height(vec![
        Column::new(KEY.into(), keys),
        Column::new(GID.into(), gids),
        Column::new(START.into(), starts),
        Column::new(STOP.into(), stops),
        Column::new(AFTER_LO.into(), lows),
        Column::new(AFTER_HI.into(), highs),
    ])
    .map_err(Error::polars("counting the grants' use"))?;

    let wanted: std::collections::HashSet<&str> =
        paired.iter().map(|p| p.use_key.as_str()).collect();
    let (actors, names) = actors.keys(&wanted)?;
    if actors.height() == 0 {
        return Ok(paired.into_iter().map(|p| p.grant).collect());
    }
    let own = lit(Series::new("own".into(), own_rows)).implode(false);
    let identity = if ctx.frame.column(IDENTITY).is_ok() {
        col(IDENTITY)
            .to_physical()
            .cast(DataType::UInt32)
            .fill_null(lit(u32::MAX))
    } else {
        lit(u32::MAX)
    };
    let privileged = col(PRIVILEGED)
        .eq(lit(true))
        .fill_null(lit(false))
        .and(ctx.category(OUTCOME, |o| o == "success"))
        .and(ctx.category(LOG_TYPE, |l| !l.starts_with("signin")))
        .and(col(ROW).is_in(own, true).not());
    let joined = ctx
        .frame
        .clone()
        .lazy()
        .filter(privileged)
        .select([
            col(PROVIDER)
                .to_physical()
                .cast(DataType::UInt32)
                .alias(PROVIDER_ID),
            col(ACTOR)
                .to_physical()
                .cast(DataType::UInt32)
                .alias(ACTOR_ID),
            identity.alias(IDENTITY_ID),
            col(ACTION),
            col(TIME).to_physical().alias(TIME),
        ])
        .join(
            actors.lazy(),
            [col(PROVIDER_ID), col(ACTOR_ID), col(IDENTITY_ID)],
            [col(PROVIDER_ID), col(ACTOR_ID), col(IDENTITY_ID)],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            windows.lazy(),
            [col(KEY)],
            [col(KEY)],
            JoinArgs::new(JoinType::Inner),
        )
        .with_columns([
            col(TIME)
                .gt_eq(col(START))
                .and(col(TIME).lt_eq(col(STOP)))
                .alias(IN),
            col(TIME)
                .gt(col(AFTER_LO))
                .and(col(TIME).lt_eq(col(AFTER_HI)))
                .alias(AFTER),
        ])
        .filter(col(IN).or(col(AFTER)))
        .cache();
    let totals = joined
        .clone()
        .group_by([col(GID)])
        .agg([
            col(IN).cast(DataType::UInt64).sum().alias(IN),
            col(AFTER).cast(DataType::UInt64).sum().alias(AFTER),
            col(TIME).filter(col(IN)).max().alias(LAST),
        ])
        .collect()
        .map_err(err)?;
    let per_action = joined
        .filter(col(IN))
        .group_by([col(GID), col(ACTION)])
        .agg([len().cast(DataType::UInt64).alias(N)])
        .with_column(col(ACTION).cast(DataType::String))
        .collect()
        .map_err(Error::polars("counting the grants' use"))?;

    let roles = Roles::new(&ctx.config.jit)?;
    let mut grants: Vec<Grant> = Vec::with_capacity(n);
    let mut whats: Vec<String> = Vec::with_capacity(n);
    for p in paired {
        let mut g = p.grant;
        g.acted_as = names.get(&p.use_key).cloned().unwrap_or_default();
        whats.push(p.what);
        grants.push(g);
    }
    let (ids, ins, afters, lasts) = (
        u64s(&totals, GID)?,
        u64s(&totals, IN)?,
        u64s(&totals, AFTER)?,
        i64s(&totals, LAST)?,
    );
    for i in 0..totals.height() {
        let Some(g) = ids[i].and_then(|id| grants.get_mut(id as usize)) else {
            continue;
        };
        g.privileged_actions_in_window = ins[i].unwrap_or(0);
        g.used_after_window = afters[i].unwrap_or(0);
        g.last_used = lasts[i];
        g.used = g.privileged_actions_in_window > 0;
        g.never_used = !g.used;
    }
    let (ids, actions, counts) = (
        u64s(&per_action, GID)?,
        strings(&per_action, ACTION)?,
        u64s(&per_action, N)?,
    );
    let mut by_grant: HashMap<usize, Vec<ActionCount>> = HashMap::new();
    for i in 0..per_action.height() {
        let Some(id) = ids[i].map(|id| id as usize) else {
            continue;
        };
        let count = counts[i].unwrap_or(0);
        if let (Some(g), Some(what)) = (grants.get_mut(id), whats.get(id))
            && roles.scoped(what)
            && !roles.allows(what, &actions[i])
        {
            g.used_outside_purpose += count;
        }
        by_grant.entry(id).or_default().push(ActionCount {
            action: actions[i].clone(),
            count,
        });
    }
    for (id, mut list) in by_grant {
        list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.action.cmp(&b.action)));
        list.truncate(TOP_ACTIONS);
        if let Some(g) = grants.get_mut(id) {
            g.top_actions = list;
        }
    }
    Ok(grants)
}
