//! Identity resolution: the person or workload behind each event, across providers, from
//! what the logs prove and the `[identities]` configuration.
//!
//! Every actor string and every other identifier a record proves for it (the `actor_id`
//! column) is a node; nodes are joined only on evidence:
//! - one record names both (an Entra sign-in's UPN and object id, an Okta login and user id,
//!   a GitHub login and its SAML name id or account id, an Azure caller and its `oid` claim);
//! - an IAM Identity Center session (`assumed-role/AWSReservedSSO_*/<e-mail>`) is the person
//!   with that e-mail address, who signed in to Identity Center as it;
//! - the same e-mail address (a UPN, an Okta login, a Google account) in several providers;
//! - the configuration pins identifiers to a named identity; two identifiers pinned to
//!   different names are never joined, whatever the evidence (how a wrong join is split).
//!
//! An identifier that records give both to a person and to a workload (a `human` and a
//! `service` actor beside one object id: a test fixture's or a redaction's id) is evidence of
//! nothing, like one that too many names claim.
//!
//! A shared principal is never joined to a person: an EKS user mapped from an IAM role is the
//! assumed-role session that used it (its `actor_id`), not the role, and a display name
//! (which two people may share) stands for the object id beside it. IP addresses, roles and
//! display names are not evidence.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;

use polars::prelude::*;

use crate::schema::{ACTOR, ACTOR_ID, ACTOR_TYPE, Dictionaries, IDENTITY, PROVIDER};
use crate::{Error, Result};
use renames::{physical_times, widen};

/// Identifiers the configuration pins to named identities (`[identities]`: name -> list).
pub type IdentityLinks = BTreeMap<String, Vec<String>>;

/// One identifier joined into an identity, and the evidence for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ActorLink {
    /// The actor string (or other identifier) as the logs write it.
    pub actor: String,
    /// The provider whose records carry it (as in the `provider` column; `config` for an
    /// identity name that only the configuration gives).
    pub provider: String,
    /// Why it belongs to the identity.
    pub why: String,
}

/// Where an identifier is unique: e-mail addresses and ARNs are global, Microsoft object ids
/// are unique in the directory Entra, Azure and AKS share; other names only in their provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Space {
    Email,
    Arn,
    ObjectId,
    Provider(&'static str),
    Config,
}

/// How readable a node is as an identity's name (lower is better).
fn name_rank(space: Space, text: &str) -> u8 {
    match space {
        Space::Config => 0,
        Space::Email => 1,
        Space::Arn if text.contains(":user/") => 2,
        Space::Provider(_) if !is_numeric(text) => 3,
        Space::Arn => 4,
        Space::Provider(_) => 5,
        Space::ObjectId => 6,
    }
}

#[derive(Debug, Clone)]
struct Node {
    space: Space,
    /// As first written in the logs.
    text: String,
    parent: usize,
    /// Why it joined its identity (first evidence), when it did.
    why: Option<String>,
    /// Providers whose records carry it.
    providers: BTreeSet<&'static str>,
    /// The provider it was first seen in (its `why` is about that provider's records).
    first: Option<&'static str>,
    /// The configured name it is pinned to (index into `pinned_names`), on roots.
    pin: Option<usize>,
    /// For a configured name's own node: its index into `pinned_names`.
    config_pin: Option<usize>,
}

