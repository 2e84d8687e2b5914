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
    // One function per crate under functions/, each built from its own.
    let crates = std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions"))
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().join("Cargo.toml").exists())
        .count();
    assert_eq!(functions.len(), crates);
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
    assert_eq!(public.len(), 4, "log-in, preview, accept, renewal request: {public:?}");
    for route in public {
        let key = format!("{} {}", route.method, route.path);
        assert!(
            route_settings.contains_key(key.as_str()),
            "the public route {key} is throttled"
        );
    }
    assert!(api["DefaultRouteSettings"]["ThrottlingRateLimit"].as_u64().unwrap() > 0);

    // CORS: the portal's origins; on stages but prod also a local dev server's. Both branches of
    // the `!If` say the same but for the origins (infra/tests/api/cors.rs evaluates them).
    let Value::Tagged(cors) = &api["CorsConfiguration"] else {
        panic!("CorsConfiguration is an !If")
    };
    assert_eq!(cors.tag, "If");
    let branches = cors.value.as_sequence().unwrap();
    assert_eq!(branches[0], "IsProduction");
    let (production, other) = (&branches[1], &branches[2]);
    let Value::Tagged(split) = &production["AllowOrigins"] else {
        panic!("the origins are split from PortalOrigins")
    };
    assert_eq!(split.tag, "Split");
    assert_eq!(reference(&split.value[1]), Some("PortalOrigins"));
    for key in [
        "AllowMethods",
        "AllowHeaders",
        "ExposeHeaders",
        "AllowCredentials",
        "MaxAge",
    ] {
        assert_eq!(production[key], other[key], "{key}");
    }
    assert_eq!(production.as_mapping().unwrap().len(), 6);
    assert_eq!(other.as_mapping().unwrap().len(), 6);
    assert_eq!(production["AllowCredentials"], false);
    let headers: Vec<&str> = production["AllowHeaders"]
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
        "PortalOrigins",
        "DevServerPort",
        "SenderAddress",
        "AlarmEmail",
        "LogRetentionDays",
    ] {
        assert!(template["Parameters"][parameter]["Type"].is_string(), "{parameter}");
        assert!(
            template["Parameters"][parameter]["Default"] != Value::Null,
            "{parameter}"
        );
    }
}

/// Every function's resource, by logical id.
fn functions(template: &Value) -> Vec<(&str, &Value)> {
    resources_of(template, "AWS::Serverless::Function")
}

/// The IAM statements a function's role gets: its `Policies`, or its own role's.
fn statements<'a>(template: &'a Value, function: &'a Value) -> Vec<&'a Value> {
    let properties = &function["Properties"];
    let documents: Vec<&Value> = match &properties["Role"] {
        Value::Null => properties["Policies"]
            .as_sequence()
            .map(|policies| policies.iter().collect())
            .unwrap_or_default(),
        role => {
            let Value::Tagged(tagged) = role else {
                panic!("a role by !GetAtt")
            };
            let id = tagged.value.as_str().unwrap().trim_end_matches(".Arn");
            template["Resources"][id]["Properties"]["Policies"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|policy| &policy["PolicyDocument"])
                .collect()
        }
    };
    documents
        .into_iter()
        .flat_map(|document| document["Statement"].as_sequence().into_iter().flatten())
        .collect()
}

fn actions(statement: &Value) -> Vec<&str> {
    match &statement["Action"] {
        Value::String(action) => vec![action.as_str()],
        Value::Sequence(actions) => actions.iter().map(|a| a.as_str().unwrap()).collect(),
        other => panic!("an action list: {other:?}"),
    }
}

fn resources(statement: &Value) -> Vec<&Value> {
    match &statement["Resource"] {
        Value::Sequence(resources) => resources.iter().collect(),
        resource => vec![resource],
    }
}

