//! Mapping table, over 900 lines by design (a provider is one file; this one is its serde
//! record shapes and the functions mapping their fields). AWS CloudTrail: one bare CloudTrail
//! record to one event.
//!
//! The ingest layer unwraps every carrier before this file sees a record: S3 delivery objects
//! (`{"Records":[...]}`, plain or gzip), JSON arrays, EventBridge envelopes (`detail`),
//! CloudWatch Logs subscription payloads (`logEvents[].message`) and Cribl `_raw`. Logstash
//! re-emits (OTRF) drop `eventTime` for `@timestamp`, which is then the event time.
//!
//! Parsing is one borrowed serde pass over the record (the hot path: ~1 µs per 1.1 KB record):
//! only the keys below are read, everything else is skipped, strings stay borrowed unless they
//! hold escapes, and the only allocations are `details` and rare structured values (Insight
//! details, policies, permission changes, lists of more than one element).
//!
//! `actor_type` from `userIdentity`:
//! - `ANONYMOUS_PRINCIPAL` as principalId or accountId: anonymous;
//! - `Root`: root; `IAMUser`, `FederatedUser`, `SAMLUser`, `IdentityCenterUser`: human;
//! - `AssumedRole`: human when the session is clearly a person (session name is an e-mail,
//!   role name starts with `AWSReservedSSO_`, a console session: `sessionCredentialFromConsole`
//!   or a console sign-in), else service (instance profiles, SDK sessions, CI roles);
//! - `WebIdentityUser`: service (OIDC workloads); `AWSService`, `AWSAccount`, or no type but
//!   `invokedBy` (service events): system;
//! - `Unknown` with a `userName` in an event of AWS sign-in or IAM Identity Center
//!   (`signin`, `sso`, `sso-oauth`): human (Identity Center users signing in);
//! - any other `Unknown`, anything else, or no `userIdentity` (Insight events): unknown.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::LazyLock;

use serde::Deserialize;
use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer, StrDeserializer};
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::fields::{Obj, Text, cut, from_json_str, looks_read_only, probe_has, probe_str};
use super::time::parse_rfc3339;
use super::{Probe, Provider, RecordError};
use crate::json_scan::{ScanError, Scanner};
use crate::schema::{ActorType, Event, Outcome};

/// AWS CloudTrail records (management, data, Insight and network-activity events).
pub struct CloudTrail;

/// `eventType` values CloudTrail writes.
const EVENT_TYPES: [&str; 6] = [
    "AwsApiCall",
    "AwsServiceEvent",
    "AwsConsoleSignIn",
    "AwsConsoleAction",
    "AwsCloudTrailInsight",
    "AwsVpceEvent",
];
const ANONYMOUS: &str = "ANONYMOUS_PRINCIPAL";
/// The user name of a console sign-in for a user that does not exist.
const HIDDEN_USER: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";
const DETAILS_MAX: usize = 300;
const LIST_MAX: usize = 5;

impl Provider for CloudTrail {
    fn format(&self) -> &'static str {
        "cloudtrail"
    }

    fn sniff_json(&self, probe: &Probe) -> bool {
        let aws_source =
            probe_str(probe, &["eventSource"]).is_some_and(|s| s.ends_with(".amazonaws.com"));
        let aws_type = probe_str(probe, &["eventType"]).is_some_and(|t| EVENT_TYPES.contains(&t));
        if probe_has(probe, &["eventVersion"]) {
            return aws_source || aws_type;
        }
        // SIEM re-exports drop `eventVersion`: an AWS event source, the event's name and time,
        // and who acted or where are still there.
        aws_source
            && probe_str(probe, &["eventName"]).is_some()
            && probe_has(probe, &["eventTime"])
            && (probe_has(probe, &["userIdentity"]) || probe_has(probe, &["awsRegion"]))
    }

    fn parse_json<'a>(&self, record: &'a [u8]) -> Result<Event<'a>, RecordError> {
        Record::scan(record)?.to_event()
    }

    /// The scanner refuses deep records before any value reaches serde.
    fn bounds_nesting(&self) -> bool {
        true
    }
}

// ---------------------------------------------------------------------------------------
// The record, as far as we read it
// ---------------------------------------------------------------------------------------

/// The top-level fields read; everything else in the record is skipped unread.
#[derive(Default)]
struct Record<'a> {
    event_version: Text<'a>,
    event_time: Text<'a>,
    logstash_time: Text<'a>,
    event_id: Text<'a>,
    event_name: Text<'a>,
    event_source: Text<'a>,
    event_type: Text<'a>,
    event_category: Text<'a>,
    aws_region: Text<'a>,
    source_ip: Text<'a>,
    user_agent: Text<'a>,
    error_code: Text<'a>,
    error_message: Text<'a>,
    recipient_account_id: Text<'a>,
    read_only: Bool,
    session_credential_from_console: Bool,
    /// `serviceEventDetails` reports a failed step (IAM Identity Center sign-ins).
    step_failed: bool,
    user_identity: Obj<Identity<'a>>,
    request_parameters: Obj<Params<'a>>,
    response_elements: Obj<Response<'a>>,
    additional_event_data: Obj<Additional<'a>>,
    resources: First<Obj<ResourceRef<'a>>>,
    insight_details: Obj<Box<Insight<'a>>>,
}

