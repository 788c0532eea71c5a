//! Test-data generator, over 900 lines by design: mostly the month it writes (teams, their
//! routines, the planted incidents and the rule each should trip), which reads best whole.
//!
//! A month of a larger company's audit logs (`synth month`): teams in Chicago, Berlin,
//! Los Angeles, Kolkata and Sydney working their hours (admins doing routine IAM work,
//! occasional late reads and sign-in typos), service identities around the clock, and
//! incidents planted in it, each with the rule that should find it. Used by the detection
//! quality test and the detection benchmark; scales with `events`.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

use crate::time::MINUTE;

mod realism;

use super::{
    ACCOUNT, DAY, HOUR, Person, Rng, SECOND, Written, azure_activity, cloudtrail_ci_event,
    cloudtrail_console_login, cloudtrail_user_event, entra_directory_audit, entra_signin,
    entra_sp_signin, gcp_entry, github_event, k8s_event, okta_event,
};

/// 2024-04-01T00:00:00Z, a Monday.
const START: i64 = 1_711_929_600 * SECOND;
const DAYS: i64 = 30;

/// An incident planted in the month: the rule that should find it, the actor it should
/// name, and the ids of its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planted {
    /// Rule id.
    pub rule: &'static str,
    /// The finding's actor.
    pub actor: String,
    /// What happened.
    pub what: &'static str,
    /// Provider ids of the planted events.
    pub event_ids: Vec<String>,
    /// Words the finding's reason must hold ("" for any): the sub-rule that should fire.
    pub evidence: &'static str,
}

