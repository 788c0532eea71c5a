use super::*;
use crate::providers::time::parse_rfc3339;

/// Every normalized column but time, in one line, for compact field-by-field checks.
fn summary(e: &Event<'_>) -> String {
    let o = |v: &Option<Cow<'_, str>>| v.as_deref().unwrap_or("-").to_owned();
    let b = |v: Option<bool>| v.map_or("-".to_owned(), |b| b.to_string());
    let (t, oc) = (e.actor_type.as_str(), e.outcome.as_str());
    format!(
        "{} {} id={} actor={} {t} action={} svc={} res={} ip={} ua={} loc={} {oc} err={} mfa={} corr={} ro={} acct={} | {}",
        e.provider,
        e.log_type,
        o(&e.event_id),
        o(&e.actor),
        o(&e.action),
        o(&e.service),
        o(&e.resource),
        o(&e.src_ip),
        o(&e.user_agent),
        o(&e.region),
        o(&e.error),
        b(e.mfa),
        o(&e.correlation_id),
        b(e.read_only),
        o(&e.account),
        o(&e.details)
    )
}
fn parse(json: &str) -> (Option<i64>, String) {
    let e = AzureActivity.parse_json(json.as_bytes()).unwrap();
    (e.time, summary(&e))
}
fn row(headers: &[&str], cells: &[&str]) -> Result<(Option<i64>, String), RecordError> {
    let h = csv::StringRecord::from(headers.to_vec());
    let r = csv::StringRecord::from(cells.to_vec());
    assert!(AzureActivity.sniff_table(&h));
    AzureActivity
        .parse_table(&h, &r)
        .map(|e| (e.time, summary(&e)))
}
fn sniff(json: &str) -> bool {
    AzureActivity.sniff_json(&sonic_rs::from_str(json).unwrap())
}
fn t(s: &str) -> Option<i64> {
    parse_rfc3339(s)
}

#[test]
fn diagnostic_role_assignment_by_service_principal() {
    let rec = r#"{"time":"2024-05-14T09:12:03.1234567Z","resourceId":"/SUBSCRIPTIONS/4F1C2A9E-7D3B-4C8A-9E61-2B5D8F0A1C37/PROVIDERS/MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/6A1E","operationName":"MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE","category":"Administrative","resultType":"Success","callerIpAddress":"203.0.113.10","correlationId":"0b7e","level":"Information","location":"global",
        "identity":{"authorization":{"scope":"/subscriptions/4f1c2a9e-7d3b-4c8a-9e61-2b5d8f0a1c37","action":"Microsoft.Authorization/roleAssignments/write","evidence":{"principalId":"c0ffee00-1111-4222-8333-444455556666","principalType":"ServicePrincipal"}},"claims":{"appid":"a1b2c3d4-0000-4000-8000-00000000a001","idtyp":"app"}},
        "properties":{"statusCode":"Created","requestbody":"{\"Id\":\"6a1e\",\"Properties\":{\"PrincipalId\":\"9e8d\",\"PrincipalType\":\"User\",\"RoleDefinitionId\":\"/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635\",\"Scope\":\"/subscriptions/4f1c2a9e-7d3b-4c8a-9e61-2b5d8f0a1c37\"}}"}}"#;
    assert!(sniff(rec));
    assert_eq!(parse(rec), (t("2024-05-14T09:12:03.1234567Z"), "azure administrative id=0b7e|MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE|Success|2024-05-14T09:12:03.1234567Z actor=a1b2c3d4-0000-4000-8000-00000000a001 service action=MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE svc=MICROSOFT.AUTHORIZATION res=9e8d ip=203.0.113.10 ua=- loc=global success err=- mfa=- corr=0b7e ro=false acct=4f1c2a9e-7d3b-4c8a-9e61-2b5d8f0a1c37 | status=Success level=Information principal=9e8d principal_type=User role=8e3af657-a8ff-443c-a75c-2fe8c4bcb635 role_name=Owner scope=/subscriptions/4f1c2a9e-7d3b-4c8a-9e61-2b5d8f0a1c37".to_owned()));
}

