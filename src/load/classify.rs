//! The privileged-action classification: per provider, the configured glob patterns compiled
//! into one case-insensitive regex, with a cache because actions repeat.

use std::collections::HashMap;

use regex::Regex;

use crate::config::Config;
use crate::{Error, Result};

/// Decides whether an action is privileged.
#[derive(Debug, Clone, Default)]
pub struct Classifier {
    patterns: HashMap<String, Regex>,
}

impl Classifier {
    /// Compiles the `privileged` lists of a configuration.
    pub fn from_config(config: &Config) -> Result<Classifier> {
        let mut patterns = HashMap::new();
        for (provider, list) in &config.privileged {
            let alternatives: Vec<String> = list.patterns().map(glob_to_regex).collect();
            if alternatives.is_empty() {
                continue;
            }
            let source = format!("(?i)^(?:{})$", alternatives.join("|"));
            let regex = Regex::new(&source)
                .map_err(|e| Error::Invalid(format!("privileged patterns for {provider}: {e}")))?;
            patterns.insert(provider.clone(), regex);
        }
        Ok(Classifier { patterns })
    }

    /// The built-in classification.
    pub fn builtin() -> Result<Classifier> {
        Classifier::from_config(&Config::builtin()?)
    }

    /// Whether `action` (of `service`) is privileged for `provider`.
    pub fn is_privileged(&self, provider: &str, service: Option<&str>, action: &str) -> bool {
        let Some(regex) = self.patterns.get(provider) else {
            return false;
        };
        let action = action.trim();
        if action.is_empty() {
            return false;
        }
        // Entra writes some names with an en dash; patterns use a hyphen.
        let action: std::borrow::Cow<str> = if action.contains('–') {
            action.replace('–', "-").into()
        } else {
            action.into()
        };
        if regex.is_match(&action) {
            return true;
        }
        match provider {
            "aws" => service.is_some_and(|s| regex.is_match(&format!("{s}:{action}"))),
            "gcp" => action
                .rsplit('.')
                .next()
                .is_some_and(|last| regex.is_match(last)),
            _ => false,
        }
    }
}

/// A memo of classification results for one worker: actions repeat a lot.
#[derive(Default)]
pub struct ClassifierCache {
    memo: HashMap<u64, bool>,
}

impl ClassifierCache {
    /// Classifies through the memo.
    pub fn is_privileged(
        &mut self,
        classifier: &Classifier,
        provider: &str,
        service: Option<&str>,
        action: Option<&str>,
    ) -> bool {
        let Some(action) = action else {
            return false;
        };
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(provider.as_bytes());
        hasher.update(&[0]);
        hasher.update(service.unwrap_or("").as_bytes());
        hasher.update(&[0]);
        hasher.update(action.as_bytes());
        *self
            .memo
            .entry(hasher.digest())
            .or_insert_with(|| classifier.is_privileged(provider, service, action))
    }
}

fn glob_to_regex(glob: &str) -> String {
    let glob = glob.trim().replace('–', "-");
    glob.split('*')
        .map(regex::escape)
        .collect::<Vec<_>>()
        .join(".*")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_lists_classify_real_action_names() {
        let c = Classifier::builtin().unwrap();
        assert!(c.is_privileged("aws", Some("iam"), "AttachUserPolicy"));
        assert!(c.is_privileged("aws", Some("cloudtrail"), "StopLogging"));
        assert!(c.is_privileged("aws", Some("lambda"), "AddPermission20150710"));
        assert!(!c.is_privileged("aws", Some("ec2"), "DescribeInstances"));
        assert!(
            !c.is_privileged("aws", Some("s3"), "StopLogging"),
            "service must match"
        );
        assert!(c.is_privileged(
            "gcp",
            Some("iam"),
            "google.iam.admin.v1.CreateServiceAccountKey"
        ));
        assert!(c.is_privileged("gcp", Some("cloudresourcemanager"), "SetIamPolicy"));
        assert!(c.is_privileged(
            "entra",
            None,
            "Update application – Certificates and secrets management"
        ));
        assert!(c.is_privileged("entra", None, "add member to role"));
        assert!(c.is_privileged("kubernetes", Some("core"), "create pods/exec"));
        assert!(c.is_privileged("kubernetes", None, "patch mutatingwebhookconfigurations"));
        assert!(!c.is_privileged("kubernetes", Some("core"), "get pods"));
        assert!(c.is_privileged("okta", None, "user.account.privilege.grant"));
        assert!(c.is_privileged("github", None, "repository_ruleset.destroy"));
        assert!(c.is_privileged(
            "azure",
            None,
            "MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE"
        ));
        assert!(!c.is_privileged("nope", None, "anything"));
    }

    #[test]
    fn credential_grants_and_remote_commands_are_privileged() {
        let c = Classifier::builtin().unwrap();
        // Remote command execution on instances, and secrets read in bulk (service, action,
        // privileged).
        for (service, action, want) in [
            ("ssm", "SendCommand", true),
            ("ssm", "StartSession", true),
            ("secretsmanager", "BatchGetSecretValue", true),
            ("ssm", "GetParameter", false),
            // Other long-lived credentials of an IAM user: SSH keys (CodeCommit), signing
            // certificates, service-specific credentials.
            ("iam", "UploadSSHPublicKey", true),
            ("iam", "UploadSigningCertificate", true),
            ("iam", "CreateServiceSpecificCredential", true),
        ] {
            assert_eq!(
                c.is_privileged("aws", Some(service), action),
                want,
                "{action}"
            );
        }
        // GitHub tokens and OAuth grants, as the security and audit logs name them.
        for action in [
            "personal_access_token.create",
            "personal_access_token.request_created",
            "personal_access_token.access_granted",
            "personal_access_token.credential_regenerated",
            "oauth_authorization.create",
            "oauth_access.create",
            "org.oauth_app_access_approved",
            // A site administrator promoting an account to site administrator (GHES).
            "user.promote",
        ] {
            assert!(c.is_privileged("github", None, action), "{action}");
        }
        assert!(!c.is_privileged("github", None, "personal_access_token.destroy"));
        // Access keys read from any Azure resource provider, in either casing.
        for action in [
            "MICROSOFT.EVENTHUB/NAMESPACES/AUTHORIZATIONRULES/LISTKEYS/ACTION",
            "Microsoft.EventHub/namespaces/authorizationRules/listKeys/action",
            "Microsoft.Storage/storageAccounts/listKeys/action",
            "Microsoft.DocumentDB/databaseAccounts/listKeys/action",
            "MICROSOFT.OPERATIONALINSIGHTS/WORKSPACES/SHAREDKEYS/ACTION",
        ] {
            assert!(c.is_privileged("azure", None, action), "{action}");
        }
        assert!(!c.is_privileged(
            "azure",
            None,
            "MICROSOFT.EVENTHUB/NAMESPACES/AUTHORIZATIONRULES/READ"
        ));
    }

    #[test]
    fn cache_agrees_with_the_classifier() {
        let c = Classifier::builtin().unwrap();
        let mut cache = ClassifierCache::default();
        for _ in 0..2 {
            assert!(cache.is_privileged(&c, "aws", Some("iam"), Some("CreateUser")));
            assert!(!cache.is_privileged(&c, "aws", Some("iam"), Some("ListUsers")));
            assert!(!cache.is_privileged(&c, "aws", Some("iam"), None));
        }
    }
}