#[test]
fn no_function_is_configured_with_a_secret_and_only_the_link_functions_may_read_the_keys() {
    let template = template();
    let secret = &template["Resources"]["LinkSigningSecret"];
    assert_eq!(
        secret["DeletionPolicy"], "Retain",
        "deleting the keys would kill every link"
    );
    assert_eq!(secret["UpdateReplacePolicy"], "Retain");
    let globals = &template["Globals"]["Function"]["Environment"]["Variables"];
    let mut readers = BTreeSet::new();
    for (id, function) in functions(&template) {
        let variables = &function["Properties"]["Environment"]["Variables"];
        for (name, value) in variables
            .as_mapping()
            .into_iter()
            .chain(globals.as_mapping())
            .flat_map(|variables| variables.iter())
        {
            let name = name.as_str().unwrap();
            // A dynamic reference is resolved at deploy time into the plain configuration.
            let text = serde_norway::to_string(value).unwrap();
            assert!(
                !text.contains("{{resolve:"),
                "{id}: {name} resolves a secret into the configuration"
            );
            if name.contains("KEY") || name.contains("SECRET") || name.contains("PASSWORD") || name.contains("TOKEN") {
                assert_eq!(name, "LINK_KEYS_SECRET_ID", "{id}: {name} looks like a secret");
                assert_eq!(
                    reference(value),
                    Some("LinkSigningSecret"),
                    "{id}: the secret's id only"
                );
            }
        }
        for statement in statements(&template, function) {
            if actions(statement)
                .iter()
                .any(|action| action.starts_with("secretsmanager:"))
            {
                assert_eq!(actions(statement), ["secretsmanager:GetSecretValue"], "{id}");
                assert_eq!(
                    resources(statement).iter().map(|r| reference(r)).collect::<Vec<_>>(),
                    [Some("LinkSigningSecret")],
                    "{id}"
                );
                readers.insert(id);
            }
        }
        let reads = readers.contains(id);
        let named = variables["LINK_KEYS_SECRET_ID"] != Value::Null;
        assert_eq!(
            reads, named,
            "{id}: reads the keys exactly when it is told where they are"
        );
    }
    assert_eq!(
        readers,
        BTreeSet::from(["AcceptFunction", "InviteFunction", "MailerFunction", "ResendFunction"]),
        "only the functions that make, send or open links"
    );
}

#[test]
fn every_statement_names_its_resources_and_fixed_key_writes_keep_their_condition() {
    let template = template();
    for (id, function) in functions(&template) {
        let statements = statements(&template, function);
        if id == "NotFoundFunction" {
            // The `$default` route's answer needs no AWS service at all.
            assert_eq!(function["Properties"]["Policies"], Value::Null, "{id} has no policy");
            assert_eq!(
                function["Properties"]["Role"],
                Value::Null,
                "{id} has no role of its own"
            );
            continue;
        }
        assert!(!statements.is_empty(), "{id} has a policy");
        for statement in statements {
            let actions = actions(statement);
            assert!(actions.iter().all(|action| !action.contains('*')), "{id}: {actions:?}");
            for resource in resources(statement) {
                // X-Ray's actions take no resource; everything else names one of the stack's.
                if resource == "*" {
                    assert!(actions.iter().all(|a| a.starts_with("xray:")), "{id}: {actions:?} on *");
                    continue;
                }
                assert!(
                    matches!(resource, Value::Tagged(_)),
                    "{id}: {resource:?} is not the stack's own"
                );
            }
        }
        assert!(
            function["Properties"]["Policies"]
                .as_sequence()
                .is_none_or(|policies| policies.iter().all(|p| p.as_str().is_none())),
            "{id}: no managed policy by name"
        );
    }
    let leading_keys = |id: &str, action: &str| -> Vec<String> {
        let function = &template["Resources"][id];
        statements(&template, function)
            .into_iter()
            .filter(|statement| actions(statement).contains(&action))
            .map(|statement| {
                let keys = &statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"];
                serde_norway::to_string(keys).unwrap_or_default().trim().to_owned()
            })
            .collect()
    };
    for action in ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"] {
        assert_eq!(leading_keys("MailerFunction", action), ["- DELIVERY#*"], "{action}");
    }
    // `me`: settings and tour on the caller's own items; `DELETE /me` on the credential, the
    // caller's items, the customers' seats, counts and admin sets, and the sessions table's
    // sessions and log-in counters. Every write is bound to its leading keys.
    let sessions_keys = "- SESSION#*\n- LOGIN#*\n- LOGINSRC#*";
    assert_eq!(
        leading_keys("MeFunction", "dynamodb:UpdateItem"),
        ["- USER#*", "- CUSTOMER#*", sessions_keys]
    );
    assert_eq!(
        leading_keys("MeFunction", "dynamodb:DeleteItem"),
        ["- EMAIL#*", "- USER#*", "- CUSTOMER#*", sessions_keys]
    );
    assert_eq!(leading_keys("MeFunction", "dynamodb:PutItem"), ["- USER#*"]);
    assert_eq!(leading_keys("MeFunction", "dynamodb:GetItem"), ["- EMAIL#*"]);
    assert_eq!(leading_keys("MeFunction", "dynamodb:BatchGetItem"), ["- CUSTOMER#*"]);
    assert_eq!(
        leading_keys("MeFunction", "dynamodb:ConditionCheckItem"),
        ["- CUSTOMER#*"]
    );
    assert_eq!(leading_keys("MeFunction", "dynamodb:BatchWriteItem"), [sessions_keys]);
    assert_eq!(leading_keys("LogoutFunction", "dynamodb:DeleteItem"), ["- SESSION#*"]);
    // The recorder: its markers, the activity log's entries, and the counters in the customers'
    // partitions; nothing else.
    assert_eq!(
        leading_keys("RecorderFunction", "dynamodb:PutItem"),
        ["- RECORDED#*\n- ACTIVITY#*"]
    );
    assert_eq!(
        leading_keys("RecorderFunction", "dynamodb:UpdateItem"),
        ["- CUSTOMER#*"]
    );
}

