//! How values fit their columns: identities shortened as people say them, long values cut in
//! the middle (both ends of an ARN stay readable) or, for prose, at the end; column widths
//! fitted to the content shown, shrunk on narrow terminals down to a readable minimum so the
//! columns after them (outcome, source IP) stay on screen.

use std::borrow::Cow;

use crate::schema;
use crate::text::{char_width, middle_ellipsis, shorten_identity, truncate};

/// The widest a column grows to fit its content (wider values are cut), unless resized.
pub fn max_width(column: &str) -> u16 {
    match column {
        schema::TIME => 24,
        schema::ACTOR | schema::IDENTITY | schema::RESOURCE | schema::USER_AGENT => 40,
        schema::EVENT_ID | schema::ACTOR_ID | schema::SESSION => 36,
        schema::ACTION | schema::SERVICE | schema::ERROR => 32,
        schema::SRC_IP => 39,
        _ => 60,
    }
}

/// The narrowest a column shrinks to on a narrow terminal (still readable: a shortened
/// principal, most action names).
pub fn min_width(column: &str) -> u16 {
    match column {
        schema::ACTOR | schema::IDENTITY => 15,
        schema::ACTION => 13,
        schema::RESOURCE | schema::USER_AGENT | schema::ERROR | schema::DETAILS => 14,
        // `MM-DD HH:MM:SS`: the year is in the status bar's range.
        schema::TIME => 14,
        schema::OUTCOME => 7,
        schema::SRC_IP => 15,
        schema::MFA | schema::COUNTRY => 5,
        schema::PROVIDER => 10,
        schema::ACTOR_TYPE | schema::READ_ONLY | schema::PRIVILEGED => 8,
        _ => 10,
    }
}

/// Whether a column holds prose (cut at the end) rather than identifiers (cut in the middle).
fn is_prose(column: &str) -> bool {
    matches!(column, schema::ERROR | schema::DETAILS)
}

/// Whether a column names principals (shortened unless full values are asked for).
pub fn names_principals(column: &str) -> bool {
    matches!(column, schema::ACTOR | schema::IDENTITY)
}

/// The text of a cell as shown before fitting: principals shortened unless `full`.
pub fn shown<'a>(column: &str, cell: &'a str, full: bool) -> Cow<'a, str> {
    if !full && names_principals(column) {
        shorten_identity(cell)
    } else {
        Cow::Borrowed(cell)
    }
}

/// Display width of a text.
pub fn text_width(text: &str) -> u16 {
    text.chars()
        .map(char_width)
        .sum::<usize>()
        .min(usize::from(u16::MAX)) as u16
}

/// `text` (already [`shown`]) fitted into `width` columns.
pub fn fit<'a>(column: &str, text: &'a str, width: u16) -> Cow<'a, str> {
    let width = usize::from(width);
    if usize::from(text_width(text)) <= width {
        return Cow::Borrowed(text);
    }
    if column == schema::TIME {
        // Drop the year first: `2024-03-04 00:00:12` reads `03-04 00:00:12`.
        if let Some(rest) = text.get(5..)
            && text.as_bytes().get(4) == Some(&b'-')
        {
            return Cow::Owned(truncate(rest, width).into_owned());
        }
    }
    if is_prose(column) {
        truncate(text, width)
    } else {
        middle_ellipsis(text, width)
    }
}

/// One column to lay out: the width its content wants and the least it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    /// What its content (and header) needs.
    pub natural: u16,
    /// The least it may shrink to (equal to `natural` for a resized column).
    pub min: u16,
    /// Shrunk only when shrinking the others to their minimum is not enough (the time).
    pub stiff: bool,
}

