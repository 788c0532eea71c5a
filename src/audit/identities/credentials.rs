//! Credentials seen in the logs, per owning identity: access keys, service-account keys,
//! service-principal secrets and certificates, personal access tokens and API tokens; when
//! each was created (and by whom), rotated (a newer one for the same owner), deleted, first
//! and last used, its age and the networks it was used from. The kinds of credential events
//! are the detectors' table ([`credential_change`]); uses are counted with one Polars
//! group-by over the events that carry a key id (AWS long-term keys, GCP service-account
//! keys).

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;

use super::DAY;
use super::activity::network;
use super::names::{Dict, Records, Resolver, identity_column};
use crate::detectors::credentials::{CredentialChange, credential_change, credential_owner};
use crate::detectors::event::{Ev, i64s, strings, u64s};
use crate::schema::{SESSION, SRC_IP, TIME};
use crate::{Error, Result};

/// One credential of an identity.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credential {
    /// `access key`, `service-account key`, `service-principal secret`, `personal access
    /// token` or `API token`.
    pub kind: String,
    /// Its id or name, when the logs give one.
    pub id: Option<String>,
    /// The provider.
    pub provider: String,
    /// When it was created (µs), when the logs show it.
    pub created: Option<i64>,
    /// Who created it.
    pub created_by: Option<String>,
    /// When a newer credential of the same kind was created for the same owner.
    pub rotated: Option<i64>,
    /// When it was deleted or deactivated.
    pub deleted: Option<i64>,
    /// Its first use in the logs.
    pub first_used: Option<i64>,
    /// Its last use in the logs.
    pub last_used: Option<i64>,
    /// Distinct networks (/24, /48) it was used from.
    pub networks: u64,
    /// Whether the provider logs which credential made a call (else use is unknown).
    pub use_logged: bool,
}

impl Credential {
    /// Days from its creation (or first use) to its deletion or the end of the data.
    pub fn age_days(&self, end: i64) -> Option<i64> {
        let start = self.created.or(self.first_used)?;
        Some((self.deleted.unwrap_or(end) - start).max(0) / DAY)
    }

    /// Still usable at the end of the logs.
    pub fn active(&self) -> bool {
        self.deleted.is_none()
    }
}

/// The credential's id in a credential event, when the record has one.
fn id_of(ev: &Ev, records: &Records) -> Option<String> {
    let id = match ev.provider.as_str() {
        "aws" => ev.detail("accessKeyId").map(str::to_string),
        "gcp" => ev
            .detail("serviceAccountKey")
            .map(str::to_string)
            .or_else(|| ev.resource.split_once("/keys/").map(|(_, k)| k.to_string())),
        "github" => ev
            .detail("token_name")
            .map(str::to_string)
            .or_else(|| records.session(ev).map(str::to_string)),
        "okta" => Some(ev.resource.clone()),
        _ => None,
    };
    id.filter(|i| !i.is_empty())
}

/// The identity a credential belongs to, as written in the event.
fn owner_of(ev: &Ev) -> String {
    match ev.provider.as_str() {
        // An Okta API token acts as the admin who created it.
        "okta" => ev.actor.clone(),
        "github" if ev.resource.is_empty() => ev.actor.clone(),
        _ => credential_owner(ev),
    }
}

/// The key id a `session` value names, for the providers that log it per call.
fn used_key(session: &str) -> Option<&str> {
    if session.starts_with("AKIA") {
        return Some(session);
    }
    session
        .split_once("/keys/")
        .map(|(_, k)| k)
        .filter(|k| !k.is_empty())
}

