//! The public GCP and Azure role data the analysis embeds (`data/cloud-iam/`, made by
//! `tools/cloud_iam_data.py` from iann0036/iam-dataset; versions in
//! `data/cloud-iam/SOURCES.md`): every GCP predefined role with its permissions, the
//! permissions each GCP API method needs, and every Azure built-in role with its actions.
//! Each table is zstd-compressed and decoded once, on first use (only when the logs hold
//! grants or calls of that provider).

use std::collections::HashMap;
use std::sync::OnceLock;

const GCP_ROLES: &[u8] = include_bytes!("../../../data/cloud-iam/gcp-roles.tsv.zst");
const GCP_METHODS: &[u8] = include_bytes!("../../../data/cloud-iam/gcp-methods.tsv.zst");
const AZURE_ROLES: &[u8] = include_bytes!("../../../data/cloud-iam/azure-roles.tsv.zst");
const VERSIONS: &str = include_str!("../../../data/cloud-iam/versions.txt");

/// The data line the output names (source, commit, date, counts).
pub fn versions_line() -> &'static str {
    VERSIONS.trim()
}

/// Decodes an embedded table; a table that does not decode is empty (every lookup then
/// says "unknown", which the rows report as cannot tell).
fn decode(packed: &[u8]) -> String {
    zstd::decode_all(packed)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .unwrap_or_default()
}

/// A GCP predefined role.
#[derive(Debug)]
pub struct GcpRole {
    /// Its title (`Storage Admin`).
    pub title: &'static str,
    /// Its permissions, sorted.
    pub permissions: Vec<&'static str>,
}

/// The GCP tables.
pub struct Gcp {
    /// `roles/storage.admin` -> role.
    roles: HashMap<&'static str, GcpRole>,
    /// REST discovery method id (`compute.instances.insert`) -> permissions.
    methods: HashMap<&'static str, Vec<&'static str>>,
}

fn leak(text: String) -> &'static str {
    // Decoded once per process and kept for its lifetime (the tables are looked up by
    // borrowed keys), so leaking the text is the owner.
    Box::leak(text.into_boxed_str())
}

impl Gcp {
    /// The GCP tables, decoded on first use.
    pub fn get() -> &'static Gcp {
        static GCP: OnceLock<Gcp> = OnceLock::new();
        GCP.get_or_init(|| {
            let roles = leak(decode(GCP_ROLES))
                .lines()
                .filter_map(|line| {
                    let mut parts = line.split('\t');
                    let (name, title, list) = (parts.next()?, parts.next()?, parts.next()?);
                    let permissions = list.split(',').filter(|p| !p.is_empty()).collect();
                    Some((name, GcpRole { title, permissions }))
                })
                .collect();
            let methods = leak(decode(GCP_METHODS))
                .lines()
                .filter_map(|line| {
                    let (method, list) = line.split_once('\t')?;
                    Some((method, list.split(',').filter(|p| !p.is_empty()).collect()))
                })
                .collect();
            Gcp { roles, methods }
        })
    }

    /// A predefined role (`roles/...`).
    pub fn role(&self, name: &str) -> Option<&GcpRole> {
        self.roles.get(name)
    }

    /// The permissions the dataset lists for an audit-log `methodName`: looked up as
    /// written, then without the API-version prefix Compute Engine writes
    /// (`v1.compute.instances.insert`, `beta.compute...`); nothing else is guessed.
    pub fn method_permissions(&self, method: &str) -> Option<&[&'static str]> {
        let unversioned = method
            .split_once('.')
            .filter(|(version, _)| is_api_version(version))
            .map(|(_, rest)| rest);
        [Some(method), unversioned]
            .into_iter()
            .flatten()
            .find_map(|m| self.methods.get(m).map(Vec::as_slice))
    }
}

/// `v1`, `beta`, `alpha`, `v1beta1`, ...
fn is_api_version(text: &str) -> bool {
    matches!(text, "alpha" | "beta")
        || text
            .strip_prefix('v')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}

/// An Azure built-in role.
#[derive(Debug)]
pub struct AzureRole {
    /// Its name (`Contributor`).
    pub name: &'static str,
    /// Control-plane action patterns (`Microsoft.Compute/*`, `*/read`, `*`).
    pub actions: Vec<&'static str>,
    /// Patterns taken out of `actions`.
    pub not_actions: Vec<&'static str>,
    /// Data-plane action patterns (not in Activity logs).
    pub data_actions: Vec<&'static str>,
}

