//! Temporary grants that should have ended (D21 `jit-grant-not-revoked-or-overused`): each
//! grant paired with its end (never revoked, used past the window or beyond purpose,
//! activated too often).
//!
//! Polars selects the grant and revoke events ([`grants::changes`]) and pairs them by key
//! with joins ([`grants::next_by_key`]); counts per key are Polars group-bys. Only the
//! selected rows are read one by one, to word the reason.

use std::collections::HashMap;

use polars::prelude::*;

use super::context::{Context, glob_regex};
use super::derived::Derived;
use super::event::{Ev, ROW};
use super::finding::{Finding, Severity, finding, hours_text, when_utc, with_actor};
use super::grants::{self, Change, Side, Temporary, who_of_actor};
use super::{DAY, Found, HOUR, Rule, RuleInfo, Stage, minutes};
use crate::Result;
use crate::config::JitRole;

use Severity::{High, Low, Medium};

/// The temporary-grant rule.
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![Box::new(JitGrant)]
}

// ---------------------------------------------------------------------------------------
// D21: temporary grants
// ---------------------------------------------------------------------------------------

struct JitGrant;

static JIT: RuleInfo = RuleInfo {
    id: "jit-grant-not-revoked-or-overused",
    title: "Temporary access not revoked or overused",
    mitre: &["T1548.005", "T1098.003"],
    severity: Medium,
    summary: "temporary grants (Entra PIM activations, GCP PAM grants, entitlements configured as JIT-managed in AWS, Entra, Okta, Kubernetes, GitHub) not revoked within their window; critical-tier actions by the grantee after the window or outside the role's configured purpose; too many activations in 7 days",
};

/// One temporary grant and how it ended.
struct Window<'c> {
    change: &'c Change,
    /// Its window (µs).
    length: i64,
    /// When the access really stopped, as far as the data tells (revocation in time, else
    /// the end of the window and grace).
    stop: i64,
    role: Option<&'c JitRole>,
}

/// The configured temporary roles (`[detect.jit.roles]`, globs) with their compiled
/// patterns: each role's window and the actions it is for (its purpose). The access audit
/// judges use outside a role's purpose with it too.
pub struct Roles<'a> {
    roles: Vec<(regex::Regex, &'a JitRole, Vec<regex::Regex>)>,
}

impl<'a> Roles<'a> {
    /// Compiles the configured roles.
    pub fn new(jit: &'a crate::config::Jit) -> Result<Roles<'a>> {
        let mut roles = Vec::new();
        for (name, role) in &jit.roles {
            let actions = role
                .actions
                .iter()
                .map(|a| glob_regex(a))
                .collect::<Result<Vec<_>>>()?;
            roles.push((glob_regex(name)?, role, actions));
        }
        Ok(Roles { roles })
    }

    /// The configured role an entitlement (`what` of a [`Change`]) falls under.
    pub fn of(&self, what: &str) -> Option<&(regex::Regex, &'a JitRole, Vec<regex::Regex>)> {
        // `what` may carry a scope or binding ("Owner on /subscriptions/..."): its first part
        // names the role too.
        let head = what.split(" on ").next().unwrap_or(what);
        let head = head.split(" through ").next().unwrap_or(head);
        self.roles
            .iter()
            .find(|(r, _, _)| r.is_match(what) || r.is_match(head))
    }

    /// Whether an action is within the role's configured purpose (always, when none is set).
    pub fn allows(&self, what: &str, action: &str) -> bool {
        match self.of(what) {
            Some((_, _, actions)) if !actions.is_empty() => {
                actions.iter().any(|a| a.is_match(action))
            }
            _ => true,
        }
    }

    /// Whether the role has a configured purpose (a list of actions).
    pub fn scoped(&self, what: &str) -> bool {
        self.of(what).is_some_and(|(_, _, a)| !a.is_empty())
    }
}

impl Rule for JitGrant {
    fn info(&self) -> &'static RuleInfo {
        &JIT
    }

    fn stage(&self) -> Stage {
        // Reads every row judged high before (the critical tier), travel's included.
        Stage::Lifecycle
    }