/// Widths for columns shown side by side with one space between them on `available`
/// columns: the natural widths when they fit; else the columns that can shrink give up
/// their excess in proportion, down to their minimum. Columns that still do not fit keep
/// their minimum (they are reached by scrolling right). Stiff columns give up width only
/// when the others at their minimum are still too wide.
pub fn lay_out(wants: &[Want], available: u16) -> Vec<u16> {
    let supple: Vec<Want> = wants
        .iter()
        .map(|w| Want {
            min: if w.stiff { w.natural } else { w.min },
            ..*w
        })
        .collect();
    let widths = shrink(&supple, available);
    let used: usize =
        widths.iter().map(|w| usize::from(*w)).sum::<usize>() + wants.len().saturating_sub(1);
    if used <= usize::from(available) {
        return widths;
    }
    let stiff_only: Vec<Want> = wants
        .iter()
        .map(|w| Want {
            natural: if w.stiff { w.natural } else { w.min },
            ..*w
        })
        .collect();
    shrink(&stiff_only, available)
}

/// [`lay_out`] with every column equally willing.
fn shrink(wants: &[Want], available: u16) -> Vec<u16> {
    let gaps = wants.len().saturating_sub(1);
    let natural: usize = wants.iter().map(|w| usize::from(w.natural)).sum::<usize>() + gaps;
    let available = usize::from(available);
    if natural <= available {
        return wants.iter().map(|w| w.natural).collect();
    }
    let excess: usize = wants
        .iter()
        .map(|w| usize::from(w.natural.saturating_sub(w.min)))
        .sum();
    let over = natural - available;
    if excess == 0 {
        return wants.iter().map(|w| w.natural).collect();
    }
    if over >= excess {
        return wants.iter().map(|w| w.min.min(w.natural)).collect();
    }
    // Give up `over` columns, each shrinkable column in proportion to its excess (rounded
    // up, so the total given up is at least `over`).
    let mut widths = Vec::with_capacity(wants.len());
    for w in wants {
        let slack = usize::from(w.natural.saturating_sub(w.min));
        let give = (slack * over).div_ceil(excess).min(slack);
        widths.push(w.natural - give as u16);
    }
    widths
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(natural: u16, min: u16) -> Want {
        Want {
            natural,
            min,
            stiff: false,
        }
    }

    #[test]
    fn the_time_shrinks_only_when_nothing_else_can() {
        let time = Want {
            natural: 19,
            min: 14,
            stiff: true,
        };
        assert_eq!(lay_out(&[time, want(40, 10)], 40), vec![19, 20]);
        assert_eq!(lay_out(&[time, want(40, 10)], 26), vec![15, 10]);
    }

    #[test]
    fn columns_keep_their_natural_width_when_they_fit() {
        assert_eq!(lay_out(&[want(10, 5), want(20, 8)], 31), vec![10, 20]);
    }

    #[test]
    fn narrow_terminals_shrink_the_long_columns_in_proportion() {
        let widths = lay_out(
            &[want(19, 14), want(40, 10), want(40, 10), want(15, 15)],
            80,
        );
        assert!(widths.iter().map(|w| usize::from(*w)).sum::<usize>() + 3 <= 80);
        assert_eq!(widths[3], 15, "source IP keeps its width");
        assert!(widths[1] >= 10 && widths[2] >= 10);
        assert_eq!(widths[1], widths[2]);
    }

    #[test]
    fn columns_never_go_below_their_minimum() {
        assert_eq!(lay_out(&[want(40, 10), want(40, 12)], 10), vec![10, 12]);
    }

    #[test]
    fn times_lose_the_year_before_anything_else() {
        assert_eq!(
            fit(schema::TIME, "2024-03-04 00:00:12", 14),
            "03-04 00:00:12"
        );
        assert_eq!(
            fit(schema::TIME, "2024-03-04 00:00:12", 19),
            "2024-03-04 00:00:12"
        );
    }

    #[test]
    fn identifiers_are_cut_in_the_middle_and_prose_at_the_end() {
        assert_eq!(fit(schema::RESOURCE, "abcdefghijkl", 7), "abc…jkl");
        assert_eq!(fit(schema::ERROR, "abcdefghijkl", 7), "abcdef…");
    }
}