/// The identity of every actor seen, and how each was linked.
#[derive(Debug, Clone, Default)]
pub struct Identities {
    nodes: Vec<Node>,
    index: HashMap<(Space, String), usize>,
    /// Configured identifiers (lowercase) -> configured name index.
    pins: HashMap<String, usize>,
    pinned_names: Vec<String>,
    /// Every distinct (provider, actor, actor_id) seen, in order, as dictionary ids (the
    /// names are in the process-wide dictionaries; `NO_ID`: no actor_id): the graph holds each
    /// actor's text in its node alone.
    observed: Vec<(u32, u32, u32)>,
    /// The node each observation's events are.
    observed_node: Vec<usize>,
    /// Each observation's `actor_type` dictionary id (`NO_ID` when null), as first seen.
    observed_types: Vec<u32>,
    /// The nodes each observation names: its actor, and the `actor_id` when it was used.
    observed_names: Vec<(usize, Option<usize>)>,
    /// (provider, actor, actor_id) dictionary ids -> index into `observed`.
    /// Hashed with foldhash: this lookup runs once per loaded row.
    combos: HashMap<(u32, u32, u32), usize, foldhash::fast::FixedState>,
    /// Per identifier seen as an `actor_id`: the distinct actors records name beside it.
    claims: HashMap<usize, BTreeSet<usize>>,
    /// Per identifier seen as an `actor_id`: whether a person, and whether a workload, was
    /// named beside it.
    claimed_as: HashMap<usize, [bool; 2]>,
    /// Identifiers that are evidence of nothing (a placeholder such as a redacted or test id,
    /// an id reused by several principals), with what the actors they would have joined say
    /// (`not joined through <id>: <reason>`).
    untrusted: HashMap<(Space, String), String>,
    /// Per actor node: an untrusted identifier records name beside it (the first one), so
    /// its link can say why it was not joined through it.
    not_joined: HashMap<usize, (Space, String)>,
    /// Per observation: the earliest and latest time of its rows (`None`: no row had a
    /// time), to tell a rename (one name after the other) from names used in turn.
    observed_spans: Vec<Option<(i64, i64)>>,
    /// Per observation, the span of the rows of the frame being labelled, and which
    /// observations it holds: kept between calls so a batch costs its distinct
    /// observations, not every one seen.
    frame_spans: Vec<Option<(i64, i64)>>,
    frame_seen: Vec<usize>,
    /// Identifiers that just became untrusted: the joins of their identities are undone by
    /// resolving that identity's observations again.
    untrusting: Vec<usize>,
    /// Per root: its most readable member, which names it.
    best: HashMap<usize, usize>,
    /// Per root: the nodes of its identity (so taking one apart costs its size, not all).
    members: HashMap<usize, Vec<usize>>,
    /// Per node: the observations that name it (as actor or as `actor_id`).
    node_observations: HashMap<usize, Vec<usize>>,
    /// Nodes whose identity may have a new name (new roots, joined roots, absorbed ones).
    dirty: BTreeSet<usize>,
    /// Lowercase name before disambiguation -> the roots that would carry it.
    by_base: HashMap<String, BTreeSet<usize>>,
    base_of: HashMap<usize, String>,
    /// Identity name per root.
    names: HashMap<usize, String>,
    /// Roots whose name rows already carry, with that name.
    used: HashMap<usize, String>,
    /// A join changed the name of an identity rows already carry: relabel every row.
    relabel: bool,
    /// Joins the configuration refused (two identifiers pinned to different names).
    refused: u64,
    /// Links and lookup, built when first asked for after a change.
    derived: OnceLock<Derived>,
}

/// What the accessors read, built from the nodes on demand.
#[derive(Debug, Clone, Default)]
struct Derived {
    /// Identity name -> its links.
    links: BTreeMap<String, Vec<ActorLink>>,
    /// Lowercase identifier -> identity name.
    lookup: HashMap<String, String>,
}

const NO_ID: u32 = u32::MAX;

/// How many different names one identifier may be seen beside (a UPN or login and its one
/// rename) before it counts as shared or a placeholder rather than one principal's id. A
/// second rename is rare, and joining two people is worse than missing a join that
/// `[identities]` can make.
const MAX_CLAIMANTS: usize = 2;

impl Identities {
    /// An empty resolver with the configured links.
    pub fn new(links: &IdentityLinks) -> Identities {
        let mut identities = Identities::default();
        for (name, members) in links {
            let pin = identities.pinned_names.len();
            identities.pinned_names.push(name.clone());
            let node = identities.node(Space::Config, name, None);
            identities.nodes[node].pin = Some(pin);
            identities.nodes[node].config_pin = Some(pin);
            identities.nodes[node].why = Some(format!("named {name} in [identities]"));
            for member in members {
                identities.pins.insert(member.trim().to_lowercase(), pin);
            }
        }
        identities
    }

