//! Configuration: the embedded `default-config.toml`, overlaid key by key by a user file
//! (`--config FILE`, `$TRAILSCOPE_CONFIG`, or `$XDG_CONFIG_HOME/trailscope/config.toml`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::net::Cidr;
use crate::schema::PROVIDERS;
use crate::{Error, Location, Result};

/// The built-in configuration text.
pub const DEFAULT_CONFIG: &str = include_str!("default-config.toml");

/// Everything configurable.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How times are shown.
    pub display: Display,
    /// Privileged actions per provider.
    pub privileged: BTreeMap<String, ActionList>,
    /// The detection engine: rules, thresholds, working hours, allow-lists.
    pub detect: Detect,
    /// Alerts raised by live findings (`trailscope tail --alert`): targets, hygiene, silences.
    pub alert: Alert,
    /// Identifiers of one person or workload the logs cannot prove belong together, by
    /// identity name (see [`crate::identity`]).
    pub identities: crate::identity::IdentityLinks,
    /// How findings are grouped into incidents (README, "Incidents").
    pub incidents: Incidents,
    /// What loading adds to the records (README, "Configuration").
    pub enrich: Enrich,
}

/// The `[enrich]` section: what loading adds that the records do not say.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Enrich {
    /// Fill `country` from the bundled offline address table where a record gives none and
    /// `src_ip` is a public address.
    pub country_lookup: bool,
}

impl Default for Enrich {
    fn default() -> Self {
        Enrich {
            country_lookup: true,
        }
    }
}

/// The `[incidents]` section: how findings are grouped into incidents.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Incidents {
    /// The longest time from an incident's first finding to its last (`2h`): linked findings
    /// further apart start a new incident, which bounds chaining through a busy identity.
    pub window: String,
    /// An address that more than this many identities acted from successfully is shared
    /// (a NAT, a proxy) and links no findings.
    pub shared_address_identities: usize,
}

impl Default for Incidents {
    fn default() -> Self {
        Incidents {
            window: "2h".into(),
            shared_address_identities: 5,
        }
    }
}

impl Incidents {
    /// The window in microseconds (the default's when the text does not parse; [`Config`]
    /// validation refuses such a file).
    pub fn window_us(&self) -> i64 {
        crate::time::parse_duration(&self.window)
            .ok()
            .filter(|w| *w > 0)
            .unwrap_or(2 * crate::time::HOUR)
    }
}

/// The `[alert]` section: where live findings are sent and what keeps the stream bearable.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Alert {
    /// Targets, as `--alert` takes them (`webhook=URL[,min=high][,aggregate=60s]`, `exec=CMD`).
    pub targets: Vec<String>,
    /// Findings below this severity are not alerted.
    pub min_severity: String,
    /// A finding of a rule, actor and provider already alerted this many minutes ago is not
    /// alerted again (unless its severity rose).
    pub realert_minutes: u32,
    /// Seconds of findings gathered into one message (0: one message per finding).
    pub aggregate_seconds: u32,
    /// Messages waiting per target; past it new ones are dropped and counted.
    pub queue: usize,
    /// Attempts per webhook message before it counts as failed.
    pub attempts: u32,
    /// Wait before the first retry (milliseconds); it doubles with each retry.
    pub retry_ms: u64,
    /// Timeout of one webhook request (seconds).
    pub timeout_seconds: u32,
    /// Timeout of one `exec` command (seconds); it is killed after it.
    pub exec_timeout_seconds: u32,
    /// Silences: findings that match one are not alerted.
    pub silence: Vec<SilenceRule>,
}

impl Default for Alert {
    fn default() -> Self {
        Alert {
            targets: Vec::new(),
            min_severity: "medium".into(),
            realert_minutes: 60,
            aggregate_seconds: 0,
            queue: 1000,
            attempts: 6,
            retry_ms: 1000,
            timeout_seconds: 10,
            exec_timeout_seconds: 30,
            silence: Vec::new(),
        }
    }
}

