//! IAM policy documents as the logs carry them (JSON, JSON text, or URL-encoded JSON text)
//! and what their statements allow: `Action` and `NotAction` lists with IAM wildcards
//! (`*`, `?`), expanded against the Service Authorization Reference. `Deny` statements with
//! an `Action` list take their actions away; a `Deny` with `NotAction` makes the policy
//! "cannot tell". Conditions are treated as granting and marked.

use serde_json::Value;

use super::catalog::Catalog;

/// Documents longer than this are not read (IAM's limit is 10,240 characters for inline
/// and 6,144 for managed policies; the embedded managed ones are larger but not parsed
/// from logs).
const MAX_DOCUMENT: usize = 1 << 18;

/// One `Allow` statement of a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allow {
    /// The `Action` patterns (lowercase), or the `NotAction` patterns when `not` is set.
    pub patterns: Vec<String>,
    /// `NotAction`: everything except `patterns`.
    pub not: bool,
    /// The statement has a `Condition`.
    pub conditional: bool,
}

impl Allow {
    /// The statement as a person reads it: `s3:Get*`, `ec2:Describe*, ec2:Get*`, or
    /// `NotAction iam:*`.
    pub fn text(&self, original: &[String]) -> String {
        let list = original.join(", ");
        if self.not {
            format!("NotAction {list}")
        } else {
            list
        }
    }

    /// Whether it allows `action` (`namespace:Name`, any case).
    pub fn allows(&self, action: &str) -> bool {
        let hit = self.patterns.iter().any(|p| wildcard(p, action));
        hit != self.not
    }
}

/// A policy document read into its allowing statements and the actions it denies.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// Each `Allow` statement, with its patterns as written (for display).
    pub allows: Vec<(Allow, Vec<String>)>,
    /// The `Action` patterns of `Deny` statements without conditions (lowercase).
    pub denies: Vec<String>,
    /// Why what the policy grants cannot be told (unreadable, `Deny` with `NotAction`).
    pub cannot_tell: Option<String>,
}

impl Policy {
    /// Reads a document: a JSON value, or JSON text that may be URL-encoded.
    pub fn read(document: &Value) -> Policy {
        match document {
            Value::String(text) => Policy::parse_text(text),
            Value::Object(_) => Policy::from_value(document),
            _ => Policy::unreadable("the policy document is not JSON"),
        }
    }

    /// Reads a document from its text (JSON, or URL-encoded JSON).
    pub fn parse_text(text: &str) -> Policy {
        if text.len() > MAX_DOCUMENT {
            return Policy::unreadable("the policy document is too large to read");
        }
        let trimmed = text.trim();
        let decoded;
        let json = if trimmed.starts_with('{') {
            trimmed
        } else {
            decoded = url_decode(trimmed);
            decoded.trim()
        };
        match serde_json::from_str::<Value>(json) {
            Ok(v) if v.is_object() => Policy::from_value(&v),
            _ => Policy::unreadable("the policy document could not be read"),
        }
    }

    fn unreadable(why: &str) -> Policy {
        Policy {
            cannot_tell: Some(why.to_string()),
            ..Policy::default()
        }
    }

    fn from_value(doc: &Value) -> Policy {
        let statements: Vec<&Value> = match doc.get("Statement") {
            Some(Value::Array(list)) => list.iter().collect(),
            Some(one @ Value::Object(_)) => vec![one],
            _ => return Policy::unreadable("the policy document has no statements"),
        };
        let mut policy = Policy::default();
        for st in statements {
            let effect = st.get("Effect").and_then(Value::as_str).unwrap_or("");
            let conditional = st.get("Condition").is_some_and(|c| !c.is_null());
            let (written, not) = match (st.get("Action"), st.get("NotAction")) {
                (Some(a), _) => (strings(a), false),
                (None, Some(n)) => (strings(n), true),
                (None, None) => continue,
            };
            let patterns: Vec<String> = written.iter().map(|p| p.to_ascii_lowercase()).collect();
            if effect.eq_ignore_ascii_case("allow") {
                policy.allows.push((
                    Allow {
                        patterns,
                        not,
                        conditional,
                    },
                    written,
                ));
            } else if effect.eq_ignore_ascii_case("deny") {
                if not {
                    policy.cannot_tell =
                        Some("a Deny statement with NotAction (not evaluated)".into());
                } else if !conditional {
                    policy.denies.extend(patterns);
                }
                // A conditional Deny may or may not apply: the grant stands, as conditions
                // are treated as granting.
            }
        }
        policy
    }