/// What `write_month` wrote and planted.
#[derive(Debug, Clone, Default)]
pub struct MonthTruth {
    /// Events and files.
    pub written: Written,
    /// The planted incidents (one entry per expected finding).
    pub incidents: Vec<Planted>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Work {
    Aws,
    Identity,
    Dev,
    Data,
    Support,
}

struct Team {
    work: Work,
    tz: &'static str,
    hours: (i64, i64),
    net: &'static str,
    agent: &'static str,
    names: [&'static str; 6],
}

const TEAMS: [Team; 5] = [
    Team {
        work: Work::Aws,
        tz: "America/Chicago",
        hours: (8, 17),
        net: "198.51.100",
        agent: "aws-cli/2.15.10 Python/3.11.6 Darwin/23.3.0 exe/x86_64",
        names: ["mallory", "ops", "kim", "li", "sam", "bob"],
    },
    Team {
        work: Work::Identity,
        tz: "Europe/Berlin",
        hours: (8, 16),
        net: "192.0.2",
        agent: "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
        names: ["chen", "dana", "omar", "greta", "jonas", "lena"],
    },
    Team {
        work: Work::Dev,
        tz: "America/Los_Angeles",
        hours: (9, 18),
        net: "198.51.101",
        agent: "kubectl/v1.29.2 (darwin/arm64) kubernetes/4b8e819",
        names: ["erin", "frank", "kate", "raj", "noah", "zoe"],
    },
    Team {
        work: Work::Data,
        tz: "Asia/Kolkata",
        hours: (10, 18),
        net: "192.0.3",
        agent: "google-cloud-sdk gcloud/466.0.0 command/gcloud.projects.get-iam-policy",
        names: ["farah", "gopal", "isha", "arjun", "meera", "dev"],
    },
    Team {
        work: Work::Support,
        tz: "Australia/Sydney",
        hours: (9, 17),
        net: "192.0.4",
        agent: "aws-cli/2.15.10 Python/3.11.6 Linux/6.5 exe/x86_64",
        names: ["liam", "olivia", "jack", "mia", "leo", "ava"],
    },
];

struct Member {
    login: String,
    upn: String,
    team: usize,
    ip: String,
    start: i64,
    admin: bool,
    execs: bool,
}

impl Member {
    fn person(&self) -> Person<'_> {
        let team = &TEAMS[self.team];
        Person {
            login: &self.login,
            upn: &self.upn,
            tz: team.tz,
            hours: (self.start, self.start + team.hours.1 - team.hours.0),
            ip: &self.ip,
            agent: team.agent,
        }
    }
}

/// Events of one day, per output stream.
#[derive(Default)]
struct Day {
    aws: Vec<(i64, Value)>,
    signins: Vec<(i64, Value)>,
    audits: Vec<(i64, Value)>,
    activity: Vec<(i64, Value)>,
    gcp: Vec<(i64, Value)>,
    k8s: Vec<(i64, Value)>,
    okta: Vec<(i64, Value)>,
    github: Vec<(i64, Value)>,
}

/// The provider id of a generated record.
fn id_of(v: &Value) -> String {
    for key in [
        "eventID",
        "uuid",
        "auditID",
        "insertId",
        "_document_id",
        "eventDataId",
    ] {
        if let Some(id) = v.get(key).and_then(Value::as_str) {
            return id.to_string();
        }
    }
    if v.get("category").and_then(Value::as_str) == Some("SignInLogs") {
        return v["properties"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    }
    v.get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// UTC µs of a local wall-clock time on day `day` of the month.
fn local(tz: &str, day: i64, hour: i64, minute: i64) -> i64 {
    let Ok(zone) = jiff::tz::TimeZone::get(tz) else {
        return START + day * DAY + hour * HOUR;
    };
    let Ok(ts) = jiff::Timestamp::from_microsecond(START + day * DAY) else {
        return START;
    };
    let date = ts.to_zoned(jiff::tz::TimeZone::UTC).date();
    date.at(hour as i8, minute as i8, 0, 0)
        .to_zoned(zone)
        .map(|z| z.timestamp().as_microsecond())
        .unwrap_or(START + day * DAY)
}

/// Whether local day `day` is a weekday in the member's zone.
fn workday(day: i64) -> bool {
    !matches!((day + START / DAY + 3).rem_euclid(7), 5 | 6)
}

/// Working-hour instants of a member on a day.
fn work(rng: &mut Rng, m: &Member, day: i64, n: usize) -> Vec<i64> {
    let span = (TEAMS[m.team].hours.1 - TEAMS[m.team].hours.0) * HOUR;
    let start = local(TEAMS[m.team].tz, day, m.start, 0);
    let mut times: Vec<i64> = (0..n)
        .map(|_| start + rng.below(span as u64) as i64)
        .collect();
    times.sort_unstable();
    times
}

const ROUTINE_IAM: [(&str, &str); 6] = [
    (
        "AttachRolePolicy",
        r#"{"roleName":"shop-app","policyArn":"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}"#,
    ),
    (
        "DetachRolePolicy",
        r#"{"roleName":"shop-app","policyArn":"arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"}"#,
    ),
    ("CreateRole", r#"{"roleName":"batch-worker"}"#),
    (
        "AddUserToGroup",
        r#"{"userName":"new-hire","groupName":"developers"}"#,
    ),
    ("CreateUser", r#"{"userName":"new-hire"}"#),
    ("CreatePolicy", r#"{"policyName":"reports-read"}"#),
];

const READS: [(&str, &str); 6] = [
    ("DescribeInstances", "ec2"),
    ("ListBuckets", "s3"),
    ("GetObject", "s3"),
    ("DescribeDBInstances", "rds"),
    ("ListUsers", "iam"),
    ("GetCallerIdentity", "sts"),
];

/// Writes the month under `out` and returns what was planted.
pub fn write_month(out: &Path, events: usize, seed: u64) -> io::Result<MonthTruth> {
    let mut rng = Rng::new(seed ^ 0x006d_6f6e_7468);
    // About 340 events per person-month and 15,000 service events a month.
    let per_team = ((events.saturating_sub(15_000)) / 340 / TEAMS.len()).max(6);
    let mut members = Vec::new();
    for (t, team) in TEAMS.iter().enumerate() {
        for i in 0..per_team {
            let base = team.names[i % 6];
            let login = if i < 6 {
                base.to_string()
            } else {
                format!("{base}{}", i / 6)
            };
            members.push(Member {
                upn: format!("{login}@northwind.example"),
                login,
                team: t,
                ip: format!(
                    "{}.{}",
                    if i < 250 {
                        team.net.to_string()
                    } else {
                        format!("10.{t}.{}", i / 250)
                    },
                    10 + i % 240
                ),
                start: team.hours.0 + (i as i64 % 3) - 1,
                admin: i % 3 == 0 || i < 4,
                execs: i % 3 == 1,
            });
        }
    }
    for dir in [
        "aws",
        "entra",
        "azure",
        "gcp",
        "kubernetes",
        "okta",
        "github",
    ] {
        fs::create_dir_all(out.join(dir))?;
    }
    let open = |rel: &str| -> io::Result<BufWriter<File>> {
        Ok(BufWriter::with_capacity(
            1 << 20,
            File::create(out.join(rel))?,
        ))
    };
    let mut files = [
        open("entra/signins.ndjson")?,
        open("entra/directory-audits.ndjson")?,
        open("azure/activity.ndjson")?,
        open("gcp/audit.ndjson")?,
        open("kubernetes/audit.log")?,
        open("okta/system-log.ndjson")?,
        open("github/audit.ndjson")?,
    ];
    let mut truth = MonthTruth::default();
    truth.written.files = files.len();
    // The realism has its own generator, so the routines and incidents stay as they were.
    let mut real_rng = Rng::new(seed ^ 0x7265_616c);
    let mut graph_signins = Vec::new();
    for day in 0..DAYS {
        let mut d = Day::default();
        routine(&mut rng, day, &members, &mut d);
        // Before the incidents, which silence streams for hours.
        realism::realism(&mut real_rng, day, &members, &mut d, &mut graph_signins);
        plant(&mut rng, day, &members, &mut d, &mut truth.incidents);
        let streams = [
            d.signins, d.audits, d.activity, d.gcp, d.k8s, d.okta, d.github,
        ];
        for (file, mut stream) in files.iter_mut().zip(streams) {
            stream.sort_by_key(|(t, _)| *t);
            for (_, v) in &stream {
                serde_json::to_writer(&mut *file, v)?;
                file.write_all(b"\n")?;
            }
            truth.written.events += stream.len();
        }
        d.aws.sort_by_key(|(t, _)| *t);
        let date = jiff::Timestamp::from_microsecond(START + day * DAY)
            .map(|t| t.strftime("%Y%m%dT0000Z").to_string())
            .unwrap_or_default();
        let name = format!(
            "aws/{ACCOUNT}_CloudTrail_us-east-1_{date}_{}.json.gz",
            rng.hex(16)
        );
        let records: Vec<&Value> = d.aws.iter().map(|(_, v)| v).collect();
        let mut gz = GzEncoder::new(
            BufWriter::new(File::create(out.join(name))?),
            Compression::fast(),
        );
        serde_json::to_writer(&mut gz, &json!({ "Records": records }))?;
        gz.finish()?.flush()?;
        truth.written.events += records.len();
        truth.written.files += 1;
    }
    for f in &mut files {
        f.flush()?;
    }
    // Interactive sign-ins of one team as Microsoft Graph returns them (`auditLogs/signIns`).
    truth.written.events += graph_signins.len();
    truth.written.files += 1;
    let mut graph = open("entra/signins-graph.json")?;
    serde_json::to_writer(
        &mut graph,
        &json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
            "value": graph_signins,
        }),
    )?;
    graph.flush()?;
    Ok(truth)
}

fn routine(rng: &mut Rng, day: i64, members: &[Member], d: &mut Day) {
    let day_start = START + day * DAY;
    if workday(day) {
        for m in members {
            let p = m.person();
            // Sign-ins (a typo now and then) through Entra and Okta.
            for t in {
                let n = 1 + rng.below(2) as usize;
                work(rng, m, day, n)
            } {
                if rng.chance(0.04) {
                    d.signins.push((
                        t - 40 * SECOND,
                        entra_signin(
                            rng,
                            &m.upn,
                            &m.ip,
                            t - 40 * SECOND,
                            50126,
                            "Office 365 Exchange Online",
                        ),
                    ));
                    d.okta.push((
                        t - 30 * SECOND,
                        okta_event(
                            rng,
                            &m.upn,
                            "User",
                            &m.ip,
                            t - 30 * SECOND,
                            "user.session.start",
                            "FAILURE",
                            Some("INVALID_CREDENTIALS"),
                            None,
                        ),
                    ));
                }
                d.signins.push((
                    t,
                    entra_signin(rng, &m.upn, &m.ip, t, 0, "Office 365 Exchange Online"),
                ));
                let session = okta_event(
                    rng,
                    &m.upn,
                    "User",
                    &m.ip,
                    t + 5 * SECOND,
                    "user.session.start",
                    "SUCCESS",
                    None,
                    None,
                );
                d.okta.push((
                    t + 7 * SECOND,
                    okta_mfa(rng, &session, &m.upn, &m.ip, t + 7 * SECOND),
                ));
                d.okta.push((t + 5 * SECOND, session));
                d.okta.push((
                    t + 9 * SECOND,
                    okta_event(
                        rng,
                        &m.upn,
                        "User",
                        &m.ip,
                        t + 9 * SECOND,
                        "user.authentication.sso",
                        "SUCCESS",
                        None,
                        Some(("AppInstance", "Slack")),
                    ),
                ));
            }
            match TEAMS[m.team].work {
                Work::Aws | Work::Support => {
                    let times = {
                        let n = 10 + rng.below(8) as usize;
                        work(rng, m, day, n)
                    };
                    if let Some(first) = times.first() {
                        d.aws.push((
                            *first - MINUTE,
                            cloudtrail_console_login(rng, &p, *first - MINUTE, true),
                        ));
                    }
                    for t in times {
                        let (name, source) = *rng.pick(&READS);
                        d.aws.push((
                            t,
                            cloudtrail_user_event(
                                rng,
                                &p,
                                t,
                                name,
                                source,
                                if name == "GetObject" { "object" } else { "" },
                            ),
                        ));
                    }
                    if m.admin && TEAMS[m.team].work == Work::Aws && rng.chance(0.5) {
                        for t in {
                            let n = 1 + rng.below(2) as usize;
                            work(rng, m, day, n)
                        } {
                            let (name, params) = *rng.pick(&ROUTINE_IAM);
                            let mut e = cloudtrail_user_event(rng, &p, t, name, "iam", "");
                            e["requestParameters"] =
                                serde_json::from_str(params).unwrap_or(Value::Null);
                            d.aws.push((t, e));
                        }
                    }
                    // Routine key rotation: a new key for oneself, the old one deleted.
                    if m.admin && TEAMS[m.team].work == Work::Aws && side_rng(day, m).chance(0.04) {
                        let rng = &mut side_rng(day, m);
                        let t = work(rng, m, day, 1)[0];
                        let mut create =
                            cloudtrail_user_event(rng, &p, t, "CreateAccessKey", "iam", "");
                        create["requestParameters"] = json!({});
                        let mut delete = cloudtrail_user_event(
                            rng,
                            &p,
                            t + 3 * MINUTE,
                            "DeleteAccessKey",
                            "iam",
                            "",
                        );
                        delete["requestParameters"] =
                            json!({"accessKeyId": format!("AKIA{}", rng.hex(16).to_uppercase())});
                        d.aws.push((t, clean(create)));
                        d.aws.push((t + 3 * MINUTE, clean(delete)));
                    }
                    if TEAMS[m.team].work == Work::Aws {
                        for t in {
                            let n = 1 + rng.below(3) as usize;
                            work(rng, m, day, n)
                        } {
                            let op = *rng.pick(&[
                                "Microsoft.Compute/virtualMachines/write",
                                "Microsoft.Storage/storageAccounts/write",
                                "Microsoft.Network/networkSecurityGroups/read",
                                "Microsoft.Web/sites/restart/action",
                            ]);
                            d.activity
                                .push((t, azure_activity(rng, &m.upn, &m.ip, t, op, "Success")));
                        }
                    }
                }
                Work::Identity => {
                    if m.admin {
                        for t in {
                            let n = 2 + rng.below(4) as usize;
                            work(rng, m, day, n)
                        } {
                            let op = *rng.pick(&[
                                "Update user",
                                "Add member to group",
                                "Update group",
                                "Reset user password",
                            ]);
                            let target = &members[rng.below(members.len() as u64) as usize].upn;
                            d.audits.push((
                                t,
                                entra_directory_audit(rng, &m.upn, &m.ip, t, op, target, None),
                            ));
                        }
                    }
                    // Now and then an admin activates a PIM role and deactivates it when done
                    // (the paired grant and end that jit-grant-not-revoked-or-overused expects).
                    if m.admin && side_rng(day, m).chance(0.2) {
                        let rng = &mut side_rng(day, m);
                        let t = work(rng, m, day, 1)[0];
                        let end = t + (30 + rng.below(150) as i64) * MINUTE;
                        for (at, op) in [
                            (t, "Add member to role completed (PIM activation)"),
                            (end, "Remove member from role completed (PIM deactivate)"),
                        ] {
                            d.audits.push((
                                at,
                                entra_directory_audit(
                                    rng,
                                    &m.upn,
                                    &m.ip,
                                    at,
                                    op,
                                    &m.upn,
                                    Some("Reports Reader"),
                                ),
                            ));
                        }
                    }
                    for t in {
                        let n = 2 + rng.below(3) as usize;
                        work(rng, m, day, n)
                    } {
                        d.okta.push((
                            t,
                            okta_event(
                                rng,
                                &m.upn,
                                "User",
                                &m.ip,
                                t,
                                "user.authentication.sso",
                                "SUCCESS",
                                None,
                                Some(("AppInstance", "Workday")),
                            ),
                        ));
                    }
                }
                Work::Dev => {
                    let user = format!("{}@northwind.example", m.login);
                    for t in {
                        let n = 8 + rng.below(8) as usize;
                        work(rng, m, day, n)
                    } {
                        let (verb, resource) = *rng.pick(&[
                            ("get", "pods"),
                            ("list", "pods"),
                            ("get", "deployments"),
                            ("patch", "deployments"),
                            ("get", "pods/log"),
                        ]);
                        d.k8s.push((
                            t,
                            k8s_event(rng, &user, &m.ip, t, verb, resource, "shop", 200),
                        ));
                    }
                    if m.execs && rng.chance(0.6) {
                        let t = work(rng, m, day, 1)[0];
                        d.k8s.push((
                            t,
                            k8s_event(rng, &user, &m.ip, t, "create", "pods/exec", "shop", 101),
                        ));
                    }
                    for t in {
                        let n = 3 + rng.below(4) as usize;
                        work(rng, m, day, n)
                    } {
                        let action = *rng.pick(&[
                            "git.clone",
                            "git.push",
                            "pull_request.create",
                            "pull_request.merge",
                            "repo.download_zip",
                        ]);
                        d.github.push((
                            t,
                            github_event(rng, &m.login, &m.ip, t, action, "northwind/shop", None),
                        ));
                    }
                }
                Work::Data => {
                    for t in {
                        let n = 6 + rng.below(6) as usize;
                        work(rng, m, day, n)
                    } {
                        let method = *rng.pick(&[
                            "google.cloud.bigquery.v2.JobService.InsertJob",
                            "storage.objects.get",
                            "google.cloud.bigquery.v2.TableService.GetTable",
                            "v1.compute.instances.list",
                        ]);
                        d.gcp.push((t, gcp_entry(rng, &m.upn, &m.ip, t, method, 0)));
                    }
                }
            }
            // Now and then someone reads a little in the evening.
            if rng.chance(0.03) && matches!(TEAMS[m.team].work, Work::Aws | Work::Support) {
                let t = local(TEAMS[m.team].tz, day, m.start + 11, rng.below(50) as i64);
                d.aws.push((
                    t,
                    cloudtrail_user_event(rng, &p, t, "DescribeInstances", "ec2", ""),
                ));
            }
        }
    }
    // Service identities around the clock.
    let pipelines = 1 + members.len() / 60;
    for pipeline in 0..pipelines {
        for slot in 0..12 {
            let t = day_start
                + slot * 2 * HOUR
                + rng.below(600) as i64 * SECOND
                + pipeline as i64 * 7 * MINUTE;
            let run =
                1_000_000 + (day as u64 * pipelines as u64 + pipeline as u64) * 12 + slot as u64;
            for (i, name) in ["AssumeRole", "DescribeStacks", "UpdateStack", "PutObject"]
                .iter()
                .enumerate()
            {
                let at = t + i as i64 * 20 * SECOND;
                d.aws.push((at, cloudtrail_ci_event(rng, at, name, run)));
            }
            d.k8s.push((
                t + MINUTE,
                k8s_event(
                    rng,
                    "system:serviceaccount:ci:deployer",
                    "10.0.0.9",
                    t + MINUTE,
                    "get",
                    "secrets",
                    "shop",
                    200,
                ),
            ));
            d.k8s.push((
                t + 2 * MINUTE,
                k8s_event(
                    rng,
                    "system:serviceaccount:ci:deployer",
                    "10.0.0.9",
                    t + 2 * MINUTE,
                    "patch",
                    "deployments",
                    "shop",
                    200,
                ),
            ));
            d.github.push((
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
            ));
        }
    }
    for hour in 0..24 {
        let t = day_start + hour * HOUR + 5 * MINUTE;
        d.signins.push((t, entra_sp_signin(rng, t)));
    }
    for slot in 0..48 {
        let t = day_start + slot * 30 * MINUTE + rng.below(60) as i64 * SECOND;
        d.gcp.push((
            t,
            gcp_entry(
                rng,
                "etl-runner@northwind-data.iam.gserviceaccount.com",
                "10.20.0.5",
                t,
                "storage.objects.create",
                0,
            ),
        ));
    }
    for slot in 0..144 {
        let t = day_start + slot * 10 * MINUTE + rng.below(300) as i64 * SECOND;
        d.k8s.push((
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
        ));
    }
    let nightly = day_start + 2 * HOUR + rng.below(1800) as i64 * SECOND;
    d.activity.push((
        nightly,
        azure_activity(
            rng,
            "d7c1a5f0-policy-engine",
            "",
            nightly,
            "Microsoft.PolicyInsights/policyStates/triggerEvaluation/action",
            "Success",
        ),
    ));
    // The reporting exporter works every hour in the first week only.
    if day < 5 {
        let exporter = Person {
            login: "reporting-exporter",
            upn: "reporting-exporter",
            tz: "UTC",
            hours: (0, 24),
            ip: "10.30.0.4",
            agent: "aws-sdk-go/1.50.0 (go1.21.6; linux; amd64)",
        };
        for hour in 0..24 {
            let t = day_start + hour * HOUR + 10 * MINUTE;
            d.aws.push((
                t,
                clean(cloudtrail_user_event(
                    rng,
                    &exporter,
                    t,
                    "GetObject",
                    "s3",
                    "object",
                )),
            ));
        }
    }
}

/// The MFA verification of an Okta session (same `externalSessionId`).
fn okta_mfa(rng: &mut Rng, session: &Value, upn: &str, ip: &str, t: i64) -> Value {
    let mut e = okta_event(
        rng,
        upn,
        "User",
        ip,
        t,
        "user.authentication.auth_via_mfa",
        "SUCCESS",
        None,
        None,
    );
    e["authenticationContext"] = session["authenticationContext"].clone();
    e["authenticationContext"]["authenticationProvider"] = json!("FACTOR_PROVIDER");
    e
}

/// A record without the random AccessDenied the routine generator adds.
fn clean(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.remove("errorCode");
        o.remove("errorMessage");
    }
    v
}

/// A generator of its own for activity added after the month's first incidents, so the
/// events drawn from the shared generator (and what they plant) stay as they were.
fn side_rng(day: i64, m: &Member) -> Rng {
    let seed = m.upn.bytes().fold(day as u64, |h, b| {
        h.wrapping_mul(131).wrapping_add(u64::from(b))
    });
    Rng::new(seed ^ 0x6c69_6665_6379)
}

fn find(members: &[Member], team: usize, nth: usize) -> &Member {
    members
        .iter()
        .filter(|m| m.team == team)
        .nth(nth)
        .unwrap_or(&members[0])
}

fn arn(login: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{login}")
}

fn plant(rng: &mut Rng, day: i64, members: &[Member], d: &mut Day, out: &mut Vec<Planted>) {
    let mut record = |rule: &'static str, actor: String, what: &'static str, events: &[&Value]| {
        out.push(Planted {
            rule,
            actor,
            what,
            event_ids: events.iter().map(|v| id_of(v)).collect(),
            evidence: "",
        });
    };
    match day {
        9 => {
            // Password spray from one address at night, then one sprayed user signs in.
            let ip = "203.0.113.77";
            let t0 = START + day * DAY + 2 * HOUR + 10 * MINUTE;
            let mut sprayed = Vec::new();
            let victim = find(members, 1, 2);
            let targets = std::iter::once(victim).chain(
                members
                    .iter()
                    .step_by((members.len() / 13).max(1))
                    .filter(|m| m.login != victim.login)
                    .take(13),
            );
            for (i, m) in targets.enumerate() {
                let t = t0 + i as i64 * 2 * MINUTE;
                sprayed.push((t, entra_signin(rng, &m.upn, ip, t, 50126, "Azure Portal")));
            }
            let t = t0 + 40 * MINUTE;
            let success = entra_signin(rng, &victim.upn, ip, t, 0, "Azure Portal");
            let refs: Vec<&Value> = sprayed.iter().map(|(_, v)| v).collect();
            record(
                "password-spray",
                ip.to_string(),
                "password spray against 14 users",
                &refs,
            );
            let mine: Vec<&Value> = sprayed
                .iter()
                .filter(|(_, v)| v["properties"]["userPrincipalName"] == json!(victim.upn))
                .map(|(_, v)| v)
                .chain([&success])
                .collect();
            record(
                "signin-success-after-failures",
                victim.upn.clone(),
                "sprayed user signs in from the spraying address",
                &mine,
            );
            d.signins.extend(sprayed);
            d.signins.push((t, success));
        }
        10 => {
            let m = find(members, 1, 4);
            let t = local(TEAMS[1].tz, day, 11, 20);
            let mut e = entra_directory_audit(
                rng,
                &m.upn,
                &m.ip,
                t,
                "Consent to application",
                "MailSync Pro",
                None,
            );
            e["targetResources"][0]["modifiedProperties"] = json!([
                {"displayName": "ConsentContext.IsAdminConsent", "oldValue": null, "newValue": "\"True\""},
                {"displayName": "ConsentAction.Permissions", "oldValue": null, "newValue": "\"[] => [[Id: x, ConsentType: AllPrincipals, Scope:  Mail.Read offline_access, CreatedDateTime: ]]; \""}
            ]);
            record(
                "oauth-consent-high-privilege",
                m.upn.clone(),
                "admin consent to a mail-reading app",
                &[&e],
            );
            d.audits.push((t, e));
        }
        11 => {
            let m = find(members, 0, 2);
            let t = local(TEAMS[0].tz, day, 10, 5);
            let mut e = clean(cloudtrail_user_event(
                rng,
                &m.person(),
                t,
                "CreateAccessKey",
                "iam",
                "",
            ));
            e["requestParameters"] = json!({"userName": "svc-legacy"});
            e["responseElements"] = json!({"accessKey": {"userName": "svc-legacy", "accessKeyId": "AKIAEXAMPLELEGACY01", "status": "Active"}});
            record(
                "credential-created-for-other-identity",
                arn(&m.login),
                "access key created for another user",
                &[&e],
            );
            d.aws.push((t, e));
        }
        12 => {
            let m = find(members, 2, 1);
            let t = local(TEAMS[2].tz, day, 22, 30);
            let user = format!("{}@northwind.example", m.login);
            let mut e = k8s_event(
                rng,
                &user,
                &m.ip,
                t,
                "create",
                "clusterrolebindings",
                "",
                201,
            );
            e["level"] = json!("RequestResponse");
            e["objectRef"] = json!({"resource": "clusterrolebindings", "name": "tmp-admin", "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"});
            e["requestObject"] = json!({"kind": "ClusterRoleBinding", "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": {"name": "tmp-admin"}, "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}, "subjects": [{"kind": "User", "name": user}]});
            record(
                "k8s-privileged-rbac-binding",
                user.clone(),
                "cluster-admin bound to oneself at night",
                &[&e],
            );
            d.k8s.push((t, e));
        }
        14 => {
            let m = find(members, 1, 0);
            let t = local(TEAMS[1].tz, day, 14, 10);
            let e = entra_directory_audit(
                rng,
                &m.upn,
                &m.ip,
                t,
                "Add member to role",
                "helpdesk-temp@northwind.example",
                Some("Global Administrator"),
            );
            record(
                "privileged-role-assigned",
                m.upn.clone(),
                "Global Administrator granted",
                &[&e],
            );
            d.audits.push((t, e));
        }
        15 => {
            let m = find(members, 2, 2);
            let t0 = local(TEAMS[2].tz, day, 6, 0);
            let mut burst = Vec::new();
            for i in 0..25 {
                let t = t0 + i * 19 * SECOND;
                let ip = if i % 2 == 0 {
                    "203.0.113.88"
                } else {
                    "203.0.113.89"
                };
                burst.push((
                    t,
                    okta_event(
                        rng,
                        &m.upn,
                        "User",
                        ip,
                        t,
                        "user.session.start",
                        "FAILURE",
                        Some("INVALID_CREDENTIALS"),
                        None,
                    ),
                ));
            }
            let refs: Vec<&Value> = burst.iter().map(|(_, v)| v).collect();
            record(
                "signin-failure-burst",
                m.upn.clone(),
                "25 failed Okta sign-ins in 8 minutes",
                &refs,
            );
            d.okta.extend(burst);
        }
        16 => {
            let m = find(members, 1, 3);
            let t = local(TEAMS[1].tz, day, 9, 0);
            let home = okta_event(
                rng,
                &m.upn,
                "User",
                &m.ip,
                t,
                "user.session.start",
                "SUCCESS",
                None,
                None,
            );
            let mut away = okta_event(
                rng,
                &m.upn,
                "User",
                "203.0.113.120",
                t + 40 * MINUTE,
                "user.session.start",
                "SUCCESS",
                None,
                None,
            );
            away["client"]["geographicalContext"] = json!({"city": "Dallas", "state": "Texas", "country": "United States", "postalCode": null, "geolocation": {"lat": 32.78, "lon": -96.8}});
            record(
                "impossible-travel",
                m.upn.clone(),
                "Okta sign-ins from Germany and the United States 40 minutes apart",
                &[&home, &away],
            );
            d.okta.push((t, home));
            d.okta.push((t + 40 * MINUTE, away));
        }
        17 => {
            let m = find(members, 0, 1);
            let t = local(TEAMS[0].tz, day, 14, 0);
            let mut e = clean(cloudtrail_user_event(
                rng,
                &m.person(),
                t,
                "StopLogging",
                "cloudtrail",
                "trail",
            ));
            e["requestParameters"] =
                json!({"name": format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/org-trail")});
            record(
                "audit-log-tampering",
                arn(&m.login),
                "CloudTrail logging stopped",
                &[&e],
            );
            d.aws.push((t, e));
        }
        18 => {
            let m = find(members, 1, 1);
            let victim = find(members, 2, 0);
            let t = local(TEAMS[1].tz, day, 10, 30);
            let e = okta_event(
                rng,
                &m.upn,
                "User",
                &m.ip,
                t,
                "user.mfa.factor.deactivate",
                "SUCCESS",
                None,
                Some(("User", &victim.upn)),
            );
            record(
                "mfa-or-conditional-access-weakened",
                m.upn.clone(),
                "another user's MFA factor removed",
                &[&e],
            );
            d.okta.push((t, e));
        }
        19 => {
            let sa = "etl-runner@northwind-data.iam.gserviceaccount.com";
            let t = START + day * DAY + 3 * HOUR + 7 * MINUTE;
            let mut events = Vec::new();
            for (i, method) in [
                "google.iam.admin.v1.CreateServiceAccountKey",
                "SetIamPolicy",
            ]
            .iter()
            .enumerate()
            {
                let at = t + i as i64 * 40 * SECOND;
                let mut e = gcp_entry(rng, sa, "203.0.113.99", at, method, 0);
                e["protoPayload"]["requestMetadata"]["callerSuppliedUserAgent"] =
                    json!("curl/8.5.0");
                events.push((at, e));
            }
            let refs: Vec<&Value> = events.iter().map(|(_, v)| v).collect();
            record(
                "non-human-identity-anomaly",
                sa.to_string(),
                "ETL service account used from a new network and client",
                &refs,
            );
            d.gcp.extend(events);
        }
        20 => {
            // Sunday 23:40 in Chicago: mallory attaches PowerUserAccess to herself.
            let m = find(members, 0, 0);
            let t = local(TEAMS[0].tz, day, 23, 40);
            let mut e = clean(cloudtrail_user_event(
                rng,
                &m.person(),
                t,
                "AttachUserPolicy",
                "iam",
                "",
            ));
            e["requestParameters"] = json!({"userName": m.login, "policyArn": "arn:aws:iam::aws:policy/PowerUserAccess"});
            record(
                "off-hours-privileged-action",
                arn(&m.login),
                "admin policy attached on Sunday night",
                &[&e],
            );
            record(
                "aws-admin-policy-attached",
                arn(&m.login),
                "PowerUserAccess attached to oneself",
                &[&e],
            );
            d.aws.push((t, e));
        }
        21 => {
            let m = find(members, 0, 3);
            let t = local(TEAMS[0].tz, day, 11, 0);
            let attacker = Person {
                ip: "203.0.113.45",
                agent: "python-requests/2.31.0",
                ..m.person()
            };
            let mut e = clean(cloudtrail_user_event(
                rng,
                &attacker,
                t,
                "AttachRolePolicy",
                "iam",
                "",
            ));
            e["requestParameters"] = json!({"roleName": "shop-app", "policyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"});
            record(
                "first-seen-source-for-privileged-action",
                arn(&m.login),
                "policy attached from a new network and client",
                &[&e],
            );
            d.aws.push((t, e));
        }
        22 => {
            let m = find(members, 0, 4);
            let t0 = local(TEAMS[0].tz, day, 10, 30);
            let mut events = Vec::new();
            for i in 0..25 {
                let t = t0 + i * 19 * SECOND;
                events.push((
                    t,
                    clean(cloudtrail_user_event(
                        rng,
                        &m.person(),
                        t,
                        "TerminateInstances",
                        "ec2",
                        "instance",
                    )),
                ));
            }
            let refs: Vec<&Value> = events.iter().map(|(_, v)| v).collect();
            record(
                "mass-destruction",
                arn(&m.login),
                "25 instances terminated in 8 minutes",
                &refs,
            );
            d.aws.extend(events);
        }
        23 => {
            let m = find(members, 2, 3);
            let user = format!("{}@northwind.example", m.login);
            let t = START + day * DAY + 3 * HOUR;
            let mut e = k8s_event(rng, &user, &m.ip, t, "list", "secrets", "", 200);
            e["objectRef"] = json!({"resource": "secrets", "apiVersion": "v1"});
            e["requestURI"] = json!("/api/v1/secrets?limit=500");
            record(
                "k8s-secret-access",
                user,
                "secrets of all namespaces listed",
                &[&e],
            );
            d.k8s.push((t, e));
        }
        24 => {
            let exporter = Person {
                login: "reporting-exporter",
                upn: "reporting-exporter",
                tz: "UTC",
                hours: (0, 24),
                ip: "10.30.0.4",
                agent: "aws-sdk-go/1.50.0 (go1.21.6; linux; amd64)",
            };
            let t = START + day * DAY + 2 * HOUR + 10 * MINUTE;
            let mut events = vec![(
                t,
                clean(cloudtrail_user_event(
                    rng,
                    &exporter,
                    t,
                    "CreateAccessKey",
                    "iam",
                    "",
                )),
            )];
            for i in 1..4 {
                let at = t + i * MINUTE;
                events.push((
                    at,
                    clean(cloudtrail_user_event(
                        rng,
                        &exporter,
                        at,
                        "GetObject",
                        "s3",
                        "object",
                    )),
                ));
            }
            let refs: Vec<&Value> = events.iter().map(|(_, v)| v).collect();
            record(
                "dormant-identity-reactivated",
                arn("reporting-exporter"),
                "identity idle for 19 days returns and creates a key",
                &refs,
            );
            d.aws.extend(events);
        }
        13 => {
            let rng = &mut Rng::new(0x6c69_6665_6379 + day as u64);
            // An admin activates Exchange Administrator in PIM and it is never removed.
            let m = find(members, 1, 5);
            let t = local(TEAMS[1].tz, day, 10, 0);
            let e = entra_directory_audit(
                rng,
                &m.upn,
                &m.ip,
                t,
                "Add member to role completed (PIM activation)",
                &m.upn,
                Some("Exchange Administrator"),
            );
            record(
                "jit-grant-not-revoked-or-overused",
                m.upn.clone(),
                "PIM activation never removed",
                &[&e],
            );
            d.audits.push((t, e));
        }
        25 => {
            // An Okta session without MFA, in an org where every other session has it.
            let m = find(members, 1, 5);
            let t = local(TEAMS[1].tz, day, 9, 40);
            let e = okta_event(
                rng,
                &m.upn,
                "User",
                "203.0.113.130",
                t,
                "user.session.start",
                "SUCCESS",
                None,
                None,
            );
            record(
                "console-signin-without-mfa",
                m.upn.clone(),
                "Okta session started without MFA",
                &[&e],
            );
            d.okta.push((t, e));
            {
                let rng = &mut Rng::new(0x6c69_6665_6379 + day as u64);
                // The backup app's secret expired; someone new to it adds a credential at night.
                let t0 = START + day * DAY + 3 * HOUR;
                let mut events = Vec::new();
                for i in 0..8 {
                    let t = t0 + i * 5 * MINUTE;
                    let mut e = entra_sp_signin(rng, t);
                    e["resultType"] = json!("7000222");
                    e["properties"]["status"] = json!({"errorCode": 7000222, "failureReason": "The provided client secret keys for app are expired."});
                    events.push((t, e));
                }
                let m = find(members, 1, 2);
                let t = t0 + 50 * MINUTE;
                let mut fix = entra_directory_audit(
                    rng,
                    &m.upn,
                    &m.ip,
                    t,
                    "Add service principal credentials",
                    "backup-sync",
                    None,
                );
                fix["targetResources"][0]["type"] = json!("ServicePrincipal");
                let mut refs: Vec<&Value> = events.iter().map(|(_, v)| v).collect();
                refs.push(&fix);
                record(
                    "nhi-secret-hygiene",
                    "backup-sync".to_string(),
                    "expired client secret, then a credential from someone new to the app",
                    &refs,
                );
                d.signins.extend(events);
                d.audits.push((t, fix));
            }
        }
        26 => {
            // The Kubernetes audit log goes silent from 02:00 to 08:00 UTC (a Saturday).
            let (cut, back) = (START + day * DAY + 2 * HOUR, START + day * DAY + 8 * HOUR);
            d.k8s.retain(|(t, _)| *t < cut || *t >= back);
            let before = d
                .k8s
                .iter()
                .filter(|(t, _)| *t < cut)
                .max_by_key(|(t, _)| *t);
            let after = d
                .k8s
                .iter()
                .filter(|(t, _)| *t >= back)
                .min_by_key(|(t, _)| *t);
            if let (Some((_, b)), Some((_, a))) = (before, after) {
                record(
                    "log-integrity-gap",
                    "kubernetes/audit".to_string(),
                    "Kubernetes audit log silent for six hours",
                    &[b, a],
                );
            }
            {
                let rng = &mut Rng::new(0x6c69_6665_6379 + day as u64);
                // AdministratorAccess attached to a service role and never detached.
                let m = find(members, 0, 5);
                let t = local(TEAMS[0].tz, day, 11, 30);
                let mut e = clean(cloudtrail_user_event(
                    rng,
                    &m.person(),
                    t,
                    "AttachRolePolicy",
                    "iam",
                    "",
                ));
                e["requestParameters"] = json!({"roleName": "etl-loader", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"});
                record(
                    "permission-creep",
                    "etl-loader".to_string(),
                    "AdministratorAccess held by a service role",
                    &[&e],
                );
                d.aws.push((t, e));
            }
        }
        27 => {
            // A developer reads 12 different secrets in four minutes.
            let m = find(members, 2, 4);
            let user = format!("{}@northwind.example", m.login);
            let t0 = local(TEAMS[2].tz, day, 14, 0);
            let mut reads = Vec::new();
            for i in 0..12 {
                let t = t0 + i * 20 * SECOND;
                reads.push((
                    t,
                    k8s_event(rng, &user, &m.ip, t, "get", "secrets", "payments", 200),
                ));
            }
            let refs: Vec<&Value> = reads.iter().map(|(_, v)| v).collect();
            record(
                "k8s-secret-access",
                user,
                "12 distinct secrets read in 4 minutes",
                &refs,
            );
            d.k8s.extend(reads);
        }
        28 => {
            // A developer creates a ClusterRole that grants exec into pods.
            let m = find(members, 2, 5);
            let user = format!("{}@northwind.example", m.login);
            let t = local(TEAMS[2].tz, day, 15, 10);
            let mut e = k8s_event(rng, &user, &m.ip, t, "create", "clusterroles", "", 201);
            e["level"] = json!("RequestResponse");
            e["objectRef"] = json!({"resource": "clusterroles", "name": "debug-helper", "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"});
            e["requestURI"] = json!("/apis/rbac.authorization.k8s.io/v1/clusterroles");
            e["requestObject"] = json!({"kind": "ClusterRole", "apiVersion": "rbac.authorization.k8s.io/v1", "metadata": {"name": "debug-helper"}, "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]}, {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create", "get"]}]});
            record(
                "k8s-privileged-rbac-binding",
                user,
                "ClusterRole granting pods/exec created",
                &[&e],
            );
            d.k8s.push((t, e));
            // An altered copy of a routine CloudTrail read: same eventID, another address.
            let original = d.aws.iter().find(|(_, v)| {
                v["userIdentity"]["type"] == json!("IAMUser")
                    && v["eventName"] == json!("DescribeInstances")
            });
            if let Some((t, v)) = original.cloned() {
                let mut copy = v.clone();
                copy["sourceIPAddress"] = json!("203.0.113.201");
                let actor = v["userIdentity"]["arn"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                record(
                    "log-integrity-gap",
                    actor,
                    "a CloudTrail record altered in a second copy",
                    &[&v, &copy],
                );
                d.aws.push((t + 3 * SECOND, copy));
            }
        }
        29 => {
            // An admin deletes VPC flow logs 20 minutes after attaching a policy.
            let m = find(members, 0, 3);
            let t = local(TEAMS[0].tz, day, 13, 0);
            let mut attach = clean(cloudtrail_user_event(
                rng,
                &m.person(),
                t - 20 * MINUTE,
                "AttachRolePolicy",
                "iam",
                "",
            ));
            attach["requestParameters"] = json!({"roleName": "shop-app", "policyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"});
            let mut e = clean(cloudtrail_user_event(
                rng,
                &m.person(),
                t,
                "DeleteFlowLogs",
                "ec2",
                "",
            ));
            e["requestParameters"] =
                json!({"DeleteFlowLogsRequest": {"FlowLogId": {"item": "fl-0a1b2c3d4e5f"}}});
            record(
                "audit-log-tampering",
                arn(&m.login),
                "flow logs deleted right after a policy change",
                &[&e],
            );
            d.aws.push((t - 20 * MINUTE, attach));
            d.aws.push((t, e));
            // A GitHub event stamped four days after the month.
            let dev = find(members, 2, 1);
            let late = START + (DAYS + 4) * DAY + 10 * HOUR;
            let g = github_event(
                rng,
                &dev.login,
                &dev.ip,
                late,
                "git.clone",
                "northwind/shop",
                None,
            );
            record(
                "log-integrity-gap",
                dev.login.clone(),
                "a GitHub event stamped days after the rest of its file",
                &[&g],
            );
            d.github.push((late, g));
        }
        _ => {}
    }
    // The words the finding must hold where the rule has several sub-rules.
    for (what, evidence) in [
        ("Okta session started without MFA", "without MFA"),
        (
            "Kubernetes audit log silent for six hours",
            "was silent for",
        ),
        ("12 distinct secrets read in 4 minutes", "distinct secrets"),
        (
            "a CloudTrail record altered in a second copy",
            "different content",
        ),
        ("ClusterRole granting pods/exec created", "pods/exec"),
        (
            "flow logs deleted right after a policy change",
            "escalated: within 60 minutes",
        ),
        (
            "a GitHub event stamped days after the rest of its file",
            "after the rest of their file",
        ),
    ] {
        for p in out.iter_mut().filter(|p| p.what == what) {
            p.evidence = evidence;
        }
    }
}
