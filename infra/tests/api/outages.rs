//! Failures end in seconds: with DynamoDB or Secrets Manager accepting connections and never
//! answering, every route answers 503 problem+json with `Retry-After` within 5 seconds, through
//! the functions' own AWS configuration (`cloudhub::aws::sdk_config`, with its timeouts).

use crate::helpers::{Caller, TestApp};
use cloudhub::App;
use cloudhub::aws::{Service, sdk_config_from};
use cloudhub::links::LinkKeys;
use cloudhub::store::Store;
use infra::gateway::Gateway;
use infra::seed;
use lambda_http::http::Method;
use serde_json::json;
use std::time::{Duration, Instant};

/// The most a request may take while a dependency hangs.
const WITHIN: Duration = Duration::from_secs(5);

/// A server that accepts every connection and never answers; returns its endpoint.
async fn hanging_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            held.push(stream);
        }
    });
    endpoint
}

/// Lambda's environment for one service, pointed at `endpoint`.
fn lambda_env(endpoint: &str) -> impl Fn(&str) -> Option<String> {
    let endpoint = endpoint.to_owned();
    move |name| match name {
        "AWS_REGION" => Some("eu-central-1".into()),
        "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => Some("dummy".into()),
        "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
        _ => None,
    }
}

/// A store of the functions' own configuration over `endpoint`, on `tables`.
fn store_at(endpoint: &str, tables: &cloudhub::store::Tables) -> Store {
    let config = sdk_config_from(Service::DynamoDb, lambda_env(endpoint)).unwrap();
    Store::new(aws_sdk_dynamodb::Client::new(&config), tables.clone())
}

async fn timed(caller: &Caller, method: Method, path: &str, body: &str) -> (crate::helpers::TestResponse, Duration) {
    let headers = [("content-type", "application/json")];
    let started = Instant::now();
    // Without its timeouts a request would wait for the hung service forever: fail, don't hang.
    let response = tokio::time::timeout(
        6 * WITHIN,
        caller.request(method.clone(), path, &headers, body.to_owned()),
    )
    .await
    .unwrap_or_else(|_| panic!("{method} {path} did not answer within {:?}", 6 * WITHIN));
    (response, started.elapsed())
}

#[tokio::test]
async fn with_dynamodb_hanging_every_route_answers_503_within_seconds() {
    let working = TestApp::with_demo_customer().await;
    let admin = working.demo_admin().await;
    let (_, link) = admin.invite_with_link("anna@example.com", &[]).await;

    let hanging = hanging_server().await;
    let app = App {
        store: store_at(&hanging, working.app.store.tables()),
        ..working.app.clone()
    };
    let down = TestApp::over(app, working.clock.clone());
    let anon = down.anonymous();
    let login = json!({ "email": seed::ADMIN_EMAIL, "password": seed::ADMIN_PASSWORD }).to_string();
    let invite = json!({ "email": "ben@example.com" }).to_string();
    let accept = json!({ "password": "a long new password" }).to_string();
    let requests = [
        (Method::POST, "/auth/login".to_owned(), &anon, login.as_str()),
        (Method::GET, format!("/invitations/{link}"), &anon, ""),
        (
            Method::POST,
            format!("/invitations/{link}/accept"),
            &anon,
            accept.as_str(),
        ),
        (Method::GET, "/me".to_owned(), &admin.on(&down), ""),
        (
            Method::POST,
            format!("/customers/{}/invitations", seed::CUSTOMER_NUMBER),
            &admin.on(&down),
            invite.as_str(),
        ),
    ];
    for (method, path, caller, body) in &requests {
        let (response, took) = timed(caller, method.clone(), path, body).await;
        response.assert_problem(503, "service-unavailable");
        assert!(
            response.headers.contains_key("retry-after"),
            "{method} {path}: {response:?}"
        );
        assert!(took < WITHIN, "{method} {path} took {took:?}");
    }
    // Nothing was written: the working store sees the same invitation alone, the quota at 1.
    assert_eq!(
        admin.quota(seed::CUSTOMER_NUMBER).await.body["used"],
        1,
        "no quota spent while DynamoDB hung"
    );
}

#[tokio::test]
async fn with_dynamodb_hanging_every_authorized_route_of_the_template_answers_503_within_seconds() {
    let working = TestApp::with_demo_customer().await;
    let admin = working.demo_admin().await;
    let hanging = hanging_server().await;
    let app = App {
        store: store_at(&hanging, working.app.store.tables()),
        ..working.app.clone()
    };
    let gateway = Gateway::new(app).unwrap();
    let down = TestApp::from_parts(working.app.clone(), working.clock.clone(), gateway.clone());
    let routes: Vec<_> = gateway.routes().filter(|route| route.authorized).cloned().collect();
    assert!(routes.len() >= 15, "{routes:?}");
    // All at once (each would wait for its own timeouts): none may wait for another.
    let started = Instant::now();
    let answers: Vec<_> = routes
        .iter()
        .map(|route| {
            let path = route
                .path
                .replace("{customerId}", seed::CUSTOMER_NUMBER)
                .replace("{invitationId}", seed::ADMIN_USER_ID)
                .replace("{roleId}", seed::ADMIN_USER_ID)
                .replace("{userId}", seed::ADMIN_USER_ID);
            let method = Method::from_bytes(route.method.as_bytes()).unwrap();
            let admin = admin.on(&down);
            tokio::spawn(async move {
                let (response, took) = timed(&admin, method.clone(), &path, "{}").await;
                (format!("{method} {path}"), response, took)
            })
        })
        .collect();
    for answer in answers {
        let (request, response, took) = answer.await.unwrap();
        assert_eq!(response.status, 503, "{request}: {response:?}");
        response.assert_problem(503, "service-unavailable");
        assert!(took < WITHIN, "{request} took {took:?}");
    }
    assert!(started.elapsed() < WITHIN, "all of them took {:?}", started.elapsed());
}

