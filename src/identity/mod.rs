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
//! A shared principal is never joined to a person: an EKS user mapped from an IAM role is the
//! assumed-role session that used it (its `actor_id`), not the role, and a display name
//! (which two people may share) stands for the object id beside it. IP addresses, roles and
//! display names are not evidence.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use polars::prelude::*;

use crate::schema::{ACTOR, ACTOR_ID, Dictionaries, IDENTITY, PROVIDER};
use crate::{Error, Result};

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
}

/// The identity of every actor seen, and how each was linked.
#[derive(Debug, Clone, Default)]
pub struct Identities {
    nodes: Vec<Node>,
    index: HashMap<(Space, String), usize>,
    /// Configured identifiers (lowercase) -> configured name index.
    pins: HashMap<String, usize>,
    pinned_names: Vec<String>,
    /// The configuration the resolver was built with (to rebuild it).
    config: IdentityLinks,
    /// Every distinct (provider, actor, actor_id) seen, in order.
    observed: Vec<(&'static str, String, Option<String>)>,
    /// The node each observation's events are.
    observed_node: Vec<usize>,
    /// (provider, actor, actor_id) dictionary ids -> index into `observed`.
    combos: HashMap<(u32, u32, u32), usize>,
    /// Per identifier seen as an `actor_id`: the distinct actors records name beside it.
    claims: HashMap<usize, BTreeSet<usize>>,
    /// Identifiers too many actors claim (a placeholder such as a redacted or test id): no
    /// evidence of anything.
    untrusted: HashSet<(Space, String)>,
    /// An identifier became untrusted: joins made through it are undone by replaying every
    /// observation.
    rebuild: bool,
    /// Identity name per root, valid while `stale` is false.
    names: HashMap<usize, String>,
    /// Identity name -> its links, valid while `stale` is false.
    links: BTreeMap<String, Vec<ActorLink>>,
    /// Lowercase identifier -> identity name, valid while `stale` is false.
    lookup: HashMap<String, String>,
    stale: bool,
    /// Roots whose name rows already carry.
    used: HashMap<usize, String>,
    /// A join changed the name of an identity rows already carry: relabel every row.
    relabel: bool,
    /// Joins the configuration refused (two identifiers pinned to different names).
    refused: u64,
}

const NO_ID: u32 = u32::MAX;

/// How many different names one identifier may be seen beside (a UPN or login renamed, then
/// renamed again) before it counts as a placeholder rather than one principal's id.
const MAX_CLAIMANTS: usize = 3;

impl Identities {
    /// An empty resolver with the configured links.
    pub fn new(links: &IdentityLinks) -> Identities {
        let mut identities = Identities {
            config: links.clone(),
            ..Identities::default()
        };
        for (name, members) in links {
            let pin = identities.pinned_names.len();
            identities.pinned_names.push(name.clone());
            let node = identities.node(Space::Config, name, None);
            identities.nodes[node].pin = Some(pin);
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
        let dicts = Dictionaries::shared();
        let mut rows = Vec::with_capacity(frame.height());
        for ((provider, actor), id) in providers.iter().zip(actors.iter()).zip(ids.iter()) {
            let (Some(provider), Some(actor)) = (provider, actor) else {
                rows.push(None);
                continue;
            };
            let key = (provider, actor, id.unwrap_or(NO_ID));
            let seen = match self.combos.get(&key) {
                Some(&seen) => seen,
                None => {
                    let provider_name = dicts.category_name(PROVIDER, provider).unwrap_or("");
                    let provider_name = static_provider(provider_name);
                    let actor_text = dicts.category_name(ACTOR, actor).unwrap_or("");
                    let id_text = id.and_then(|id| dicts.category_name(ACTOR_ID, id));
                    let node = self.observe(provider_name, actor_text, id_text);
                    let seen = self.observed.len();
                    self.observed.push((
                        provider_name,
                        actor_text.to_owned(),
                        id_text.map(str::to_owned),
                    ));
                    self.observed_node.push(node);
                    self.combos.insert(key, seen);
                    seen
                }
            };
            rows.push(Some(seen));
        }
        if self.rebuild {
            self.replay();
        }
        let nodes: Vec<Option<usize>> = rows
            .into_iter()
            .map(|seen| seen.map(|i| self.observed_node[i]))
            .collect();
        self.refresh();
        let mapping = dicts.mapping(IDENTITY);
        let mut by_root: HashMap<usize, u32> = HashMap::new();
        let mut out = Vec::with_capacity(frame.height());
        for node in nodes {
            out.push(match node {
                None => None,
                Some(node) => {
                    let root = self.root(node);
                    let id = match by_root.get(&root) {
                        Some(&id) => id,
                        None => {
                            let name = self.names.get(&root).cloned().unwrap_or_default();
                            let id = mapping.map_or(0, |m| m.insert_cat(&name).unwrap_or(0));
                            self.used.insert(root, name);
                            by_root.insert(root, id);
                            id
                        }
                    };
                    Some(id)
                }
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

    /// The identity an identifier belongs to: any actor string or other identifier the logs
    /// carry for it (an Entra object id, an Okta user id), case-insensitive.
    pub fn identity_of(&self, name: &str) -> Option<&str> {
        self.lookup
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
        self.links.get(identity).map_or(&[], Vec::as_slice)
    }

    /// Every identity with its links, by name.
    pub fn all(&self) -> &BTreeMap<String, Vec<ActorLink>> {
        &self.links
    }

    /// Joins the configuration refused because the two sides are pinned to different names.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// The node an event of `provider` by `actor` (with the record's other identifier
    /// `actor_id`) is, joining what the record proves.
    fn observe(&mut self, provider: &'static str, actor: &str, actor_id: Option<&str>) -> usize {
        let actor_node = self.node_for(provider, actor);
        let Some(id) = actor_id.map(str::trim).filter(|id| usable_id(provider, id)) else {
            return actor_node;
        };
        let id_space = space_of(provider, id);
        if self
            .untrusted
            .contains(&(id_space, normalize(id_space, id)))
        {
            return actor_node;
        }
        let id_node = self.node_for(provider, id);
        if shared_principal(actor) {
            // An IAM role or a display name names no one person: the event is the session
            // or object id beside it.
            return id_node;
        }
        let claimants = self.claims.entry(id_node).or_default();
        claimants.insert(actor_node);
        if claimants.len() > MAX_CLAIMANTS {
            // One id beside many names is a placeholder (`REDACTED`, a test fixture's id),
            // not one principal renamed: nothing joined through it holds.
            self.untrusted.insert((id_space, normalize(id_space, id)));
            self.rebuild = true;
            return actor_node;
        }
        let why = format!("{provider} records name {actor} and {id} together");
        self.join(actor_node, id_node, &why);
        actor_node
    }

    /// Resolves every observation again from scratch, without the untrusted identifiers.
    fn replay(&mut self) {
        while std::mem::take(&mut self.rebuild) {
            let fresh = Identities::new(&self.config);
            self.nodes = fresh.nodes;
            self.index = fresh.index;
            self.claims.clear();
            self.stale = true;
            let observed = std::mem::take(&mut self.observed);
            for (i, (provider, actor, id)) in observed.iter().enumerate() {
                self.observed_node[i] = self.observe(provider, actor, id.as_deref());
            }
            self.observed = observed;
        }
        // Node numbers changed: every labelled row is labelled again.
        if !self.used.is_empty() {
            self.used.clear();
            self.relabel = true;
        }
    }

    /// The node of an identifier seen in `provider`'s records, created (with the joins its
    /// text alone proves) when new.
    fn node_for(&mut self, provider: &'static str, text: &str) -> usize {
        let text = text.trim();
        let space = space_of(provider, text);
        let node = self.node(space, text, Some(provider));
        if let Some((role, email)) = identity_center_session(text) {
            let person = self.node(Space::Email, email, None);
            let why = format!("IAM Identity Center session of {email} (role {role})");
            self.join(node, person, &why);
        }
        node
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
                });
                self.index.insert(key, node);
                self.stale = true;
                if space != Space::Config
                    && let Some(&pin) = self.pins.get(&text.to_lowercase())
                {
                    let named = self.pinned_names[pin].clone();
                    let config_key = (Space::Config, normalize(Space::Config, &named));
                    let config = self.index.get(&config_key).copied();
                    if let Some(config) = config {
                        self.join(
                            node,
                            config,
                            &format!("listed under {named} in [identities]"),
                        );
                    }
                }
                node
            }
        };
        if let Some(p) = provider
            && self.nodes[node].providers.insert(p)
        {
            self.stale = true;
        }
        node
    }

    fn root(&self, mut node: usize) -> usize {
        while self.nodes[node].parent != node {
            node = self.nodes[node].parent;
        }
        node
    }

    /// Joins two nodes' identities unless they are pinned to different names.
    fn join(&mut self, a: usize, b: usize, why: &str) {
        let (ra, rb) = (self.root(a), self.root(b));
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
        self.stale = true;
        // Rows labelled with the child's name keep it until `refresh` says whether the joined
        // identity's name differs; both sides labelled already means one of them changes.
        if let Some(old) = self.used.remove(&child) {
            match self.used.get(&root) {
                Some(_) => self.relabel = true,
                None => {
                    self.used.insert(root, old);
                }
            }
        }
    }

    /// Recomputes names, links and the lookup after joins or new nodes.
    fn refresh(&mut self) {
        if !self.stale {
            return;
        }
        self.stale = false;
        let mut members: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for node in 0..self.nodes.len() {
            members.entry(self.root(node)).or_default().push(node);
        }
        let names = self.unique_names(&members);
        self.names.clear();
        self.links.clear();
        self.lookup.clear();
        for (root, nodes) in members {
            let name = names.get(&root).cloned().unwrap_or_default();
            if let Some(old) = self.used.get_mut(&root)
                && *old != name
            {
                self.relabel = true;
                old.clone_from(&name);
            }
            self.lookup
                .entry(name.to_lowercase())
                .or_insert_with(|| name.clone());
            let links = self.links_of(&name, root, &nodes);
            self.names.insert(root, name.clone());
            self.links.insert(name, links);
        }
    }

    /// A name per identity: its configured name, else its most readable identifier; two
    /// identities that would share a name (`dana` on GitHub and in Kubernetes) are told apart
    /// by where the name comes from, never merged.
    fn unique_names(&self, members: &BTreeMap<usize, Vec<usize>>) -> HashMap<usize, String> {
        let mut best: Vec<(usize, &Node)> = Vec::with_capacity(members.len());
        for (&root, nodes) in members {
            let node = nodes.iter().map(|&n| &self.nodes[n]).min_by(|x, y| {
                (name_rank(x.space, &x.text), &x.text).cmp(&(name_rank(y.space, &y.text), &y.text))
            });
            if let Some(node) = node {
                best.push((root, node));
            }
        }
        let base = |root: usize, node: &Node| match self.nodes[root].pin {
            Some(pin) => self.pinned_names[pin].clone(),
            None => display(node.space, &node.text),
        };
        let mut count: HashMap<String, usize> = HashMap::new();
        for (root, node) in &best {
            *count.entry(base(*root, node).to_lowercase()).or_default() += 1;
        }
        let mut taken: HashMap<String, usize> = HashMap::new();
        let mut out = HashMap::with_capacity(best.len());
        for (root, node) in best {
            let mut name = base(root, node);
            // A configured name is the user's choice: it stays as written, others move aside.
            let pinned = self.nodes[root].pin.is_some();
            if !pinned && count.get(&name.to_lowercase()).copied().unwrap_or(0) > 1 {
                let place = match node.space {
                    Space::Provider(p) => p,
                    Space::Email => "e-mail",
                    Space::Arn => "aws",
                    Space::ObjectId => "object id",
                    Space::Config => "config",
                };
                name = format!("{name} ({place})");
            }
            let seen = taken.entry(name.to_lowercase()).or_default();
            *seen += 1;
            if *seen > 1 {
                name = format!("{name} #{seen}");
            }
            out.insert(root, name);
        }
        out
    }

    /// Every identifier of one identity with the evidence that joined it; fills the lookup.
    fn links_of(&mut self, name: &str, root: usize, nodes: &[usize]) -> Vec<ActorLink> {
        let mut links = Vec::new();
        for &n in nodes {
            let node = &self.nodes[n];
            self.lookup
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
                    (None, _) => "the actor itself".to_owned(),
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

#[cfg(test)]
mod tests;