#[test]
fn the_publisher_reads_only_the_data_tables_stream_and_the_emails_have_reserved_concurrency() {
    let template = template();
    let publisher = &template["Resources"]["PublisherFunction"];
    // With its own role, SAM attaches no AWSLambdaDynamoDBExecutionRole (every stream, `*`).
    assert!(publisher["Properties"]["Role"] != Value::Null);
    let streams: Vec<&Value> = statements(&template, publisher)
        .into_iter()
        .filter(|s| actions(s).iter().any(|a| a.starts_with("dynamodb:")))
        .collect();
    let mut granted = BTreeSet::new();
    for statement in streams {
        for action in actions(statement) {
            granted.insert(action);
        }
        let resource = serde_norway::to_string(&statement["Resource"]).unwrap();
        assert!(
            resource.contains("DataTable.StreamArn") || resource.contains("${DataTable.Arn}/stream/*"),
            "{resource}"
        );
    }
    assert_eq!(
        granted,
        BTreeSet::from([
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams"
        ])
    );
    for (id, parameter) in [
        ("PublisherFunction", "PublisherConcurrency"),
        ("MailerFunction", "MailerConcurrency"),
    ] {
        assert_eq!(
            reference(&template["Resources"][id]["Properties"]["ReservedConcurrentExecutions"]),
            Some(parameter),
            "{id}"
        );
    }
}

#[test]
fn function_timeouts_stay_above_the_aws_clients_operation_timeouts() {
    use cloudhub::aws::Service;
    let template = template();
    let seconds = |value: &Value| std::time::Duration::from_secs(value.as_u64().unwrap());
    let global = seconds(&template["Globals"]["Function"]["Timeout"]);
    let operation = |service: Service| service.timeouts().operation_timeout().unwrap();
    for (id, function) in functions(&template) {
        let timeout = match &function["Properties"]["Timeout"] {
            Value::Null => global,
            value => seconds(value),
        };
        let slowest = match id {
            "PublisherFunction" => operation(Service::EventBridge),
            "MailerFunction" => operation(Service::SesV2),
            _ => operation(Service::DynamoDb).max(operation(Service::SecretsManager)),
        };
        assert!(timeout > slowest * 2, "{id}: {timeout:?} against {slowest:?}");
    }
    // A request waits for at most the authorizer's read and one more hanging call.
    assert!(operation(Service::DynamoDb) + operation(Service::SecretsManager) < std::time::Duration::from_secs(5));
}

#[test]
fn requests_no_route_takes_go_to_the_not_found_function_which_knows_every_route() {
    let default = infra::routes::default_route_in_template().unwrap();
    assert_eq!(
        (default.method.as_str(), default.code_uri.as_str(), default.authorized),
        ("ANY", "functions/not-found", false),
        "every method, no session needed"
    );
    let in_template: Vec<(String, String)> = routes_in_template()
        .unwrap()
        .into_iter()
        .map(|route| (route.method, route.path))
        .collect();
    let known: Vec<(String, String)> = cloudhub::http::routes::ROUTES
        .iter()
        .map(|route| (route.method.to_owned(), route.path.to_owned()))
        .collect();
    assert_eq!(
        known, in_template,
        "cloudhub::http::routes::ROUTES is template.yaml's routes"
    );
}

