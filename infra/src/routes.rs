//! The HTTP API's routes as `template.yaml` declares them: each function's `HttpApi` events.

use anyhow::{Context as _, bail};
use cloudhub::http::routes::DEFAULT_ROUTE;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One route of the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path template, e.g. `/customers/{customerId}/invitations`.
    pub path: String,
    /// The function's `CodeUri`, e.g. `functions/login`.
    pub code_uri: String,
    /// Whether the API's default authorizer runs first (`Auth.Authorizer: NONE` turns it off).
    pub authorized: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FunctionProperties {
    code_uri: String,
    #[serde(default)]
    events: BTreeMap<String, Event>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Event {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(default)]
    properties: serde_norway::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HttpApiEvent {
    method: String,
    path: String,
    #[serde(default)]
    auth: Option<EventAuth>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EventAuth {
    authorizer: Option<String>,
}

/// Every `HttpApi` route of `template.yaml` but `$default`, sorted by path and method.
pub fn routes_in_template() -> anyhow::Result<Vec<Route>> {
    Ok(every_route()?
        .into_iter()
        .filter(|route| route.path != DEFAULT_ROUTE)
        .collect())
}

/// The `$default` route of `template.yaml`: what answers requests no other route takes.
pub fn default_route_in_template() -> anyhow::Result<Route> {
    every_route()?
        .into_iter()
        .find(|route| route.path == DEFAULT_ROUTE)
        .context("template.yaml has no $default route.")
}

fn every_route() -> anyhow::Result<Vec<Route>> {
    let mut routes = Vec::new();
    for (logical_id, properties) in cloudhub::schema::resources_of_type("AWS::Serverless::Function")? {
        let function: FunctionProperties = serde_norway::from_value(properties)
            .with_context(|| format!("The function {logical_id} in template.yaml is malformed."))?;
        for (event_id, event) in function.events {
            if event.kind != "HttpApi" {
                continue;
            }
            let event: HttpApiEvent = serde_norway::from_value(event.properties)
                .with_context(|| format!("The event {logical_id}.{event_id} in template.yaml is malformed."))?;
            if !event.path.starts_with('/') && event.path != DEFAULT_ROUTE {
                bail!("The route {} of {logical_id} does not start with /.", event.path);
            }
            routes.push(Route {
                method: event.method.to_ascii_uppercase(),
                path: event.path,
                code_uri: function.code_uri.clone(),
                authorized: event.auth.and_then(|auth| auth.authorizer).as_deref() != Some("NONE"),
            });
        }
    }
    routes.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    Ok(routes)
}

impl Route {
    /// The path parameters if `path` matches this route's template.
    pub fn match_path(&self, path: &str) -> Option<BTreeMap<String, String>> {
        let pattern: Vec<&str> = self.path.trim_matches('/').split('/').collect();
        let actual: Vec<&str> = path.trim_matches('/').split('/').collect();
        if pattern.len() != actual.len() {
            return None;
        }
        let mut parameters = BTreeMap::new();
        for (expected, segment) in pattern.iter().zip(&actual) {
            match expected.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                Some(name) if !segment.is_empty() => {
                    parameters.insert(name.to_owned(), percent_decode(segment));
                }
                Some(_) => return None,
                None if expected == segment => {}
                None => return None,
            }
        }
        Some(parameters)
    }
}

fn percent_decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_templates_match_segments_and_capture_parameters() {
        let route = Route {
            method: "GET".into(),
            path: "/customers/{customerId}/invitations".into(),
            code_uri: "functions/list".into(),
            authorized: true,
        };
        let parameters = route.match_path("/customers/10%2034/invitations").unwrap();
        assert_eq!(parameters["customerId"], "10 34");
        assert!(route.match_path("/customers//invitations").is_none());
        assert!(route.match_path("/customers/1/roles").is_none());
        assert!(route.match_path("/customers/1/invitations/2").is_none());
    }
}
