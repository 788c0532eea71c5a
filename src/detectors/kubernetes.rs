//! Single-event Kubernetes rules (audit.k8s.io events and GKE through Cloud Audit Logs):
//! privileged bindings and system roles, exec into pods, secret reads, anonymous and
//! impersonated requests.

use std::collections::{HashMap, HashSet};

use polars::prelude::*;

use super::context::Context;
use super::event::{Ev, i64s, u64s};
use super::finding::{Hit, Severity};
use super::single::{SingleRule, details_match};
use super::{MINUTE, RuleInfo, minutes};
use crate::schema::{ACTOR, OUTCOME, RESOURCE, TIME};
use crate::{Error, Result};

use Severity::{Critical, High, Low, Medium};

/// The Kubernetes rules.
pub(super) static RULES: [SingleRule; 4] = [
    SingleRule {
        info: RuleInfo {
            id: "k8s-privileged-rbac-binding",
            title: "Kubernetes privileged binding or system role changed",
            mitre: &["T1098.006"],
            severity: High,
            summary: "(Cluster)RoleBindings to cluster-admin, admin, system:masters or controller roles, bindings of anonymous groups, system: roles modified, roles granting *, escalate, bind, impersonate, secrets, exec, attach, port-forward, ephemeral containers, nodes/proxy or token requests (high for * on *) (EKS, AKS, GKE)",
        },
        select: |c| {
            (c.provider == "kubernetes"
                && ["create", "update", "patch", "delete"]
                    .iter()
                    .any(|v| c.action.starts_with(v))
                && [
                    "clusterrolebindings",
                    "rolebindings",
                    "clusterroles",
                    "roles",
                ]
                .iter()
                .any(|r| c.action.ends_with(&format!(" {r}"))))
                || (c.provider == "gcp" && gke_rbac_method(&c.action))
        },
        judge: |e, _| {
            // Controllers and the kube-system service accounts reconcile RBAC all day
            // (catalogue D07, Panther's `is_system_principal`).
            if k8s_system_principal(&e.actor) || e.actor.starts_with(KUBE_SYSTEM_SA) {
                return None;
            }
            let binding = e.action.contains("rolebindings");
            let verb = e
                .action
                .split([' ', '.'])
                .next_back()
                .filter(|_| e.provider == "gcp")
                .unwrap_or_else(|| e.action.split(' ').next().unwrap_or(""));
            if binding {
                if verb == "delete" {
                    return None;
                }
                let role = e.detail("roleRef").unwrap_or("");
                let role_name = role.rsplit('/').next().unwrap_or(role);
                let subjects = e.detail("subjects").unwrap_or("");
                let open = [
                    "system:anonymous",
                    "system:unauthenticated",
                    "system:authenticated",
                ]
                .iter()
                .any(|s| subjects.contains(s));
                let privileged = matches!(
                    role_name,
                    "cluster-admin"
                        | "admin"
                        | "system:masters"
                        | "system:kube-controller-manager"
                        | "system:kube-scheduler"
                ) || subjects.contains("system:masters");
                if !privileged && !open {
                    return None;
                }
                let sev = if open || role_name == "cluster-admin" {
                    Critical
                } else {
                    High
                };
                let subjects = if subjects.is_empty() { "?" } else { subjects };
                return Some((
                    sev,
                    format!(
                        "{} {} binding {} of {role_name} to {subjects}",
                        e.who(),
                        past(verb),
                        e.resource
                    ),
                ));
            }
            let name = e.resource.rsplit('/').next().unwrap_or(&e.resource);
            if (name.starts_with("system:") || name.starts_with("eks:"))
                && name != "system:coredns"
                && verb != "create"
            {
                return Some((
                    High,
                    format!("{} {} system role {name}", e.who(), past(verb)),
                ));
            }
            let verbs = e.detail("verbs").unwrap_or("");
            let resources = e.detail("resources").unwrap_or("");
            if verb == "delete" {
                return None;
            }
            let granted = sensitive_grants(verbs, resources);
            if granted.is_empty() {
                return None;
            }
            let everything =
                verbs.split(',').any(|v| v == "*") && resources.split(',').any(|r| r == "*");
            Some((
                if everything { High } else { Medium },
                format!(
                    "{} {} role {name} granting {}{} (verbs [{verbs}] on [{resources}])",
                    e.who(),
                    past(verb),
                    granted.join(", "),
                    if everything {
                        ": every verb on every resource, as cluster-admin"
                    } else {
                        ""
                    }
                ),
            ))
        },
        failures: false,
        rows: None,
        refine: None,
    },
    SingleRule {
        info: RuleInfo {
            id: "k8s-exec-into-pod",
            title: "Shell or attach into a pod",
            mitre: &["T1609"],
            severity: Low,
            summary: "pods/exec, attach, portforward, ephemeral containers and nodes/proxy; medium in kube-system, or for an actor's first exec into a namespace it did not work in on `ROUTINE_DAYS` earlier days; high for service accounts and nodes/proxy",
        },
        select: |c| {
            (c.provider == "kubernetes"
                && (c.action.ends_with(" pods/exec")
                    || c.action.ends_with(" pods/attach")
                    || c.action.ends_with(" pods/portforward")
                    || c.action.ends_with(" pods/ephemeralcontainers")
                    || c.action.ends_with(" nodes/proxy")))
                || (c.provider == "gcp"
                    && (c.action == "io.k8s.core.v1.pods.exec.create"
                        || c.action == "io.k8s.core.v1.pods.attach.create"))
        },
        judge: |e, ctx| {
            if k8s_system_principal(&e.actor) && !e.actor.starts_with("system:serviceaccount:") {
                return None;
            }
            let target = e.target();
            let command = e.detail("command").unwrap_or("");
            let learned = ctx.learn_end(&e.actor).is_some_and(|end| e.time >= end);
            let first = learned && ctx.first_of(&e.actor, "") == Some(e.row);
            let sev = if e.action.contains("nodes/proxy")
                || e.actor.starts_with("system:serviceaccount:")
            {
                High
            } else if first || target.starts_with("kube-system/") {
                Medium
            } else {
                Low
            };
            let cmd = if command.is_empty() {
                String::new()
            } else {
                format!(" running {command}")
            };
            Some((
                sev,
                format!(
                    "{} opened {} into {target}{cmd}{}",
                    e.who(),
                    e.action.split(' ').next_back().unwrap_or(&e.action),
                    if first { FIRST_EXEC } else { "" }
                ),
            ))
        },
        failures: false,
        rows: None,
        refine: Some(routine_first_execs),
    },
    SingleRule {
        info: RuleInfo {
            id: "k8s-secret-access",
            title: "Kubernetes secrets read",
            mitre: &["T1552.007"],
            severity: Medium,
            summary: "cluster-wide list of secrets (critical), secrets listed in kube-system/default (high), one identity reading `secret_names` distinct secrets in `secret_minutes` (high), secret reads by an identity that does not usually read secrets, and service-account tokens requested by a person (medium)",
        },
        select: |c| {
            token_request(&c.provider, &c.action)
                || (c.provider == "kubernetes"
                    && matches!(
                        c.action.as_str(),
                        "get secrets" | "list secrets" | "watch secrets"
                    ))
                || (c.provider == "gcp"
                    && c.action.starts_with("io.k8s.core.v1.secrets.")
                    && !c.action.ends_with("create"))
        },
        judge: |e, ctx| {
            if secret_reader_exempt(&e.actor) {
                return None;
            }
            if token_request(&e.provider, &e.action) {
                // Kubelets and controllers mint projected tokens for every pod; a person
                // minting one holds a credential of that service account (catalogue D25).
                if e.actor_type != "human" {
                    return None;
                }
                return Some((
                    Medium,
                    format!(
                        "{} created a token for service account {} (TokenRequest)",
                        e.who(),
                        e.target()
                    ),
                ));
            }
            let listing = e.action.starts_with("list")
                || e.action.ends_with(".list")
                || e.action.starts_with("watch");
            let namespace = e.resource.split('/').next().unwrap_or("");
            let cluster_wide = listing && (e.resource.is_empty() || e.resource.starts_with("/api"));
            if cluster_wide {
                return Some((
                    Critical,
                    format!("{} listed the secrets of every namespace", e.who()),
                ));
            }
            if listing && matches!(namespace, "kube-system" | "default") {
                return Some((
                    High,
                    format!("{} listed the secrets in {namespace}", e.who()),
                ));
            }
            let days = ctx.secret_reader_days(&e.actor);
            if days >= 3 {
                return None;
            }
            Some((
                Medium,
                format!(
                    "{} read secret {} ({}); this identity reads secrets on {days} day(s) in the data",
                    e.who(),
                    e.target(),
                    e.action
                ),
            ))
        },
        failures: false,
        // Controllers' reads are never judged: not even read out of the frame.
        rows: Some(|ctx| ctx.category(ACTOR, |a| !secret_reader_exempt(a))),
        refine: Some(secret_read_bursts),
    },
    SingleRule {
        info: RuleInfo {
            id: "k8s-anonymous-or-impersonated-privileged",
            title: "Anonymous or impersonated privileged Kubernetes request",
            mitre: &["T1078.001", "T1134"],
            severity: High,
            summary: "allowed requests by system:anonymous (not health checks), and requests impersonating admins, system:masters or kube-system service accounts (EKS, AKS, GKE)",
        },
        select: |c| c.provider == "kubernetes" || (c.provider == "gcp" && c.service == "k8s.io"),
        judge: |e, _| {
            if e.actor == "system:anonymous" {
                // Health checks, and the API server's own loopback calls.
                let loopback = e.src_ip == "127.0.0.1" || e.src_ip == "::1";
                let probe = loopback
                    // GKE names the path without its slash (`readyz`).
                    || ["/healthz", "/readyz", "/livez", "/version"]
                        .iter()
                        .any(|p| {
                            e.resource.trim_start_matches('/').starts_with(p.trim_start_matches('/'))
                                || e.action.contains(p)
                        })
                    || ["kube-probe/", "GoogleHC/", "ELB-HealthChecker"]
                        .iter()
                        .any(|u| e.user_agent.starts_with(u));
                if probe {
                    return None;
                }
                let write = ["create pods", "update pods", "patch pods"]
                    .iter()
                    .any(|a| e.action.starts_with(a))
                    || ["pods.create", "pods.update", "pods.patch"]
                        .iter()
                        .any(|a| e.provider == "gcp" && e.action.ends_with(a));
                return Some((
                    if write { Critical } else { High },
                    format!(
                        "an anonymous request was allowed: {} {} from {}",
                        e.action,
                        e.resource,
                        e.source()
                    ),
                ));
            }
            let who = e.detail("as")?;
            let groups = e.detail("as_groups").unwrap_or("");
            let privileged = matches!(
                who,
                "admin"
                    | "cluster-admin"
                    | "kubernetes-admin"
                    | "system:admin"
                    | "system:kube-controller-manager"
            ) || who.starts_with("system:node:")
                || who.starts_with("system:serviceaccount:kube-system:")
                || groups.contains("system:masters");
            if !privileged {
                return None;
            }
            Some((
                High,
                format!(
                    "{} impersonated {who}{} to {} {}",
                    e.who(),
                    if groups.is_empty() {
                        String::new()
                    } else {
                        format!(" (groups {groups})")
                    },
                    e.action,
                    e.resource
                ),
            ))
        },
        failures: false,
        rows: Some(|ctx| {
            ctx.category(ACTOR, |a| a == "system:anonymous")
                .or(details_match(r"(^| )as="))
        }),
        refine: None,
    },
];

