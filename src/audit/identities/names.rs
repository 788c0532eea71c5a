//! What the parts of the inventory share: the column identities are grouped by, naming a
//! target or grantee as an identity ([`Resolver`]), and the few events read one by one
//! ([`Records`]: lifecycle, credential and grant events, selected by their actions).

use std::collections::HashMap;

use polars::prelude::*;

use super::IdentityRow;
use super::actions::{is_credential_event, is_lifecycle};
use crate::config::Config;
use crate::detectors::context::{Combo, Context};
use crate::detectors::event::{Ev, ROW, strings, u64s};
use crate::detectors::grants::{self, Change, who_of_actor};
use crate::schema::{ACTION, Dictionaries, IDENTITY, PROVIDER, SESSION};
use crate::{Error, Result};

/// The column an identity is read from: the resolved person or workload.
pub(crate) fn identity_column() -> &'static str {
    IDENTITY
}

/// The names behind a categorical column's dictionary ids, looked up without copying the
/// dictionary.
pub(crate) struct Dict(Option<std::sync::Arc<CategoricalMapping>>);

impl Dict {
    /// The dictionary of a categorical column (none for other columns).
    pub(crate) fn of(column: &str) -> Dict {
        match Dictionaries::shared().dtype(column) {
            Some(DataType::Categorical(_, mapping)) => Dict(Some(mapping.clone())),
            _ => Dict(None),
        }
    }

    /// The name of an id.
    pub(crate) fn name(&self, id: u64) -> Option<&str> {
        let id = u32::try_from(id).ok()?;
        self.0.as_ref()?.cat_to_str(id)
    }
}

/// Two dictionary ids (the identity's and a value's) as one integer, for one-key group-bys.
pub(crate) fn packed(high: Expr, low: Expr) -> Expr {
    high.to_physical().cast(DataType::UInt64) * lit(1u64 << 32)
        + low.to_physical().cast(DataType::UInt64)
}

/// Names a target or grantee written in a record (an IAM user name, an ARN, an e-mail, a
/// service account) as an identity of the inventory, on evidence only: the exact actor
/// string, or the name an actor reads as (an IAM user's or role's name) when exactly one
/// identity reads so.
pub(crate) struct Resolver {
    exact: HashMap<String, String>,
    short: HashMap<String, Option<String>>,
}

impl Resolver {
    /// The names of every actor of the rows.
    pub(crate) fn new(rows: &[IdentityRow]) -> Resolver {
        let mut exact = HashMap::new();
        let mut short: HashMap<String, Option<String>> = HashMap::new();
        for row in rows {
            exact.insert(row.identity.to_lowercase(), row.identity.clone());
            for linked in &row.actors {
                exact.insert(linked.actor.to_lowercase(), row.identity.clone());
                let name = who_of_actor(&linked.actor);
                match short.get(&name) {
                    Some(Some(other)) if *other != row.identity => {
                        // Two identities read the same: naming either would be a guess.
                        short.insert(name, None);
                    }
                    Some(_) => {}
                    None => {
                        short.insert(name, Some(row.identity.clone()));
                    }
                }
            }
        }
        Resolver { exact, short }
    }

    /// The identity a name written in a record stands for.
    pub(crate) fn identity_of(&self, name: &str) -> Option<&str> {
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        let lower = name.to_lowercase();
        if let Some(id) = self.exact.get(&lower) {
            return Some(id);
        }
        let bare = ["user:", "serviceaccount:", "group:"]
            .iter()
            .find_map(|p| lower.strip_prefix(p))
            .unwrap_or(&lower);
        if let Some(id) = self.exact.get(bare) {
            return Some(id);
        }
        self.short
            .get(&who_of_actor(bare))
            .and_then(|id| id.as_deref())
    }
}

/// The events read one by one: lifecycle and credential events, and the access changes
/// paired by the detectors' grant reader.
pub(crate) struct Records {
    /// Lifecycle and credential events (successes and failures), in time order.
    pub(crate) events: Vec<Ev>,
    /// Grants and their ends, in time order.
    pub(crate) changes: Vec<Change>,
    /// The `session` of the events read (by [`Ev::row`]): the credential that made them.
    pub(crate) sessions: HashMap<u32, String>,
}

impl Records {
    /// The credential (session) an event was made with.
    pub(crate) fn session(&self, ev: &Ev) -> Option<&str> {
        self.sessions.get(&ev.row).map(String::as_str)
    }
}

