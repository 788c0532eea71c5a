use super::*;
use crate::providers::time::parse_rfc3339;

fn parse(json: &str) -> Event<'_> {
    match Entra.parse_json(json.as_bytes()) {
        Ok(e) => e,
        Err(err) => panic!("{err}: {json}"),
    }
}

fn at(s: &str) -> Option<i64> {
    parse_rfc3339(s)
}

fn probe(json: &str) -> bool {
    match sonic_rs::from_str::<Probe>(json) {
        Ok(p) => Entra.sniff_json(&p),
        Err(err) => panic!("{err}"),
    }
}

fn csv_rows(text: &'static str) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().cloned().unwrap_or_default();
    (headers, rdr.records().flatten().collect())
}

const ROLE: &str = r#"{"time":"2024-05-14T08:12:46.0000000Z","resourceId":"/tenants/t-1/providers/Microsoft.aadiam","operationName":"Add member to role","category":"AuditLogs","tenantId":"t-1","callerIpAddress":"203.0.113.10","correlationId":"c-1","properties":{"id":"Directory_c-1_X","category":"RoleManagement","correlationId":"c-1","result":"success","activityDisplayName":"Add member to role","activityDateTime":"2024-05-14T08:12:45.1234567+00:00","loggedByService":"Core Directory","operationType":"Assign","initiatedBy":{"user":{"userPrincipalName":"alice@example.com","ipAddress":"203.0.113.9","roles":"admin"}},"targetResources":[{"type":"Role","displayName":"Global Administrator"},{"id":"u-2","type":"User","userPrincipalName":"mallory@example.com","modifiedProperties":[{"displayName":"Role.DisplayName","oldValue":null,"newValue":"\"Global Administrator\""}]}]}}"#;

#[test]
fn diagnostic_audit_record_names_the_role_and_who_received_it() {
    let e = parse(ROLE);
    assert_eq!(e.time, at("2024-05-14T08:12:45.123456Z"));
    assert_eq!((e.provider, e.log_type.as_ref()), ("entra", "audit"));
    assert_eq!(e.event_id.as_deref(), Some("Directory_c-1_X"));
    assert_eq!(e.actor.as_deref(), Some("alice@example.com"));
    assert_eq!(e.actor_type, ActorType::Human);
    assert_eq!(e.action.as_deref(), Some("Add member to role"));
    assert_eq!(e.service.as_deref(), Some("Core Directory"));
    assert_eq!(e.resource.as_deref(), Some("mallory@example.com"));
    assert_eq!(e.src_ip.as_deref(), Some("203.0.113.9"));
    assert_eq!((e.outcome, e.error, e.mfa), (Outcome::Success, None, None));
    assert_eq!(e.read_only, Some(false));
    assert_eq!(
        (
            e.session.as_deref(),
            e.correlation_id.as_deref(),
            e.account.as_deref()
        ),
        (None, Some("c-1"), Some("t-1"))
    );
    assert_eq!(
        e.details.as_deref(),
        Some("category=RoleManagement role=Global Administrator")
    );
}

#[test]
fn app_initiated_failure_keeps_the_reason_and_drops_null_addresses() {
    let e = parse(
        r#"{"time":"2019-06-24T09:18:23.58602Z","category":"AuditLogs","callerIpAddress":"<null>","resultDescription":"Spn.Exception","properties":{"result":"failure","resultReason":"","activityDisplayName":"Add service principal credentials ","initiatedBy":{"app":{"displayName":"deploy-pipeline","servicePrincipalId":"sp-1"}},"targetResources":[{"displayName":"billing-sync","Type":"ServicePrincipal","modifiedProperties":[{"displayName":"KeyDescription","newValue":"[\"[KeyIdentifier=k,KeyType=Password,KeyUsage=Verify,DisplayName=ci]\"]"}]}],"additionalDetails":[{"key":"User-Agent","value":"curl/8.5"}]}}"#,
    );
    assert_eq!(
        (e.actor.as_deref(), e.actor_type),
        (Some("deploy-pipeline"), ActorType::Service)
    );
    assert_eq!(e.time, at("2019-06-24T09:18:23.58602Z"));
    assert_eq!(
        e.action.as_deref(),
        Some("Add service principal credentials")
    );
    assert_eq!(
        (e.outcome, e.error.as_deref()),
        (Outcome::Failure, Some("Spn.Exception"))
    );
    assert_eq!(
        (e.src_ip, e.user_agent.as_deref()),
        (None, Some("curl/8.5"))
    );
    assert_eq!(e.resource.as_deref(), Some("billing-sync"));
    assert_eq!(e.details.as_deref(), Some("keyType=Password"));
}