    /// The identity column for a frame's rows: resolves every new (provider, actor,
    /// actor_id) combination, then names each row's identity.
    pub fn label(&mut self, frame: &DataFrame) -> Result<Column> {
        let providers = physical(frame, PROVIDER)?;
        let actors = physical(frame, ACTOR)?;
        let ids = physical(frame, ACTOR_ID)?;
        let types = physical(frame, ACTOR_TYPE)?;
        let times = physical_times(frame)?;
        let dicts = Dictionaries::shared();
        let mut rows = Vec::with_capacity(frame.height());
        let rows_in = providers.iter().zip(actors.iter()).zip(ids.iter());
        for ((((provider, actor), id), actor_type), time) in
            rows_in.zip(types.iter()).zip(times.iter())
        {
            let (Some(provider), Some(actor)) = (provider, actor) else {
                rows.push(None);
                continue;
            };
            let key = (provider, actor, id.unwrap_or(NO_ID));
            let seen = match self.combos.get(&key) {
                Some(&seen) => seen,
                None => {
                    let (provider_name, actor_text, id_text) = observed_names(key);
                    let actor_type = actor_type.unwrap_or(NO_ID);
                    let kind = type_name(actor_type);
                    let (node, names) = self.observe(provider_name, actor_text, id_text, kind);
                    let seen = self.observed.len();
                    self.observed_types.push(actor_type);
                    self.observed_spans.push(None);
                    self.observed_names.push(names);
                    self.index_observation(seen, names);
                    self.observed.push(key);
                    self.observed_node.push(node);
                    self.combos.insert(key, seen);
                    seen
                }
            };
            if let Some(time) = time {
                if self.frame_spans.len() <= seen {
                    self.frame_spans.resize(seen + 1, None);
                }
                let span = &mut self.frame_spans[seen];
                if span.is_none() {
                    self.frame_seen.push(seen);
                }
                *span = Some(widen(*span, time, time));
            }
            rows.push(Some(seen));
        }
        self.note_spans();
        self.settle();
        self.refresh();
        let mapping = dicts.mapping(IDENTITY);
        // Per observation, the identity's dictionary id: a row costs a hash lookup and an
        // index (observations are numbered densely).
        let mut by_seen: Vec<Option<u32>> = vec![None; self.observed.len()];
        let mut out = Vec::with_capacity(rows.len());
        for seen in rows {
            out.push(match seen {
                None => None,
                Some(seen) => Some(match by_seen.get(seen).copied().flatten() {
                    Some(id) => id,
                    None => {
                        let root = self.find(self.observed_node[seen]);
                        let name = self.names.get(&root).cloned().unwrap_or_default();
                        let id = mapping.map_or(0, |m| m.insert_cat(&name).unwrap_or(0));
                        self.used.insert(root, name);
                        if let Some(slot) = by_seen.get_mut(seen) {
                            *slot = Some(id);
                        }
                        id
                    }
                }),
            });
        }
        let dtype = dicts.dtype(IDENTITY).cloned().unwrap_or(DataType::String);
        let physical = UInt32Chunked::from_iter_options(IDENTITY.into(), out.into_iter());
        Ok(Categorical32Chunked::from_cats_and_dtype(physical, dtype).into_column())
    }

    /// Whether a join since the last call changed the identity of rows labelled before (the
    /// whole column must be labelled again); clears the flag.
    pub fn take_relabel(&mut self) -> bool {
        std::mem::take(&mut self.relabel)
    }

    /// Whether a join since the last [`Identities::take_relabel`] changed the identity of
    /// rows labelled before.
    pub fn wants_relabel(&self) -> bool {
        self.relabel
    }

    /// The identity an identifier belongs to: any actor string or other identifier the logs
    /// carry for it (an Entra object id, an Okta user id), case-insensitive.
    pub fn identity_of(&self, name: &str) -> Option<&str> {
        let derived = self.derived();
        derived
            .lookup
            .get(&name.trim().to_lowercase())
            .map(String::as_str)
    }

