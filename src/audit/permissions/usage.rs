//! What each AWS principal did: one Polars group-by of the selected events by actor,
//! identity, service, action and outcome, keeping each group's times; the few thousand
//! groups are then mapped to IAM actions and to the principal that acted (an IAM user, or
//! the role an assumed-role session acted as).

use polars::prelude::*;

use super::catalog::{Catalog, Mapping};
use crate::detectors::event::strings;
use crate::schema::{ACTION, ACTOR, IDENTITY, OUTCOME, PROVIDER, SERVICE, TIME};
use crate::{Error, Result};

/// The calls of one principal to one action.
#[derive(Debug, Clone)]
pub struct Use {
    /// The principal (`arn:aws:iam::<account>:user/<name>` or `...:role/<name>`).
    pub principal: String,
    /// The identity (the `identity` column) of the calls.
    pub identity: String,
    /// The service and action as logged.
    pub service: String,
    /// The action as logged.
    pub action: String,
    /// What it maps to.
    pub mapping: Mapping,
    /// When each call was made, in time order (µs).
    pub times: Vec<i64>,
}

/// The successful AWS calls of the events, per principal and action, and how many events
/// mapped to an IAM action, could not be mapped, needed no permission, or had no IAM
/// principal (root, AWS services, federated users).
#[derive(Debug, Default)]
pub struct Usage {
    /// Per principal, identity and action.
    pub uses: Vec<Use>,
    /// Successful AWS events mapped to an IAM action.
    pub mapped: u64,
    /// Successful AWS events whose action cannot be told.
    pub cannot_tell: u64,
    /// Successful AWS events that need no permission.
    pub unpermissioned: u64,
    /// Successful AWS events with no IAM user or role behind them.
    pub unattributed: u64,
}

/// The IAM principal whose permissions an actor uses: the user itself, or the role of an
/// assumed-role session.
pub fn principal_of(actor: &str) -> Option<String> {
    if let Some(rest) = actor.strip_prefix("arn:aws:iam::") {
        let (account, path) = rest.split_once(':')?;
        let name = path.strip_prefix("user/")?;
        let name = name.rsplit('/').next()?;
        return Some(format!("arn:aws:iam::{account}:user/{name}"));
    }
    let rest = actor.strip_prefix("arn:aws:sts::")?;
    let (account, path) = rest.split_once(':')?;
    let role = path.strip_prefix("assumed-role/")?.split('/').next()?;
    (!role.is_empty()).then(|| format!("arn:aws:iam::{account}:role/{role}"))
}

const N: &str = "__n";
const TIMES: &str = "__times";

/// The successful AWS calls of `events`.
pub fn usage(events: &DataFrame, catalog: &Catalog) -> Result<Usage> {
    let groups = events
        .clone()
        .lazy()
        .group_by([
            col(PROVIDER),
            col(OUTCOME),
            col(ACTOR),
            col(IDENTITY),
            col(SERVICE),
            col(ACTION),
        ])
        .agg([len().alias(N), col(TIME).alias(TIMES)])
        .collect()
        .map_err(Error::polars("grouping the calls by principal and action"))?;
    let providers = strings(&groups, PROVIDER)?;
    let outcomes = strings(&groups, OUTCOME)?;
    let actors = strings(&groups, ACTOR)?;
    let identities = strings(&groups, IDENTITY)?;
    let services = strings(&groups, SERVICE)?;
    let actions = strings(&groups, ACTION)?;
    let times = groups
        .column(TIMES)
        .map_err(Error::polars("reading the call times"))?
        .list()
        .map_err(Error::polars("reading the call times"))?
        .clone();
    let mut usage = Usage::default();
    for (i, list) in times.amortized_iter().enumerate() {
        let get = |v: &Vec<String>| -> String { v.get(i).cloned().unwrap_or_default() };
        if get(&providers) != "aws" || get(&outcomes) != "success" {
            continue;
        }
        let mut calls: Vec<i64> = match list {
            Some(series) => {
                let physical = series.as_ref().to_physical_repr();
                match physical.i64() {
                    Ok(ca) => ca.iter().flatten().collect(),
                    Err(_) => Vec::new(),
                }
            }
            None => Vec::new(),
        };
        calls.sort_unstable();
        let n = calls.len() as u64;
        let (service, action) = (get(&services), get(&actions));
        let mapping = catalog.map(&service, &action);
        let Some(principal) = principal_of(&get(&actors)) else {
            usage.unattributed += n;
            continue;
        };
        match mapping {
            Mapping::Action(_) => usage.mapped += n,
            Mapping::Unpermissioned => {
                usage.unpermissioned += n;
                continue;
            }
            _ => usage.cannot_tell += n,
        }
        let identity = get(&identities);
        usage.uses.push(Use {
            identity: if identity.is_empty() {
                principal.clone()
            } else {
                identity
            },
            principal,
            service,
            action,
            mapping,
            times: calls,
        });
    }
    usage.uses.sort_by(|a, b| {
        (&a.principal, &a.service, &a.action, &a.identity).cmp(&(
            &b.principal,
            &b.service,
            &b.action,
            &b.identity,
        ))
    });
    Ok(usage)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sessions_act_with_their_role_and_users_with_themselves() {
        assert_eq!(
            principal_of("arn:aws:sts::111122223333:assumed-role/deploy/ci-run-1").as_deref(),
            Some("arn:aws:iam::111122223333:role/deploy")
        );
        assert_eq!(
            principal_of("arn:aws:iam::111122223333:user/team/alice").as_deref(),
            Some("arn:aws:iam::111122223333:user/alice")
        );
        assert_eq!(principal_of("arn:aws:iam::111122223333:root"), None);
        assert_eq!(principal_of("ec2.amazonaws.com"), None);
    }
}
