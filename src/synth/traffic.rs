//! Test-data generator, over 900 lines by design: benchmark traffic shaped like a real
//! organisation's, whose vocabularies (people, actions, clients) read best in one place.
//! Thousands of people and workloads whose activity is skewed (a few do most), hundreds of
//! actions whose frequency is skewed too, thousands of addresses and user agents, and request
//! parameters that vary per call: a benchmark on uniform or tiny vocabularies flatters
//! dictionary-encoded columns.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde_json::{Value, json};

use super::{Rng, Written, rfc3339, rfc3339_s};
use crate::time::{DAY, HOUR, MINUTE};

/// The first day of the benchmark month (2024-03-01 UTC).
const START: i64 = 1_709_251_200_000_000;

const FIRST: [&str; 50] = [
    "ana", "ben", "carla", "dev", "elif", "farah", "gus", "hana", "ivan", "jia", "kofi", "lena",
    "mateo", "nadia", "omar", "priya", "quinn", "rosa", "sam", "tariq", "uma", "viktor", "wen",
    "ximena", "yusuf", "zoe", "amir", "bea", "chen", "dana", "emil", "fatima", "goran", "helga",
    "ines", "jonas", "kai", "lucia", "milan", "noor", "oskar", "paula", "rahul", "sofia", "tomas",
    "ulla", "vera", "wil", "yara", "zeno",
];

const LAST: [&str; 60] = [
    "smith", "garcia", "muller", "rossi", "dubois", "kowalski", "nguyen", "kim", "silva", "haddad",
    "okafor", "ivanova", "tanaka", "jensen", "novak", "costa", "schmidt", "moreau", "lopez",
    "fischer", "weber", "ali", "khan", "patel", "singh", "chen", "wang", "li", "zhang", "yilmaz",
    "demir", "sato", "suzuki", "andersen", "berg", "lind", "holm", "virtanen", "korhonen",
    "horvat", "kovac", "popescu", "ionescu", "petrov", "sokolov", "morales", "ortiz", "ramos",
    "vargas", "reyes", "mendes", "santos", "ferreira", "bauer", "wagner", "becker", "hoffmann",
    "klein", "wolf", "neumann",
];

const REGIONS: [&str; 8] = [
    "us-east-1",
    "us-east-1",
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
    "ap-northeast-1",
];

/// First octets of public addresses people and offices come from.
const PUBLIC_OCTETS: [u8; 24] = [
    24, 31, 37, 45, 62, 66, 73, 81, 86, 91, 98, 104, 108, 142, 151, 173, 176, 185, 188, 194, 203,
    212, 217, 84,
];

/// CloudTrail services, the parameter that names what each acts on, and their event names,
/// most frequent first (real trails are dominated by a few read calls per service).
const AWS_SERVICES: [(&str, &str, &str); 32] = [
    (
        "sts",
        "roleArn",
        "AssumeRole GetCallerIdentity AssumeRoleWithWebIdentity GetSessionToken AssumeRoleWithSAML DecodeAuthorizationMessage GetAccessKeyInfo",
    ),
    (
        "s3",
        "bucketName",
        "GetObject HeadObject ListObjects PutObject GetBucketLocation ListBuckets GetBucketPolicy DeleteObject GetBucketAcl PutBucketPolicy CreateBucket GetBucketVersioning PutBucketPublicAccessBlock DeleteBucket",
    ),
    (
        "ec2",
        "instanceId",
        "DescribeInstances DescribeSecurityGroups DescribeVolumes DescribeSubnets DescribeVpcs DescribeNetworkInterfaces DescribeImages DescribeSnapshots DescribeAddresses DescribeInstanceStatus CreateTags RunInstances StartInstances StopInstances TerminateInstances AuthorizeSecurityGroupIngress RevokeSecurityGroupIngress CreateSnapshot CreateVolume AttachVolume DeleteVolume ModifyInstanceAttribute CreateSecurityGroup DeleteSecurityGroup",
    ),
    (
        "iam",
        "roleName",
        "GetRole ListRoles GetPolicy GetPolicyVersion ListAttachedRolePolicies ListRolePolicies GetUser ListUsers ListAccessKeys GetAccountAuthorizationDetails CreateRole AttachRolePolicy PutRolePolicy DetachRolePolicy CreateAccessKey DeleteAccessKey UpdateAssumeRolePolicy CreateUser DeleteRole CreatePolicyVersion AddUserToGroup CreateLoginProfile",
    ),
    (
        "lambda",
        "functionName",
        "GetFunction ListFunctions20150331 GetFunctionConfiguration Invoke ListVersionsByFunction GetPolicy20150331v2 UpdateFunctionCode20150331v2 UpdateFunctionConfiguration20150331v2 CreateFunction20150331 AddPermission20150331v2 DeleteFunction20150331",
    ),
    (
        "dynamodb",
        "tableName",
        "DescribeTable ListTables DescribeContinuousBackups DescribeTimeToLive ListTagsOfResource UpdateTable CreateTable DeleteTable CreateBackup",
    ),
    (
        "logs",
        "logGroupName",
        "DescribeLogGroups DescribeLogStreams FilterLogEvents GetLogEvents CreateLogStream PutRetentionPolicy CreateLogGroup DeleteLogGroup PutSubscriptionFilter DeleteSubscriptionFilter",
    ),
    (
        "kms",
        "keyId",
        "Decrypt GenerateDataKey Encrypt DescribeKey ListAliases ListKeys GetKeyPolicy CreateGrant ReEncrypt ScheduleKeyDeletion PutKeyPolicy DisableKey CreateKey",
    ),
    (
        "secretsmanager",
        "secretId",
        "GetSecretValue DescribeSecret ListSecrets PutSecretValue CreateSecret UpdateSecret RotateSecret DeleteSecret",
    ),
    (
        "ssm",
        "name",
        "GetParameter GetParameters GetParametersByPath DescribeInstanceInformation ListCommands SendCommand PutParameter StartSession DeleteParameter UpdateInstanceInformation",
    ),
    (
        "cloudformation",
        "stackName",
        "DescribeStacks ListStacks DescribeStackEvents GetTemplate DescribeStackResources UpdateStack CreateStack DeleteStack CreateChangeSet ExecuteChangeSet",
    ),
    (
        "eks",
        "name",
        "DescribeCluster ListClusters ListNodegroups DescribeNodegroup ListAddons UpdateClusterConfig CreateNodegroup DeleteNodegroup CreateAccessEntry AssociateAccessPolicy",
    ),
    (
        "ecr",
        "repositoryName",
        "GetAuthorizationToken BatchGetImage GetDownloadUrlForLayer BatchCheckLayerAvailability DescribeRepositories DescribeImages PutImage InitiateLayerUpload CompleteLayerUpload CreateRepository SetRepositoryPolicy",
    ),
    (
        "ecs",
        "cluster",
        "DescribeServices ListTasks DescribeTasks ListServices DescribeTaskDefinition UpdateService RegisterTaskDefinition RunTask StopTask",
    ),
    (
        "rds",
        "dBInstanceIdentifier",
        "DescribeDBInstances DescribeDBClusters DescribeDBSnapshots ListTagsForResource ModifyDBInstance CreateDBSnapshot RebootDBInstance DeleteDBInstance",
    ),
    (
        "cloudtrail",
        "name",
        "LookupEvents DescribeTrails GetTrailStatus GetEventSelectors ListTrails StopLogging UpdateTrail DeleteTrail PutEventSelectors",
    ),
    (
        "monitoring",
        "alarmNames",
        "GetMetricData DescribeAlarms ListMetrics GetMetricStatistics PutMetricAlarm DeleteAlarms",
    ),
    (
        "sns",
        "topicArn",
        "ListTopics GetTopicAttributes ListSubscriptionsByTopic Publish Subscribe CreateTopic SetTopicAttributes DeleteTopic",
    ),
    (
        "sqs",
        "queueUrl",
        "GetQueueAttributes ListQueues GetQueueUrl SetQueueAttributes CreateQueue PurgeQueue DeleteQueue",
    ),
    (
        "elasticloadbalancing",
        "loadBalancerArn",
        "DescribeLoadBalancers DescribeTargetGroups DescribeTargetHealth DescribeListeners RegisterTargets DeregisterTargets ModifyListener CreateLoadBalancer",
    ),
    (
        "autoscaling",
        "autoScalingGroupName",
        "DescribeAutoScalingGroups DescribeScalingActivities DescribeLaunchConfigurations UpdateAutoScalingGroup SetDesiredCapacity",
    ),
    (
        "route53",
        "hostedZoneId",
        "ListHostedZones GetHostedZone ListResourceRecordSets GetChange ChangeResourceRecordSets CreateHostedZone",
    ),
    (
        "config",
        "configRuleName",
        "DescribeConfigRules DescribeComplianceByConfigRule GetComplianceDetailsByConfigRule PutEvaluations StopConfigurationRecorder DeleteConfigurationRecorder",
    ),
    (
        "guardduty",
        "detectorId",
        "ListDetectors GetDetector ListFindings GetFindings UpdateDetector DeleteDetector",
    ),
    (
        "organizations",
        "accountId",
        "DescribeOrganization ListAccounts DescribeAccount ListPolicies LeaveOrganization",
    ),
    (
        "sso",
        "instanceArn",
        "ListPermissionSets DescribePermissionSet ListAccountAssignments CreateAccountAssignment DeleteAccountAssignment",
    ),
    ("signin", "", "ConsoleLogin GetSigninToken"),
    (
        "athena",
        "queryExecutionId",
        "GetQueryExecution GetQueryResults StartQueryExecution ListWorkGroups",
    ),
    (
        "glue",
        "databaseName",
        "GetTable GetTables GetDatabase GetPartitions BatchCreatePartition CreateTable UpdateTable",
    ),
    (
        "elasticmapreduce",
        "clusterId",
        "ListClusters DescribeCluster ListSteps AddJobFlowSteps RunJobFlow TerminateJobFlows",
    ),
    (
        "apigateway",
        "restApiId",
        "GetRestApis GetResources GetStages CreateDeployment UpdateStage",
    ),
    (
        "access-analyzer",
        "analyzerArn",
        "ListAnalyzers ListFindings GetFinding StartResourceScan",
    ),
];