    fn run(&self, ctx: &Context<'_>, derived: &Derived) -> Result<Found> {
        let changes = grants::changes(ctx)?;
        let roles = Roles::new(&ctx.config.jit)?;
        let jit = &ctx.config.jit;
        let grace = minutes(jit.grace_minutes);
        let temp: Vec<usize> = (0..changes.len())
            .filter(|&i| changes[i].grant && changes[i].temporary.is_some())
            .collect();
        if temp.is_empty() {
            return Ok(Found::default());
        }
        let side = |ids: &[usize]| -> Side {
            ids.iter()
                .map(|&i| (changes[i].key.clone(), changes[i].ev.time, i as u32))
                .collect()
        };
        let ends: Vec<usize> = (0..changes.len()).filter(|&i| !changes[i].grant).collect();
        let grants_side = side(&temp);
        let end_of = grants::next_by_key(&grants_side, &side(&ends), true, false)?;
        let renewed = grants::next_by_key(&grants_side, &grants_side, true, true)?;
        let last = ctx.span.1;
        let mut out = Vec::new();
        let mut windows: Vec<Window<'_>> = Vec::new();
        for &i in &temp {
            let c = &changes[i];
            let role = roles.of(&c.what).map(|(_, r, _)| *r);
            let length = match (role.and_then(|r| r.hours), c.temporary) {
                (Some(h), _) => i64::from(h) * HOUR,
                // A time-bound assignment's end is in its schedule, not in the event.
                (None, Some(Temporary::Timebound)) => continue,
                _ => i64::from(jit.window_hours) * HOUR,
            };
            let due = c.ev.time + length + grace;
            let end = end_of.get(&(i as u32)).map(|&e| &changes[e as usize]);
            let next = renewed
                .get(&(i as u32))
                .map(|&g| changes[g as usize].ev.time);
            if next.is_some_and(|n| end.is_none_or(|e| n < e.ev.time) && n <= due) {
                // Renewed (extended, activated again) before it ended: the later grant is judged.
                continue;
            }
            let in_time = end.filter(|e| e.ev.time <= due);
            let stop = in_time.map_or(due, |e| e.ev.time);
            windows.push(Window {
                change: c,
                length,
                stop,
                role,
            });
            if in_time.is_some() || c.temporary == Some(Temporary::Expiring) || last < due {
                // Ended in time, ended by the provider, or the data ends before the window
                // does (still open at the end of the data: not judged).
                continue;
            }
            out.push(not_revoked(c, end, length, due, last));
        }
        out.extend(overuse(ctx, derived, &windows, &roles)?);
        out.extend(too_frequent(ctx, &changes, &temp));
        Ok(out.into())
    }
}

fn granted_text(c: &Change) -> String {
    let by = if grants::who_of_actor(&c.ev.actor) == c.who {
        String::new()
    } else {
        format!(" by {}", c.ev.who())
    };
    format!(
        "{} was given {} at {} ({}{by})",
        c.grantee,
        c.what,
        when_utc(c.ev.time),
        c.ev.action
    )
}

fn not_revoked(c: &Change, end: Option<&Change>, length: i64, due: i64, last: i64) -> Finding {
    let window = hours_text(length);
    let reason = match end {
        Some(e) => format!(
            "{}, temporary for {window}; it was removed only at {} ({} after its window ended at {}; {})",
            granted_text(c),
            when_utc(e.ev.time),
            hours_text(e.ev.time - due),
            when_utc(due),
            e.ev.action
        ),
        None => format!(
            "{}, temporary for {window}; it should have ended by {} but no removal or expiry is in the data, which runs until {} ({} later)",
            granted_text(c),
            when_utc(due),
            when_utc(last),
            hours_text(last - due)
        ),
    };
    let mut events = vec![&c.ev];
    events.extend(end.map(|e| &e.ev));
    with_actor(finding(&JIT, Medium, &events, reason), &c.grantee)
}

/// Whether an event acts on another identity's access or credentials.
fn against_other(e: &Ev) -> bool {
    let a = e.action.to_ascii_lowercase();
    let access = a.contains("role")
        || a.contains("policy")
        || a.contains("member")
        || a.contains("binding")
        || a.contains("privilege")
        || a.contains("credential")
        || a.contains("accesskey")
        || a.contains("loginprofile")
        || a.contains("serviceaccountkey");
    access && !e.resource.is_empty() && who_of_actor(&e.resource) != who_of_actor(&e.actor)
}

