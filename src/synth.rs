//! Test-data generator, over 900 lines by design: mostly the records it writes (actors, actions,
//! one provider's export shape after another), which read best in one place.
//!
//! The deterministic generator behind `sample-logs/` and the benchmark inputs: a small
//! company's audit logs across seven providers, written in the providers' real export
//! shapes, with teams in several time zones, service identities working around the clock,
//! and one incident that crosses providers. Same seed, same bytes.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

use crate::time::{DAY, HOUR, SECOND};

mod month;
mod traffic;

pub use month::{MonthTruth, Planted, write_month};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The bundled multi-provider sample (a few thousand events over three weeks).
    Sample,
    /// CloudTrail records, one per line, in one file (benchmark input).
    CloudtrailNdjson,
    /// CloudTrail S3 delivery files `{"Records":[...]}` of 1,000 records (benchmark input).
    CloudtrailS3,
    /// Entra ID sign-ins as hourly diagnostic `{"records":[...]}` files (benchmark input).
    EntraSignins,
    /// Kubernetes audit events, one per line, in one file (benchmark input).
    Kubernetes,
    /// Cloud Audit Logs entries in hourly one-per-line sink files (benchmark input).
    Gcp,
    /// A month of benign activity across the providers with incidents planted in it
    /// (detection quality test and benchmark), about `events` events.
    Month,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Events written.
    pub events: usize,
    /// Files written.
    pub files: usize,
}

/// Writes generated logs of `kind` under `out`.
pub fn write(kind: Kind, out: &Path, events: usize, seed: u64) -> io::Result<Written> {
    fs::create_dir_all(out)?;
    match kind {
        Kind::Sample => write_sample(out, seed),
        Kind::CloudtrailNdjson => {
            traffic::write(traffic::Shape::CloudtrailNdjson, out, events, seed)
        }
        Kind::CloudtrailS3 => traffic::write(traffic::Shape::CloudtrailS3, out, events, seed),
        Kind::EntraSignins => traffic::write(traffic::Shape::EntraSignins, out, events, seed),
        Kind::Kubernetes => traffic::write(traffic::Shape::Kubernetes, out, events, seed),
        Kind::Gcp => traffic::write(traffic::Shape::Gcp, out, events, seed),
        Kind::Month => write_month(out, events, seed).map(|t| t.written),
    }
}

/// A version-4-shaped UUID from 128 bits.
fn uuid_text(a: u64, b: u64) -> String {
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
}

/// A small deterministic random generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// A random UUID-shaped id.
    pub fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        uuid_text(a, b)
    }

    /// A UUID-shaped id that is the same for the same name (a directory's object id of a
    /// user), drawing from the generator what [`Rng::uuid`] draws so the rest of the data
    /// stays as it was.
    pub fn uuid_of(&mut self, name: &str) -> String {
        self.uuid();
        let a = xxhash_rust::xxh3::xxh3_64(name.as_bytes());
        let b = xxhash_rust::xxh3::xxh3_64_with_seed(name.as_bytes(), 1);
        uuid_text(a, b)
    }

    /// A hex string of `n` (at most 32) characters that is the same for the same name (an
    /// Okta user id), drawing what [`Rng::hex`] draws.
    pub fn hex_of(&mut self, name: &str, n: usize) -> String {
        self.hex(n);
        let a = xxhash_rust::xxh3::xxh3_128(name.as_bytes());
        let mut s = format!("{a:032x}");
        s.truncate(n);
        s
    }

    /// A hex string of `n` characters.
    pub fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next_u64()));
        }
        s.truncate(n);
        s
    }
}

/// 2024-03-04T00:00:00Z, a Monday: the first day of the sample.
const SAMPLE_START: i64 = 1_709_510_400 * SECOND;
const SAMPLE_DAYS: i64 = 21;
const ACCOUNT: &str = "111122223333";
const TENANT: &str = "6f1d2c3b-9a8e-4d7c-b6a5-0123456789ab";
const SUBSCRIPTION: &str = "a1b2c3d4-0000-4e5f-9a8b-112233445566";
const PROJECT: &str = "northwind-data";
/// The attacker's address in the incident (TEST-NET-3).
pub const INCIDENT_IP: &str = "203.0.113.66";

fn rfc3339(micros: i64) -> String {
    crate::text::format_time_utc(micros)
}

fn rfc3339_ms(micros: i64) -> String {
    match jiff::Timestamp::from_microsecond(micros - micros % 1000) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => String::new(),
    }
}

fn rfc3339_s(micros: i64) -> String {
    rfc3339(micros - micros.rem_euclid(SECOND))
}

/// A person in the sample company.
struct Person<'a> {
    login: &'a str,
    upn: &'a str,
    tz: &'a str,
    /// Local working hours, start and end.
    hours: (i64, i64),
    ip: &'a str,
    agent: &'a str,
}

const PEOPLE: [Person<'static>; 8] = [
    Person {
        login: "alice",
        upn: "alice@northwind.example",
        tz: "America/Chicago",
        hours: (8, 17),
        ip: "198.51.100.10",
        agent: "aws-cli/2.15.10 Python/3.11.6 Darwin/23.3.0 exe/x86_64 prompt/off command/iam.list-users",
    },
    Person {
        login: "bob",
        upn: "bob@northwind.example",
        tz: "America/Chicago",
        hours: (9, 18),
        ip: "198.51.100.11",
        agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    },
    Person {
        login: "chen",
        upn: "chen@northwind.example",
        tz: "Europe/Berlin",
        hours: (8, 16),
        ip: "192.0.2.20",
        agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    },
    Person {
        login: "dana",
        upn: "dana@northwind.example",
        tz: "Europe/Berlin",
        hours: (9, 17),
        ip: "192.0.2.21",
        agent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
    },
    Person {
        login: "erin",
        upn: "erin@northwind.example",
        tz: "America/Los_Angeles",
        hours: (9, 18),
        ip: "198.51.100.30",
        agent: "git/2.43.0",
    },
    Person {
        login: "frank",
        upn: "frank@northwind.example",
        tz: "America/Los_Angeles",
        hours: (10, 19),
        ip: "198.51.100.31",
        agent: "kubectl/v1.29.2 (darwin/arm64) kubernetes/4b8e819",
    },
    Person {
        login: "farah",
        upn: "farah@northwind.example",
        tz: "Asia/Kolkata",
        hours: (10, 18),
        ip: "192.0.2.40",
        agent: "google-cloud-sdk gcloud/466.0.0 command/gcloud.projects.get-iam-policy",
    },
    Person {
        login: "gopal",
        upn: "gopal@northwind.example",
        tz: "Asia/Kolkata",
        hours: (9, 17),
        ip: "192.0.2.41",
        agent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    },
];