const AWS_ERRORS: [(&str, &str); 6] = [
    (
        "AccessDenied",
        "is not authorized to perform this operation",
    ),
    (
        "Client.UnauthorizedOperation",
        "You are not authorized to perform this operation.",
    ),
    ("ThrottlingException", "Rate exceeded"),
    ("ResourceNotFoundException", "Requested resource not found"),
    (
        "NoSuchEntityException",
        "The role with name cannot be found.",
    ),
    ("ValidationException", "1 validation error detected"),
];

const PERMISSION_SETS: [&str; 6] = [
    "ReadOnlyAccess",
    "PowerUserAccess",
    "AdministratorAccess",
    "DataEngineer",
    "Billing",
    "SecurityAudit",
];

const WORKLOAD_KINDS: [&str; 12] = [
    "etl",
    "api",
    "worker",
    "scheduler",
    "ingest",
    "backup",
    "deployer",
    "monitor",
    "scanner",
    "sync",
    "billing",
    "search",
];

const TEAMS: [&str; 16] = [
    "payments", "checkout", "identity", "search", "data", "platform", "mobile", "growth", "risk",
    "ledger", "catalog", "shipping", "support", "ml", "infra", "security",
];

/// A person in the benchmark organisation.
struct Human {
    login: String,
    upn: String,
    home_ip: String,
    browser: String,
    /// The AWS CLI a person has installed (one version for the month).
    cli: String,
    os: &'static str,
    city: (&'static str, &'static str, &'static str),
    permission_set: &'static str,
    object_id: String,
    /// The accounts (indexes) the person's team works in: most of their AWS work.
    home_accounts: [usize; 2],
}

/// A workload: a service role, a service account, a CI pipeline.
struct Workload {
    name: String,
    ip: String,
    agent: String,
    account: usize,
}

/// Everyone who acts in the benchmark organisation, with their addresses and clients.
pub(super) struct Population {
    humans: Vec<Human>,
    workloads: Vec<Workload>,
    offices: Vec<String>,
    accounts: Vec<String>,
}

const CITIES: [(&str, &str, &str); 12] = [
    ("Berlin", "Berlin", "DE"),
    ("London", "England", "GB"),
    ("New York", "New York", "US"),
    ("Chicago", "Illinois", "US"),
    ("San Francisco", "California", "US"),
    ("Madrid", "Madrid", "ES"),
    ("Warsaw", "Mazowieckie", "PL"),
    ("Bangalore", "Karnataka", "IN"),
    ("Singapore", "Singapore", "SG"),
    ("Toronto", "Ontario", "CA"),
    ("Paris", "Ile-de-France", "FR"),
    ("Sydney", "New South Wales", "AU"),
];

const OSES: [&str; 5] = ["Windows 10", "Windows 11", "MacOs", "Linux", "Ios"];

fn public_ip(rng: &mut Rng) -> String {
    format!(
        "{}.{}.{}.{}",
        rng.pick(&PUBLIC_OCTETS),
        rng.below(256),
        rng.below(256),
        1 + rng.below(254)
    )
}

fn browser(rng: &mut Rng, os: &str) -> String {
    let platform = match os {
        "MacOs" => "Macintosh; Intel Mac OS X 10_15_7",
        "Linux" => "X11; Linux x86_64",
        "Ios" => "iPhone; CPU iPhone OS 17_3 like Mac OS X",
        _ => "Windows NT 10.0; Win64; x64",
    };
    match rng.below(4) {
        0 => format!(
            "Mozilla/5.0 ({platform}; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
            v = 115 + rng.below(12)
        ),
        1 if os == "MacOs" || os == "Ios" => format!(
            "Mozilla/5.0 ({platform}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{} Safari/605.1.15",
            rng.below(5)
        ),
        _ => format!(
            "Mozilla/5.0 ({platform}) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{}.0.{}.{} Safari/537.36",
            118 + rng.below(8),
            6000 + rng.below(300),
            rng.below(200)
        ),
    }
}

fn sdk_agent(rng: &mut Rng) -> String {
    match rng.below(5) {
        0 => format!(
            "Boto3/1.34.{b} md/Botocore#1.34.{b} ua/2.0 os/linux#5.10.{k}-{r}.amzn2.x86_64 md/arch#x86_64 lang/python#3.{p}.{q} md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.{b}",
            b = rng.below(160),
            k = 100 + rng.below(120),
            r = 100 + rng.below(120),
            p = 9 + rng.below(4),
            q = rng.below(9)
        ),
        1 => format!(
            "aws-sdk-go-v2/1.{}.{} os/linux lang/go#1.2{}.{} md/GOOS#linux md/GOARCH#amd64",
            20 + rng.below(10),
            rng.below(6),
            rng.below(3),
            rng.below(10)
        ),
        2 => format!(
            "aws-sdk-java/2.{}.{} Linux/5.10.{} OpenJDK_64-Bit_Server_VM/17.0.{}+7-LTS Java/17.0.{} vendor/Amazon.com_Inc. md/internal exec-env/AWS_ECS_FARGATE",
            20 + rng.below(5),
            rng.below(60),
            200 + rng.below(20),
            rng.below(12),
            rng.below(12)
        ),
        3 => format!(
            "APN/1.0 HashiCorp/1.0 Terraform/1.{}.{} (+https://www.terraform.io) terraform-provider-aws/5.{}.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.{}.0",
            5 + rng.below(5),
            rng.below(8),
            rng.below(60),
            20 + rng.below(10)
        ),
        _ => format!(
            "aws-sdk-js/3.{}.0 ua/2.0 os/linux#6.{}.0 lang/js md/nodejs#20.{}.{} api/lambda#3.{}.0",
            400 + rng.below(200),
            rng.below(8),
            rng.below(12),
            rng.below(3),
            400 + rng.below(200)
        ),
    }
}

impl Population {
    /// `humans` people and `workloads` workloads over `accounts` accounts.
    pub(super) fn new(rng: &mut Rng, humans: usize, workloads: usize, accounts: usize) -> Self {
        let humans = (0..humans)
            .map(|i| {
                let first = FIRST[i % FIRST.len()];
                let last = LAST[(i / FIRST.len()) % LAST.len()];
                let round = i / (FIRST.len() * LAST.len());
                let login = if round == 0 {
                    format!("{first}.{last}")
                } else {
                    format!("{first}.{last}{round}")
                };
                let os = *rng.pick(&OSES);
                Human {
                    upn: format!("{login}@northwind.example"),
                    home_ip: public_ip(rng),
                    browser: browser(rng, os),
                    cli: format!(
                        "aws-cli/2.{}.{} md/awscrt#0.19.{} ua/2.0 os/{} md/arch#x86_64 lang/python#3.11.{} md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe prompt/off",
                        13 + rng.below(9),
                        rng.below(40),
                        rng.below(20),
                        if os == "MacOs" { "macos#23.3.0" } else { "linux#5.15.0-91-generic" },
                        rng.below(9)
                    ),
                    os,
                    city: *rng.pick(&CITIES),
                    permission_set: PERMISSION_SETS[rng.below(PERMISSION_SETS.len() as u64) as usize],
                    object_id: rng.uuid(),
                    login,
                    home_accounts: [skewed(rng, accounts), skewed(rng, accounts)],
                }
            })
            .collect();
        let workloads = (0..workloads)
            .map(|i| Workload {
                name: format!(
                    "{}-{}-{}",
                    TEAMS[i % TEAMS.len()],
                    WORKLOAD_KINDS[(i / TEAMS.len()) % WORKLOAD_KINDS.len()],
                    i / (TEAMS.len() * WORKLOAD_KINDS.len())
                ),
                ip: format!(
                    "10.{}.{}.{}",
                    rng.below(64),
                    rng.below(256),
                    1 + rng.below(254)
                ),
                agent: sdk_agent(rng),
                account: rng.below(accounts as u64) as usize,
            })
            .collect();
        let offices = (0..32).map(|_| public_ip(rng)).collect();
        let accounts = (0..accounts)
            .map(|_| format!("{:012}", 100_000_000_000 + rng.below(899_999_999_999)))
            .collect();
        Population {
            humans,
            workloads,
            offices,
            accounts,
        }
    }

