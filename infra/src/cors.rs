//! CORS as API Gateway (HTTP API) does it, from `template.yaml`'s `CorsConfiguration`: the
//! local stack evaluates the template's intrinsics (`!If`, `!Ref`, `!Split`, `!Join`, `!Sub`,
//! conditions) with its own parameter values, then answers preflights and adds the headers to
//! every API answer the way API Gateway documents it: no header unless the request's `Origin` is
//! allowed; a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered
//! 204 with the allowed methods, headers and max age; other answers get the allowed origin and
//! the exposed headers. API Gateway ignores CORS headers a function sets, and so does this.

use anyhow::{Context as _, bail};
use lambda_http::http::{HeaderMap, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Response};
use serde_norway::Value;
use std::collections::BTreeMap;

/// The HTTP API's CORS settings, evaluated for one stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cors {
    /// `AllowOrigins`: exact origins, `*`, or `scheme://*` (any origin of that scheme).
    pub allow_origins: Vec<String>,
    /// `AllowMethods`.
    pub allow_methods: Vec<String>,
    /// `AllowHeaders`.
    pub allow_headers: Vec<String>,
    /// `ExposeHeaders`.
    pub expose_headers: Vec<String>,
    /// `AllowCredentials`.
    pub allow_credentials: bool,
    /// `MaxAge`, in seconds.
    pub max_age: Option<u64>,
}

/// A parameter's value: a string, or a list for `CommaDelimitedList` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Parameter {
    Text(String),
    List(Vec<String>),
}

/// What the template is evaluated with: its parameters (defaults, overridden) and conditions.
struct Context {
    parameters: BTreeMap<String, Parameter>,
    conditions: BTreeMap<String, Value>,
}

impl Cors {
    /// The template's `HttpApi` CORS settings with these parameter values (the others keep their
    /// defaults); a `CommaDelimitedList` parameter's value is comma-separated, as CloudFormation
    /// takes it.
    pub fn from_template(overrides: &[(&str, &str)]) -> anyhow::Result<Self> {
        let template: Value =
            serde_norway::from_str(cloudhub::schema::TEMPLATE).context("template.yaml does not parse.")?;
        let mut parameters = BTreeMap::new();
        if let Some(declared) = template["Parameters"].as_mapping() {
            for (name, declaration) in declared {
                let name = name.as_str().context("A parameter name is not a string.")?.to_owned();
                let list = declaration["Type"] == "CommaDelimitedList";
                let value = overrides
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, value)| (*value).to_owned())
                    .or_else(|| scalar(&declaration["Default"]));
                if let Some(value) = value {
                    parameters.insert(name, parameter(list, &value));
                }
            }
        }
        let conditions = template["Conditions"]
            .as_mapping()
            .map(|conditions| {
                conditions
                    .iter()
                    .filter_map(|(name, value)| Some((name.as_str()?.to_owned(), value.clone())))
                    .collect()
            })
            .unwrap_or_default();
        let context = Context { parameters, conditions };
        let configuration = context.evaluate(&template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"])?;
        let strings = |key: &str| -> anyhow::Result<Vec<String>> {
            match &configuration[key] {
                Value::Null => Ok(Vec::new()),
                Value::Sequence(items) => items
                    .iter()
                    .map(|item| scalar(item).with_context(|| format!("{key} holds a non-string.")))
                    .collect(),
                other => bail!("{key} is not a list: {other:?}"),
            }
        };
        Ok(Self {
            allow_origins: strings("AllowOrigins")?,
            allow_methods: strings("AllowMethods")?,
            allow_headers: strings("AllowHeaders")?,
            expose_headers: strings("ExposeHeaders")?,
            allow_credentials: configuration["AllowCredentials"].as_bool().unwrap_or(false),
            max_age: configuration["MaxAge"].as_u64(),
        })
    }

    /// Whether a browser page of `origin` may read the API's answers.
    pub fn allows(&self, origin: &str) -> bool {
        self.allow_origins.iter().any(|allowed| {
            allowed == "*"
                || allowed.eq_ignore_ascii_case(origin)
                || allowed
                    .strip_suffix('*')
                    .is_some_and(|scheme| scheme.ends_with("://") && origin.starts_with(scheme))
        })
    }

    /// API Gateway's own answer to a preflight, if `request` is one: `OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`.
    pub fn preflight(&self, method: &Method, headers: &HeaderMap) -> Option<Response<Body>> {
        if method != Method::OPTIONS || !headers.contains_key("access-control-request-method") {
            return None;
        }
        let origin = headers.get("origin")?.to_str().ok()?;
        let mut response = Response::builder()
            .status(StatusCode::NO_CONTENT)
            .body(Body::Empty)
            .expect("a valid response");
        if self.allows(origin) {
            let out = response.headers_mut();
            insert(out, "access-control-allow-origin", origin);
            if self.allow_credentials {
                insert(out, "access-control-allow-credentials", "true");
            }
            if !self.allow_methods.is_empty() {
                insert(out, "access-control-allow-methods", &self.allow_methods.join(","));
            }
            if !self.allow_headers.is_empty() {
                insert(out, "access-control-allow-headers", &self.allow_headers.join(","));
            }
            if let Some(max_age) = self.max_age {
                insert(out, "access-control-max-age", &max_age.to_string());
            }
        }
        Some(response)
    }

    /// Sets the CORS headers of an answer to a request from `origin` (replacing any the function set).
    pub fn decorate(&self, request_headers: &HeaderMap, response: &mut Response<Body>) {
        let out = response.headers_mut();
        let names: Vec<_> = out
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in names {
            out.remove(name);
        }
        let Some(origin) = request_headers.get("origin").and_then(|origin| origin.to_str().ok()) else {
            return;
        };
        if !self.allows(origin) {
            return;
        }
        insert(out, "access-control-allow-origin", origin);
        if self.allow_credentials {
            insert(out, "access-control-allow-credentials", "true");
        }
        if !self.expose_headers.is_empty() {
            insert(out, "access-control-expose-headers", &self.expose_headers.join(","));
        }
    }
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

