//! A local stand-in for API Gateway (HTTP API, payload format 2.0): it matches the routes of
//! `template.yaml`, runs the authorizer on authorized routes, builds the very event API Gateway
//! would send, and calls the function's own handler with it.

use crate::cors::Cors;
use crate::routes::{Route, default_route_in_template, routes_in_template};
use anyhow::bail;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cloudhub::App;
use cloudhub::http::ApiError;
use cloudhub::http::routes::DEFAULT_ROUTE;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_http::http::{HeaderMap, Method};
use lambda_http::{Body, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The functions behind HTTP routes, by their `CodeUri`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `functions/login`
    Login,
    /// `functions/logout`
    Logout,
    /// `functions/me`
    Me,
    /// `functions/invite`
    Invite,
    /// `functions/list`
    List,
    /// `functions/resend`
    Resend,
    /// `functions/delete`
    Delete,
    /// `functions/quota`
    Quota,
    /// `functions/roles`
    Roles,
    /// `functions/users`
    Users,
    /// `functions/accept`
    Accept,
    /// `functions/leave-customer`
    LeaveCustomer,
    /// `functions/not-found`: the `$default` route.
    NotFound,
}

impl Function {
    fn from_code_uri(code_uri: &str) -> Option<Self> {
        match code_uri.trim_end_matches('/') {
            "functions/login" => Some(Self::Login),
            "functions/logout" => Some(Self::Logout),
            "functions/me" => Some(Self::Me),
            "functions/invite" => Some(Self::Invite),
            "functions/list" => Some(Self::List),
            "functions/resend" => Some(Self::Resend),
            "functions/delete" => Some(Self::Delete),
            "functions/quota" => Some(Self::Quota),
            "functions/roles" => Some(Self::Roles),
            "functions/users" => Some(Self::Users),
            "functions/accept" => Some(Self::Accept),
            "functions/leave-customer" => Some(Self::LeaveCustomer),
            "functions/not-found" => Some(Self::NotFound),
            _ => None,
        }
    }

    async fn call(self, app: &App, request: lambda_http::Request) -> Result<Response<Body>, ApiError> {
        match self {
            Self::Login => login::handle(app, request).await,
            Self::Logout => logout::handle(app, request).await,
            Self::Me => me::handle(app, request).await,
            Self::Invite => invite::handle(app, request).await,
            Self::List => list::handle(app, request).await,
            Self::Resend => resend::handle(app, request).await,
            Self::Delete => delete::handle(app, request).await,
            Self::Quota => quota::handle(app, request).await,
            Self::Roles => roles::handle(app, request).await,
            Self::Users => users::handle(app, request).await,
            Self::Accept => accept::handle(app, request).await,
            Self::LeaveCustomer => leave_customer::handle(app, request).await,
            Self::NotFound => not_found::handle(request).await,
        }
    }
}

/// Routes requests to handlers as API Gateway and Lambda would.
#[derive(Clone)]
pub struct Gateway {
    app: App,
    routes: Vec<(Route, Function)>,
    /// The `$default` route: what answers requests no route takes.
    default: (Route, Function),
    /// The API's CORS settings, if browsers of other origins call it (the local stack).
    cors: Option<Cors>,
}

/// An HTTP request as it arrives at the gateway.
#[derive(Debug, Clone)]
pub struct IncomingRequest {
    /// The method.
    pub method: Method,
    /// The path with its query string.
    pub path_and_query: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Vec<u8>,
    /// The TCP peer's address, which API Gateway hands on as `requestContext.http.sourceIp`.
    pub source_ip: std::net::IpAddr,
}

impl Gateway {
    /// A gateway over every route of `template.yaml`. Fails if a route's function has no handler
    /// here, so the local stack can never silently miss a route.
    pub fn new(app: App) -> anyhow::Result<Self> {
        let mut routes = Vec::new();
        for route in routes_in_template()? {
            let function = handler_of(&route)?;
            routes.push((route, function));
        }
        let default = default_route_in_template()?;
        let default = (default.clone(), handler_of(&default)?);
        Ok(Self {
            app,
            routes,
            default,
            cors: None,
        })
    }

    /// The gateway answering preflights and setting CORS headers as `cors` says.
    pub fn with_cors(self, cors: Cors) -> Self {
        Self {
            cors: Some(cors),
            ..self
        }
    }

