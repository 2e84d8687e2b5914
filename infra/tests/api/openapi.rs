//! `infra/openapi.yaml`, the HTTP contract, against `template.yaml`: the same routes, each with
//! the authentication the gateway applies, and its path parameters declared. (That answers match
//! the document is what `infra/fuzz-api` checks, with schemathesis against the local stack.)

use infra::routes::routes_in_template;
use serde_norway::Value;
use std::collections::BTreeSet;

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

fn document() -> Value {
    serde_norway::from_str(include_str!("../../openapi.yaml")).expect("infra/openapi.yaml is YAML")
}

#[test]
fn the_document_and_the_template_have_the_same_routes() {
    let document = document();
    assert_eq!(document["openapi"].as_str().map(|v| &v[..4]), Some("3.1."));
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_mapping().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                documented.insert((method.to_ascii_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    let deployed: BTreeSet<(String, String)> = routes_in_template()
        .unwrap()
        .into_iter()
        .map(|route| (route.method, route.path))
        .collect();
    assert_eq!(
        documented.difference(&deployed).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not deployed"
    );
    assert_eq!(
        deployed.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "deployed but not documented"
    );
}

#[test]
fn each_operation_states_the_gateways_authentication_and_declares_its_path_parameters() {
    let document = document();
    assert_eq!(document["components"]["securitySchemes"]["session"]["scheme"], "bearer");
    let global: Vec<&Value> = document["security"].as_sequence().unwrap().iter().collect();
    assert!(global.iter().any(|requirement| requirement.get("session").is_some()));
    let mut operation_ids = BTreeSet::new();
    for route in routes_in_template().unwrap() {
        let item = &document["paths"][route.path.as_str()];
        let operation = &item[route.method.to_ascii_lowercase().as_str()];
        let name = format!("{} {}", route.method, route.path);
        assert!(
            operation_ids.insert(operation["operationId"].as_str().unwrap().to_owned()),
            "{name}"
        );
        // Anonymous access is allowed where the security list is empty or holds an empty requirement.
        let anonymous = operation.get("security").is_some_and(|security| {
            let requirements = security.as_sequence().unwrap();
            requirements.is_empty()
                || requirements
                    .iter()
                    .any(|requirement| requirement.as_mapping().is_some_and(|m| m.is_empty()))
        });
        assert_eq!(
            anonymous,
            !route.authorized || route.path == "/invitations/{token}/accept",
            "{name}"
        );
        if route.authorized {
            assert!(operation["responses"].get("401").is_some(), "{name} documents 401");
        }
        // Every `{parameter}` of the path is declared (on the operation or its path item).
        let declared: BTreeSet<String> = [&item["parameters"], &operation["parameters"]]
            .into_iter()
            .filter_map(Value::as_sequence)
            .flatten()
            .map(|parameter| resolve(&document, parameter))
            .filter(|parameter| parameter["in"] == "path")
            .map(|parameter| parameter["name"].as_str().unwrap().to_owned())
            .collect();
        let in_path: BTreeSet<String> = route
            .path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_owned)
            .collect();
        assert_eq!(declared, in_path, "{name}");
    }
}

/// A `$ref` to `#/components/...`, followed; anything else as it is.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference
            .trim_start_matches("#/")
            .split('/')
            .fold(document, |node, key| &node[key]),
        None => value,
    }
}

#[test]
fn each_route_takes_exactly_the_query_parameters_the_document_declares() {
    let document = document();
    for route in routes_in_template().unwrap() {
        let item = &document["paths"][route.path.as_str()];
        let operation = &item[route.method.to_ascii_lowercase().as_str()];
        let name = format!("{} {}", route.method, route.path);
        let declared: BTreeSet<String> = [&item["parameters"], &operation["parameters"]]
            .into_iter()
            .filter_map(Value::as_sequence)
            .flatten()
            .map(|parameter| resolve(&document, parameter))
            .filter(|parameter| parameter["in"] == "query")
            .map(|parameter| parameter["name"].as_str().unwrap().to_owned())
            .collect();
        let taken: BTreeSet<String> = cloudhub::http::query_parameters_of(&name)
            .iter()
            .map(|parameter| (*parameter).to_owned())
            .collect();
        assert_eq!(declared, taken, "{name}");
        // Any other parameter is refused, which the document must allow for.
        assert!(operation["responses"].get("400").is_some(), "{name} documents 400");
    }
}

#[test]
fn every_invitation_shown_and_the_invite_answer_carry_its_roles_with_names() {
    let document = document();
    let schemas = &document["components"]["schemas"];
    let required = |schema: &Value| -> BTreeSet<String> {
        schema["required"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|name| name.as_str().unwrap().to_owned())
            .collect()
    };
    let properties = |schema: &Value| -> BTreeSet<String> {
        schema["properties"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|name| name.as_str().unwrap().to_owned())
            .collect()
    };
    let shown = &schemas["Invitation"];
    assert!(
        required(shown).contains("roles"),
        "the list and getInvitation always show roles"
    );
    // Only a kept outcome's own fields depend on its status (accepted, deleted).
    let outcome_fields: BTreeSet<String> = ["acceptedAt", "acceptedBy", "declinedAt", "deletedAt", "deletedBy"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        required(shown),
        properties(shown).difference(&outcome_fields).cloned().collect(),
        "every field of a shown invitation is there"
    );
    // The invite's answer is the invitation exactly as shown, names included.
    let invite = &document["paths"]["/customers/{customerId}/invitations"]["post"]["responses"]["201"];
    let answer = &invite["content"]["application/json"]["schema"]["properties"]["invitation"]["$ref"];
    assert_eq!(answer.as_str(), Some("#/components/schemas/Invitation"));
    assert!(schemas.get("CreatedInvitation").is_none());
}

