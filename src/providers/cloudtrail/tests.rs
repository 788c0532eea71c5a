use super::*;

/// Parses a test record (kept alive for the test) into one line: `time provider log_type
/// event_id|actor|actor_type|action|service|resource|src_ip|user_agent|location|outcome|
/// error|mfa=|session|ro=|account|details`, `-` for none, to assert every column at once.
fn parse(json: &str) -> Result<String, RecordError> {
    let json: &'static str = Box::leak(json.to_owned().into_boxed_str());
    let e = CloudTrail.parse_json(json.as_bytes())?;
    let o = |v: &Option<Cow<str>>| v.as_deref().unwrap_or("-").to_owned();
    let b = |v: Option<bool>| v.map_or("-".to_owned(), |b| b.to_string());
    let head = format!(
        "{} {} {} {}",
        e.time.map_or(-1, |t| t / 1_000_000),
        e.provider,
        e.log_type,
        o(&e.event_id)
    );
    #[rustfmt::skip]
    let columns = [head, o(&e.actor), e.actor_type.as_str().into(), o(&e.action), o(&e.service), o(&e.resource), o(&e.src_ip), o(&e.user_agent), o(&e.region), e.outcome.as_str().into(), o(&e.error), format!("mfa={}", b(e.mfa)), o(&e.session), format!("ro={}", b(e.read_only)), o(&e.account), o(&e.details)];
    Ok(columns.join("|"))
}

const ALICE: &str = r#""userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLEALICE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLEALICE01","userName":"alice"}"#;

/// An API call by `identity` with these request parameters and extra top-level keys.
fn call(identity: &str, name: &str, source: &str, params: &str, extra: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09",{identity},"eventTime":"2024-07-31T12:46:41Z","eventSource":"{source}.amazonaws.com","eventName":"{name}","awsRegion":"eu-west-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.15.30","requestParameters":{params},"eventID":"e-1","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333","eventCategory":"Management"{extra}}}"#
    )
}

/// The line of a successful call by alice, around its action, service and resource.
fn alice(middle: &str, details: &str) -> String {
    let id = "1722430001 aws management e-1|arn:aws:iam::111122223333:user/alice|human";
    let rest = "203.0.113.7|aws-cli/2.15.30|eu-west-1|success|-|mfa=-|AKIAEXAMPLEALICE01|ro=false|111122223333";
    format!("{id}|{middle}|{rest}|{details}")
}

fn assumed(role: &str, session: &str) -> String {
    format!(
        r#""userIdentity":{{"type":"AssumedRole","principalId":"AROAEXAMPLE:{session}","arn":"arn:aws:sts::111122223333:assumed-role/{role}/{session}","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE0001","sessionContext":{{"sessionIssuer":{{"type":"Role","arn":"arn:aws:iam::111122223333:role/{role}","userName":"{role}"}},"attributes":{{"creationDate":"2024-07-31T12:00:00Z","mfaAuthenticated":"false"}}}}}}"#
    )
}

