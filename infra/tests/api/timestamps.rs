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
    // Off the whole second, so that sub-second digits have to be cut to milliseconds.
    app.clock.advance(Duration::nanoseconds(123_456_789));
    let login = app.post_login(infra::seed::ADMIN_EMAIL, "cloudhub-demo-admin").await;
    assert_timestamps("log-in", &login, 1);
    assert!(
        login.body["expiresAt"].as_str().unwrap().ends_with(":00.123Z"),
        "{login:?}"
    );
    let admin = login.body["sessionToken"].as_str().unwrap().to_owned();
    assert_timestamps("me", &app.get_me(Some(&admin)).await, 2);

    let (id, link) = app.invite_with_link(&admin, "anna@example.com", &["Buyer"]).await;
    let invited = app
        .invite(&admin, CUSTOMER_NUMBER, json!({ "email": "ben@example.com" }))
        .await;
    assert_timestamps("invite", &invited, 3);
    assert_timestamps("list", &app.list_invitations(&admin, CUSTOMER_NUMBER, "").await, 6);
    assert_timestamps(
        "one invitation",
        &app.get_invitation(&admin, CUSTOMER_NUMBER, &id).await,
        3,
    );
    assert_timestamps("quota", &app.quota(&admin, CUSTOMER_NUMBER).await, 1);
    assert_timestamps("roles", &app.roles(&admin).await, 0);
    assert_timestamps("users", &app.users(&admin).await, 1);
    assert_timestamps("preview", &app.preview(&link).await, 1);

    app.clock.advance(Duration::milliseconds(7));
    let (_, link) = app.invite_with_link(&admin, "carl@example.com", &[]).await;
    let accepted = app
        .accept(&link, None, &json!({ "password": "a long new password" }))
        .await;
    assert_timestamps("accept", &accepted, 1);
    assert_timestamps("resend", &app.resend(&admin, CUSTOMER_NUMBER, &id).await, 2);
}

#[tokio::test]
async fn stored_items_keep_their_own_form_only_answers_change() {
    let app = TestApp::with_demo_customer().await;
    app.clock.advance(Duration::nanoseconds(123_456_789));
    let admin = app.log_in_as_demo_admin().await;
    let invited = app
        .invite(&admin, CUSTOMER_NUMBER, json!({ "email": "anna@example.com" }))
        .await;
    assert_eq!(invited.body["invitation"]["createdAt"], "2026-11-24T09:30:00.123Z");
    let stored = app
        .items_containing("\"createdAt\":\"2026-11-24T09:30:00.123456789Z\"")
        .await
        .into_iter()
        .filter(|item| item.contains(r#""SK":"INVITATION#"#))
        .collect::<Vec<_>>();
    assert_eq!(
        stored.len(),
        1,
        "the invitation as stored, in full precision: {stored:?}"
    );
}
