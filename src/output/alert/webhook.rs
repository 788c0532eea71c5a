//! Posting an alert to an HTTP endpoint: a blocking client (ureq, rustls) with a timeout per
//! request, and retries with exponential backoff that honour a 429's `Retry-After`.

use std::time::Duration;

use super::target::redact_url;

/// How a failed delivery is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all (at least one).
    pub attempts: u32,
    /// The wait before the first retry; it doubles with each retry.
    pub base: Duration,
    /// The longest wait, whatever the endpoint's `Retry-After` asks for.
    pub longest: Duration,
}

/// A webhook endpoint.
pub struct Webhook {
    agent: ureq::Agent,
    url: String,
}

/// What one attempt came to.
enum Attempt {
    Delivered,
    /// Worth another try, after the endpoint's `Retry-After` if it gave one.
    Retry(Option<Duration>, String),
    /// Retrying would not help (a 4xx other than 408 and 429, a bad URL).
    Fail(String),
}

/// How much of an error response is kept for the log.
const BODY_KEPT: u64 = 4096;

impl Webhook {
    /// An endpoint with a timeout for each request (connecting, sending and reading).
    pub fn new(url: &str, timeout: Duration) -> Webhook {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            // A redirected POST would become a GET or repeat the body to another host.
            .max_redirects(0)
            .user_agent(concat!("trailscope/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Webhook {
            agent,
            url: url.to_string(),
        }
    }

    /// Posts `body` (JSON) until the endpoint accepts it or the attempts are spent; `wait`
    /// sleeps between attempts and returns false to give up early (stopping). Returns how
    /// many attempts it took, or why it failed (the URL shown without its secret).
    pub fn post(
        &self,
        body: &str,
        retry: Retry,
        wait: &dyn Fn(Duration) -> bool,
    ) -> Result<u32, String> {
        let mut last = String::new();
        for attempt in 1..=retry.attempts.max(1) {
            match self.attempt(body) {
                Attempt::Delivered => return Ok(attempt),
                Attempt::Fail(why) => return Err(self.failure(attempt, &why)),
                Attempt::Retry(after, why) => {
                    last = why;
                    if attempt == retry.attempts.max(1) {
                        break;
                    }
                    let backoff = retry.base.saturating_mul(1u32 << (attempt - 1).min(20));
                    let delay = after.unwrap_or(backoff).min(retry.longest);
                    log::debug!(
                        "alert to {}: attempt {attempt} failed ({last}); retrying in {delay:?}",
                        redact_url(&self.url)
                    );
                    if !wait(delay) {
                        return Err(self.failure(attempt, &format!("{last}; stopped")));
                    }
                }
            }
        }
        Err(self.failure(retry.attempts.max(1), &last))
    }

    fn failure(&self, attempts: u32, why: &str) -> String {
        format!(
            "webhook {}: {why} (after {attempts} attempt{})",
            redact_url(&self.url),
            if attempts == 1 { "" } else { "s" }
        )
    }

    fn attempt(&self, body: &str) -> Attempt {
        let response = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json")
            .send(body);
        let mut response = match response {
            Ok(r) => r,
            Err(ureq::Error::BadUri(why)) => return Attempt::Fail(format!("bad URL: {why}")),
            // Connection refused, DNS, TLS and timeouts may pass.
            Err(e) => return Attempt::Retry(None, without_url(&e.to_string(), &self.url)),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // Read what the endpoint said (bounded): it is the reason in the log, and a read
        // body lets the connection be reused.
        let said = response
            .body_mut()
            .with_config()
            .limit(BODY_KEPT)
            .read_to_string()
            .unwrap_or_default();
        let said =
            crate::text::truncate(&crate::text::escape_control(said.trim()), 200).into_owned();
        let why = if said.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {said}")
        };
        match status {
            200..=299 => Attempt::Delivered,
            408 | 429 | 500..=599 => Attempt::Retry(retry_after, why),
            _ => Attempt::Fail(why),
        }
    }
}

/// An error message without the URL in it (it carries the webhook's secret).
fn without_url(message: &str, url: &str) -> String {
    message.replace(url, &redact_url(url))
}
