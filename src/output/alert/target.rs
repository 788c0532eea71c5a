//! Where alerts go: `webhook=URL` or `exec=CMD`, with per-target options, as `--alert` and
//! `[alert] targets` write them.

use std::fmt;
use std::time::Duration;

use crate::detectors::Severity;
use crate::time::parse_duration;
use crate::{Error, Result};

/// What receives an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// An HTTP(S) endpoint that the alert is posted to as JSON.
    Webhook(String),
    /// A command run by `sh -c` with the alert as JSON on standard input.
    Exec(String),
}

/// One alert target and its own options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertTarget {
    /// Where alerts go.
    pub destination: Destination,
    /// Findings below this severity are not sent here (on top of the global minimum).
    pub min_severity: Option<Severity>,
    /// Gather findings for this long into one message, instead of the global setting
    /// (`Some(ZERO)`: one message per finding whatever the global setting).
    pub aggregate: Option<Duration>,
}

impl AlertTarget {
    /// Parses `webhook=URL` or `exec=CMD`, optionally followed (or preceded) by
    /// `,min=SEVERITY` and `,aggregate=DURATION` (`aggregate=0s`: one message per finding).
    /// The URL or command is everything else, commas included.
    pub fn parse(spec: &str) -> Result<AlertTarget> {
        let invalid = |why: String| Error::Invalid(format!("alert target: {why}"));
        let mut min_severity = None;
        let mut aggregate = None;
        let mut option = |part: &str| -> Result<bool> {
            let Some((key, value)) = part.split_once('=') else {
                return Ok(false);
            };
            match key.trim() {
                "min" | "min_severity" => {
                    min_severity = Some(Severity::parse(value.trim()).ok_or_else(|| {
                        invalid(format!(
                            "unknown severity '{value}' (info, low, medium, high, critical)"
                        ))
                    })?);
                    Ok(true)
                }
                "aggregate" => {
                    let us = parse_duration(value)
                        .ok()
                        .filter(|us| *us >= 0)
                        .ok_or_else(|| invalid(format!("invalid duration '{value}' (60s, 5m)")))?;
                    aggregate = Some(Duration::from_micros(us as u64));
                    Ok(true)
                }
                _ => Ok(false),
            }
        };
        let mut rest = spec.trim();
        // Options before the destination ...
        while let Some((head, tail)) = rest.split_once(',') {
            if head.starts_with("webhook=") || head.starts_with("exec=") || !option(head)? {
                break;
            }
            rest = tail.trim_start();
        }
        // ... and after it.
        while let Some((head, tail)) = rest.rsplit_once(',') {
            if !option(tail)? {
                break;
            }
            rest = head.trim_end();
        }
        let destination = if let Some(url) = rest.strip_prefix("webhook=") {
            let url = url.trim();
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() < 10 {
                return Err(invalid(format!(
                    "webhook wants an http:// or https:// URL, not '{}'",
                    redact_url(url)
                )));
            }
            Destination::Webhook(url.to_string())
        } else if let Some(command) = rest.strip_prefix("exec=") {
            if command.trim().is_empty() {
                return Err(invalid("exec wants a command".into()));
            }
            Destination::Exec(command.to_string())
        } else {
            return Err(invalid(format!(
                "'{spec}' is neither webhook=URL nor exec=CMD (options: ,min=high ,aggregate=60s)"
            )));
        };
        Ok(AlertTarget {
            destination,
            min_severity,
            aggregate,
        })
    }
}

impl fmt::Display for AlertTarget {
    /// The target for logs and the status bar; a webhook shows only its host, since the
    /// rest of its URL is usually the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.destination {
            Destination::Webhook(url) => write!(f, "webhook {}", redact_url(url)),
            Destination::Exec(command) => {
                write!(f, "exec {}", crate::text::truncate(command, 40))
            }
        }
    }
}

/// A URL without its path and query (`https://hooks.slack.com/…`): webhook URLs carry their
/// token in them.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Credentials in the authority (`user:pass@host`) are secrets too.
    let host = host.rsplit('@').next().unwrap_or(host);
    let shown = if scheme.is_empty() {
        host.to_string()
    } else {
        format!("{scheme}://{host}")
    };
    let shown = crate::text::escape_control(&shown).into_owned();
    if host.len() + scheme.len() + 3 < url.len() {
        format!("{shown}/…")
    } else {
        shown
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_with_options_on_either_side() {
        let t = AlertTarget::parse("webhook=https://hooks.example/T1/B2?x=1,2,min=high").unwrap();
        assert_eq!(
            t.destination,
            Destination::Webhook("https://hooks.example/T1/B2?x=1,2".into())
        );
        assert_eq!(t.min_severity, Some(Severity::High));
        let t = AlertTarget::parse("aggregate=60s,exec=notify --to a,b").unwrap();
        assert_eq!(t.destination, Destination::Exec("notify --to a,b".into()));
        assert_eq!(t.aggregate, Some(Duration::from_secs(60)));
        let t = AlertTarget::parse("webhook=http://127.0.0.1:9/x,aggregate=0s").unwrap();
        assert_eq!(t.aggregate, Some(Duration::ZERO));
        for bad in [
            "webhook=ftp://x/y",
            "exec=",
            "slack=https://x/y",
            "webhook=https://x/y,min=urgent",
        ] {
            assert!(AlertTarget::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn webhook_urls_are_shown_without_their_secret() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(redact_url("https://u:p@host:8443"), "https://host:8443/…");
        assert_eq!(redact_url("https://host:8443"), "https://host:8443");
        let t =
            AlertTarget::parse("webhook=https://hooks.slack.com/services/T0/B0/secret").unwrap();
        assert!(!t.to_string().contains("secret"), "{t}");
    }
}