/// Working-hour instants for a person on a day: `base` plus up to `extra` random more,
/// between their local hours (none on weekends).
fn work_times(rng: &mut Rng, person: &Person<'_>, day: i64, base: usize, extra: u64) -> Vec<i64> {
    let n = base + rng.below(extra) as usize;
    let Ok(tz) = jiff::tz::TimeZone::get(person.tz) else {
        return Vec::new();
    };
    let Ok(ts) = jiff::Timestamp::from_microsecond(SAMPLE_START + day * DAY) else {
        return Vec::new();
    };
    let date = ts.to_zoned(jiff::tz::TimeZone::UTC).date();
    if matches!(
        date.weekday(),
        jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
    ) {
        return Vec::new();
    }
    let Ok(local_start) = date.at(person.hours.0 as i8, 0, 0, 0).to_zoned(tz) else {
        return Vec::new();
    };
    let start = local_start.timestamp().as_microsecond();
    let span = (person.hours.1 - person.hours.0) * HOUR;
    let mut times: Vec<i64> = (0..n)
        .map(|_| start + rng.below(span as u64) as i64)
        .collect();
    times.sort_unstable();
    times
}

/// Collected events of one output file.
#[derive(Default)]
struct Stream {
    events: Vec<(i64, Value)>,
}

impl Stream {
    fn push(&mut self, time: i64, event: Value) {
        self.events.push((time, event));
    }

    fn sorted(mut self) -> Vec<(i64, Value)> {
        self.events.sort_by_key(|(t, _)| *t);
        self.events
    }
}

fn write_sample(out: &Path, seed: u64) -> io::Result<Written> {
    let mut rng = Rng::new(seed);
    let mut aws = Stream::default();
    let mut signins = Stream::default();
    let mut directory = Stream::default();
    let mut activity = Stream::default();
    let mut gcp = Stream::default();
    let mut k8s = Stream::default();
    let mut okta = Stream::default();
    let mut github = Stream::default();

    for day in 0..SAMPLE_DAYS {
        routine_day(
            &mut rng,
            day,
            &mut Streams {
                aws: &mut aws,
                signins: &mut signins,
                directory: &mut directory,
                activity: &mut activity,
                gcp: &mut gcp,
                k8s: &mut k8s,
                okta: &mut okta,
                github: &mut github,
            },
        );
    }
    incident(
        &mut rng,
        &mut Streams {
            aws: &mut aws,
            signins: &mut signins,
            directory: &mut directory,
            activity: &mut activity,
            gcp: &mut gcp,
            k8s: &mut k8s,
            okta: &mut okta,
            github: &mut github,
        },
    );

    let mut written = Written::default();
    // AWS: S3 delivery files, one per day, gzipped as CloudTrail writes them.
    let aws_dir = out.join("aws");
    fs::create_dir_all(&aws_dir)?;
    let aws = aws.sorted();
    for day in 0..SAMPLE_DAYS {
        let from = SAMPLE_START + day * DAY;
        let records: Vec<&Value> = aws
            .iter()
            .filter(|(t, _)| (from..from + DAY).contains(t))
            .map(|(_, v)| v)
            .collect();
        if records.is_empty() {
            continue;
        }
        let stamp = jiff::Timestamp::from_microsecond(from)
            .map(|t| t.strftime("%Y%m%dT0000Z").to_string())
            .unwrap_or_default();
        let name = format!(
            "{ACCOUNT}_CloudTrail_us-east-1_{stamp}_{}.json.gz",
            rng.hex(16)
        );
        let body = serde_json::to_vec(&json!({ "Records": records }))?;
        let mut gz = GzEncoder::new(File::create(aws_dir.join(&name))?, Compression::new(6));
        gz.write_all(&body)?;
        gz.finish()?;
        written.events += records.len();
        written.files += 1;
        if day == 15 {
            // The same day downloaded again into another folder: loaded once, counted as duplicates.
            let copy = out.join("aws-redownload");
            fs::create_dir_all(&copy)?;
            fs::write(copy.join(name.trim_end_matches(".gz")), &body)?;
            written.files += 1;
        }
    }
    let azure_dir = out.join("azure");
    fs::create_dir_all(&azure_dir)?;
    written.add(write_ndjson(
        &azure_dir.join("entra-signin-diagnostics.ndjson"),
        signins.sorted(),
    )?);
    let directory: Vec<Value> = directory.sorted().into_iter().map(|(_, v)| v).collect();
    let page = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits",
        "value": directory,
    });
    fs::write(
        azure_dir.join("entra-directory-audits.json"),
        serde_json::to_vec_pretty(&page)?,
    )?;
    written.add(Written {
        events: directory.len(),
        files: 1,
    });
    written.add(write_ndjson(
        &azure_dir.join("azure-activity.ndjson"),
        activity.sorted(),
    )?);
    let gcp_dir = out.join("gcp");
    fs::create_dir_all(&gcp_dir)?;
    let gcp: Vec<Value> = gcp.sorted().into_iter().rev().map(|(_, v)| v).collect();
    fs::write(
        gcp_dir.join("gcloud-logging-read.json"),
        serde_json::to_vec_pretty(&gcp)?,
    )?;
    written.add(Written {
        events: gcp.len(),
        files: 1,
    });
    let k8s_dir = out.join("kubernetes");
    fs::create_dir_all(&k8s_dir)?;
    written.add(write_ndjson(
        &k8s_dir.join("kube-apiserver-audit.log"),
        k8s.sorted(),
    )?);
    {
        // Log rotation cut the last line short: one record is rejected, with its line number.
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(k8s_dir.join("kube-apiserver-audit.log"))?;
        file.write_all(b"{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"Metadata\",\"auditID\":\"")?;
    }
    let okta_dir = out.join("okta");
    fs::create_dir_all(&okta_dir)?;
    let okta: Vec<Value> = okta.sorted().into_iter().map(|(_, v)| v).collect();
    fs::write(
        okta_dir.join("system-log.json"),
        serde_json::to_vec_pretty(&okta)?,
    )?;
    written.add(Written {
        events: okta.len(),
        files: 1,
    });
    let github_dir = out.join("github");
    fs::create_dir_all(&github_dir)?;
    written.add(write_ndjson(
        &github_dir.join("org-audit-log.ndjson"),
        github.sorted(),
    )?);
    Ok(written)
}

