//! Links that say why they stopped working: preview and accept answer 410 with what happened
//! (replaced by a newer link, accepted, declined, withdrawn, expired) to the holder of a link the
//! invitation was sent with, and 404 to any other token, forged ones of the right shape included.

use crate::helpers::{LINK_LIFETIME, LISTED_AFTER_EXPIRY, LinkToken, TestApp};
use infra::seed::CUSTOMER_NUMBER;
use serde_json::json;
use time::Duration;

const NEW_PASSWORD: &str = "a long new password";

/// Asserts that preview and accept both answer `status` `code` for `link`, and change nothing.
async fn assert_link_answers(app: &TestApp, link: &str, status: u16, code: &str) {
    let anon = app.anonymous();
    let before = app.all_items().await;
    anon.preview(link).await.assert_problem(status, code);
    anon.accept(link, &json!({ "password": NEW_PASSWORD }))
        .await
        .assert_problem(status, code);
    assert_eq!(app.all_items().await, before, "{code}: nothing changed");
}

/// A token of the invitation's own form (key, customer, invitation id) whose MAC nobody made.
fn forged_for(link: &str) -> String {
    let parts: Vec<&str> = link.split('.').collect();
    let mac = cloudhub::domain::SecretToken::generate().reveal()[..43].to_owned();
    let forged = format!("{}.{}.{}.{mac}", parts[0], parts[1], parts[2]);
    LinkToken::parse(&forged).expect("a well-formed token");
    forged
}

#[tokio::test]
async fn links_replaced_by_two_resends_say_superseded_and_the_newest_still_works() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let (id, first) = admin.invite_with_link("anna@example.com", &[]).await;
    assert_eq!(admin.resend(CUSTOMER_NUMBER, &id).await.status, 200);
    let second = app.link_of(CUSTOMER_NUMBER, &id).await.reveal().to_owned();
    assert_eq!(admin.resend(CUSTOMER_NUMBER, &id).await.status, 200);
    let third = app.link_of(CUSTOMER_NUMBER, &id).await.reveal().to_owned();

    for old in [&first, &second] {
        assert_link_answers(&app, old, 410, "invitation-superseded").await;
    }
    assert_link_answers(&app, &forged_for(&third), 404, "invitation-not-found").await;
    assert_eq!(app.anonymous().preview(&third).await.status, 200);

    // Accepted with the newest, every one of its links says so (the outcome before the resends).
    app.anonymous().accept_as_new(&third, NEW_PASSWORD).await;
    for link in [&first, &second, &third] {
        assert_link_answers(&app, link, 410, "invitation-accepted").await;
    }
    assert_link_answers(&app, &forged_for(&third), 404, "invitation-not-found").await;
}

#[tokio::test]
async fn links_beyond_the_last_four_replaced_are_not_found() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let (id, oldest) = admin.invite_with_link("anna@example.com", &[]).await;
    let mut links = vec![oldest];
    for _ in 0..5 {
        assert_eq!(admin.resend(CUSTOMER_NUMBER, &id).await.status, 200);
        links.push(app.link_of(CUSTOMER_NUMBER, &id).await.reveal().to_owned());
    }
    // Six sends: the current link, the four before it superseded, the first one forgotten.
    assert_link_answers(&app, &links[0], 404, "invitation-not-found").await;
    for link in &links[1..5] {
        assert_link_answers(&app, link, 410, "invitation-superseded").await;
    }
    assert_eq!(app.anonymous().preview(&links[5]).await.status, 200);
}

#[tokio::test]
async fn a_withdrawn_a_declined_and_an_expired_link_say_so_while_listed_then_are_not_found() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;

    let (withdrawn_id, withdrawn) = admin.invite_with_link("ben@example.com", &[]).await;
    assert_eq!(admin.resend(CUSTOMER_NUMBER, &withdrawn_id).await.status, 200);
    let withdrawn_current = app.link_of(CUSTOMER_NUMBER, &withdrawn_id).await.reveal().to_owned();
    assert_eq!(
        admin.delete_invitation(CUSTOMER_NUMBER, &withdrawn_id).await.status,
        204
    );
    for link in [&withdrawn, &withdrawn_current] {
        assert_link_answers(&app, link, 410, "invitation-withdrawn").await;
    }
    assert_link_answers(&app, &forged_for(&withdrawn_current), 404, "invitation-not-found").await;

    // Declined by the invited account (an admin of another customer, signed in).
    let other = app.other_customer().await;
    let invitee = app.user(&other.admin_email, &other.admin_password).await;
    let (declined_id, declined) = admin.invite_with_link(&other.admin_email, &[]).await;
    let decline = format!("/me/invitations/{CUSTOMER_NUMBER}/{declined_id}/decline");
    assert_eq!(invitee.post_json(&decline, &json!({})).await.status, 204);
    assert_link_answers(&app, &declined, 410, "invitation-declined").await;

    let (_, expired) = admin.invite_with_link("carla@example.com", &[]).await;
    app.clock.advance(LINK_LIFETIME);
    assert_link_answers(&app, &expired, 410, "invitation-expired").await;
    assert_link_answers(&app, &forged_for(&expired), 404, "invitation-not-found").await;
    app.clock.advance(LISTED_AFTER_EXPIRY);
    assert_link_answers(&app, &expired, 410, "invitation-expired").await;
    // Unlisted (TTL may not have removed it yet): not found.
    app.clock.advance(Duration::seconds(1));
    assert_link_answers(&app, &expired, 404, "invitation-not-found").await;
    // Outcomes are listed for 365 days, and say why as long.
    assert_link_answers(&app, &withdrawn, 410, "invitation-withdrawn").await;
    app.clock
        .advance(Duration::days(365) - LINK_LIFETIME - LISTED_AFTER_EXPIRY);
    assert_link_answers(&app, &withdrawn, 404, "invitation-not-found").await;
    assert_link_answers(&app, &declined, 404, "invitation-not-found").await;
}