#[test]
fn graph_consent_lists_the_granted_scopes() {
    let e = parse(
        r#"{"id":"Directory_9","category":"ApplicationManagement","correlationId":"c-9","result":"success","activityDisplayName":"Consent to application","activityDateTime":"2024-05-16T14:22:09Z","loggedByService":"Core Directory","initiatedBy":{"app":null,"user":{"userPrincipalName":"dave@example.com","ipAddress":"2001:db8::7"}},"targetResources":[{"displayName":"MailReaderApp","type":"ServicePrincipal","modifiedProperties":[{"displayName":"ConsentContext.IsAdminConsent","newValue":"\"True\""},{"displayName":"ConsentAction.Permissions","newValue":"\"[] => [[Id: x, ConsentType: AllPrincipals, Scope:  Mail.Read offline_access, CreatedDateTime: ]]; \""}]}]}"#,
    );
    assert_eq!(e.log_type, "audit");
    assert_eq!(
        (e.actor.as_deref(), e.src_ip.as_deref()),
        (Some("dave@example.com"), Some("2001:db8::7"))
    );
    assert_eq!(e.resource.as_deref(), Some("MailReaderApp"));
    let details =
        "category=ApplicationManagement adminConsent=True permissions=Mail.Read,offline_access";
    assert_eq!(e.details.as_deref(), Some(details));
    assert_eq!((e.account, e.read_only), (None, None));
}

#[test]
fn grants_name_the_grantee_and_policy_changes_their_controls() {
    let grant = parse(
        r#"{"activityDisplayName":"Add app role assignment to service principal","activityDateTime":"2024-05-16T14:25:00Z","initiatedBy":{"user":{"userPrincipalName":"dave@example.com"}},"targetResources":[{"displayName":"Microsoft Graph","type":"ServicePrincipal","modifiedProperties":[{"displayName":"AppRole.Value","newValue":"\"RoleManagement.ReadWrite.Directory\""},{"displayName":"ServicePrincipal.DisplayName","newValue":"\"backup-bot\""}]}]}"#,
    );
    assert_eq!(grant.resource.as_deref(), Some("backup-bot"));
    let details = "api=Microsoft Graph appRole=RoleManagement.ReadWrite.Directory";
    assert_eq!(grant.details.as_deref(), Some(details));
    let policy = parse(
        r#"{"activityDisplayName":"Update conditional access policy","activityDateTime":"2024-05-16T14:30:12Z","initiatedBy":{"user":{"userPrincipalName":"dave@example.com"}},"targetResources":[{"displayName":"Require MFA","type":"Policy","modifiedProperties":[{"displayName":"ConditionalAccessPolicy","oldValue":"{\"state\":\"enabled\",\"grantControls\":{\"builtInControls\":[\"mfa\"]}}","newValue":"{\"state\": \"disabled\",\"grantControls\":{\"builtInControls\":[\"block\"]}}"}]},{"displayName":"x","type":"User","modifiedProperties":[{"displayName":"StrongAuthenticationRequirement","oldValue":"[{\"State\":1}]","newValue":"[]"}]}]}"#,
    );
    let details = "strongAuthState=none caState=disabled caGrantOld=mfa caGrant=block";
    assert_eq!(policy.details.as_deref(), Some(details));
}