/// One `[[alert.silence]]`: a finding matching every field given is not alerted, until the
/// silence expires.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SilenceRule {
    /// Rule id (glob).
    pub rule: Option<String>,
    /// Actor (glob).
    pub actor: Option<String>,
    /// Source address block (CIDR or one address): matches when any source of the finding is in it.
    pub src_ip: Option<String>,
    /// Resource (glob): matches when any resource of the finding does.
    pub resource: Option<String>,
    /// Expiry, RFC 3339 (`2026-05-01T00:00:00Z`); none: never expires.
    pub until: Option<String>,
    /// Why, for whoever reads the configuration.
    pub comment: Option<String>,
}

/// The `[detect]` section: how the detection rules judge events.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Detect {
    /// Time zone for actors with neither a configured nor an inferable zone.
    pub default_tz: String,
    /// Infer a person's time zone from when they act (when none is configured).
    pub infer_tz: bool,
    /// Fallback working hours `"HH:MM-HH:MM"` (local) for actors with little history.
    pub business_hours: String,
    /// Fallback working days (`Mon` ... `Sun`).
    pub business_days: Vec<String>,
    /// A personal profile needs this many active days ...
    pub min_history_days: u32,
    /// ... and this many events; else the fallback hours apply.
    pub min_history_events: u32,
    /// Days (from an actor's first event) that form its baseline for first-seen rules.
    pub learn_days: u32,
    /// Events that form the baseline when fewer days are available.
    pub learn_events: u32,
    /// Baseline days for non-human identities.
    pub nhi_learn_days: u32,
    /// Idle days before an identity counts as dormant (0: half the data span, 14 to 90).
    pub dormant_days: u32,
    /// Events of one rule and actor closer than this (minutes) form one finding.
    pub group_minutes: u32,
    /// Actors (globs) that are known automation: behavioural findings are lowered.
    pub automation_actors: Vec<String>,
    /// Break-glass / emergency accounts (globs): any sign-in or write is a finding.
    pub breakglass_actors: Vec<String>,
    /// Source networks (CIDR) that are known and trusted: never "first seen".
    pub trusted_cidrs: Vec<String>,
    /// The organisation's own e-mail domains (GCP bindings to other domains are external).
    pub org_domains: Vec<String>,
    /// AWS managed policies (name suffixes) that count as admin for `aws-admin-policy-attached`.
    pub admin_policies: Vec<String>,
    /// Thresholds and windows.
    pub thresholds: Thresholds,
    /// Per-rule switches, by rule id.
    pub rules: BTreeMap<String, RuleSettings>,
    /// Working hours and time zone per actor (exact actor name).
    pub actors: BTreeMap<String, Schedule>,
    /// Working hours and time zone per group of actors (`members` are globs).
    pub groups: BTreeMap<String, Schedule>,
    /// Destructive actions per provider (globs like `[privileged]`), for mass destruction.
    pub destructive: BTreeMap<String, ActionList>,
    /// Temporary (just-in-time) access: windows, roles, what counts as temporary.
    pub jit: Jit,
    /// When a silent stream or a clock counts for `log-integrity-gap`.
    pub integrity: Integrity,
    /// Sigma rule files or directories run beside the built-in rules (`detect --sigma`).
    pub sigma: Vec<String>,
}

/// The `[detect.jit]` section: how long temporary access may last and how it may be used.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Jit {
    /// How long a temporary grant lasts when neither the event nor `roles` says (hours).
    pub window_hours: u32,
    /// Minutes allowed after the window for the revocation to be logged.
    pub grace_minutes: u32,
    /// More activations than this by one grantee in 7 days is a finding.
    pub activations_per_week: u32,
    /// Entitlements (globs over role, policy, group, team or binding names) that are
    /// temporary by policy where the provider has no expiry of its own.
    pub managed: Vec<String>,
    /// Per role or entitlement (glob): its window and the actions it is for.
    pub roles: BTreeMap<String, JitRole>,
}

/// One temporary role: how long it lasts and what it is for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JitRole {
    /// Its window (hours), instead of `window_hours`.
    pub hours: Option<u32>,
    /// The actions it is for (globs over the action); others are "beyond purpose".
    pub actions: Vec<String>,
}