    /// The organisation the benchmarks use: 4,000 people, 1,500 workloads, 40 accounts.
    pub(super) fn benchmark(rng: &mut Rng) -> Self {
        Self::new(rng, 4000, 1500, 40)
    }

    fn human(&self, rng: &mut Rng) -> &Human {
        &self.humans[skewed(rng, self.humans.len())]
    }

    /// A person at work at `time`: people keep office hours in their own time zones, so at
    /// night and at weekends few are found (`None`: the call is a workload's). Now and then
    /// someone works late.
    fn human_at_work(&self, rng: &mut Rng, time: i64) -> Option<&Human> {
        let mut last = None;
        for _ in 0..6 {
            let human = self.human(rng);
            if at_work(human.city.0, time) {
                return Some(human);
            }
            last = Some(human);
        }
        last.filter(|_| rng.chance(0.02))
    }

    fn workload(&self, rng: &mut Rng) -> &Workload {
        &self.workloads[skewed(rng, self.workloads.len())]
    }

    /// Where a person calls from: mostly an office, often home, now and then anywhere.
    fn human_ip(&self, rng: &mut Rng, human: &Human) -> String {
        match rng.below(20) {
            0 => public_ip(rng),
            1..=7 => human.home_ip.clone(),
            _ => rng.pick(&self.offices).clone(),
        }
    }
}

/// A city's standard UTC offset in minutes (the benchmark month, March 2024, is mostly
/// before daylight saving time).
fn utc_offset_minutes(city: &str) -> i64 {
    match city {
        "Berlin" | "Madrid" | "Warsaw" | "Paris" => 60,
        "New York" | "Toronto" => -300,
        "Chicago" => -360,
        "San Francisco" => -480,
        "Bangalore" => 330,
        "Singapore" => 480,
        "Sydney" => 660,
        _ => 0,
    }
}

/// Whether `time` is inside Mon-Fri 08:00-19:00 in `city`.
fn at_work(city: &str, time: i64) -> bool {
    let local_minutes = time.div_euclid(MINUTE) + utc_offset_minutes(city);
    let day = local_minutes.div_euclid(24 * 60);
    // Day 0 (1970-01-01) was a Thursday: Monday is 0.
    let weekday = (day + 3).rem_euclid(7);
    let hour = local_minutes.rem_euclid(24 * 60) / 60;
    weekday < 5 && (8..19).contains(&hour)
}

/// An index in `0..n` where low indexes are far more likely, like activity per identity and
/// per action in real logs.
fn skewed(rng: &mut Rng, n: usize) -> usize {
    skewed_by(rng.next_u64(), n)
}

/// Who made a CloudTrail call: what they may call depends on it.
enum Caller<'p> {
    /// A person through an SSO permission set.
    Person,
    /// An AWS service on the account's behalf.
    AwsService,
    /// A workload's role session.
    Workload(&'p Workload),
}

fn aws_identity<'p>(
    rng: &mut Rng,
    population: &'p Population,
    account: &str,
    time: i64,
) -> (Value, String, String, Caller<'p>) {
    let person = if rng.chance(0.35) {
        population.human_at_work(rng, time)
    } else {
        None
    };
    if let Some(human) = person {
        // Most of a person's work is in their team's accounts.
        let account = if rng.chance(0.9) {
            population.accounts[*rng.pick(&human.home_accounts)].as_str()
        } else {
            account
        };
        let role = format!(
            "AWSReservedSSO_{}_{}",
            human.permission_set,
            &xxhash_rust::xxh3::xxh3_64(human.permission_set.as_bytes()).to_string()[..16]
        );
        let ip = population.human_ip(rng, human);
        let agent = if rng.chance(0.5) {
            human.browser.clone()
        } else {
            human.cli.clone()
        };
        let identity = json!({
            "type": "AssumedRole",
            "principalId": format!("AROA{}:{}", rng.hex_of(&role, 16).to_uppercase(), human.upn),
            "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{}", human.upn),
            "accountId": account,
            "accessKeyId": session_key(rng, &format!("{}/{account}/{agent}", human.upn), time, PERSON_SESSION),
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": format!("AROA{}", rng.hex_of(&role, 16).to_uppercase()), "arn": format!("arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/{role}"), "accountId": account, "userName": role},
                "attributes": {"creationDate": "2024-03-01T08:00:00Z", "mfaAuthenticated": "false"}
            }
        });
        return (identity, ip, agent, Caller::Person);
    }
    if rng.chance(0.05) {
        let service = *rng.pick(&[
            "ec2.amazonaws.com",
            "lambda.amazonaws.com",
            "autoscaling.amazonaws.com",
            "cloudformation.amazonaws.com",
            "config.amazonaws.com",
        ]);
        return (
            json!({"type": "AWSService", "invokedBy": service}),
            service.to_string(),
            service.to_string(),
            Caller::AwsService,
        );
    }
    let workload = population.workload(rng);
    // A workload acts in its own account.
    let account = population.accounts[workload.account].as_str();
    let session = if rng.chance(0.5) {
        format!("i-0{}", rng.hex_of(&workload.name, 16))
    } else {
        // A process's session lives for hours: a handful per workload in a month.
        format!(
            "botocore-session-{}",
            1_709_000_000
                + xxhash_rust::xxh3::xxh3_64(workload.name.as_bytes()) % 1_000_000
                + rng.below(8)
        )
    };
    let identity = json!({
        "type": "AssumedRole",
        "principalId": format!("AROA{}:{session}", rng.hex_of(&workload.name, 16).to_uppercase()),
        "arn": format!("arn:aws:sts::{account}:assumed-role/{}/{session}", workload.name),
        "accountId": account,
        "accessKeyId": session_key(rng, &format!("{}/{session}", workload.name), time, WORKLOAD_SESSION),
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": format!("AROA{}", rng.hex_of(&workload.name, 16).to_uppercase()), "arn": format!("arn:aws:iam::{account}:role/{}", workload.name), "accountId": account, "userName": workload.name},
            "attributes": {"creationDate": "2024-03-01T00:00:00Z", "mfaAuthenticated": "false"},
            "ec2RoleDelivery": "2.0"
        }
    });
    (
        identity,
        workload.ip.clone(),
        workload.agent.clone(),
        Caller::Workload(workload),
    )
}

