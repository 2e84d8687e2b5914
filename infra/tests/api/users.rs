//! The User Management table and assigning rights (rules 1 and 8's "assigning roles").

use crate::helpers::TestApp;
use infra::seed;
use serde_json::json;

#[tokio::test]
async fn the_user_management_table_lists_members_with_roles_and_restriction() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    app.member_of_demo("buyer@acme.example", &["Buyer"]).await;
    app.member_of_demo("new@acme.example", &[]).await;
    admin.invite_to_demo("invited@example.com").await;
    let users = admin.users().await;
    assert_eq!(users.status, 200, "{users:?}");
    let rows = users.body["users"].as_array().unwrap();
    let emails: Vec<&str> = rows.iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(
        emails,
        ["admin@acme.example", "buyer@acme.example", "new@acme.example"],
        "invited people are not members yet"
    );
    assert_eq!(rows[0]["admin"], true);
    assert_eq!(rows[1]["roles"][0]["name"], "Buyer");
    assert_eq!(rows[1]["restricted"], false);
    assert_eq!(rows[2]["restricted"], true);
    assert_eq!(rows[2]["status"], "active");
    assert_eq!(rows[0]["joinedAt"], "2026-11-24T09:30:00.000Z");
}

#[tokio::test]
async fn assigning_roles_lifts_the_restriction_on_the_very_next_call() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let member = app.member_of_demo("new@acme.example", &[]).await;
    assert_eq!(member.me().await.body["customers"][0]["permissions"], json!([]));
    let user_id = member.me().await.body["user"]["id"].as_str().unwrap().to_owned();
    let buyer = app.demo_role("Buyer").await;
    let assigned = admin.assign(&user_id, json!([buyer])).await;
    assert_eq!(assigned.status, 200, "{assigned:?}");
    assert_eq!(assigned.body["restricted"], false);
    assert_eq!(member.me().await.body["customers"][0]["permissions"], json!(["orders"]));
    let users = admin.users().await;
    assert_eq!(users.body["users"][1]["roles"][0]["name"], "Buyer");
}

#[tokio::test]
async fn the_last_admin_keeps_user_management() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    let before = app.all_items().await;
    admin
        .assign(seed::ADMIN_USER_ID, json!([buyer]))
        .await
        .assert_problem(409, "last-admin");
    assert_eq!(app.all_items().await, before);

    // With a second admin, the first may step down; then the second is the last one.
    let second = app.member_of_demo("second@acme.example", &["Administrator"]).await;
    let second_id = second.me().await.body["user"]["id"].as_str().unwrap().to_owned();
    let stepped_down = admin.assign(seed::ADMIN_USER_ID, json!([buyer])).await;
    assert_eq!(stepped_down.status, 200, "{stepped_down:?}");
    assert_eq!(admin.me().await.body["customers"][0]["admin"], false);
    second
        .assign(&second_id, json!([]))
        .await
        .assert_problem(409, "last-admin");
}

#[tokio::test]
async fn assigning_checks_roles_users_and_bodies() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let member = app.member_of_demo("new@acme.example", &[]).await;
    let user_id = member.me().await.body["user"]["id"].as_str().unwrap().to_owned();
    let other = app.other_customer().await;
    let other_admin = app.user(&other.admin_email, &other.admin_password).await;
    let other_id = other_admin.me().await.body["user"]["id"].as_str().unwrap().to_owned();
    let before = app.all_items().await;
    let unknown_role = crate::helpers::unknown_role_id();
    admin
        .assign(&user_id, json!([unknown_role]))
        .await
        .assert_problem(422, "unknown-role");
    admin
        .assign(&crate::helpers::unknown_user_id(), json!([]))
        .await
        .assert_problem(404, "user-not-found");
    admin
        .assign("nobody", json!([]))
        .await
        .assert_problem(404, "user-not-found");
    admin
        .assign(&user_id, json!(["Buyer"]))
        .await
        .assert_problem(422, "invalid-role-id");
    admin
        .assign(&user_id, json!("Buyer"))
        .await
        .assert_problem(422, "invalid-body");
    member
        .assign(&user_id, json!([]))
        .await
        .assert_problem(403, "not-an-admin");
    member.users().await.assert_problem(403, "not-an-admin");
    // A member of another customer is no user of this one.
    admin
        .assign(&other_id, json!([]))
        .await
        .assert_problem(404, "user-not-found");
    other_admin
        .assign(&user_id, json!([]))
        .await
        .assert_problem(403, "not-an-admin");
    assert_eq!(app.all_items().await, before);
}
