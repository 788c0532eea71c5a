//! Rule table: the account's perimeter, run by [`super::single`]: a firewall opened to the
//! whole internet on an administration port, the account leaving (or trying to leave) its
//! organization and so its guardrails, and IAM Roles Anywhere trust anchors that let holders
//! of certificates from an outside CA obtain credentials for the account's roles. Each is
//! dangerous whatever the context.

use super::RuleInfo;
use super::finding::{Severity, hhmm_utc};
use super::single::SingleRule;
use super::single::aws;
use super::spread::failure_note;

use Severity::{Critical, High, Medium};

/// Ports whose exposure to the internet opens a shell or a remote desktop.
const ADMIN_PORTS: [u32; 5] = [22, 23, 3389, 5985, 5986];
/// Database and cache ports.
const DATA_PORTS: [u32; 10] = [1433, 1521, 3306, 5432, 5601, 6379, 9200, 11211, 27017, 9042];

/// Whether a CIDR block is the whole address space (`/0`, whatever address it is written
/// with).
pub(super) fn whole_internet(cidr: &str) -> bool {
    cidr.rsplit_once('/')
        .is_some_and(|(_, prefix)| prefix == "0")
}

/// The ports of a rule (`fromPort`..`toPort`; none or -1: all ports).
fn port_range(from: Option<&str>, to: Option<&str>) -> Option<(u32, u32)> {
    let parse = |p: Option<&str>| p.and_then(|p| p.parse::<i64>().ok());
    match (parse(from), parse(to)) {
        (Some(f), Some(t)) if f >= 0 && t >= f => Some((f as u32, t as u32)),
        (Some(f), None) if f >= 0 => Some((f as u32, f as u32)),
        _ => None,
    }
}

/// The perimeter rules.
pub(super) static RULES: [SingleRule; 3] = [
    SingleRule {
        info: RuleInfo {
            id: "security-group-open-to-world",
            title: "Security group opened to the internet",
            mitre: &["T1562.007"],
            severity: High,
            summary: "AuthorizeSecurityGroupIngress from a /0 block on SSH, RDP, telnet or WinRM, or on all ports (high), or on a database or cache port (medium); web ports and private ranges are not findings",
        },
        select: |c| aws(c, "ec2", &["AuthorizeSecurityGroupIngress"]),
        judge: |e, _| {
            let cidr = e.detail("cidrIp")?;
            if !whole_internet(cidr) {
                return None;
            }
            let range = port_range(e.detail("fromPort"), e.detail("toPort"));
            let covers = |ports: &[u32]| -> Vec<u32> {
                match range {
                    None => ports.to_vec(),
                    Some((lo, hi)) => ports
                        .iter()
                        .copied()
                        .filter(|p| (lo..=hi).contains(p))
                        .collect(),
                }
            };
            let (admin, data) = (covers(&ADMIN_PORTS), covers(&DATA_PORTS));
            let (severity, what) = match (range, admin.is_empty(), data.is_empty()) {
                (None, _, _) => (High, "all ports".to_string()),
                (_, false, _) => (High, format!("port(s) {}", join(&admin))),
                (_, true, false) => (Medium, format!("database port(s) {}", join(&data))),
                _ => return None,
            };
            Some((
                severity,
                format!(
                    "{} opened {} of security group {} to the whole internet ({cidr}) at {} from {}",
                    e.who(),
                    what,
                    e.target(),
                    hhmm_utc(e.time),
                    e.source()
                ),
            ))
        },
        failures: false,
        rows: None,
        refine: None,
    },
    SingleRule {
        info: RuleInfo {
            id: "organization-left",
            title: "Account left or tried to leave its organization",
            mitre: &["T1666"],
            severity: High,
            summary: "LeaveOrganization (critical; high when denied: the attempt is the signal), RemoveAccountFromOrganization and DeleteOrganization (high; medium when denied): the account escapes the organization's SCPs, its trail and its security tooling",
        },
        select: |c| {
            aws(
                c,
                "organizations",
                &[
                    "LeaveOrganization",
                    "RemoveAccountFromOrganization",
                    "DeleteOrganization",
                ],
            )
        },
        judge: |e, _| {
            let leave = e.action == "LeaveOrganization";
            let severity = match (leave, e.ok()) {
                (true, true) => Critical,
                (true, false) | (false, true) => High,
                (false, false) => Medium,
            };
            Some((
                severity,
                format!(
                    "{} {} {} at {} from {}{}: outside the organization its SCPs, organization trail and delegated security services no longer apply",
                    e.who(),
                    if e.ok() { "called" } else { "tried" },
                    e.action,
                    hhmm_utc(e.time),
                    e.src_ip,
                    failure_note(e)
                ),
            ))
        },
        failures: true,
        rows: None,
        refine: None,
    },
    SingleRule {
        info: RuleInfo {
            id: "roles-anywhere-trust-anchor",
            title: "IAM Roles Anywhere trust anchor or profile created",
            mitre: &["T1098.001", "T1556"],
            severity: High,
            summary: "CreateTrustAnchor / UpdateTrustAnchor / EnableTrustAnchor (high: certificates from its CA can obtain role credentials from anywhere) and CreateProfile / UpdateProfile (medium: which roles they get)",
        },
        select: |c| {
            aws(
                c,
                "rolesanywhere",
                &[
                    "CreateTrustAnchor",
                    "UpdateTrustAnchor",
                    "EnableTrustAnchor",
                    "CreateProfile",
                    "UpdateProfile",
                ],
            )
        },
        judge: |e, _| {
            let anchor = e.action.contains("TrustAnchor");
            Some((
                if anchor { High } else { Medium },
                format!(
                    "{} called {} ({}) at {} from {}: {}",
                    e.who(),
                    e.action,
                    e.target(),
                    hhmm_utc(e.time),
                    e.src_ip,
                    if anchor {
                        "holders of certificates issued by its CA can obtain credentials for the account's roles from outside AWS"
                    } else {
                        "it maps outside certificates to roles"
                    }
                ),
            ))
        },
        failures: false,
        rows: None,
        refine: None,
    },
];

fn join(ports: &[u32]) -> String {
    ports
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn world_blocks_and_port_ranges() {
        assert!(whole_internet("0.0.0.0/0"));
        assert!(whole_internet("::/0"));
        assert!(whole_internet("208.236.235.254/0"));
        assert!(!whole_internet("10.0.0.0/8"));
        assert!(!whole_internet("203.0.113.0/24"));
        assert_eq!(port_range(Some("22"), Some("22")), Some((22, 22)));
        assert_eq!(port_range(Some("-1"), Some("-1")), None);
        assert_eq!(port_range(None, None), None);
    }
}
