//! The part of a record a rule can read: the top-level keys its fields resolve through
//! (after the log source's mapping), so a record is parsed into a value holding only those,
//! the rest skipped without building it. Building every member of a large record was the
//! largest cost of the rules evaluated while loading; most rules read two or three keys.

use std::borrow::Cow;

use rsigma_eval::CompiledDetection;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::fields::{Lookup, LookupOwned};
use super::prefilter::refers_to_fields;
use super::rules::LoadedRule;

/// The top-level keys (ASCII lower case) a rule's fields may be read from; `None` when it
/// may read anything (keyword searches, references between fields, the whole event kept).
pub fn keys_read(rule: &LoadedRule) -> Option<Vec<String>> {
    if rule.compiled.include_event {
        return None;
    }
    let mut keys = Vec::new();
    for detection in rule.compiled.detections.values() {
        detection_keys(rule, detection, &mut keys)?;
    }
    keys.sort();
    keys.dedup();
    Some(keys)
}

fn detection_keys(
    rule: &LoadedRule,
    detection: &CompiledDetection,
    keys: &mut Vec<String>,
) -> Option<()> {
    match detection {
        CompiledDetection::AllOf(items) => {
            for item in items {
                if refers_to_fields(&item.matcher) {
                    return None;
                }
                field_keys(rule, item.field.as_deref()?, keys);
            }
        }
        CompiledDetection::AnyOf(list) | CompiledDetection::And(list) => {
            for d in list {
                detection_keys(rule, d, keys)?;
            }
        }
        // The body reads members of the array at `field`, all under its top-level key.
        CompiledDetection::ArrayMatch { field, .. } => field_keys(rule, field, keys),
        CompiledDetection::Keywords(_) | CompiledDetection::Conditional { .. } => return None,
    }
    Some(())
}

/// The keys every path `field` is looked up at may start with: a flat key holding the
/// whole path, and each dotted prefix's first segment.
fn field_keys(rule: &LoadedRule, field: &str, keys: &mut Vec<String>) {
    let mut paths: Vec<Cow<'_, str>> = Vec::new();
    for lookup in rule.source.lookups(field) {
        match lookup {
            LookupOwned::Path(p) => paths.push(Cow::Owned(p)),
            LookupOwned::Virtual(Lookup::Path(p)) => paths.push(Cow::Borrowed(p)),
            LookupOwned::Virtual(computed) => {
                paths.extend(computed.paths_read().iter().map(|p| Cow::Borrowed(*p)));
            }
        }
    }
    for path in paths {
        let path = path.to_ascii_lowercase();
        let first = path.split('.').next().unwrap_or("").to_string();
        if first != path {
            keys.push(path);
        }
        keys.push(first);
    }
}

/// Parses `bare` (a record out of its envelope) keeping, of a top-level object, only the
/// members under `keys` (ASCII case ignored; `None`: all of it).
pub fn parse_keeping(bare: &[u8], keys: Option<&[&str]>) -> Result<Value, String> {
    let start = bare
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let text = &bare[start..];
    let parsed = match keys {
        Some(keys) if text.first() == Some(&b'{') => {
            let mut de = serde_json::Deserializer::from_slice(text);
            KeptMembers(keys)
                .deserialize(&mut de)
                .and_then(|value| de.end().map(|()| value))
        }
        _ => serde_json::from_slice(text),
    };
    parsed.map_err(|e| format!("invalid JSON: {e}"))
}

/// A top-level object, keeping the members under some keys.
struct KeptMembers<'k>(&'k [&'k str]);

impl<'de> DeserializeSeed<'de> for KeptMembers<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for KeptMembers<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            if self.0.iter().any(|k| k.eq_ignore_ascii_case(&key)) {
                let value: Value = map.next_value()?;
                out.insert(key.into_owned(), value);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Value::Object(out))
    }
}

/// An object's key, borrowed from the input when it holds no escape.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_kept_members_are_built_and_bad_json_anywhere_is_refused() {
        let text = br#" {"eventName":"ConsoleLogin","UserIdentity":{"type":"Root"},"requestParameters":{"big":[1,2,3]},"a\u0062c":1}"#;
        let kept = parse_keeping(text, Some(&["useridentity", "abc"])).unwrap();
        assert_eq!(
            kept,
            serde_json::json!({"UserIdentity": {"type": "Root"}, "abc": 1})
        );
        let all = parse_keeping(text, None).unwrap();
        assert_eq!(all["requestParameters"]["big"][2], 3);
        // A skipped member is still checked, and nothing may follow the record.
        assert!(parse_keeping(br#"{"x":[1,}"#, Some(&["y"])).is_err());
        assert!(parse_keeping(br#"{"x":1} {"#, Some(&["x"])).is_err());
        // Not an object: parsed whole.
        assert_eq!(
            parse_keeping(b"[1]", Some(&["x"])).unwrap(),
            serde_json::json!([1])
        );
    }
}
