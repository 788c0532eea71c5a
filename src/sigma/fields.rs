//! Where a Sigma rule's fields are in the records trailscope loads: which loaded events a
//! rule's log source covers, the field mapping per log source (the names rules use, often in
//! the casing of the SIEM they were written for, to the paths of the exported records), and
//! which normalized columns hold a field's value unchanged (the prefilter reads those).
//!
//! A field is looked up in this order, the first that is present wins:
//! 1. the mapping's paths for the rule's log source ([`Source::mapped`]);
//! 2. the field as written;
//! 3. for Azure and Entra records, the field under `properties` (diagnostic-settings exports
//!    nest what Log Analytics shows as columns there);
//! 4. for GCP, the field without the `data.` prefix some pipelines add.
//!
//! Each path is matched key by key, exactly first and then ignoring ASCII case.

use rsigma_parser::LogSource;

/// A log source a Sigma rule can name and trailscope loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// `product: aws`, `service: cloudtrail`.
    CloudTrail,
    /// `product: azure`, `service: activitylogs`.
    AzureActivity,
    /// `product: azure`, `service: auditlogs` (Entra ID audit).
    EntraAudit,
    /// `product: azure`, `service: signinlogs`.
    EntraSignin,
    /// `product: azure`, `service: riskdetection` or `pim` (Identity Protection and PIM
    /// alerts, read from Entra's risk and audit records).
    EntraRisk,
    /// `product: gcp`, `service: gcp.audit`.
    GcpAudit,
    /// `product: kubernetes`, `service: audit`.
    KubernetesAudit,
    /// `product: github`, `service: audit`.
    GithubAudit,
    /// `product: okta`, `service: okta`.
    Okta,
}

/// Every source, in the order `sigma check` lists them.
pub const SOURCES: [Source; 9] = [
    Source::CloudTrail,
    Source::AzureActivity,
    Source::EntraAudit,
    Source::EntraSignin,
    Source::EntraRisk,
    Source::GcpAudit,
    Source::KubernetesAudit,
    Source::GithubAudit,
    Source::Okta,
];

/// A normalized column holding a field's value ([`Source::exact_column`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exact {
    /// The column.
    pub column: &'static str,
    /// The field is the column's first word (up to the first space).
    pub first_word: bool,
}

impl Exact {
    /// The field's value in a value of the column.
    pub fn field_value(self, column_value: &str) -> &str {
        if self.first_word {
            column_value.split(' ').next().unwrap_or("")
        } else {
            column_value
        }
    }
}

/// How one Sigma field is read from a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A dotted path into the record (arrays on the way are searched member by member).
    Path(&'static str),
    /// CloudTrail has no status field: `success` without an `errorCode`, else `failure`
    /// (what SIEM pipelines put in a rule's `status`).
    CloudTrailStatus,
    /// Log Analytics' sign-in `Status`: `Success` or `Failure` from the error code, plus the
    /// status' details and failure reason, any of which a rule may match.
    SigninStatus,
    /// Azure Activity's resource provider (`Microsoft.Compute`): `resourceProviderName` when
    /// the record has it, else the first segment of the operation name.
    AzureResourceProvider,
}

impl Lookup {
    /// The words a computed field makes up rather than reads (lowercase): a literal among
    /// them is not in the record's text.
    pub fn computed_texts(&self) -> &'static [&'static str] {
        match self {
            Lookup::CloudTrailStatus | Lookup::SigninStatus => &["success", "failure"],
            Lookup::Path(_) | Lookup::AzureResourceProvider => &[],
        }
    }

    /// The paths it reads (what [`super::record`] reads to compute it).
    pub fn paths_read(&self) -> &[&'static str] {
        match self {
            Lookup::Path(p) => std::slice::from_ref(p),
            Lookup::CloudTrailStatus => &["errorCode", "errorMessage"],
            Lookup::SigninStatus => &["resultType", "status", "properties", "resultDescription"],
            Lookup::AzureResourceProvider => &["resourceProviderName", "operationName"],
        }
    }
}