#[test]
fn log_analytics_row_decodes_its_json_strings() {
    let e = parse(
        "{\"TenantId\":\"ws-1\",\"TimeGenerated\":\"2021-08-02T13:29:25.983Z\",\"OperationName\":\"Update application \u{2013} Certificates and secrets management \",\"Category\":\"ApplicationManagement\",\"CorrelationId\":\"c-3\",\"AdditionalDetails\":\"[{\\\"key\\\":\\\"User-Agent\\\",\\\"value\\\":\\\"WindowsPowerShell/5.1\\\"}]\",\"Id\":\"Directory_3\",\"InitiatedBy\":\"{\\\"user\\\":{\\\"userPrincipalName\\\":\\\"erin@example.com\\\",\\\"ipAddress\\\":null}}\",\"Result\":\"success\",\"TargetResources\":\"[{\\\"displayName\\\":\\\"PayrollConnector\\\",\\\"type\\\":\\\"Application\\\"}]\",\"AADTenantId\":\"t-3\",\"AADOperationType\":\"Update\",\"Type\":\"Application\"}\r\n",
    );
    assert_eq!(e.time, at("2021-08-02T13:29:25.983Z"));
    assert_eq!(
        (e.actor.as_deref(), e.actor_type),
        (Some("erin@example.com"), ActorType::Human)
    );
    assert_eq!(
        e.action.as_deref(),
        Some("Update application \u{2013} Certificates and secrets management")
    );
    assert_eq!(e.resource.as_deref(), Some("PayrollConnector"));
    assert_eq!(e.user_agent.as_deref(), Some("WindowsPowerShell/5.1"));
    assert_eq!(
        (e.account.as_deref(), e.event_id.as_deref()),
        (Some("t-3"), Some("Directory_3"))
    );
    assert_eq!(e.service.as_deref(), Some("ApplicationManagement"));
}

#[test]
fn diagnostic_signin_uses_the_signin_time_and_short_error() {
    let e = parse(
        r#"{"time":"2024-05-14T08:17:30Z","category":"SignInLogs","tenantId":"t-1","resultType":"50126","callerIpAddress":"198.51.100.23","correlationId":"c-4","location":"RO","properties":{"id":"s-4","createdDateTime":"2024-05-14T03:15:00.5-05:00","userPrincipalName":"bob@example.com","appDisplayName":"OfficeHome","appId":"app-4","ipAddress":"198.51.100.23","status":{"errorCode":50126,"failureReason":"Error validating credentials. Check the password."},"clientAppUsed":"Browser","conditionalAccessStatus":"notApplied","authenticationRequirement":"singleFactorAuthentication","riskLevelDuringSignIn":"none","riskEventTypes_v2":["passwordSpray"],"resourceDisplayName":"Office 365 Exchange Online","userAgent":"python-requests/2.31","location":{"city":"","countryOrRegion":"RO"}}}"#,
    );
    assert_eq!(e.time, at("2024-05-14T08:15:00.5Z"));
    assert_eq!(
        (e.log_type.as_ref(), e.event_id.as_deref()),
        ("signin", Some("s-4"))
    );
    assert_eq!(
        (e.actor.as_deref(), e.actor_type),
        (Some("bob@example.com"), ActorType::Human)
    );
    assert_eq!(e.action.as_deref(), Some("Sign-in"));
    assert_eq!(e.service.as_deref(), Some("OfficeHome"));
    assert_eq!(e.resource.as_deref(), Some("Office 365 Exchange Online"));
    assert_eq!(
        (e.src_ip.as_deref(), e.country, e.city.as_deref()),
        (Some("198.51.100.23"), Some("RO"), None)
    );
    assert_eq!(e.outcome, Outcome::Failure);
    assert_eq!(
        e.error.as_deref(),
        Some("50126 Error validating credentials.")
    );
    assert_eq!((e.mfa, e.read_only), (Some(false), None));
    assert_eq!(
        (
            e.session.as_deref(),
            e.correlation_id.as_deref(),
            e.account.as_deref()
        ),
        (None, Some("c-4"), Some("t-1"))
    );
    let details =
        "appId=app-4 clientApp=Browser conditionalAccess=notApplied riskEvents=passwordSpray";
    assert_eq!(e.details.as_deref(), Some(details));
}