/// How long a person's SSO credentials last: a working day (one console session in the
/// browser, one `aws sso login` in the CLI, per account).
const PERSON_SESSION: i64 = 8 * HOUR;
/// How long a workload's role credentials last before they are renewed (instance profiles and
/// SDK sessions rotate temporary credentials every few hours).
const WORKLOAD_SESSION: i64 = 6 * HOUR;

/// The temporary access key (`ASIA...`) of the credential session `holder` (who, where, which
/// client) has at `time`: every call of one session carries the same key, as in real trails,
/// where a key spans many calls of one actor. Draws what a fresh key would, so the rest of
/// the traffic is unchanged by how keys are made.
fn session_key(rng: &mut Rng, holder: &str, time: i64, lasts: i64) -> String {
    // Sessions of one holder start at its own offset, not all on the hour.
    let offset = (xxhash_rust::xxh3::xxh3_64(holder.as_bytes()) % lasts.unsigned_abs()) as i64;
    let window = (time + offset).div_euclid(lasts);
    let key = rng.hex_of(&format!("{holder}@{window}"), 16);
    format!("ASIA{}", key.to_uppercase())
}

/// Calls that switch off or weaken the account's defences (trails, detectors, recorders,
/// log groups) or leave the organization: in a real organisation's month a handful at most,
/// so routine traffic makes them 1 in 500 times the skew would pick them.
const RARE_IN_ROUTINE: [&str; 11] = [
    "StopLogging",
    "DeleteTrail",
    "UpdateTrail",
    "PutEventSelectors",
    "DeleteDetector",
    "UpdateDetector",
    "StopConfigurationRecorder",
    "DeleteConfigurationRecorder",
    "DeleteLogGroup",
    "DeleteSubscriptionFilter",
    "LeaveOrganization",
];

/// A service and action for a caller. People use any service, with the console; AWS
/// services never sign in; a workload's role calls the common half of the actions of the
/// three services its code uses (a service role's API calls are a fixed set, which is why
/// first-seen rules can judge workloads at all).
fn aws_call(rng: &mut Rng, caller: &Caller<'_>) -> (&'static str, &'static str, &'static str) {
    let services: Vec<usize> = match caller {
        Caller::Person => (0..AWS_SERVICES.len()).collect(),
        Caller::AwsService => (0..AWS_SERVICES.len())
            .filter(|i| AWS_SERVICES[*i].0 != "signin")
            .collect(),
        Caller::Workload(w) => {
            let seed = xxhash_rust::xxh3::xxh3_64(w.name.as_bytes());
            let usable: Vec<usize> = (0..AWS_SERVICES.len())
                .filter(|i| AWS_SERVICES[*i].0 != "signin")
                .collect();
            (0..3)
                .map(|k| usable[skewed_by(seed.rotate_left(k * 21), usable.len())])
                .collect()
        }
    };
    let (service, key, names) = AWS_SERVICES[services[skewed(rng, services.len())]];
    let names: Vec<&'static str> = names.split(' ').collect();
    let usable = match caller {
        Caller::Workload(_) => names.len().div_ceil(2).max(3).min(names.len()),
        _ => names.len(),
    };
    let mut name = names[skewed(rng, usable)];
    if RARE_IN_ROUTINE.contains(&name) && !rng.chance(0.002) {
        name = names[0];
    }
    (service, key, name)
}

/// [`skewed`] from a fixed 64-bit value instead of the generator.
fn skewed_by(bits: u64, n: usize) -> usize {
    let u = (bits >> 11) as f64 / (1u64 << 53) as f64;
    ((u * u * u) * n as f64) as usize % n.max(1)
}

/// A resource name of a service, from a pool of a few thousand per service.
fn aws_resource(rng: &mut Rng, service: &str, account: &str, region: &str) -> String {
    let team = rng.pick(&TEAMS);
    let n = skewed(rng, 400);
    match service {
        "s3" => format!("northwind-{team}-{n}"),
        "ec2" => format!("i-0{}", rng.hex_of(&format!("{team}{n}"), 16)),
        "sts" | "iam" => format!("arn:aws:iam::{account}:role/{team}-role-{n}"),
        "sns" => format!("arn:aws:sns:{region}:{account}:{team}-events-{n}"),
        "sqs" => format!("https://sqs.{region}.amazonaws.com/{account}/{team}-queue-{n}"),
        "kms" => format!(
            "arn:aws:kms:{region}:{account}:key/{}",
            rng.uuid_of(&format!("{team}{n}"))
        ),
        "logs" => format!("/aws/lambda/{team}-fn-{n}"),
        _ => format!("{team}-{service}-{n}"),
    }
}

fn aws_request(rng: &mut Rng, service: &str, key: &str, name: &str, resource: &str) -> Value {
    if key.is_empty() {
        return Value::Null;
    }
    let listing = ["List", "Describe"].iter().any(|p| name.starts_with(p));
    if listing && rng.chance(0.6) {
        return if rng.chance(0.5) {
            Value::Null
        } else {
            json!({"maxResults": 100 * (1 + rng.below(10))})
        };
    }
    let mut request = json!({ key: resource });
    match service {
        "s3" => {
            request["Host"] = json!(format!("{resource}.s3.amazonaws.com"));
            if name.contains("Object") {
                request["key"] = json!(format!(
                    "{}/{}/part-{:05}.{}",
                    rng.pick(&["raw", "curated", "exports", "logs", "tmp"]),
                    rfc3339(START + rng.below(30) as i64 * DAY)[..10].to_string(),
                    rng.below(20_000),
                    rng.pick(&["parquet", "json.gz", "csv"])
                ));
            }
        }
        "ec2" if name == "RunInstances" => {
            request = json!({"instancesSet": {"items": [{"imageId": format!("ami-0{}", rng.hex(16)), "minCount": 1, "maxCount": 1 + rng.below(3)}]}, "instanceType": rng.pick(&["t3.micro", "m5.large", "c6i.xlarge", "r6g.2xlarge"]), "subnetId": format!("subnet-0{}", rng.hex(16))});
        }
        "ec2" => request = json!({"instancesSet": {"items": [{"instanceId": resource}]}}),
        "iam" if name.contains("Policy") => {
            request["policyArn"] = json!(format!(
                "arn:aws:iam::aws:policy/{}",
                rng.pick(&[
                    "ReadOnlyAccess",
                    "AmazonS3FullAccess",
                    "AdministratorAccess",
                    "AmazonEC2ReadOnlyAccess",
                    "CloudWatchLogsFullAccess"
                ])
            ));
        }
        "sts" => {
            request["roleSessionName"] = json!(format!("session-{}", rng.hex(8)));
            request["durationSeconds"] = json!(900 * (1 + rng.below(4)));
        }
        "kms" => {
            request["encryptionAlgorithm"] = json!("SYMMETRIC_DEFAULT");
            request["encryptionContext"] = json!({"aws:lambda:FunctionArn": format!("arn:aws:lambda:us-east-1:111122223333:function:fn-{}", rng.below(900))});
        }
        _ => {}
    }
    request
}

/// One CloudTrail record of the benchmark organisation.
fn cloudtrail(rng: &mut Rng, population: &Population, time: i64) -> Value {
    let account = population.accounts[skewed(rng, population.accounts.len())].clone();
    let region = *rng.pick(&REGIONS);
    let (identity, ip, agent, caller) = aws_identity(rng, population, &account, time);
    let (service, key, name) = aws_call(rng, &caller);
    let account = identity["accountId"]
        .as_str()
        .map_or(account, str::to_string);
    let resource = aws_resource(rng, service, &account, region);
    let read_only = crate::providers::fields::looks_read_only(name);
    let mut event = json!({
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": rfc3339_s(time),
        "eventSource": format!("{service}.amazonaws.com"),
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": agent,
        "requestParameters": aws_request(rng, service, key, name, &resource),
        "responseElements": null,
        "requestID": rng.uuid(),
        "eventID": rng.uuid(),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": format!("{service}.{region}.amazonaws.com")}
    });
    if !read_only && rng.chance(0.7) {
        event["responseElements"] = json!({"requestId": rng.uuid(), key: resource});
    }
    if rng.chance(0.03) {
        let (code, message) = rng.pick(&AWS_ERRORS);
        event["errorCode"] = json!(code);
        event["errorMessage"] = json!(message);
    }
    if service == "signin" {
        event["eventType"] = json!("AwsConsoleSignIn");
        event["responseElements"] =
            json!({"ConsoleLogin": if rng.chance(0.97) { "Success" } else { "Failure" }});
        event["additionalEventData"] = json!({"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": if rng.chance(0.9) { "Yes" } else { "No" }});
    }
    event
}