impl<'a> Record<'a> {
    /// Reads a record with the scanner: the hot path of every CloudTrail load. The nested
    /// objects that are on nearly every record (`userIdentity`) are scanned too; the rarer,
    /// structured ones (request parameters, policies, Insight details) go through serde.
    fn scan(record: &'a [u8]) -> Result<Record<'a>, RecordError> {
        let mut s = Scanner::new(record)?;
        let mut r = Record::default();
        let is_object = s.object(|s, key| -> Result<(), RecordError> {
            match key {
                "eventVersion" => r.event_version = s.text()?,
                "eventTime" => r.event_time = s.text()?,
                "@timestamp" => r.logstash_time = s.text()?,
                "eventID" => r.event_id = s.text()?,
                "eventName" => r.event_name = s.text()?,
                "eventSource" => r.event_source = s.text()?,
                "eventType" => r.event_type = s.text()?,
                "eventCategory" => r.event_category = s.text()?,
                "awsRegion" => r.aws_region = s.text()?,
                "sourceIPAddress" => r.source_ip = s.text()?,
                "userAgent" => r.user_agent = s.text()?,
                "errorCode" => r.error_code = s.text()?,
                "errorMessage" => r.error_message = s.text()?,
                "recipientAccountId" => r.recipient_account_id = s.text()?,
                "readOnly" => r.read_only = Bool(s.boolean(parse_bool)?),
                "sessionCredentialFromConsole" => {
                    r.session_credential_from_console = Bool(s.boolean(parse_bool)?);
                }
                "userIdentity" => r.user_identity = Identity::scan(s)?,
                "requestParameters" => r.request_parameters = serde_value(s)?,
                "responseElements" => r.response_elements = serde_value(s)?,
                "additionalEventData" => r.additional_event_data = serde_value(s)?,
                "resources" => r.resources = serde_value(s)?,
                "insightDetails" => r.insight_details = serde_value(s)?,
                "serviceEventDetails" => r.step_failed = step_failed(s)?,
                _ => s.skip()?,
            }
            Ok(())
        })?;
        s.finish()?;
        if !is_object {
            return Err(RecordError::Invalid(
                "a CloudTrail record must be a JSON object".to_owned(),
            ));
        }
        Ok(r)
    }
}

/// Whether `serviceEventDetails` reports a failed step: IAM Identity Center sign-ins
/// (`CredentialChallenge`, `CredentialVerification`, `UserAuthentication`) write
/// `"<step>":"Failure"` there and carry no error code or message.
fn step_failed(s: &mut Scanner<'_>) -> Result<bool, ScanError> {
    let mut failed = false;
    s.object(|s, _| {
        let value = s.text()?;
        failed |= value
            .get()
            .is_some_and(|v| v.eq_ignore_ascii_case("failure"));
        Ok::<(), ScanError>(())
    })?;
    Ok(failed)
}

/// A nested value read with serde from its raw text; `null` (the usual `requestParameters`
/// and `responseElements`) costs nothing.
fn serde_value<'a, T: Deserialize<'a> + Default>(s: &mut Scanner<'a>) -> Result<T, RecordError> {
    if s.at_null()? {
        s.skip()?;
        return Ok(T::default());
    }
    sonic_rs::from_str(s.raw()?).map_err(RecordError::json)
}

#[derive(Default)]
struct Identity<'a> {
    kind: Text<'a>,
    principal_id: Text<'a>,
    arn: Text<'a>,
    account_id: Text<'a>,
    access_key_id: Text<'a>,
    user_name: Text<'a>,
    invoked_by: Text<'a>,
    session_context: Obj<SessionContext>,
    /// IAM Identity Center: the directory user a sign-in is for (`onBehalfOf.userId`).
    on_behalf_of: Text<'a>,
}

