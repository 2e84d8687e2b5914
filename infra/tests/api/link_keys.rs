//! The invitation link keys in Secrets Manager (moto's server): read at run time, rotated without
//! a redeploy and without killing links in flight, retired keys' links dead at once.

use crate::helpers::TestApp;
use crate::moto::{link_key_secret, secrets_manager};
use cloudhub::links::LinkKeys;
use infra::link_keys::rotate;
use infra::seed;
use serde_json::json;
use std::time::Duration;

/// What CloudFormation's `GenerateSecretString` writes first: one key, `k1`.
fn first_secret() -> String {
    let key: String = ulid::Ulid::new().to_string().repeat(3).chars().take(64).collect();
    json!({ "currentKeyId": "k1", "currentKey": key }).to_string()
}

/// The demo app, its functions reading the link keys from `secret`.
async fn app_reading(secret: &str, refresh: Duration) -> TestApp {
    let demo = TestApp::with_demo_customer().await;
    let keys = LinkKeys::secrets_manager(secrets_manager(&crate::moto::endpoint()), secret).refreshing_every(refresh);
    let mut app = demo.app.clone();
    app.link_keys = Some(keys);
    TestApp::over(app, demo.clock.clone())
}

/// The same tables and clock as `app`, as another instance of the functions with its own keys.
fn another_instance(app: &TestApp, keys: LinkKeys) -> TestApp {
    let mut other_app = app.app.clone();
    other_app.link_keys = Some(keys);
    TestApp::over(other_app, app.clock.clone())
}

#[tokio::test]
async fn links_of_the_previous_key_work_until_a_second_rotation_retires_it() {
    let secret = link_key_secret(&first_secret()).await;
    let app = app_reading(&secret, Duration::ZERO).await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    let (anna, of_k1) = admin.invite_with_link("anna@example.com", &["Buyer"]).await;
    assert!(of_k1.starts_with("k1."), "the link names its key: {of_k1}");

    let client = secrets_manager(&crate::moto::endpoint());
    let first = rotate(&client, &secret).await.unwrap();
    assert_eq!(first.previous.as_str(), "k1");
    assert_eq!(first.retired, None);
    let (_, of_k2) = admin.invite_with_link("ben@example.com", &["Buyer"]).await;
    assert!(of_k2.starts_with(&format!("{}.", first.current)), "{of_k2}");
    // Both keys' links work: the one sent before the rotation and the one after.
    assert_eq!(anon.preview(&of_k1).await.status, 200);
    assert_eq!(anon.preview(&of_k2).await.status, 200);

    let second = rotate(&client, &secret).await.unwrap();
    assert_eq!(second.retired.as_ref().map(|id| id.as_str()), Some("k1"));
    // k1 is retired: its link opens nothing, though its invitation and link item are still there.
    anon.preview(&of_k1).await.assert_problem(404, "invitation-not-found");
    anon.accept(&of_k1, &json!({ "password": "a long new password" }))
        .await
        .assert_problem(404, "invitation-not-found");
    // Nor is its email sent any more (a late or replayed event): its link would not work.
    let mailbox = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("keys-{}", ulid::Ulid::new()));
    let mailer = crate::deliveries::mailer(
        &app,
        mailer::Outbox::Folder {
            dir: mailbox.clone(),
            sender: "no-reply@cloudhub.localhost".into(),
        },
    );
    let envelope = json!({
        "version": "0", "id": "retired-key", "detail-type": "InvitationSent", "source": cloudhub::events::SOURCE,
        "account": "123456789012", "time": "2026-11-24T09:30:00Z", "region": "eu-central-1", "resources": [],
        "detail": { "eventKey": format!("invitation#{anna}#1"), "customerNumber": seed::CUSTOMER_NUMBER,
                    "invitationId": anna, "sendCount": 1 },
    });
    let outcome = crate::deliveries::deliver(&mailer, &envelope).await.unwrap();
    assert_eq!(outcome.skipped, Some("link-key-retired"));
    assert!(!mailbox.exists(), "nothing was written");
    // k2 is the previous key now: its link still accepts.
    let accepted = anon.accept(&of_k2, &json!({ "password": "a long new password" })).await;
    assert_eq!(accepted.status, 201, "{accepted:?}");
}

#[tokio::test]
async fn a_function_that_read_the_keys_before_a_rotation_opens_links_of_the_new_key() {
    let secret = link_key_secret(&first_secret()).await;
    let inviting = app_reading(&secret, Duration::ZERO).await;
    // Another instance, keeping what it read for the usual five minutes.
    let opening = another_instance(
        &inviting,
        LinkKeys::secrets_manager(secrets_manager(&crate::moto::endpoint()), &secret),
    );
    let admin = inviting.demo_admin().await;
    let (_, before) = admin.invite_with_link("anna@example.com", &[]).await;
    let anon_at_opening = opening.anonymous();
    assert_eq!(anon_at_opening.preview(&before).await.status, 200);

    rotate(&secrets_manager(&crate::moto::endpoint()), &secret)
        .await
        .unwrap();
    let (_, after) = admin.invite_with_link("ben@example.com", &[]).await;
    assert!(!after.starts_with("k1."), "{after}");
    // Its keyring does not know the new key yet: it reads the secret again rather than refuse.
    assert_eq!(anon_at_opening.preview(&after).await.status, 200);
    assert_eq!(anon_at_opening.preview(&before).await.status, 200);
}

#[tokio::test]
async fn the_keys_are_read_once_and_kept_not_read_per_request() {
    let secret = link_key_secret(&first_secret()).await;
    let app = app_reading(&secret, cloudhub::links::REFRESH_EVERY).await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    let (_, link) = admin.invite_with_link("anna@example.com", &[]).await;
    // The secret is gone (or Secrets Manager unreachable): the function keeps what it read.
    secrets_manager(&crate::moto::endpoint())
        .delete_secret()
        .secret_id(&secret)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    for email in ["ben@example.com", "carla@example.com"] {
        let invited = admin.invite(seed::CUSTOMER_NUMBER, json!({ "email": email })).await;
        assert_eq!(invited.status, 201, "{invited:?}");
    }
    assert_eq!(anon.preview(&link).await.status, 200);

    // A fresh instance cannot read them: 503, and nothing is written or spent.
    let fresh = another_instance(
        &app,
        LinkKeys::secrets_manager(secrets_manager(&crate::moto::endpoint()), &secret),
    );
    let before = fresh.all_items().await;
    admin
        .on(&fresh)
        .invite(seed::CUSTOMER_NUMBER, json!({ "email": "dora@example.com" }))
        .await
        .assert_problem(503, "service-unavailable");
    fresh
        .anonymous()
        .preview(&link)
        .await
        .assert_problem(503, "service-unavailable");
    assert_eq!(fresh.all_items().await, before);
}
