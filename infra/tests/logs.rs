//! What operators read: the log lines of each request (one structured line per request, no
//! email address, token or body in any line) and everything an operator with read access sees
//! (logs at TRACE, events on the bus, the mail dead-letter queue, metrics), which never rebuilds
//! an invitation link.
//!
//! Its own test binary, one test at a time, and one subscriber for the whole process: the
//! functions' own (`cloudhub::telemetry::subscriber`, JSON lines, at `TRACE`), installed once as
//! the global default before anything logs, writing into the running test's capture. tracing
//! caches per log statement whether anyone listens; subscribers set per test (thread-local
//! defaults) made that answer depend on which threads registered a statement first, seen as a
//! flaky missing `request` line when these ran among the API tests. With one global subscriber
//! that never changes, every statement's answer is the same in every run.

// The AWS SDK's futures nest deeply; computing their layout needs more than the default 128.
#![recursion_limit = "256"]
// The API tests' support modules, of which these tests use a part.
#![allow(dead_code)]

#[path = "api/deliveries.rs"]
mod deliveries;
#[path = "api/helpers.rs"]
mod helpers;
#[path = "api/moto.rs"]
mod moto;

use cloudhub::metrics::capture;
use deliveries::{closed_port, deliver, mailer, poller};
use helpers::TestApp;
use infra::seed;
use lambda_http::http::Method;
use mailer::Outbox;
use moto::Moto;
use serde_json::{Value, json};
use std::sync::Arc;

/// What a log subscriber writes, kept for the test to read.
#[derive(Clone, Default)]
pub struct Lines(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

/// Held by each test for its whole run: one capture at a time in this process.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Where the global subscriber writes: the running test's lines, or nowhere between tests.
static CAPTURE: std::sync::Mutex<Option<Lines>> = std::sync::Mutex::new(None);

/// The global subscriber's writer.
#[derive(Clone, Copy)]
struct CurrentCapture;

impl std::io::Write for CurrentCapture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if let Some(lines) = CAPTURE.lock().unwrap().as_mut() {
            lines.write_all(bytes)?;
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the one subscriber, on the first call: each test calls it first thing, before it
/// logs anything, while the other test waits for its turn.
fn install() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        tracing::subscriber::set_global_default(cloudhub::telemetry::subscriber(
            Some("TRACE"),
            None,
            Some("JSON"),
            || CurrentCapture,
        ))
        .expect("nothing else sets a subscriber in this binary");
    });
}

/// Captures every line from now on, from every thread, until the capture is dropped.
fn capture() -> Capturing {
    install();
    let lines = Lines::default();
    *CAPTURE.lock().unwrap() = Some(lines.clone());
    Capturing(lines)
}

/// The running capture; dropping it stops capturing.
struct Capturing(Lines);

impl Drop for Capturing {
    fn drop(&mut self) {
        *CAPTURE.lock().unwrap() = None;
    }
}

/// Every log line written, as JSON, an event's fields beside its level and spans.
fn parsed(lines: &Lines) -> Vec<Value> {
    lines
        .text()
        .lines()
        .map(|line| {
            let mut line: Value = serde_json::from_str(line).unwrap();
            if let Some(Value::Object(fields)) = line.as_object_mut().and_then(|line| line.remove("fields")) {
                line.as_object_mut().unwrap().extend(fields);
            }
            line
        })
        .collect()
}