const ENTRA_APPS: [(&str, &str); 16] = [
    ("Microsoft Teams", "1fec8e78-bce4-4aaf-ab1b-5451cc387264"),
    (
        "Office 365 Exchange Online",
        "00000002-0000-0ff1-ce00-000000000000",
    ),
    ("Microsoft Office", "d3590ed6-52b3-4102-aeff-aad2292ab01c"),
    ("Azure Portal", "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"),
    (
        "Microsoft Azure CLI",
        "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
    ),
    (
        "Office365 Shell WCSS-Client",
        "89bee1f7-5e6e-4d8a-9f3d-ecd601259da7",
    ),
    (
        "OneDrive SyncEngine",
        "ab9b8c07-8f02-4f72-87fa-80105867a763",
    ),
    (
        "Microsoft Authentication Broker",
        "29d9ed98-a469-4536-ade2-f981bc1d605e",
    ),
    ("Salesforce", "e0a7f1c3-5b2d-4d11-9f0e-2b6a8c7d9e10"),
    (
        "GitHub Enterprise Cloud",
        "7b3c9d2e-1f4a-4b5c-8d6e-9f0a1b2c3d4e",
    ),
    ("Slack", "5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d"),
    (
        "AWS IAM Identity Center",
        "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
    ),
    ("Microsoft Edge", "ecd6b820-32c2-49b6-98a6-444530e5a77a"),
    ("Windows Sign In", "38aa3b87-a06d-4817-b275-7a316988d93b"),
    (
        "Microsoft Intune Company Portal",
        "9ba1a5c7-f17a-4de9-a1f1-6178c8d51223",
    ),
    ("Power BI Service", "871c010f-5e61-4fb1-83ac-98610a7e9110"),
];

const ENTRA_ERRORS: [(u32, &str); 7] = [
    (
        50126,
        "Error validating credentials due to invalid username or password.",
    ),
    (50074, "Strong Authentication is required."),
    (
        50140,
        "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
    ),
    (
        53003,
        "Access has been blocked by Conditional Access policies.",
    ),
    (
        500121,
        "Authentication failed during strong authentication request.",
    ),
    (
        50076,
        "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication.",
    ),
    (
        50053,
        "Account is locked because user tried to sign in too many times with an incorrect user ID or password.",
    ),
];

/// One Entra ID sign-in as a diagnostic-settings record (category SignInLogs).
fn entra_signin(rng: &mut Rng, population: &Population, time: i64, tenant: &str) -> Value {
    let human = population.human(rng);
    let (app, app_id) = ENTRA_APPS[skewed(rng, ENTRA_APPS.len())];
    let (resource, resource_id) = ENTRA_APPS[skewed(rng, ENTRA_APPS.len())];
    let ip = population.human_ip(rng, human);
    let failed = rng.chance(0.06);
    let (code, reason) = if failed {
        *rng.pick(&ENTRA_ERRORS)
    } else {
        (0, "")
    };
    let interactive = rng.chance(0.3);
    let id = rng.uuid();
    let correlation = rng.uuid();
    let mfa = !failed && rng.chance(0.4);
    let (city, state, country) = if rng.chance(0.97) {
        human.city
    } else {
        *rng.pick(&CITIES)
    };
    let when = rfc3339(time);
    let mut properties = json!({
        "id": id,
        "createdDateTime": when,
        "userDisplayName": human.login.replace('.', " "),
        "userPrincipalName": human.upn,
        "userId": human.object_id,
        "appId": app_id,
        "appDisplayName": app,
        "ipAddress": ip,
        "status": if failed { json!({"errorCode": code, "failureReason": reason}) } else { json!({"errorCode": 0}) },
        "clientAppUsed": if rng.chance(0.8) { "Browser" } else { "Mobile Apps and Desktop clients" },
        "userAgent": human.browser,
        "deviceDetail": {"deviceId": if rng.chance(0.6) { rng.uuid_of(&human.upn) } else { String::new() }, "displayName": format!("NW-{}", &human.object_id[..8]), "operatingSystem": human.os, "browser": "Chrome 122.0.0", "isCompliant": rng.chance(0.8), "isManaged": rng.chance(0.8), "trustType": "Azure AD joined"},
        "location": {"city": city, "state": state, "countryOrRegion": country, "geoCoordinates": {"latitude": 40.0 + rng.below(1500) as f64 / 100.0, "longitude": -5.0 + rng.below(3000) as f64 / 100.0}},
        "correlationId": correlation
    });
    let more = json!({
        "conditionalAccessStatus": if code == 53003 { "failure" } else if rng.chance(0.7) { "success" } else { "notApplied" },
        "appliedConditionalAccessPolicies": [
            {"id": "4a1c2b3d-0000-4000-8000-000000000001", "displayName": "Require MFA for all users", "enforcedGrantControls": ["Mfa"], "enforcedSessionControls": [], "result": if mfa { "success" } else { "notApplied" }},
            {"id": "4a1c2b3d-0000-4000-8000-000000000002", "displayName": "Block legacy authentication", "enforcedGrantControls": ["Block"], "enforcedSessionControls": [], "result": "notApplied"}
        ],
        "isInteractive": interactive,
        "tokenIssuerType": "AzureAD",
        "authenticationRequirement": if mfa { "multiFactorAuthentication" } else { "singleFactorAuthentication" },
        "authenticationDetails": [{"authenticationStepDateTime": when, "authenticationMethod": if mfa { "Microsoft Authenticator App" } else { "Password" }, "succeeded": !failed, "authenticationStepRequirement": "Primary authentication", "authenticationStepResultDetail": if failed { reason } else { "Correct password" }}],
        "mfaDetail": if mfa { json!({"authMethod": "Mobile app notification", "authDetail": null}) } else { Value::Null },
        "riskDetail": "none",
        "riskLevelAggregated": "none",
        "riskLevelDuringSignIn": if rng.chance(0.01) { "medium" } else { "none" },
        "riskState": "none",
        "resourceDisplayName": resource,
        "resourceId": resource_id,
        "resourceTenantId": tenant,
        "homeTenantId": tenant,
        "uniqueTokenIdentifier": rng.hex(22),
        "sessionId": rng.uuid_of(&format!("{}{}", human.upn, time / (8 * HOUR))),
        "processingTimeInMilliseconds": 20 + rng.below(400)
    });
    if let (Some(p), Value::Object(more)) = (properties.as_object_mut(), more) {
        p.extend(more);
    }
    json!({
        "time": when,
        "resourceId": format!("/tenants/{tenant}/providers/Microsoft.aadiam"),
        "operationName": "Sign-in activity",
        "operationVersion": "1.0",
        "category": if interactive { "SignInLogs" } else { "NonInteractiveUserSignInLogs" },
        "tenantId": tenant,
        "resultType": code.to_string(),
        "resultSignature": "None",
        "resultDescription": reason,
        "durationMs": 0,
        "callerIpAddress": ip,
        "correlationId": correlation,
        "identity": human.login.replace('.', " "),
        "Level": 4,
        "location": country,
        "properties": properties
    })
}

