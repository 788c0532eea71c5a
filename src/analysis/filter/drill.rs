//! Filter text for drilling down: the term that selects the events with one value of a
//! column, written with the language's one quoting rule ([`quote_value`]), so the text a
//! pivot cell, a timeline lane or a finding puts in the filter bar reads back as exactly
//! that value.

use crate::schema::{MFA, PRIVILEGED, READ_ONLY};

use super::pattern::{literal_pattern, quote_string};

/// Quotes a value so that `field:VALUE` parses back to an exact (case-insensitive) equality
/// with it. Values made only of letters, digits and `. _ - @ / : +` (not starting with `-`)
/// stay bare; any other is put in double quotes, with `*` written `\*` (a literal star, not
/// a wildcard) and `\` and `"` escaped as the lexer reads them.
pub fn quote_value(value: &str) -> String {
    let bare = !value.is_empty()
        && !value.starts_with('-')
        && value
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@' | '/' | ':' | '+'));
    if bare {
        value.to_string()
    } else {
        quote_string(&literal_pattern(value))
    }
}

/// The term selecting events whose `column` is `value` (`true`/`false` on a boolean column).
pub fn equals(column: &str, value: &str) -> String {
    if matches!(column, MFA | READ_ONLY | PRIVILEGED) {
        format!("{column}:{value}")
    } else {
        format!("{column}:{}", quote_value(value))
    }
}

/// The term selecting events without a value in `column` (`unknown` on the booleans that
/// can be unknown).
pub fn missing(column: &str) -> String {
    if matches!(column, MFA | READ_ONLY) {
        format!("{column}:unknown")
    } else {
        format!("-{column}:*")
    }
}

/// The term excluding events whose `column` is `value` (`None`: excluding the events without a
/// value, i.e. keeping only those with one).
pub fn excludes(column: &str, value: Option<&str>) -> String {
    match value {
        Some(v) => format!("-{}", equals(column, v)),
        None if matches!(column, MFA | READ_ONLY) => format!("-{column}:unknown"),
        None => format!("{column}:*"),
    }
}

/// `filter` narrowed by `term`: the term appended (the filter parenthesized when its top level
/// is an `or`, so the term narrows all of it), unless the filter already holds it as a term.
pub fn and_term(filter: &str, term: &str) -> String {
    let current = filter.trim();
    if current.is_empty() {
        return term.to_string();
    }
    match super::parse(current) {
        Ok(super::FilterExpr::Or(_)) | Err(_) => format!("({current}) {term}"),
        Ok(super::FilterExpr::And(parts)) if parts.iter().any(|p| same_term(p, term)) => {
            current.to_string()
        }
        Ok(single) if same_term(&single, term) => current.to_string(),
        Ok(_) => format!("{current} {term}"),
    }
}

/// Whether `expr` is the term `term` spells.
fn same_term(expr: &super::FilterExpr, term: &str) -> bool {
    super::parse(term).is_ok_and(|t| &t == expr)
}