/// The Azure table: lowercase role definition GUID -> role.
pub struct Azure {
    roles: HashMap<&'static str, AzureRole>,
}

impl Azure {
    /// The Azure table, decoded on first use.
    pub fn get() -> &'static Azure {
        static AZURE: OnceLock<Azure> = OnceLock::new();
        AZURE.get_or_init(|| {
            let list = |s: &'static str| -> Vec<&'static str> {
                s.split(',').filter(|p| !p.is_empty()).collect()
            };
            let roles = leak(decode(AZURE_ROLES))
                .lines()
                .filter_map(|line| {
                    let f: Vec<&'static str> = line.split('\t').collect();
                    let [guid, name, actions, not_actions, data_actions, _not_data] = f[..] else {
                        return None;
                    };
                    Some((
                        guid,
                        AzureRole {
                            name,
                            actions: list(actions),
                            not_actions: list(not_actions),
                            data_actions: list(data_actions),
                        },
                    ))
                })
                .collect();
            Azure { roles }
        })
    }

    /// A built-in role by its definition id: the GUID, or a `roleDefinitionId` path ending
    /// in it (`/subscriptions/.../roleDefinitions/<guid>`), with or without hyphens.
    pub fn role(&self, definition: &str) -> Option<&AzureRole> {
        let guid = definition.trim().trim_end_matches('/').rsplit('/').next()?;
        let guid = guid.to_ascii_lowercase();
        self.roles.get(guid.as_str()).or_else(|| {
            // Activity evidence writes GUIDs without hyphens.
            let bare: String = guid.chars().filter(|c| *c != '-').collect();
            (bare.len() == 32)
                .then(|| {
                    format!(
                        "{}-{}-{}-{}-{}",
                        &bare[..8],
                        &bare[8..12],
                        &bare[12..16],
                        &bare[16..20],
                        &bare[20..]
                    )
                })
                .and_then(|g| self.roles.get(g.as_str()))
        })
    }
}

/// Whether an Azure action pattern (`Microsoft.Compute/*/read`, `*`) matches an operation
/// (`Microsoft.Compute/virtualMachines/read`), case-insensitively; `*` matches any run of
/// characters, as Azure RBAC evaluates it.
pub fn azure_pattern_matches(pattern: &str, operation: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let operation = operation.to_ascii_lowercase();
    let parts: Vec<&str> = pattern.split('*').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    if parts.len() == 1 {
        return pattern == operation;
    }
    if !operation.starts_with(first)
        || !operation.ends_with(last)
        || operation.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &operation[first.len()..operation.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_decode_with_known_roles() {
        let gcp = Gcp::get();
        let storage = gcp.role("roles/storage.admin").expect("storage.admin");
        assert!(storage.permissions.contains(&"storage.buckets.create"));
        assert!(gcp.role("roles/owner").expect("owner").permissions.len() > 5_000);
        assert_eq!(
            gcp.method_permissions("v1.compute.instances.stop"),
            Some(&["compute.instances.stop"][..])
        );
        assert_eq!(gcp.method_permissions("google.made.Up"), None);
        let azure = Azure::get();
        let contributor = azure
            .role("/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c")
            .expect("contributor");
        assert_eq!(contributor.name, "Contributor");
        assert_eq!(contributor.actions, ["*"]);
        assert_eq!(
            azure
                .role("b24988ac618042a0ab8820f7382dd24c")
                .map(|r| r.name),
            Some("Contributor")
        );
        assert!(versions_line().contains("iam-dataset"));
    }

    #[test]
    fn azure_patterns_match_case_insensitively_with_wildcards() {
        let m = azure_pattern_matches;
        assert!(m("*", "Microsoft.Compute/virtualMachines/write"));
        assert!(m(
            "Microsoft.Compute/*",
            "MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE"
        ));
        assert!(m("*/read", "Microsoft.Web/sites/read"));
        assert!(!m("*/read", "Microsoft.Web/sites/write"));
        assert!(m(
            "Microsoft.Authorization/*/Write",
            "microsoft.authorization/roleassignments/write"
        ));
        assert!(!m("Microsoft.Compute/*", "Microsoft.ComputeX"));
        assert!(m(
            "Microsoft.Web/sites/delete",
            "microsoft.web/sites/delete"
        ));
        assert!(!m("a*b*c", "ac"));
    }
}