#[tokio::test]
async fn with_secrets_manager_hanging_invite_and_preview_answer_503_within_seconds() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let (_, link) = admin.invite_with_link("anna@example.com", &[]).await;
    let hanging = hanging_server().await;
    let config = sdk_config_from(Service::SecretsManager, lambda_env(&hanging)).unwrap();
    let mut cold = app.app.clone();
    cold.link_keys = Some(LinkKeys::secrets_manager(
        aws_sdk_secretsmanager::Client::new(&config),
        "cloudhub-link-keys",
    ));
    let cold = TestApp::over(cold, app.clock.clone());
    let before = app.all_items().await;
    let invite = json!({ "email": "ben@example.com" }).to_string();
    let path = format!("/customers/{}/invitations", seed::CUSTOMER_NUMBER);
    let (invited, took) = timed(&admin.on(&cold), Method::POST, &path, &invite).await;
    invited.assert_problem(503, "service-unavailable");
    assert!(took < WITHIN, "invite took {took:?}");
    let (previewed, took) = timed(&cold.anonymous(), Method::GET, &format!("/invitations/{link}"), "").await;
    previewed.assert_problem(503, "service-unavailable");
    assert!(took < WITHIN, "preview took {took:?}");
    assert_eq!(app.all_items().await, before, "nothing written, no quota spent");

    // Requests of a cold start at once do not queue up behind each other's reads.
    let mut colder = cold.app.clone();
    colder.link_keys = Some(LinkKeys::secrets_manager(
        aws_sdk_secretsmanager::Client::new(&config),
        "cloudhub-link-keys",
    ));
    let colder = TestApp::over(colder, app.clock.clone());
    let anon = colder.anonymous();
    let preview = format!("/invitations/{link}");
    let started = Instant::now();
    let answers = tokio::join!(
        timed(&anon, Method::GET, &preview, ""),
        timed(&anon, Method::GET, &preview, ""),
        timed(&anon, Method::GET, &preview, ""),
        timed(&anon, Method::GET, &preview, ""),
    );
    for (answer, _) in [answers.0, answers.1, answers.2, answers.3] {
        answer.assert_problem(503, "service-unavailable");
    }
    assert!(started.elapsed() < WITHIN, "four at once took {:?}", started.elapsed());
}

/// A proxy to DynamoDB Local that holds back the answers to TransactWriteItems for `delay` (the
/// write commits, the client gives up first) and passes everything else through.
async fn slow_transactions(upstream: &str, delay: Duration) -> String {
    crate::helpers::dynamodb_proxy(upstream, move |operation, _| {
        if operation == "TransactWriteItems" {
            delay
        } else {
            Duration::ZERO
        }
    })
    .await
}

#[tokio::test]
async fn an_invite_that_timed_out_but_committed_is_a_conflict_when_retried() {
    let working = TestApp::with_demo_customer().await;
    let admin = working.demo_admin().await;
    let slow = slow_transactions(&cloudhub::testing::endpoint(), Duration::from_secs(10)).await;
    // The functions' configuration, with room for the reads that are not held back on a busy
    // machine; the transaction's answer comes later than the client waits.
    let config = sdk_config_from(Service::DynamoDb, lambda_env(&slow)).unwrap();
    let config = aws_sdk_dynamodb::config::Builder::from(&config)
        .timeout_config(
            aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(4))
                .operation_timeout(Duration::from_secs(8))
                .build(),
        )
        .build();
    let mut app = working.app.clone();
    app.store = Store::new(
        aws_sdk_dynamodb::Client::from_conf(config),
        working.app.store.tables().clone(),
    );
    let slow = TestApp::over(app, working.clock.clone());
    let invite = json!({ "email": "ben@example.com" });
    let path = format!("/customers/{}/invitations", seed::CUSTOMER_NUMBER);
    let (answer, took) = timed(&admin.on(&slow), Method::POST, &path, &invite.to_string()).await;
    answer.assert_problem(503, "service-unavailable");
    assert!(took < Duration::from_secs(10), "{took:?}");
    // It committed: the retry learns that the invitation exists, and the list shows it once.
    let retried = admin.invite(seed::CUSTOMER_NUMBER, invite).await;
    retried.assert_problem(409, "invitation-pending");
    let listed = admin.list_invitations(seed::CUSTOMER_NUMBER, "").await;
    let emails: Vec<&str> = listed.body["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["ben@example.com"]);
}