impl Written {
    fn add(&mut self, other: Written) {
        self.events += other.events;
        self.files += other.files;
    }
}

fn write_ndjson(path: &Path, events: Vec<(i64, Value)>) -> io::Result<Written> {
    let mut out = BufWriter::new(File::create(path)?);
    for (_, event) in &events {
        serde_json::to_writer(&mut out, event)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(Written {
        events: events.len(),
        files: 1,
    })
}

struct Streams<'a> {
    aws: &'a mut Stream,
    signins: &'a mut Stream,
    directory: &'a mut Stream,
    activity: &'a mut Stream,
    gcp: &'a mut Stream,
    k8s: &'a mut Stream,
    okta: &'a mut Stream,
    github: &'a mut Stream,
}

/// One ordinary day: people work their hours, machines work around the clock.
fn routine_day(rng: &mut Rng, day: i64, s: &mut Streams<'_>) {
    let day_start = SAMPLE_START + day * DAY;
    // Platform team (Chicago): AWS console and CLI work, occasional IAM housekeeping.
    for person in &PEOPLE[0..2] {
        let times = work_times(rng, person, day, 12, 10);
        if let Some(first) = times.first() {
            s.aws.push(
                *first - 60 * SECOND,
                cloudtrail_console_login(rng, person, *first - 60 * SECOND, true),
            );
        }
        for t in times {
            let (name, source, params) = *rng.pick(&ROUTINE_AWS);
            s.aws.push(
                t,
                cloudtrail_user_event(rng, person, t, name, source, params),
            );
        }
    }
    if day % 5 == 1 {
        let alice = &PEOPLE[0];
        if let Some(t) = work_times(rng, alice, day, 1, 0).first() {
            s.aws.push(
                *t,
                cloudtrail_user_event(rng, alice, *t, "AttachRolePolicy", "iam", "role-policy"),
            );
        }
    }
    // CI deploy role: every 2 hours around the clock.
    for slot in 0..12 {
        let t = day_start + slot * 2 * HOUR + rng.below(600) as i64 * SECOND;
        let run = rng.below(1_000_000);
        for (i, name) in ["AssumeRole", "DescribeStacks", "UpdateStack", "PutObject"]
            .iter()
            .enumerate()
        {
            s.aws.push(
                t + i as i64 * 20 * SECOND,
                cloudtrail_ci_event(rng, t + i as i64 * 20 * SECOND, name, run),
            );
        }
    }
    // Identity team (Berlin) and everybody's sign-ins.
    for person in &PEOPLE {
        for t in work_times(rng, person, day, 2, 2) {
            let typo = rng.chance(0.04);
            if typo {
                s.signins.push(
                    t - 30 * SECOND,
                    entra_signin(
                        rng,
                        person.upn,
                        person.ip,
                        t - 30 * SECOND,
                        50126,
                        "Office 365 Exchange Online",
                    ),
                );
                s.okta.push(
                    t - 20 * SECOND,
                    okta_event(
                        rng,
                        person.upn,
                        "User",
                        person.ip,
                        t - 20 * SECOND,
                        "user.session.start",
                        "FAILURE",
                        Some("INVALID_CREDENTIALS"),
                        None,
                    ),
                );
            }
            s.signins.push(
                t,
                entra_signin(
                    rng,
                    person.upn,
                    person.ip,
                    t,
                    0,
                    "Office 365 Exchange Online",
                ),
            );
            s.okta.push(
                t + 5 * SECOND,
                okta_event(
                    rng,
                    person.upn,
                    "User",
                    person.ip,
                    t + 5 * SECOND,
                    "user.session.start",
                    "SUCCESS",
                    None,
                    None,
                ),
            );
            s.okta.push(
                t + 9 * SECOND,
                okta_event(
                    rng,
                    person.upn,
                    "User",
                    person.ip,
                    t + 9 * SECOND,
                    "user.authentication.sso",
                    "SUCCESS",
                    None,
                    Some(("AppInstance", "Slack")),
                ),
            );
        }
    }
    for person in &PEOPLE[2..4] {
        for t in work_times(rng, person, day, 2, 3) {
            let op = *rng.pick(&[
                "Update user",
                "Add member to group",
                "Update group",
                "Reset user password",
            ]);
            let target = rng.pick(&PEOPLE).upn;
            s.directory.push(
                t,
                entra_directory_audit(rng, person.upn, person.ip, t, op, target, None),
            );
        }
    }
    // Backup app: a service principal signing in every hour.
    for hour in 0..24 {
        let t = day_start + hour * HOUR + 5 * 60 * SECOND;
        s.signins.push(t, entra_sp_signin(rng, t));
    }
    // Azure activity: platform people touch resources; a policy engine runs nightly.
    for person in &PEOPLE[0..2] {
        for t in work_times(rng, person, day, 2, 3) {
            let op = *rng.pick(&[
                "Microsoft.Compute/virtualMachines/write",
                "Microsoft.Storage/storageAccounts/write",
                "Microsoft.Network/networkSecurityGroups/read",
                "Microsoft.Web/sites/restart/action",
            ]);
            s.activity.push(
                t,
                azure_activity(rng, person.upn, person.ip, t, op, "Success"),
            );
        }
    }
    let nightly = day_start + 2 * HOUR + rng.below(1800) as i64 * SECOND;
    s.activity.push(
        nightly,
        azure_activity(
            rng,
            "d7c1a5f0-policy-engine",
            "",
            nightly,
            "Microsoft.PolicyInsights/policyStates/triggerEvaluation/action",
            "Success",
        ),
    );
    // Data team (Kolkata) on GCP; the ETL service account every 30 minutes.
    for person in &PEOPLE[6..8] {
        for t in work_times(rng, person, day, 6, 6) {
            let method = *rng.pick(&[
                "google.cloud.bigquery.v2.JobService.InsertJob",
                "storage.objects.get",
                "google.cloud.bigquery.v2.TableService.GetTable",
                "v1.compute.instances.list",
            ]);
            s.gcp
                .push(t, gcp_entry(rng, person.upn, person.ip, t, method, 0));
        }
    }
    for slot in 0..24 {
        let t = day_start + slot * HOUR + rng.below(60) as i64 * SECOND;
        s.gcp.push(
            t,
            gcp_entry(
                rng,
                "etl-runner@northwind-data.iam.gserviceaccount.com",
                "10.20.0.5",
                t,
                "storage.objects.create",
                0,
            ),
        );
    }
    // Developers (Los Angeles) on Kubernetes and GitHub; controllers around the clock.
    for person in &PEOPLE[4..6] {
        for t in work_times(rng, person, day, 8, 8) {
            let (verb, resource) = *rng.pick(&[
                ("get", "pods"),
                ("list", "pods"),
                ("get", "deployments"),
                ("patch", "deployments"),
                ("get", "pods/log"),
            ]);
            s.k8s.push(
                t,
                k8s_event(
                    rng,
                    &format!("{}@northwind.example", person.login),
                    person.ip,
                    t,
                    verb,
                    resource,
                    "shop",
                    200,
                ),
            );
        }
        for t in work_times(rng, person, day, 3, 4) {
            let action = *rng.pick(&[
                "git.clone",
                "git.push",
                "pull_request.create",
                "pull_request.merge",
                "repo.download_zip",
            ]);
            s.github.push(
                t,
                github_event(
                    rng,
                    person.login,
                    person.ip,
                    t,
                    action,
                    "northwind/shop",
                    None,
                ),
            );
        }
    }
    for slot in 0..12 {
        let t = day_start + slot * 2 * HOUR + rng.below(3000) as i64 * SECOND;
        s.k8s.push(
            t,
            k8s_event(
                rng,
                "system:serviceaccount:kube-system:replicaset-controller",
                "10.0.0.2",
                t,
                "update",
                "replicasets",
                "shop",
                200,
            ),
        );
        s.github.push(
            t,
            github_event(
                rng,
                "dependabot[bot]",
                "",
                t,
                "pull_request.create",
                "northwind/shop",
                None,
            ),
        );
    }
}