#[test]
fn diagnostic_settings_delete_by_human_with_mfa() {
    let rec = r#"{"time":"2024-05-14T09:20:41Z","resourceId":"/subscriptions/s1/providers/microsoft.insights/diagnosticSettings/send-to-siem","operationName":"MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE","category":"Administrative","resultType":"Success","correlationId":"5c4b",
        "identity":{"claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":"alice@example.com","http://schemas.microsoft.com/claims/authnmethodsreferences":"pwd,mfa","ipaddr":"198.51.100.23","appid":"c44b4083-3bb0-49c1-b47d-974e53cbdf3c"}}}"#;
    assert_eq!(
        parse(rec).1,
        "azure administrative id=5c4b|MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE|Success|2024-05-14T09:20:41Z actor=alice@example.com human action=MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/DELETE svc=MICROSOFT.INSIGHTS res=/subscriptions/s1/providers/microsoft.insights/diagnosticSettings/send-to-siem ip=198.51.100.23 ua=- loc=- success err=- mfa=true corr=5c4b ro=false acct=s1 | status=Success setting=send-to-siem"
    );
}

#[test]
fn a_password_only_token_is_single_factor_and_a_token_without_methods_cannot_tell() {
    let rec = |amr: &str| {
        format!(
            r#"{{"time":"2024-05-14T09:20:41Z","resourceId":"/subscriptions/s1/x","operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/WRITE","category":"Administrative","resultType":"Success",
        "identity":{{"claims":{{"upn":"alice@example.com"{amr}}}}}}}"#
        )
    };
    let mfa = |amr: &str| AzureActivity.parse_json(rec(amr).as_bytes()).unwrap().mfa;
    assert_eq!(
        mfa(r#","http://schemas.microsoft.com/claims/authnmethodsreferences":"pwd""#),
        Some(false)
    );
    assert_eq!(
        mfa(r#","http://schemas.microsoft.com/claims/authnmethodsreferences":"pwd,mfa""#),
        Some(true)
    );
    assert_eq!(mfa(""), None);
}

#[test]
fn failure_takes_the_error_code_from_the_status_message() {
    let rec = r#"{"time":"2024-05-14T09:25:00.5Z","operationName":"MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMAND/ACTION","category":"Administrative","resultType":"Failure","resultSignature":"Failed.Forbidden","resourceId":"/x","identity":{"claims":{"upn":"bob@example.com"}},
        "properties":{"statusCode":"Forbidden","statusMessage":"{\"error\":{\"code\":\"AuthorizationFailed\",\"message\":\"no\"}}"}}"#;
    // No correlationId: no composed event id either.
    assert_eq!(
        parse(rec).1,
        "azure administrative id=- actor=bob@example.com human action=MICROSOFT.COMPUTE/VIRTUALMACHINES/RUNCOMMAND/ACTION svc=MICROSOFT.COMPUTE res=/x ip=- ua=- loc=- failure err=AuthorizationFailed: Failed.Forbidden mfa=- corr=- ro=false acct=- | status=Failure"
    );
}

#[test]
fn health_record_without_identity_and_object_bodies() {
    // Elastic's edited variant: bodies as objects, no caller or identity at all.
    let rec = r#"{"category":"ResourceHealth","correlationId":"1c86","level":"Information","operationName":"Microsoft.Resourcehealth/healthevent/Updated/action","properties":{"responseBody":{"skuTest":{"myName":"Standard_LRS"}},"requestBody":{"testData":{"myTest":123}}},"resourceId":"/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.domainRegistration","resultType":"Updated","time":"2025-10-17T11:50:07.22Z"}"#;
    assert!(sniff(rec));
    assert_eq!(parse(rec), (t("2025-10-17T11:50:07.22Z"), "azure resourcehealth id=1c86|MICROSOFT.RESOURCEHEALTH/HEALTHEVENT/UPDATED/ACTION|Updated|2025-10-17T11:50:07.22Z actor=- unknown action=MICROSOFT.RESOURCEHEALTH/HEALTHEVENT/UPDATED/ACTION svc=MICROSOFT.RESOURCEHEALTH res=/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.domainRegistration ip=- ua=- loc=- unknown err=- mfa=- corr=1c86 ro=false acct=00000000-0000-0000-0000-000000000000 | status=Updated level=Information".to_owned()));
}

