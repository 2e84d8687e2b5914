//! What an operator with read access sees (logs at TRACE, events on the bus, the mail dead-letter
//! queue, metrics) never rebuilds an invitation link; and the bus is not trusted: a forged event
//! sends nothing the table does not back.

use crate::emails::{closed_port, deliver, mailer, poller};
use crate::helpers::{Lines, TestApp};
use crate::moto::Moto;
use cloudhub::metrics::capture;
use infra::seed;
use mailer::Outbox;
use serde_json::{Value, json};

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

// `#[tokio::test]` runs on one thread, so the thread-local subscriber sees every task, the local
// server's included.
#[tokio::test]
async fn nothing_an_operator_can_read_rebuilds_a_link() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let mut poller = poller(&app).await;
    let admin = app.log_in_as_demo_admin().await;
    let (listener, address) = infra::server::bind(0).await.unwrap();
    tokio::spawn(infra::server::serve(listener, app.gateway.clone()));

    // The functions' own log set-up, at the most talkative level, as Lambda's JSON lines.
    let lines = Lines::default();
    let writer = lines.clone();
    let guard = tracing::subscriber::set_default(cloudhub::telemetry::subscriber(
        Some("TRACE"),
        None,
        Some("JSON"),
        move || writer.clone(),
    ));
    capture::start();
    let (id, first_link) = app.invite_with_link(&admin, "anna@example.com", &["Buyer"]).await;
    let first = app.invitation_item(seed::CUSTOMER_NUMBER, &id).await;
    assert_eq!(app.resend(&admin, seed::CUSTOMER_NUMBER, &id).await.status, 200);
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
    let accepted = app
        .accept(&link, None, &json!({ "password": "a long new password" }))
        .await;
    assert_eq!(accepted.status, 201, "{accepted:?}");
    let metrics = capture::take();
    drop(guard);

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
        ("the admin's session", admin.clone()),
        ("the new member's session", session.to_owned()),
        ("the password", "a long new password".to_owned()),
        ("the invited address", "anna@example.com".to_owned()),
    ] {
        assert!(!readable.contains(&secret), "{what} is readable:\n{readable}");
    }
}

/// Puts `detail` on the test's bus as `detail_type`, as anyone allowed `events:PutEvents` could.
async fn forge(moto: &Moto, detail_type: &str, detail: Value) {
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .event_bus_name(&moto.bus_name)
        .source(cloudhub::events::SOURCE)
        .detail_type(detail_type)
        .detail(detail.to_string())
        .build();
    let put = crate::moto::eventbridge(&moto.endpoint)
        .put_events()
        .entries(entry)
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_entry_count(), 0);
}

#[tokio::test]
async fn a_forged_event_on_the_bus_sends_nothing_the_table_does_not_back() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let admin = app.log_in_as_demo_admin().await;
    let (id, link) = app.invite_with_link(&admin, "anna@example.com", &["Buyer"]).await;
    let member = app.demo_member("dora@example.com", &["Buyer"]).await;
    let dora = app.get_me(Some(&member)).await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let nobody = cloudhub::domain::UserId::generate().to_string();
    let unknown = cloudhub::domain::InvitationId::generate().to_string();
    let customer = seed::CUSTOMER_NUMBER;
    let attacker = "attacker@evil.example";

    for (kind, detail) in [
        // Addresses, names and text of the forger's choosing, on a real invitation and send.
        (
            "InvitationSent",
            json!({ "eventKey": format!("invitation#{id}#1"), "customerNumber": customer, "invitationId": id,
                    "sendCount": 1, "email": attacker, "invitedByEmail": "ceo@acme.example",
                    "linkNonce": "forged", "expiresAt": "2099-01-01T00:00:00Z" }),
        ),
        // A send that did not happen, and an invitation that does not exist.
        (
            "InvitationSent",
            json!({ "eventKey": format!("invitation#{id}#7"), "customerNumber": customer, "invitationId": id, "sendCount": 7 }),
        ),
        (
            "InvitationSent",
            json!({ "eventKey": format!("invitation#{unknown}#1"), "customerNumber": customer, "invitationId": unknown, "sendCount": 1 }),
        ),
        // A welcome to an account that does not exist, and a second welcome under a new key.
        (
            "UserRegistered",
            json!({ "eventKey": format!("user#{nobody}"), "userId": nobody, "email": attacker, "language": "en" }),
        ),
        (
            "UserRegistered",
            json!({ "eventKey": format!("user#{}#again", seed::ADMIN_USER_ID), "userId": seed::ADMIN_USER_ID }),
        ),
        // A member who did not leave.
        (
            "MemberLeft",
            json!({ "eventKey": format!("left#{dora}#{customer}#1"), "userId": dora, "customerNumber": customer,
                    "revision": 1, "email": attacker, "companyName": "Evil Corp" }),
        ),
    ] {
        forge(&moto, kind, detail).await;
    }
    let events = moto.received_events().await;
    assert_eq!(events.len(), 6, "{events:#?}");
    let mailer = mailer(&app, moto.outbox());
    let mut outcomes = Vec::new();
    for event in &events {
        outcomes.push(deliver(&mailer, event).await.map_err(|error| error.to_string()));
    }
    let skipped: Vec<Option<&str>> = outcomes
        .iter()
        .map(|outcome| outcome.as_ref().ok().and_then(|o| o.skipped))
        .collect();
    assert_eq!(
        skipped,
        [
            None,
            Some("link-superseded"),
            Some("invitation-gone"),
            Some("account-gone"),
            None,
            Some("membership-not-left"),
        ],
        "{outcomes:#?}"
    );
    assert!(
        outcomes[4].is_err(),
        "a key its ids do not make is not a CloudHub event: {outcomes:#?}"
    );

    // The only email is the one the table backs: the real invitation, to the real address,
    // in the real words, with the real link (and a redelivery of the real event sends no other).
    let sent = moto.sent_emails().await;
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].to, ["anna@example.com"]);
    assert_eq!(sent[0].link_token(), link);
    assert!(sent[0].html.contains(seed::ADMIN_EMAIL) && !sent[0].html.contains("ceo@acme.example"));
    assert!(
        !sent
            .iter()
            .any(|email| email.html.contains(attacker) || email.html.contains("Evil Corp"))
    );
}
