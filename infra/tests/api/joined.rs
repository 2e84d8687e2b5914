//! The inviter is told: when an invitation is accepted, the admin who sent it gets one email in
//! their language (the stream → the publisher → EventBridge on moto → the mailer → SES on moto),
//! unless they turned it off or are no admin of the customer any more.

use crate::deliveries::{deliver, mailer, poller};
use crate::emails::{to, unique};
use crate::helpers::TestApp;
use crate::moto::Moto;
use infra::seed;
use serde_json::{Value, json};

/// The `MemberJoined` events of one user.
fn joined_events<'a>(events: &'a [Value], user_id: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["detail-type"] == "MemberJoined" && e["detail"]["userId"] == user_id)
        .collect()
}

#[tokio::test]
async fn the_admin_who_sent_an_accepted_invitation_is_told_once_in_their_language() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let mut poller = poller(&app).await;
    let admin = app.demo_admin().await;
    let anna = unique("anna");
    let (_, link) = admin.invite_with_link(&anna, &["Buyer"]).await;
    let accepted = app
        .anonymous()
        .accept(&link, &json!({ "password": "a long new password" }))
        .await;
    assert_eq!(accepted.status, 201, "{accepted:?}");
    let anna_id = accepted.body["userId"].as_str().unwrap().to_owned();

    poller.poll_once(&moto.bus()).await.unwrap();
    let events = moto.received_events().await;
    let joined = joined_events(&events, &anna_id);
    assert_eq!(joined.len(), 1, "{events:#?}");
    let text = joined[0].to_string();
    assert!(
        !text.contains(&anna) && !text.contains(seed::ADMIN_EMAIL),
        "only ids on the bus: {text}"
    );

    let mailer = mailer(&app, moto.outbox());
    let first = deliver(&mailer, joined[0]).await.unwrap();
    assert_eq!(first.sent, 1, "{first:?}");
    let again = deliver(&mailer, joined[0]).await.unwrap();
    assert_eq!(
        (again.sent, again.already_sent),
        (0, 1),
        "exactly one, however often delivered"
    );
    let sent = to(&moto.sent_emails().await, seed::ADMIN_EMAIL);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    // The demo admin's account speaks English (the customer's default is German).
    assert_eq!(
        sent[0].subject,
        format!("{anna} joined {} as Buyer", seed::COMPANY_NAME)
    );
    assert!(
        sent[0].html.contains("Open User Management") && sent[0].html.contains("users"),
        "a button to User Management: {}",
        sent[0].html
    );
    assert!(
        to(&moto.sent_emails().await, &anna)
            .iter()
            .all(|mail| !mail.subject.contains("joined"))
    );
}

#[tokio::test]
async fn an_admin_who_turned_it_off_is_not_told_and_the_setting_shows() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let mut poller = poller(&app).await;
    let admin = app.demo_admin().await;
    assert_eq!(admin.me().await.body["user"]["notifyOnAccept"], true, "on by default");
    let off = admin
        .put_json("/me/settings", &json!({ "notifyOnAccept": false }))
        .await;
    assert_eq!(off.status, 200, "{off:?}");
    assert_eq!(off.body["user"]["notifyOnAccept"], false);
    assert_eq!(off.body["user"]["language"], "en", "the language stays");
    admin
        .put_json("/me/settings", &json!({}))
        .await
        .assert_problem(422, "invalid-body");

    let ben = unique("ben");
    let (_, link) = admin.invite_with_link(&ben, &[]).await;
    let accepted = app
        .anonymous()
        .accept(&link, &json!({ "password": "a long new password" }))
        .await;
    assert_eq!(accepted.status, 201);
    poller.poll_once(&moto.bus()).await.unwrap();
    let events = moto.received_events().await;
    let joined = joined_events(&events, accepted.body["userId"].as_str().unwrap());
    assert_eq!(joined.len(), 1, "{events:#?}");
    let outcome = deliver(&mailer(&app, moto.outbox()), joined[0]).await.unwrap();
    assert_eq!(
        (outcome.sent, outcome.skipped),
        (0, Some("inviter-not-told")),
        "{outcome:?}"
    );
    assert!(to(&moto.sent_emails().await, seed::ADMIN_EMAIL).is_empty());
}

#[tokio::test]
async fn an_inviter_who_is_no_admin_any_more_is_not_told_nor_is_anyone_else() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let mut poller = poller(&app).await;
    let second = app
        .member_of_demo("second.admin@acme.example", &["Administrator"])
        .await;
    let carla = unique("carla");
    let (_, link) = second.invite_with_link(&carla, &[]).await;
    // The demo admin takes the second admin's rights away before the invitation is accepted.
    let admin = app.demo_admin().await;
    let second_id = second.me().await.body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(admin.assign(&second_id, json!([])).await.status, 200);
    let accepted = app
        .anonymous()
        .accept(&link, &json!({ "password": "a long new password" }))
        .await;
    assert_eq!(accepted.status, 201, "{accepted:?}");

    poller.poll_once(&moto.bus()).await.unwrap();
    let events = moto.received_events().await;
    let joined = joined_events(&events, accepted.body["userId"].as_str().unwrap());
    assert_eq!(joined.len(), 1, "{events:#?}");
    let outcome = deliver(&mailer(&app, moto.outbox()), joined[0]).await.unwrap();
    assert_eq!(
        (outcome.sent, outcome.skipped),
        (0, Some("inviter-not-told")),
        "{outcome:?}"
    );
    let sent = moto.sent_emails().await;
    assert!(to(&sent, "second.admin@acme.example").is_empty() && to(&sent, seed::ADMIN_EMAIL).is_empty());
}