/// (b) and (c): the grantees' critical-tier actions after their window (within one more
/// window length), or inside it but outside the role's configured purpose.
fn overuse(
    ctx: &Context<'_>,
    derived: &Derived,
    windows: &[Window<'_>],
    roles: &Roles<'_>,
) -> Result<Vec<Finding>> {
    let critical = derived.critical_rows();
    if critical.is_empty() || windows.is_empty() {
        return Ok(Vec::new());
    }
    let rows = lit(Series::new("rows".into(), critical)).implode(false);
    // Actions that need rights: privileged calls, not sign-ins other rules judged high.
    let events: Vec<Ev> = ctx
        .select(col(ROW).is_in(rows, true))?
        .into_iter()
        .filter(|e| e.privileged && e.ok() && !e.log_type.starts_with("signin"))
        .collect();
    let who_key = |provider: &str, who: &str| format!("{provider}|{who}");
    let left: Side = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            (
                who_key(&e.provider, &who_of_actor(&e.actor)),
                e.time,
                i as u32,
            )
        })
        .collect();
    let right: Side = windows
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let c = w.change;
            (who_key(&c.ev.provider, &c.who), c.ev.time, i as u32)
        })
        .collect();
    let latest = grants::next_by_key(&left, &right, false, false)?;
    let mut by_who: HashMap<&str, Vec<&Window<'_>>> = HashMap::new();
    for w in windows {
        by_who.entry(w.change.who.as_str()).or_default().push(w);
    }
    // (window, after?) -> events
    let mut hits: HashMap<(usize, bool), Vec<&Ev>> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        let Some(&w) = latest.get(&(i as u32)) else {
            continue;
        };
        let win = &windows[w as usize];
        let c = win.change;
        if e.row == c.ev.row {
            continue;
        }
        let covered = by_who.get(c.who.as_str()).is_some_and(|ws| {
            ws.iter().any(|o| {
                o.change.ev.provider == e.provider && o.change.ev.time <= e.time && e.time <= o.stop
            })
        });
        if !covered {
            // Use soon after the end (within one more window) is use of the grant; later
            // actions may rest on other, standing rights.
            if e.time > win.stop
                && e.time <= win.stop + win.length
                && roles.allows(&c.what, &e.action)
            {
                hits.entry((w as usize, true)).or_default().push(e);
            }
        } else if roles.scoped(&c.what) && !roles.allows(&c.what, &e.action) {
            hits.entry((w as usize, false)).or_default().push(e);
        }
    }
    let mut out = Vec::new();
    let mut keys: Vec<&(usize, bool)> = hits.keys().collect();
    keys.sort();
    for key in keys {
        let (w, after) = *key;
        let win = &windows[w];
        let c = win.change;
        let used = &hits[key];
        let list: Vec<String> = used
            .iter()
            .take(5)
            .map(|e| {
                let on = if e.resource.is_empty() {
                    String::new()
                } else {
                    format!(" on {}", e.resource)
                };
                format!("{}{on} at {}", e.action, when_utc(e.time))
            })
            .collect();
        let more = if used.len() > 5 {
            format!(" and {} more", used.len() - 5)
        } else {
            String::new()
        };
        let (severity, reason) = if after {
            (
                High,
                format!(
                    "{} acted with critical-tier rights after their temporary access ended at {}: {}{more}; {} for {}",
                    c.grantee,
                    when_utc(win.stop),
                    list.join(", "),
                    granted_text(c),
                    hours_text(win.length)
                ),
            )
        } else {
            let other = used.iter().any(|e| against_other(e));
            let allowed = win.role.map(|r| r.actions.join(", ")).unwrap_or_default();
            (
                if other { High } else { Medium },
                format!(
                    "{} used temporary {} beyond its purpose ({allowed}): {}{more}{}; {}",
                    c.grantee,
                    c.what,
                    list.join(", "),
                    if other {
                        " (against another identity)"
                    } else {
                        ""
                    },
                    granted_text(c)
                ),
            )
        };
        let mut evs = vec![&c.ev];
        evs.extend(used.iter().copied());
        out.push(with_actor(
            finding(&JIT, severity, &evs, reason),
            &c.grantee,
        ));
    }
    Ok(out)
}

/// (d): more activations by one grantee in 7 days than `activations_per_week`.
fn too_frequent(ctx: &Context<'_>, changes: &[Change], temp: &[usize]) -> Vec<Finding> {
    let limit = ctx.config.jit.activations_per_week as usize;
    let mut by_who: HashMap<(&str, &str), Vec<&Change>> = HashMap::new();
    for &i in temp {
        let c = &changes[i];
        by_who
            .entry((c.ev.provider.as_str(), c.who.as_str()))
            .or_default()
            .push(c);
    }
    let mut out = Vec::new();
    let mut keys: Vec<&(&str, &str)> = by_who.keys().collect();
    keys.sort();
    for key in keys {
        let list = &by_who[key];
        let (mut best, mut lo) = ((0, 0), 0);
        for hi in 0..list.len() {
            while list[hi].ev.time - list[lo].ev.time > 7 * DAY {
                lo += 1;
            }
            if hi + 1 - lo > best.1 - best.0 {
                best = (lo, hi + 1);
            }
        }
        let run = &list[best.0..best.1];
        if run.len() <= limit {
            continue;
        }
        let mut roles: Vec<&str> = run.iter().map(|c| c.what.as_str()).collect();
        roles.sort_unstable();
        roles.dedup();
        let reason = format!(
            "{} was given temporary access {} times between {} and {} (more than {limit} in 7 days): {}",
            run[0].grantee,
            run.len(),
            when_utc(run[0].ev.time),
            when_utc(run[run.len() - 1].ev.time),
            roles.join(", ")
        );
        let evs: Vec<&Ev> = run.iter().map(|c| &c.ev).collect();
        out.push(with_actor(
            finding(&JIT, Low, &evs, reason),
            &run[0].grantee,
        ));
    }
    out
}
