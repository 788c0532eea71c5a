//! What every command does before its own work: configuration, display zone, the inputs
//! expanded and loaded, and the filter compiled with an error a person can act on.

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::bail;
use polars::prelude::DataFrame;

use trailscope::analysis::{self, CompiledView, Selection, ViewSpec};
use trailscope::config::Config;
use trailscope::load::classify::Classifier;
use trailscope::load::pipeline::LoadOptions;
use trailscope::load::source;
use trailscope::store::FrameStore;
use trailscope::text::escape_control;
use trailscope::{Error, providers};

use crate::FilterProblem;
use crate::args::Common;

/// The bundled sample: `sample-logs/` in the working directory, else next to the sources.
pub(crate) fn default_paths() -> Vec<String> {
    let local = Path::new("sample-logs");
    let dir = if local.is_dir() {
        local.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs")
    };
    vec![dir.display().to_string()]
}

pub(crate) struct Loaded {
    pub(crate) store: FrameStore,
    pub(crate) tz: jiff::tz::TimeZone,
    /// The configuration the inputs were loaded with (detections read it too).
    pub(crate) config: Config,
    /// `--timings`: when loading started and how long it took.
    pub(crate) timings: Option<(Instant, u128)>,
    /// The Sigma rules evaluated while loading, with their matches.
    pub(crate) sigma: Option<Arc<trailscope::sigma::SigmaTap>>,
}

impl Loaded {
    /// The events a view selects (all of them without a filter or range), for an analysis
    /// to run over.
    pub(crate) fn selection(&self, view: &ViewSpec) -> anyhow::Result<Selection> {
        let compiled = compile_view(self.store.frame(), view.clone())?;
        Ok(analysis::select_rows(self.store.frame(), &compiled)?)
    }

    /// Fails the way `summary` does when nothing at all could be loaded.
    pub(crate) fn require_events(&self) -> anyhow::Result<()> {
        let Some(err) = nothing_loaded(&self.store) else {
            return Ok(());
        };
        let first = self
            .store
            .inputs()
            .iter()
            .flat_map(|i| i.rejections.first())
            .next();
        match first {
            Some(r) => bail!("{err} (first problem: {r})"),
            None => bail!("{err}"),
        }
    }

    /// Prints `{"load_ms":..,"query_ms":..}` on standard error when `--timings` was given.
    pub(crate) fn report_timings(&self) {
        if let Some((started, load_ms)) = self.timings {
            let total = started.elapsed().as_millis();
            // Not eprintln!: a closed standard error must not panic the command.
            let _ = writeln!(
                io::stderr(),
                "{}",
                serde_json::json!({"load_ms": load_ms, "query_ms": total.saturating_sub(load_ms)})
            );
        }
    }
}

/// Compiles a view's filter, or fails with the filter, a caret under the problem, and what
/// was expected.
pub(crate) fn compile_view(frame: &DataFrame, spec: ViewSpec) -> anyhow::Result<CompiledView> {
    spec.compile(frame).map_err(|err| {
        let text = spec.filter.as_str();
        // The caret goes under the escaped filter, whose columns move where a control
        // character became an escape.
        let (start, end) = (err.span.start, err.span.end.max(err.span.start));
        let before: String = text.chars().take(start).collect();
        let inside: String = text.chars().skip(start).take(end - start).collect();
        let pad = escape_control(&before).chars().count();
        let width = escape_control(&inside).chars().count().max(1);
        anyhow::Error::new(FilterProblem {
            column: start + 1,
            message: err.message,
            shown: escape_control(text).into_owned(),
            caret: format!("{}{}", " ".repeat(pad), "^".repeat(width)),
        })
    })
}

/// What every command needs before reading: configuration, display zone, load options and
/// the expanded inputs.
pub(crate) struct Prepared {
    pub(crate) config: Config,
    pub(crate) tz: jiff::tz::TimeZone,
    pub(crate) options: LoadOptions,
    pub(crate) expansion: source::Expansion,
}

pub(crate) fn prepare(
    paths: &[String],
    input_format: Option<&str>,
    common: &Common,
) -> anyhow::Result<Prepared> {
    let config = Config::load(common.config.as_deref())?;
    let tz_name = common
        .tz
        .clone()
        .unwrap_or_else(|| config.display.timezone.clone());
    let tz = jiff::tz::TimeZone::get(&tz_name).map_err(|_| {
        Error::Invalid(format!(
            "unknown time zone '{tz_name}' (use an IANA name such as Europe/Berlin)"
        ))
    })?;
    let forced = match input_format {
        None => None,
        Some(name) => Some(providers::by_format(name).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown input format '{name}'; formats understood: {}",
                providers::format_names().join(", ")
            ))
        })?),
    };
    let mut options = LoadOptions::new(Arc::new(Classifier::from_config(&config)?));
    options.forced = forced;
    options.threads = common.threads;
    options.identity_links = Arc::new(config.identities.clone());
    options.country_lookup = config.enrich.country_lookup;
    let paths = if paths.is_empty() {
        default_paths()
    } else {
        paths.to_vec()
    };
    let expansion = source::expand(&paths);
    Ok(Prepared {
        config,
        tz,
        options,
        expansion,
    })
}