#[test]
fn signin_categories_give_log_type_and_actor_type() {
    let record = |category: &str, props: &str| {
        format!(
            r#"{{"time":"2024-05-14T08:00:00Z","category":"{category}","properties":{{"createdDateTime":"2024-05-14T07:59:00Z","status":{{"errorCode":0}},{props}}}}}"#
        )
    };
    let cases = [
        (
            "NonInteractiveUserSignInLogs",
            r#""userPrincipalName":"a@example.com","sessionId":"s""#,
            "signin_noninteractive",
            "a@example.com",
            ActorType::Human,
        ),
        (
            "ServicePrincipalSignInLogs",
            r#""servicePrincipalName":"billing-sync","appId":"x""#,
            "signin_service_principal",
            "billing-sync",
            ActorType::Service,
        ),
        (
            "MicrosoftServicePrincipalSignInLogs",
            r#""appDisplayName":"Office 365""#,
            "signin_service_principal",
            "Office 365",
            ActorType::Service,
        ),
        (
            "ManagedIdentitySignInLogs",
            r#""servicePrincipalId":"mi-1""#,
            "signin_managed_identity",
            "mi-1",
            ActorType::Service,
        ),
    ];
    for (category, props, log_type, actor, actor_type) in cases {
        let json = record(category, props);
        let e = parse(&json);
        assert_eq!(
            (e.log_type.as_ref(), e.actor.as_deref(), e.actor_type),
            (log_type, Some(actor), actor_type)
        );
        assert_eq!(
            (e.outcome, e.time),
            (Outcome::Success, at("2024-05-14T07:59:00Z"))
        );
    }
}

#[test]
fn graph_signin_success_with_a_reason_is_still_success() {
    let e = parse(
        r#"{"id":"g-1","createdDateTime":"2025-08-15T15:20:26Z","userPrincipalName":"carol@example.com","appDisplayName":"Graph Explorer","ipAddress":"2600:100f:a100:735::1","clientAppUsed":"Browser","status":{"errorCode":0,"failureReason":"Other.","additionalDetails":"MFA requirement satisfied by claim in the token"},"location":{"city":"Hillsboro","countryOrRegion":"US"},"riskEventTypes_v2":"not-a-list"}"#,
    );
    assert_eq!((e.outcome, e.error), (Outcome::Success, None));
    assert_eq!(
        (e.mfa, e.country, e.city.as_deref()),
        (Some(true), Some("US"), Some("Hillsboro"))
    );
    assert_eq!(e.src_ip.as_deref(), Some("2600:100f:a100:735::1"));
    let sp = parse(
        r#"{"createdDateTime":"2024-05-20T06:50:00Z","signInEventTypes":["servicePrincipal"],"servicePrincipalName":"exporter","status":{"errorCode":7000215}}"#,
    );
    assert_eq!(
        (sp.log_type.as_ref(), sp.actor_type),
        ("signin_service_principal", ActorType::Service)
    );
    assert_eq!(sp.error.as_deref(), Some("7000215"));
}

#[test]
fn log_analytics_signin_row_reads_status_and_location_strings() {
    let e = parse(
        r#"{"TenantId":"ws","TimeGenerated":"2024-05-21T11:20:01Z","CreatedDateTime":"2024-05-21T11:20:00.5Z","Category":"NonInteractiveUserSignInLogs","ResultType":"50074","ResultDescription":"Strong Authentication is required.","CorrelationId":"c-5","Location":"BR","AppDisplayName":"Microsoft Teams","IPAddress":"198.51.100.150","LocationDetails":"{\"city\":\"Sao Paulo\",\"countryOrRegion\":\"BR\"}","Status":"{\"errorCode\":50074}","MfaDetail":"{\"authMethod\":\"Phone call\"}","UserPrincipalName":"dave@example.com","AADTenantId":"t-5","Type":"SigninLogs"}"#,
    );
    assert_eq!(e.log_type, "signin_noninteractive");
    assert_eq!(e.time, at("2024-05-21T11:20:00.5Z"));
    assert_eq!(
        e.error.as_deref(),
        Some("50074 Strong Authentication is required.")
    );
    assert_eq!(
        (e.country, e.city.as_deref(), e.mfa),
        (Some("BR"), Some("Sao Paulo"), Some(true))
    );
    assert_eq!(
        (e.account.as_deref(), e.correlation_id.as_deref()),
        (Some("t-5"), Some("c-5"))
    );
}