#[test]
fn the_recorder_reads_the_stream_of_what_it_derives_from_and_writes_only_markers_entries_and_counters() {
    let template = template();
    let recorder = &template["Resources"]["RecorderFunction"];
    assert!(recorder["Properties"]["Role"] != Value::Null, "no managed stream role");
    let granted: BTreeSet<&str> = statements(&template, recorder)
        .into_iter()
        .flat_map(actions)
        .filter(|action| action.starts_with("dynamodb:"))
        .collect();
    assert_eq!(
        granted,
        BTreeSet::from([
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem"
        ])
    );
    let patterns = stream_filters(&template, "RecorderFunction");
    assert_eq!(
        patterns,
        [serde_json::json!({ "dynamodb": { "Keys": { "SK": { "S": [
            { "prefix": "INVITATION#" },
            { "prefix": "MEMBERSHIP#" },
            { "prefix": "ROLE#" },
            { "prefix": "ROLEDELETED#" }
        ] } } } })],
        "invitations move a counter (cloudhub::invitation_counts); invitations, memberships, roles \
         and roles' deletion records carry the activity log's stamps (cloudhub::store::stamp)"
    );
}

fn stream_filters(template: &Value, function: &str) -> Vec<serde_json::Value> {
    template["Resources"][function]["Properties"]["Events"]
        .as_mapping()
        .unwrap()
        .values()
        .flat_map(|event| {
            event["Properties"]["FilterCriteria"]["Filters"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .map(|filter| serde_json::from_str(filter["Pattern"].as_str().unwrap()).unwrap())
        .collect()
}

#[test]
fn the_publishers_stream_filter_admits_every_item_that_owes_an_email() {
    let template = template();
    let patterns = stream_filters(&template, "PublisherFunction");
    assert_eq!(patterns.len(), 1, "{patterns:?}");
    let admits = |sk: &str| {
        patterns[0]["dynamodb"]["Keys"]["SK"]["S"]
            .as_array()
            .unwrap()
            .iter()
            .any(|rule| match rule {
                serde_json::Value::String(exact) => exact == sk,
                other => other["prefix"].as_str().is_some_and(|prefix| sk.starts_with(prefix)),
            })
    };
    // The sort keys of the items `cloudhub::events::from_change` turns into events: an
    // invitation sent, a user registered, a membership left (or removed with its account), an
    // account deletion's record.
    for sk in [
        "INVITATION#01KAWDEM0ADM1N000000000001",
        "MEMBERSHIP#100234",
        "USER",
        "DELETED",
    ] {
        assert!(admits(sk), "{sk} never reaches the publisher");
    }
    for sk in ["CUSTOMER", "CREDENTIAL", "DELIVERY", "EMAIL#anna@example.com"] {
        assert!(!admits(sk), "{sk} wakes the publisher for nothing");
    }
}

#[test]
fn every_event_that_owes_an_email_has_a_rule_to_the_mailer_whose_failures_reach_its_dead_letter_queue() {
    // Every detail type `cloudhub::events::DomainEvent` knows (parse tells a known type with a
    // bad detail from an unknown type by its message).
    let kinds = [
        "InvitationSent",
        "UserRegistered",
        "MemberLeft",
        "MemberJoined",
        "AccountDeleted",
        "RenewalRequested",
    ];
    for kind in kinds {
        let refused = cloudhub::events::DomainEvent::parse(kind, serde_json::json!({})).unwrap_err();
        assert_ne!(
            refused.to_string(),
            format!("Not a CloudHub event: {kind}"),
            "{kind} is an event"
        );
    }
    let template = template();
    let events = template["Resources"]["MailerFunction"]["Properties"]["Events"]
        .as_mapping()
        .unwrap();
    let ruled: BTreeSet<String> = events
        .iter()
        .filter(|(_, event)| event["Type"] == "EventBridgeRule")
        .flat_map(|(_, event)| {
            event["Properties"]["Pattern"]["detail-type"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|kind| kind.as_str().map(str::to_owned))
        .collect();
    assert_eq!(ruled, kinds.iter().map(|k| (*k).to_owned()).collect::<BTreeSet<_>>());
    let policy = format!(
        "{:?}",
        template["Resources"]["MailDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]
    );
    for (name, _) in events {
        let rule = format!("MailerFunction{}", name.as_str().unwrap());
        assert!(
            policy.contains(&rule),
            "{rule} may not reach the mail dead-letter queue"
        );
    }
}