/// The credentials of every identity the inventory knows (`end`: the end of the data).
pub(crate) fn credentials(
    frame: &DataFrame,
    records: &Records,
    resolver: &Resolver,
    end: i64,
) -> Result<BTreeMap<String, Vec<Credential>>> {
    let mut out: BTreeMap<String, Vec<Credential>> = BTreeMap::new();
    // Creations first, in time order; then what ends or changes them.
    for ev in records.events.iter().filter(|e| e.ok()) {
        let Some((change, kind)) = credential_change(&ev.provider, &ev.action) else {
            continue;
        };
        let Some(owner) = resolver.identity_of(&owner_of(ev)).map(str::to_string) else {
            continue;
        };
        let id = id_of(ev, records);
        // Whether its uses can be found: the provider logs the key per call, and the
        // record names the key.
        let use_logged = matches!(ev.provider.as_str(), "aws" | "gcp") && id.is_some();
        let list = out.entry(owner).or_default();
        match change {
            CredentialChange::Create => {
                // The newest credential of that kind before this one is rotated by it.
                if let Some(previous) = list
                    .iter_mut()
                    .rev()
                    .find(|c| c.kind == kind && c.rotated.is_none() && c.created.is_some())
                {
                    previous.rotated = Some(ev.time);
                }
                list.push(Credential {
                    kind: kind.to_string(),
                    id,
                    provider: ev.provider.clone(),
                    created: Some(ev.time),
                    created_by: Some(
                        resolver
                            .identity_of(&ev.actor)
                            .map(str::to_string)
                            .unwrap_or_else(|| ev.actor.clone()),
                    ),
                    use_logged,
                    ..Credential::default()
                });
            }
            CredentialChange::Delete | CredentialChange::Deactivate => {
                let deactivate = ev.detail("status").is_some_and(|s| s == "Active");
                if deactivate {
                    continue;
                }
                let found = match &id {
                    Some(id) => list.iter_mut().find(|c| c.id.as_ref() == Some(id)),
                    // Without an id: the oldest live credential of that kind.
                    None => list
                        .iter_mut()
                        .find(|c| c.kind == kind && c.deleted.is_none()),
                };
                match found {
                    Some(c) => c.deleted = Some(ev.time),
                    None => list.push(Credential {
                        kind: kind.to_string(),
                        id,
                        provider: ev.provider.clone(),
                        deleted: Some(ev.time),
                        use_logged,
                        ..Credential::default()
                    }),
                }
            }
            CredentialChange::Update => {
                // AWS UpdateAccessKey with status Inactive deactivates the key.
                let inactive = ev.detail("status").is_some_and(|s| s == "Inactive");
                if let (true, Some(id)) = (inactive, &id)
                    && let Some(c) = list.iter_mut().find(|c| c.id.as_ref() == Some(id))
                {
                    c.deleted = Some(ev.time);
                }
            }
        }
    }
    record_uses(frame, &mut out)?;
    for list in out.values_mut() {
        list.sort_by(|a, b| {
            let start = |c: &Credential| c.created.or(c.first_used).unwrap_or(end);
            start(a).cmp(&start(b)).then_with(|| a.id.cmp(&b.id))
        });
    }
    Ok(out)
}