impl Records {
    /// Selects the rows by their (provider, action) with one `is_in`, and reads only those.
    pub(crate) fn read(frame: &DataFrame) -> Result<Records> {
        let wanted = |c: &Combo| {
            grants::is_change(c)
                || is_lifecycle(&c.provider, &c.action)
                || is_credential_event(&c.provider, &c.action)
        };
        let keys = combo_keys(frame, wanted)?;
        if keys.is_empty() {
            return Ok(Records {
                events: Vec::new(),
                changes: Vec::new(),
                sessions: HashMap::new(),
            });
        }
        let selected = frame
            .clone()
            .lazy()
            .filter(pair_key().is_in(lit(Series::new("keys".into(), keys)).implode(false), false))
            .collect()
            .map_err(Error::polars("selecting identity events"))?;
        let config = Config::default();
        let ctx = Context::new(&selected, &config)?;
        let changes = grants::changes(&ctx)?;
        let events = ctx
            .select(lit(true))?
            .into_iter()
            .filter(|e| {
                is_lifecycle(&e.provider, &e.action) || is_credential_event(&e.provider, &e.action)
            })
            .collect();
        let rows = u64s(&ctx.frame, ROW)?;
        let session = strings(&ctx.frame, SESSION)?;
        let sessions = rows
            .into_iter()
            .zip(session)
            .filter_map(|(r, s)| Some((r? as u32, s)).filter(|(_, s)| !s.is_empty()))
            .collect();
        Ok(Records {
            events,
            changes,
            sessions,
        })
    }
}

/// (provider, action) dictionary ids as one integer.
fn pair_key() -> Expr {
    col(PROVIDER).to_physical().cast(DataType::UInt64) * lit(1u64 << 32)
        + col(ACTION).to_physical().cast(DataType::UInt64)
}

/// The (provider, action) keys of the frame whose names pass `accept`.
fn combo_keys(frame: &DataFrame, accept: impl Fn(&Combo) -> bool) -> Result<Vec<u64>> {
    let distinct = frame
        .clone()
        .lazy()
        .filter(col(PROVIDER).is_not_null().and(col(ACTION).is_not_null()))
        .group_by([pair_key().alias("k")])
        .agg([len().alias("n")])
        .collect()
        .map_err(Error::polars("distinct actions"))?;
    let names = |column: &str| -> HashMap<u32, String> {
        Dictionaries::shared()
            .category_values(column)
            .into_iter()
            .collect()
    };
    let (providers, actions) = (names(PROVIDER), names(ACTION));
    Ok(u64s(&distinct, "k")?
        .into_iter()
        .flatten()
        .filter(|k| {
            let provider = providers.get(&((k >> 32) as u32));
            let action = actions.get(&((k & 0xffff_ffff) as u32));
            let (Some(provider), Some(action)) = (provider, action) else {
                return false;
            };
            accept(&Combo {
                key: *k,
                provider: provider.clone(),
                service: String::new(),
                action: action.clone(),
            })
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::super::LinkedActor;
    use super::*;

    fn row(identity: &str, actors: &[&str]) -> IdentityRow {
        IdentityRow {
            identity: identity.to_string(),
            actors: actors
                .iter()
                .map(|a| LinkedActor {
                    actor: a.to_string(),
                    provider: "aws".into(),
                    why: String::new(),
                })
                .collect(),
            ..IdentityRow::default()
        }
    }

    #[test]
    fn targets_name_identities_only_on_evidence() {
        let carol = "arn:aws:iam::111122223333:user/carol";
        let etl_a = "arn:aws:sts::111122223333:assumed-role/etl/a";
        let etl_b = "arn:aws:sts::444455556666:assumed-role/etl/b";
        let rows = [
            row(carol, &[carol]),
            row(etl_a, &[etl_a]),
            row(etl_b, &[etl_b]),
            row("ann@example.com", &["ann@example.com"]),
        ];
        let names = Resolver::new(&rows);
        // An IAM user named by its user name, an e-mail in any case or with a member prefix.
        assert_eq!(names.identity_of("carol"), Some(carol));
        assert_eq!(
            names.identity_of("Ann@Example.com"),
            Some("ann@example.com")
        );
        assert_eq!(
            names.identity_of("user:ann@example.com"),
            Some("ann@example.com")
        );
        // Two roles named etl in two accounts: naming either would be a guess.
        assert_eq!(names.identity_of("etl"), None);
        // A shared display name or a prefix is no evidence.
        assert_eq!(names.identity_of("ann"), None);
        assert_eq!(names.identity_of(""), None);
    }
}