async fn http_get(address: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

fn unreachable_ses(sender: &str) -> Outbox {
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(format!("http://127.0.0.1:{}", closed_port()))
        .region(aws_config::Region::new("eu-central-1"))
        .credentials_provider(aws_sdk_sesv2::config::SharedCredentialsProvider::new(
            aws_sdk_sesv2::config::Credentials::new("dummy", "dummy", None, None, "test"),
        ))
        .build();
    Outbox::Ses {
        client: aws_sdk_sesv2::Client::new(&config),
        sender: sender.to_owned(),
    }
}

#[tokio::test]
async fn each_request_logs_one_line_without_emails_tokens_or_bodies() {
    let _one = ONE_AT_A_TIME.lock().await;
    install();
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    let (_, link) = admin.invite_with_link("anna@example.com", &["Buyer"]).await;

    let capturing = capture();
    let lines = capturing.0.clone();
    capture::start();
    let invited = admin
        .invite(
            seed::CUSTOMER_NUMBER,
            json!({ "email": "bert@example.com", "roleIds": [buyer] }),
        )
        .await;
    assert_eq!(invited.status, 201, "{invited:?}");
    admin
        .invite(seed::CUSTOMER_NUMBER, json!({ "email": "not an email" }))
        .await
        .assert_problem(422, "invalid-email");
    assert_eq!(anon.preview(&link).await.status, 200);
    let accepted = anon.accept(&link, &json!({ "password": "a long new password" })).await;
    assert_eq!(accepted.status, 201, "{accepted:?}");
    anon.log_in(seed::ADMIN_EMAIL, "a wrong password")
        .await
        .assert_problem(401, "invalid-credentials");
    // Anna deletes her account: a wrong password first, then her own.
    let anna = app.signed_in(&accepted);
    let delete_me = |password: &str| {
        json!({ "confirmEmail": "anna@example.com", "password": password, "leaveCustomers": true }).to_string()
    };
    let json_type = [("content-type", "application/json")];
    anna.request(Method::DELETE, "/me", &json_type, delete_me("a wrong password"))
        .await
        .assert_problem(403, "wrong-password");
    let deleted = anna
        .request(Method::DELETE, "/me", &json_type, delete_me("a long new password"))
        .await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    let metrics = capture::take();
    drop(capturing);

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
            ("DELETE /me", 403),
            ("DELETE /me", 200),
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
        admin.session(),
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
async fn nothing_an_operator_can_read_rebuilds_a_link() {
    let _one = ONE_AT_A_TIME.lock().await;
    install();
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let mut poller = poller(&app).await;
    let admin = app.demo_admin().await;
    let (listener, address) = infra::server::bind(0).await.unwrap();
    tokio::spawn(infra::server::serve(listener, app.gateway.clone()));

    // The functions' own log set-up, at the most talkative level, as Lambda's JSON lines.
    let capturing = capture();
    let lines = capturing.0.clone();
    capture::start();
    let (id, first_link) = admin.invite_with_link("anna@example.com", &["Buyer"]).await;
    let first = app.invitation_item(seed::CUSTOMER_NUMBER, &id).await;
    assert_eq!(admin.resend(seed::CUSTOMER_NUMBER, &id).await.status, 200);
    let current = app.invitation_item(seed::CUSTOMER_NUMBER, &id).await;
    let link = app.link_of(seed::CUSTOMER_NUMBER, &id).await.reveal().to_owned();
    let previewed = http_get(address, &format!("/invitations/{link}")).await;
    assert!(previewed.starts_with("HTTP/1.1 200"), "{previewed}");

    poller.poll_once(&moto.bus()).await.unwrap();
    let events = moto.received_events().await;
    let sent_events: Vec<&Value> = events.iter().filter(|e| e["detail-type"] == "InvitationSent").collect();
    assert_eq!(sent_events.len(), 2, "{events:#?}");
    // SES is down: what the mail dead-letter queue receives is the event and the error.
    let failed = deliver(&mailer(&app, unreachable_ses(&moto.sender)), sent_events[1])
        .await
        .unwrap_err();
    let dead_letter = json!({
        "requestPayload": sent_events[1],
        "responsePayload": { "errorMessage": failed.to_string(), "errorType": format!("{failed:?}") },
    });
    // SES is back: the email goes out, with the link.
    let delivered = deliver(&mailer(&app, moto.outbox()), sent_events[1]).await.unwrap();
    assert_eq!(delivered.sent, 1);
    let accepted = anon.accept(&link, &json!({ "password": "a long new password" })).await;
    assert_eq!(accepted.status, 201, "{accepted:?}");
    let metrics = capture::take();
    drop(capturing);

    let mailed = moto.sent_emails().await;
    assert_eq!(mailed[0].link_token(), link, "the email itself carries the link");
    let logged = lines.text();
    assert!(
        logged.contains("GET /invitations/{token}"),
        "the local server logs the route: {logged}"
    );
    assert!(logged.lines().count() > 10, "TRACE logs something: {logged}");
    let readable = [
        logged,
        serde_json::to_string(&events).unwrap(),
        dead_letter.to_string(),
        serde_json::to_string(&metrics).unwrap(),
    ]
    .join("\n");
    let mac = |token: &str| token.split_once('.').unwrap().1.to_owned();
    let session = accepted.body["sessionToken"].as_str().unwrap();
    for (what, secret) in [
        ("the first link", first_link.clone()),
        ("the first link's MAC", mac(&first_link)),
        ("the first nonce", first.link.nonce.as_str().to_owned()),
        ("the first token hash", first.link.hash.as_str().to_owned()),
        ("the link", link.clone()),
        ("the link's MAC", mac(&link)),
        ("the nonce", current.link.nonce.as_str().to_owned()),
        ("the token hash", current.link.hash.as_str().to_owned()),
        (
            "the test key",
            "dGVzdC1vbmx5LWxpbmstc2lnbmluZy1rZXktMzItYnl0ZXMhIQ".to_owned(),
        ),
        ("the admin's session", admin.session().to_owned()),
        ("the new member's session", session.to_owned()),
        ("the password", "a long new password".to_owned()),
        ("the invited address", "anna@example.com".to_owned()),
    ] {
        assert!(!readable.contains(&secret), "{what} is readable:\n{readable}");
    }
}