impl<'a> Identity<'a> {
    fn scan(s: &mut Scanner<'a>) -> Result<Obj<Identity<'a>>, ScanError> {
        let mut id = Identity::default();
        let is_object = s.object(|s, key| {
            match key {
                "type" => id.kind = s.text()?,
                "principalId" => id.principal_id = s.text()?,
                "arn" => id.arn = s.text()?,
                "accountId" => id.account_id = s.text()?,
                "accessKeyId" => id.access_key_id = s.text()?,
                "userName" => id.user_name = s.text()?,
                "invokedBy" => id.invoked_by = s.text()?,
                "sessionContext" => id.session_context = SessionContext::scan(s)?,
                "onBehalfOf" => {
                    s.object(|s, key| match key {
                        "userId" => {
                            id.on_behalf_of = s.text()?;
                            Ok(())
                        }
                        _ => s.skip(),
                    })?;
                }
                _ => s.skip()?,
            }
            Ok::<(), ScanError>(())
        })?;
        Ok(Obj(is_object.then_some(id)))
    }
}

#[derive(Default)]
struct SessionContext {
    attributes: Obj<Attributes>,
}

impl SessionContext {
    fn scan(s: &mut Scanner<'_>) -> Result<Obj<SessionContext>, ScanError> {
        let mut context = SessionContext::default();
        let is_object = s.object(|s, key| {
            if key != "attributes" {
                return s.skip();
            }
            let mut attributes = Attributes::default();
            let is_object = s.object(|s, key| {
                match key {
                    "mfaAuthenticated" => {
                        attributes.mfa_authenticated = Bool(s.boolean(parse_bool)?);
                    }
                    _ => s.skip()?,
                }
                Ok::<(), ScanError>(())
            })?;
            context.attributes = Obj(is_object.then_some(attributes));
            Ok(())
        })?;
        Ok(Obj(is_object.then_some(context)))
    }
}

#[derive(Default)]
struct Attributes {
    mfa_authenticated: Bool,
}

/// The `requestParameters` keys read; most name a target, the rest matter to detections.
#[rustfmt::skip]
#[derive(Deserialize, Clone, Copy, PartialEq, Eq, Default, Debug)]
#[serde(field_identifier, rename_all = "camelCase")]
enum Param {
    // Targets, in the order `resource` prefers them.
    UserName, RoleName, GroupName, PolicyArn, BucketName, TrailName, Name, FunctionName,
    StackName, SecretId, InstanceId, Target, KeyId,
    #[serde(rename = "dBInstanceIdentifier")] DbInstance,
    #[serde(rename = "dBClusterIdentifier")] DbCluster,
    #[serde(rename = "dBSnapshotIdentifier")] DbSnapshot,
    SnapshotId, ImageId, VolumeId, GroupId, LogGroupName, DetectorId, SerialNumber, RoleArn,
    PolicyName, ModelId, ResourceArn, PrincipalId, ConfigurationRecorderName, KeyName,
    // Details only.
    AccessKeyId, #[serde(rename = "key")] ObjectKey, VersionId, SetAsDefault, AttributeType,
    AttributeName, Attribute, Principal, WithDecryption, Enable, PasswordResetRequired,
    EnableLogFileValidation, IsMultiRegionTrail, IncludeGlobalServiceEvents, S3BucketName,
    CidrIp, FromPort, ToPort, InstanceType, DocumentName, PendingWindowInDays,
    // IAM Identity Center account assignments: which permission set, in which account.
    PermissionSetArn, TargetId, PrincipalType,
    // Structured values, kept apart.
    InstancesSet, InstanceIds, Names, ValuesToAdd, LaunchPermission, CreateVolumePermission,
    EventSelectors, BucketPolicy, Layers, SecretIdList, UserData, Targets,
    // Resource and trust policies, as JSON text or as an object: IAM, KMS, ECR, OpenSearch,
    // Secrets Manager, and SQS/SNS `attributes.Policy`.
    PolicyDocument, Policy, AssumeRolePolicyDocument, PolicyText, AccessPolicies,
    ResourcePolicy, Attributes,
    // S3 lifecycle rules: how soon objects expire.
    #[serde(rename = "LifecycleConfiguration")] LifecycleConfiguration,
    #[default] #[serde(other)] Other,
}

/// Scalar request parameters kept per record; more than a call ever has of [`Param`].
const SLOTS: usize = 8;

/// The request parameters, compact: scalars as (key, text) slots, structured values apart.
#[derive(Default)]
struct Params<'a> {
    slots: [(Param, Text<'a>); SLOTS],
    len: usize,
    instances: Obj<Items<'a>>,
    /// `instanceIds`, `names`, `valuesToAdd`, `layers` or `secretIdList`.
    list: (Param, Many<Text<'a>>),
    /// ModifyInstanceAttribute: the instance's user data (its boot script) is replaced.
    user_data: bool,
    /// `launchPermission` or `createVolumePermission`.
    permission: Option<(&'static str, Box<Obj<PermissionChange<'a>>>)>,
    /// PutEventSelectors: a selector drops management events / reads or writes only.
    management_off: bool,
    read_write: Text<'a>,
    bucket_policy: Option<Box<Policy<'a>>>,
    /// The other policy documents of the request.
    policies: Vec<PolicyDoc<'a>>,
    /// PutBucketLifecycle: the fewest days after which an enabled rule expires objects.
    expiration_days: Option<u32>,
}

impl<'a> Params<'a> {
    fn slot(&self, key: Param) -> Option<&Text<'a>> {
        let mut used = self.slots.iter().take(self.len);
        used.find(|(k, _)| *k == key).map(|(_, text)| text)
    }

    fn get(&self, key: Param) -> Option<&str> {
        self.slot(key)?.get()
    }

    /// The first of `keys` present, borrowed from the record.
    fn first(&self, keys: &[Param]) -> Option<Cow<'a, str>> {
        keys.iter().find_map(|k| self.slot(*k)?.0.clone())
    }

    fn list(&self, key: Param) -> Option<&Many<Text<'a>>> {
        (self.list.0 == key).then_some(&self.list.1)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Params<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Params<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("request parameters")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Params<'a>, A::Error> {
                let mut p = Params::default();
                while let Some(key) = map.next_key::<Param>()? {
                    match key {
                        Param::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                        Param::InstancesSet => p.instances = map.next_value()?,
                        Param::InstanceIds
                        | Param::Names
                        | Param::ValuesToAdd
                        | Param::Layers
                        | Param::SecretIdList => {
                            p.list = (key, map.next_value()?);
                        }
                        Param::UserData => {
                            map.next_value::<IgnoredAny>()?;
                            p.user_data = true;
                        }
                        // SSM SendCommand by targets: the instances named, else the first
                        // target as `key=values` (a tag, a resource group).
                        Param::Targets => {
                            let targets: Many<Obj<TargetSpec>> = map.next_value()?;
                            let first = targets.first.and_then(|t| t.0);
                            match first {
                                Some(t)
                                    if t.key
                                        .get()
                                        .is_some_and(|k| k.eq_ignore_ascii_case("InstanceIds")) =>
                                {
                                    p.list = (Param::InstanceIds, t.values);
                                }
                                Some(t) => {
                                    let values = join_texts(&t.values);
                                    let target = match (t.key.get(), values) {
                                        (Some(k), Some(v)) => Some(Cow::Owned(format!("{k}={v}"))),
                                        (_, v) => v,
                                    };
                                    if let (Some(_), Some(slot)) = (&target, p.slots.get_mut(p.len))
                                    {
                                        *slot = (Param::Target, Text(target));
                                        p.len += 1;
                                    }
                                }
                                None => {}
                            }
                        }
                        Param::LaunchPermission | Param::CreateVolumePermission => {
                            let name = match key {
                                Param::LaunchPermission => "launchPermission",
                                _ => "createVolumePermission",
                            };
                            p.permission = Some((name, Box::new(map.next_value()?)));
                        }
                        Param::EventSelectors => {
                            let selectors: Many<Obj<Selector>> = map.next_value()?;
                            for s in selectors.iter().filter_map(|s| s.0.as_ref()) {
                                p.management_off |= s.include_management_events.0 == Some(false);
                                let rw = &s.read_write_type;
                                if !rw.get().is_none_or(|t| t.eq_ignore_ascii_case("All")) {
                                    p.read_write = rw.clone();
                                }
                            }
                        }
                        Param::BucketPolicy => {
                            let policy: Obj<Policy> = map.next_value()?;
                            p.bucket_policy = policy.0.map(Box::new);
                        }
                        Param::PolicyDocument
                        | Param::Policy
                        | Param::AssumeRolePolicyDocument
                        | Param::PolicyText
                        | Param::AccessPolicies
                        | Param::ResourcePolicy => p.policies.push(map.next_value()?),
                        Param::LifecycleConfiguration => {
                            let config: Obj<Lifecycle> = map.next_value()?;
                            p.expiration_days = config.0.and_then(|c| c.shortest_expiration());
                        }
                        Param::Attributes => {
                            let attributes: Obj<PolicyAttribute> = map.next_value()?;
                            if let Some(a) = attributes.0 {
                                p.policies.push(a.policy);
                            }
                        }
                        _ => {
                            let value: Text = map.next_value()?;
                            if let (Some(_), Some(slot)) = (&value.0, p.slots.get_mut(p.len)) {
                                *slot = (key, value);
                                p.len += 1;
                            }
                        }
                    }
                }
                Ok(p)
            }
        }
        deserializer.deserialize_map(V(PhantomData))
    }
}

/// An SSM `targets` element: `{"key": "InstanceIds" | "tag:Name" | ..., "values": [...]}`.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct TargetSpec<'a> {
    key: Text<'a>,
    values: Many<Text<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Items<'a> {
    items: Many<Obj<Item<'a>>>,
}

/// An element of an EC2 `items` list: an instance, or a permission grantee.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Item<'a> {
    instance_id: Text<'a>,
    user_id: Text<'a>,
    group: Text<'a>,
}

impl<'a> Item<'a> {
    fn id(&self) -> Option<&str> {
        self.instance_id
            .get()
            .or(self.user_id.get())
            .or(self.group.get())
    }
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct PermissionChange<'a> {
    add: Obj<Items<'a>>,
}

/// An S3 `LifecycleConfiguration`: its rules, one object or a list.
#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Lifecycle<'a> {
    #[serde(rename = "Rule")]
    rule: Many<Obj<LifecycleRule<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct LifecycleRule<'a> {
    #[serde(rename = "Status")]
    status: Text<'a>,
    #[serde(rename = "Expiration")]
    expiration: Obj<Expiration<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Expiration<'a> {
    #[serde(rename = "Days")]
    days: Text<'a>,
}