/// The service accounts of kube-system: controllers and add-ons, never judged by the RBAC
/// rule.
const KUBE_SYSTEM_SA: &str = "system:serviceaccount:kube-system:";

/// A GKE RBAC method: `io.k8s.authorization.rbac.v1.clusterrolebindings.create`, also
/// logged without the API group's `authorization` (`io.k8s.rbac.v1.roles.patch`).
fn gke_rbac_method(action: &str) -> bool {
    action.starts_with("io.k8s.authorization.rbac.v1.") || action.starts_with("io.k8s.rbac.v1.")
}

/// A request verb in the past tense, for reasons (`patch` -> `patched`).
fn past(verb: &str) -> String {
    match verb {
        "create" | "update" | "delete" => format!("{verb}d"),
        "" => "changed".to_string(),
        _ => format!("{verb}ed"),
    }
}

/// A TokenRequest: a new token minted for a service account (EKS/AKS or GKE).
fn token_request(provider: &str, action: &str) -> bool {
    (provider == "kubernetes" && action == "create serviceaccounts/token")
        || (provider == "gcp" && action == "io.k8s.core.v1.serviceaccounts.token.create")
}

/// Kubernetes control-plane principals (not service accounts).
/// Identities whose secret reads are routine: the control plane, kube-system service
/// accounts and kube-state-metrics.
fn secret_reader_exempt(actor: &str) -> bool {
    k8s_system_principal(actor)
        || actor.contains("kube-state-metrics")
        || actor.starts_with("system:serviceaccount:kube-system:")
}