    /// The identity of an identifier as `provider`'s records write it: exact where
    /// [`Identities::identity_of`] may be ambiguous (a login `dana` on GitHub and in Kubernetes).
    pub fn identity_in(&self, provider: &str, name: &str) -> Option<&str> {
        let provider = static_provider(provider);
        let space = space_of(provider, name.trim());
        let node = *self.index.get(&(space, normalize(space, name.trim())))?;
        self.names.get(&self.root(node)).map(String::as_str)
    }

    /// Every identifier joined into an identity, with the evidence (empty for an unknown
    /// identity).
    pub fn links(&self, identity: &str) -> &[ActorLink] {
        self.derived()
            .links
            .get(identity)
            .map_or(&[], Vec::as_slice)
    }

    /// Every identity with its links, by name.
    pub fn all(&self) -> &BTreeMap<String, Vec<ActorLink>> {
        &self.derived().links
    }

    /// Identifiers ignored as evidence: too many names seen beside them, names used in turn
    /// under them, or given to a person and to a workload.
    pub fn placeholders(&self) -> usize {
        self.untrusted.len()
    }

    /// Joins the configuration refused because the two sides are pinned to different names.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// The node an event of `provider` by `actor` (of type `actor_type`, with the record's
    /// other identifier `actor_id`) is, joining what the record proves; and the nodes it names.
    fn observe(
        &mut self,
        provider: &'static str,
        actor: &str,
        actor_id: Option<&str>,
        actor_type: Option<&str>,
    ) -> (usize, (usize, Option<usize>)) {
        let actor_node = self.node_for(provider, actor);
        let alone = (actor_node, (actor_node, None));
        let Some(id) = actor_id.map(str::trim).filter(|id| usable_id(provider, id)) else {
            return alone;
        };
        let id_space = space_of(provider, id);
        let id_key = (id_space, normalize(id_space, id));
        if self.untrusted.contains_key(&id_key) {
            self.not_joined.entry(actor_node).or_insert(id_key);
            return alone;
        }
        let id_node = self.node_for(provider, id);
        let names = (actor_node, Some(id_node));
        if let Some(workload) = is_workload(actor_type) {
            let claimed = self.claimed_as.entry(id_node).or_default();
            claimed[usize::from(workload)] = true;
            if claimed == &[true, true] {
                // One principal is a person or a workload, not both: the id is reused.
                self.untrust(
                    id_node,
                    "records give it to a person and to a workload".into(),
                );
                return (actor_node, names);
            }
        }
        if shared_principal(actor) {
            // An IAM role or a display name names no one person: the event is the session
            // or object id beside it.
            return (id_node, names);
        }
        let claimants = self.claims.entry(id_node).or_default();
        claimants.insert(actor_node);
        if claimants.len() > MAX_CLAIMANTS {
            // One id beside many names is shared or a placeholder (`REDACTED`, a test
            // fixture's id), not one principal renamed: nothing joined through it holds.
            let count = claimants.len();
            self.untrust(
                id_node,
                format!("{count} names are seen beside it, more than one rename"),
            );
            return (actor_node, names);
        }
        let why = format!("{provider} records name {actor} and {id} together");
        self.join(actor_node, id_node, &why);
        (actor_node, names)
    }

    /// Marks an identifier as evidence of nothing, for `reason`; its joins are undone by the
    /// next [`Identities::settle`].
    fn untrust(&mut self, id_node: usize, reason: String) {
        let node = &self.nodes[id_node];
        let key = (node.space, normalize(node.space, &node.text));
        let note = format!("not joined through {}: {reason}", node.text);
        if let std::collections::hash_map::Entry::Vacant(slot) = self.untrusted.entry(key) {
            slot.insert(note);
            self.untrusting.push(id_node);
        }
    }