/// The incident: dana's session is phished from one address; the intruder escalates in
/// Entra, then moves into AWS, GCP, Kubernetes and GitHub, at night in Berlin.
fn incident(rng: &mut Rng, s: &mut Streams<'_>) {
    // Day 16 (a Wednesday), 00:40 UTC = 01:40 in Berlin.
    let t0 = SAMPLE_START + 16 * DAY + 40 * 60 * SECOND;
    let ip = INCIDENT_IP;
    let attacker_agent = "python-requests/2.31.0";
    // Password spray against the tenant, then a success for dana with MFA fatigue in Okta.
    for (i, person) in PEOPLE.iter().enumerate() {
        let t = t0 - 20 * 60 * SECOND + i as i64 * 40 * SECOND;
        s.signins.push(
            t,
            entra_signin(rng, person.upn, ip, t, 50126, "Azure Portal"),
        );
    }
    for i in 0..6 {
        let t = t0 - 5 * 60 * SECOND + i * 30 * SECOND;
        s.okta.push(
            t,
            okta_event(
                rng,
                "dana@northwind.example",
                "User",
                ip,
                t,
                "system.push.send_factor_verify_push",
                "SUCCESS",
                None,
                None,
            ),
        );
        s.okta.push(
            t + 10 * SECOND,
            okta_event(
                rng,
                "dana@northwind.example",
                "User",
                ip,
                t + 10 * SECOND,
                "user.authentication.auth_via_mfa",
                "FAILURE",
                Some("INVALID_CREDENTIALS"),
                None,
            ),
        );
    }
    s.okta.push(
        t0,
        okta_event(
            rng,
            "dana@northwind.example",
            "User",
            ip,
            t0,
            "user.authentication.auth_via_mfa",
            "SUCCESS",
            None,
            None,
        ),
    );
    s.signins.push(
        t0 + 30 * SECOND,
        entra_signin(
            rng,
            "dana@northwind.example",
            ip,
            t0 + 30 * SECOND,
            0,
            "Azure Portal",
        ),
    );
    // Entra: a new account is made Global Administrator; consent to a mail-reading app.
    let t1 = t0 + 6 * 60 * SECOND;
    s.directory.push(
        t1,
        entra_directory_audit(
            rng,
            "dana@northwind.example",
            ip,
            t1,
            "Add user",
            "svc-sync@northwind.example",
            None,
        ),
    );
    s.directory.push(
        t1 + 40 * SECOND,
        entra_directory_audit(
            rng,
            "dana@northwind.example",
            ip,
            t1 + 40 * SECOND,
            "Add member to role",
            "svc-sync@northwind.example",
            Some("Global Administrator"),
        ),
    );
    s.directory.push(
        t1 + 90 * SECOND,
        entra_directory_audit(
            rng,
            "dana@northwind.example",
            ip,
            t1 + 90 * SECOND,
            "Consent to application",
            "MailSync Pro",
            None,
        ),
    );
    s.okta.push(
        t1 + 120 * SECOND,
        okta_event(
            rng,
            "dana@northwind.example",
            "User",
            ip,
            t1 + 120 * SECOND,
            "user.account.privilege.grant",
            "SUCCESS",
            None,
            Some(("User", "svc-sync@northwind.example")),
        ),
    );
    // Azure: the new admin grants itself Owner and removes diagnostic settings.
    let t2 = t1 + 10 * 60 * SECOND;
    s.activity.push(
        t2,
        azure_activity(
            rng,
            "svc-sync@northwind.example",
            ip,
            t2,
            "Microsoft.Authorization/roleAssignments/write",
            "Success",
        ),
    );
    s.activity.push(
        t2 + 60 * SECOND,
        azure_activity(
            rng,
            "svc-sync@northwind.example",
            ip,
            t2 + 60 * SECOND,
            "Microsoft.Insights/diagnosticSettings/delete",
            "Success",
        ),
    );
    // AWS through SSO as dana: an access key for another user, admin policy, logging stopped.
    let t3 = t2 + 15 * 60 * SECOND;
    let dana_sso = Person {
        login: "dana",
        upn: "dana@northwind.example",
        tz: "Europe/Berlin",
        hours: (9, 17),
        ip,
        agent: attacker_agent,
    };
    s.aws
        .push(t3, cloudtrail_console_login(rng, &dana_sso, t3, false));
    s.aws.push(
        t3 + 30 * SECOND,
        cloudtrail_user_event(
            rng,
            &dana_sso,
            t3 + 30 * SECOND,
            "CreateAccessKey",
            "iam",
            "user:legacy-admin",
        ),
    );
    s.aws.push(
        t3 + 60 * SECOND,
        cloudtrail_user_event(
            rng,
            &dana_sso,
            t3 + 60 * SECOND,
            "AttachUserPolicy",
            "iam",
            "admin-policy:legacy-admin",
        ),
    );
    s.aws.push(
        t3 + 90 * SECOND,
        cloudtrail_user_event(
            rng,
            &dana_sso,
            t3 + 90 * SECOND,
            "StopLogging",
            "cloudtrail",
            "trail",
        ),
    );
    for i in 0..6 {
        let t = t3 + 120 * SECOND + i * 5 * SECOND;
        s.aws.push(
            t,
            cloudtrail_user_event(rng, &dana_sso, t, "TerminateInstances", "ec2", "instance"),
        );
    }
    // GCP: a key for a privileged service account.
    let t4 = t3 + 20 * 60 * SECOND;
    s.gcp.push(
        t4,
        gcp_entry(
            rng,
            "dana@northwind.example",
            ip,
            t4,
            "google.iam.admin.v1.CreateServiceAccountKey",
            0,
        ),
    );
    s.gcp.push(
        t4 + 30 * SECOND,
        gcp_entry(
            rng,
            "dana@northwind.example",
            ip,
            t4 + 30 * SECOND,
            "SetIamPolicy",
            0,
        ),
    );
    // Kubernetes: secrets read and a shell in a pod, then a cluster-admin binding.
    let t5 = t4 + 10 * 60 * SECOND;
    for (i, (verb, resource, code)) in [
        ("list", "secrets", 200),
        ("get", "secrets", 200),
        ("create", "pods/exec", 101),
        ("create", "clusterrolebindings", 201),
    ]
    .iter()
    .enumerate()
    {
        let t = t5 + i as i64 * 45 * SECOND;
        s.k8s.push(
            t,
            k8s_event(
                rng,
                "dana@northwind.example",
                ip,
                t,
                verb,
                resource,
                "payments",
                *code,
            ),
        );
    }
    // GitHub: a personal access token and a repository made public.
    let t6 = t5 + 15 * 60 * SECOND;
    s.github.push(
        t6,
        github_event(
            rng,
            "dana",
            ip,
            t6,
            "personal_access_token.create",
            "",
            None,
        ),
    );
    s.github.push(
        t6 + 60 * SECOND,
        github_event(
            rng,
            "dana",
            ip,
            t6 + 60 * SECOND,
            "repo.access",
            "northwind/payments",
            Some("public"),
        ),
    );
}