#[test]
fn graph_activity_is_templated_and_risk_events_pass_through() {
    let e = parse(
        r#"{"time":"2025-02-18T10:25:12.2779144Z","category":"MicrosoftGraphActivityLogs","callerIpAddress":"1.2.3.4","correlationId":"c-6","location":"North Europe","tenantId":"t-6","properties":{"requestId":"r-6","requestMethod":"get","responseStatusCode":403,"appId":"app-6","userId":"u-6","C_Idtyp":"user","C_Sid":"sid-6","scopes":"User.Read Mail.Read","ipAddress":"1.2.3.4","userAgent":"python-requests/2.32","requestUri":"https://graph.microsoft.com/v1.0/users/bob@example.com/messages/AAMkAGI2TG93AAAuAAAAAAAiQ8W967B7TKBjgx9rVEURAQAiIsqMbYjsT5e-T7KzowPTAAAYbvAQAAA=?$top=5"}}"#,
    );
    assert_eq!(
        (e.log_type.as_ref(), e.event_id.as_deref()),
        ("graph_activity", Some("r-6"))
    );
    assert_eq!(
        e.action.as_deref(),
        Some("GET /v1.0/users/{id}/messages/{id}")
    );
    assert_eq!(
        e.resource.as_deref(),
        Some(
            "/v1.0/users/bob@example.com/messages/AAMkAGI2TG93AAAuAAAAAAAiQ8W967B7TKBjgx9rVEURAQAiIsqMbYjsT5e-T7KzowPTAAAYbvAQAAA="
        )
    );
    assert_eq!(
        (e.actor.as_deref(), e.actor_type),
        (Some("u-6"), ActorType::Human)
    );
    assert_eq!(
        (e.outcome, e.error.as_deref(), e.read_only),
        (Outcome::Failure, Some("403"), Some(true))
    );
    assert_eq!(
        (e.session.as_deref(), e.region.as_deref(), e.country),
        (Some("sid-6"), Some("northeurope"), None)
    );
    assert_eq!(
        e.details.as_deref(),
        Some("appId=app-6 scopes=User.Read,Mail.Read")
    );
    let risk = parse(
        r#"{"time":"3/24/2022 2:42:35 PM","category":"UserRiskEvents","callerIpAddress":"5.6.7.8","properties":{"id":"k-7","riskEventType":"unfamiliarFeatures","riskState":"atRisk","riskLevel":"low","ipAddress":"5.6.7.8","activityDateTime":"2023-10-26T5:32:08.107Z","userPrincipalName":"bob@example.com","additionalInfo":"[{\"Key\":\"userAgent\",\"Value\":\"Mozilla/5.0\"}]"}}"#,
    );
    assert_eq!(
        (risk.log_type.as_ref(), risk.action.as_deref()),
        ("risk", Some("unfamiliarFeatures"))
    );
    assert_eq!(risk.time, at("2023-10-26T05:32:08.107Z"));
    assert_eq!(
        (risk.user_agent.as_deref(), risk.outcome),
        (Some("Mozilla/5.0"), Outcome::Unknown)
    );
    assert_eq!(
        risk.details.as_deref(),
        Some("riskLevel=low riskState=atRisk")
    );
}

#[test]
fn sentinel_signin_csv_export_with_dynamic_pairs() {
    let (h, rows) = csv_rows(
        "\u{feff}TenantId,CreatedDateTime [UTC],Category,ResultType,CorrelationId,AppDisplayName,IPAddress,LocationDetails_dynamic,LocationDetails_string,Status_dynamic,Status_string,UserPrincipalName,AADTenantId,Type\r\n\
         ws,\"4/28/2021, 2:08:45.221 PM\",SignInLogs,50058,c-8,Teams,175.45.176.99,\"{\r\n  \"\"city\"\": \"\"Azor\"\",\r\n  \"\"countryOrRegion\"\": \"\"IL\"\"\r\n}\",,,\"{\"\"errorCode\"\":50058,\"\"failureReason\"\":\"\"Silent sign-in failed.\"\"}\",adelev@example.com,t-8,SigninLogs\r\n",
    );
    assert!(Entra.sniff_table(&h));
    let Some(row) = rows.first() else {
        panic!("no row")
    };
    let e = match Entra.parse_table(&h, row) {
        Ok(e) => e,
        Err(err) => panic!("{err}"),
    };
    assert_eq!(e.time, at("2021-04-28T14:08:45.221Z"));
    assert_eq!(
        (e.log_type.as_ref(), e.actor.as_deref()),
        ("signin", Some("adelev@example.com"))
    );
    assert_eq!(
        (e.country, e.city.as_deref(), e.account.as_deref()),
        (Some("IL"), Some("Azor"), Some("t-8"))
    );
    assert_eq!(e.error.as_deref(), Some("50058 Silent sign-in failed."));
}