#[test]
fn rest_api_role_assignment_from_the_response_body() {
    let rec = r#"{"authorization":{"action":"Microsoft.Authorization/roleAssignments/write","scope":"/subscriptions/s1/resourceGroups/rg-prod"},"caller":"dave@example.com",
        "claims":{"http://schemas.microsoft.com/claims/authnmethodsreferences":"pwd,mfa","ipaddr":"203.0.113.88"},"correlationId":"aa11","eventDataId":"f0e1","category":{"value":"Administrative","localizedValue":"Administrative"},
        "eventTimestamp":"2024-07-01T08:15:30.4567891Z","submissionTimestamp":"2024-07-01T08:17:02Z","httpRequest":{"clientIpAddress":"203.0.113.89"},"level":"Informational",
        "operationName":{"value":"Microsoft.Authorization/roleAssignments/write","localizedValue":"Create role assignment"},"resourceProviderName":{"value":"Microsoft.Authorization"},
        "resourceId":"/subscriptions/s1/resourceGroups/rg-prod/providers/Microsoft.Authorization/roleAssignments/0d9c","status":{"value":"Succeeded"},"subStatus":{"value":"Created"},"subscriptionId":"s1",
        "properties":{"responseBody":"{\"properties\":{\"roleDefinitionId\":\"/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c\",\"principalId\":\"5b6c\",\"principalType\":\"ServicePrincipal\",\"scope\":\"/subscriptions/s1/resourceGroups/rg-prod\"}}"}}"#;
    assert!(sniff(rec));
    assert_eq!(parse(rec), (t("2024-07-01T08:15:30.4567891Z"), "azure administrative id=f0e1 actor=dave@example.com human action=MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE svc=MICROSOFT.AUTHORIZATION res=5b6c ip=203.0.113.89 ua=- loc=- success err=- mfa=true corr=aa11 ro=false acct=s1 | status=Succeeded level=Informational op_name=\"Create role assignment\" principal=5b6c principal_type=ServicePrincipal role=b24988ac-6180-42a0-ab88-20f7382dd24c role_name=Contributor scope=/subscriptions/s1/resourceGroups/rg-prod".to_owned()));
}

#[test]
fn rest_api_platform_caller_and_pending_status() {
    let rec = r#"{"caller":"Microsoft.Insights/alertRules","claims":{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/spn":"Microsoft.Insights/alertRules"},"correlationId":"/subscriptions/s2/x","eventDataId":"dddd","category":{"value":"Alert"},"level":"Informational","operationName":{"value":"Microsoft.Insights/AlertRules/Resolved/Action"},"status":{"value":"Resolved"},"subStatus":{"value":null},"eventTimestamp":"2017-07-21T09:24:13.522192Z","resourceId":"/subscriptions/s2/resourceGroups/rg/providers/Microsoft.ClassicCompute/domainNames/d","subscriptionId":"s2"}"#;
    assert_eq!(
        parse(rec).1,
        "azure alert id=dddd actor=Microsoft.Insights/alertRules system action=MICROSOFT.INSIGHTS/ALERTRULES/RESOLVED/ACTION svc=MICROSOFT.INSIGHTS res=/subscriptions/s2/resourceGroups/rg/providers/Microsoft.ClassicCompute/domainNames/d ip=- ua=- loc=- unknown err=- mfa=- corr=/subscriptions/s2/x ro=false acct=s2 | status=Resolved level=Informational"
    );
}