const K8S_RESOURCES: [(&str, &str); 24] = [
    ("", "pods"),
    ("coordination.k8s.io", "leases"),
    ("", "configmaps"),
    ("", "endpoints"),
    ("", "events"),
    ("", "nodes"),
    ("apps", "deployments"),
    ("", "services"),
    ("", "secrets"),
    ("apps", "replicasets"),
    ("discovery.k8s.io", "endpointslices"),
    ("", "serviceaccounts"),
    ("batch", "jobs"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("networking.k8s.io", "ingresses"),
    ("batch", "cronjobs"),
    ("", "persistentvolumeclaims"),
    ("rbac.authorization.k8s.io", "rolebindings"),
    ("rbac.authorization.k8s.io", "roles"),
    ("autoscaling", "horizontalpodautoscalers"),
    ("policy", "poddisruptionbudgets"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("", "pods/exec"),
];

const K8S_VERBS: [&str; 8] = [
    "get",
    "watch",
    "list",
    "update",
    "patch",
    "create",
    "delete",
    "deletecollection",
];

/// One Kubernetes audit event of a large multi-team cluster.
fn kubernetes(rng: &mut Rng, population: &Population, time: i64) -> Value {
    let namespace = format!(
        "{}-{}",
        TEAMS[skewed(rng, TEAMS.len())],
        ["prod", "staging", "dev", "batch"][rng.below(4) as usize]
    );
    let (group, resource) = K8S_RESOURCES[skewed(rng, K8S_RESOURCES.len())];
    let verb = K8S_VERBS[skewed(rng, K8S_VERBS.len())];
    let node = format!(
        "ip-10-{}-{}-{}.ec2.internal",
        rng.below(4),
        rng.below(64),
        rng.below(256)
    );
    let (user, groups, ip, agent) = match rng.below(10) {
        0..=3 => {
            let workload = population.workload(rng);
            (
                format!("system:serviceaccount:{namespace}:{}", workload.name),
                json!([
                    "system:serviceaccounts",
                    format!("system:serviceaccounts:{namespace}"),
                    "system:authenticated"
                ]),
                workload.ip.clone(),
                format!(
                    "{}/v0.{}.{} (linux/amd64) kubernetes/$Format",
                    workload.name,
                    rng.below(30),
                    rng.below(9)
                ),
            )
        }
        4..=6 => (
            format!("system:node:{node}"),
            json!(["system:nodes", "system:authenticated"]),
            node.trim_start_matches("ip-")
                .trim_end_matches(".ec2.internal")
                .replace('-', "."),
            format!(
                "kubelet/v1.29.{} (linux/amd64) kubernetes/{}",
                rng.below(6),
                rng.hex(7)
            ),
        ),
        7 | 8 => {
            let component = rng.pick(&[
                "system:kube-controller-manager",
                "system:kube-scheduler",
                "system:apiserver",
                "eks:node-manager",
                "eks:certificate-controller",
            ]);
            (
                component.to_string(),
                json!(["system:authenticated"]),
                "172.16.0.1".to_string(),
                format!(
                    "{}/v1.29.{} (linux/amd64) kubernetes/{}",
                    component
                        .trim_start_matches("system:")
                        .trim_start_matches("eks:"),
                    rng.below(6),
                    rng.hex(7)
                ),
            )
        }
        _ => {
            let human = population.human(rng);
            (
                human.upn.clone(),
                json!([
                    "developers",
                    format!("team:{}", TEAMS[rng.below(TEAMS.len() as u64) as usize]),
                    "system:authenticated"
                ]),
                population.human_ip(rng, human),
                format!(
                    "kubectl/v1.{}.{} ({}/amd64) kubernetes/{}",
                    27 + rng.below(3),
                    rng.below(9),
                    if human.os == "MacOs" {
                        "darwin"
                    } else {
                        "linux"
                    },
                    rng.hex(7)
                ),
            )
        }
    };
    let (resource, subresource) = resource
        .split_once('/')
        .map_or((resource, None), |(r, s)| (r, Some(s)));
    let name = (verb != "list" && verb != "watch").then(|| format!("{resource}-{}", rng.hex(5)));
    let prefix = if group.is_empty() {
        "/api/v1".to_string()
    } else {
        format!("/apis/{group}/v1")
    };
    let mut uri = format!("{prefix}/namespaces/{namespace}/{resource}");
    if let Some(n) = &name {
        uri.push('/');
        uri.push_str(n);
    }
    if let Some(s) = subresource {
        uri.push('/');
        uri.push_str(s);
    }
    if verb == "watch" {
        uri.push_str(&format!(
            "?allowWatchBookmarks=true&resourceVersion={}&timeout=7m{}s&watch=true",
            rng.below(90_000_000),
            rng.below(60)
        ));
    }
    let code = match rng.below(100) {
        0..=1 => 403,
        2..=5 => 404,
        6 => 409,
        _ if verb == "create" => 201,
        _ => 200,
    };
    let mut object = json!({"resource": resource, "namespace": namespace, "apiVersion": "v1"});
    if !group.is_empty() {
        object["apiGroup"] = json!(group);
    }
    if let Some(n) = &name {
        object["name"] = json!(n);
    }
    if let Some(s) = subresource {
        object["subresource"] = json!(s);
    }
    let mut event = json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": rng.uuid(),
        "stage": "ResponseComplete",
        "requestURI": uri,
        "verb": verb,
        "user": {"username": user, "groups": groups},
        "sourceIPs": [ip],
        "userAgent": agent,
        "objectRef": object,
        "responseStatus": if code < 300 { json!({"metadata": {}, "code": code}) } else { json!({"metadata": {}, "status": "Failure", "message": format!("{resource} \"{}\" is forbidden", name.clone().unwrap_or_default()), "reason": if code == 403 { "Forbidden" } else if code == 404 { "NotFound" } else { "AlreadyExists" }, "code": code}) },
        "requestReceivedTimestamp": rfc3339(time),
        "stageTimestamp": rfc3339(time + 1_000 + rng.below(90_000) as i64),
        "annotations": {"authorization.k8s.io/decision": if code == 403 { "forbid" } else { "allow" }, "authorization.k8s.io/reason": if code == 403 { String::new() } else { format!("RBAC: allowed by RoleBinding \"{namespace}-edit/{namespace}\" of ClusterRole \"edit\" to Group \"developers\"") }}
    });
    if code == 403 {
        event["annotations"]
            .as_object_mut()
            .map(|a| a.remove("authorization.k8s.io/reason"));
    }
    event
}

const GCP_METHODS: [(&str, &str, &str); 30] = [
    (
        "storage.googleapis.com",
        "storage.objects.get",
        "data_access",
    ),
    (
        "storage.googleapis.com",
        "storage.objects.list",
        "data_access",
    ),
    (
        "bigquery.googleapis.com",
        "google.cloud.bigquery.v2.JobService.InsertJob",
        "data_access",
    ),
    (
        "compute.googleapis.com",
        "v1.compute.instances.list",
        "data_access",
    ),
    (
        "bigquery.googleapis.com",
        "google.cloud.bigquery.v2.TableService.GetTable",
        "data_access",
    ),
    (
        "container.googleapis.com",
        "google.container.v1.ClusterManager.GetCluster",
        "data_access",
    ),
    (
        "secretmanager.googleapis.com",
        "google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion",
        "data_access",
    ),
    (
        "storage.googleapis.com",
        "storage.objects.create",
        "data_access",
    ),
    (
        "compute.googleapis.com",
        "v1.compute.instances.get",
        "data_access",
    ),
    (
        "iam.googleapis.com",
        "google.iam.admin.v1.ListServiceAccounts",
        "data_access",
    ),
    (
        "cloudresourcemanager.googleapis.com",
        "GetIamPolicy",
        "data_access",
    ),
    (
        "logging.googleapis.com",
        "google.logging.v2.ConfigServiceV2.ListSinks",
        "data_access",
    ),
    (
        "cloudsql.googleapis.com",
        "cloudsql.instances.list",
        "data_access",
    ),
    (
        "pubsub.googleapis.com",
        "google.pubsub.v1.Publisher.Publish",
        "data_access",
    ),
    (
        "compute.googleapis.com",
        "v1.compute.instances.insert",
        "activity",
    ),
    (
        "compute.googleapis.com",
        "v1.compute.instances.delete",
        "activity",
    ),
    (
        "compute.googleapis.com",
        "v1.compute.firewalls.insert",
        "activity",
    ),
    (
        "compute.googleapis.com",
        "v1.compute.instances.setMetadata",
        "activity",
    ),
    (
        "storage.googleapis.com",
        "storage.buckets.create",
        "activity",
    ),
    (
        "storage.googleapis.com",
        "storage.setIamPermissions",
        "activity",
    ),
    (
        "iam.googleapis.com",
        "google.iam.admin.v1.CreateServiceAccountKey",
        "activity",
    ),
    (
        "iam.googleapis.com",
        "google.iam.admin.v1.CreateServiceAccount",
        "activity",
    ),
    (
        "cloudresourcemanager.googleapis.com",
        "SetIamPolicy",
        "activity",
    ),
    (
        "container.googleapis.com",
        "google.container.v1.ClusterManager.UpdateCluster",
        "activity",
    ),
    (
        "bigquery.googleapis.com",
        "google.cloud.bigquery.v2.DatasetService.InsertDataset",
        "activity",
    ),
    (
        "logging.googleapis.com",
        "google.logging.v2.ConfigServiceV2.UpdateSink",
        "activity",
    ),
    (
        "cloudfunctions.googleapis.com",
        "google.cloud.functions.v1.CloudFunctionsService.UpdateFunction",
        "activity",
    ),
    (
        "run.googleapis.com",
        "google.cloud.run.v1.Services.ReplaceService",
        "activity",
    ),
    (
        "secretmanager.googleapis.com",
        "google.cloud.secretmanager.v1.SecretManagerService.AddSecretVersion",
        "activity",
    ),
    (
        "logging.googleapis.com",
        "google.logging.v2.ConfigServiceV2.DeleteSink",
        "activity",
    ),
];