#[test]
fn sentinel_audit_csv_without_time_column() {
    let (h, rows) = csv_rows(
        "OperationName,InitiatingUserOrApp,InitiatingIpAddress,UserAgent,CorrelationId,Category,AdditionalDetails,Id,InitiatedBy,LoggedByService,Result,TargetResources,AADOperationType,Type\n\
         Update application \u{2013} Certificates and secrets management ,Victim@example.com,,Edg/92.0,c-9,ApplicationManagement,[],Directory_9,\"{\"\"user\"\":{\"\"userPrincipalName\"\":\"\"victim@example.com\"\",\"\"ipAddress\"\":\"\"45.153.160.2\"\"}}\",Core Directory,success,\"[{\"\"displayName\"\":\"\"purview-spn\"\",\"\"type\"\":\"\"Application\"\"}]\",Update,AuditLogs\n",
    );
    assert!(Entra.sniff_table(&h));
    let Some(Ok(e)) = rows.first().map(|r| Entra.parse_table(&h, r)) else {
        panic!("row refused")
    };
    assert_eq!((e.time, e.log_type.as_ref()), (None, "audit"));
    assert_eq!(
        (e.actor.as_deref(), e.src_ip.as_deref()),
        (Some("victim@example.com"), Some("45.153.160.2"))
    );
    assert_eq!(
        (e.resource.as_deref(), e.user_agent.as_deref()),
        (Some("purview-spn"), Some("Edg/92.0"))
    );
}

#[test]
fn sniffing_accepts_entra_shapes_only() {
    assert!(probe(ROLE));
    assert!(probe(
        r#"{"Type":"SigninLogs","UserPrincipalName":"a@example.com"}"#
    ));
    assert!(probe(
        r#"{"activityDateTime":"2024-01-01T00:00:00Z","activityDisplayName":"Update user","initiatedBy":{}}"#
    ));
    assert!(probe(
        r#"{"createdDateTime":"2024-01-01T00:00:00Z","userPrincipalName":"a@example.com","status":{"errorCode":0}}"#
    ));
    assert!(probe(
        r#"{"category":"SignInLogs","properties":{"createdDateTime":"2024-01-01T00:00:00Z"}}"#
    ));
    let others = [
        r#"{"kind": 0}"#,
        r#"{"eventVersion":"1.08","eventTime":"2024-01-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser"}"#,
        r#"{"name":"organizations/1/sources/2/findings/3","category":"PERSISTENCE","createTime":"2024-01-01T00:00:00Z"}"#,
        r#"{"time":"2024-01-01T00:00:00Z","category":"Administrative","operationName":"MICROSOFT.RESOURCES/DEPLOYMENTS/WRITE","properties":{"statusCode":"Created"}}"#,
        r#"{"category":"AuditLogs","properties":{"log":"{}"}}"#,
        r#"{"Type":"AzureActivity","OperationNameValue":"X","TimeGenerated":"2024-01-01T00:00:00Z"}"#,
        r#"{"published":"2024-01-01T00:00:00Z","eventType":"user.session.start","actor":{"alternateId":"a@example.com"}}"#,
    ];
    for other in others {
        assert!(!probe(other), "{other}");
    }
    let (azure, _) = csv_rows("OperationName,Caller,CallerIpAddress,InitiatedBy,Type\n");
    assert!(!Entra.sniff_table(&azure));
}

