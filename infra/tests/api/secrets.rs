//! The bus is not trusted: a forged event sends nothing the table does not back. (What an
//! operator can read is tested in `tests/logs.rs`, which captures log lines.)

use crate::deliveries::{deliver, mailer};
use crate::helpers::TestApp;
use crate::moto::Moto;
use infra::seed;
use serde_json::{Value, json};

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
    let admin = app.demo_admin().await;
    let (id, link) = admin.invite_with_link("anna@example.com", &["Buyer"]).await;
    let member = app.member_of_demo("dora@example.com", &["Buyer"]).await;
    let dora = member.me().await.body["user"]["id"].as_str().unwrap().to_owned();
    let nobody = crate::helpers::unknown_user_id();
    let unknown = crate::helpers::unknown_invitation_id();
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
        // A join no invitation made (a member added without one names no inviter).
        (
            "MemberJoined",
            json!({ "eventKey": format!("joined#{dora}#{customer}#1"), "userId": dora, "customerNumber": customer,
                    "revision": 1, "email": attacker }),
        ),
    ] {
        forge(&moto, kind, detail).await;
    }
    let events = moto.received_events().await;
    assert_eq!(events.len(), 7, "{events:#?}");
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
            Some("membership-not-joined"),
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