/// One Cloud Audit Logs entry of an organisation with dozens of projects.
fn gcp(rng: &mut Rng, population: &Population, time: i64) -> Value {
    let (service, method, log) = GCP_METHODS[skewed(rng, GCP_METHODS.len())];
    let project = format!(
        "nw-{}-{}",
        TEAMS[skewed(rng, TEAMS.len())],
        ["prod", "staging", "dev"][rng.below(3) as usize]
    );
    let (principal, ip, agent) = if rng.chance(0.6) {
        let workload = population.workload(rng);
        (
            format!("{}@{project}.iam.gserviceaccount.com", workload.name),
            if rng.chance(0.5) {
                "private".to_string()
            } else {
                workload.ip.clone()
            },
            format!(
                "google-api-go-client/0.5 {} gl-go/1.2{}.{}",
                workload.name,
                rng.below(3),
                rng.below(9)
            ),
        )
    } else {
        let human = population.human(rng);
        (
            human.upn.clone(),
            population.human_ip(rng, human),
            if rng.chance(0.5) {
                format!(
                    "google-cloud-sdk gcloud/4{}.0.0 command/gcloud.{} invocation-id/{} environment/None environment-version/None client-os/{} client-os-ver/{} client-pltf-arch/x86_64 interactive/True from-script/False python/3.11.{} term/xterm-256color (Macintosh; Intel Mac OS X 23.3.0),gzip(gfe)",
                    50 + rng.below(20),
                    method.rsplit('.').next().unwrap_or(method).to_lowercase(),
                    rng.hex(32),
                    if human.os == "MacOs" {
                        "MACOSX"
                    } else {
                        "LINUX"
                    },
                    rng.below(24),
                    rng.below(9)
                )
            } else {
                format!("{},gzip(gfe)", human.browser)
            },
        )
    };
    let code = match rng.below(100) {
        0..=2 => 7,
        3 => 5,
        _ => 0,
    };
    let resource_name = match service {
        "storage.googleapis.com" => format!(
            "projects/_/buckets/{project}-{}/objects/{}/{}.json",
            rng.pick(&["raw", "exports", "tmp"]),
            rng.below(500),
            rng.hex(8)
        ),
        "bigquery.googleapis.com" => format!(
            "projects/{project}/datasets/{}/tables/t_{}",
            rng.pick(&["sales", "events", "ml_features", "finance"]),
            rng.below(300)
        ),
        "compute.googleapis.com" => format!(
            "projects/{project}/zones/{}/instances/vm-{}",
            rng.pick(&["europe-west1-b", "us-central1-a", "us-east1-c"]),
            rng.below(2000)
        ),
        "iam.googleapis.com" => format!(
            "projects/-/serviceAccounts/{}",
            100_000_000_000_000_000u64 + rng.below(899_999_999_999_999_999)
        ),
        "secretmanager.googleapis.com" => format!(
            "projects/{project}/secrets/{}-{}/versions/latest",
            rng.pick(&TEAMS),
            rng.below(80)
        ),
        _ => format!("projects/{project}"),
    };
    let mut payload = json!({
        "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
        "status": if code == 0 { json!({}) } else { json!({"code": code, "message": if code == 7 { "PERMISSION_DENIED" } else { "NOT_FOUND" }}) },
        "authenticationInfo": {"principalEmail": principal},
        "requestMetadata": {"callerIp": ip, "callerSuppliedUserAgent": agent, "requestAttributes": {"time": rfc3339(time), "auth": {}}, "destinationAttributes": {}},
        "serviceName": service,
        "methodName": method,
        "authorizationInfo": [{"resource": resource_name, "permission": format!("{}.{}", service.split('.').next().unwrap_or(service), method.rsplit('.').next().unwrap_or(method).to_lowercase()), "granted": code != 7, "resourceAttributes": {}}],
        "resourceName": resource_name,
        "resourceLocation": {"currentLocations": [rng.pick(&["europe-west1", "us-central1", "us"])]}
    });
    if method == "SetIamPolicy" {
        let member = population.human(rng).upn.clone();
        payload["serviceData"] = json!({"@type": "type.googleapis.com/google.iam.v1.logging.AuditData", "policyDelta": {"bindingDeltas": [{"action": if rng.chance(0.6) { "ADD" } else { "REMOVE" }, "role": rng.pick(&["roles/viewer", "roles/editor", "roles/owner", "roles/storage.admin", "roles/bigquery.dataViewer"]), "member": format!("user:{member}")}]}});
    }
    json!({
        "protoPayload": payload,
        "insertId": rng.hex(12),
        "resource": {"type": "audited_resource", "labels": {"project_id": project, "service": service, "method": method}},
        "timestamp": rfc3339(time),
        "severity": if code == 0 { "INFO" } else { "ERROR" },
        "logName": format!("projects/{project}/logs/cloudaudit.googleapis.com%2F{log}"),
        "receiveTimestamp": rfc3339(time + 400_000 + rng.below(800_000) as i64)
    })
}

/// The benchmark shapes, one per provider and export form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// CloudTrail records, one per line, in one file.
    CloudtrailNdjson,
    /// CloudTrail S3 delivery files `{"Records":[...]}` of 1,000 records.
    CloudtrailS3,
    /// Entra ID sign-ins as diagnostic-settings exports: hourly `{"records":[...]}` files in
    /// the storage account's `y=/m=/d=/h=` layout.
    EntraSignins,
    /// Kubernetes audit events, one per line, in one `--audit-log-path` file.
    Kubernetes,
    /// Cloud Audit Logs entries as a Cloud Storage sink writes them: hourly files, one entry
    /// per line.
    Gcp,
}