impl Default for Jit {
    fn default() -> Self {
        Jit {
            window_hours: 8,
            grace_minutes: 15,
            activations_per_week: 10,
            managed: Vec::new(),
            roles: BTreeMap::new(),
        }
    }
}

/// The `[detect.integrity]` section: when `log-integrity-gap` judges a stream silent or a
/// clock wrong.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Integrity {
    /// A silence lasts at least this many minutes ...
    pub gap_minutes: u32,
    /// ... and this many times the stream's 99th-percentile gap ...
    pub gap_factor: f64,
    /// ... and the stream's quietest days predict at least this many events in it.
    pub gap_expected_events: f64,
    /// Streams with fewer full days of history are not judged.
    pub gap_history_days: u32,
    /// Events this many hours in the future, or after the rest of their file.
    pub clock_skew_hours: u32,
}

impl Default for Integrity {
    fn default() -> Self {
        Integrity {
            gap_minutes: 120,
            gap_factor: 10.0,
            gap_expected_events: 20.0,
            gap_history_days: 7,
            clock_skew_hours: 24,
        }
    }
}

/// Thresholds and windows of the window rules.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    /// Failed sign-ins by one actor in `failure_minutes` that make a burst.
    pub failures: u32,
    /// Window of the failure burst.
    pub failure_minutes: u32,
    /// Failed sign-ins for root / break-glass accounts that make a burst.
    pub root_failures: u32,
    /// Distinct actors failing from one source in `spray_minutes` that make a spray.
    pub spray_actors: u32,
    /// Window of the spray.
    pub spray_minutes: u32,
    /// Minutes after a burst or spray in which a success for the same actor is suspicious.
    pub success_after_minutes: u32,
    /// Destructive events by one actor in `destruction_minutes` that make mass destruction.
    pub destruction_events: u32,
    /// Window of mass destruction.
    pub destruction_minutes: u32,
    /// Distinct identities removed by one actor in `destruction_minutes`.
    pub identity_deletions: u32,
    /// Denied calls by one actor in `denied_minutes` that make an access-denied burst.
    pub denied_events: u32,
    /// Window of the access-denied burst.
    pub denied_minutes: u32,
    /// Impossible travel: minimum distance (km) ...
    pub travel_km: f64,
    /// ... and implied speed (km/h).
    pub travel_kmh: f64,
    /// An hour is usual for an actor active in it on this many other days.
    pub offhours_min_days: u32,
    /// Days within which a new credential should retire the old one.
    pub key_overlap_days: u32,
    /// Expired or invalid client-secret sign-ins of one service principal ...
    pub secret_failures: u32,
    /// ... within this many minutes: its rotation broke.
    pub secret_failure_minutes: u32,
    /// Distinct source addresses using one long-term access key ...
    pub key_ips: u32,
    /// ... within this many minutes.
    pub key_ip_minutes: u32,
    /// Hours after a self-created access key in which its first use from a new address counts.
    pub new_key_hours: u32,
    /// Net privileged grants to one identity over the data that make permission creep.
    pub creep_grants: u32,
    /// Distinct secrets (Kubernetes, cloud secret stores) read by one identity in `secret_minutes` that make a burst.
    pub secret_names: u32,
    /// Window of the secret-read burst.
    pub secret_minutes: u32,
}

/// A rule's switches.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuleSettings {
    /// Whether the rule runs.
    pub enabled: bool,
    /// A fixed severity for all its findings (info, low, medium, high, critical).
    pub severity: Option<String>,
}

impl Default for RuleSettings {
    fn default() -> Self {
        RuleSettings {
            enabled: true,
            severity: None,
        }
    }
}

