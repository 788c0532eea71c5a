//! Field helpers every provider shares: lenient JSON values (a wrong type costs the field,
//! never the record), JSON parsing with the nesting limit, probes for format detection,
//! table-export cells, and the small text shapes of normalized fields.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

pub use crate::json_scan::Text;

use super::{Probe, RecordError};

// ---------------------------------------------------------------------------------------
// Lenient JSON values: real exports put numbers where strings were, arrays where a scalar
// was, null anywhere. These types accept whatever comes and keep what is usable, so that a
// surprising type costs one field, not the record.
// ---------------------------------------------------------------------------------------

/// A number that may arrive as a JSON number or a numeric string; anything else is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Num(pub Option<f64>);

impl Num {
    /// The value as an integer, if it is one.
    pub fn as_i64(self) -> Option<i64> {
        self.0
            .filter(|v| v.fract() == 0.0 && v.is_finite())
            .map(|v| v as i64)
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Text::deserialize(deserializer)?;
        Ok(Num(text.get().and_then(|s| s.trim().parse::<f64>().ok())))
    }
}

/// A boolean that may arrive as `true`, `"true"`, `"True"`, `1`; anything else is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flag(pub Option<bool>);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Text::deserialize(deserializer)?;
        Ok(Flag(text.get().and_then(
            |s| match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Some(true),
                "false" | "0" | "no" => Some(false),
                _ => None,
            },
        )))
    }
}

/// Any JSON value, kept as its raw text (borrowed from the record), for fields parsed on
/// demand or nested JSON documents.
pub type RawJson<'a> = sonic_rs::LazyValue<'a>;

/// Parses a JSON record with serde, mapping the error to a rejection reason.
pub fn from_json<'a, T: Deserialize<'a>>(record: &'a [u8]) -> Result<T, RecordError> {
    if let Some(at) = crate::json_scan::too_deep(record) {
        return Err(RecordError::Invalid(crate::json_scan::nesting_error(at)));
    }
    sonic_rs::from_slice(record).map_err(RecordError::json)
}

/// Parses JSON text held in a string field (for example an `InitiatedBy` cell).
/// Text nested deeper than [`crate::json_scan::MAX_NESTING`] gives `None`.
pub fn from_json_str<'a, T: Deserialize<'a>>(text: &'a str) -> Option<T> {
    if crate::json_scan::too_deep(text.as_bytes()).is_some() {
        return None;
    }
    sonic_rs::from_str(text).ok()
}

/// Visitor methods giving one value for every scalar and for null.
#[rustfmt::skip]
macro_rules! scalars_give {
    ($value:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> { Ok($value) }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> { Ok($value) }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> { Ok($value) }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> { Ok($value) }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> { Ok($value) }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> { Ok($value) }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> { Ok($value) }
    };
}

/// A JSON object read into `T`; null, scalars and arrays give `None` instead of an error.
/// `T`'s fields must themselves be lenient (`Text`, `Obj`, `List`, ...).
pub struct Obj<T>(pub Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|v| Obj(Some(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Obj(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            scalars_give!(Obj(None));
        }
        deserializer.deserialize_any(ObjVisitor(PhantomData))
    }
}

/// A JSON array of objects read into `T`s, skipping elements that are not objects; a lone
/// object counts as a one-element array, anything else is empty.
pub struct List<T>(pub Vec<T>);

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(Obj(item)) = seq.next_element::<Obj<T>>()? {
                    out.extend(item);
                }
                Ok(List(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|v| List(vec![v]))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_any(self)
            }
            scalars_give!(List(Vec::new()));
        }
        deserializer.deserialize_any(ListVisitor(PhantomData))
    }
}

// ---------------------------------------------------------------------------------------
// Probe helpers
// ---------------------------------------------------------------------------------------

/// Looks up a path of object keys in a probe.
pub fn probe_get<'p>(probe: &'p Probe, path: &[&str]) -> Option<&'p Probe> {
    use sonic_rs::JsonValueTrait;
    let mut current = probe;
    for key in path {
        current = current.get(*key)?;
    }
    Some(current)
}

/// Whether a probe has a (non-null) value at a path.
pub fn probe_has(probe: &Probe, path: &[&str]) -> bool {
    use sonic_rs::JsonValueTrait;
    probe_get(probe, path).is_some_and(|v| !v.is_null())
}

/// The string at a path of a probe.
pub fn probe_str<'p>(probe: &'p Probe, path: &[&str]) -> Option<&'p str> {
    use sonic_rs::JsonValueTrait;
    probe_get(probe, path).and_then(|v| v.as_str())
}

/// Whether a table export has a column (exact name, or the name followed by ` [UTC]` etc.).
pub fn header_has(headers: &csv::StringRecord, name: &str) -> bool {
    headers.iter().any(|h| column_matches(h, name))
}

/// Whether a CSV header names this column; Sentinel exports add ` [UTC]` to time columns.
pub fn column_matches(header: &str, name: &str) -> bool {
    let header = header.trim_start_matches('\u{feff}').trim();
    header == name
        || header
            .strip_prefix(name)
            .is_some_and(|rest| rest.starts_with(" ["))
}

/// The value of a named column in a table row, trimmed; empty cells give `None`.
pub fn cell<'a>(
    headers: &csv::StringRecord,
    row: &'a csv::StringRecord,
    name: &str,
) -> Option<&'a str> {
    let index = headers.iter().position(|h| column_matches(h, name))?;
    row.get(index).map(str::trim).filter(|v| !v.is_empty())
}