    /// Undoes the joins made through identifiers that became untrusted: each one's identity
    /// is taken apart and its observations resolved again (only that identity's, so a
    /// hostile input with many placeholders costs a scan of integers per placeholder, not a
    /// rebuild of everything).
    fn settle(&mut self) {
        while let Some(id_node) = self.untrusting.pop() {
            let root = self.find(id_node);
            let members: HashSet<usize> = self
                .members
                .remove(&root)
                .unwrap_or_else(|| vec![root])
                .into_iter()
                .collect();
            if members.iter().any(|m| self.used.contains_key(m)) {
                self.relabel = true;
            }
            for &m in &members {
                let node = &mut self.nodes[m];
                node.parent = m;
                node.pin = node.config_pin;
                if node.config_pin.is_none() {
                    node.why = None;
                }
                self.best.insert(m, m);
                self.members.insert(m, vec![m]);
                self.claims.remove(&m);
                self.dirty.insert(m);
                self.used.remove(&m);
            }
            for &m in &members {
                self.implied_joins(m);
            }
            let touched: BTreeSet<usize> = members
                .iter()
                .filter_map(|m| self.node_observations.get(m))
                .flatten()
                .copied()
                .collect();
            for i in touched {
                let (provider, actor, id) = observed_names(self.observed[i]);
                let kind = type_name(self.observed_types.get(i).copied().unwrap_or(NO_ID));
                let (node, names) = self.observe(provider, actor, id, kind);
                self.observed_node[i] = node;
                self.observed_names[i] = names;
                self.index_observation(i, names);
            }
            self.derived = OnceLock::new();
        }
    }

    /// Remembers which nodes observation `i` names, for [`Identities::settle`].
    fn index_observation(&mut self, i: usize, (actor, id): (usize, Option<usize>)) {
        for node in std::iter::once(actor).chain(id) {
            let list = self.node_observations.entry(node).or_default();
            if list.last() != Some(&i) {
                list.push(i);
            }
        }
    }

    /// The node of an identifier seen in `provider`'s records, created (with the joins its
    /// text alone proves) when new.
    fn node_for(&mut self, provider: &'static str, text: &str) -> usize {
        let text = text.trim();
        let space = space_of(provider, text);
        self.node(space, text, Some(provider))
    }

    /// The joins a node's text alone proves: an Identity Center session is its user, an
    /// identifier the configuration lists is that identity.
    fn implied_joins(&mut self, node: usize) {
        if self.nodes[node].space == Space::Config {
            return;
        }
        let text = self.nodes[node].text.clone();
        if let Some((role, email)) = identity_center_session(&text) {
            let person = self.node(Space::Email, email, None);
            let why = format!("IAM Identity Center session of {email} (role {role})");
            self.join(node, person, &why);
        }
        if let Some(&pin) = self.pins.get(&text.to_lowercase()) {
            let named = self.pinned_names[pin].clone();
            let config_key = (Space::Config, normalize(Space::Config, &named));
            if let Some(config) = self.index.get(&config_key).copied() {
                self.join(
                    node,
                    config,
                    &format!("listed under {named} in [identities]"),
                );
            }
        }
    }

    fn node(&mut self, space: Space, text: &str, provider: Option<&'static str>) -> usize {
        let key = (space, normalize(space, text));
        let node = match self.index.get(&key) {
            Some(&node) => node,
            None => {
                let node = self.nodes.len();
                self.nodes.push(Node {
                    space,
                    text: text.to_owned(),
                    parent: node,
                    why: None,
                    providers: BTreeSet::new(),
                    first: provider,
                    pin: None,
                    config_pin: None,
                });
                self.index.insert(key, node);
                self.best.insert(node, node);
                self.members.insert(node, vec![node]);
                self.dirty.insert(node);
                self.derived = OnceLock::new();
                self.implied_joins(node);
                node
            }
        };
        if let Some(p) = provider
            && self.nodes[node].providers.insert(p)
        {
            self.derived = OnceLock::new();
        }
        node
    }

    /// The root of a node's identity, without shortening paths (for `&self` readers).
    fn root(&self, mut node: usize) -> usize {
        while self.nodes[node].parent != node {
            node = self.nodes[node].parent;
        }
        node
    }