#[test]
fn rejections_are_specific_and_wrong_types_cost_one_field() {
    let reject = |json: &str| Entra.parse_json(json.as_bytes()).err();
    assert_eq!(reject(r#"{"kind": 0}"#), Some(RecordError::NotThisFormat));
    assert_eq!(
        reject(r#"{"Type":"AzureActivity","OperationName":"X"}"#),
        Some(RecordError::NotThisFormat)
    );
    assert_eq!(
        reject(r#"{"category":"Administrative","properties":{"activityDisplayName":"x"}}"#),
        Some(RecordError::NotThisFormat)
    );
    let missing = "Entra audit record has no activityDateTime/time and no initiatedBy";
    assert_eq!(
        reject(
            r#"{"category":"AuditLogs","properties":{"activityDisplayName":"Update user","initiatedBy":{}}}"#
        ),
        Some(RecordError::Invalid(missing.into()))
    );
    assert!(matches!(
        reject(r#"{"category":"AuditLogs","properties":{"#),
        Some(RecordError::Invalid(_))
    ));
    let e = parse(
        r#"{"time":"2024-01-01T00:00:00Z","category":"AuditLogs","properties":{"activityDisplayName":"Update user","initiatedBy":42,"targetResources":"not json","additionalDetails":{"a":1},"result":["x"]}}"#,
    );
    assert_eq!(
        (e.actor, e.resource, e.outcome),
        (None, None, Outcome::Unknown)
    );
    let e = parse(
        r#"{"createdDateTime":"2024-01-01T00:00:00Z","userPrincipalName":"a@example.com","status":[1],"location":7,"mfaDetail":"{broken"}"#,
    );
    assert_eq!(
        (e.outcome, e.country, e.mfa),
        (Outcome::Unknown, None, None)
    );
}

#[test]
fn request_paths_become_templates() {
    assert_eq!(
        path_template(graph_path("https://graph.microsoft.com/")),
        "/"
    );
    let uri = "https://graph.microsoft.com/beta/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')/appRoleAssignedTo?$x=1";
    assert_eq!(
        path_template(graph_path(uri)),
        "/beta/servicePrincipals({id})/appRoleAssignedTo"
    );
    assert_eq!(
        path_template("/v1.0/groups/12345/members/$ref"),
        "/v1.0/groups/{id}/members/$ref"
    );
    assert_eq!(
        path_template("/v1.0/me/microsoft.graph.delta()"),
        "/v1.0/me/microsoft.graph.delta({id})"
    );
}

#[test]
fn an_mfa_claim_in_the_token_counts_as_mfa_whatever_the_requirement_says() {
    // Graph shape: a non-interactive sign-in riding on an MFA session.
    let graph = r#"{"id":"s-1","createdDateTime":"2024-05-14T08:00:00Z","userPrincipalName":"a@example.com","isInteractive":false,"authenticationRequirement":"singleFactorAuthentication","status":{"errorCode":0},"authenticationDetails":[{"authenticationMethod":"Previously satisfied","succeeded":true,"authenticationStepResultDetail":"First factor requirement satisfied by claim in the token"},{"authenticationMethod":"Previously satisfied","succeeded":true,"authenticationStepResultDetail":"MFA requirement satisfied by claim in the token"}]}"#;
    assert_eq!(parse(graph).mfa, Some(true));
    // Diagnostic record: the same words in status.additionalDetails.
    let diagnostic = r#"{"time":"2024-05-14T08:00:00Z","category":"NonInteractiveUserSignInLogs","operationName":"Sign-in activity","properties":{"id":"s-2","createdDateTime":"2024-05-14T08:00:00Z","userPrincipalName":"a@example.com","authenticationRequirement":"singleFactorAuthentication","status":{"errorCode":0,"additionalDetails":"MFA requirement satisfied by claim in the token"}}}"#;
    assert_eq!(parse(diagnostic).mfa, Some(true));
    // Embedded JSON (a Log Analytics row): the step details are a string.
    let row = r#"{"TimeGenerated":"2024-05-14T08:00:00Z","Type":"AADNonInteractiveUserSignInLogs","Id":"s-3","CreatedDateTime":"2024-05-14T08:00:00Z","UserPrincipalName":"a@example.com","AuthenticationRequirement":"singleFactorAuthentication","ResultType":"0","AuthenticationDetails":"[{\"authenticationStepResultDetail\":\"MFA requirement satisfied by claim in the token\"}]"}"#;
    assert_eq!(parse(row).mfa, Some(true));
    // Only the first factor from the token: single-factor.
    let first_only = graph.replace(
        r#",{"authenticationMethod":"Previously satisfied","succeeded":true,"authenticationStepResultDetail":"MFA requirement satisfied by claim in the token"}"#,
        "",
    );
    assert_eq!(parse(&first_only).mfa, Some(false));
}

#[test]
fn service_principal_signin_keeps_its_aggregated_risk() {
    // A service principal's sign-in whose own risk is `none` while the principal's
    // aggregated risk is not (Identity Protection for workload identities).
    let json = r#"{"time":"2023-07-26T23:00:20.889Z","category":"ServicePrincipalSignInLogs","tenantId":"t-1","correlationId":"c-9","properties":{"id":"s-9","createdDateTime":"2023-07-26T22:58:30.9832019Z","appId":"app-9","servicePrincipalId":"sp-9","servicePrincipalName":"billing-sync","ipAddress":"12.12.12.12","status":{"errorCode":7000215},"clientCredentialType":"clientSecret","conditionalAccessStatus":"notApplied","riskDetail":"none","riskLevelAggregated":"medium","riskLevelDuringSignIn":"none","riskState":"atRisk","resourceDisplayName":"Azure Storage","location":{"city":"Dublin","countryOrRegion":"IE"}}}"#;
    let e = parse(json);
    assert_eq!(
        (e.actor.as_deref(), e.actor_type, e.outcome),
        (Some("billing-sync"), ActorType::Service, Outcome::Failure)
    );
    assert_eq!(
        e.details.as_deref(),
        Some(
            "appId=app-9 conditionalAccess=notApplied riskLevelAggregated=medium riskState=atRisk credential=clientSecret"
        )
    );
    // `none` at both levels gives no risk key at all.
    let quiet = json.replace(
        r#""riskLevelAggregated":"medium""#,
        r#""riskLevelAggregated":"none""#,
    );
    let e = parse(&quiet);
    assert!(
        !e.details.as_deref().unwrap_or("").contains("riskLevel"),
        "{:?}",
        e.details
    );
}

#[test]
fn a_record_without_a_tenant_id_takes_it_from_its_resource_id() {
    let rec = ROLE.replace(r#""tenantId":"t-1","#, "");
    assert_eq!(parse(&rec).account.as_deref(), Some("t-1"));
    let none = rec.replace(
        r#""resourceId":"/tenants/t-1/providers/Microsoft.aadiam","#,
        "",
    );
    assert_eq!(parse(&none).account, None);
}

#[test]
fn a_log_analytics_signin_row_without_its_type_column_loads() {
    // The minimal service principal sign-in row of Elastic's `signin-invalid-time` test:
    // Log Analytics columns, the table named by `Category` only (no `Type`), no principal.
    let row = r#"{"Category":"ServicePrincipalSignInLogs","CorrelationId":"83d4a233-76a0-4cc0-bbe6-9ce7ad506fc9","CreatedDateTime":"2025-07-01T10:45:17.5824212Z","DurationMs":0,"OperationName":"Sign-in activity","TenantId":"2a0bb6ef-8a1d-4e8b-83d6-c682d5ca56db"}"#;
    assert!(probe(row));
    let e = parse(row);
    assert_eq!(e.log_type, "signin_service_principal");
    assert_eq!(e.time, at("2025-07-01T10:45:17.5824212Z"));
    assert_eq!(e.actor, None);
    assert_eq!(
        e.correlation_id.as_deref(),
        Some("83d4a233-76a0-4cc0-bbe6-9ce7ad506fc9")
    );
    // Without a sign-in time, or naming another table, it is not an Entra sign-in.
    assert!(!probe(
        r#"{"Category":"ServicePrincipalSignInLogs","OperationName":"Sign-in activity"}"#
    ));
    assert!(!probe(
        r#"{"Category":"Administrative","CreatedDateTime":"2025-07-01T10:45:17Z"}"#
    ));
}

#[test]
fn times_in_azures_us_format_read_month_first_with_their_offset() {
    for time in [
        "1/9/2007 10:41:00 AM +01:00",
        "1/9/2007 9:41:00 AM",
        "01/09/2007 09:41:00",
        "2007-01-09T09:41:00.6816663Z",
    ] {
        let audit = format!(
            r#"{{"time":"{time}","category":"AuditLogs","operationName":"Add user","properties":{{"activityDisplayName":"Add user","initiatedBy":{{"user":{{"userPrincipalName":"alice@example.com"}}}}}}}}"#
        );
        assert_eq!(
            parse(&audit).time.map(|t| t - t % 1_000_000),
            at("2007-01-09T09:41:00Z"),
            "{time}"
        );
    }
}
