//! Compilation of a [`FilterExpr`] into one Polars expression; categorical terms are
//! evaluated once per distinct value of the dictionary.

use super::*;
use crate::config::read_settings_file;

/// Compiles a filter into a boolean Polars expression over the event frame.
///
/// Lists are read and terms on categorical columns are resolved against the dictionaries
/// now; compile again when new values may have been loaded.
pub fn compile(expr: &FilterExpr, ctx: &FilterContext) -> Result<Expr, FilterError> {
    match expr {
        FilterExpr::All => Ok(lit(true)),
        FilterExpr::And(items) => {
            Ok(balanced(compile_all(items, ctx)?, |a, b| a.and(b)).unwrap_or_else(|| lit(true)))
        }
        FilterExpr::Or(items) => {
            Ok(balanced(compile_all(items, ctx)?, |a, b| a.or(b)).unwrap_or_else(|| lit(false)))
        }
        FilterExpr::Not(inner) => Ok(compile(inner, ctx)?.not()),
        FilterExpr::Field {
            field,
            op,
            value,
            span,
        } => {
            let error = |m: String| FilterError::new(m, span.clone());
            match (kind_of(field), op) {
                (Some(Kind::Text), MatchOp::Match) => {
                    string_pattern(field, value, true).map_err(error)
                }
                (Some(Kind::Category | Kind::Text), _) => {
                    let matcher = match op {
                        MatchOp::Match => Matcher::pattern(value, true),
                        MatchOp::Regex => Matcher::new(value.clone()),
                    }
                    .map_err(error)?;
                    Ok(column_test(field, &matcher))
                }
                _ => Err(error(format!(
                    "'{field}' cannot be matched against a value"
                ))),
            }
        }
        FilterExpr::Text { text, span } => {
            let error = |m: String| FilterError::new(m, span.clone());
            let matcher = Matcher::pattern(text, false).map_err(error)?;
            let mut tests = Vec::with_capacity(TEXT_COLUMNS.len());
            for column in TEXT_COLUMNS {
                tests.push(match kind_of(column) {
                    Some(Kind::Text) => string_pattern(column, text, false).map_err(error)?,
                    _ => column_test(column, &matcher),
                });
            }
            Ok(balanced(tests, |a, b| a.or(b)).unwrap_or_else(|| lit(false)))
        }
        FilterExpr::Time { bound, value, span } => compile_time(*bound, value, span, ctx),
        FilterExpr::Cidr { cidr, span } => {
            let block = Cidr::parse(cidr).ok_or_else(|| cidr_error(cidr, span.clone()))?;
            Ok(category_ids(SRC_IP, |v| block.contains_text(v)))
        }
        FilterExpr::InList { field, list, span } => compile_list(field, list, span, ctx),
        FilterExpr::Bool { field, value, span } => {
            if kind_of(field) != Some(Kind::Bool) {
                return Err(FilterError::new(
                    format!("'{field}' is not a boolean field"),
                    span.clone(),
                ));
            }
            Ok(match value {
                Some(v) => col(*field).eq_missing(lit(*v)),
                None => col(*field).is_null(),
            })
        }
    }
}

pub(super) fn compile_all(
    items: &[FilterExpr],
    ctx: &FilterContext,
) -> Result<Vec<Expr>, FilterError> {
    items.iter().map(|e| compile(e, ctx)).collect()
}

/// Combines expressions pairwise so the tree stays shallow.
pub(super) fn balanced(mut exprs: Vec<Expr>, combine: impl Fn(Expr, Expr) -> Expr) -> Option<Expr> {
    while exprs.len() > 1 {
        let mut next = Vec::with_capacity(exprs.len() / 2 + 1);
        let mut it = exprs.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) => combine(a, b),
                None => a,
            });
        }
        exprs = next;
    }
    exprs.pop()
}

/// Rows whose categorical `column` holds a dictionary value accepted by `accept`, tested
/// once per distinct value.
pub(super) fn category_ids(column: &str, mut accept: impl FnMut(&str) -> bool) -> Expr {
    let ids: Vec<u32> = Dictionaries::shared()
        .category_values(column)
        .into_iter()
        .filter(|(_, v)| accept(v))
        .map(|(id, _)| id)
        .collect();
    crate::schema::has_category_id(column, ids)
}

/// The test of `matcher` on a categorical column (per distinct value) or a string column.
pub(super) fn column_test(column: &str, matcher: &Matcher) -> Expr {
    if kind_of(column) == Some(Kind::Category) {
        category_ids(column, |v| matcher.regex.is_match(v))
    } else {
        col(column)
            .str()
            .contains(lit(matcher.source.clone()), true)
            .fill_null(lit(false))
    }
}