// ---------------------------------------------------------------------------------------
// Text shapes
// ---------------------------------------------------------------------------------------

/// The longest prefix of at most `max` bytes that ends on a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or(s)
}

/// A `Cow` without surrounding white space, still borrowed when it was.
pub fn trim_cow(c: Cow<'_, str>) -> Cow<'_, str> {
    match c {
        Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
        Cow::Owned(s) if s.trim().len() == s.len() => Cow::Owned(s),
        Cow::Owned(s) => Cow::Owned(s.trim().to_owned()),
    }
}

/// A sub-slice of a `Cow`, borrowed when the `Cow` is.
pub fn sub_cow<'a>(
    c: &Cow<'a, str>,
    f: impl for<'x> Fn(&'x str) -> Option<&'x str>,
) -> Option<Cow<'a, str>> {
    match c {
        Cow::Borrowed(s) => f(s).map(Cow::Borrowed),
        Cow::Owned(s) => f(s).map(|x| Cow::Owned(x.to_owned())),
    }
}

/// The path segment after `key` in an Azure resource id, any case: `/subscriptions/` or
/// `/tenants/` of `/TENANTS/<id>/providers/...` gives `<id>`.
pub fn id_segment<'s>(id: &'s str, key: &str) -> Option<&'s str> {
    let pos =
        (id.as_bytes().windows(key.len())).position(|w| w.eq_ignore_ascii_case(key.as_bytes()))?;
    let segment = id.get(pos + key.len()..)?.split('/').next()?.trim();
    (!segment.is_empty()).then_some(segment)
}

/// The tenant of an Azure resource id (`/tenants/<id>/providers/Microsoft.aadiam`).
pub fn tenant_of(id: &str) -> Option<&str> {
    id_segment(id, "/tenants/")
}

/// An Azure region by its name (`eastus`): Azure writes one region as its name (`eastus`),
/// its display name (`East US`), upper-cased (`EASTUS`) or as the portal's label
/// (`(US) East US`); the name is the display name in lower case without spaces.
pub fn azure_region(region: Cow<'_, str>) -> Cow<'_, str> {
    let text = region.trim();
    // The portal's geography prefix: `(US) East US`, `(Europe) West Europe`.
    let text = match text.strip_prefix('(').and_then(|t| t.split_once(')')) {
        Some((_, rest)) if !rest.trim().is_empty() => rest.trim(),
        _ => text,
    };
    let canonical = text
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if canonical && text.len() == region.len() {
        return region;
    }
    Cow::Owned(
        text.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect(),
    )
}

/// The text before the first dot (`user` of `user.session.start`), borrowed when possible.
pub fn first_segment<'a>(text: &Cow<'a, str>) -> Option<Cow<'a, str>> {
    sub_cow(text, |s| {
        s.split_once('.').map(|(p, _)| p).filter(|p| !p.is_empty())
    })
}

/// Whether an action name reads rather than changes (Get/List/Describe/... prefixes), for
/// formats that do not say.
pub fn looks_read_only(action: &str) -> bool {
    const READ_PREFIXES: [&str; 12] = [
        "get", "list", "describe", "head", "lookup", "search", "query", "read", "watch", "view",
        "batchget", "check",
    ];
    let lower = action.trim().to_ascii_lowercase();
    let last = lower.rsplit(['.', '/', ':']).next().unwrap_or(&lower);
    READ_PREFIXES.iter().any(|p| last.starts_with(p))
}

/// Joins non-empty `key=value` pairs into the compact `details` text.
pub fn details_from(pairs: &[(&str, Option<&str>)]) -> Option<Cow<'static, str>> {
    let mut out = String::new();
    for (key, value) in pairs {
        if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(key);
            out.push('=');
            out.push_str(v);
        }
    }
    (!out.is_empty()).then_some(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_text_accepts_any_type() {
        #[derive(Deserialize)]
        struct R<'a> {
            #[serde(borrow, default)]
            a: Text<'a>,
            #[serde(borrow, default)]
            b: Text<'a>,
            #[serde(borrow, default)]
            c: Text<'a>,
            #[serde(borrow, default)]
            d: Text<'a>,
        }
        let r: R = from_json(br#"{"a":"x\"y","b":12,"c":[1,2],"d":null}"#).unwrap();
        assert_eq!(r.a.get(), Some("x\"y"));
        assert_eq!(r.b.get(), Some("12"));
        assert_eq!(r.c.get(), None);
        assert_eq!(r.d.get(), None);
    }

    #[test]
    fn azure_regions_take_their_name_in_every_spelling() {
        for written in ["eastus", "East US", "EASTUS", " east us ", "(US) East US"] {
            assert_eq!(azure_region(Cow::Borrowed(written)), "eastus", "{written}");
        }
        assert_eq!(azure_region(Cow::Borrowed("West US 2")), "westus2");
        assert_eq!(azure_region(Cow::Borrowed("global")), "global");
        assert!(matches!(
            azure_region(Cow::Borrowed("westeurope")),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn read_only_guess_uses_the_verb() {
        assert!(looks_read_only("DescribeInstances"));
        assert!(looks_read_only("google.iam.admin.v1.GetRole"));
        assert!(!looks_read_only("AttachUserPolicy"));
    }
}