impl Lifecycle<'_> {
    /// The fewest days after which an enabled rule expires current objects (a disabled
    /// rule deletes nothing; `NoncurrentVersionExpiration` only old versions).
    fn shortest_expiration(&self) -> Option<u32> {
        let rules = self.rule.iter().filter_map(|r| r.0.as_ref());
        let enabled = rules.filter(|r| {
            r.status
                .get()
                .is_some_and(|s| s.eq_ignore_ascii_case("Enabled"))
        });
        let days = enabled.filter_map(|r| r.expiration.0.as_ref()?.days.get()?.trim().parse().ok());
        days.min()
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Selector<'a> {
    include_management_events: Bool,
    read_write_type: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Response<'a> {
    #[serde(rename = "ConsoleLogin")]
    console_login: Text<'a>,
    /// The console's password change: `Success` or `Failure`.
    #[serde(rename = "PasswordUpdated")]
    password_updated: Text<'a>,
    access_key: Obj<AccessKey<'a>>,
    /// RunInstances: the instances created.
    instances_set: Obj<Box<Items<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct AccessKey<'a> {
    user_name: Text<'a>,
    access_key_id: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Additional<'a> {
    #[serde(rename = "MFAUsed")]
    mfa_used: Text<'a>,
    #[serde(rename = "SamlProviderArn")]
    saml_provider: Text<'a>,
    /// IAM Identity Center sign-ins: the user's name (the identity has an empty ARN).
    #[serde(rename = "UserName")]
    user_name: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct ResourceRef<'a> {
    #[serde(rename = "ARN")]
    arn: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase", bound(deserialize = "'de: 'a"))]
struct Insight<'a> {
    state: Text<'a>,
    event_source: Text<'a>,
    event_name: Text<'a>,
    insight_type: Text<'a>,
    error_code: Text<'a>,
}

/// An IAM policy document, as far as detections care.
#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Policy<'a> {
    #[serde(rename = "Statement")]
    statement: Many<Obj<Statement<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct Statement<'a> {
    #[serde(rename = "Effect")]
    effect: Text<'a>,
    #[serde(rename = "Action")]
    action: Many<Text<'a>>,
    #[serde(rename = "Resource")]
    resource: Many<Text<'a>>,
    #[serde(rename = "Principal")]
    principal: Principal<'a>,
    #[serde(rename = "Condition")]
    condition: Obj<Condition>,
}

#[derive(Deserialize, Default)]
#[serde(default, bound(deserialize = "'de: 'a"))]
struct PrincipalMap<'a> {
    #[serde(rename = "AWS")]
    aws: Many<Text<'a>>,
}

// ---------------------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------------------

/// The nested objects of a record; absent ones are empty.
#[derive(Clone, Copy)]
struct Parts<'p, 'a> {
    identity: &'p Identity<'a>,
    params: &'p Params<'a>,
    response: &'p Response<'a>,
    additional: &'p Additional<'a>,
    insight: &'p Insight<'a>,
}

/// Stand-ins for absent objects, so that the common case (no `requestParameters`, no
/// `additionalEventData`) builds nothing.
static NO_IDENTITY: LazyLock<Identity<'static>> = LazyLock::new(Identity::default);
static NO_PARAMS: LazyLock<Params<'static>> = LazyLock::new(Params::default);
static NO_RESPONSE: LazyLock<Response<'static>> = LazyLock::new(Response::default);
static NO_ADDITIONAL: LazyLock<Additional<'static>> = LazyLock::new(Additional::default);
static NO_INSIGHT: LazyLock<Insight<'static>> = LazyLock::new(Insight::default);

impl<'a> Record<'a> {
    fn to_event(&self) -> Result<Event<'a>, RecordError> {
        let r = self;
        let has_identity = r.user_identity.0.is_some();
        let known_type = r.event_type.get().is_some_and(|t| EVENT_TYPES.contains(&t));
        if !has_identity && !known_type && r.event_version.0.is_none() && r.event_source.0.is_none()
        {
            return Err(RecordError::NotThisFormat);
        }
        let time = record_time(r.event_time.get(), r.logstash_time.get())?;
        let parts = Parts {
            identity: r.user_identity.0.as_ref().unwrap_or(&NO_IDENTITY),
            params: r.request_parameters.0.as_ref().unwrap_or(&NO_PARAMS),
            response: r.response_elements.0.as_ref().unwrap_or(&NO_RESPONSE),
            additional: r.additional_event_data.0.as_ref().unwrap_or(&NO_ADDITIONAL),
            insight: r.insight_details.0.as_deref().unwrap_or(&NO_INSIGHT),
        };
        let Parts {
            identity,
            params,
            response,
            additional,
            insight,
        } = parts;
        let (event_type, event_name, event_source) =
            (&r.event_type, &r.event_name, &r.event_source);
        let kind = event_type.get();
        let is_insight = kind == Some("AwsCloudTrailInsight");
        let action_name = event_name.get().unwrap_or_default();
        let source = event_source.get().unwrap_or_default();
        // Records before eventVersion 1.08 have no `eventType`; a console sign-in is still
        // a person at a browser.
        let console = r.session_credential_from_console.0 == Some(true)
            || kind == Some("AwsConsoleSignIn")
            || (action_name == "ConsoleLogin" && source == "signin.amazonaws.com");

        let log_type = match is_insight {
            true => Cow::Borrowed("insight"),
            false => log_type(r.event_category.get()),
        };
        // A few services (Amazon Managed Grafana) put an HTTP status in `errorCode`: a 2xx
        // is not an error.
        let error_code = r.error_code.get().filter(|code| !is_http_success(code));
        let console_failed = response.console_login.get() == Some("Failure")
            || response.password_updated.get() == Some("Failure")
            || r.step_failed;
        let outcome = if is_insight {
            Outcome::Unknown
        } else if error_code.is_some() || r.error_message.0.is_some() || console_failed {
            Outcome::Failure
        } else {
            Outcome::Success
        };
        let mfa = additional.mfa_used.get().and_then(parse_bool).or_else(|| {
            let context = identity.session_context.0.as_ref()?;
            context.attributes.0.as_ref()?.mfa_authenticated.0
        });
        let read_only = r.read_only.0.or_else(|| {
            (!is_insight && !action_name.is_empty()).then(|| looks_read_only(action_name))
        });
        let resource = match is_insight {
            true => insight.event_name.0.clone(),
            false => resource(action_name, params, response, &r.resources),
        };
        let account = r
            .recipient_account_id
            .0
            .clone()
            .or_else(|| identity.account_id.0.clone().filter(|a| a != ANONYMOUS));
        let details = details(&parts, action_name, source, kind, account.as_deref());
        let action = event_name
            .0
            .clone()
            .or_else(|| insight.insight_type.0.clone());
        let service = (event_source.0.clone())
            .or_else(|| insight.event_source.0.clone())
            .map(strip_service);
        let error = (r.error_code.0.clone())
            .filter(|_| error_code.is_some())
            .or_else(|| r.error_message.0.clone().map(short_message));

        Ok(Event {
            time: Some(time),
            provider: "aws",
            log_type,
            event_id: r.event_id.0.clone(),
            actor: actor(identity, additional, r.aws_region.get()),
            actor_type: actor_type(has_identity, identity, console, signs_in(source)),
            actor_id: None,
            action,
            service,
            resource,
            src_ip: r.source_ip.0.clone().map(first_address),
            user_agent: r.user_agent.0.clone(),
            region: r.aws_region.0.clone(),
            country: None,
            city: None,
            outcome,
            error,
            mfa,
            session: identity.access_key_id.0.clone(),
            correlation_id: None,
            read_only,
            account,
            details,
            completeness: None,
        })
    }
}