    /// The root of a node's identity, pointing the nodes on the way straight at it.
    fn find(&mut self, node: usize) -> usize {
        let root = self.root(node);
        let mut at = node;
        while self.nodes[at].parent != root && at != root {
            let next = self.nodes[at].parent;
            self.nodes[at].parent = root;
            at = next;
        }
        root
    }

    /// Joins two nodes' identities unless they are pinned to different names.
    fn join(&mut self, a: usize, b: usize, why: &str) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return;
        }
        let (pa, pb) = (self.nodes[ra].pin, self.nodes[rb].pin);
        if let (Some(x), Some(y)) = (pa, pb)
            && x != y
        {
            self.refused += 1;
            return;
        }
        for n in [a, b] {
            if self.nodes[n].why.is_none() {
                self.nodes[n].why = Some(why.to_owned());
            }
        }
        // The smaller index stays root, so roots are stable as data arrives.
        let (root, child) = if ra < rb { (ra, rb) } else { (rb, ra) };
        self.nodes[child].parent = root;
        self.nodes[root].pin = pa.or(pb);
        let moved = self.members.remove(&child).unwrap_or_else(|| vec![child]);
        self.members.entry(root).or_default().extend(moved);
        let child_best = self.best.remove(&child).unwrap_or(child);
        let root_best = self.best.get(&root).copied().unwrap_or(root);
        let better = |x: &Node, y: &Node| {
            (name_rank(x.space, &x.text), &x.text) < (name_rank(y.space, &y.text), &y.text)
        };
        if better(&self.nodes[child_best], &self.nodes[root_best]) {
            self.best.insert(root, child_best);
        }
        self.dirty.insert(root);
        self.dirty.insert(child);
        self.derived = OnceLock::new();
    }

    /// Names the identities that changed since the last call; asks for a relabel when rows
    /// carry a name that changed.
    fn refresh(&mut self) {
        let dirty = std::mem::take(&mut self.dirty);
        let mut groups: BTreeSet<String> = BTreeSet::new();
        let mut absorbed: Vec<(usize, String)> = Vec::new();
        for node in dirty {
            let is_root = self.nodes[node].parent == node;
            let base = is_root.then(|| self.base_name(node).to_lowercase());
            let old = self.base_of.get(&node).cloned();
            if old != base {
                if let Some(old) = old {
                    if let Some(group) = self.by_base.get_mut(&old) {
                        group.remove(&node);
                    }
                    self.base_of.remove(&node);
                    groups.insert(old);
                }
                if let Some(base) = &base {
                    self.by_base.entry(base.clone()).or_default().insert(node);
                    self.base_of.insert(node, base.clone());
                }
            }
            if let Some(base) = base {
                groups.insert(base);
            } else {
                self.names.remove(&node);
                if let Some(name) = self.used.remove(&node) {
                    absorbed.push((node, name));
                }
            }
        }
        for group in groups {
            let roots: Vec<usize> = self
                .by_base
                .get(&group)
                .map(|g| g.iter().copied().collect())
                .unwrap_or_default();
            let mut taken: HashMap<String, usize> = HashMap::new();
            for &root in &roots {
                let mut name = self.base_name(root);
                // A configured name is the user's choice: it stays as written, others move
                // aside, named by where their name comes from.
                if roots.len() > 1 && self.nodes[root].pin.is_none() {
                    name = format!("{name} ({})", self.place(root));
                }
                let seen = taken.entry(name.to_lowercase()).or_default();
                *seen += 1;
                if *seen > 1 {
                    name = format!("{name} #{seen}");
                }
                if let Some(old) = self.used.get_mut(&root)
                    && *old != name
                {
                    self.relabel = true;
                    old.clone_from(&name);
                }
                self.names.insert(root, name);
            }
            if self.by_base.get(&group).is_some_and(BTreeSet::is_empty) {
                self.by_base.remove(&group);
            }
        }
        for (child, old) in absorbed {
            let root = self.find(child);
            match self.names.get(&root) {
                Some(name) if *name == old => {
                    self.used.entry(root).or_insert(old);
                }
                _ => self.relabel = true,
            }
        }
    }

    /// A root's name before disambiguation: its configured name, else its best member's.
    fn base_name(&self, root: usize) -> String {
        match self.nodes[root].pin {
            Some(pin) => self.pinned_names[pin].clone(),
            None => {
                let best = &self.nodes[self.best.get(&root).copied().unwrap_or(root)];
                display(best.space, &best.text)
            }
        }
    }

    /// Where a root's name comes from, to tell apart identities that would share one.
    fn place(&self, root: usize) -> &'static str {
        let best = &self.nodes[self.best.get(&root).copied().unwrap_or(root)];
        match best.space {
            Space::Provider(p) => p,
            Space::Email => "e-mail",
            Space::Arn => "aws",
            Space::ObjectId => "object id",
            Space::Config => "config",
        }
    }

    fn derived(&self) -> &Derived {
        self.derived.get_or_init(|| self.build_derived())
    }

    /// Every identity's links and the identifier lookup, from the nodes.
    fn build_derived(&self) -> Derived {
        let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for node in 0..self.nodes.len() {
            members.entry(self.root(node)).or_default().push(node);
        }
        let mut derived = Derived::default();
        for (root, nodes) in members {
            let Some(name) = self.names.get(&root) else {
                continue;
            };
            derived
                .lookup
                .entry(name.to_lowercase())
                .or_insert_with(|| name.clone());
            let links = self.links_of(name, root, &nodes, &mut derived.lookup);
            derived.links.insert(name.clone(), links);
        }
        derived
    }

    /// Every identifier of one identity with the evidence that joined it; fills the lookup.
    fn links_of(
        &self,
        name: &str,
        root: usize,
        nodes: &[usize],
        lookup: &mut HashMap<String, String>,
    ) -> Vec<ActorLink> {
        let mut links = Vec::new();
        for &n in nodes {
            let node = &self.nodes[n];
            lookup
                .entry(node.text.to_lowercase())
                .or_insert_with(|| name.to_owned());
            for provider in &node.providers {
                let why = match (&node.why, node.first) {
                    (_, Some(first)) if first != *provider => format!(
                        "the same {} as in {first} records",
                        if node.space == Space::Email {
                            "e-mail address"
                        } else {
                            "identifier"
                        }
                    ),
                    (Some(why), _) => why.clone(),
                    (None, _) => {
                        match self.not_joined.get(&n).and_then(|k| self.untrusted.get(k)) {
                            Some(note) => format!("the actor itself; {note}"),
                            None => "the actor itself".to_owned(),
                        }
                    }
                };
                links.push(ActorLink {
                    actor: node.text.clone(),
                    provider: (*provider).to_owned(),
                    why,
                });
            }
        }
        // An identity whose names only the configuration gives keeps one row of evidence.
        if links.is_empty()
            && let Some(why) = &self.nodes[root].why
        {
            links.push(ActorLink {
                actor: name.to_owned(),
                provider: "config".to_owned(),
                why: why.clone(),
            });
        }
        links.sort_by(|a, b| (&a.provider, &a.actor).cmp(&(&b.provider, &b.actor)));
        links
    }
}

