//! Every timestamp of every answer in one form: RFC 3339, UTC, with milliseconds
//! (`2026-11-24T09:30:00.000Z`), the document's `Timestamp`.

use crate::helpers::{TestApp, TestResponse};
use cloudhub::http::timestamp::is_formatted;
use infra::seed::CUSTOMER_NUMBER;
use serde_json::{Value, json};
use time::Duration;

/// Every string in `value` that is (or is named as) a timestamp, with its JSON path.
fn timestamps(value: &Value, path: &str, found: &mut Vec<(String, String)>) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                let path = format!("{path}/{name}");
                if name.ends_with("At")
                    && let Some(text) = field.as_str()
                {
                    found.push((path.clone(), text.to_owned()));
                }
                timestamps(field, &path, found);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                timestamps(item, &format!("{path}/{index}"), found);
            }
        }
        Value::String(text) if text.len() >= 20 && text.as_bytes()[4] == b'-' && text.contains('T') => {
            found.push((path.to_owned(), text.clone()));
        }
        _ => {}
    }
}

fn assert_timestamps(name: &str, response: &TestResponse, expected_at_least: usize) {
    assert!(response.status < 300 || response.status == 429, "{name}: {response:?}");
    let mut found = Vec::new();
    timestamps(&response.body, "", &mut found);
    found.dedup();
    assert!(found.len() >= expected_at_least, "{name}: {found:?} in {response:?}");
    for (path, text) in found {
        assert!(is_formatted(&text), "{name}: {path} is {text:?}");
    }
}

#[tokio::test]
async fn every_timestamp_in_every_answer_is_utc_with_milliseconds() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    // Off the whole second, so that sub-second digits have to be cut to milliseconds.
    app.clock.advance(Duration::nanoseconds(123_456_789));
    let login = anon.log_in(infra::seed::ADMIN_EMAIL, "cloudhub-demo-admin").await;
    assert_timestamps("log-in", &login, 1);
    assert!(
        login.body["expiresAt"].as_str().unwrap().ends_with(":00.123Z"),
        "{login:?}"
    );
    let admin = app.signed_in(&login);
    assert_timestamps("me", &admin.me().await, 2);

    let (id, link) = admin.invite_with_link("anna@example.com", &["Buyer"]).await;
    let invited = admin
        .invite(CUSTOMER_NUMBER, json!({ "email": "ben@example.com" }))
        .await;
    assert_timestamps("invite", &invited, 3);
    assert_timestamps("list", &admin.list_invitations(CUSTOMER_NUMBER, "").await, 6);
    assert_timestamps("one invitation", &admin.get_invitation(CUSTOMER_NUMBER, &id).await, 3);
    assert_timestamps("quota", &admin.quota(CUSTOMER_NUMBER).await, 1);
    assert_timestamps("roles", &admin.roles().await, 0);
    assert_timestamps("users", &admin.users().await, 1);
    assert_timestamps("preview", &anon.preview(&link).await, 1);

    app.clock.advance(Duration::milliseconds(7));
    let (_, link) = admin.invite_with_link("carl@example.com", &[]).await;
    let accepted = anon.accept(&link, &json!({ "password": "a long new password" })).await;
    assert_timestamps("accept", &accepted, 1);
    assert_timestamps("resend", &admin.resend(CUSTOMER_NUMBER, &id).await, 2);
}

#[tokio::test]
async fn stored_items_keep_their_own_form_only_answers_change() {
    let app = TestApp::with_demo_customer().await;
    app.clock.advance(Duration::nanoseconds(123_456_789));
    let admin = app.demo_admin().await;
    let invited = admin
        .invite(CUSTOMER_NUMBER, json!({ "email": "anna@example.com" }))
        .await;
    assert_eq!(invited.body["invitation"]["createdAt"], "2026-11-24T09:30:00.123Z");
    let stored = app
        .all_items()
        .await
        .with_sk_prefix("INVITATION#")
        .with_attr("createdAt", "2026-11-24T09:30:00.123456789Z");
    assert_eq!(
        stored.len(),
        1,
        "the invitation as stored, in full precision: {stored:?}"
    );
}