/// Writes `events` events of `shape` into `out`, spread evenly over 30 days.
pub(super) fn write(shape: Shape, out: &Path, events: usize, seed: u64) -> io::Result<Written> {
    let mut rng = Rng::new(seed);
    let population = Population::benchmark(&mut rng);
    let step = ((30 * DAY) / events.max(1) as i64).max(1);
    let tenant = rng.uuid();
    let mut written = Written::default();
    // One sink per stream: a GCP sink writes the activity and data-access logs side by side.
    let mut sinks: HashMap<&'static str, Sink> = HashMap::new();
    for i in 0..events {
        let time = START + i as i64 * step + rng.below(step as u64) as i64;
        let (file, record) = match shape {
            Shape::CloudtrailNdjson => (
                "cloudtrail.ndjson".to_string(),
                cloudtrail(&mut rng, &population, time),
            ),
            Shape::CloudtrailS3 => (
                format!("111122223333_CloudTrail_us-east-1_{:06}.json", i / 1000),
                cloudtrail(&mut rng, &population, time),
            ),
            Shape::EntraSignins => (
                hourly(time, "y=%Y/m=%m/d=%d/h=%H/m=00/PT1H.json"),
                entra_signin(&mut rng, &population, time, &tenant),
            ),
            Shape::Kubernetes => (
                "kube-apiserver-audit.log".to_string(),
                kubernetes(&mut rng, &population, time),
            ),
            Shape::Gcp => {
                let record = gcp(&mut rng, &population, time);
                let log = if record["logName"]
                    .as_str()
                    .is_some_and(|l| l.ends_with("activity"))
                {
                    "activity"
                } else {
                    "data_access"
                };
                (
                    hourly(
                        time,
                        &format!(
                            "cloudaudit.googleapis.com/{log}/%Y/%m/%d/%H:00:00_%H:59:59_S0.json"
                        ),
                    ),
                    record,
                )
            }
        };
        let wrapper = match shape {
            Shape::CloudtrailS3 => Some("Records"),
            Shape::EntraSignins => Some("records"),
            _ => None,
        };
        let stream = if file.starts_with("cloudaudit.googleapis.com/activity") {
            "activity"
        } else {
            ""
        };
        sinks
            .entry(stream)
            .or_default()
            .write(out, &file, wrapper, &record, &mut written)?;
        written.events += 1;
    }
    for sink in sinks.values_mut() {
        sink.finish()?;
    }
    Ok(written)
}

fn hourly(time: i64, pattern: &str) -> String {
    jiff::Timestamp::from_microsecond(time)
        .map(|t| t.strftime(pattern).to_string())
        .unwrap_or_else(|_| "unknown.json".into())
}

/// The file being written: records go to one file until the name changes (the generator
/// writes in time order, so each file is written once).
#[derive(Default)]
struct Sink {
    name: String,
    wrapper: Option<&'static str>,
    writer: Option<BufWriter<File>>,
    first: bool,
}

impl Sink {
    fn write(
        &mut self,
        out: &Path,
        name: &str,
        wrapper: Option<&'static str>,
        record: &Value,
        written: &mut Written,
    ) -> io::Result<()> {
        if self.writer.is_none() || self.name != name {
            self.finish()?;
            let path = out.join(name);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent)?;
            }
            let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
            if let Some(key) = wrapper {
                write!(w, "{{\"{key}\":[")?;
            }
            self.writer = Some(w);
            self.name = name.to_string();
            self.wrapper = wrapper;
            self.first = true;
            written.files += 1;
        }
        let Some(w) = self.writer.as_mut() else {
            return Ok(());
        };
        if self.wrapper.is_some() && !self.first {
            w.write_all(b",")?;
        }
        serde_json::to_writer(&mut *w, record)?;
        if self.wrapper.is_none() {
            w.write_all(b"\n")?;
        }
        self.first = false;
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if let Some(mut w) = self.writer.take() {
            if self.wrapper.is_some() {
                w.write_all(b"]}")?;
            }
            w.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_generated_record_lands_in_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let written = write(Shape::Gcp, dir.path(), 5000, 3).unwrap();
        let mut lines = 0;
        for entry in walkdir::WalkDir::new(dir.path()) {
            let entry = entry.unwrap();
            if entry.file_type().is_file() {
                lines += fs::read_to_string(entry.path()).unwrap().lines().count();
            }
        }
        assert_eq!(lines, 5000);
        assert_eq!(written.events, 5000);
        assert!(written.files <= 2 * 30 * 24, "{written:?}");
    }

    #[test]
    fn benchmark_traffic_has_the_variety_of_a_real_organisation() {
        let mut rng = Rng::new(42);
        let population = Population::benchmark(&mut rng);
        let mut actors = HashSet::new();
        let mut actions = HashSet::new();
        let mut ips = HashSet::new();
        let mut agents = HashSet::new();
        // Over a week (one record every 6 s): who works depends on the hour.
        for i in 0..100_000 {
            let record = cloudtrail(&mut rng, &population, START + i * 6_000_000);
            actors.insert(record["userIdentity"]["arn"].to_string());
            actions.insert(record["eventName"].to_string());
            ips.insert(record["sourceIPAddress"].to_string());
            agents.insert(record["userAgent"].to_string());
        }
        assert!(actors.len() > 2000, "{} actors", actors.len());
        assert!(actions.len() > 200, "{} actions", actions.len());
        assert!(ips.len() > 2000, "{} addresses", ips.len());
        assert!(agents.len() > 2000, "{} user agents", agents.len());
    }

    #[test]
    fn people_keep_office_hours_and_work_in_their_teams_accounts() {
        let mut rng = Rng::new(7);
        let population = Population::benchmark(&mut rng);
        // (weekend calls, weekday calls) by people, and the accounts each person used.
        let (mut weekend, mut weekday) = (0usize, 0usize);
        let mut accounts: HashMap<String, HashSet<String>> = HashMap::new();
        // Two weeks from Friday 2024-03-01, one record every 12 s.
        for i in 0..100_000i64 {
            let time = START + i * 12_000_000;
            let record = cloudtrail(&mut rng, &population, time);
            let arn = record["userIdentity"]["arn"].as_str().unwrap_or_default();
            let Some((_, person)) = arn.split_once("AWSReservedSSO_") else {
                continue;
            };
            let person = person.rsplit('/').next().unwrap_or_default().to_string();
            let account = record["recipientAccountId"].as_str().unwrap_or_default();
            accounts
                .entry(person)
                .or_default()
                .insert(account.to_string());
            // 2024-03-01 is a Friday: days 1 and 2 (and 8, 9) of the run are the weekend.
            if matches!((time - START) / DAY, 1 | 2 | 8 | 9) {
                weekend += 1;
            } else {
                weekday += 1;
            }
        }
        // Per day, weekend work is under a fifth of weekday work (4 weekend days, 10
        // weekdays).
        assert!(
            weekend * 10 * 5 < weekday * 4,
            "{weekend} weekend and {weekday} weekday calls by people"
        );
        let busy: Vec<usize> = (accounts.values())
            .filter(|a| !a.is_empty())
            .map(HashSet::len)
            .collect();
        let in_few = busy.iter().filter(|n| **n <= 4).count();
        assert!(
            in_few * 10 >= busy.len() * 9,
            "{in_few} of {} people in at most 4 accounts",
            busy.len()
        );
    }

    #[test]
    fn cloudtrail_calls_depend_on_who_makes_them() {
        let mut rng = Rng::new(42);
        let population = Population::benchmark(&mut rng);
        let mut console_by_machines = 0;
        let mut console_by_people = 0;
        let mut defences_off = 0;
        for i in 0..100_000 {
            let record = cloudtrail(&mut rng, &population, START + i);
            let arn = record["userIdentity"]["arn"].as_str().unwrap_or("");
            let name = record["eventName"].as_str().unwrap_or("");
            if name == "ConsoleLogin" {
                if arn.contains("/AWSReservedSSO_") {
                    console_by_people += 1;
                } else {
                    console_by_machines += 1;
                }
            }
            defences_off += usize::from(RARE_IN_ROUTINE.contains(&name));
        }
        assert_eq!(
            console_by_machines, 0,
            "instance roles and services never sign in"
        );
        assert!(
            console_by_people > 100,
            "{console_by_people} console sign-ins"
        );
        // Before: 9,346 of them (StopLogging, LeaveOrganization, ...) in 1,000,000 events.
        assert!(
            defences_off <= 10,
            "{defences_off} calls switching defences off"
        );
    }

    #[test]
    fn wrapped_files_are_valid_json_and_hold_every_record() {
        let dir = tempfile::tempdir().unwrap();
        let written = write(Shape::EntraSignins, dir.path(), 3000, 1).unwrap();
        assert_eq!(written.events, 3000);
        let mut records = 0;
        for entry in walkdir::WalkDir::new(dir.path()) {
            let entry = entry.unwrap();
            if entry.file_type().is_file() {
                let value: Value =
                    serde_json::from_slice(&fs::read(entry.path()).unwrap()).unwrap();
                records += value["records"].as_array().unwrap().len();
            }
        }
        assert_eq!(records, 3000);
        assert_eq!(written.files, 30 * 24);
    }
}
