//! The lake in other engines: `query|pivot --emit-sql ENGINE` print the SQL that selects the
//! same events from the lake table, `lake ddl --engine ENGINE` the table definition.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::builder::PossibleValuesParser;

use trailscope::analysis::ViewSpec;
use trailscope::analysis::filter::{self, FilterContext, FilterExpr};
use trailscope::lake::sql::{
    DEFAULT_LOCATION, DEFAULT_TABLE, Engine, FilterSql, QueryShape, ddl, pivot_sql, query_sql,
};
use trailscope::text::escape_control_keep_newlines;
use trailscope::views::Overrides;

use crate::args::{Common, ViewArgs};
use crate::inputs::prepare;
use crate::views::open_view;

/// `--emit-sql ENGINE` and `--table NAME` of `query` and `pivot`.
#[derive(clap::Args, Clone, Default)]
pub(crate) struct EmitSqlArgs {
    /// Print the engine's SQL selecting the same events from the lake table instead of
    /// running the command (reads no inputs).
    #[arg(long, value_name = "ENGINE", value_parser = PossibleValuesParser::new(Engine::NAMES))]
    pub(crate) emit_sql: Option<String>,
    /// The lake table the SQL reads.
    #[arg(long, value_name = "NAME", default_value = DEFAULT_TABLE, requires = "emit_sql")]
    pub(crate) table: String,
}

/// `trailscope lake ...`.
#[derive(clap::Subcommand)]
pub(crate) enum LakeCommand {
    /// Print the statements registering a lake as a table (with partition discovery).
    Ddl {
        /// The engine.
        #[arg(long, value_parser = PossibleValuesParser::new(Engine::NAMES))]
        engine: String,
        /// Where the lake is (a directory, `s3://bucket/prefix`, ...).
        #[arg(long, value_name = "URI", default_value = DEFAULT_LOCATION)]
        location: String,
        /// The table (or view) name, optionally qualified (`db.events`).
        #[arg(long, value_name = "NAME", default_value = DEFAULT_TABLE)]
        table: String,
    },
}

/// Runs `trailscope lake ...`.
pub(crate) fn lake(command: LakeCommand) -> anyhow::Result<ExitCode> {
    match command {
        LakeCommand::Ddl {
            engine,
            location,
            table,
        } => {
            let engine = Engine::parse(&engine)?;
            print(&ddl(engine, &location, &table))
        }
    }
}

/// `trailscope query --emit-sql ENGINE`.
pub(crate) fn emit_query(
    common: &Common,
    view: &ViewArgs,
    overrides: Overrides,
    engine: &str,
    emit: &EmitSqlArgs,
    has_sql: bool,
) -> anyhow::Result<ExitCode> {
    if has_sql {
        bail!("--emit-sql translates --filter; --sql is Polars SQL over loaded events");
    }
    let engine = Engine::parse(engine)?;
    let spec = resolve(common, view, overrides)?.0;
    let condition = condition(engine, &emit.table, &spec)?;
    let shape = QueryShape {
        columns: spec.columns.clone(),
        sort: spec.sort.clone(),
        limit: spec.limit,
    };
    let sql = query_sql(engine, &emit.table, condition.as_deref(), &shape)?;
    print(&format!("{sql};\n"))
}

/// `trailscope pivot --emit-sql ENGINE`.
pub(crate) fn emit_pivot(
    common: &Common,
    view: &ViewArgs,
    overrides: Overrides,
    engine: &str,
    emit: &EmitSqlArgs,
) -> anyhow::Result<ExitCode> {
    let engine = Engine::parse(engine)?;
    let (spec, resolved) = resolve(common, view, overrides)?;
    let pivot = resolved.pivot()?;
    let condition = condition(engine, &emit.table, &spec)?;
    let sql = pivot_sql(engine, &emit.table, condition.as_deref(), &pivot)?;
    print(&format!("{sql};\n"))
}

fn resolve(
    common: &Common,
    view: &ViewArgs,
    overrides: Overrides,
) -> anyhow::Result<(ViewSpec, trailscope::views::Resolved)> {
    // The display zone comes from the configuration and --tz; no input is read.
    let tz = prepare(&[], None, common)?.tz;
    let resolved = open_view(common, view, overrides, &tz)?;
    Ok((resolved.view.clone(), resolved))
}

/// The view's filter and time range as one SQL condition.
fn condition(engine: Engine, table: &str, spec: &ViewSpec) -> anyhow::Result<Option<String>> {
    let mut terms = Vec::new();
    if !spec.filter.trim().is_empty() {
        terms.push(filter::parse(&spec.filter).map_err(trailscope::Error::from)?);
    }
    if let Some(range) = &spec.range {
        terms.extend(range.terms());
    }
    let expr = match terms.len() {
        0 => FilterExpr::All,
        1 => terms.remove(0),
        _ => FilterExpr::And(terms),
    };
    let ctx = FilterContext {
        tz: spec.tz.clone(),
        newest: None,
        base_dir: PathBuf::from("."),
    };
    let translate = FilterSql {
        engine,
        table,
        ctx: &ctx,
    };
    Ok(translate.condition(&expr)?)
}

fn print(sql: &str) -> anyhow::Result<ExitCode> {
    let mut out = io::stdout().lock();
    out.write_all(escape_control_keep_newlines(sql).as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
