//! The events a rule selected, read one by one: [`Ev`] holds the columns rules word their
//! reasons with as owned text, in time order; the `details` reader and the column readers
//! that turn a small Polars result into plain vectors.

use polars::prelude::*;

use crate::schema::{
    ACCOUNT, ACTION, ACTOR, ACTOR_TYPE, CITY, COUNTRY, DETAILS, ERROR, EVENT_ID, LOG_TYPE, MFA,
    OUTCOME, PRIVILEGED, PROVIDER, READ_ONLY, RESOURCE, SERVICE, SRC_IP, TIME, USER_AGENT,
};
use crate::{Error, Result};

/// The row-index column added to the frame the rules see ([`Ev::row`]).
pub(crate) const ROW: &str = "__row";

/// One selected event, with the columns rules read as owned text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ev {
    /// Row in the frame the rules ran on.
    pub row: u32,
    /// UTC µs.
    pub time: i64,
    /// Provider.
    pub provider: String,
    /// Log type.
    pub log_type: String,
    /// Provider's event id.
    pub event_id: String,
    /// Actor.
    pub actor: String,
    /// Actor type.
    pub actor_type: String,
    /// Action.
    pub action: String,
    /// Service.
    pub service: String,
    /// Target.
    pub resource: String,
    /// Source address.
    pub src_ip: String,
    /// User agent.
    pub user_agent: String,
    /// The caller's country (ISO code).
    pub country: String,
    /// The caller's city.
    pub city: String,
    /// Outcome.
    pub outcome: String,
    /// Error.
    pub error: String,
    /// MFA used.
    pub mfa: Option<bool>,
    /// Read-only.
    pub read_only: Option<bool>,
    /// Privileged.
    pub privileged: bool,
    /// Account.
    pub account: String,
    /// Details (`key=value ...`).
    pub details: String,
}

impl Ev {
    /// A value of `details`.
    pub fn detail(&self, key: &str) -> Option<&str> {
        detail(&self.details, key)
    }

    /// Whether the event succeeded.
    pub fn ok(&self) -> bool {
        self.outcome == "success"
    }

    /// Whether the actor is a non-human identity.
    pub fn non_human(&self) -> bool {
        matches!(self.actor_type.as_str(), "service" | "system")
    }

    /// A short name of the actor (the last path segment of an ARN).
    pub fn who(&self) -> &str {
        short_actor(&self.actor)
    }

    /// Where the event came from, for reasons: its source address (or the name the provider
    /// gives instead), `an unknown address` when the record has none.
    pub fn source(&self) -> &str {
        if self.src_ip.is_empty() {
            "an unknown address"
        } else {
            &self.src_ip
        }
    }

    /// The resource acted on, or `?` when the record names none (for reasons).
    pub fn target(&self) -> &str {
        if self.resource.is_empty() {
            "?"
        } else {
            &self.resource
        }
    }
}

/// A short, readable name for an actor: the last segment of an ARN.
pub fn short_actor(actor: &str) -> &str {
    if actor.starts_with("arn:") {
        actor.rsplit('/').next().unwrap_or(actor)
    } else {
        actor
    }
}

/// The value of `key` in a `key=value ...` details text (values may hold spaces, and may
/// be quoted).
pub fn detail<'d>(details: &'d str, key: &str) -> Option<&'d str> {
    let mut search = 0;
    while let Some(found) = details[search..].find(key) {
        let at = search + found;
        let after = at + key.len();
        let starts = at == 0 || details.as_bytes().get(at - 1) == Some(&b' ');
        if starts && details.as_bytes().get(after) == Some(&b'=') {
            let rest = &details[after + 1..];
            let end = next_key(rest).unwrap_or(rest.len());
            let value = rest[..end].trim();
            return Some(value.trim_matches('"'));
        }
        search = after;
    }
    None
}

/// Where the next ` key=` starts in a details value.
fn next_key(rest: &str) -> Option<usize> {
    let bytes = rest.as_bytes();
    let mut i = 0;
    while let Some(space) = rest[i..].find(' ') {
        let start = i + space + 1;
        let mut j = start;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
            j += 1;
        }
        if j > start && bytes.get(j) == Some(&b'=') {
            return Some(start - 1);
        }
        i = start;
    }
    None
}

/// A column as text (nulls as "").
pub(crate) fn strings(df: &DataFrame, name: &str) -> Result<Vec<String>> {
    let column = df
        .column(name)
        .map_err(Error::polars("reading a column"))?
        .cast(&DataType::String)
        .map_err(Error::polars("reading a column"))?;
    let ca = column.str().map_err(Error::polars("reading a column"))?;
    Ok(ca
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect())
}

fn bools(df: &DataFrame, name: &str) -> Result<Vec<Option<bool>>> {
    let column = df.column(name).map_err(Error::polars("reading a column"))?;
    let ca = column.bool().map_err(Error::polars("reading a column"))?;
    Ok(ca.iter().collect())
}

/// A column as optional `i64`s (times as µs).
pub(crate) fn i64s(df: &DataFrame, name: &str) -> Result<Vec<Option<i64>>> {
    let series = df
        .column(name)
        .map_err(Error::polars("reading a column"))?
        .as_materialized_series()
        .to_physical_repr()
        .cast(&DataType::Int64)
        .map_err(Error::polars("reading a column"))?;
    let ca = series.i64().map_err(Error::polars("reading a column"))?;
    Ok(ca.iter().collect())
}