/// `eventTime`, else the Logstash `@timestamp` (OTRF re-emits drop `eventTime`).
fn record_time(event_time: Option<&str>, logstash: Option<&str>) -> Result<i64, RecordError> {
    if let Some(t) = event_time
        .and_then(parse_rfc3339)
        .or_else(|| logstash.and_then(parse_rfc3339))
    {
        return Ok(t);
    }
    Err(RecordError::Invalid(match event_time.or(logstash) {
        Some(bad) => format!(
            "CloudTrail eventTime is not a valid time: {:?}",
            cut(bad, 40)
        ),
        None => "CloudTrail record has no eventTime".to_owned(),
    }))
}

fn log_type(category: Option<&str>) -> Cow<'static, str> {
    let Some(category) = category else {
        return Cow::Borrowed("management");
    };
    for known in ["management", "data", "insight", "networkactivity"] {
        if category.eq_ignore_ascii_case(known) {
            return Cow::Borrowed(known);
        }
    }
    Cow::Owned(category.to_ascii_lowercase())
}

fn is_anonymous(id: &Identity) -> bool {
    id.principal_id.get() == Some(ANONYMOUS) || id.account_id.get() == Some(ANONYMOUS)
}

fn actor<'a>(
    id: &Identity<'a>,
    additional: &Additional<'a>,
    region: Option<&str>,
) -> Option<Cow<'a, str>> {
    if is_anonymous(id) {
        return Some(Cow::Borrowed(ANONYMOUS));
    }
    let named = || {
        nonempty(&id.arn)
            .or_else(|| nonempty(&id.user_name))
            .or_else(|| nonempty(&id.principal_id))
    };
    match id.kind.get() {
        // Identity Center sign-ins carry an empty ARN: the user's name is in the event data.
        Some("IdentityCenterUser") => nonempty(&additional.user_name)
            .or_else(named)
            .or_else(|| nonempty(&id.on_behalf_of)),
        // Service events may carry only `invokedBy`, without a type.
        Some("AWSService") | None => id.invoked_by.0.clone().or_else(named),
        // Same text as the ARN other root records carry, so per-actor baselines merge.
        Some("Root") if id.arn.0.is_none() => Some(match id.account_id.get() {
            Some(account) => Cow::Owned(format!("arn:{}:iam::{account}:root", partition(region))),
            None => Cow::Borrowed("root"),
        }),
        // A failed console sign-in or MFA check names the user without an ARN; the ARN its
        // successful sign-ins carry (without an IAM path, which the record does not give),
        // so one person's failures and successes are one actor.
        Some("IAMUser") if nonempty(&id.arn).is_none() => {
            match (id.account_id.get(), id.user_name.get()) {
                (Some(account), Some(user)) if !user.is_empty() && user != HIDDEN_USER => {
                    Some(Cow::Owned(format!(
                        "arn:{}:iam::{account}:user/{user}",
                        partition(region)
                    )))
                }
                _ => named(),
            }
        }
        Some("AWSAccount") => named().or_else(|| id.account_id.0.clone()),
        _ => named(),
    }
}

/// The AWS partition of a region (`arn:<partition>:...`).
fn partition(region: Option<&str>) -> &'static str {
    match region.unwrap_or_default() {
        r if r.starts_with("us-gov-") => "aws-us-gov",
        r if r.starts_with("cn-") => "aws-cn",
        r if r.starts_with("us-isob-") => "aws-iso-b",
        r if r.starts_with("us-iso-") => "aws-iso",
        _ => "aws",
    }
}

/// Whether the event source is a sign-in service (AWS sign-in, IAM Identity Center): its
/// callers are people signing in.
fn signs_in(source: &str) -> bool {
    matches!(
        source,
        "signin.amazonaws.com" | "sso.amazonaws.com" | "sso-oauth.amazonaws.com"
    )
}

/// `sign_in`: a sign-in service's event, where a caller of type `Unknown` (an IAM Identity
/// Center user before the sign-in completes) is a person.
fn actor_type(present: bool, id: &Identity, console: bool, sign_in: bool) -> ActorType {
    if is_anonymous(id) {
        return ActorType::Anonymous;
    }
    if !present {
        return ActorType::Unknown;
    }
    match id.kind.get() {
        Some("Root") => ActorType::Root,
        Some("IAMUser" | "FederatedUser" | "SAMLUser" | "IdentityCenterUser") => ActorType::Human,
        Some("AssumedRole") if console || assumed_role_is_person(id) => ActorType::Human,
        Some("Unknown") if sign_in && nonempty(&id.user_name).is_some() => ActorType::Human,
        Some("AssumedRole" | "WebIdentityUser") => ActorType::Service,
        Some("AWSService" | "AWSAccount") => ActorType::System,
        None if id.invoked_by.0.is_some() => ActorType::System,
        _ => ActorType::Unknown,
    }
}

/// An assumed-role session is a person when its session name is an e-mail address or the
/// role is an IAM Identity Center (SSO) permission-set role.
fn assumed_role_is_person(id: &Identity) -> bool {
    // arn:aws:sts::<account>:assumed-role/<role>/<session>; the role is the session issuer's name.
    let arn = id.arn.get().and_then(|arn| arn.splitn(6, ':').nth(5));
    let path = arn.and_then(|resource| resource.strip_prefix("assumed-role/"));
    let (role, session) = match path.map(|p| p.split_once('/').ok_or(p)) {
        Some(Ok((role, session))) => (Some(role), Some(session)),
        Some(Err(session)) => (None, Some(session)),
        None => (
            None,
            id.principal_id
                .get()
                .and_then(|p| p.split_once(':'))
                .map(|(_, s)| s),
        ),
    };
    let email = session.and_then(|s| s.split_once('@'));
    let email = email.is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'));
    email || role.is_some_and(|r| r.starts_with("AWSReservedSSO_"))
}

/// A text unless empty.
fn nonempty<'a>(text: &Text<'a>) -> Option<Cow<'a, str>> {
    text.0.clone().filter(|t| !t.is_empty())
}

/// Whether an `errorCode` is an HTTP success status (`200`), which some services write there.
fn is_http_success(code: &str) -> bool {
    code.len() == 3 && code.starts_with('2') && code.bytes().all(|b| b.is_ascii_digit())
}