fn k8s_system_principal(actor: &str) -> bool {
    (actor.starts_with("system:") && !actor.starts_with("system:serviceaccount:"))
        || actor.starts_with("eks:")
        || actor.starts_with("aks")
}

/// What a role's rules grant that lets a holder escalate (catalogue D07 and the workload
/// access of §3.4): wildcard, escalate, bind and impersonate verbs; secrets, exec and its
/// kin, node proxy, token requests and CSR approval, also through `pods/*`, `nodes/*` or
/// `*/exec` wildcards.
fn sensitive_grants(verbs: &str, resources: &str) -> Vec<String> {
    const RESOURCES: [&str; 9] = [
        "secrets",
        "pods/exec",
        "pods/attach",
        "pods/portforward",
        "pods/ephemeralcontainers",
        "nodes/proxy",
        "serviceaccounts/token",
        "certificatesigningrequests/approval",
        "mutatingwebhookconfigurations",
    ];
    let mut out: Vec<String> = verbs
        .split(',')
        .filter(|v| matches!(*v, "*" | "escalate" | "bind" | "impersonate"))
        .map(|v| format!("verb {v}"))
        .collect();
    for r in resources.split(',').filter(|r| !r.is_empty()) {
        let covers = |wanted: &str| {
            let (base, sub) = wanted.split_once('/').unwrap_or((wanted, ""));
            r == "*"
                || r == wanted
                || (!sub.is_empty() && (r == format!("{base}/*") || r == format!("*/{sub}")))
        };
        if RESOURCES.iter().any(|w| covers(w)) {
            let shown = r.to_string();
            if !out.contains(&shown) {
                out.push(shown);
            }
        }
    }
    out
}

