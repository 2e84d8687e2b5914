//! Asking for a new link: the holder of an expired link asks once a day; the admin who sent it
//! (every admin, when that one is no admin any more) gets exactly one email in their language,
//! through the stream, the publisher, EventBridge on moto, the mailer and SES on moto. No quota is
//! spent and nothing is sent to the holder: the resend stays the admin's.

use crate::deliveries::{deliver, mailer, poller};
use crate::emails::{to, unique};
use crate::helpers::{Caller, LINK_LIFETIME, MEMBER_PASSWORD, TestApp, TestResponse};
use crate::moto::Moto;
use infra::seed;
use serde_json::{Value, json};
use time::Duration;

const SECOND_ADMIN: &str = "second.admin@acme.example";

fn renewal_path(link: &str) -> String {
    format!("/invitations/{link}/renewal-request")
}

async fn ask(app: &TestApp, link: &str) -> TestResponse {
    app.anonymous()
        .request(lambda_http::http::Method::POST, &renewal_path(link), &[], Vec::new())
        .await
}

/// The `RenewalRequested` events of one invitation.
fn renewal_events<'a>(events: &'a [Value], invitation_id: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["detail-type"] == "RenewalRequested" && e["detail"]["invitationId"] == invitation_id)
        .collect()
}

/// A second admin of the demo customer whose account speaks German.
async fn german_admin(app: &TestApp) -> Caller {
    let second = app.member_of_demo(SECOND_ADMIN, &["Administrator"]).await;
    let settings = second.put_json("/me/settings", &json!({ "language": "de" })).await;
    assert_eq!(settings.status, 200, "{settings:?}");
    second
}

#[tokio::test]
async fn an_expired_links_holder_asks_and_the_admin_who_sent_it_gets_one_email_in_their_language() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let mut poller = poller(&app).await;
    let second = german_admin(&app).await;
    let anna = unique("anna");
    let (id, link) = second.invite_with_link(&anna, &[]).await;
    app.clock.advance(LINK_LIFETIME);
    poller.poll_once(&moto.bus()).await.unwrap();

    let quota_before = app.all_items().await.with_key_prefix("QUOTA#");
    let asked = ask(&app, &link).await;
    assert_eq!(asked.status, 202, "{asked:?}");
    assert_eq!(asked.body, json!({ "renewalRequested": true }));
    assert_eq!(
        app.all_items().await.with_key_prefix("QUOTA#"),
        quota_before,
        "asking spends no quota"
    );
    // Once a day: the second ask is refused with when to ask again, and writes nothing.
    let before = app.all_items().await;
    let again = ask(&app, &link).await;
    again.assert_problem(429, "renewal-already-requested");
    assert_eq!(again.headers["retry-after"], "86400", "{again:?}");
    app.clock.advance(Duration::hours(23));
    let later = ask(&app, &link).await;
    later.assert_problem(429, "renewal-already-requested");
    assert_eq!(later.headers["retry-after"], "3600", "{later:?}");
    assert_eq!(app.all_items().await, before, "a refused ask changes nothing");
    let second = app.user(SECOND_ADMIN, MEMBER_PASSWORD).await;
    // It sent no new link: the link is still the expired one.
    let stored = app.invitation_item(seed::CUSTOMER_NUMBER, &id).await;
    assert_eq!(stored.send_count, 1);
    app.anonymous()
        .preview(&link)
        .await
        .assert_problem(410, "invitation-expired");

    poller.poll_once(&moto.bus()).await.unwrap();
    let events = moto.received_events().await;
    let renewals = renewal_events(&events, &id);
    assert_eq!(renewals.len(), 1, "{events:#?}");
    let text = renewals[0].to_string();
    assert!(
        !text.contains(&anna) && !text.contains(SECOND_ADMIN) && !text.contains(&link),
        "{text}"
    );
    assert!(
        events
            .iter()
            .all(|e| !(e["detail-type"] == "InvitationSent" && e["detail"]["sendCount"] == 2)),
        "no new invitation email is owed: {events:#?}"
    );

    let mailer = mailer(&app, moto.outbox());
    let first = deliver(&mailer, renewals[0]).await.unwrap();
    assert_eq!(first.sent, 1, "{first:?}");
    let again = deliver(&mailer, renewals[0]).await.unwrap();
    assert_eq!(
        (again.sent, again.already_sent),
        (0, 1),
        "once, however often delivered"
    );
    let sent = moto.sent_emails().await;
    let mails = to(&sent, SECOND_ADMIN);
    assert_eq!(mails.len(), 1, "{sent:#?}");
    assert_eq!(
        mails[0].subject,
        format!("{anna} bittet um einen neuen Einladungslink für {}", seed::COMPANY_NAME)
    );
    // The portal routes `{base}/customers/{c}/invitations/{id}` to that invitation in User
    // Management (infra/portal/src/main.tsx; the browser test opens it).
    let button = format!(
        "href=\"{}/customers/{}/invitations/{id}\"",
        crate::deliveries::PORTAL,
        seed::CUSTOMER_NUMBER
    );
    assert!(
        mails[0].html.replace("&#x2f;", "/").contains(&button) && mails[0].html.contains("Einladung öffnen"),
        "a button to the invitation ({button}): {}",
        mails[0].html
    );
    assert!(
        to(&sent, seed::ADMIN_EMAIL).is_empty(),
        "the other admin did not send it"
    );
    assert!(to(&sent, &anna).is_empty(), "nothing to the holder");

    // Once the admin sends it again, the request's email is no longer owed (a late delivery).
    assert_eq!(second.resend(seed::CUSTOMER_NUMBER, &id).await.status, 200);
    let outcome = deliver(&mailer, renewals[0]).await.unwrap();
    assert_eq!(outcome.skipped, Some("invitation-sent-again"), "{outcome:?}");
}

