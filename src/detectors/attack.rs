//! MITRE ATT&CK names for the technique ids the rules cite: each technique's name and the one
//! tactic this catalogue uses it for (ATT&CK files some techniques under several tactics, e.g.
//! Valid Accounts under four; the table keeps the one the rules mean, so a kill chain reads in
//! one order). Names follow ATT&CK v17 (Enterprise, cloud matrices).

/// An ATT&CK tactic, in kill-chain order (the order of the enterprise matrix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tactic {
    /// TA0001.
    InitialAccess,
    /// TA0002.
    Execution,
    /// TA0003.
    Persistence,
    /// TA0004.
    PrivilegeEscalation,
    /// TA0005.
    DefenseEvasion,
    /// TA0006.
    CredentialAccess,
    /// TA0007.
    Discovery,
    /// TA0008.
    LateralMovement,
    /// TA0009.
    Collection,
    /// TA0010.
    Exfiltration,
    /// TA0040.
    Impact,
}

impl Tactic {
    /// The tactic's name as ATT&CK writes it (`Defense Evasion`).
    pub fn name(self) -> &'static str {
        match self {
            Tactic::InitialAccess => "Initial Access",
            Tactic::Execution => "Execution",
            Tactic::Persistence => "Persistence",
            Tactic::PrivilegeEscalation => "Privilege Escalation",
            Tactic::DefenseEvasion => "Defense Evasion",
            Tactic::CredentialAccess => "Credential Access",
            Tactic::Discovery => "Discovery",
            Tactic::LateralMovement => "Lateral Movement",
            Tactic::Collection => "Collection",
            Tactic::Exfiltration => "Exfiltration",
            Tactic::Impact => "Impact",
        }
    }

    /// The tactic's ATT&CK id (`TA0005`).
    pub fn id(self) -> &'static str {
        match self {
            Tactic::InitialAccess => "TA0001",
            Tactic::Execution => "TA0002",
            Tactic::Persistence => "TA0003",
            Tactic::PrivilegeEscalation => "TA0004",
            Tactic::DefenseEvasion => "TA0005",
            Tactic::CredentialAccess => "TA0006",
            Tactic::Discovery => "TA0007",
            Tactic::LateralMovement => "TA0008",
            Tactic::Collection => "TA0009",
            Tactic::Exfiltration => "TA0010",
            Tactic::Impact => "TA0040",
        }
    }
}

/// One ATT&CK technique as the rules cite it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Technique {
    /// Technique id (`T1562.008`).
    pub id: &'static str,
    /// Its name (`Impair Defenses: Disable or Modify Cloud Logs`).
    pub name: &'static str,
    /// The tactic the rules cite it for.
    pub tactic: Tactic,
}

use Tactic::*;

const fn t(id: &'static str, name: &'static str, tactic: Tactic) -> Technique {
    Technique { id, name, tactic }
}