    /// Whether an unconditional `Deny` of this policy covers `action`.
    pub fn denied(&self, action: &str) -> bool {
        self.denies.iter().any(|p| wildcard(p, action))
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.trim().to_string()],
        Value::Array(list) => list
            .iter()
            .filter_map(Value::as_str)
            .map(|s| s.trim().to_string())
            .collect(),
        _ => Vec::new(),
    }
}

/// `%7B%22...` -> `{"...`; `+` stays (policy text never encodes spaces as `+`).
fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |j: usize| {
            bytes
                .get(j)
                .and_then(|c| (*c as char).to_digit(16))
                .map(|d| d as u8)
        };
        if b == b'%'
            && let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// IAM wildcard match, case-insensitive: `*` any run, `?` one character. `pattern` is
/// lowercase.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t: Vec<u8> = text.bytes().map(|b| b.to_ascii_lowercase()).collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some(b'*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == t.get(ti) => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

/// The SAR actions (indexes into [`Catalog::actions`]) an `Allow` statement grants, less the
/// policy's denies.
pub fn expand(catalog: &Catalog, allow: &Allow, policy: &Policy) -> Vec<usize> {
    let candidates: Box<dyn Iterator<Item = usize>> = if allow.not {
        Box::new(0..catalog.actions.len())
    } else {
        // A pattern names its namespace before the colon, unless it starts with a wildcard.
        let mut namespaces: Vec<&str> = Vec::new();
        let mut everything = false;
        for p in &allow.patterns {
            match p.split_once(':') {
                Some((ns, _)) if !ns.contains(['*', '?']) => namespaces.push(ns),
                _ => everything = true,
            }
        }
        if everything {
            Box::new(0..catalog.actions.len())
        } else {
            namespaces.sort_unstable();
            namespaces.dedup();
            let mut list = Vec::new();
            for ns in namespaces {
                for a in catalog.namespace(ns) {
                    if let Some(i) = catalog.index_of(a) {
                        list.push(i);
                    }
                }
            }
            Box::new(list.into_iter())
        }
    };
    candidates
        .filter(|&i| {
            catalog
                .actions
                .get(i)
                .is_some_and(|a| allow.allows(&a.name) && !policy.denied(&a.name))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_iam() {
        assert!(wildcard("s3:get*", "s3:GetObject"));
        assert!(wildcard("*", "iam:CreateUser"));
        assert!(wildcard("ec2:describe?nstances", "ec2:DescribeInstances"));
        assert!(!wildcard("s3:get*", "s3:PutObject"));
        assert!(!wildcard("s3:get", "s3:GetObject"));
        assert!(wildcard("iam:*user*", "iam:ListUserPolicies"));
    }

    #[test]
    fn url_encoded_documents_with_not_action_and_deny() {
        let text = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22NotAction%22%3A%22iam%3A*%22%2C%22Resource%22%3A%22*%22%7D%2C%7B%22Effect%22%3A%22Deny%22%2C%22Action%22%3A%22ec2%3ATerminate*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D";
        let policy = Policy::parse_text(text);
        assert_eq!(policy.cannot_tell, None);
        let (allow, written) = &policy.allows[0];
        assert!(allow.not);
        assert_eq!(allow.text(written), "NotAction iam:*");
        assert!(allow.allows("ec2:RunInstances"));
        assert!(!allow.allows("iam:CreateUser"));
        let granted = expand(Catalog::get(), allow, &policy);
        let names: Vec<&str> = granted
            .iter()
            .map(|&i| Catalog::get().actions[i].name.as_str())
            .collect();
        assert!(names.contains(&"ec2:RunInstances"));
        assert!(!names.contains(&"ec2:TerminateInstances"), "denied");
        assert!(!names.iter().any(|n| n.starts_with("iam:")));
    }

    #[test]
    fn deny_with_not_action_cannot_be_told_and_conditions_are_marked() {
        let p = Policy::parse_text(
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}},
                {"Effect":"Deny","NotAction":"s3:GetObject","Resource":"*"}]}"#,
        );
        assert!(p.cannot_tell.is_some());
        assert!(p.allows[0].0.conditional);
        assert!(Policy::parse_text("not json").cannot_tell.is_some());
    }
}