/// Adds first and last use and networks to the credentials whose uses the logs name, and
/// the long-term keys seen only in use. Polars groups the uses by (identity, key), with the
/// networks counted from each distinct address parsed once.
fn record_uses(frame: &DataFrame, out: &mut BTreeMap<String, Vec<Credential>>) -> Result<()> {
    let session = col(SESSION);
    let keyed = session
        .clone()
        .str()
        .starts_with(lit("AKIA"))
        .or(session.str().contains_literal(lit("/keys/")));
    let err = Error::polars("credential uses");
    let uses = frame
        .clone()
        .lazy()
        .filter(col(identity_column()).is_not_null().and(keyed))
        .select([
            col(identity_column())
                .to_physical()
                .cast(DataType::UInt64)
                .alias("id"),
            col(SESSION),
            col(SRC_IP).to_physical().cast(DataType::UInt64).alias("ip"),
            col(TIME),
        ])
        .collect()
        .map_err(err)?;
    if uses.height() == 0 {
        return Ok(());
    }
    // Each distinct address as its network (/24, /48), one integer.
    let addresses = Dict::of(SRC_IP);
    let ips: Vec<u64> = {
        let distinct = uses
            .column("ip")
            .map_err(Error::polars("credential uses"))?
            .unique()
            .map_err(Error::polars("credential uses"))?;
        let frame = DataFrame::new(distinct.len(), vec![distinct])
            .map_err(Error::polars("credential uses"))?;
        u64s(&frame, "ip")?.into_iter().flatten().collect()
    };
    let nets: Vec<Option<u64>> = ips
        .iter()
        .map(|ip| {
            addresses.name(*ip).and_then(network).map(|(v4, prefix)| {
                if v4 {
                    (1 << 63) | prefix as u64
                } else {
                    prefix as u64
                }
            })
        })
        .collect();
    let map = df!("ip" => ips, "net" => nets).map_err(Error::polars("credential uses"))?;
    let keys = uses
        .lazy()
        .join(
            map.lazy(),
            [col("ip")],
            [col("ip")],
            JoinArgs::new(JoinType::Left),
        )
        .group_by([col("id"), col(SESSION)])
        .agg([
            col(TIME).min().alias("first"),
            col(TIME).max().alias("last"),
            col("net").drop_nulls().n_unique().alias("nets"),
        ])
        .collect()
        .map_err(Error::polars("credential uses"))?;
    let (ids, sessions) = (u64s(&keys, "id")?, strings(&keys, SESSION)?);
    let (firsts, lasts, counts) = (
        i64s(&keys, "first")?,
        i64s(&keys, "last")?,
        u64s(&keys, "nets")?,
    );
    // The credentials the logs show created, by id (key ids are unique), with their owner.
    let mut created: HashMap<String, (String, usize)> = HashMap::new();
    for (owner, list) in out.iter() {
        for (i, c) in list.iter().enumerate() {
            if let Some(id) = &c.id {
                created.insert(id.clone(), (owner.clone(), i));
            }
        }
    }
    let identities = Dict::of(identity_column());
    // Rows of one identity follow each other (sorted by id): its list is looked up once.
    let mut order: Vec<usize> = (0..keys.height()).collect();
    order.sort_by_key(|&i| ids[i]);
    let mut current: Option<(u64, &str, Vec<Credential>)> = None;
    let flush = |done: Option<(u64, &str, Vec<Credential>)>,
                 out: &mut BTreeMap<String, Vec<Credential>>| {
        if let Some((_, owner, seen)) = done
            && !seen.is_empty()
        {
            out.entry(owner.to_string()).or_default().extend(seen);
        }
    };
    for i in order {
        let (Some(id), Some(key)) = (ids[i], used_key(&sessions[i])) else {
            continue;
        };
        let Some(owner) = identities.name(id) else {
            continue;
        };
        if current.as_ref().is_none_or(|(c, _, _)| *c != id) {
            flush(current.take(), out);
            current = Some((id, owner, Vec::new()));
        }
        let Some((_, _, seen)) = current.as_mut() else {
            continue;
        };
        let known = created
            .get(key)
            .filter(|(o, _)| o == owner)
            .and_then(|(_, at)| out.get_mut(owner).and_then(|l| l.get_mut(*at)));
        let aws = sessions[i].starts_with("AKIA");
        let credential = match known {
            Some(c) => c,
            None => {
                seen.push(Credential {
                    kind: if aws {
                        "access key"
                    } else {
                        "service-account key"
                    }
                    .to_string(),
                    id: Some(key.to_string()),
                    provider: if aws { "aws" } else { "gcp" }.to_string(),
                    use_logged: true,
                    ..Credential::default()
                });
                let Some(c) = seen.last_mut() else {
                    continue;
                };
                c
            }
        };
        credential.first_used = min_some(credential.first_used, firsts[i]);
        credential.last_used = max_some(credential.last_used, lasts[i]);
        credential.networks += counts[i].unwrap_or(0);
    }
    flush(current.take(), out);
    Ok(())
}

fn min_some(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_some(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}
