//! Configuration: the embedded `default-config.toml`, overlaid key by key by a user file
//! (`--config FILE`, `$TRAILSCOPE_CONFIG`, or `$XDG_CONFIG_HOME/trailscope/config.toml`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Location, Result};

/// The built-in configuration text.
pub const DEFAULT_CONFIG: &str = include_str!("default-config.toml");

/// The provider names `privileged` tables may use.
pub const PROVIDERS: [&str; 7] = [
    "aws",
    "entra",
    "azure",
    "gcp",
    "kubernetes",
    "okta",
    "github",
];

/// Everything configurable.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How times are shown.
    pub display: Display,
    /// Privileged actions per provider.
    pub privileged: BTreeMap<String, ActionList>,
}

/// Display settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Display {
    /// IANA time zone name used to show and read times.
    pub timezone: String,
}

impl Default for Display {
    fn default() -> Self {
        Display {
            timezone: "UTC".into(),
        }
    }
}

/// A list of action patterns, with a user's additions and removals.
#[derive(Debug, Clone, Default, Deserialize)]
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
                let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
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
    if jiff::tz::TimeZone::get(&config.display.timezone).is_err() {
        let at = text.find("timezone");
        return Err(config_error(
            text,
            path,
            at.map(|a| a..a),
            &format!("unknown time zone '{}'", config.display.timezone),
        ));
    }
    Ok(config)
}

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
}