/// Working hours and time zone of an actor or a group.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Schedule {
    /// IANA time zone.
    pub tz: Option<String>,
    /// Working hours `"HH:MM-HH:MM"`.
    pub hours: Option<String>,
    /// Working days.
    pub days: Option<Vec<String>>,
    /// Actor globs (groups only).
    pub members: Vec<String>,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            failures: 10,
            failure_minutes: 10,
            root_failures: 5,
            spray_actors: 10,
            spray_minutes: 60,
            success_after_minutes: 60,
            destruction_events: 20,
            destruction_minutes: 10,
            identity_deletions: 5,
            denied_events: 15,
            denied_minutes: 10,
            travel_km: 500.0,
            travel_kmh: 900.0,
            offhours_min_days: 2,
            key_overlap_days: 7,
            secret_failures: 5,
            secret_failure_minutes: 60,
            key_ips: 3,
            key_ip_minutes: 30,
            new_key_hours: 24,
            creep_grants: 3,
            secret_names: 10,
            secret_minutes: 10,
        }
    }
}

impl Default for Detect {
    fn default() -> Self {
        Detect {
            default_tz: "UTC".into(),
            infer_tz: true,
            business_hours: "08:00-19:00".into(),
            business_days: ["Mon", "Tue", "Wed", "Thu", "Fri"]
                .map(String::from)
                .to_vec(),
            min_history_days: 5,
            min_history_events: 30,
            learn_days: 7,
            learn_events: 20,
            nhi_learn_days: 3,
            dormant_days: 0,
            group_minutes: 60,
            automation_actors: Vec::new(),
            breakglass_actors: Vec::new(),
            trusted_cidrs: Vec::new(),
            org_domains: Vec::new(),
            admin_policies: [
                "AdministratorAccess",
                "IAMFullAccess",
                "PowerUserAccess",
                "AWSOrganizationsFullAccess",
                "OrganizationAccountAccessRole",
            ]
            .map(String::from)
            .to_vec(),
            thresholds: Thresholds::default(),
            rules: BTreeMap::new(),
            actors: BTreeMap::new(),
            groups: BTreeMap::new(),
            destructive: BTreeMap::new(),
            jit: Jit::default(),
            integrity: Integrity::default(),
            sigma: Vec::new(),
        }
    }
}

/// Parses `"HH:MM-HH:MM"` into minutes of the day `[start, end)`.
pub fn parse_hours(text: &str) -> Option<(u32, u32)> {
    let (a, b) = text.trim().split_once('-')?;
    let minutes = |t: &str| -> Option<u32> {
        let (h, m) = t.trim().split_once(':').unwrap_or((t.trim(), "0"));
        let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
        (h <= 24 && m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
    };
    let (start, end) = (minutes(a)?, minutes(b)?);
    (start < end).then_some((start, end))
}

use crate::time::parse_weekday;

/// Display settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Display {
    /// IANA time zone name used to show and read times.
    pub timezone: String,
    /// The least severe finding the TUI announces in its status bar when it fires while
    /// following (info, low, medium, high, critical).
    pub announce_severity: String,
}

impl Default for Display {
    fn default() -> Self {
        Display {
            timezone: "UTC".into(),
            announce_severity: "high".into(),
        }
    }
}

/// A list of action patterns, with a user's additions and removals.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActionList {
    /// The patterns (replaces the built-in list when set in a user file).
    pub actions: Vec<String>,
    /// Patterns added to the list.
    pub add: Vec<String>,
    /// Exact patterns removed from the list.
    pub remove: Vec<String>,
}

impl ActionList {
    /// The effective patterns: `actions + add - remove`.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.actions
            .iter()
            .chain(self.add.iter())
            .filter(|p| !self.remove.iter().any(|r| r.eq_ignore_ascii_case(p)))
            .map(String::as_str)
    }
}

impl Config {
    /// The built-in configuration.
    pub fn builtin() -> Result<Config> {
        parse(DEFAULT_CONFIG, Path::new("<built-in default-config.toml>"))
    }

    /// The built-in configuration overlaid by the user's file: `explicit` if given, else
    /// `$TRAILSCOPE_CONFIG`, else the XDG location if it exists.
    pub fn load(explicit: Option<&Path>) -> Result<Config> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => discover(),
        };
        match path {
            None => Config::builtin(),
            Some(path) => {
                let text =
                    read_settings_file(&path, MAX_CONFIG_BYTES).map_err(|source| Error::Io {
                        location: Location::file(path.display().to_string()),
                        source,
                    })?;
                Config::overlay(&text, &path)
            }
        }
    }

    /// The built-in configuration overlaid by `text`, read from `path`.
    pub fn overlay(text: &str, path: &Path) -> Result<Config> {
        // Validate the user file alone first so errors point into it.
        parse(text, path)?;
        let mut base = parse_table(DEFAULT_CONFIG, Path::new("<built-in default-config.toml>"))?;
        let user = parse_table(text, path)?;
        merge(&mut base, user);
        finish(base, path)
    }
}

