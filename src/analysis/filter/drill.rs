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
