//! Rule 1: only an admin of customer C can manage C's invitations and roles; an admin of
//! customer A can neither see nor change anything of customer B.

use crate::helpers::TestApp;
use infra::seed::CUSTOMER_NUMBER;
use lambda_http::http::Method;
use serde_json::json;

#[tokio::test]
async fn an_admin_of_another_customer_can_neither_see_nor_change_this_one() {
    let app = TestApp::with_demo_customer().await;
    let demo_admin = app.log_in_as_demo_admin().await;
    let id = app.invite_to_demo(&demo_admin, "anna@example.com").await;
    let other = app.other_customer().await;
    let intruder = app.log_in(&other.admin_email, &other.admin_password).await;
    let before = app.all_items().await;

    let base = format!("/customers/{CUSTOMER_NUMBER}");
    for (method, path, body) in [
        (
            Method::POST,
            format!("{base}/invitations"),
            json!({ "email": "x@example.com" }),
        ),
        (Method::GET, format!("{base}/invitations"), json!(null)),
        (Method::POST, format!("{base}/invitations/{id}/resend"), json!({})),
        (Method::DELETE, format!("{base}/invitations/{id}"), json!(null)),
        (Method::GET, format!("{base}/invitation-quota"), json!(null)),
        (Method::GET, format!("{base}/roles"), json!(null)),
        (
            Method::POST,
            format!("{base}/roles"),
            json!({ "name": "Spy", "permissions": ["orders"] }),
        ),
    ] {
        let authorization = format!("Bearer {intruder}");
        let body = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let response = app
            .request(
                method.clone(),
                &path,
                &[("authorization", &authorization), ("content-type", "application/json")],
                body,
            )
            .await;
        response.assert_problem(403, "not-an-admin");
        assert!(
            !response.body.to_string().contains("anna"),
            "{method} {path} leaked data"
        );
    }
    // Through its own customer, the intruder cannot reach this customer's invitation either.
    app.resend(&intruder, &other.number, &id)
        .await
        .assert_problem(404, "invitation-not-found");
    app.delete_invitation(&intruder, &other.number, &id)
        .await
        .assert_problem(404, "invitation-not-found");
    assert_eq!(app.all_items().await, before, "nothing changed, no quota spent");
}

#[tokio::test]
async fn members_without_user_management_are_not_admins() {
    let app = TestApp::with_demo_customer().await;
    let demo_admin = app.log_in_as_demo_admin().await;
    let id = app.invite_to_demo(&demo_admin, "anna@example.com").await;
    let buyer = app.demo_member("buyer@acme.example", &["Buyer"]).await;
    let restricted = app.demo_member("nobody@acme.example", &[]).await;
    for token in [&buyer, &restricted] {
        app.invite(token, CUSTOMER_NUMBER, json!({ "email": "x@example.com" }))
            .await
            .assert_problem(403, "not-an-admin");
        app.list_invitations(token, CUSTOMER_NUMBER, "")
            .await
            .assert_problem(403, "not-an-admin");
        app.resend(token, CUSTOMER_NUMBER, &id)
            .await
            .assert_problem(403, "not-an-admin");
        app.delete_invitation(token, CUSTOMER_NUMBER, &id)
            .await
            .assert_problem(403, "not-an-admin");
        app.quota(token, CUSTOMER_NUMBER)
            .await
            .assert_problem(403, "not-an-admin");
    }
    // A customer the caller has nothing to do with, existing or not, is refused the same way.
    app.list_invitations(&demo_admin, "999999", "")
        .await
        .assert_problem(403, "not-an-admin");
}

#[tokio::test]
async fn anonymous_callers_get_401_on_every_admin_route() {
    let app = TestApp::with_demo_customer().await;
    for (method, path) in [
        (Method::POST, "/customers/100234/invitations"),
        (Method::GET, "/customers/100234/invitations"),
        (
            Method::POST,
            "/customers/100234/invitations/01KAWDEM0ADM1N000000000000/resend",
        ),
        (
            Method::DELETE,
            "/customers/100234/invitations/01KAWDEM0ADM1N000000000000",
        ),
        (Method::GET, "/customers/100234/invitation-quota"),
        (Method::GET, "/customers/100234/roles"),
        (Method::POST, "/customers/100234/roles"),
    ] {
        app.request(method, path, &[], Vec::new())
            .await
            .assert_problem(401, "missing-session");
    }
}
