//! Rule 1: only an admin of customer C can manage C's invitations and roles; an admin of
//! customer A can neither see nor change anything of customer B.

use crate::helpers::TestApp;
use infra::seed::CUSTOMER_NUMBER;
use lambda_http::http::Method;
use serde_json::json;

#[tokio::test]
async fn an_admin_of_another_customer_can_neither_see_nor_change_this_one() {
    let app = TestApp::with_demo_customer().await;
    let demo_admin = app.demo_admin().await;
    let id = demo_admin.invite_to_demo("anna@example.com").await;
    let other = app.other_customer().await;
    let intruder = app.user(&other.admin_email, &other.admin_password).await;
    let administrator = app.demo_role("Administrator").await;
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
        (Method::GET, format!("{base}/invitations/{id}"), json!(null)),
        (Method::DELETE, format!("{base}/invitations/{id}"), json!(null)),
        (Method::GET, format!("{base}/invitation-quota"), json!(null)),
        (Method::GET, format!("{base}/roles"), json!(null)),
        (
            Method::POST,
            format!("{base}/roles"),
            json!({ "name": "Spy", "permissions": ["orders"] }),
        ),
        (
            Method::PUT,
            format!("{base}/roles/{administrator}"),
            json!({ "name": "Spy", "permissions": ["orders"] }),
        ),
        (Method::DELETE, format!("{base}/roles/{administrator}"), json!(null)),
        (Method::GET, format!("{base}/users"), json!(null)),
        (
            Method::PUT,
            format!("{base}/users/{}/roles", infra::seed::ADMIN_USER_ID),
            json!({ "roleIds": [] }),
        ),
    ] {
        let body = if body.is_null() {
            Vec::new()
        } else {
            body.to_string().into_bytes()
        };
        let response = intruder
            .request(method.clone(), &path, &[("content-type", "application/json")], body)
            .await;
        response.assert_problem(403, "not-an-admin");
        assert!(
            !response.body.to_string().contains("anna"),
            "{method} {path} leaked data"
        );
    }
    // Through its own customer, the intruder cannot reach this customer's invitation either.
    intruder
        .resend(&other.number, &id)
        .await
        .assert_problem(404, "invitation-not-found");
    intruder
        .delete_invitation(&other.number, &id)
        .await
        .assert_problem(404, "invitation-not-found");
    assert_eq!(app.all_items().await, before, "nothing changed, no quota spent");
}

#[tokio::test]
async fn members_without_user_management_are_not_admins() {
    let app = TestApp::with_demo_customer().await;
    let demo_admin = app.demo_admin().await;
    let id = demo_admin.invite_to_demo("anna@example.com").await;
    let buyer = app.member_of_demo("buyer@acme.example", &["Buyer"]).await;
    let restricted = app.member_of_demo("nobody@acme.example", &[]).await;
    for member in [&buyer, &restricted] {
        member
            .invite(CUSTOMER_NUMBER, json!({ "email": "x@example.com" }))
            .await
            .assert_problem(403, "not-an-admin");
        member
            .list_invitations(CUSTOMER_NUMBER, "")
            .await
            .assert_problem(403, "not-an-admin");
        member
            .resend(CUSTOMER_NUMBER, &id)
            .await
            .assert_problem(403, "not-an-admin");
        member
            .delete_invitation(CUSTOMER_NUMBER, &id)
            .await
            .assert_problem(403, "not-an-admin");
        member.quota(CUSTOMER_NUMBER).await.assert_problem(403, "not-an-admin");
    }
    // A customer the caller has nothing to do with, existing or not, is refused the same way.
    demo_admin
        .list_invitations("999999", "")
        .await
        .assert_problem(403, "not-an-admin");
}

#[tokio::test]
async fn anonymous_callers_get_401_on_every_authorized_route_of_the_template() {
    let app = TestApp::with_demo_customer().await;
    let before = app.all_items().await;
    let routes: Vec<_> = app.gateway.routes().filter(|route| route.authorized).cloned().collect();
    assert!(routes.len() >= 13, "every route of template.yaml is served: {routes:?}");
    for route in routes {
        let path = route
            .path
            .replace("{customerId}", CUSTOMER_NUMBER)
            .replace("{invitationId}", infra::seed::ADMIN_USER_ID)
            .replace("{roleId}", infra::seed::ADMIN_USER_ID)
            .replace("{userId}", infra::seed::ADMIN_USER_ID);
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        app.anonymous()
            .request(method, &path, &[("content-type", "application/json")], "{}")
            .await
            .assert_problem(401, "missing-session");
    }
    assert_eq!(app.all_items().await, before);
}