const ROUTINE_AWS: [(&str, &str, &str); 8] = [
    ("DescribeInstances", "ec2", ""),
    ("ListBuckets", "s3", ""),
    ("GetObject", "s3", "object"),
    ("DescribeDBInstances", "rds", ""),
    ("ListUsers", "iam", ""),
    ("GetCallerIdentity", "sts", ""),
    ("DescribeLogGroups", "logs", ""),
    ("PutObject", "s3", "object"),
];

fn cloudtrail_identity(person: &Person<'_>, rng: &mut Rng) -> Value {
    if person.login == "dana" {
        let role = "AWSReservedSSO_AdministratorAccess_4f2c9a1b7e3d5c60";
        return json!({
            "type": "AssumedRole",
            "principalId": format!("AROA{}:{}", rng.hex(16).to_uppercase(), person.upn),
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{}", person.upn),
            "accountId": ACCOUNT,
            "accessKeyId": format!("ASIA{}", rng.hex(16).to_uppercase()),
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE", "arn": format!("arn:aws:iam::{ACCOUNT}:role/aws-reserved/sso.amazonaws.com/{role}"), "accountId": ACCOUNT, "userName": role},
                "attributes": {"creationDate": "2024-03-20T00:00:00Z", "mfaAuthenticated": "false"}
            }
        });
    }
    json!({
        "type": "IAMUser",
        "principalId": format!("AIDA{}", rng.hex(16).to_uppercase()),
        "arn": format!("arn:aws:iam::{ACCOUNT}:user/{}", person.login),
        "accountId": ACCOUNT,
        "accessKeyId": format!("AKIA{}", rng.hex(16).to_uppercase()),
        "userName": person.login,
        "sessionContext": {"attributes": {"creationDate": "2024-03-04T08:00:00Z", "mfaAuthenticated": "true"}}
    })
}

fn cloudtrail_base(
    rng: &mut Rng,
    time: i64,
    name: &str,
    source: &str,
    identity: Value,
    ip: &str,
    agent: &str,
) -> Value {
    let read_only = crate::providers::fields::looks_read_only(name);
    json!({
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": rfc3339_s(time),
        "eventSource": format!("{source}.amazonaws.com"),
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": ip,
        "userAgent": agent,
        "requestParameters": null,
        "responseElements": null,
        "requestID": rng.uuid(),
        "eventID": rng.uuid(),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": format!("{source}.us-east-1.amazonaws.com")}
    })
}

