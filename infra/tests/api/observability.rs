//! What operators see of each request: one structured log line (request id, route, status,
//! problem code, duration, customer, user id) with no email address, token or body in it, and
//! the product metrics in CloudWatch's Embedded Metric Format.

use crate::helpers::{Lines, TestApp};
use cloudhub::metrics::capture;
use infra::seed;
use serde_json::{Value, json};

/// Every log line written, as JSON.
fn parsed(lines: &Lines) -> Vec<Value> {
    lines
        .text()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn json_subscriber(lines: &Lines) -> impl tracing::Subscriber + Send + Sync {
    let lines = lines.clone();
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(true)
        .with_span_list(true)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || lines.clone())
        .finish()
}

// `#[tokio::test]` runs on one thread, so the thread-local subscriber sees the whole request.
#[tokio::test]
async fn each_request_logs_one_line_without_emails_tokens_or_bodies() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.log_in_as_demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    let (_, link) = app.invite_with_link(&admin, "anna@example.com", &["Buyer"]).await;

    let lines = Lines::default();
    let guard = tracing::subscriber::set_default(json_subscriber(&lines));
    capture::start();
    let invited = app
        .invite(
            &admin,
            seed::CUSTOMER_NUMBER,
            json!({ "email": "bert@example.com", "roleIds": [buyer] }),
        )
        .await;
    assert_eq!(invited.status, 201, "{invited:?}");
    app.invite(&admin, seed::CUSTOMER_NUMBER, json!({ "email": "not an email" }))
        .await
        .assert_problem(422, "invalid-email");
    assert_eq!(app.preview(&link).await.status, 200);
    let accepted = app
        .accept(&link, None, &json!({ "password": "a long new password" }))
        .await;
    assert_eq!(accepted.status, 201, "{accepted:?}");
    app.post_login(seed::ADMIN_EMAIL, "a wrong password")
        .await
        .assert_problem(401, "invalid-credentials");
    let metrics = capture::take();
    drop(guard);

    let all = parsed(&lines);
    let requests: Vec<&Value> = all.iter().filter(|line| line["message"] == "request").collect();
    let routes: Vec<(&str, u64)> = requests
        .iter()
        .map(|line| (line["route"].as_str().unwrap(), line["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        routes,
        [
            ("POST /customers/{customerId}/invitations", 201),
            ("POST /customers/{customerId}/invitations", 422),
            ("GET /invitations/{token}", 200),
            ("POST /invitations/{token}/accept", 201),
            ("POST /auth/login", 401),
        ],
        "one line per request: {all:#?}"
    );
    let invite = requests[0];
    assert_eq!(invite["level"], "INFO");
    assert_eq!(invite["customer"], seed::CUSTOMER_NUMBER);
    assert_eq!(invite["user"], seed::ADMIN_USER_ID);
    assert!(invite["duration_ms"].as_f64().unwrap() > 0.0, "{invite}");
    assert!(!invite["request_id"].as_str().unwrap().is_empty(), "{invite}");
    assert!(invite.get("code").is_none(), "{invite}");
    assert_eq!(requests[1]["code"], "invalid-email");
    assert_eq!(requests[4]["code"], "invalid-credentials");
    assert!(requests[4].get("user").is_none() && requests[4].get("customer").is_none());
    // The request ids tell requests apart.
    let ids: std::collections::BTreeSet<&str> = requests
        .iter()
        .map(|line| line["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), requests.len());

    // Nothing secret or personal anywhere in what was logged, at any level.
    let text = lines.text();
    let session = accepted.body["sessionToken"].as_str().unwrap();
    for secret in [
        "bert@example.com",
        "not an email",
        "anna@example.com",
        seed::ADMIN_EMAIL,
        admin.as_str(),
        link.as_str(),
        session,
        "a long new password",
        "a wrong password",
        crate::helpers::DEFAULT_SOURCE,
    ] {
        assert!(!text.contains(secret), "`{secret}` was logged:\n{text}");
    }

    // The invitation and the accept count toward the product metrics, nothing else does.
    let counted: Vec<(String, &str)> = metrics
        .iter()
        .map(|document| {
            let name = document["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]
                .as_str()
                .unwrap()
                .to_owned();
            assert_eq!(document[&name], 1, "{document}");
            assert_eq!(document["_aws"]["CloudWatchMetrics"][0]["Namespace"], "CloudHub");
            (name, document["route"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        counted,
        [
            ("InvitationsSent".to_owned(), "POST /customers/{customerId}/invitations"),
            ("Accepts".to_owned(), "POST /invitations/{token}/accept"),
        ]
    );
}

#[tokio::test]
async fn quota_refusals_resends_and_leaves_are_counted() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.log_in_as_demo_admin().await;
    let id = app.invite_to_demo(&admin, "carla@example.com").await;
    let member = app.demo_member("dora@example.com", &["Buyer"]).await;

    capture::start();
    assert_eq!(app.resend(&admin, seed::CUSTOMER_NUMBER, &id).await.status, 200);
    assert_eq!(
        app.leave(&member, seed::CUSTOMER_NUMBER, seed::CUSTOMER_NUMBER)
            .await
            .status,
        200
    );
    // Spend the rest of the day's quota, then one more is refused.
    let remaining = app.quota(&admin, seed::CUSTOMER_NUMBER).await.body["remaining"]
        .as_u64()
        .unwrap();
    for _ in 0..remaining {
        assert_eq!(app.resend(&admin, seed::CUSTOMER_NUMBER, &id).await.status, 200);
    }
    app.resend(&admin, seed::CUSTOMER_NUMBER, &id)
        .await
        .assert_problem(429, "invitation-quota-exhausted");
    let names: Vec<String> = capture::take()
        .iter()
        .map(|document| {
            document["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let count = |name: &str| names.iter().filter(|n| *n == name).count() as u64;
    assert_eq!(count("InvitationsSent"), 1 + remaining);
    assert_eq!(count("Leaves"), 1);
    assert_eq!(count("QuotaRefusals"), 1);
    assert_eq!(names.len() as u64, remaining + 3);
}