/// The largest configuration file read (the shipped defaults are about 20 KB).
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Reads a file the user named for settings (a config, a filter's `@list`) as text: only
/// regular files (a device such as `/dev/zero` or a FIFO would never end or block forever),
/// at most `limit` bytes.
pub fn read_settings_file(path: &Path, limit: u64) -> std::io::Result<String> {
    use std::io::{Error as IoError, ErrorKind, Read};
    // `stat` first: opening a FIFO blocks until someone writes to it.
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "a device, FIFO or socket"
        };
        return Err(IoError::new(
            ErrorKind::InvalidInput,
            format!("is {what}, not a regular file"),
        ));
    }
    let too_big = || {
        IoError::new(
            ErrorKind::InvalidData,
            format!("larger than the {} MiB allowed", limit >> 20),
        )
    };
    if meta.len() > limit {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_big());
    }
    String::from_utf8(bytes).map_err(|e| {
        IoError::new(
            ErrorKind::InvalidData,
            format!("not UTF-8 text (at byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

fn discover() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TRAILSCOPE_CONFIG") {
        return Some(PathBuf::from(p));
    }
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    let candidate = base.join("trailscope").join("config.toml");
    candidate.is_file().then_some(candidate)
}

fn config_error(
    text: &str,
    path: &Path,
    span: Option<std::ops::Range<usize>>,
    message: &str,
) -> Error {
    let line = span.map(|s| text[..s.start.min(text.len())].matches('\n').count() as u64 + 1);
    Error::Config {
        location: Location {
            path: path.display().to_string(),
            line,
            byte_offset: None,
        },
        message: message.trim().replace('\n', " "),
    }
}

fn parse(text: &str, path: &Path) -> Result<Config> {
    let config: Config =
        toml::from_str(text).map_err(|e| config_error(text, path, e.span(), e.message()))?;
    if let Some(name) = config
        .privileged
        .keys()
        .find(|k| !PROVIDERS.contains(&k.as_str()))
    {
        let at = text
            .find(&format!("privileged.{name}"))
            .or_else(|| text.find(name.as_str()));
        return Err(config_error(
            text,
            path,
            at.map(|a| a..a),
            &format!(
                "unknown provider '{name}' in [privileged]; expected one of {}",
                PROVIDERS.join(", ")
            ),
        ));
    }
    validate_detect(&config.detect, text, path)?;
    validate_alert(&config.alert, text, path)?;
    if !crate::time::parse_duration(&config.incidents.window).is_ok_and(|w| w > 0) {
        let at = text.find(config.incidents.window.as_str());
        return Err(config_error(
            text,
            path,
            at.map(|a| a..a),
            &format!(
                "invalid [incidents] window '{}'; expected a duration such as 2h or 90m",
                config.incidents.window
            ),
        ));
    }
    if jiff::tz::TimeZone::get(&config.display.timezone).is_err() {
        let at = text.find("timezone");
        return Err(config_error(
            text,
            path,
            at.map(|a| a..a),
            &format!("unknown time zone '{}'", config.display.timezone),
        ));
    }
    let announce = &config.display.announce_severity;
    if !SEVERITIES.contains(&announce.to_ascii_lowercase().as_str()) {
        let at = text.find("announce_severity");
        return Err(config_error(
            text,
            path,
            at.map(|a| a..a),
            &format!(
                "invalid announce_severity '{announce}'; expected one of {}",
                SEVERITIES.join(", ")
            ),
        ));
    }
    Ok(config)
}

fn validate_detect(d: &Detect, text: &str, path: &Path) -> Result<()> {
    let fail = |needle: &str, message: String| {
        let at = text.find(needle);
        Err(config_error(text, path, at.map(|a| a..a), &message))
    };
    let schedules = d.actors.values().chain(d.groups.values());
    let zones =
        std::iter::once(&d.default_tz).chain(schedules.clone().filter_map(|s| s.tz.as_ref()));
    for zone in zones {
        if jiff::tz::TimeZone::get(zone).is_err() {
            return fail(zone, format!("unknown time zone '{zone}' in [detect]"));
        }
    }
    let hours = std::iter::once(&d.business_hours)
        .chain(schedules.clone().filter_map(|s| s.hours.as_ref()));
    for h in hours {
        if parse_hours(h).is_none() {
            return fail(
                h,
                format!("invalid working hours '{h}'; expected \"HH:MM-HH:MM\""),
            );
        }
    }
    let days = d
        .business_days
        .iter()
        .chain(schedules.filter_map(|s| s.days.as_ref()).flatten());
    for day in days {
        if parse_weekday(day).is_none() {
            return fail(
                day,
                format!("invalid weekday '{day}'; expected Mon ... Sun"),
            );
        }
    }
    for (id, rule) in &d.rules {
        if let Some(sev) = &rule.severity
            && !SEVERITIES.contains(&sev.to_ascii_lowercase().as_str())
        {
            return fail(sev, format!("invalid severity '{sev}' for rule {id}"));
        }
    }
    for cidr in &d.trusted_cidrs {
        if Cidr::parse(cidr).is_none() {
            return fail(cidr, format!("invalid CIDR '{cidr}' in trusted_cidrs"));
        }
    }
    if let Some(name) = d
        .destructive
        .keys()
        .find(|k| !PROVIDERS.contains(&k.as_str()))
    {
        return fail(
            name,
            format!("unknown provider '{name}' in [detect.destructive]"),
        );
    }
    Ok(())
}

fn validate_alert(a: &Alert, text: &str, path: &Path) -> Result<()> {
    let fail = |needle: &str, message: String| {
        let at = text.find(needle);
        Err(config_error(text, path, at.map(|a| a..a), &message))
    };
    if !SEVERITIES.contains(&a.min_severity.to_ascii_lowercase().as_str()) {
        return fail(
            &a.min_severity,
            format!(
                "invalid severity '{}' in [alert] min_severity",
                a.min_severity
            ),
        );
    }
    for s in &a.silence {
        let matchers = [&s.rule, &s.actor, &s.src_ip, &s.resource];
        if matchers.iter().all(|m| m.is_none()) {
            return fail(
                "[[alert.silence]]",
                "a silence needs at least one of rule, actor, src_ip, resource".into(),
            );
        }
        if let Some(cidr) = &s.src_ip
            && Cidr::parse(cidr).is_none()
        {
            return fail(cidr, format!("invalid CIDR '{cidr}' in [[alert.silence]]"));
        }
        if let Some(until) = &s.until
            && until.parse::<jiff::Timestamp>().is_err()
        {
            return fail(
                until,
                format!(
                    "invalid time '{until}' in [[alert.silence]]; expected RFC 3339 (2026-05-01T00:00:00Z)"
                ),
            );
        }
    }
    Ok(())
}

/// Severity names, least severe first (`detectors::Severity` reads them).
const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

fn parse_table(text: &str, path: &Path) -> Result<toml::Table> {
    toml::from_str::<toml::Table>(text).map_err(|e| config_error(text, path, e.span(), e.message()))
}

/// Overlays `over` onto `base`: tables merge recursively, other values replace.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn finish(table: toml::Table, path: &Path) -> Result<Config> {
    toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| Error::Config {
            location: Location::file(path.display().to_string()),
            message: e.message().to_string(),
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn builtin_config_parses() {
        let config = Config::builtin().unwrap();
        assert_eq!(config.display.timezone, "UTC");
        for provider in PROVIDERS {
            assert!(
                config
                    .privileged
                    .get(provider)
                    .is_some_and(|l| !l.actions.is_empty()),
                "{provider}"
            );
        }
    }

    #[test]
    fn detect_section_parses_and_overlays_key_by_key() {
        let c = Config::builtin().unwrap();
        assert_eq!(c.detect.thresholds.failures, 10);
        assert!(
            c.detect.destructive["aws"]
                .patterns()
                .any(|p| p == "ec2:TerminateInstances")
        );
        let u = Config::overlay(
            "[detect.thresholds]\nspray_actors = 5\n",
            Path::new("u.toml"),
        )
        .unwrap();
        assert_eq!(u.detect.thresholds.spray_actors, 5);
        assert_eq!(u.detect.thresholds.failures, 10, "other thresholds kept");
        assert_eq!(parse_hours("08:00-19:00"), Some((480, 1140)));
        assert_eq!(parse_hours("19:00-08:00"), None);
        assert_eq!(parse_weekday("Sunday"), Some(6));
        let net = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(
            net.contains_text("10.1.2.3")
                && !net.contains_text("11.0.0.1")
                && !net.contains_text("x")
        );
        let err = Config::overlay(
            "[detect]\ntrusted_cidrs = [\"10.0.0.0/99\"]\n",
            Path::new("bad.toml"),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("bad.toml:2"), "{err}");
    }

    #[test]
    fn the_country_lookup_is_on_by_default_and_can_be_turned_off() {
        assert!(Config::builtin().unwrap().enrich.country_lookup);
        let off = Config::overlay("[enrich]\ncountry_lookup = false\n", Path::new("u.toml"));
        assert!(!off.unwrap().enrich.country_lookup);
        let err = Config::overlay("[enrich]\ncountry_lookup = \"no\"\n", Path::new("bad.toml"))
            .unwrap_err();
        assert!(err.to_string().starts_with("bad.toml:2"), "{err}");
    }

    #[test]
    fn user_file_overlays_key_by_key() {
        let user = "[display]\ntimezone = \"America/Chicago\"\n[privileged.aws]\nadd = [\"ec2:RunInstances\"]\nremove = [\"ec2:GetPasswordData\"]\n";
        let config = Config::overlay(user, Path::new("user.toml")).unwrap();
        assert_eq!(config.display.timezone, "America/Chicago");
        let aws: Vec<&str> = config.privileged["aws"].patterns().collect();
        assert!(aws.contains(&"ec2:RunInstances"));
        assert!(aws.contains(&"iam:CreateUser"), "built-in list kept");
        assert!(!aws.contains(&"ec2:GetPasswordData"));
        assert!(
            config.privileged["okta"].patterns().count() > 10,
            "other providers kept"
        );
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let err = Config::overlay("[display]\ntimezone = 3\n", Path::new("bad.toml")).unwrap_err();
        assert!(err.to_string().starts_with("bad.toml:2"), "{err}");
        let err = Config::overlay("\n\n[privileged.azurre]\nadd = []\n", Path::new("bad.toml"))
            .unwrap_err();
        assert!(err.to_string().starts_with("bad.toml:3"), "{err}");
        assert!(
            err.to_string().contains("unknown provider 'azurre'"),
            "{err}"
        );
        let err = Config::overlay(
            "[display]\ntimezone = \"Mars/Olympus\"\n",
            Path::new("bad.toml"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown time zone"), "{err}");
        let err = Config::overlay("[display\n", Path::new("bad.toml")).unwrap_err();
        assert!(err.to_string().starts_with("bad.toml:1"), "{err}");
    }

    #[test]
    fn announce_severity_defaults_to_high_and_must_name_a_severity() {
        assert_eq!(Config::builtin().unwrap().display.announce_severity, "high");
        let config = Config::overlay(
            "[display]\nannounce_severity = \"Medium\"\n",
            Path::new("ok.toml"),
        )
        .unwrap();
        assert_eq!(config.display.announce_severity, "Medium");
        let err = Config::overlay(
            "[display]\ntimezone = \"UTC\"\nannounce_severity = \"urgent\"\n",
            Path::new("bad.toml"),
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("bad.toml:3"), "{err}");
        assert!(
            err.to_string()
                .contains("invalid announce_severity 'urgent'"),
            "{err}"
        );
    }
}