fn cloudtrail_user_event(
    rng: &mut Rng,
    person: &Person<'_>,
    time: i64,
    name: &str,
    source: &str,
    params: &str,
) -> Value {
    let identity = cloudtrail_identity(person, rng);
    let mut event = cloudtrail_base(rng, time, name, source, identity, person.ip, person.agent);
    let request = match params {
        "object" => {
            json!({"bucketName": "northwind-reports", "key": format!("2024/03/report-{}.csv", rng.below(300)), "Host": "northwind-reports.s3.us-east-1.amazonaws.com"})
        }
        "role-policy" => {
            json!({"roleName": "shop-app", "policyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"})
        }
        "user:legacy-admin" => json!({"userName": "legacy-admin"}),
        "admin-policy:legacy-admin" => {
            json!({"userName": "legacy-admin", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
        }
        "trail" => {
            json!({"name": format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail")})
        }
        "instance" => {
            json!({"instancesSet": {"items": [{"instanceId": format!("i-0{}", rng.hex(16))}]}})
        }
        _ => Value::Null,
    };
    event["requestParameters"] = request;
    // Now and then a call is denied, as in every real trail.
    if rng.chance(0.04) {
        event["errorCode"] = json!("AccessDenied");
        event["errorMessage"] = json!(format!(
            "User: {} is not authorized to perform: {source}:{name} because no identity-based policy allows the {source}:{name} action",
            event["userIdentity"]["arn"].as_str().unwrap_or("")
        ));
    }
    event
}

fn cloudtrail_console_login(rng: &mut Rng, person: &Person<'_>, time: i64, mfa: bool) -> Value {
    let identity = cloudtrail_identity(person, rng);
    let mut event = cloudtrail_base(
        rng,
        time,
        "ConsoleLogin",
        "signin",
        identity,
        person.ip,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    );
    event["eventType"] = json!("AwsConsoleSignIn");
    event["readOnly"] = json!(false);
    event["responseElements"] = json!({"ConsoleLogin": "Success"});
    event["additionalEventData"] = json!({
        "LoginTo": "https://console.aws.amazon.com/console/home",
        "MobileVersion": "No",
        "MFAUsed": if mfa { "Yes" } else { "No" }
    });
    event
}

/// An event of the CI role; `run` names the workflow run (one role session per run).
fn cloudtrail_ci_event(rng: &mut Rng, time: i64, name: &str, run: u64) -> Value {
    let session = format!("GitHubActions-{run}");
    let (source, identity, request) = if name == "AssumeRole" {
        (
            "sts",
            json!({"type": "WebIdentityUser", "principalId": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:repo:northwind/shop:ref:refs/heads/main", "userName": "repo:northwind/shop:ref:refs/heads/main", "identityProvider": "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"}),
            json!({"roleArn": format!("arn:aws:iam::{ACCOUNT}:role/ci-deployer"), "roleSessionName": session}),
        )
    } else {
        let source = match name {
            "PutObject" => "s3",
            _ => "cloudformation",
        };
        (
            source,
            json!({
                "type": "AssumedRole",
                "principalId": format!("AROACIDEPLOYER:{session}"),
                "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/ci-deployer/{session}"),
                "accountId": ACCOUNT,
                "accessKeyId": format!("ASIA{}", rng.hex(16).to_uppercase()),
                "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROACIDEPLOYER", "arn": format!("arn:aws:iam::{ACCOUNT}:role/ci-deployer"), "accountId": ACCOUNT, "userName": "ci-deployer"}, "attributes": {"creationDate": rfc3339_s(time), "mfaAuthenticated": "false"}}
            }),
            json!({"stackName": "shop-prod"}),
        )
    };
    let mut event = cloudtrail_base(
        rng,
        time,
        name,
        source,
        identity,
        "140.82.112.4",
        "aws-sdk-js/3.525.0 ua/2.0 os/linux#6.5.0 lang/js md/nodejs#20.11.1 api/cloudformation#3.525.0",
    );
    event["requestParameters"] = request;
    event
}

fn entra_signin(rng: &mut Rng, upn: &str, ip: &str, time: i64, error: u32, app: &str) -> Value {
    let id = rng.uuid();
    let reason = if error == 0 {
        "Other."
    } else {
        "Error validating credentials due to invalid username or password."
    };
    json!({
        "time": rfc3339(time),
        "resourceId": format!("/tenants/{TENANT}/providers/Microsoft.aadiam"),
        "operationName": "Sign-in activity",
        "operationVersion": "1.0",
        "category": "SignInLogs",
        "tenantId": TENANT,
        "resultType": error.to_string(),
        "resultSignature": "None",
        "resultDescription": if error == 0 { Value::Null } else { json!(reason) },
        "durationMs": 0,
        "callerIpAddress": ip,
        "correlationId": rng.uuid(),
        "identity": upn.split('@').next().unwrap_or(upn),
        "Level": 4,
        "location": "DE",
        "properties": {
            "id": id,
            "createdDateTime": rfc3339(time),
            "userDisplayName": upn.split('@').next().unwrap_or(upn),
            "userPrincipalName": upn,
            "userId": rng.uuid_of(upn),
            "appId": "00000002-0000-0ff1-ce00-000000000000",
            "appDisplayName": app,
            "ipAddress": ip,
            "status": {"errorCode": error, "failureReason": reason},
            "clientAppUsed": "Browser",
            "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
            "conditionalAccessStatus": "success",
            "authenticationRequirement": if error == 0 { "multiFactorAuthentication" } else { "singleFactorAuthentication" },
            "isInteractive": true,
            "location": {"city": if ip == INCIDENT_IP { "Amsterdam" } else { "Berlin" }, "state": "", "countryOrRegion": if ip == INCIDENT_IP { "NL" } else { "DE" }},
            "resourceDisplayName": app,
            "riskLevelDuringSignIn": "none",
            "riskState": "none"
        }
    })
}

fn entra_sp_signin(rng: &mut Rng, time: i64) -> Value {
    json!({
        "time": rfc3339(time),
        "resourceId": format!("/tenants/{TENANT}/providers/Microsoft.aadiam"),
        "operationName": "Sign-in activity",
        "category": "ServicePrincipalSignInLogs",
        "tenantId": TENANT,
        "resultType": "0",
        "callerIpAddress": "10.1.0.7",
        "correlationId": rng.uuid(),
        "Level": "4",
        "properties": {
            "id": rng.uuid(),
            "createdDateTime": rfc3339(time),
            "servicePrincipalName": "backup-sync",
            "servicePrincipalId": "3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a98",
            "appId": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "appDisplayName": "backup-sync",
            "ipAddress": "10.1.0.7",
            "status": {"errorCode": 0},
            "resourceDisplayName": "Microsoft Graph"
        }
    })
}

fn entra_directory_audit(
    rng: &mut Rng,
    upn: &str,
    ip: &str,
    time: i64,
    op: &str,
    target: &str,
    role: Option<&str>,
) -> Value {
    let category = if op.contains("role") {
        "RoleManagement"
    } else if op.contains("Consent") {
        "ApplicationManagement"
    } else {
        "UserManagement"
    };
    let mut targets = vec![
        json!({"id": rng.uuid(), "displayName": target.split('@').next(), "type": if op.contains("Consent") { "ServicePrincipal" } else { "User" }, "userPrincipalName": if target.contains('@') { json!(target) } else { Value::Null }, "modifiedProperties": []}),
    ];
    if let Some(role) = role {
        targets.push(json!({"id": "62e90394-69f5-4237-9190-012177145e10", "displayName": role, "type": "Role", "modifiedProperties": [{"displayName": "Role.DisplayName", "oldValue": null, "newValue": format!("\"{role}\"")}]}));
    }
    json!({
        "id": format!("Directory_{}", rng.uuid()),
        "category": category,
        "correlationId": rng.uuid(),
        "result": "success",
        "resultReason": "",
        "activityDisplayName": op,
        "activityDateTime": rfc3339(time),
        "loggedByService": "Core Directory",
        "operationType": if op.starts_with("Add") { "Assign" } else { "Update" },
        "initiatedBy": {"app": null, "user": {"id": rng.uuid_of(upn), "displayName": null, "userPrincipalName": upn, "ipAddress": ip}},
        "targetResources": targets,
        "additionalDetails": []
    })
}

fn azure_activity(
    rng: &mut Rng,
    caller: &str,
    ip: &str,
    time: i64,
    op: &str,
    status: &str,
) -> Value {
    let provider = op.split('/').next().unwrap_or("");
    let resource = format!(
        "/subscriptions/{SUBSCRIPTION}/resourceGroups/shop-prod/providers/{}/{}",
        op.rsplit_once('/').map(|(p, _)| p).unwrap_or(op),
        rng.hex(6)
    );
    json!({
        "time": rfc3339(time),
        "resourceId": resource.to_uppercase(),
        "operationName": op.to_uppercase(),
        "category": "Administrative",
        "resultType": status,
        "resultSignature": "Succeeded.OK",
        "durationMs": rng.below(3000),
        "callerIpAddress": ip,
        "correlationId": rng.uuid(),
        "identity": {"claims": {"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": caller, "ipaddr": ip}, "authorization": {"scope": resource, "action": op, "evidence": {"role": "Owner", "principalType": "User"}}},
        "level": "Information",
        "location": "global",
        "properties": {"eventCategory": "Administrative", "entity": resource, "message": op, "hierarchy": TENANT, "caller": caller},
        "eventDataId": rng.uuid(),
        "subscriptionId": SUBSCRIPTION,
        "resourceProviderName": provider,
        "caller": caller
    })
}

fn gcp_entry(
    rng: &mut Rng,
    principal: &str,
    ip: &str,
    time: i64,
    method: &str,
    code: i64,
) -> Value {
    let (service, log) = if method.starts_with("google.cloud.bigquery") {
        ("bigquery.googleapis.com", "data_access")
    } else if method.starts_with("storage.") {
        ("storage.googleapis.com", "data_access")
    } else if method.starts_with("v1.compute") {
        ("compute.googleapis.com", "data_access")
    } else if method == "SetIamPolicy" {
        ("cloudresourcemanager.googleapis.com", "activity")
    } else {
        ("iam.googleapis.com", "activity")
    };
    let mut payload = json!({
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "status": if code == 0 { json!({}) } else { json!({"code": code, "message": "PERMISSION_DENIED"}) },
        "authenticationInfo": {"principalEmail": principal},
        "requestMetadata": {"callerIp": ip, "callerSuppliedUserAgent": "google-cloud-sdk gcloud/466.0.0,gzip(gfe)"},
        "serviceName": service,
        "methodName": method,
        "authorizationInfo": [{"resource": format!("projects/{PROJECT}"), "permission": "resourcemanager.projects.get", "granted": code == 0}],
        "resourceName": format!("projects/{PROJECT}/datasets/sales/tables/orders_{}", rng.below(20))
    });
    if method == "SetIamPolicy" {
        payload["resourceName"] = json!(format!("projects/{PROJECT}"));
        payload["serviceData"] = json!({"@type": "type.googleapis.com/google.iam.v1.logging.AuditData", "policyDelta": {"bindingDeltas": [{"action": "ADD", "role": "roles/owner", "member": "user:svc-sync@northwind.example"}]}});
    }
    if method.ends_with("CreateServiceAccountKey") {
        payload["resourceName"] = json!(format!(
            "projects/-/serviceAccounts/etl-runner@{PROJECT}.iam.gserviceaccount.com"
        ));
    }
    json!({
        "protoPayload": payload,
        "insertId": rng.hex(12),
        "resource": {"type": "audited_resource", "labels": {"project_id": PROJECT, "service": service, "method": method}},
        "timestamp": rfc3339(time + rng.below(999_999) as i64),
        "severity": if code == 0 { "INFO" } else { "ERROR" },
        "logName": format!("projects/{PROJECT}/logs/cloudaudit.googleapis.com%2F{log}"),
        "receiveTimestamp": rfc3339(time + 800_000)
    })
}

#[allow(clippy::too_many_arguments)]
fn k8s_event(
    rng: &mut Rng,
    user: &str,
    ip: &str,
    time: i64,
    verb: &str,
    resource: &str,
    namespace: &str,
    code: u16,
) -> Value {
    let (resource_name, sub) = resource
        .split_once('/')
        .map_or((resource, None), |(r, s)| (r, Some(s)));
    let name = if verb == "list" {
        Value::Null
    } else {
        json!(format!("{resource_name}-{}", rng.hex(5)))
    };
    let groups = if user.starts_with("system:serviceaccount") {
        json!([
            "system:serviceaccounts",
            "system:serviceaccounts:kube-system",
            "system:authenticated"
        ])
    } else {
        json!(["developers", "system:authenticated"])
    };
    let mut object = json!({"resource": resource_name, "namespace": namespace, "apiVersion": "v1"});
    if let Some(n) = name.as_str() {
        object["name"] = json!(n);
    }
    if let Some(s) = sub {
        object["subresource"] = json!(s);
    }
    if resource_name == "clusterrolebindings" {
        object = json!({"resource": "clusterrolebindings", "name": "ops-admin", "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"});
    }
    let received = time;
    json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": rng.uuid(),
        "stage": "ResponseComplete",
        "requestURI": format!("/api/v1/namespaces/{namespace}/{resource}"),
        "verb": verb,
        "user": {"username": user, "groups": groups},
        "sourceIPs": [ip],
        "userAgent": if user.starts_with("system:") { "kube-controller-manager/v1.29.2 (linux/amd64) kubernetes/4b8e819/system:serviceaccount:kube-system:replicaset-controller" } else { "kubectl/v1.29.2 (darwin/arm64) kubernetes/4b8e819" },
        "objectRef": object,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": rfc3339(received),
        "stageTimestamp": rfc3339(received + 2_345),
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding"}
    })
}

#[allow(clippy::too_many_arguments)]
fn okta_event(
    rng: &mut Rng,
    actor: &str,
    actor_type: &str,
    ip: &str,
    time: i64,
    event_type: &str,
    result: &str,
    reason: Option<&str>,
    target: Option<(&str, &str)>,
) -> Value {
    let targets = match target {
        Some((kind, name)) => {
            json!([{"id": format!("00u{}", rng.hex_of(name, 17)), "type": kind, "alternateId": name, "displayName": name}])
        }
        None => Value::Null,
    };
    json!({
        "actor": {"id": format!("00u{}", rng.hex_of(actor, 17)), "type": actor_type, "alternateId": actor, "displayName": actor.split('@').next(), "detailEntry": null},
        "client": {"userAgent": {"rawUserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15", "os": "Mac OS X", "browser": "SAFARI"}, "zone": "null", "device": "Computer", "id": null, "ipAddress": ip, "geographicalContext": {"city": if ip == INCIDENT_IP { "Amsterdam" } else { "Berlin" }, "state": null, "country": if ip == INCIDENT_IP { "Netherlands" } else { "Germany" }, "postalCode": null, "geolocation": {"lat": 52.37, "lon": 4.89}}},
        "authenticationContext": {"authenticationProvider": null, "credentialProvider": null, "credentialType": null, "issuer": null, "interface": null, "authenticationStep": 0, "externalSessionId": format!("102{}", rng.hex(22))},
        "displayMessage": event_type.replace('.', " "),
        "eventType": event_type,
        "outcome": {"result": result, "reason": reason},
        "published": rfc3339_ms(time),
        "securityContext": {"asNumber": null, "asOrg": null, "isp": null, "domain": null, "isProxy": false},
        "severity": if result == "SUCCESS" { "INFO" } else { "WARN" },
        "debugContext": {"debugData": {"requestId": rng.hex(24), "requestUri": "/api/v1/authn", "url": "/api/v1/authn?"}},
        "legacyEventType": null,
        "transaction": {"type": "WEB", "id": rng.hex(24), "detail": {}},
        "uuid": rng.uuid(),
        "version": "0",
        "request": {"ipChain": [{"ip": ip, "geographicalContext": null, "version": "V4", "source": null}]},
        "target": targets
    })
}

fn github_event(
    rng: &mut Rng,
    actor: &str,
    ip: &str,
    time: i64,
    action: &str,
    repo: &str,
    visibility: Option<&str>,
) -> Value {
    let ms = time / 1000;
    let document_id = rng.hex(22);
    // A GitHub account's id is fixed for the account (drawn as before, so the rest stays).
    rng.below(9000);
    let account_id = 1000 + xxhash_rust::xxh3::xxh3_64(actor.as_bytes()) % 90_000_000;
    let mut event = json!({
        "@timestamp": ms,
        "_document_id": document_id,
        "action": action,
        "actor": actor,
        "actor_id": account_id,
        "actor_location": {"country_code": if ip == INCIDENT_IP { "NL" } else { "US" }},
        "created_at": ms,
        "operation_type": if action.starts_with("git.") { "access" } else { "create" },
        "org": "northwind",
        "org_id": 4242,
        "user_agent": if actor.ends_with("[bot]") { "GitHub-Hookshot/2d4e5f6" } else { "git/2.43.0" }
    });
    if !repo.is_empty() {
        event["repo"] = json!(repo);
    }
    if !ip.is_empty() {
        event["actor_ip"] = json!(ip);
    }
    if let Some(v) = visibility {
        event["visibility"] = json!(v);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let wa = write(Kind::Sample, a.path(), 0, 7).unwrap();
        let wb = write(Kind::Sample, b.path(), 0, 7).unwrap();
        assert_eq!(wa, wb);
        assert!(wa.events > 2000, "{wa:?}");
        let read = |dir: &Path, rel: &str| fs::read(dir.join(rel)).unwrap();
        assert_eq!(
            read(a.path(), "okta/system-log.json"),
            read(b.path(), "okta/system-log.json")
        );
    }

    #[test]
    fn working_hours_follow_the_local_zone() {
        let mut rng = Rng::new(1);
        let chicago = &PEOPLE[0];
        let times = work_times(&mut rng, chicago, 0, 50, 0);
        let tz = jiff::tz::TimeZone::get(chicago.tz).unwrap();
        for t in times {
            let local = jiff::Timestamp::from_microsecond(t)
                .unwrap()
                .to_zoned(tz.clone());
            assert!((8..17).contains(&local.hour()), "{local}");
        }
        assert!(
            work_times(&mut rng, chicago, 5, 5, 0).is_empty(),
            "Saturday"
        );
    }
}