fn parameter(list: bool, value: &str) -> Parameter {
    if list {
        Parameter::List(value.split(',').map(|item| item.trim().to_owned()).collect())
    } else {
        Parameter::Text(value.to_owned())
    }
}

impl Context {
    /// `value` with every intrinsic function replaced by its value.
    fn evaluate(&self, value: &Value) -> anyhow::Result<Value> {
        match value {
            Value::Tagged(tagged) => self.intrinsic(tagged.tag.to_string().trim_start_matches('!'), &tagged.value),
            Value::Mapping(mapping) if mapping.len() == 1 => {
                let (key, argument) = mapping.iter().next().expect("one entry");
                match key.as_str() {
                    Some("Ref") => self.intrinsic("Ref", argument),
                    Some(function) if function.starts_with("Fn::") => {
                        self.intrinsic(&function["Fn::".len()..], argument)
                    }
                    _ => self.evaluate_entries(mapping),
                }
            }
            Value::Mapping(mapping) => self.evaluate_entries(mapping),
            Value::Sequence(items) => Ok(Value::Sequence(
                items
                    .iter()
                    .map(|item| self.evaluate(item))
                    .collect::<anyhow::Result<_>>()?,
            )),
            other => Ok(other.clone()),
        }
    }

    fn evaluate_entries(&self, mapping: &serde_norway::Mapping) -> anyhow::Result<Value> {
        let mut evaluated = serde_norway::Mapping::new();
        for (key, value) in mapping {
            evaluated.insert(key.clone(), self.evaluate(value)?);
        }
        Ok(Value::Mapping(evaluated))
    }

    fn intrinsic(&self, function: &str, argument: &Value) -> anyhow::Result<Value> {
        let arguments = |count: usize| -> anyhow::Result<Vec<&Value>> {
            match argument.as_sequence() {
                Some(items) if items.len() == count => Ok(items.iter().collect()),
                _ => bail!("{function} takes {count} arguments: {argument:?}"),
            }
        };
        match function {
            "Ref" => {
                let name = argument.as_str().context("Ref takes a name.")?;
                match self.parameters.get(name) {
                    Some(Parameter::Text(text)) => Ok(Value::String(text.clone())),
                    Some(Parameter::List(items)) => {
                        Ok(Value::Sequence(items.iter().cloned().map(Value::String).collect()))
                    }
                    None => bail!("Ref {name}: no such parameter with a value."),
                }
            }
            "If" => {
                let [condition, then, otherwise] = arguments(3)?[..] else {
                    unreachable!()
                };
                let name = condition.as_str().context("If takes a condition's name.")?;
                if self.condition(name)? {
                    self.evaluate(then)
                } else {
                    self.evaluate(otherwise)
                }
            }
            "Join" => {
                let [delimiter, items] = arguments(2)?[..] else {
                    unreachable!()
                };
                let items = self.evaluate(items)?;
                let items: Vec<String> = items
                    .as_sequence()
                    .context("Join takes a list.")?
                    .iter()
                    .map(|item| scalar(item).context("Join takes strings."))
                    .collect::<anyhow::Result<_>>()?;
                Ok(Value::String(
                    items.join(delimiter.as_str().context("Join's delimiter is a string.")?),
                ))
            }
            "Split" => {
                let [delimiter, text] = arguments(2)?[..] else {
                    unreachable!()
                };
                let text = scalar(&self.evaluate(text)?).context("Split takes a string.")?;
                let delimiter = delimiter.as_str().context("Split's delimiter is a string.")?;
                Ok(Value::Sequence(
                    text.split(delimiter)
                        .map(|part| Value::String(part.to_owned()))
                        .collect(),
                ))
            }
            "Sub" => {
                let mut text = argument
                    .as_str()
                    .context("Sub takes a string (without a variable map).")?
                    .to_owned();
                while let Some(start) = text.find("${") {
                    let end = text[start..].find('}').context("Sub: an unclosed ${.")? + start;
                    let name = &text[start + 2..end];
                    let value = match self.parameters.get(name) {
                        Some(Parameter::Text(value)) => value.clone(),
                        _ => bail!("Sub: ${{{name}}} is no string parameter."),
                    };
                    text.replace_range(start..=end, &value);
                }
                Ok(Value::String(text))
            }
            other => bail!("The intrinsic function {other} is not evaluated locally."),
        }
    }

