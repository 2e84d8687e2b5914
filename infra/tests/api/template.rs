//! What `template.yaml` promises operators beyond what `sam validate --lint` checks: every
//! function built the same way with its own log group and retention, the public routes
//! throttled, CORS for the portal's origin only, no authorizer cache, every alarm wired.

use infra::routes::routes_in_template;
use serde_norway::Value;
use std::collections::BTreeSet;

fn template() -> Value {
    serde_norway::from_str(cloudhub::schema::TEMPLATE).unwrap()
}

/// The logical id an intrinsic `!Ref X` names.
fn reference(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str(),
        _ => None,
    }
}

fn resources_of<'a>(template: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, resource)| resource["Type"] == kind)
        .map(|(id, resource)| (id.as_str().unwrap(), resource))
        .collect()
}

#[test]
fn every_function_is_an_arm64_rust_build_with_json_logs_tracing_and_its_own_retained_log_group() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"][0], "arm64");
    assert_eq!(globals["Tracing"], "Active");
    assert_eq!(globals["LoggingConfig"]["LogFormat"], "JSON");
    assert_eq!(
        reference(&globals["Environment"]["Variables"]["CLOUDHUB_STAGE"]),
        Some("Stage")
    );

    let log_groups: BTreeSet<&str> = resources_of(&template, "AWS::Logs::LogGroup")
        .into_iter()
        .inspect(|(id, group)| {
            assert_eq!(
                reference(&group["Properties"]["RetentionInDays"]),
                Some("LogRetentionDays"),
                "{id}"
            )
        })
        .map(|(id, _)| id)
        .collect();
    let functions = resources_of(&template, "AWS::Serverless::Function");
    assert_eq!(functions.len(), 15);
    let mut used = BTreeSet::new();
    for (id, function) in functions {
        assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
        let group = reference(&function["Properties"]["LoggingConfig"]["LogGroup"])
            .unwrap_or_else(|| panic!("{id} logs to its own log group"));
        assert!(
            log_groups.contains(group),
            "{id}: {group} is a log group of the template"
        );
        assert!(used.insert(group), "{id} shares its log group");
        assert!(function["Properties"]["Description"].is_string(), "{id}");
    }
    // argon2id (19 MiB, CPU-bound) runs in log-in and accept: they get more memory, hence CPU.
    for id in ["LoginFunction", "AcceptFunction"] {
        assert!(
            template["Resources"][id]["Properties"]["MemorySize"].as_u64().unwrap() >= 1024,
            "{id}"
        );
    }
}

#[test]
fn public_routes_are_throttled_cors_allows_only_the_portal_and_sessions_are_never_cached() {
    let template = template();
    let api = &template["Resources"]["HttpApi"]["Properties"];
    let route_settings = api["RouteSettings"].as_mapping().unwrap();
    let routes = routes_in_template().unwrap();
    let keys: BTreeSet<String> = routes.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    for (key, settings) in route_settings {
        assert!(keys.contains(key.as_str().unwrap()), "{key:?} is a route");
        assert_eq!(
            reference(&settings["ThrottlingRateLimit"]),
            Some("PublicRouteRateLimit")
        );
        assert_eq!(
            reference(&settings["ThrottlingBurstLimit"]),
            Some("PublicRouteRateLimit")
        );
    }
    let public: Vec<_> = routes.iter().filter(|route| !route.authorized).collect();
    assert_eq!(public.len(), 3, "log-in, preview, accept: {public:?}");
    for route in public {
        let key = format!("{} {}", route.method, route.path);
        assert!(
            route_settings.contains_key(key.as_str()),
            "the public route {key} is throttled"
        );
    }
    assert!(api["DefaultRouteSettings"]["ThrottlingRateLimit"].as_u64().unwrap() > 0);

    let cors = &api["CorsConfiguration"];
    let origins = cors["AllowOrigins"].as_sequence().unwrap();
    assert_eq!(origins.len(), 1);
    assert_eq!(reference(&origins[0]), Some("PortalOrigin"));
    assert_eq!(cors["AllowCredentials"], false);
    let headers: Vec<&str> = cors["AllowHeaders"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    assert!(headers.contains(&"authorization") && headers.contains(&"content-type"));

    // A logged-out session must stop working at once: the authorizer's answers are not cached.
    let authorizer = &api["Auth"]["Authorizers"]["SessionAuthorizer"];
    assert_eq!(authorizer["Identity"]["ReauthorizeEvery"], 0);
    assert_eq!(api["Auth"]["DefaultAuthorizer"], "SessionAuthorizer");
}

#[test]
fn every_alarm_notifies_the_alarm_topic_and_the_api_url_is_an_output() {
    let template = template();
    let alarms = resources_of(&template, "AWS::CloudWatch::Alarm");
    let names: BTreeSet<&str> = alarms.iter().map(|(id, _)| *id).collect();
    for expected in [
        "ApiServerErrorsAlarm",
        "PublisherErrorsAlarm",
        "PublisherIteratorAgeAlarm",
        "MailerErrorsAlarm",
        "MailDeadLetterAlarm",
        "PublishFailuresAlarm",
    ] {
        assert!(names.contains(expected), "{expected} in {names:?}");
    }
    for (id, alarm) in alarms {
        assert_eq!(
            reference(&alarm["Properties"]["AlarmActions"][0]),
            Some("EmailAlarmTopic"),
            "{id}"
        );
    }
    for output in [
        "ApiUrl",
        "DataTableName",
        "SessionsTableName",
        "MailDeadLetterQueueUrl",
        "AlarmTopicArn",
    ] {
        assert!(template["Outputs"][output]["Value"] != Value::Null, "{output}");
    }
    for parameter in [
        "Stage",
        "PortalBaseUrl",
        "PortalOrigin",
        "SenderAddress",
        "AlarmEmail",
        "LogRetentionDays",
    ] {
        assert!(template["Parameters"][parameter]["Type"].is_string(), "{parameter}");
    }
}