/// D25's window: one identity reading `secret_names` distinct secrets within
/// `secret_minutes` (high, whatever its history). Counted per actor in window-sized buckets
/// first (Polars), so only actors that can reach the threshold in two adjacent buckets are
/// read one by one; their hits replace the single-event ones on the same rows.
/// How the reason of an actor's first exec ends (what [`routine_first_execs`] judges).
const FIRST_EXEC: &str = "; the first time this actor did so in the data";

/// On how many distinct earlier days an actor must have worked in a namespace for its first
/// exec there to be routine: an engineer debugging their own team's workload, not someone
/// reaching into one they never touch.
const ROUTINE_DAYS: usize = 3;

/// The namespace of a Kubernetes object as the `resource` column writes it: `ns/name` (or
/// `ns` for a list) for audit.k8s.io events, `…/namespaces/ns/…` for GKE's.
fn namespace_of(provider: &str, resource: &str) -> Option<String> {
    let namespace = if provider == "gcp" {
        let (_, rest) = resource.split_once("namespaces/")?;
        rest.split('/').next()?
    } else {
        resource.split('/').next()?
    };
    (!namespace.is_empty()).then(|| namespace.to_ascii_lowercase())
}

/// An actor's first exec (medium) into a namespace it worked in on [`ROUTINE_DAYS`] earlier
/// days is routine: low, saying so. A first exec where the actor had no such history (an
/// attacker's session reaching into `payments`) stays medium; kube-system stays medium.
pub(super) fn routine_first_execs(ctx: &Context<'_>, mut hits: Vec<Hit>) -> Result<Vec<Hit>> {
    let first_execs: HashSet<&str> = hits
        .iter()
        .filter(|h| h.severity == Medium && h.reason.ends_with(FIRST_EXEC))
        .map(|h| h.ev.actor.as_str())
        .collect();
    if first_execs.is_empty() {
        return Ok(hits);
    }
    let work = ctx.action_frame(
        |c| c.provider == "kubernetes" || (c.provider == "gcp" && c.action.starts_with("io.k8s.")),
        &[ctx.category(ACTOR, |a| first_execs.contains(a))],
    )?;
    // Per (actor, namespace): the days it acted there.
    let mut days: HashMap<(String, String), HashSet<i64>> = HashMap::new();
    for e in ctx.events(&work)? {
        if let Some(namespace) = namespace_of(&e.provider, &e.resource) {
            days.entry((e.actor, namespace))
                .or_default()
                .insert(e.time.div_euclid(super::DAY));
        }
    }
    for hit in &mut hits {
        if hit.severity != Medium || !hit.reason.ends_with(FIRST_EXEC) {
            continue;
        }
        let Some(namespace) = namespace_of(&hit.ev.provider, &hit.ev.resource) else {
            continue;
        };
        if namespace.starts_with("kube-") {
            continue;
        }
        let today = hit.ev.time.div_euclid(super::DAY);
        let before = days
            .get(&(hit.ev.actor.clone(), namespace.clone()))
            .map_or(0, |d| d.iter().filter(|day| **day < today).count());
        if before >= ROUTINE_DAYS {
            hit.severity = Low;
            hit.reason.push_str(&format!(
                ", into {namespace}, where it worked on {before} earlier days"
            ));
        }
    }
    Ok(hits)
}