/// The caller's address of a `sourceIPAddress` that lists a chain (`81.2.69.142,
/// 192.168.10.10`, as a proxy writes it): the first.
fn first_address(source: Cow<'_, str>) -> Cow<'_, str> {
    let end = match source.split_once(',') {
        Some((first, _)) if first.trim().parse::<std::net::IpAddr>().is_ok() => first.len(),
        _ => return source,
    };
    match source {
        Cow::Borrowed(s) => Cow::Borrowed(s[..end].trim()),
        Cow::Owned(s) => Cow::Owned(s[..end].trim().to_string()),
    }
}

/// The account field of an ARN (`arn:aws:iam::<account>:...`).
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// The target of the call, best effort; for grants and credentials, who received them.
fn resource<'a>(
    action: &str,
    p: &Params<'a>,
    response: &Response<'a>,
    resources: &First<Obj<ResourceRef<'a>>>,
) -> Option<Cow<'a, str>> {
    if action.starts_with("AssumeRole")
        && let Some(role) = p.first(&[Param::RoleArn])
    {
        return Some(role);
    }
    if action == "CreateAccessKey" && p.slot(Param::UserName).is_none() {
        let key_owner = response.access_key.0.as_ref();
        if let Some(owner) = key_owner.and_then(|k| k.user_name.0.clone()) {
            return Some(owner);
        }
    }
    use Param::*;
    #[rustfmt::skip]
    let named = [UserName, RoleName, GroupName, PolicyArn, BucketName, TrailName, Name,
        FunctionName, StackName, SecretId, InstanceId];
    let requested = p.instances.0.as_ref().map(|s| &s.items);
    let created = response.instances_set.0.as_ref().map(|s| &s.items);
    #[rustfmt::skip]
    let other = [Target, KeyId, DbInstance, DbCluster, DbSnapshot, SnapshotId, ImageId, VolumeId,
        GroupId, LogGroupName, DetectorId, SerialNumber, RoleArn, PolicyName, ModelId, ResourceArn,
        PrincipalId, ConfigurationRecorderName, KeyName];
    p.first(&named)
        .or_else(|| requested.and_then(join_items))
        .or_else(|| created.and_then(join_items))
        .or_else(|| p.list(InstanceIds).and_then(join_texts))
        .or_else(|| p.first(&other))
        .or_else(|| p.list(Names).and_then(join_texts))
        .or_else(|| p.list(SecretIdList).and_then(join_texts))
        .or_else(|| resources.0.as_ref()?.0.as_ref()?.arn.0.clone())
}

/// The ids of an EC2 `items` list, comma separated; borrowed when there is one.
fn join_items<'a>(items: &Many<Obj<Item<'a>>>) -> Option<Cow<'a, str>> {
    if items.rest.is_empty() {
        let item = items.first.as_ref()?.0.as_ref()?;
        return [&item.instance_id, &item.user_id, &item.group]
            .iter()
            .find_map(|t| t.0.clone());
    }
    let ids = items.iter().filter_map(|i| i.0.as_ref()?.id());
    join(ids, items.len())
}

fn join_texts<'a>(texts: &Many<Text<'a>>) -> Option<Cow<'a, str>> {
    match texts.rest.is_empty() {
        true => texts.first.as_ref()?.0.clone(),
        false => join(texts.iter().filter_map(Text::get), texts.len()),
    }
}

/// Up to `LIST_MAX` values joined by commas, with `,...` when there were more.
fn join<'s, 'a>(values: impl Iterator<Item = &'s str>, total: usize) -> Option<Cow<'a, str>> {
    let mut out = String::new();
    for v in values.take(LIST_MAX) {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(v);
    }
    if total > LIST_MAX {
        out.push_str(",...");
    }
    (!out.is_empty()).then_some(Cow::Owned(out))
}

/// The `key=value` pairs detections need, in a fixed order (the list below is the contract).
fn details(
    parts: &Parts,
    action: &str,
    source: &str,
    kind: Option<&str>,
    account: Option<&str>,
) -> Option<Cow<'static, str>> {
    let Parts {
        identity: id,
        params: p,
        response,
        additional,
        insight,
    } = parts;
    let event_type = kind.filter(|t| *t != "AwsApiCall");
    let typed = id.kind.get().is_some_and(|kind| kind != "AWSService");
    let invoked_by = id.invoked_by.get().filter(|_| typed);
    let key_owner = response.access_key.0.as_ref();
    let user_name = p.get(Param::UserName).or_else(|| {
        let created_key = action == "CreateAccessKey";
        created_key.then(|| key_owner?.user_name.get()).flatten()
    });
    let access_key = p
        .get(Param::AccessKeyId)
        .or_else(|| key_owner?.access_key_id.get())
        .filter(|_| source == "iam.amazonaws.com");
    let cross_account = p.get(Param::RoleArn).and_then(|role| {
        let caller = id.account_id.get()?;
        (arn_account(role)? != caller).then_some("true")
    });
    let trail = (source == "cloudtrail.amazonaws.com")
        .then(|| p.get(Param::TrailName).or(p.get(Param::Name)))
        .flatten();
    let (attribute, added) = permission_change(p);
    let instances = p.instances.0.as_ref().map_or(0, |s| s.items.len());
    let instances = (instances > 1).then(|| instances.to_string());
    let policy = PolicyFacts::of(p, account);
    let port = |key| p.get(key).filter(|_| p.slot(Param::CidrIp).is_some());
    // How many names or secrets one call reads (the target lists only the first few).
    let listed = [Param::Names, Param::SecretIdList]
        .iter()
        .find_map(|k| p.list(*k))
        .map(|l| l.len().to_string());
    let layers = p.list(Param::Layers).and_then(join_texts);
    let expiration = p.expiration_days.map(|d| d.to_string());
    use Param::*;

    let mut d = Details(String::new());
    d.add("eventType", event_type);
    d.add("invokedBy", invoked_by);
    d.add("MFAUsed", additional.mfa_used.get());
    d.add("samlProvider", additional.saml_provider.get());
    d.add("userName", user_name);
    d.add("roleName", p.get(RoleName));
    d.add("groupName", p.get(GroupName));
    d.add("policyArn", p.get(PolicyArn));
    d.add("policyName", p.get(PolicyName));
    d.add("versionId", p.get(VersionId));
    d.add("setAsDefault", p.get(SetAsDefault));
    d.add("roleArn", p.get(RoleArn));
    d.add("crossAccount", cross_account);
    d.add("trailName", trail);
    d.add(
        "includeManagementEvents",
        p.management_off.then_some("false"),
    );
    d.add("readWriteType", p.read_write.get());
    d.add("enableLogFileValidation", p.get(EnableLogFileValidation));
    d.add("isMultiRegionTrail", p.get(IsMultiRegionTrail));
    d.add(
        "includeGlobalServiceEvents",
        p.get(IncludeGlobalServiceEvents),
    );
    d.add("s3BucketName", p.get(S3BucketName));
    d.add("expirationDays", expiration.as_deref());
    d.add("enable", p.get(Enable));
    d.add("attribute", attribute);
    d.add("add", added.as_deref());
    d.add("principal", p.get(Principal));
    d.add("cidrIp", p.get(CidrIp));
    d.add("fromPort", port(FromPort));
    d.add("toPort", port(ToPort));
    d.add("withDecryption", p.get(WithDecryption));
    d.add("count", listed.as_deref());
    d.add("instanceType", p.get(InstanceType));
    d.add("documentName", p.get(DocumentName));
    d.add("pendingWindowInDays", p.get(PendingWindowInDays));
    d.add("layers", layers.as_deref());
    d.add("userData", p.user_data.then_some("replaced"));
    d.add("accessKeyId", access_key);
    d.add("passwordResetRequired", p.get(PasswordResetRequired));
    d.add("serialNumber", p.get(SerialNumber));
    d.add("key", p.get(ObjectKey));
    d.add("instances", instances.as_deref());
    d.add("allowsAll", policy.allows_all.then_some("true"));
    d.add("public", policy.public.then_some("true"));
    d.add("externalPrincipals", policy.external.as_deref());
    // An Identity Center assignment is one (principal, permission set, account): its
    // grant and its removal pair on all three.
    let sso = |key| p.get(key).filter(|_| source == "sso.amazonaws.com");
    d.add("permissionSetArn", sso(PermissionSetArn));
    d.add("targetId", sso(TargetId));
    d.add("principalType", sso(PrincipalType));
    d.add("insightState", insight.state.get());
    d.add("errorCode", insight.error_code.get());
    match d.0.len() {
        0 => None,
        n if n <= DETAILS_MAX => Some(Cow::Owned(d.0)),
        _ => Some(Cow::Owned(cut_pairs(&d.0, DETAILS_MAX).to_owned())),
    }
}