impl Source {
    /// The source a rule's `logsource` names, if trailscope loads it.
    pub fn of(logsource: &LogSource) -> Option<Source> {
        let product = logsource.product.as_deref()?.to_ascii_lowercase();
        let service = logsource
            .service
            .as_deref()
            .unwrap_or("")
            .to_ascii_lowercase();
        Some(match (product.as_str(), service.as_str()) {
            ("aws", "cloudtrail") => Source::CloudTrail,
            ("azure", "activitylogs") => Source::AzureActivity,
            ("azure", "auditlogs") => Source::EntraAudit,
            ("azure", "signinlogs") => Source::EntraSignin,
            ("azure", "riskdetection" | "pim") => Source::EntraRisk,
            ("gcp", "gcp.audit") => Source::GcpAudit,
            ("kubernetes", "audit") => Source::KubernetesAudit,
            ("github", "audit") => Source::GithubAudit,
            ("okta", "okta") => Source::Okta,
            _ => return None,
        })
    }

    /// Its name in listings (`product/service`).
    pub fn name(self) -> &'static str {
        match self {
            Source::CloudTrail => "aws/cloudtrail",
            Source::AzureActivity => "azure/activitylogs",
            Source::EntraAudit => "azure/auditlogs",
            Source::EntraSignin => "azure/signinlogs",
            Source::EntraRisk => "azure/riskdetection+pim",
            Source::GcpAudit => "gcp/gcp.audit",
            Source::KubernetesAudit => "kubernetes/audit",
            Source::GithubAudit => "github/audit",
            Source::Okta => "okta/okta",
        }
    }

    /// The `provider` column's value of its events.
    pub fn provider(self) -> &'static str {
        match self {
            Source::CloudTrail => "aws",
            Source::AzureActivity => "azure",
            Source::EntraAudit | Source::EntraSignin | Source::EntraRisk => "entra",
            Source::GcpAudit => "gcp",
            Source::KubernetesAudit => "kubernetes",
            Source::GithubAudit => "github",
            Source::Okta => "okta",
        }
    }

    /// Whether an event of its provider with this `log_type` belongs to the source.
    pub fn covers_log_type(self, log_type: &str) -> bool {
        match self {
            Source::EntraAudit => log_type == "audit",
            Source::EntraSignin => log_type.starts_with("signin"),
            Source::EntraRisk => matches!(log_type, "risk" | "audit"),
            _ => true,
        }
    }

    /// The normalized column that holds `field`'s value exactly as the record does (same
    /// text, same case) whenever the record has the field, so a test on the column's
    /// distinct values decides the field's test for every row. Checked against the real
    /// samples by `tests/sigma.rs`.
    pub fn exact_column(self, field: &str) -> Option<Exact> {
        use crate::schema::ACTION;
        let field = field.to_ascii_lowercase();
        let whole = |column| Exact {
            column,
            first_word: false,
        };
        Some(match (self, field.as_str()) {
            (Source::CloudTrail, "eventname") => whole(ACTION),
            (Source::GithubAudit, "action") => whole(ACTION),
            (Source::Okta, "eventtype") => whole(ACTION),
            (Source::GcpAudit, "gcp.audit.method_name" | "protopayload.methodname") => {
                whole(ACTION)
            }
            // The Kubernetes action is the verb and what it acted on (`list pods`).
            (Source::KubernetesAudit, "verb") => Exact {
                column: ACTION,
                first_word: true,
            },
            _ => return None,
        })
    }

    /// The mapping's ways to read `field` (case-insensitive), before the field as written.
    pub fn mapped(self, field: &str) -> &'static [Lookup] {
        use Lookup::*;
        let field = field.to_ascii_lowercase();
        match (self, field.as_str()) {
            (Source::CloudTrail, "status") => &[CloudTrailStatus],
            (Source::AzureActivity, "operationname" | "operationnamevalue") => {
                &[Path("operationName.value"), Path("operationName")]
            }
            (Source::AzureActivity, "categoryvalue" | "category") => {
                &[Path("category.value"), Path("category")]
            }
            (Source::AzureActivity, "resourceprovidervalue") => &[AzureResourceProvider],
            (Source::AzureActivity, "activitystatusvalue" | "status") => &[
                Path("status.value"),
                Path("resultType"),
                Path("properties.activityStatusValue"),
            ],
            (Source::EntraAudit, "properties.message" | "activitydisplayname") => &[
                Path("properties.activityDisplayName"),
                Path("activityDisplayName"),
                Path("operationName"),
            ],
            (Source::EntraAudit, "operationname") => {
                &[Path("operationName"), Path("activityDisplayName")]
            }
            (Source::EntraAudit, "category") => &[Path("properties.category"), Path("category")],
            (Source::EntraAudit, "status" | "result") => {
                &[Path("properties.result"), Path("result")]
            }
            (Source::EntraAudit, "failure_status_reason" | "resultreason") => {
                &[Path("properties.resultReason"), Path("resultReason")]
            }
            (Source::EntraAudit, "initiatedby") => &[
                Path("properties.initiatedBy.user.userPrincipalName"),
                Path("initiatedBy.user.userPrincipalName"),
                Path("properties.initiatedBy.app.displayName"),
                Path("initiatedBy.app.displayName"),
            ],
            (Source::EntraAudit, "target") => &[
                Path("properties.targetResources.userPrincipalName"),
                Path("targetResources.userPrincipalName"),
                Path("properties.targetResources.displayName"),
                Path("targetResources.displayName"),
            ],
            (Source::EntraAudit, "activitytype") => {
                &[Path("properties.operationType"), Path("operationType")]
            }
            (Source::EntraSignin, "resulttype") => &[
                Path("resultType"),
                Path("properties.status.errorCode"),
                Path("status.errorCode"),
            ],
            (Source::EntraSignin, "resultdescription") => &[
                Path("resultDescription"),
                Path("properties.status.failureReason"),
                Path("status.failureReason"),
            ],
            (Source::EntraSignin, "status") => &[SigninStatus],
            (Source::EntraSignin, "clientapp") => {
                &[Path("properties.clientAppUsed"), Path("clientAppUsed")]
            }
            (Source::EntraSignin, "username") => &[
                Path("properties.userPrincipalName"),
                Path("userPrincipalName"),
            ],
            (Source::EntraSignin, "properties.message") => &[
                Path("properties.authenticationProtocol"),
                Path("authenticationProtocol"),
            ],
            (Source::GcpAudit, "gcp.audit.method_name") => &[Path("protoPayload.methodName")],
            (Source::KubernetesAudit, "apigroup") => &[Path("objectRef.apiGroup")],
            (Source::KubernetesAudit, "hostpath") => {
                &[Path("requestObject.spec.volumes.hostPath.path")]
            }
            (Source::KubernetesAudit, "capabilities") => &[Path(
                "requestObject.spec.containers.securityContext.capabilities.add",
            )],
            _ => &[],
        }
    }

    /// Every way to read `field`, in the order of the module's documentation.
    pub fn lookups(self, field: &str) -> Vec<LookupOwned> {
        let mut out: Vec<LookupOwned> = self
            .mapped(field)
            .iter()
            .map(|l| match l {
                Lookup::Path(p) => LookupOwned::Path((*p).to_string()),
                other => LookupOwned::Virtual(*other),
            })
            .collect();
        out.push(LookupOwned::Path(field.to_string()));
        out.extend(self.fallback(field).map(LookupOwned::Path));
        out
    }

    /// Where `field` is read last: under `properties` for Azure and Entra records, without
    /// the `data.` prefix for GCP.
    pub fn fallback(self, field: &str) -> Option<String> {
        match self {
            Source::AzureActivity
            | Source::EntraAudit
            | Source::EntraSignin
            | Source::EntraRisk
                if !field
                    .get(..11)
                    .is_some_and(|p| p.eq_ignore_ascii_case("properties.")) =>
            {
                Some(format!("properties.{field}"))
            }
            Source::GcpAudit => field.strip_prefix("data.").map(str::to_string),
            _ => None,
        }
    }
}

/// A [`Lookup`] whose path may be built for the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupOwned {
    /// A dotted path.
    Path(String),
    /// A computed field ([`Lookup`]'s other variants).
    Virtual(Lookup),
}

impl std::fmt::Display for LookupOwned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupOwned::Path(p) => f.write_str(p),
            LookupOwned::Virtual(Lookup::CloudTrailStatus) => {
                f.write_str("(success without errorCode, else failure)")
            }
            LookupOwned::Virtual(Lookup::SigninStatus) => f.write_str(
                "(Success/Failure from the error code, status.additionalDetails, status.failureReason)",
            ),
            LookupOwned::Virtual(Lookup::AzureResourceProvider) => {
                f.write_str("(resourceProviderName.value, else the operation name's provider)")
            }
            LookupOwned::Virtual(Lookup::Path(p)) => f.write_str(p),
        }
    }
}
