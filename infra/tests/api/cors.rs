//! CORS locally as `template.yaml` configures API Gateway: the local gateway's preflight answers
//! and headers are compared with the template's own settings, for the local stage (the
//! portal's origins and the dev server's `http://localhost:{DevServerPort}`) and for prod.

use crate::helpers::TestApp;
use infra::cors::Cors;
use infra::gateway::{Gateway, IncomingRequest};
use lambda_http::http::{HeaderMap, HeaderValue, Method};
use serde_norway::Value;

/// The template's settings of one branch of its CORS `!If` (0: prod, 1: every other stage).
fn template_branch(index: usize) -> Value {
    let template: Value = serde_norway::from_str(cloudhub::schema::TEMPLATE).unwrap();
    let Value::Tagged(cors) = &template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"] else {
        panic!("CorsConfiguration is an !If")
    };
    cors.value.as_sequence().unwrap()[index + 1].clone()
}

fn joined(value: &Value) -> String {
    value
        .as_sequence()
        .unwrap()
        .iter()
        .map(|item| item.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(",")
}

fn dev_server_port() -> String {
    let template: Value = serde_norway::from_str(cloudhub::schema::TEMPLATE).unwrap();
    template["Parameters"]["DevServerPort"]["Default"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn request(method: Method, path: &str, headers: &[(&'static str, &str)]) -> IncomingRequest {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    IncomingRequest {
        method,
        path_and_query: path.to_owned(),
        headers: map,
        body: Vec::new(),
        source_ip: "127.0.0.1".parse().unwrap(),
    }
}

fn cors_headers(response: &lambda_http::Response<lambda_http::Body>) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("access-control-"))
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    headers
}

#[test]
fn the_origins_are_the_portals_and_on_every_stage_but_prod_the_dev_servers() {
    let localhost = format!("http://localhost:{}", dev_server_port());
    let local = Cors::from_template(&[
        ("Stage", "local"),
        ("PortalOrigins", "http://127.0.0.1:3000,https://portal.example"),
    ])
    .unwrap();
    assert_eq!(
        local.allow_origins,
        ["http://127.0.0.1:3000", "https://portal.example", localhost.as_str()]
    );
    let prod = Cors::from_template(&[
        ("Stage", "prod"),
        ("PortalOrigins", "https://a.example,https://b.example"),
    ])
    .unwrap();
    assert_eq!(prod.allow_origins, ["https://a.example", "https://b.example"]);
    assert!(!prod.allows(&localhost));
    let defaults = Cors::from_template(&[]).unwrap();
    assert_eq!(
        defaults.allow_origins,
        ["https://portal.cloudhub.example", localhost.as_str()],
        "the default stage is dev"
    );
    let moved = Cors::from_template(&[("Stage", "dev"), ("DevServerPort", "8080")]).unwrap();
    assert!(moved.allows("http://localhost:8080") && !moved.allows(&localhost));
    for (cors, branch) in [(&local, template_branch(1)), (&prod, template_branch(0))] {
        assert_eq!(cors.allow_methods.join(","), joined(&branch["AllowMethods"]));
        assert_eq!(cors.allow_headers.join(","), joined(&branch["AllowHeaders"]));
        assert_eq!(cors.expose_headers.join(","), joined(&branch["ExposeHeaders"]));
        assert_eq!(cors.max_age, branch["MaxAge"].as_u64());
        assert_eq!(cors.allow_credentials, branch["AllowCredentials"].as_bool().unwrap());
    }
}

#[tokio::test]
async fn the_local_stack_answers_preflights_and_sets_the_headers_exactly_as_the_template_says() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let settings = template_branch(1);
    let cors = Cors::from_template(&[("Stage", "local"), ("PortalOrigins", "http://127.0.0.1:3000")]).unwrap();
    let gateway: Gateway = app.gateway.clone().with_cors(cors);
    let localhost = format!("http://localhost:{}", dev_server_port());

    // A preflight from an allowed origin: 204, no function called, the template's lists.
    for origin in ["http://127.0.0.1:3000", localhost.as_str()] {
        let preflight = gateway
            .handle(request(
                Method::OPTIONS,
                "/customers/100234/invitations",
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "authorization,content-type"),
                ],
            ))
            .await;
        assert_eq!(preflight.status(), 204);
        assert_eq!(
            cors_headers(&preflight),
            [
                (
                    "access-control-allow-headers".to_owned(),
                    joined(&settings["AllowHeaders"])
                ),
                (
                    "access-control-allow-methods".to_owned(),
                    joined(&settings["AllowMethods"])
                ),
                ("access-control-allow-origin".to_owned(), origin.to_owned()),
                (
                    "access-control-max-age".to_owned(),
                    settings["MaxAge"].as_u64().unwrap().to_string()
                ),
            ]
        );
    }
    // Another origin learns nothing: no CORS header, so the browser refuses.
    let refused = gateway
        .handle(request(
            Method::OPTIONS,
            "/me",
            &[
                ("origin", "https://evil.example"),
                ("access-control-request-method", "GET"),
            ],
        ))
        .await;
    assert_eq!(refused.status(), 204);
    assert!(cors_headers(&refused).is_empty(), "{:?}", refused.headers());

    // The answers themselves, successes and problems alike, name the origin and the exposed headers.
    let bearer = format!("Bearer {}", admin.session());
    let me = gateway
        .handle(request(
            Method::GET,
            "/me",
            &[("origin", localhost.as_str()), ("authorization", bearer.as_str())],
        ))
        .await;
    assert_eq!(me.status(), 200);
    let expected = vec![
        ("access-control-allow-origin".to_owned(), localhost.clone()),
        (
            "access-control-expose-headers".to_owned(),
            joined(&settings["ExposeHeaders"]),
        ),
    ];
    assert_eq!(cors_headers(&me), expected);
    let problem = gateway
        .handle(request(Method::GET, "/me", &[("origin", localhost.as_str())]))
        .await;
    assert_eq!(problem.status(), 401);
    assert_eq!(cors_headers(&problem), expected, "the portal can read the refusal");
    let not_found = gateway
        .handle(request(Method::GET, "/nowhere", &[("origin", localhost.as_str())]))
        .await;
    assert_eq!(not_found.status(), 404);
    assert_eq!(cors_headers(&not_found), expected);
    let other = gateway
        .handle(request(
            Method::GET,
            "/me",
            &[("origin", "https://evil.example"), ("authorization", bearer.as_str())],
        ))
        .await;
    assert_eq!(other.status(), 200, "CORS is the browser's check, not an authorization");
    assert!(cors_headers(&other).is_empty());
    let without_origin = gateway
        .handle(request(Method::GET, "/me", &[("authorization", bearer.as_str())]))
        .await;
    assert!(cors_headers(&without_origin).is_empty());

    // An OPTIONS that is no preflight reaches the `$default` route, which takes it for a known path.
    let plain = gateway.handle(request(Method::OPTIONS, "/me", &[])).await;
    assert_eq!(plain.status(), 204);
    assert_eq!(plain.headers()["allow"], "DELETE, GET, OPTIONS");
}