#[tokio::test]
async fn when_the_sender_is_no_admin_any_more_every_admin_of_the_customer_is_asked() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let mut poller = poller(&app).await;
    let second = german_admin(&app).await;
    app.member_of_demo("third.admin@acme.example", &["Administrator"]).await;
    let ben = unique("ben");
    let (id, link) = second.invite_with_link(&ben, &[]).await;
    let admin = app.demo_admin().await;
    let second_id = second.me().await.body["user"]["id"].as_str().unwrap().to_owned();
    assert_eq!(admin.assign(&second_id, json!([])).await.status, 200);
    app.clock.advance(LINK_LIFETIME + Duration::days(2));
    poller.poll_once(&moto.bus()).await.unwrap();

    assert_eq!(ask(&app, &link).await.status, 202);
    poller.poll_once(&moto.bus()).await.unwrap();
    let events = moto.received_events().await;
    let renewals = renewal_events(&events, &id);
    assert_eq!(renewals.len(), 1, "{events:#?}");
    let outcome = deliver(&mailer(&app, moto.outbox()), renewals[0]).await.unwrap();
    assert_eq!(outcome.sent, 2, "{outcome:?}");
    let sent = moto.sent_emails().await;
    assert!(to(&sent, SECOND_ADMIN).is_empty(), "no admin any more");
    for address in [seed::ADMIN_EMAIL, "third.admin@acme.example"] {
        let mails = to(&sent, address);
        assert_eq!(mails.len(), 1, "{address}: {sent:#?}");
        assert_eq!(
            mails[0].subject,
            format!("{ben} asks for a new invitation link to {}", seed::COMPANY_NAME)
        );
    }
}

#[tokio::test]
async fn a_link_that_is_not_expired_gets_the_answer_a_preview_would_and_nothing_changes() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let (id, live) = admin.invite_with_link("anna@example.com", &[]).await;
    let (withdrawn_id, withdrawn) = admin.invite_with_link("ben@example.com", &[]).await;
    assert_eq!(
        admin
            .delete_invitation(seed::CUSTOMER_NUMBER, &withdrawn_id)
            .await
            .status,
        204
    );
    let before = app.all_items().await;
    ask(&app, &live).await.assert_problem(409, "invitation-not-expired");
    ask(&app, &withdrawn).await.assert_problem(410, "invitation-withdrawn");
    for unknown in [
        crate::helpers::forged_link().reveal().to_owned(),
        // The live invitation's own key with a MAC nobody made.
        format!(
            "test.{}.{id}.{}",
            seed::CUSTOMER_NUMBER,
            cloudhub::domain::SecretToken::generate().reveal()
        ),
        "not-a-token".to_owned(),
    ] {
        ask(&app, &unknown).await.assert_problem(404, "invitation-not-found");
    }
    assert_eq!(app.all_items().await, before);

    // Replaced, then expired: superseded, not expired (the newest link is the one to ask with).
    assert_eq!(admin.resend(seed::CUSTOMER_NUMBER, &id).await.status, 200);
    app.clock.advance(LINK_LIFETIME);
    let admin = app.demo_admin().await;
    ask(&app, &live).await.assert_problem(410, "invitation-superseded");
    let newest = app.link_of(seed::CUSTOMER_NUMBER, &id).await;
    assert_eq!(ask(&app, newest.reveal()).await.status, 202);
    // Accepted links cannot be renewed either.
    let (_, used) = admin.invite_with_link("carla@example.com", &[]).await;
    app.anonymous().accept_as_new(&used, "a long new password").await;
    ask(&app, &used).await.assert_problem(410, "invitation-accepted");
}

#[tokio::test]
async fn two_requests_at_once_make_one_202_and_one_email() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let mut poller = poller(&app).await;
    let admin = app.demo_admin().await;
    for round in 0..3 {
        let invitee = unique(&format!("round{round}"));
        let (id, link) = admin.invite_with_link(&invitee, &[]).await;
        app.clock.advance(LINK_LIFETIME);
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let (app, link, barrier) = (app.clone(), link.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    ask(&app, &link).await
                })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.unwrap());
        }
        let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 202).count(),
            1,
            "round {round}: {answers:?}"
        );
        for refused in answers.iter().filter(|a| a.status != 202) {
            refused.assert_problem(429, "renewal-already-requested");
        }
        poller.poll_once(&moto.bus()).await.unwrap();
        let events = moto.received_events().await;
        let renewals = renewal_events(&events, &id);
        assert_eq!(renewals.len(), 1, "round {round}: {events:#?}");
        let outcome = deliver(&mailer(&app, moto.outbox()), renewals[0]).await.unwrap();
        assert_eq!(outcome.sent, 1, "round {round}: {outcome:?}");
        app.clock.advance(-LINK_LIFETIME);
    }
    assert_eq!(to(&moto.sent_emails().await, seed::ADMIN_EMAIL).len(), 3);
}