/// A provider name from the `provider` column as the static name the schema lists.
fn static_provider(name: &str) -> &'static str {
    crate::schema::PROVIDERS
        .iter()
        .find(|p| **p == name)
        .copied()
        .unwrap_or("other")
}

/// The provider, actor and actor_id names of an observation's dictionary ids.
fn observed_names(
    (provider, actor, id): (u32, u32, u32),
) -> (&'static str, &'static str, Option<&'static str>) {
    let dicts = Dictionaries::shared();
    let provider = static_provider(dicts.category_name(PROVIDER, provider).unwrap_or(""));
    let actor = dicts.category_name(ACTOR, actor).unwrap_or("");
    let id = (id != NO_ID)
        .then(|| dicts.category_name(ACTOR_ID, id))
        .flatten();
    (provider, actor, id)
}

/// The `actor_type` name of its dictionary id.
fn type_name(id: u32) -> Option<&'static str> {
    (id != NO_ID)
        .then(|| Dictionaries::shared().category_name(ACTOR_TYPE, id))
        .flatten()
}

/// Whether an actor type names a workload (`service`) or a person (`human`); other types
/// (`system`, `unknown`, ...) say neither.
fn is_workload(actor_type: Option<&str>) -> Option<bool> {
    match actor_type? {
        "human" => Some(false),
        "service" => Some(true),
        _ => None,
    }
}