#[test]
fn diagnostic_record_with_localized_operation_object() {
    let rec = r#"{"time":"2024-12-24T15:45:00Z","resourceId":"/providers/Microsoft.Authorization","operationName":{"value":"Microsoft.Authorization/elevateAccess/action","localizedValue":"Assigns the caller to User Access Administrator role"},"category":"Administrative","resultType":"Success","status":{"value":"Succeeded"},"tenantId":"t-1","identity":{"claims":{"name":"eve@example.com"}}}"#;
    // No subscription anywhere: the tenant is the account.
    assert_eq!(
        parse(rec).1,
        "azure administrative id=- actor=eve@example.com human action=MICROSOFT.AUTHORIZATION/ELEVATEACCESS/ACTION svc=MICROSOFT.AUTHORIZATION res=/providers/Microsoft.Authorization ip=- ua=- loc=- success err=- mfa=- corr=- ro=false acct=t-1 | status=Succeeded op_name=\"Assigns the caller to User Access Administrator role\""
    );
}

#[test]
fn log_analytics_row_with_json_string_columns() {
    let rec = r#"{"Type":"AzureActivity","TimeGenerated":"2024-08-10T03:05:00Z","OperationNameValue":"MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION","OperationName":"List Storage Account Keys","Caller":"7a8b9c0d-1e2f-43a5-b6c7-d8e9f0a1b2c3","CallerIpAddress":"","CategoryValue":"Administrative","ActivityStatusValue":"Failure","ActivitySubstatusValue":"Forbidden","CorrelationId":"ee55","EventDataId":"4d5e","SubscriptionId":"s3","_ResourceId":"/subscriptions/s3/resourcegroups/rg/providers/microsoft.storage/storageaccounts/st1","ResourceProviderValue":"MICROSOFT.STORAGE",
        "HTTPRequest":"{\"clientIpAddress\":\"192.0.2.5\"}","Claims":"{\"appid\":\"a1\",\"idtyp\":\"app\"}","Properties":"{\"statusCode\":\"Forbidden\",\"statusMessage\":\"{\\\"error\\\":{\\\"code\\\":\\\"AuthorizationFailed\\\"}}\"}","Properties_d":null}"#;
    assert!(sniff(rec));
    assert_eq!(parse(rec), (t("2024-08-10T03:05:00Z"), "azure administrative id=4d5e actor=7a8b9c0d-1e2f-43a5-b6c7-d8e9f0a1b2c3 service action=MICROSOFT.STORAGE/STORAGEACCOUNTS/LISTKEYS/ACTION svc=MICROSOFT.STORAGE res=/subscriptions/s3/resourcegroups/rg/providers/microsoft.storage/storageaccounts/st1 ip=192.0.2.5 ua=- loc=- failure err=AuthorizationFailed: Forbidden mfa=- corr=ee55 ro=false acct=s3 | status=Failure op_name=\"List Storage Account Keys\"".to_owned()));
}

#[test]
fn settings_bodies_give_disabled_logs_and_public_access() {
    let diag = r#"{"time":"2024-06-02T14:00:05Z","resourceId":"/subscriptions/s/providers/microsoft.insights/diagnosticSettings/kv-audit","operationName":"MICROSOFT.INSIGHTS/DIAGNOSTICSETTINGS/WRITE","category":"Administrative","resultType":"Success","caller":"carol@example.com",
        "properties":{"requestbody":{"properties":{"logs":[{"category":"AuditEvent","enabled":false},{"categoryGroup":"allLogs","enabled":"false"},{"category":"Other","enabled":true},3],"metrics":7}}}}"#;
    assert!(
        parse(diag)
            .1
            .ends_with("| status=Success setting=kv-audit logs_disabled=AuditEvent,allLogs")
    );
    let storage = r#"{"time":"2024-06-02T14:03:44Z","operationName":"MICROSOFT.STORAGE/STORAGEACCOUNTS/WRITE","category":"Administrative","resultType":"Start","resourceId":"/subscriptions/s/x","identity":{"authorization":{"evidence":{"principalId":"0f1e","principalType":"ServicePrincipal"}}},"properties":{"requestbody":"{\"properties\":{\"allowBlobPublicAccess\":true}}"}}"#;
    let got = parse(storage).1;
    assert!(
        got.contains(" actor=0f1e service ")
            && got.ends_with("| status=Start allow_blob_public_access=true"),
        "{got}"
    );
}

