//! Polars SQL over the events, for what the filter language cannot express.

use polars::prelude::*;

use crate::{Error, Result};

/// The table name the events are registered under.
pub const TABLE: &str = "events";

/// Runs Polars SQL over the frame, registered as the table [`TABLE`] (`events`).
///
/// The table shows categorical columns as strings: Polars SQL's string functions and
/// `LIKE` reject categoricals, and a SQL user sees text, not a dictionary. The casts are
/// lazy, so a query pays only for the columns it reads.
pub fn sql(frame: &DataFrame, query: &str) -> Result<DataFrame> {
    let mut context = polars::sql::SQLContext::new();
    let as_text: Vec<Expr> = frame
        .columns()
        .iter()
        .filter(|c| matches!(c.dtype(), DataType::Categorical(..)))
        .map(|c| col(c.name().clone()).cast(DataType::String))
        .collect();
    context.register(TABLE, frame.clone().lazy().with_columns(as_text));
    context
        .execute(query)
        .and_then(|lf| lf.collect())
        .map_err(|e| Error::Invalid(format!("SQL: {e}")))
}

/// The columns among `columns` that a SQL query can read: those an identifier of the query
/// names (quoted or not, in any case), and all of `star` for a `*` other than `COUNT(*)`'s.
/// A conservative superset: a word that is an alias or a function's name is taken for the
/// column of that name, while text in string literals and comments names nothing.
pub fn named_columns<'a>(query: &str, columns: &[&'a str], star: &[&'a str]) -> Vec<&'a str> {
    let mut named: Vec<&'a str> = Vec::new();
    let mut add = |found: &[&'a str]| {
        for c in found {
            if !named.contains(c) {
                named.push(c);
            }
        }
    };
    let chars: Vec<char> = query.chars().collect();
    // The last character outside literals and comments that is not white space.
    let mut previous = ' ';
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\'' => i = closing(&chars, i + 1, '\''),
            '-' if next == Some('-') => {
                i = chars[i..]
                    .iter()
                    .position(|c| *c == '\n')
                    .map_or(chars.len(), |n| i + n);
                continue;
            }
            '/' if next == Some('*') => {
                i = (i + 2..chars.len())
                    .find(|&j| chars[j] == '*' && chars.get(j + 1) == Some(&'/'))
                    .map_or(chars.len(), |j| j + 1);
            }
            '"' | '`' => {
                let end = closing(&chars, i + 1, c);
                let name: String = chars[i + 1..end.min(chars.len())].iter().collect();
                add(&columns_named(&name, columns));
                i = end;
            }
            '*' if previous != '(' => add(star),
            c if c.is_alphabetic() || c == '_' => {
                let end = (i..chars.len())
                    .find(|&j| !(chars[j].is_alphanumeric() || chars[j] == '_'))
                    .unwrap_or(chars.len());
                let word: String = chars[i..end].iter().collect();
                add(&columns_named(&word, columns));
                previous = chars[end - 1];
                i = end;
                continue;
            }
            _ => {}
        }
        if !c.is_whitespace() {
            previous = chars.get(i).copied().unwrap_or(c);
        }
        i += 1;
    }
    named
}

/// The index of the character closing a quote opened before `from` (the end if none).
fn closing(chars: &[char], from: usize, quote: char) -> usize {
    (from..chars.len())
        .find(|&j| chars[j] == quote)
        .unwrap_or(chars.len())
}

/// The column `name` names, in any case.
fn columns_named<'a>(name: &str, columns: &[&'a str]) -> Vec<&'a str> {
    columns
        .iter()
        .copied()
        .filter(|c| c.eq_ignore_ascii_case(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::named_columns;

    const COLUMNS: [&str; 5] = ["time", "actor", "action", "src_ip", "raw"];
    const STAR: [&str; 4] = ["time", "actor", "action", "src_ip"];

    fn named(query: &str) -> Vec<&'static str> {
        let mut out = named_columns(query, &COLUMNS, &STAR);
        out.sort();
        out
    }

    #[test]
    fn a_query_reads_the_columns_it_names_and_every_one_for_a_star() {
        assert_eq!(
            named("SELECT actor, COUNT(*) AS n FROM events GROUP BY actor ORDER BY n DESC"),
            ["actor"]
        );
        assert_eq!(
            named("select \"Action\", ACTOR from events where src_ip like '10.%'"),
            ["action", "actor", "src_ip"]
        );
        // Literals and comments name nothing; a star is every column but `raw`.
        assert_eq!(
            named("SELECT count( * ) FROM events WHERE actor = 'time raw' -- action\n"),
            ["actor"]
        );
        assert_eq!(
            named("/* raw */ SELECT * FROM events"),
            ["action", "actor", "src_ip", "time"]
        );
        assert_eq!(named("SELECT e.*, raw FROM events e").len(), COLUMNS.len());
        // A product reads as a star: more columns than needed, never fewer.
        assert_eq!(named("SELECT time*2 FROM events").len(), STAR.len());
    }
}