/// The physical dictionary ids of a categorical column.
fn physical(frame: &DataFrame, column: &str) -> Result<UInt32Chunked> {
    let series = frame
        .column(column)
        .map_err(Error::polars("reading a column for identities"))?
        .as_materialized_series()
        .to_physical_repr()
        .into_owned();
    series
        .u32()
        .cloned()
        .map_err(Error::polars("reading a column for identities"))
}

/// Where an identifier written in `provider`'s records is unique.
fn space_of(provider: &'static str, text: &str) -> Space {
    if is_email(text) {
        Space::Email
    } else if text.starts_with("arn:aws") {
        Space::Arn
    } else if is_guid(text) && matches!(provider, "entra" | "azure" | "kubernetes") {
        Space::ObjectId
    } else {
        Space::Provider(provider)
    }
}

/// The key text of an identifier: ARNs are case-sensitive, everything else is not.
fn normalize(space: Space, text: &str) -> String {
    match space {
        Space::Arn => text.to_owned(),
        _ => text.to_lowercase(),
    }
}

/// An identity's name as shown: e-mail addresses in lowercase, the rest as written.
fn display(space: Space, text: &str) -> String {
    match space {
        Space::Email | Space::ObjectId => text.to_lowercase(),
        _ => text.to_owned(),
    }
}

/// `local@domain.tld` without spaces, and not a Kubernetes or GCP system principal.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !text.starts_with("system:")
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c == '/' || c == ':')
}

fn is_guid(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Whether an `actor_id` can be evidence: not a placeholder (`REDACTED`, `unknown`, the nil
/// GUID), and of the shape the provider's ids have (Microsoft object ids are GUIDs).
fn usable_id(provider: &str, id: &str) -> bool {
    let lower = id.to_ascii_lowercase();
    let placeholder = lower.is_empty()
        || lower
            .trim_matches(|c: char| c == '0' || c == '-')
            .is_empty()
        || [
            "redacted", "anonymi", "unknown", "null", "none", "n/a", "<", "***", "xxx",
        ]
        .iter()
        .any(|p| lower.starts_with(p));
    if placeholder {
        return false;
    }
    match provider {
        "entra" | "azure" => is_guid(id),
        "okta" => id.len() >= 3 && !id.contains(char::is_whitespace),
        "github" => !id.contains(char::is_whitespace),
        _ => true,
    }
}

fn is_numeric(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// An identifier that does not name one person or workload: an IAM role (whoever assumed it),
/// a username template, or a display name (two people may share one).
fn shared_principal(actor: &str) -> bool {
    let role = actor.starts_with("arn:aws")
        && actor
            .splitn(6, ':')
            .nth(5)
            .is_some_and(|r| r.starts_with("role/"));
    // `{{SessionName}}`: an EKS access entry's username template, the same for everyone.
    role || actor.contains("{{") || actor.trim().contains(char::is_whitespace)
}

/// `(role, e-mail)` of an IAM Identity Center session ARN
/// (`arn:aws:sts::<account>:assumed-role/AWSReservedSSO_<set>_<id>/<e-mail>`): the session
/// name is the Identity Center user name, set by AWS, not by the caller.
fn identity_center_session(arn: &str) -> Option<(&str, &str)> {
    let resource = arn
        .splitn(6, ':')
        .nth(5)
        .filter(|_| arn.starts_with("arn:aws"))?;
    let (role, session) = resource.strip_prefix("assumed-role/")?.split_once('/')?;
    (role.starts_with("AWSReservedSSO_") && is_email(session)).then_some((role, session))
}

mod renames;

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests;