    fn condition(&self, name: &str) -> anyhow::Result<bool> {
        let definition = self
            .conditions
            .get(name)
            .with_context(|| format!("No condition {name}."))?;
        self.truth(definition)
    }

    fn truth(&self, definition: &Value) -> anyhow::Result<bool> {
        let (function, argument) = match definition {
            Value::Tagged(tagged) => (tagged.tag.to_string().trim_start_matches('!').to_owned(), &tagged.value),
            Value::Mapping(mapping) if mapping.len() == 1 => {
                let (key, argument) = mapping.iter().next().expect("one entry");
                let key = key.as_str().context("A condition's function is a string.")?;
                (key.trim_start_matches("Fn::").to_owned(), argument)
            }
            other => bail!("Not a condition: {other:?}"),
        };
        let items = argument.as_sequence();
        match (function.as_str(), items) {
            ("Equals", Some(items)) if items.len() == 2 => {
                Ok(scalar(&self.evaluate(&items[0])?) == scalar(&self.evaluate(&items[1])?))
            }
            ("Not", Some(items)) if items.len() == 1 => Ok(!self.truth(&items[0])?),
            ("And", Some(items)) => items.iter().try_fold(true, |all, item| Ok(all && self.truth(item)?)),
            ("Or", Some(items)) => items.iter().try_fold(false, |any, item| Ok(any || self.truth(item)?)),
            ("Condition", None) => self.condition(argument.as_str().context("Condition takes a name.")?),
            _ => bail!("The condition {definition:?} is not evaluated locally."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str]) -> Cors {
        Cors {
            allow_origins: origins.iter().map(|o| (*o).to_owned()).collect(),
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_headers: vec!["authorization".into()],
            expose_headers: vec!["location".into()],
            allow_credentials: false,
            max_age: Some(600),
        }
    }

    #[test]
    fn origins_match_exactly_or_by_scheme_wildcard() {
        let exact = cors(&["https://portal.example"]);
        assert!(exact.allows("https://portal.example"));
        assert!(!exact.allows("https://portal.example.evil"));
        assert!(!exact.allows("http://portal.example"));
        assert!(cors(&["https://*"]).allows("https://anything.example"));
        assert!(!cors(&["https://*"]).allows("http://anything.example"));
        assert!(cors(&["*"]).allows("http://localhost:5173"));
    }

    #[test]
    fn a_preflight_of_an_allowed_origin_is_answered_with_the_settings() {
        let mut headers = HeaderMap::new();
        headers.insert("origin", HeaderValue::from_static("https://portal.example"));
        assert!(
            cors(&["https://portal.example"])
                .preflight(&Method::OPTIONS, &headers)
                .is_none(),
            "no requested method: no preflight"
        );
        headers.insert("access-control-request-method", HeaderValue::from_static("POST"));
        let answer = cors(&["https://portal.example"])
            .preflight(&Method::OPTIONS, &headers)
            .unwrap();
        assert_eq!(answer.status(), 204);
        assert_eq!(answer.headers()["access-control-allow-methods"], "GET,POST");
        assert_eq!(answer.headers()["access-control-max-age"], "600");
        let refused = cors(&["https://other.example"])
            .preflight(&Method::OPTIONS, &headers)
            .unwrap();
        assert!(refused.headers().is_empty(), "{:?}", refused.headers());
    }
}