pub(super) fn secret_read_bursts(ctx: &Context<'_>, mut hits: Vec<Hit>) -> Result<Vec<Hit>> {
    let th = &ctx.config.thresholds;
    let (need, window) = (
        th.secret_names.max(2) as usize,
        minutes(th.secret_minutes.max(1)),
    );
    let reads = ctx.action_frame(
        |c| {
            (c.provider == "kubernetes" && c.action == "get secrets")
                || (c.provider == "gcp" && c.action == "io.k8s.core.v1.secrets.get")
        },
        // Controllers read secrets all day and are never judged: left out before counting.
        &[ctx
            .category(OUTCOME, |o| o == "success")
            .and(ctx.category(ACTOR, |a| !secret_reader_exempt(a)))],
    )?;
    let buckets = reads
        .clone()
        .lazy()
        .group_by([
            col(ACTOR).to_physical().alias("a"),
            col(TIME).to_physical().floor_div(lit(window)).alias("b"),
        ])
        .agg([col(RESOURCE).n_unique().alias("n")])
        .collect()
        .map_err(Error::polars("secret reads per window"))?;
    let (actors, slots, counts) = (
        u64s(&buckets, "a")?,
        i64s(&buckets, "b")?,
        u64s(&buckets, "n")?,
    );
    let mut per: HashMap<(u64, i64), u64> = HashMap::new();
    for i in 0..buckets.height() {
        if let (Some(a), Some(b), Some(n)) = (actors[i], slots[i], counts[i]) {
            per.insert((a, b), n);
        }
    }
    let candidates: Vec<u32> = per
        .iter()
        .filter(|((a, b), n)| **n + per.get(&(*a, b + 1)).copied().unwrap_or(0) >= need as u64)
        .map(|((a, _), _)| *a as u32)
        .collect::<HashSet<u32>>()
        .into_iter()
        .collect();
    if candidates.is_empty() {
        return Ok(hits);
    }
    let events = ctx.events(
        &reads
            .lazy()
            .filter(col(ACTOR).to_physical().is_in(
                lit(Series::new("actors".into(), candidates)).implode(false),
                false,
            ))
            .collect()
            .map_err(Error::polars("secret reads"))?,
    )?;
    let mut by_actor: HashMap<&str, Vec<&Ev>> = HashMap::new();
    for e in &events {
        by_actor.entry(&e.actor).or_default().push(e);
    }
    let mut burst: HashMap<u32, String> = HashMap::new();
    for reads in by_actor.values() {
        // Sliding window over the actor's reads (in time order).
        let mut start = 0;
        let mut names: HashMap<&str, usize> = HashMap::new();
        for end in 0..reads.len() {
            *names.entry(&reads[end].resource).or_default() += 1;
            while reads[end].time - reads[start].time > window {
                let r = reads[start].resource.as_str();
                if let Some(n) = names.get_mut(r) {
                    *n -= 1;
                    if *n == 0 {
                        names.remove(r);
                    }
                }
                start += 1;
            }
            if names.len() >= need {
                let inside = &reads[start..=end];
                let mut shown: Vec<&str> = Vec::new();
                for e in inside {
                    if !shown.contains(&e.resource.as_str()) {
                        shown.push(&e.resource);
                    }
                }
                let minutes = (reads[end].time - reads[start].time) / MINUTE;
                let reason = format!(
                    "{} read {} distinct secrets in {} min ({}{}), from {}: secret harvesting",
                    reads[end].who(),
                    shown.len(),
                    minutes.max(1),
                    shown.iter().take(4).copied().collect::<Vec<_>>().join(", "),
                    if shown.len() > 4 {
                        format!(" and {} more", shown.len() - 4)
                    } else {
                        String::new()
                    },
                    if reads[end].src_ip.is_empty() {
                        "?"
                    } else {
                        &reads[end].src_ip
                    }
                );
                for e in inside {
                    burst.insert(e.row, reason.clone());
                }
            }
        }
    }
    if burst.is_empty() {
        return Ok(hits);
    }
    hits.retain(|h| !burst.contains_key(&h.ev.row) || h.severity > High);
    let kept: HashSet<u32> = hits.iter().map(|h| h.ev.row).collect();
    for e in events.iter().filter(|e| !kept.contains(&e.row)) {
        if let Some(reason) = burst.get(&e.row) {
            hits.push(Hit {
                ev: e.clone(),
                severity: High,
                reason: reason.clone(),
            });
        }
    }
    Ok(hits)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn system_principals_are_recognized() {
        assert!(k8s_system_principal("system:kube-controller-manager"));
        assert!(!k8s_system_principal("system:serviceaccount:ci:deployer"));
        assert!(!k8s_system_principal("alice@example.com"));
    }
}