#[test]
fn calls_by_alice_name_targets_and_details() {
    #[rustfmt::skip]
    let cases = [
        ("AttachUserPolicy", "iam", r#"{"userName":"mallory","policyArn":"arn:aws:iam::aws:policy/AdministratorAccess"}"#, "", "mallory", "userName=mallory policyArn=arn:aws:iam::aws:policy/AdministratorAccess"),
        ("AttachRolePolicy", "iam", r#"{"roleName":"ci","policyArn":"arn:aws:iam::aws:policy/PowerUserAccess"}"#, "", "ci", "roleName=ci policyArn=arn:aws:iam::aws:policy/PowerUserAccess"),
        ("CreateAccessKey", "iam", "null", r#","responseElements":{"accessKey":{"userName":"alice","accessKeyId":"AKIAEXAMPLENEWKEY1"}}"#, "alice", "userName=alice accessKeyId=AKIAEXAMPLENEWKEY1"),
        ("CreateLoginProfile", "iam", r#"{"userName":"bob","passwordResetRequired":false}"#, "", "bob", "userName=bob passwordResetRequired=false"),
        ("AssumeRole", "sts", r#"{"roleArn":"arn:aws:iam::444455556666:role/Admin","roleSessionName":"x"}"#, "", "arn:aws:iam::444455556666:role/Admin", "roleArn=arn:aws:iam::444455556666:role/Admin crossAccount=true"),
        ("AssumeRole", "sts", r#"{"roleArn":"arn:aws:iam::111122223333:role/dev"}"#, "", "arn:aws:iam::111122223333:role/dev", "roleArn=arn:aws:iam::111122223333:role/dev"),
        ("PutEventSelectors", "cloudtrail", r#"{"trailName":"main","eventSelectors":[{"includeManagementEvents":false,"readWriteType":"ReadOnly"}]}"#, "", "main", "trailName=main includeManagementEvents=false readWriteType=ReadOnly"),
        ("StopLogging", "cloudtrail", r#"{"name":"arn:aws:cloudtrail:eu-west-1:111122223333:trail/main"}"#, "", "arn:aws:cloudtrail:eu-west-1:111122223333:trail/main", "trailName=arn:aws:cloudtrail:eu-west-1:111122223333:trail/main"),
        ("UpdateDetector", "guardduty", r#"{"detectorId":"d-1","enable":false}"#, "", "d-1", "enable=false"),
        ("ModifyImageAttribute", "ec2", r#"{"imageId":"ami-1","attributeType":"launchPermission","launchPermission":{"add":{"items":[{"group":"all"}]}}}"#, "", "ami-1", "attribute=launchPermission add=all"),
        ("ModifySnapshotAttribute", "ec2", r#"{"snapshotId":"snap-1","attributeType":"CREATE_VOLUME_PERMISSION","createVolumePermission":{"add":{"items":[{"userId":"999988887777"},{"userId":"444455556666"}]}}}"#, "", "snap-1", "attribute=createVolumePermission add=999988887777,444455556666"),
        ("ModifyDBSnapshotAttribute", "rds", r#"{"dBSnapshotIdentifier":"prod","attributeName":"restore","valuesToAdd":["all"]}"#, "", "prod", "attribute=restore add=all"),
        ("PutUserPolicy", "iam", r#"{"userName":"bob","policyName":"inline","policyDocument":"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}"}"#, "", "bob", "userName=bob policyName=inline allowsAll=true"),
        ("CreatePolicyVersion", "iam", r#"{"policyArn":"arn:aws:iam::111122223333:policy/ci","setAsDefault":true,"policyDocument":"{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"iam:*\"],\"Resource\":\"*\"}]}"}"#, "", "arn:aws:iam::111122223333:policy/ci", "policyArn=arn:aws:iam::111122223333:policy/ci setAsDefault=true allowsAll=true"),
        ("UpdateAssumeRolePolicy", "iam", r#"{"roleName":"backdoor","policyDocument":"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"arn:aws:iam::999988887777:root\",\"111122223333\"]},\"Action\":\"sts:AssumeRole\"}]}"}"#, "", "backdoor", "roleName=backdoor externalPrincipals=arn:aws:iam::999988887777:root"),
        ("PutBucketPolicy", "s3", r#"{"bucketName":"site","bucketPolicy":{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::site/*"}]}}"#, "", "site", "public=true"),
        // Policies as text or objects, in the other services' keys; `Principal: *` is public
        // unless a condition ties it to the organization, an account, a network or principal.
        ("SetRepositoryPolicy", "ecr", r#"{"repositoryName":"r","policyText":"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"ecr:BatchGetImage\"}]}"}"#, "", "-", "public=true"),
        ("PutKeyPolicy", "kms", r#"{"keyId":"k-1","policy":{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*"}]}}"#, "", "k-1", "public=true"),
        ("SetQueueAttributes", "sqs", r#"{"attributes":{"Policy":{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}},{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage"}]}}}"#, "", "-", "public=true"),
        ("UpdateElasticsearchDomainConfig", "es", r#"{"domainName":"d","accessPolicies":{"Statement":[{"Effect":"Allow","Principal":"*","Action":"es:*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8"]}}}]}}"#, "", "-", "-"),
        ("UpdateAssumeRolePolicy", "iam", r#"{"roleName":"partner","policyDocument":"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"sts:AssumeRole\",\"Condition\":{\"StringEquals\":{\"sts:ExternalId\":\"1\"}}}]}"}"#, "", "partner", "roleName=partner public=true"),
        ("AddPermission20150331v2", "lambda", r#"{"functionName":"f","principal":"*","action":"lambda:InvokeFunction"}"#, "", "f", "principal=*"),
        ("GetParameters", "ssm", r#"{"names":["/a","/b"],"withDecryption":true}"#, "", "/a,/b", "withDecryption=true count=2"),
        ("BatchGetSecretValue", "secretsmanager", r#"{"secretIdList":["db","api"]}"#, "", "db,api", "count=2"),
        ("RunInstances", "ec2", r#"{"instanceType":"p3.8xlarge","instancesSet":{"items":[{"imageId":"ami-1","maxCount":10}]}}"#, "", "-", "instanceType=p3.8xlarge"),
        ("UpdateFunctionConfiguration20150331v2", "lambda", r#"{"functionName":"f","layers":["arn:aws:lambda:us-east-1:999988887777:layer:x:1"]}"#, "", "f", "layers=arn:aws:lambda:us-east-1:999988887777:layer:x:1"),
        ("ModifyInstanceAttribute", "ec2", r#"{"instanceId":"i-1","userData":{"value":"<sensitiveDataRemoved>"}}"#, "", "i-1", "userData=replaced"),
        ("RunInstances", "ec2", r#"{"instancesSet":{"items":[{"imageId":"ami-1","minCount":1}]}}"#, r#","responseElements":{"instancesSet":{"items":[{"instanceId":"i-new"}]}}"#, "i-new", "-"),
        ("CreateUser", "iam", r#"{"userName":"o\u0027brien"}"#, "", "o'brien", "userName=o'brien"),
    ];
    for (name, source, params, extra, resource, details) in cases {
        let line = parse(&call(ALICE, name, source, params, extra)).unwrap();
        assert_eq!(line, alice(&format!("{name}|{source}|{resource}"), details));
    }
}

#[test]
fn identities_map_to_actors_and_actor_types() {
    let one = r#"{"instancesSet":{"items":[{"instanceId":"i-0abc"}]},"filterSet":{}}"#;
    #[rustfmt::skip]
    let cases = [
        (assumed("web", "i-0123456789abcdef0"), "", "|arn:aws:sts::111122223333:assumed-role/web/i-0123456789abcdef0|service|"),
        (assumed("AWSReservedSSO_Admin_0123abcd", "carol"), "", "/carol|human|"),
        (assumed("okta-admins", "dave@example.com"), "", "/dave@example.com|human|"),
        (assumed("web", "erin"), r#","sessionCredentialFromConsole":"true""#, "/erin|human|"),
        (r#""userIdentity":{"type":"Root","principalId":"111122223333","accountId":"111122223333"}"#.into(), "", "|arn:aws:iam::111122223333:root|root|"),
        (r#""userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}"#.into(), "", "|ec2.amazonaws.com|system|"),
        (r#""userIdentity":{"accountId":"111122223333","invokedBy":"kms.amazonaws.com"}"#.into(), "", "|kms.amazonaws.com|system|"),
        (r#""userIdentity":{"type":"FederatedUser","arn":"arn:aws:sts::111122223333:federated-user/frank"}"#.into(), "", "/frank|human|"),
        (r#""userIdentity":{"type":"WebIdentityUser","userName":"repo:acme/shop:ref:refs/heads/main"}"#.into(), "", "|repo:acme/shop:ref:refs/heads/main|service|"),
        (r#""userIdentity":{"type":"AWSAccount","principalId":"","accountId":"ANONYMOUS_PRINCIPAL"}"#.into(), "", "|ANONYMOUS_PRINCIPAL|anonymous|"),
        (r#""userIdentity":{"type":"Unknown","principalId":"AIDAEXAMPLE","userName":"gina"}"#.into(), "", "|gina|unknown|"),
        (r#""userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/a","invokedBy":"cloudformation.amazonaws.com"}"#.into(), "", "|human|DescribeInstances|ec2|i-0abc|203.0.113.7|aws-cli/2.15.30|eu-west-1|success|-|mfa=-|-|ro=false|111122223333|invokedBy=cloudformation.amazonaws.com"),
        (assumed("web", "i-0a"), "", "|ec2|i-0abc|203.0.113.7|aws-cli/2.15.30|eu-west-1|success|-|mfa=false|ASIAEXAMPLE0001|"),
    ];
    for (identity, extra, expected) in cases {
        let line = parse(&call(&identity, "DescribeInstances", "ec2", one, extra)).unwrap();
        assert!(line.contains(expected), "{line}\n  expected {expected}");
    }
}

#[test]
fn console_sign_in_failure_and_mfa() {
    let json = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"","accountId":"111122223333","accessKeyId":"","userName":"HIDDEN_DUE_TO_SECURITY_REASONS"},"eventTime":"2024-08-02T08:53:24Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.9","userAgent":"Mozilla/5.0","errorMessage":"Failed authentication","requestParameters":null,"responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"LoginTo":"https://console.aws.amazon.com/","MobileVersion":"No","MFAUsed":"No"},"eventID":"e-2","readOnly":false,"eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333","eventCategory":"Management"}"#;
    let expected = "1722588804 aws management e-2|HIDDEN_DUE_TO_SECURITY_REASONS|human|ConsoleLogin|signin|-|198.51.100.9|Mozilla/5.0|us-east-1|failure|Failed authentication|mfa=false|-|ro=false|111122223333|eventType=AwsConsoleSignIn MFAUsed=No";
    assert_eq!(parse(json).unwrap(), expected);
    let no_message = json.replace(r#""errorMessage":"Failed authentication","#, "");
    assert!(
        parse(&no_message)
            .unwrap()
            .contains("|failure|-|mfa=false|")
    );
    let success = no_message.replace("Failure", "Success");
    assert!(parse(&success).unwrap().contains("|success|-|mfa=false|"));
}

#[test]
fn error_code_means_failure_and_messages_are_cut() {
    let long = "x".repeat(200);
    let coded = format!(r#","errorCode":"Client.UnauthorizedOperation","errorMessage":"{long}""#);
    let line = parse(&call(ALICE, "RunInstances", "ec2", "null", &coded)).unwrap();
    assert!(
        line.contains("|failure|Client.UnauthorizedOperation|"),
        "{line}"
    );
    let message = format!(r#","errorMessage":" {long}""#);
    let line = parse(&call(ALICE, "RunInstances", "ec2", "null", &message)).unwrap();
    assert!(
        line.contains(&format!("|failure|{}|", "x".repeat(80))),
        "{line}"
    );
}

#[test]
fn insight_events_have_no_actor() {
    let json = r#"{"eventVersion":"1.08","eventTime":"2022-09-05T07:45:00Z","awsRegion":"eu-west-3","eventID":"e-3","eventType":"AwsCloudTrailInsight","recipientAccountId":"111122223333","insightDetails":{"state":"Start","eventSource":"iam.amazonaws.com","eventName":"DeleteUser","insightType":"ApiCallRateInsight","insightContext":{"statistics":{"baseline":{"average":0.01}}}},"eventCategory":"Insight"}"#;
    let expected = "1662363900 aws insight e-3|-|unknown|ApiCallRateInsight|iam|DeleteUser|-|-|eu-west-3|unknown|-|mfa=-|-|ro=-|111122223333|eventType=AwsCloudTrailInsight insightState=Start";
    assert_eq!(parse(json).unwrap(), expected);
    assert!(CloudTrail.sniff_json(&sonic_rs::from_str(json).unwrap()));
}

#[test]
fn logstash_records_use_at_timestamp_and_guess_read_only() {
    let json = format!(
        r#"{{"requestParameters":{{"bucketName":"loot","key":"db.sql","Host":"loot.s3.amazonaws.com"}},"userAgent":"[aws-cli/1.18.136]","awsRegion":"us-east-1","eventType":"AwsApiCall","@version":"1",{ALICE},"recipientAccountId":"111122223333","eventName":"GetObject","sourceIPAddress":"203.0.113.50","eventSource":"s3.amazonaws.com","@timestamp":"2020-09-14T00:44:23.000Z","eventID":"e-4","eventVersion":"1.07","eventCategory":"Data"}}"#
    );
    let expected = "1600044263 aws data e-4|arn:aws:iam::111122223333:user/alice|human|GetObject|s3|loot|203.0.113.50|[aws-cli/1.18.136]|us-east-1|success|-|mfa=-|AKIAEXAMPLEALICE01|ro=true|111122223333|key=db.sql";
    assert_eq!(parse(&json).unwrap(), expected);
}

#[test]
fn rejections_say_why() {
    let no_time = r#"{"eventVersion":"1.08","eventSource":"bedrock.amazonaws.com","eventName":"CreateModelCustomizationJob","requestParameters":{"jobName":"j"},"eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#;
    let invalid = |reason: &str| Err(RecordError::Invalid(reason.into()));
    assert_eq!(
        parse(no_time),
        invalid("CloudTrail record has no eventTime")
    );
    let bad_time = no_time.replace(r#""eventType""#, r#""eventTime":"yesterday","eventType""#);
    let expected = r#"CloudTrail eventTime is not a valid time: "yesterday""#;
    assert_eq!(parse(&bad_time), invalid(expected));
    let broken = parse(r#"{"eventVersion":"#);
    assert!(matches!(broken, Err(RecordError::Invalid(r)) if r.starts_with("invalid JSON")));
    let okta = r#"{"published":"2024-01-01T00:00:00Z","eventType":"user.session.start"}"#;
    for other in [r#"{"kind":0}"#, okta] {
        assert_eq!(parse(other), Err(RecordError::NotThisFormat), "{other}");
    }
}

#[test]
fn sniff_is_precise() {
    let sniff = |json: &str| CloudTrail.sniff_json(&sonic_rs::from_str(json).unwrap());
    assert!(sniff(&call(ALICE, "ListBuckets", "s3", "null", "")));
    #[rustfmt::skip]
    let others = [
        r#"{"kind":0}"#,
        r#"{"uuid":"1","published":"2024-01-01T00:00:00.000Z","eventType":"user.session.start","version":"0"}"#,
        r#"{"protoPayload":{"methodName":"SetIamPolicy"},"timestamp":"2024-01-01T00:00:00Z","logName":"projects/p/logs/x"}"#,
        r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","verb":"get","user":{"username":"system:anonymous"}}"#,
        r#"{"finding":{"category":"OPEN_FIREWALL","eventTime":"2024-01-01T00:00:00Z"},"resource":{"name":"x"}}"#,
        r#"{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.s3","detail":{}}"#,
        r#"{"eventVersion":"1.0","eventSource":"example.com","eventName":"x"}"#,
    ];
    for other in others {
        assert!(!sniff(other), "{other}");
    }
}

#[test]
fn wrong_types_cost_the_field_not_the_record() {
    let json = r#"{"eventVersion":"1.08","userIdentity":"alice","eventTime":"2024-07-31T12:46:41Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","requestParameters":["x"],"responseElements":"ok","readOnly":"TRUE","eventCategory":"Data","additionalEventData":7,"resources":"none","sourceIPAddress":42,"eventID":"e-5","insightDetails":[]}"#;
    let expected =
        "1722430001 aws data e-5|-|unknown|ListBuckets|s3|-|42|-|-|success|-|mfa=-|-|ro=true|-|-";
    assert_eq!(parse(json).unwrap(), expected);
}

#[test]
fn lists_are_joined_counted_and_details_kept_short() {
    let items: Vec<String> = (0..7)
        .map(|i| format!(r#"{{"instanceId":"i-{i}"}}"#))
        .collect();
    let params = format!(r#"{{"instancesSet":{{"items":[{}]}}}}"#, items.join(","));
    let line = parse(&call(ALICE, "TerminateInstances", "ec2", &params, "")).unwrap();
    assert_eq!(
        line,
        alice(
            "TerminateInstances|ec2|i-0,i-1,i-2,i-3,i-4,...",
            "instances=7"
        )
    );
    let long = "p".repeat(120);
    let params = format!(r#"{{"userName":"{long}","roleName":"{long}","groupName":"{long}"}}"#);
    let line = parse(&call(ALICE, "AddUserToGroup", "iam", &params, "")).unwrap();
    let details = line.rsplit('|').next().unwrap_or_default();
    assert!(
        details.len() <= DETAILS_MAX && details.ends_with(&long),
        "{details}"
    );
    assert_eq!(log_type(Some("NetworkActivity")), "networkactivity");
    assert_eq!(log_type(Some("Other")), "other");
}

#[test]
fn a_console_password_change_reports_its_failure_in_the_response() {
    let failed = r#","responseElements":{"PasswordUpdated":"Failure"}"#;
    let line = parse(&call(ALICE, "PasswordUpdated", "signin", "null", failed)).unwrap();
    assert!(line.contains("|failure|"), "{line}");
    let done = r#","responseElements":{"PasswordUpdated":"Success"}"#;
    let line = parse(&call(ALICE, "PasswordUpdated", "signin", "null", done)).unwrap();
    assert!(line.contains("|success|"), "{line}");
}

#[test]
fn a_lifecycle_rule_gives_the_days_before_objects_expire() {
    // As CloudTrail logs PutBucketLifecycle: one `Rule` object, or a list of them.
    let one = r#"{"bucketName":"org-trail-logs","Host":"org-trail-logs.s3.eu-west-1.amazonaws.com","lifecycle":"","LifecycleConfiguration":{"xmlns":"http://s3.amazonaws.com/doc/2006-03-01/","Rule":{"ID":"purge","Status":"Enabled","Filter":{"Prefix":"AWSLogs/"},"Expiration":{"Days":1}}}}"#;
    let line = parse(&call(ALICE, "PutBucketLifecycle", "s3", one, "")).unwrap();
    assert_eq!(
        line,
        alice("PutBucketLifecycle|s3|org-trail-logs", "expirationDays=1")
    );
    // The shortest enabled expiration; a disabled rule and old versions delete nothing now.
    let many = r#"{"bucketName":"b","LifecycleConfiguration":{"Rule":[{"Status":"Enabled","Expiration":{"Days":"400"}},{"Status":"Disabled","Expiration":{"Days":1}},{"Status":"Enabled","NoncurrentVersionExpiration":{"NoncurrentDays":2}},{"Status":"Enabled","Expiration":{"Days":30}}]}}"#;
    let line = parse(&call(ALICE, "PutBucketLifecycle", "s3", many, "")).unwrap();
    assert_eq!(line, alice("PutBucketLifecycle|s3|b", "expirationDays=30"));
    let disabled = r#"{"bucketName":"b","LifecycleConfiguration":{"Rule":{"Status":"Disabled","Expiration":{"Days":1}}}}"#;
    let line = parse(&call(ALICE, "PutBucketLifecycle", "s3", disabled, "")).unwrap();
    assert_eq!(line, alice("PutBucketLifecycle|s3|b", "-"));
}

#[test]
fn identity_center_sign_ins_are_by_the_named_user() {
    // The identity's ARN is empty; the user is named in the event data, else by directory id.
    let identity = r#""userIdentity":{"type":"IdentityCenterUser","arn":"","accountId":"111122223333","accessKeyId":"","onBehalfOf":{"userId":"9067a3c0-uid","identityStoreArn":"arn:aws:identitystore::111122223333:identitystore/d-1"}}"#;
    let named =
        r#","additionalEventData":{"UserName":"dana@example.com","CredentialType":"EXTERNAL_IDP"}"#;
    let line = parse(&call(
        identity,
        "UserAuthentication",
        "signin",
        "null",
        named,
    ))
    .unwrap();
    assert!(
        line.contains("|dana@example.com|human|UserAuthentication|"),
        "{line}"
    );
    let line = parse(&call(identity, "UserAuthentication", "signin", "null", "")).unwrap();
    assert!(line.contains("|9067a3c0-uid|human|"), "{line}");
}

#[test]
fn an_old_console_login_by_a_role_session_is_a_person() {
    // eventVersion 1.05 records have no eventType.
    let record = call(
        &assumed("RoleToBeAssumed", "MySessionName"),
        "ConsoleLogin",
        "signin",
        "null",
        "",
    )
    .replace(r#""eventType":"AwsApiCall","#, "");
    let line = parse(&record).unwrap();
    assert!(line.contains("|human|ConsoleLogin|"), "{line}");
    let api = parse(&call(
        &assumed("RoleToBeAssumed", "MySessionName"),
        "ListBuckets",
        "s3",
        "null",
        "",
    ))
    .unwrap();
    assert!(api.contains("|service|ListBuckets|"), "{api}");
}

#[test]
fn an_http_success_in_error_code_is_no_failure() {
    let ok = parse(&call(
        ALICE,
        "action",
        "grafana",
        "null",
        r#","errorCode":"200""#,
    ))
    .unwrap();
    assert!(ok.contains("|success|-|"), "{ok}");
    let denied = parse(&call(
        ALICE,
        "action",
        "grafana",
        "null",
        r#","errorCode":"403""#,
    ))
    .unwrap();
    assert!(denied.contains("|failure|403|"), "{denied}");
}

#[test]
fn a_chain_of_source_addresses_gives_the_first() {
    let record = call(ALICE, "ListBuckets", "s3", "null", "")
        .replace("\"203.0.113.7\"", "\"81.2.69.142, 192.168.10.10\"");
    assert!(parse(&record).unwrap().contains("|81.2.69.142|"));
    // A service name is not an address list.
    let record = call(ALICE, "ListBuckets", "s3", "null", "")
        .replace("\"203.0.113.7\"", "\"AWS Internal, elsewhere\"");
    assert!(
        parse(&record)
            .unwrap()
            .contains("|AWS Internal, elsewhere|")
    );
}

#[test]
fn ssm_commands_by_targets_and_other_named_targets() {
    let by_ids = r#"{"targets":[{"key":"InstanceIds","values":["i-0ddf9acf8eeb33959","i-02"]}],"documentName":"EncryptFiles"}"#;
    let line = parse(&call(ALICE, "SendCommand", "ssm", by_ids, "")).unwrap();
    assert!(line.contains("|ssm|i-0ddf9acf8eeb33959,i-02|"), "{line}");
    assert!(line.ends_with("|documentName=EncryptFiles"), "{line}");
    let by_tag =
        r#"{"targets":[{"key":"tag:Role","values":["web"]}],"documentName":"AWS-RunShellScript"}"#;
    let line = parse(&call(ALICE, "SendCommand", "ssm", by_tag, "")).unwrap();
    assert!(line.contains("|ssm|tag:Role=web|"), "{line}");
    let recorder = r#"{"configurationRecorderName":"default"}"#;
    let line = parse(&call(
        ALICE,
        "StopConfigurationRecorder",
        "config",
        recorder,
        "",
    ))
    .unwrap();
    assert!(line.contains("|config|default|"), "{line}");
    let key = r#"{"keyName":"mykeypair"}"#;
    assert!(
        parse(&call(ALICE, "CreateKeyPair", "ec2", key, ""))
            .unwrap()
            .contains("|ec2|mykeypair|")
    );
    let deletion =
        r#"{"keyId":"arn:aws:kms:us-east-1:111122223333:key/k-1","pendingWindowInDays":7}"#;
    let line = parse(&call(ALICE, "ScheduleKeyDeletion", "kms", deletion, "")).unwrap();
    assert!(line.ends_with("|pendingWindowInDays=7"), "{line}");
}

/// An IAM Identity Center sign-in step (AWS sign-in's service event), modelled on the
/// published examples: the user is `Unknown` with only a name, the result is in
/// `serviceEventDetails`.
fn identity_center_step(step: &str, result: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"Unknown","principalId":"111122223333","arn":"","accountId":"111122223333","accessKeyId":"","userName":"maria"}},"eventTime":"2024-05-06T07:08:09Z","eventSource":"signin.amazonaws.com","eventName":"{step}","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.23","userAgent":"Mozilla/5.0","requestParameters":null,"responseElements":null,"additionalEventData":{{"AuthWorkflowID":"wf-1","CredentialType":"PASSWORD"}},"requestID":"r-1","eventID":"e-9","readOnly":false,"eventType":"AwsServiceEvent","managementEvent":true,"recipientAccountId":"111122223333","serviceEventDetails":{{"{step}":"{result}"}},"eventCategory":"Management"}}"#
    )
}

#[test]
fn identity_center_sign_in_steps_report_failure_and_a_person() {
    let failed = parse(&identity_center_step("CredentialVerification", "Failure")).unwrap();
    assert!(
        failed.contains("|maria|human|CredentialVerification|signin|-|198.51.100.23|Mozilla/5.0|us-east-1|failure|"),
        "{failed}"
    );
    let passed = parse(&identity_center_step("UserAuthentication", "Success")).unwrap();
    assert!(
        passed.contains("|maria|human|UserAuthentication|"),
        "{passed}"
    );
    assert!(passed.contains("|success|"), "{passed}");
    // An `Unknown` caller of any other service stays unknown.
    let other =
        r#""userIdentity":{"type":"Unknown","principalId":"AIDAEXAMPLE","userName":"gina"}"#;
    let line = parse(&call(other, "ListBuckets", "s3", "null", "")).unwrap();
    assert!(line.contains("|gina|unknown|"), "{line}");
}

#[test]
fn failed_console_sign_ins_name_the_user_like_successful_ones() {
    // A failed sign-in (and the MFA check) names an existing IAM user without an ARN.
    let json = |region: &str, user: &str| {
        format!(
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"IAMUser","principalId":"AIDAEXAMPLEMARIA","accountId":"111122223333","accessKeyId":"","userName":"{user}"}},"eventTime":"2024-08-02T08:53:24Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"{region}","sourceIPAddress":"198.51.100.9","userAgent":"Mozilla/5.0","errorMessage":"Failed authentication","requestParameters":null,"responseElements":{{"ConsoleLogin":"Failure"}},"additionalEventData":{{"MFAUsed":"Yes"}},"eventID":"e-3","eventType":"AwsConsoleSignIn","recipientAccountId":"111122223333"}}"#
        )
    };
    let line = parse(&json("eu-west-1", "maria")).unwrap();
    assert!(
        line.contains("|arn:aws:iam::111122223333:user/maria|human|ConsoleLogin|"),
        "{line}"
    );
    let gov = parse(&json("us-gov-west-1", "maria")).unwrap();
    assert!(
        gov.contains("|arn:aws-us-gov:iam::111122223333:user/maria|"),
        "{gov}"
    );
    // No such user: the placeholder stays, it is no one's name.
    let hidden = parse(&json("eu-west-1", "HIDDEN_DUE_TO_SECURITY_REASONS")).unwrap();
    assert!(
        hidden.contains("|HIDDEN_DUE_TO_SECURITY_REASONS|human|"),
        "{hidden}"
    );
}