/// Every technique a rule cites.
pub const TECHNIQUES: &[Technique] = &[
    t(
        "T1021.008",
        "Remote Services: Direct Cloud VM Connections",
        LateralMovement,
    ),
    t("T1037", "Boot or Logon Initialization Scripts", Persistence),
    t(
        "T1059.009",
        "Command and Scripting Interpreter: Cloud API",
        Execution,
    ),
    t(
        "T1078.001",
        "Valid Accounts: Default Accounts",
        InitialAccess,
    ),
    t("T1078.004", "Valid Accounts: Cloud Accounts", InitialAccess),
    t("T1087.004", "Account Discovery: Cloud Account", Discovery),
    t("T1098", "Account Manipulation", Persistence),
    t(
        "T1098.001",
        "Account Manipulation: Additional Cloud Credentials",
        Persistence,
    ),
    t(
        "T1098.003",
        "Account Manipulation: Additional Cloud Roles",
        PrivilegeEscalation,
    ),
    t(
        "T1098.006",
        "Account Manipulation: Additional Container Cluster Roles",
        PrivilegeEscalation,
    ),
    t("T1110", "Brute Force", CredentialAccess),
    t(
        "T1110.001",
        "Brute Force: Password Guessing",
        CredentialAccess,
    ),
    t(
        "T1110.003",
        "Brute Force: Password Spraying",
        CredentialAccess,
    ),
    t("T1134", "Access Token Manipulation", PrivilegeEscalation),
    t("T1485", "Data Destruction", Impact),
    t("T1490", "Inhibit System Recovery", Impact),
    t("T1496", "Resource Hijacking", Impact),
    t(
        "T1496.004",
        "Resource Hijacking: Cloud Service Hijacking",
        Impact,
    ),
    t("T1525", "Implant Internal Image", Persistence),
    t("T1526", "Cloud Service Discovery", Discovery),
    t("T1528", "Steal Application Access Token", CredentialAccess),
    t("T1530", "Data from Cloud Storage", Collection),
    t("T1531", "Account Access Removal", Impact),
    t("T1537", "Transfer Data to Cloud Account", Exfiltration),
    t(
        "T1548.005",
        "Abuse Elevation Control Mechanism: Temporary Elevated Cloud Access",
        PrivilegeEscalation,
    ),
    t(
        "T1550.001",
        "Use Alternate Authentication Material: Application Access Token",
        LateralMovement,
    ),
    t("T1552", "Unsecured Credentials", CredentialAccess),
    t(
        "T1552.005",
        "Unsecured Credentials: Cloud Instance Metadata API",
        CredentialAccess,
    ),
    t(
        "T1552.007",
        "Unsecured Credentials: Container API",
        CredentialAccess,
    ),
    t(
        "T1555.006",
        "Credentials from Password Stores: Cloud Secrets Management Stores",
        CredentialAccess,
    ),
    t("T1556", "Modify Authentication Process", DefenseEvasion),
    t(
        "T1556.006",
        "Modify Authentication Process: Multi-Factor Authentication",
        DefenseEvasion,
    ),
    t(
        "T1556.009",
        "Modify Authentication Process: Conditional Access Policies",
        DefenseEvasion,
    ),
    t(
        "T1562.007",
        "Impair Defenses: Disable or Modify Cloud Firewall",
        DefenseEvasion,
    ),
    t(
        "T1562.008",
        "Impair Defenses: Disable or Modify Cloud Logs",
        DefenseEvasion,
    ),
    t(
        "T1578.002",
        "Modify Cloud Compute Infrastructure: Create Cloud Instance",
        DefenseEvasion,
    ),
    t("T1580", "Cloud Infrastructure Discovery", Discovery),
    t("T1609", "Container Administration Command", Execution),
    t(
        "T1621",
        "Multi-Factor Authentication Request Generation",
        CredentialAccess,
    ),
    t("T1648", "Serverless Execution", Execution),
    t("T1651", "Cloud Administration Command", Execution),
    t("T1666", "Modify Cloud Resource Hierarchy", DefenseEvasion),
];

/// The technique of an id, if a rule cites it.
pub fn technique(id: &str) -> Option<&'static Technique> {
    TECHNIQUES.iter().find(|t| t.id == id)
}

/// The tactic a finding's techniques stand for: that of its first known technique (rules list
/// their main technique first).
pub fn tactic_of(mitre: &[String]) -> Option<Tactic> {
    mitre.iter().find_map(|id| technique(id)).map(|t| t.tactic)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn every_technique_a_rule_cites_has_a_name_and_tactic() {
        let missing: Vec<String> = crate::detectors::catalogue()
            .iter()
            .flat_map(|r| r.mitre.iter().map(move |m| format!("{} ({})", m, r.id)))
            .filter(|m| technique(m.split(' ').next().unwrap_or("")).is_none())
            .collect();
        assert!(missing.is_empty(), "no ATT&CK entry for {missing:?}");
        // A rule may set a technique at run time (mass destruction of backups): T1490.
        assert_eq!(technique("T1490").unwrap().tactic, Tactic::Impact);
        let ids: std::collections::HashSet<&str> = TECHNIQUES.iter().map(|t| t.id).collect();
        assert_eq!(ids.len(), TECHNIQUES.len(), "a technique is listed twice");
    }

    #[test]
    fn a_findings_tactic_is_that_of_its_first_known_technique() {
        let mitre = vec![
            "T9999".to_string(),
            "T1562.008".to_string(),
            "T1078.004".into(),
        ];
        assert_eq!(tactic_of(&mitre), Some(Tactic::DefenseEvasion));
        assert_eq!(tactic_of(&[]), None);
    }
}