#[test]
fn every_timestamp_the_document_describes_is_a_timestamp() {
    fn walk(value: &Value, path: &str, found: &mut Vec<String>) {
        match value {
            Value::Mapping(mapping) => {
                for (key, child) in mapping {
                    let key = key.as_str().unwrap_or_default();
                    let path = format!("{path}/{key}");
                    if path == "/components/schemas/Timestamp" {
                        continue;
                    }
                    if key == "format" && child.as_str() == Some("date-time") {
                        found.push(format!("{path}: a date-time that is not a Timestamp"));
                    }
                    // A property named `...At` is a Timestamp, alone or as `oneOf` with null.
                    let is_property = path.contains("/properties/") && !path.ends_with("/properties");
                    if is_property && key.ends_with("At") && child.is_mapping() {
                        let text = serde_norway::to_string(child).unwrap();
                        if !text.contains("#/components/schemas/Timestamp") {
                            found.push(format!("{path}: not a Timestamp"));
                        }
                    }
                    walk(child, &path, found);
                }
            }
            Value::Sequence(items) => {
                for (index, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}/{index}"), found);
                }
            }
            _ => {}
        }
    }
    let document = document();
    let pattern = document["components"]["schemas"]["Timestamp"]["pattern"]
        .as_str()
        .unwrap();
    assert_eq!(
        pattern,
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$"
    );
    let mut found = Vec::new();
    walk(&document, "", &mut found);
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn the_document_says_what_unknown_paths_and_methods_answer() {
    let document = document();
    let responses = &document["components"]["responses"];
    let code =
        |name: &str| &responses[name]["content"]["application/problem+json"]["schema"]["properties"]["code"]["const"];
    assert_eq!(code("RouteNotFound"), "route-not-found");
    assert_eq!(code("MethodNotAllowed"), "method-not-allowed");
    assert_eq!(responses["MethodNotAllowed"]["headers"]["Allow"]["required"], true);
}

/// API Gateway answers some requests itself, before or instead of a function: its throttle's 429
/// and its 5xx when a function fails, as `{"message"}` in `application/json`. A client generated
/// from the document must be able to type them on every operation.
#[test]
fn every_operation_describes_api_gateways_own_throttling_and_server_errors() {
    let document = document();
    let resolve = |value: &Value| -> Value {
        match value.get("$ref").and_then(Value::as_str) {
            Some(reference) => reference
                .trim_start_matches("#/")
                .split('/')
                .fold(&document, |node, step| &node[step])
                .clone(),
            None => value.clone(),
        }
    };
    let gateway_message = |response: &Value| {
        resolve(response)["content"]["application/json"]["schema"]["$ref"].as_str()
            == Some("#/components/schemas/GatewayMessage")
    };
    let mut operations = 0;
    for (path, item) in document["paths"].as_mapping().unwrap() {
        for method in METHODS {
            let Some(operation) = item.get(method) else { continue };
            operations += 1;
            let responses = &operation["responses"];
            for status in ["429", "5XX"] {
                assert!(
                    gateway_message(&responses[status]),
                    "{method} {path:?}: {status} without API Gateway's {{\"message\"}}"
                );
            }
        }
    }
    assert!(operations >= 20, "{operations}");
    let message = &document["components"]["schemas"]["GatewayMessage"];
    assert_eq!(message["required"][0], "message");
}

/// A problem's extra members are tied to their codes (so a generated client knows when to read
/// them, and schemathesis holds every answer it meets to it), and /me's notice to its screen.
#[test]
fn extra_problem_members_are_tied_to_their_codes_and_the_no_access_notice_to_its_screen() {
    let document = document();
    let problem = &document["components"]["schemas"]["Problem"];
    let ties: BTreeSet<(String, String)> = problem["allOf"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|rule| {
            let code = rule["if"]["properties"]["code"]["const"].as_str().unwrap().to_owned();
            let field = rule["then"]["required"][0].as_str().unwrap().to_owned();
            // Absent from every other problem, but for one code that may carry it.
            let otherwise = match &rule["else"]["if"] {
                Value::Null => &rule["else"],
                _ => {
                    let optional = rule["else"]["if"]["properties"]["code"]["const"].as_str().unwrap();
                    assert_eq!(
                        rule["else"]["then"],
                        serde_norway::from_str::<Value>("{}").unwrap(),
                        "{optional}"
                    );
                    &rule["else"]["else"]
                }
            };
            assert_eq!(otherwise["not"]["required"][0].as_str(), Some(field.as_str()));
            (code, field)
        })
        .collect();
    for (code, field) in [
        ("invitation-pending", "invitationId"),
        ("unknown-role", "roleIds"),
        ("role-in-use", "members"),
        ("invitation-quota-exhausted", "resetsAt"),
        ("customers-remain", "customerNumbers"),
    ] {
        assert!(
            ties.contains(&(code.to_owned(), field.to_owned())),
            "{code} → {field}: {ties:?}"
        );
        assert!(problem["properties"][field] != Value::Null, "{field} is described");
    }
    let me = &document["components"]["schemas"]["Me"];
    assert_eq!(me["if"]["properties"]["screen"]["const"], "no-access");
    assert_eq!(me["then"]["required"].as_sequence().unwrap().len(), 2);
}