    /// The routes served.
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.routes.iter().map(|(route, _)| route)
    }

    /// The route key (`POST /invitations/{token}/accept`) of a method and path, if one matches.
    pub fn route_key(&self, method: &Method, path: &str) -> Option<String> {
        self.routes
            .iter()
            .map(|(route, _)| route)
            .find(|route| route.method == method.as_str() && route.match_path(path).is_some())
            .map(|route| format!("{} {}", route.method, route.path))
    }

    /// Answers one request; with CORS settings, as API Gateway does: a preflight is answered
    /// without calling a function, and every other answer gets the CORS headers.
    pub async fn handle(&self, request: IncomingRequest) -> Response<Body> {
        let Some(cors) = &self.cors else {
            return self.route(request).await;
        };
        if let Some(preflight) = cors.preflight(&request.method, &request.headers) {
            return preflight;
        }
        let headers = request.headers.clone();
        let mut response = self.route(request).await;
        cors.decorate(&headers, &mut response);
        response
    }

    async fn route(&self, request: IncomingRequest) -> Response<Body> {
        let (path, query) = match request.path_and_query.split_once('?') {
            Some((path, query)) => (path.to_owned(), query.to_owned()),
            None => (request.path_and_query.clone(), String::new()),
        };
        let matched = self.routes.iter().find_map(|(route, function)| {
            (route.method == request.method.as_str())
                .then(|| route.match_path(&path))
                .flatten()
                .map(|parameters| (route, *function, parameters))
        });
        let (route, function, parameters) =
            matched.unwrap_or_else(|| (&self.default.0, self.default.1, Default::default()));
        let mut event = api_gateway_event(&request, route, &path, &query, &parameters);
        let mut response = self.run(&mut event, route, function).await;
        // API Gateway names each request's id in its answer, as the logs and the activity log do.
        if let Some(id) = event["requestContext"]["requestId"]
            .as_str()
            .and_then(|id| lambda_http::http::HeaderValue::from_str(id).ok())
        {
            response.headers_mut().insert("apigw-requestid", id);
        }
        response
    }

    async fn run(&self, event: &mut Value, route: &Route, function: Function) -> Response<Body> {
        if route.authorized {
            let authorizer_event = match authorizer_event(event) {
                Ok(authorizer_event) => authorizer_event,
                Err(error) => return ApiError::Unexpected(error).into_response(),
            };
            let verdict = authorizer::authorize(&self.app, authorizer_event).await;
            if !verdict.is_authorized {
                return ApiError::Forbidden {
                    code: "forbidden",
                    detail: "The authorizer refused the request.".into(),
                }
                .into_response();
            }
            event["requestContext"]["authorizer"] = json!({ "lambda": verdict.context });
        }
        match lambda_http::request::from_str(&event.to_string()) {
            Ok(lambda_request) => {
                cloudhub::http::observed(lambda_request, |request| function.call(&self.app, request)).await
            }
            Err(error) => {
                ApiError::Unexpected(anyhow::Error::new(error).context("The local gateway built an invalid event."))
                    .into_response()
            }
        }
    }
}

fn handler_of(route: &Route) -> anyhow::Result<Function> {
    match Function::from_code_uri(&route.code_uri) {
        Some(function) => Ok(function),
        None => bail!(
            "The local stack has no handler for {} (route {} {}).",
            route.code_uri,
            route.method,
            route.path
        ),
    }
}

fn api_gateway_event(
    request: &IncomingRequest,
    route: &Route,
    path: &str,
    query: &str,
    parameters: &std::collections::BTreeMap<String, String>,
) -> Value {
    let mut headers = serde_json::Map::new();
    for name in request.headers.keys() {
        let values: Vec<&str> = request
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        headers.insert(name.as_str().to_owned(), Value::String(values.join(",")));
    }
    let query_parameters: serde_json::Map<String, Value> = url_query_pairs(query)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let (body, is_base64) = match std::str::from_utf8(&request.body) {
        _ if request.body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_owned()), false),
        Err(_) => (Value::String(STANDARD.encode(&request.body)), true),
    };
    let now = OffsetDateTime::now_utc();
    let route_key = if route.path == DEFAULT_ROUTE {
        DEFAULT_ROUTE.to_owned()
    } else {
        format!("{} {}", route.method, route.path)
    };
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "queryStringParameters": if query_parameters.is_empty() { Value::Null } else { Value::Object(query_parameters) },
        "pathParameters": if parameters.is_empty() { Value::Null } else { json!(parameters) },
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": "127.0.0.1",
            "domainPrefix": "local",
            "http": {
                "method": request.method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip.to_string(),
                "userAgent": request.headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or(""),
            },
            "requestId": ulid::Ulid::new().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format(&time::format_description::well_known::Rfc2822).unwrap_or_default(),
            "timeEpoch": now.unix_timestamp() * 1000,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    })
}

fn authorizer_event(event: &Value) -> anyhow::Result<ApiGatewayV2CustomAuthorizerV2Request> {
    let mut authorizer = event.clone();
    authorizer["type"] = json!("REQUEST");
    authorizer["routeArn"] = json!(format!(
        "arn:aws:execute-api:eu-central-1:000000000000:local/$default/{}",
        event["routeKey"].as_str().unwrap_or_default().replacen(' ', "", 1)
    ));
    if let Some(object) = authorizer.as_object_mut() {
        object.remove("body");
        object.remove("isBase64Encoded");
    }
    Ok(serde_json::from_value(authorizer)?)
}

fn url_query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(&s.replace('+', " "))
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(key), decode(value))
        })
        .collect()
}