/// Builds `details` exactly like the shared `details_from` (`key=value`, space separated,
/// empty values skipped), without building a pair array for every record.
struct Details(String);

impl Details {
    fn add(&mut self, key: &str, value: Option<&str>) {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return;
        };
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        self.0.push_str(key);
        self.0.push('=');
        self.0.push_str(value);
    }
}

/// The EC2 attribute changed and who was added: `launchPermission` / `createVolumePermission`
/// grants (ModifyImageAttribute, ModifySnapshotAttribute) or RDS `valuesToAdd`.
fn permission_change<'p>(p: &'p Params) -> (Option<&'p str>, Option<Cow<'static, str>>) {
    if let Some((name, change)) = &p.permission {
        let items = change
            .0
            .as_ref()
            .and_then(|c| c.add.0.as_ref())
            .map(|a| &a.items);
        let ids = items.and_then(|i| join(i.iter().filter_map(|i| i.0.as_ref()?.id()), i.len()));
        return (Some(name), ids);
    }
    let attribute = p.get(Param::AttributeType).or(p.get(Param::AttributeName));
    let added = p.list(Param::ValuesToAdd).and_then(join_texts);
    (
        attribute.or(p.get(Param::Attribute)),
        added.map(|v| Cow::Owned(v.into_owned())),
    )
}

/// What a policy document in the request grants: full admin, the public, other accounts.
#[derive(Default)]
struct PolicyFacts {
    allows_all: bool,
    public: bool,
    external: Option<String>,
}

impl PolicyFacts {
    fn of(p: &Params, account: Option<&str>) -> Self {
        let mut facts = Self::default();
        for document in &p.policies {
            match document {
                PolicyDoc::Text(text) => {
                    if let Some(policy) = from_json_str::<Policy>(text) {
                        facts.add(&policy, account);
                    }
                }
                PolicyDoc::Object(policy) => facts.add(policy, account),
                PolicyDoc::Absent => {}
            }
        }
        if let Some(policy) = p.bucket_policy.as_deref() {
            facts.add(policy, account);
        }
        facts
    }

    fn add(&mut self, policy: &Policy, account: Option<&str>) {
        for st in policy.statement.iter().filter_map(|s| s.0.as_ref()) {
            if st.effect.get() != Some("Allow") {
                continue;
            }
            if any_of(&st.action, &["*", "*:*", "iam:*"]) && any_of(&st.resource, &["*"]) {
                self.allows_all = true;
            }
            let principals = st.principal.0.iter().filter_map(Text::get);
            for principal in principals {
                if principal == "*" {
                    self.public |= !st.condition.0.as_ref().is_some_and(|c| c.restrictive);
                    continue;
                }
                let other = arn_account(principal).unwrap_or(principal);
                let external = account.is_none_or(|a| a != other);
                let listed = self.external.get_or_insert_with(String::new);
                if external && listed.len() < 150 && !listed.contains(principal) {
                    if !listed.is_empty() {
                        listed.push(',');
                    }
                    listed.push_str(principal);
                }
            }
        }
        if self.external.as_deref() == Some("") {
            self.external = None;
        }
    }
}

fn any_of(list: &Many<Text>, wanted: &[&str]) -> bool {
    list.iter()
        .filter_map(Text::get)
        .any(|v| wanted.contains(&v))
}

fn strip_service(source: Cow<'_, str>) -> Cow<'_, str> {
    match source {
        Cow::Borrowed(s) => Cow::Borrowed(s.strip_suffix(".amazonaws.com").unwrap_or(s)),
        Cow::Owned(s) => Cow::Owned(s.strip_suffix(".amazonaws.com").unwrap_or(&s).to_owned()),
    }
}

/// An error message cut to a short reason.
fn short_message(message: Cow<'_, str>) -> Cow<'_, str> {
    match message {
        Cow::Borrowed(s) => Cow::Borrowed(cut(s.trim(), 80)),
        Cow::Owned(s) => Cow::Owned(cut(s.trim(), 80).to_owned()),
    }
}

/// Cuts `key=value` pairs to at most `max` bytes, dropping the pair that would straddle it.
fn cut_pairs(s: &str, max: usize) -> &str {
    let head = cut(s, max);
    match head.rfind(' ') {
        Some(space) => head.get(..space).unwrap_or(head),
        None => head,
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    let is = |words: [&str; 3]| words.iter().any(|w| s.trim().eq_ignore_ascii_case(w));
    match (is(["true", "yes", "1"]), is(["false", "no", "0"])) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Lenient containers: a wrong type costs the field, never the record
// ---------------------------------------------------------------------------------------

/// Visitor methods that accept the JSON types a visitor does not use, giving `$default`.
macro_rules! otherwise {
    ($default:expr; $($kind:ident),*) => { $(otherwise!(@$kind $default);)* };
    (@bool $d:expr) => { fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> { Ok($d) } };
    (@i64 $d:expr) => { fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> { Ok($d) } };
    (@u64 $d:expr) => { fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> { Ok($d) } };
    (@f64 $d:expr) => { fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> { Ok($d) } };
    (@str $d:expr) => { fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> { Ok($d) } };
    (@unit $d:expr) => { fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> { Ok($d) } };
    (@seq $d:expr) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok($d)
        }
    };
    (@map $d:expr) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok($d)
        }
    };
}

