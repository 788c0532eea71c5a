//! Who acts as whom: the frame's distinct (provider, actor, identity) combinations, read once
//! with a Polars group-by. They name a grantee as its identity (the resolver's answer first,
//! else the identity the frame shows for actors of the same name), and key each actor's
//! privileged actions for the join that counts a grant's use: by identity, per provider
//! family, and for AWS role sessions also by the role they act as.

use std::collections::{BTreeSet, HashMap, HashSet};

use polars::prelude::*;

use crate::detectors::Context;
use crate::detectors::event::u64s;
use crate::detectors::grants::who_of_actor;
use crate::identity::Identities;
use crate::schema::{ACTOR, IDENTITY, PROVIDER};
use crate::{Error, Result};

/// Column names of the key frame (the event columns never start with `__`).
pub(crate) const PROVIDER_ID: &str = "__provider_id";
pub(crate) const ACTOR_ID: &str = "__actor_id";
pub(crate) const IDENTITY_ID: &str = "__identity_id";
pub(crate) const KEY: &str = "__use_key";
const N: &str = "__n";
/// The id standing for a missing identity.
const NO_ID: u64 = u32::MAX as u64;

/// Whose privileged actions are a grant's use: an identity (or a role) per provider family
/// (Entra and Azure as one: directory roles act on the Azure control plane too).
pub(crate) fn use_key(provider: &str, name: &str) -> String {
    let family = match provider {
        "entra" | "azure" => "microsoft",
        other => other,
    };
    format!("{family}|{}", name.to_lowercase())
}

/// The use key of an AWS role: its sessions act as it.
pub(crate) fn role_key(role: &str) -> String {
    use_key("aws", &format!("role:{role}"))
}

struct Combo {
    ids: (u32, u32, u32),
    provider: String,
    actor: String,
    identity: Option<String>,
}

/// The actors of the frame with their identities.
pub(crate) struct Actors {
    combos: Vec<Combo>,
    /// `use_key(provider, who)` -> the identities of the actors so named.
    by_who: HashMap<String, BTreeSet<String>>,
}

impl Actors {
    /// Reads the frame's (provider, actor, identity) combinations.
    pub(crate) fn of(ctx: &Context<'_>) -> Result<Actors> {
        let err = Error::polars("reading who acts as whom");
        let has_identity = ctx.frame.column(IDENTITY).is_ok();
        let identity = if has_identity {
            col(IDENTITY)
                .to_physical()
                .cast(DataType::UInt64)
                .fill_null(lit(NO_ID))
        } else {
            lit(NO_ID)
        };
        let df = ctx
            .frame
            .clone()
            .lazy()
            .group_by([
                col(PROVIDER)
                    .to_physical()
                    .cast(DataType::UInt64)
                    .alias(PROVIDER_ID),
                col(ACTOR)
                    .to_physical()
                    .cast(DataType::UInt64)
                    .alias(ACTOR_ID),
                identity.alias(IDENTITY_ID),
            ])
            .agg([len().alias(N)])
            .collect()
            .map_err(err)?;
        let (providers, actors, identities) = (
            u64s(&df, PROVIDER_ID)?,
            u64s(&df, ACTOR_ID)?,
            u64s(&df, IDENTITY_ID)?,
        );
        let mut combos = Vec::with_capacity(df.height());
        let mut by_who: HashMap<String, BTreeSet<String>> = HashMap::new();
        for i in 0..df.height() {
            let (Some(p), Some(a)) = (providers[i], actors[i]) else {
                continue;
            };
            let (Some(provider), Some(actor)) =
                (ctx.name(PROVIDER, p as u32), ctx.name(ACTOR, a as u32))
            else {
                continue;
            };
            let ident = identities[i].filter(|&id| id != NO_ID).unwrap_or(NO_ID);
            let identity = (ident != NO_ID)
                .then(|| ctx.name(IDENTITY, ident as u32).map(str::to_string))
                .flatten()
                .filter(|n| !n.is_empty());
            if let Some(name) = &identity {
                by_who
                    .entry(use_key(provider, &who_of_actor(actor)))
                    .or_default()
                    .insert(name.clone());
            }
            combos.push(Combo {
                ids: (p as u32, a as u32, ident as u32),
                provider: provider.to_string(),
                actor: actor.to_string(),
                identity,
            });
        }
        Ok(Actors { combos, by_who })
    }

    /// A grantee named as its identity: the resolver's (by the name as written, then as an
    /// actor would read it), else the one identity the frame shows for actors of that name,
    /// else the name as an actor would read it (`who`).
    pub(crate) fn identity(
        &self,
        identities: Option<&Identities>,
        provider: &str,
        written: &str,
        who: &str,
    ) -> String {
        let resolved = identities.and_then(|ids| {
            ids.identity_in(provider, written)
                .or_else(|| ids.identity_in(provider, who))
                .or_else(|| ids.identity_of(written))
                .or_else(|| ids.identity_of(who))
        });
        if let Some(name) = resolved {
            return name.to_string();
        }
        match self.by_who.get(&use_key(provider, who)) {
            Some(names) if names.len() == 1 => names.iter().next().cloned().unwrap_or_default(),
            _ => who.to_string(),
        }
    }

    /// The join's key frame: (provider, actor, identity) dictionary ids with each use key
    /// among `wanted` that the actor's actions count for; and the actor names per key.
    pub(crate) fn keys(
        &self,
        wanted: &HashSet<&str>,
    ) -> Result<(DataFrame, HashMap<String, Vec<String>>)> {
        let (mut p_ids, mut a_ids, mut i_ids, mut keys) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let mut names: HashMap<String, Vec<String>> = HashMap::new();
        for c in &self.combos {
            let who = who_of_actor(&c.actor);
            let own = use_key(&c.provider, c.identity.as_deref().unwrap_or(&who));
            let role =
                (c.provider == "aws" && c.actor.contains(":assumed-role/")).then(|| role_key(&who));
            for key in std::iter::once(own).chain(role) {
                if !wanted.contains(key.as_str()) {
                    continue;
                }
                let list = names.entry(key.clone()).or_default();
                if !list.contains(&c.actor) {
                    list.push(c.actor.clone());
                    list.sort();
                }
                p_ids.push(c.ids.0);
                a_ids.push(c.ids.1);
                i_ids.push(c.ids.2);
                keys.push(key);
            }
        }
        let frame = DataFrame::new_infer_height(vec![
            Column::new(PROVIDER_ID.into(), p_ids),
            Column::new(ACTOR_ID.into(), a_ids),
            Column::new(IDENTITY_ID.into(), i_ids),
            Column::new(KEY.into(), keys),
        ])
        .map_err(Error::polars("keying the grantees' actions"))?;
        Ok((frame, names))
    }
}