pub(super) fn compile_time(
    bound: TimeBound,
    value: &str,
    span: &Range<usize>,
    ctx: &FilterContext,
) -> Result<Expr, FilterError> {
    let time = || col(TIME).to_physical();
    let expr = if bound == TimeBound::Last {
        let duration = parse_duration(value)
            .map_err(|_| FilterError::new(duration_error(value), span.clone()))?;
        let Some(newest) = ctx.newest else {
            return Ok(lit(false));
        };
        time().gt_eq(lit(newest.saturating_sub(duration)))
    } else {
        let spec =
            parse_time(value).ok_or_else(|| FilterError::new(time_error(value), span.clone()))?;
        let range = spec.range(ctx).map_err(|e| {
            FilterError::new(
                format!("time '{}' is out of range: {e}", escape_control(value)),
                span.clone(),
            )
        })?;
        let Some((start, end)) = range else {
            return Ok(lit(false));
        };
        match bound {
            TimeBound::After => time().gt_eq(lit(start)),
            TimeBound::Before => time().lt(lit(start)),
            TimeBound::During | TimeBound::Last => {
                time().gt_eq(lit(start)).and(time().lt(lit(end)))
            }
        }
    };
    Ok(expr.fill_null(lit(false)))
}

/// The largest `@file` list read: a million indicators of compromise fit.
pub const MAX_LIST_BYTES: u64 = 64 << 20;

/// The values of a list file: one per line, blank lines and `#` comments skipped, with their
/// line numbers.
pub(super) fn read_list(
    path: &Path,
    ctx: &FilterContext,
    span: &Range<usize>,
) -> Result<Vec<(String, usize)>, FilterError> {
    let text = read_settings_file(&ctx.base_dir.join(path), MAX_LIST_BYTES).map_err(|e| {
        FilterError::new(
            format!(
                "cannot read list file '{}': {e}",
                escape_control(&path.to_string_lossy())
            ),
            span.clone(),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut value = line.trim();
        if value.starts_with('#') {
            continue;
        }
        if let Some(pos) = value
            .char_indices()
            .find(|&(i, c)| c == '#' && value[..i].ends_with(char::is_whitespace))
            .map(|(i, _)| i)
        {
            value = value[..pos].trim_end();
        }
        if !value.is_empty() {
            out.push((value.to_string(), i + 1));
        }
    }
    Ok(out)
}

pub(super) fn compile_list(
    field: &str,
    list: &ListSource,
    span: &Range<usize>,
    ctx: &FilterContext,
) -> Result<Expr, FilterError> {
    let (values, file) = match list {
        ListSource::Values(values) => (values.iter().map(|v| (v.clone(), 0)).collect(), None),
        ListSource::File(path) => (read_list(path, ctx, span)?, Some(path)),
    };
    if field == IP {
        let mut blocks = Vec::with_capacity(values.len());
        for (value, line) in &values {
            match Cidr::parse(value) {
                Some(block) => blocks.push(block),
                None => {
                    let mut message = format!("invalid CIDR '{}'", escape_control(value));
                    if let Some(path) = file {
                        message.push_str(&format!(
                            " in {} line {line}",
                            escape_control(&path.to_string_lossy())
                        ));
                    }
                    return Err(FilterError::new(message, span.clone()));
                }
            }
        }
        return Ok(category_ids(SRC_IP, |v| {
            Addr::parse(v).is_some_and(|ip| blocks.iter().any(|b| b.contains(ip)))
        }));
    }
    let kind = kind_of(field).filter(|k| matches!(k, Kind::Category | Kind::Text));
    let Some(kind) = kind else {
        return Err(FilterError::new(
            format!("'{field}' cannot be matched against a list"),
            span.clone(),
        ));
    };
    let error = |m: String| FilterError::new(m, span.clone());
    if values.is_empty() {
        return Ok(lit(false));
    }
    // Short lists on string columns test each value with a Glob; long ones use a set of
    // lowercase values (behind a length check) and one regex for the wildcards.
    let short = kind == Kind::Text && values.len() <= SHORT_LIST;
    let mut globs = Vec::new();
    let mut exact: HashSet<String> = HashSet::new();
    let mut wild = Vec::new();
    for (value, _) in &values {
        if short && let Some(glob) = Glob::new(value, true).map_err(error)? {
            globs.push(glob);
            continue;
        }
        let pieces = pattern_pieces(value);
        match literal_of(&pieces) {
            Some(literal) => {
                exact.insert(literal.to_lowercase());
            }
            None => wild.push(pieces_regex(&pieces)),
        }
    }
    let wild = if wild.is_empty() {
        None
    } else {
        Some(Matcher::alternatives(&wild).map_err(error)?)
    };
    if kind == Kind::Category {
        return Ok(category_ids(field, |v| {
            exact.contains(&v.to_lowercase()) || wild.as_ref().is_some_and(|w| w.regex.is_match(v))
        }));
    }
    let lengths: HashSet<usize> = exact.iter().map(String::len).collect();
    let exact: HashSet<Vec<u8>> = exact.into_iter().map(String::into_bytes).collect();
    let in_set = move |s: &str, buf: &mut Vec<u8>| {
        if exact.is_empty() {
            false
        } else if s.is_ascii() {
            lengths.contains(&s.len()) && {
                buf.clear();
                buf.extend(s.bytes().map(|b| b.to_ascii_lowercase()));
                exact.contains(buf.as_slice())
            }
        } else {
            exact.contains(s.to_lowercase().as_bytes())
        }
    };
    let test = move |s: &str, buf: &mut Vec<u8>| {
        globs.iter().any(|g| g.is_match(s))
            || in_set(s, buf)
            || wild.as_ref().is_some_and(|w| w.regex.is_match(s))
    };
    Ok(string_kernel(
        field,
        format!("filter {field} in list"),
        Arc::new(test),
    ))
}