/// A boolean from `true`, `"true"`, `"Yes"`, `1`...; like the shared `Flag`, without
/// allocating (`readOnly` and `mfaAuthenticated` are on nearly every record).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Bool(Option<bool>);

impl<'de> Deserialize<'de> for Bool {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Bool;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Bool, E> {
                Ok(Bool(Some(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Bool, E> {
                Ok(Bool(parse_bool(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Bool, E> {
                Ok(Bool(
                    [false, true].get(usize::try_from(v).unwrap_or(2)).copied(),
                ))
            }
            otherwise!(Bool(None); i64, f64, unit, seq, map);
        }
        deserializer.deserialize_any(V)
    }
}

/// A list that may also arrive as a lone value; elements are lenient types themselves
/// (`Text`, `Obj<_>`). The first element is kept inline: most lists hold one.
struct Many<T> {
    first: Option<T>,
    rest: Vec<T>,
}

impl<T> Default for Many<T> {
    fn default() -> Self {
        Self {
            first: None,
            rest: Vec::new(),
        }
    }
}

impl<T> Many<T> {
    fn iter(&self) -> impl Iterator<Item = &T> + Clone {
        self.first.iter().chain(&self.rest)
    }

    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }
}

/// Like [`Many`], keeping only the first element.
struct First<T>(Option<T>);

impl<T> Default for First<T> {
    fn default() -> Self {
        Self(None)
    }
}

/// Visits a list or a lone value, handing elements to `push` until it returns false.
struct ListVisitor<T, F>(F, PhantomData<T>);

impl<'de, T: Deserialize<'de>, F: FnMut(T) -> bool> Visitor<'de> for ListVisitor<T, F> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list")
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<T>()? {
            if !(self.0)(item) {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
            }
        }
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(mut self, map: A) -> Result<(), A::Error> {
        (self.0)(T::deserialize(MapAccessDeserializer::new(map))?);
        Ok(())
    }
    fn visit_borrowed_str<E: de::Error>(mut self, v: &'de str) -> Result<(), E> {
        (self.0)(T::deserialize(BorrowedStrDeserializer::<E>::new(v))?);
        Ok(())
    }
    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<(), E> {
        (self.0)(T::deserialize(StrDeserializer::<E>::new(v))?);
        Ok(())
    }
    otherwise!((); bool, i64, u64, f64, unit);
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Many<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut out = Many::default();
        let push = |item| {
            match out.first {
                None => out.first = Some(item),
                Some(_) => out.rest.push(item),
            }
            true
        };
        deserializer.deserialize_any(ListVisitor(push, PhantomData))?;
        Ok(out)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut first = None;
        let keep = |item| {
            first = Some(item);
            false
        };
        deserializer.deserialize_any(ListVisitor(keep, PhantomData))?;
        Ok(First(first))
    }
}

/// A policy `Principal`: `"*"`, or an object whose `AWS` member lists accounts and ARNs.
#[derive(Default)]
struct Principal<'a>(Many<Text<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Principal<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Principal<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a principal")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let star = Text((v == "*").then_some(Cow::Borrowed("*")));
                Ok(Principal(Many {
                    first: Some(star),
                    rest: Vec::new(),
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let m = PrincipalMap::deserialize(MapAccessDeserializer::new(map))?;
                Ok(Principal(m.aws))
            }
            otherwise!(Principal::default(); bool, i64, u64, f64, unit, seq);
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

/// A statement's `Condition`, as far as exposure goes: whether a key in it limits who can
/// use the grant (an organization, account, source network or principal), which a
/// condition on a shared value such as `sts:ExternalId` does not.
#[derive(Default)]
struct Condition {
    restrictive: bool,
}

/// The condition keys that tie a `Principal: *` grant to the owner's organization, accounts,
/// networks or principals (policyuniverse's categories, and Panther's organization keys).
const RESTRICTIVE_KEYS: [&str; 17] = [
    "aws:principalorgid",
    "aws:principalorgpaths",
    "aws:sourceorgid",
    "aws:sourceorgpaths",
    "aws:resourceorgid",
    "aws:principalaccount",
    "aws:sourceaccount",
    "aws:resourceaccount",
    "aws:sourceowner",
    "aws:sourcearn",
    "aws:principalarn",
    "aws:userid",
    "aws:username",
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "kms:calleraccount",
];

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// One operator's keys (`{"aws:SourceIp": [...]}`).
        struct Keys(bool);
        impl<'de> Deserialize<'de> for Keys {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = Keys;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("condition keys")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Keys, A::Error> {
                        let mut restrictive = false;
                        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                            map.next_value::<IgnoredAny>()?;
                            restrictive |=
                                RESTRICTIVE_KEYS.iter().any(|k| key.eq_ignore_ascii_case(k));
                        }
                        Ok(Keys(restrictive))
                    }
                    otherwise!(Keys(false); bool, i64, u64, f64, str, unit, seq);
                }
                deserializer.deserialize_any(V)
            }
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Condition;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a condition")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Condition, A::Error> {
                let mut restrictive = false;
                while let Some(Keys(r)) = map
                    .next_key::<IgnoredAny>()?
                    .map(|_| map.next_value::<Keys>())
                    .transpose()?
                {
                    restrictive |= r;
                }
                Ok(Condition { restrictive })
            }
            otherwise!(Condition::default(); bool, i64, u64, f64, str, unit, seq);
        }
        deserializer.deserialize_any(V)
    }
}

/// A policy document in a request: JSON text (IAM, ECR, KMS through the SDKs) or an object
/// (S3, KMS and SQS through the console, OpenSearch).
enum PolicyDoc<'a> {
    Text(Cow<'a, str>),
    Object(Box<Policy<'a>>),
    Absent,
}

impl<'de: 'a, 'a> Deserialize<'de> for PolicyDoc<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = PolicyDoc<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a policy document")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(PolicyDoc::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(PolicyDoc::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let policy = Policy::deserialize(MapAccessDeserializer::new(map))?;
                Ok(PolicyDoc::Object(Box::new(policy)))
            }
            otherwise!(PolicyDoc::Absent; bool, i64, u64, f64, unit, seq);
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

/// SQS `SetQueueAttributes` / SNS `CreateTopic` attributes: the access policy among them.
#[derive(Deserialize)]
#[serde(bound(deserialize = "'de: 'a"))]
struct PolicyAttribute<'a> {
    #[serde(rename = "Policy")]
    policy: PolicyDoc<'a>,
}

impl Default for PolicyAttribute<'_> {
    fn default() -> Self {
        PolicyAttribute {
            policy: PolicyDoc::Absent,
        }
    }
}

#[cfg(test)]
mod tests;