/// A column as optional `u32`s (dictionary ids of a categorical column).
pub(crate) fn u32s(df: &DataFrame, name: &str) -> Result<Vec<Option<u32>>> {
    let series = df
        .column(name)
        .map_err(Error::polars("reading a column"))?
        .as_materialized_series()
        .to_physical_repr()
        .cast(&DataType::UInt32)
        .map_err(Error::polars("reading a column"))?;
    let ca = series.u32().map_err(Error::polars("reading a column"))?;
    Ok(ca.iter().collect())
}

/// A column's physical values as `u32`s (dictionary ids of a categorical column), `none`
/// for null: 4 bytes a row where `Option<u32>` takes 8, copied a chunk at a time.
pub(crate) fn ids(df: &DataFrame, name: &str, none: u32) -> Result<Vec<u32>> {
    physical::<UInt32Type>(df, name, none)
}

/// A column's physical values as `i64`s (times as µs), `none` for null.
pub(crate) fn i64s_or(df: &DataFrame, name: &str, none: i64) -> Result<Vec<i64>> {
    physical::<Int64Type>(df, name, none)
}

/// A column's physical values cast to `T`, `none` for null.
fn physical<T: PolarsNumericType>(
    df: &DataFrame,
    name: &str,
    none: T::Native,
) -> Result<Vec<T::Native>> {
    let series = df
        .column(name)
        .map_err(Error::polars("reading a column"))?
        .as_materialized_series()
        .to_physical_repr()
        .cast(&T::get_static_dtype())
        .map_err(Error::polars("reading a column"))?;
    let ca = series
        .unpack::<T>()
        .map_err(Error::polars("reading a column"))?;
    let mut out = Vec::with_capacity(ca.len());
    if ca.null_count() == 0 {
        for array in ca.downcast_iter() {
            out.extend_from_slice(array.values());
        }
    } else {
        out.extend(ca.iter().map(|v| v.unwrap_or(none)));
    }
    Ok(out)
}

/// A column as optional `u64`s (physical ids, counts).
pub(crate) fn u64s(df: &DataFrame, name: &str) -> Result<Vec<Option<u64>>> {
    let series = df
        .column(name)
        .map_err(Error::polars("reading a column"))?
        .as_materialized_series()
        .to_physical_repr()
        .cast(&DataType::UInt64)
        .map_err(Error::polars("reading a column"))?;
    let ca = series.u64().map_err(Error::polars("reading a column"))?;
    Ok(ca.iter().collect())
}

/// The rows of a selection as events, in time order; `name` names the dictionary ids of
/// the categorical columns (cheaper than Polars casting them to text).
pub(crate) fn events<'n>(
    df: &DataFrame,
    name: impl Fn(&'static str, u32) -> Option<&'n str>,
) -> Result<Vec<Ev>> {
    let rows = u64s(df, ROW)?;
    let times = i64s(df, TIME)?;
    let text = |column: &'static str| -> Result<Vec<String>> {
        if !crate::schema::is_categorical(column) {
            return strings(df, column);
        }
        Ok(u32s(df, column)?
            .into_iter()
            .map(|id| {
                id.and_then(|id| name(column, id))
                    .unwrap_or_default()
                    .to_string()
            })
            .collect())
    };
    let (provider, log_type, event_id, actor, actor_type) = (
        text(PROVIDER)?,
        text(LOG_TYPE)?,
        text(EVENT_ID)?,
        text(ACTOR)?,
        text(ACTOR_TYPE)?,
    );
    let (action, service, resource, src_ip, user_agent) = (
        text(ACTION)?,
        text(SERVICE)?,
        text(RESOURCE)?,
        text(SRC_IP)?,
        text(USER_AGENT)?,
    );
    let (country, city, outcome, error, account, details) = (
        text(COUNTRY)?,
        text(CITY)?,
        text(OUTCOME)?,
        text(ERROR)?,
        text(ACCOUNT)?,
        text(DETAILS)?,
    );
    let (mfa, read_only, privileged) = (
        bools(df, MFA)?,
        bools(df, READ_ONLY)?,
        bools(df, PRIVILEGED)?,
    );
    // The texts are moved into the events, not copied: a rule may select 100,000 rows.
    let mut texts = [
        provider, log_type, event_id, actor, actor_type, action, service, resource, src_ip,
        user_agent, country, city, outcome, error, account, details,
    ]
    .map(Vec::into_iter);
    let mut next = |i: usize| texts[i].next().unwrap_or_default();
    let mut out: Vec<Ev> = (0..df.height())
        .map(|i| Ev {
            row: rows[i].unwrap_or(0) as u32,
            time: times[i].unwrap_or(0),
            provider: next(0),
            log_type: next(1),
            event_id: next(2),
            actor: next(3),
            actor_type: next(4),
            action: next(5),
            service: next(6),
            resource: next(7),
            src_ip: next(8),
            user_agent: next(9),
            country: next(10),
            city: next(11),
            outcome: next(12),
            error: next(13),
            mfa: mfa[i],
            read_only: read_only[i],
            privileged: privileged[i].unwrap_or(false),
            account: next(14),
            details: next(15),
        })
        .collect();
    out.sort_by_key(|e| (e.time, e.row));
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn details_values_are_found_with_spaces_and_quotes() {
        let d = "category=RoleManagement role=Global Administrator op_name=\"Create role\" x=1";
        assert_eq!(detail(d, "role"), Some("Global Administrator"));
        assert_eq!(detail(d, "category"), Some("RoleManagement"));
        assert_eq!(detail(d, "op_name"), Some("Create role"));
        assert_eq!(detail(d, "x"), Some("1"));
        assert_eq!(detail(d, "name"), None);
        assert_eq!(
            detail(
                "userName=a policyArn=arn:aws:iam::aws:policy/Admin",
                "policyArn"
            ),
            Some("arn:aws:iam::aws:policy/Admin")
        );
    }
}