#[test]
fn wrong_types_cost_only_the_field() {
    let rec = r#"{"time":"2024-01-01T00:00:00Z","operationName":["x"],"category":"Policy","resultType":5,"caller":"frank@example.com","claims":12,"identity":"frank","properties":[1,2],"httpRequest":"not json","status":true,"resourceId":{"a":1}}"#;
    assert_eq!(
        parse(rec).1,
        "azure policy id=- actor=frank@example.com human action=- svc=- res=- ip=- ua=- loc=- unknown err=- mfa=- corr=- ro=- acct=- | status=5"
    );
}

#[test]
fn submission_time_is_a_last_resort() {
    let rec = r#"{"Type":"AzureActivity","EventSubmissionTimestamp":"2024-08-09T22:41:30.5Z","OperationNameValue":"Microsoft.Web/sites/read","Caller":"x@example.com"}"#;
    let (time, got) = parse(rec);
    assert_eq!(time, t("2024-08-09T22:41:30.5Z"));
    assert!(
        got.starts_with("azure activity ") && got.contains(" ro=true "),
        "{got}"
    );
}

#[test]
fn rejections() {
    let p = AzureActivity;
    assert_eq!(
        p.parse_json(br#"{"kind": 0}"#),
        Err(RecordError::NotThisFormat)
    );
    let entra =
        br#"{"time":"2024-01-01T00:00:00Z","category":"AuditLogs","operationName":"Add user"}"#;
    assert_eq!(p.parse_json(entra), Err(RecordError::NotThisFormat));
    let table = br#"{"Type":"SigninLogs","TimeGenerated":"2024-01-01T00:00:00Z","OperationName":"Sign-in activity"}"#;
    assert_eq!(p.parse_json(table), Err(RecordError::NotThisFormat));
    let no_time =
        br#"{"operationName":"MICROSOFT.COMPUTE/DISKS/DELETE","category":"Administrative"}"#;
    assert!(matches!(p.parse_json(no_time), Err(RecordError::Invalid(r)) if r.contains("no time")));
    let bad_time = br#"{"time":"yesterday","operationName":"MICROSOFT.COMPUTE/DISKS/DELETE"}"#;
    assert!(
        matches!(p.parse_json(bad_time), Err(RecordError::Invalid(r)) if r.contains("'yesterday'"))
    );
    assert!(matches!(
        p.parse_json(br#"{"time":"2024-01-01T00:0"#),
        Err(RecordError::Invalid(_))
    ));
}

#[test]
fn sniff_rejects_other_formats() {
    for other in [
        r#"{"kind": 0}"#,
        r#"{"time":"2024-01-01T00:00:00Z","resourceId":"/tenants/t/providers/Microsoft.aadiam","operationName":"Add user","category":"AuditLogs","correlationId":"c","properties":{"activityDisplayName":"Add user"}}"#,
        r#"{"time":"2024-01-01T00:00:00Z","resourceId":"/SUBSCRIPTIONS/S/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS","operationName":"Microsoft.ContainerService/managedClusters/diagnosticLogs/Read","category":"kube-audit","properties":{"log":"{}"}}"#,
        r#"{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","userIdentity":{"type":"Root"}}"#,
        r#"{"name":"organizations/1/sources/2/findings/3","category":"OPEN_FIREWALL","eventTime":"2024-01-01T00:00:00Z","state":"ACTIVE"}"#,
        r#"{"Type":"AuditLogs","TimeGenerated":"2024-01-01T00:00:00Z","OperationName":"Add user"}"#,
    ] {
        assert!(!sniff(other), "{other}");
    }
    let signin = csv::StringRecord::from(vec![
        "TimeGenerated [UTC]",
        "OperationName",
        "UserPrincipalName",
        "ResultType",
    ]);
    assert!(!AzureActivity.sniff_table(&signin));
}

#[test]
fn legacy_csv_export_uses_the_operation_behind_the_display_name() {
    let headers = [
        "OperationName",
        "Level",
        "ActivityStatus",
        "ActivitySubstatus",
        "SubscriptionId",
        "CorrelationId",
        "Caller",
        "CallerIpAddress",
        "Category",
        "HTTPRequest",
        "Properties",
        "EventSubmissionTimestamp [UTC]",
        "Authorization",
        "ResourceId",
        "ResourceProvider",
        "EventDataId",
        "TimeGenerated [UTC]",
    ];
    let cells = [
        "Delete resource group",
        "Informational",
        "Failed",
        "Conflict (HTTP Status Code: 409)",
        "s4",
        "1b2c",
        "6d7e8f90-a1b2-4c3d-9e4f-5a6b7c8d9e0f",
        "",
        "Administrative",
        "{\r\n  \"clientIpAddress\": \"192.0.2.200\",\r\n  \"method\": \"DELETE\"\r\n}",
        "{\r\n  \"statusCode\": \"Conflict\",\r\n  \"statusMessage\": \"{\\\"error\\\":{\\\"code\\\":\\\"ScopeLocked\\\"}}\",\r\n  \"message\": \"Microsoft.Resources/subscriptions/resourceGroups/delete\"\r\n}",
        "3/14/2024, 12:02:10.000 AM",
        "{\r\n  \"action\": \"Microsoft.Resources/subscriptions/resourceGroups/delete\"\r\n}",
        "/subscriptions/s4/resourceGroups/rg-old",
        "Microsoft Resources",
        "6a7b",
        "3/14/2024, 12:01:58.250 AM",
    ];
    assert_eq!(row(&headers, &cells), Ok((t("2024-03-14T00:01:58.250Z"), "azure administrative id=6a7b actor=6d7e8f90-a1b2-4c3d-9e4f-5a6b7c8d9e0f service action=MICROSOFT.RESOURCES/SUBSCRIPTIONS/RESOURCEGROUPS/DELETE svc=MICROSOFT.RESOURCES res=/subscriptions/s4/resourceGroups/rg-old ip=192.0.2.200 ua=- loc=- failure err=ScopeLocked: Conflict (HTTP Status Code: 409) mfa=- corr=1b2c ro=false acct=s4 | status=Failed level=Informational op_name=\"Delete resource group\"".to_owned())));
}

#[test]
fn table_export_with_value_columns() {
    let headers = [
        "$table",
        "CallerIpAddress",
        "CategoryValue",
        "CorrelationId",
        "Claims_d",
        "Level",
        "OperationNameValue",
        "Properties_d",
        "Caller",
        "EventDataId",
        "TimeGenerated [UTC]",
        "SubscriptionId",
        "OperationName",
        "ActivityStatusValue",
        "ActivityStatus",
        "Category",
        "ResourceId",
        "ResourceProviderValue",
        "_ResourceId",
    ];
    let mut cells = [
        "AzureActivity",
        "203.0.113.150",
        "Administrative",
        "3d4e",
        r#"{"http://schemas.microsoft.com/claims/authnmethodsreferences":"pwd,mfa"}"#,
        "",
        "MICROSOFT.COMPUTE/VIRTUALMACHINES/DELETE",
        r#"{"eventCategory":"Administrative","resourceLocation":"westeurope"}"#,
        "grace@example.com",
        "8c9d",
        "9/3/2024, 11:58:01.004 PM",
        "s5",
        "",
        "Start",
        "",
        "",
        "",
        "MICROSOFT.COMPUTE",
        "/subscriptions/s5/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1",
    ];
    assert_eq!(row(&headers, &cells), Ok((t("2024-09-03T23:58:01.004Z"), "azure administrative id=8c9d actor=grace@example.com human action=MICROSOFT.COMPUTE/VIRTUALMACHINES/DELETE svc=MICROSOFT.COMPUTE res=/subscriptions/s5/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm1 ip=203.0.113.150 ua=- loc=westeurope unknown err=- mfa=true corr=3d4e ro=false acct=s5 | status=Start".to_owned())));
    cells[0] = "SigninLogs";
    assert_eq!(row(&headers, &cells), Err(RecordError::NotThisFormat));
}

#[test]
fn a_tenant_level_operation_belongs_to_its_tenant() {
    let rec = r#"{"time":"2024-05-14T09:12:03Z","resourceId":"/TeNaNtS/FFFFFFFF-AAAA-BBBB-CCCC-DDDDDDDDDDDD/PrOvIdErS/Microsoft.aadiam","operationName":"Microsoft.aadiam/updateDirectory/action","category":"Administrative","resultType":"Success","correlationId":"c-9","identity":{"claims":{"appid":"a1b2c3d4-0000-4000-8000-00000000a001","idtyp":"app"}}}"#;
    let (_, line) = parse(rec);
    assert!(
        line.contains("acct=ffffffff-aaaa-bbbb-cccc-dddddddddddd"),
        "{line}"
    );
    assert_eq!(id_segment("/tenants/t-1", "/tenants/"), Some("t-1"));
    assert_eq!(id_segment("/tenants//providers", "/tenants/"), None);
}

#[test]
fn one_operation_and_region_in_every_casing_normalize_to_one_value() {
    // The same role assignment as the diagnostic settings write it (Event Hub, storage) and
    // as the REST API does, and the region as its name, display name and upper case.
    let diagnostic = r#"{"time":"2024-05-14T09:12:03Z","resourceId":"/SUBSCRIPTIONS/S1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/0D9C","operationName":"MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE","category":"Administrative","resultType":"Success","location":"EASTUS","identity":{"claims":{"name":"dave@example.com"}}}"#;
    let rest = r#"{"eventTimestamp":"2024-05-14T09:12:03Z","resourceId":"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/0d9c","operationName":{"value":"Microsoft.Authorization/roleAssignments/write","localizedValue":"Create role assignment"},"resourceProviderName":{"value":"Microsoft.Authorization"},"category":{"value":"Administrative"},"status":{"value":"Succeeded"},"caller":"dave@example.com","properties":{"resourceLocation":"East US"}}"#;
    let sdk = r#"{"event_timestamp":"2024-05-14 09:12:03+00:00","operation_name":{"value":"microsoft.authorization/roleassignments/write"},"caller":"dave@example.com","location":"eastus"}"#;
    let events: Vec<Event<'_>> = [diagnostic, rest, sdk]
        .iter()
        .map(|r| AzureActivity.parse_json(r.as_bytes()).unwrap())
        .collect();
    for e in &events {
        assert_eq!(
            e.action.as_deref(),
            Some("MICROSOFT.AUTHORIZATION/ROLEASSIGNMENTS/WRITE")
        );
        assert_eq!(e.service.as_deref(), Some("MICROSOFT.AUTHORIZATION"));
        assert_eq!(e.region.as_deref(), Some("eastus"));
        assert_eq!(e.read_only, Some(false));
    }
    // A display name stays as written.
    assert_eq!(
        canonical_operation(Cow::Borrowed("Update Incidents")),
        "Update Incidents"
    );
}

#[test]
fn times_in_azures_us_format_read_month_first_with_their_offset() {
    let rec = |time: &str| {
        format!(
            r#"{{"time":"{time}","operationName":"MICROSOFT.WEB/SITES/START/ACTION","category":"Administrative","resultType":"Success","resourceId":"/subscriptions/s1/x"}}"#
        )
    };
    for time in [
        "1/9/2007 10:41:00 AM +01:00",
        "1/9/2007 9:41:00 AM",
        "01/09/2007 09:41:00",
        "2007-01-09T11:41:00+02:00",
    ] {
        assert_eq!(parse(&rec(time)).0, t("2007-01-09T09:41:00Z"), "{time}");
    }
    // An unreadable time with no caller keeps its error, which quotes the time.
    let bad = AzureActivity
        .parse_json(rec("9/1/2007 25:41:00 AM +01:00").as_bytes())
        .err();
    assert_eq!(
        bad,
        Some(RecordError::Invalid(
            "Azure Activity record has an unreadable time '9/1/2007 25:41:00 AM +01:00' and no caller".into()
        ))
    );
}
