//! A pivot as one GROUP BY: counts (or distinct counts) per row value, or per pair of row
//! and column values, with the N largest values of each kept and the rest summed into
//! "(other)", ranked as [`crate::analysis::pivot`] ranks them (largest first, ties by label,
//! nulls as "(none)").
//!
//! The result is long, one row per non-empty cell (`<rows>, [<cols>,] n`), in the order
//! trailscope shows rows and columns; row and column totals are the sums of their cells when
//! counting events (with `distinct`, a total is the distinct count over its row, which the
//! cells do not give).

use crate::analysis::PivotSpec;
use crate::lake::layout::{LakeType, column_type};
use crate::{Error, Result};

use super::dialect::Engine;

/// The label of values outside the top N (trailscope's).
const OTHER: &str = "(other)";
/// The label of a null value (trailscope's).
const NONE: &str = "(none)";

/// The pivot `spec` over the rows of `table` matching `condition`.
pub fn pivot_sql(
    engine: Engine,
    table: &str,
    condition: Option<&str>,
    spec: &PivotSpec,
) -> Result<String> {
    let e = engine;
    let key = |column: &str| -> Result<String> {
        let quoted = e.ident(column);
        match column_type(column) {
            Some(LakeType::Text) => Ok(format!("COALESCE({quoted}, {})", e.string(NONE))),
            Some(LakeType::Boolean | LakeType::Integer) => Ok(format!(
                "COALESCE(CAST({quoted} AS {}), {})",
                e.string_type(),
                e.string(NONE)
            )),
            Some(LakeType::Timestamp) => Err(Error::Invalid(format!(
                "pivoting on '{column}' is not translated to SQL; use a time bucket in your engine"
            ))),
            None => Err(Error::Invalid(format!("unknown lake column '{column}'"))),
        }
    };
    let distinct = match &spec.distinct {
        Some(d) if column_type(d).is_some() => Some(e.ident(d)),
        Some(d) => return Err(Error::Invalid(format!("unknown lake column '{d}'"))),
        None => None,
    };
    let measure = match &distinct {
        Some(_) => "count(DISTINCT d)",
        None => "count(*)",
    };
    let top = spec.top.max(1);
    let where_clause = condition
        .map(|c| format!("\n  WHERE {c}"))
        .unwrap_or_default();
    let mut select = vec![format!("{} AS rk", key(&spec.rows)?)];
    if let Some(cols) = &spec.cols {
        select.push(format!("{} AS ck", key(cols)?));
    }
    if let Some(d) = &distinct {
        select.push(format!("{d} AS d"));
    }
    let none = e.string(NONE);
    let other = e.string(OTHER);
    // With `distinct`, trailscope ranks null keys after every value.
    let nulls_last = |k: &str| {
        if distinct.is_some() {
            format!("CASE WHEN {k} = {none} THEN 1 ELSE 0 END, ")
        } else {
            String::new()
        }
    };
    let ranked = |k: &str| {
        format!(
            "SELECT {k}, row_number() OVER (ORDER BY {}{measure} DESC, {k}) AS r FROM filtered GROUP BY {k}",
            nulls_last(k)
        )
    };
    let ordered = |k: &str| {
        format!(
            "SELECT {k}, row_number() OVER (ORDER BY CASE WHEN {k} = {other} THEN 1 ELSE 0 END, {measure} DESC, {k}) AS r FROM bucketed GROUP BY {k}"
        )
    };
    let bucket = |k: &str, ranks: &str| {
        format!("CASE WHEN {ranks}.r <= {top} THEN f.{k} ELSE {other} END AS {k}")
    };
    let rows_name = e.ident(&spec.rows);
    let mut sql = format!(
        "WITH filtered AS (\n  SELECT {}\n  FROM {}{where_clause}\n),\nrow_ranks AS ({}),\n",
        select.join(", "),
        e.table(table),
        ranked("rk")
    );
    let d_column = if distinct.is_some() { ", f.d" } else { "" };
    match &spec.cols {
        None => {
            sql.push_str(&format!(
                "bucketed AS (SELECT {}{d_column} FROM filtered f JOIN row_ranks ON f.rk = row_ranks.rk),\nrow_order AS ({})\n",
                bucket("rk", "row_ranks"),
                ordered("rk")
            ));
            sql.push_str(&format!(
                "SELECT b.rk AS {rows_name}, {measure} AS n\nFROM bucketed b JOIN row_order o ON b.rk = o.rk\nGROUP BY b.rk, o.r\nORDER BY o.r"
            ));
        }
        Some(cols) => {
            sql.push_str(&format!(
                "col_ranks AS ({}),\nbucketed AS (SELECT {}, {}{d_column} FROM filtered f JOIN row_ranks ON f.rk = row_ranks.rk JOIN col_ranks ON f.ck = col_ranks.ck),\nrow_order AS ({}),\ncol_order AS ({})\n",
                ranked("ck"),
                bucket("rk", "row_ranks"),
                bucket("ck", "col_ranks"),
                ordered("rk"),
                ordered("ck")
            ));
            sql.push_str(&format!(
                "SELECT b.rk AS {rows_name}, b.ck AS {}, {measure} AS n\nFROM bucketed b JOIN row_order ro ON b.rk = ro.rk JOIN col_order co ON b.ck = co.ck\nGROUP BY b.rk, b.ck, ro.r, co.r\nORDER BY ro.r, co.r",
                e.ident(cols)
            ));
        }
    }
    Ok(sql)
}