/// Loads the inputs (failing as `summary` does when nothing loads), opens the view with
/// `filter` on top, and selects its events: what the audit commands run over.
pub(crate) fn load_selected(
    paths: &[String],
    input_format: Option<&str>,
    common: &Common,
    filter: Option<String>,
    view: &crate::args::ViewArgs,
) -> anyhow::Result<(Loaded, trailscope::views::Resolved, Selection)> {
    let loaded = load(paths, input_format, common)?;
    loaded.require_events()?;
    let overrides = trailscope::views::Overrides {
        filter,
        ..trailscope::views::Overrides::default()
    };
    let resolved = crate::views::open_view(common, view, overrides, &loaded.tz)?;
    let selection = loaded.selection(&resolved.view)?;
    Ok((loaded, resolved, selection))
}

pub(crate) fn load(
    paths: &[String],
    input_format: Option<&str>,
    common: &Common,
) -> anyhow::Result<Loaded> {
    load_hashing(paths, input_format, common, false)
}

/// [`load`], with `hash` each file's SHA-256 computed while it is read (a report states
/// them: reading the files again would cost as much as hashing them).
pub(crate) fn load_hashing(
    paths: &[String],
    input_format: Option<&str>,
    common: &Common,
    hash: bool,
) -> anyhow::Result<Loaded> {
    let started = Instant::now();
    let mut prepared = prepare(paths, input_format, common)?;
    prepared.options.hash_inputs = hash;
    load_prepared(prepared, common, started, None)
}

/// [`load`], with the Sigma rules that `[detect] sigma` and `given` name evaluated on each
/// record while the loader holds it (none named: a plain load).
pub(crate) fn load_with_sigma(
    paths: &[String],
    input_format: Option<&str>,
    common: &Common,
    given: &[std::path::PathBuf],
) -> anyhow::Result<Loaded> {
    let started = Instant::now();
    let mut prepared = prepare(paths, input_format, common)?;
    let rule_paths = trailscope::sigma::rule_paths(&prepared.config, given);
    let tap = if rule_paths.is_empty() {
        None
    } else {
        let set = trailscope::sigma::RuleSet::load(&rule_paths)?;
        let tap = Arc::new(trailscope::sigma::SigmaTap::new(Arc::new(set))?);
        prepared.options.tap = Some(tap.clone());
        Some(tap)
    };
    load_prepared(prepared, common, started, tap)
}

/// [`load`], with the rule set `set` evaluated on each record while the loader holds it.
pub(crate) fn load_with_rules(
    paths: &[String],
    input_format: Option<&str>,
    common: &Common,
    set: Arc<trailscope::sigma::RuleSet>,
) -> anyhow::Result<(Loaded, Arc<trailscope::sigma::SigmaTap>)> {
    let started = Instant::now();
    let mut prepared = prepare(paths, input_format, common)?;
    let tap = Arc::new(trailscope::sigma::SigmaTap::new(set)?);
    prepared.options.tap = Some(tap.clone());
    Ok((
        load_prepared(prepared, common, started, Some(tap.clone()))?,
        tap,
    ))
}

fn load_prepared(
    prepared: Prepared,
    common: &Common,
    started: Instant,
    sigma: Option<Arc<trailscope::sigma::SigmaTap>>,
) -> anyhow::Result<Loaded> {
    let mut store = FrameStore::load(prepared.expansion.inputs, prepared.options)?;
    store.add_problems(prepared.expansion.problems);
    let timings = common
        .timings
        .then(|| (started, started.elapsed().as_millis()));
    Ok(Loaded {
        store,
        tz: prepared.tz,
        config: prepared.config,
        timings,
        sigma,
    })
}

pub(crate) fn nothing_loaded(store: &FrameStore) -> Option<Error> {
    let (events, duplicates, rejected) = store.totals();
    (events + duplicates == 0).then(|| Error::NothingLoaded {
        inputs: store.inputs().len(),
        rejected,
        formats: providers::format_names().join(", "),
    })
}
