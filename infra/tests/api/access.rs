//! Restricted access for members without rights, the welcome tour once rights are assigned, and
//! the caller's settings.

use crate::helpers::{Caller, TestApp};
use infra::seed;
use lambda_http::http::Method;
use serde_json::{Value, json};

const PASSWORD: &str = "a long new password";

/// Joins the demo customer through an invitation with no roles; returns the new member, with
/// its user id.
async fn restricted_member(app: &TestApp, admin: &Caller, email: &str) -> Caller {
    let (_, link) = admin.invite_with_link(email, &[]).await;
    let response = app.anonymous().accept(&link, &json!({ "password": PASSWORD })).await;
    assert_eq!(response.status, 201, "{response:?}");
    assert_eq!(response.body["customer"]["restricted"], true);
    assert!(response.body["userId"].is_string(), "{response:?}");
    app.signed_in(&response)
}

/// Every route of the demo customer's admin area, with what it is called with.
async fn customer_routes(app: &TestApp, admin: &Caller) -> Vec<(Method, String)> {
    let invitation = admin.invite_to_demo("someone@example.com").await;
    let role = app.demo_role("Buyer").await;
    app.gateway
        .routes()
        .filter(|route| route.path.starts_with("/customers/{customerId}"))
        .map(|route| {
            let path = route
                .path
                .replace("{customerId}", seed::CUSTOMER_NUMBER)
                .replace("{invitationId}", &invitation)
                .replace("{roleId}", &role)
                .replace("{userId}", seed::ADMIN_USER_ID);
            (Method::from_bytes(route.method.as_bytes()).unwrap(), path)
        })
        .collect()
}

#[tokio::test]
async fn a_member_without_rights_sees_only_the_restricted_portal_and_is_refused_everything_else() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let member = restricted_member(&app, &admin, "anna@example.com").await;

    let access = member.my_access(seed::CUSTOMER_NUMBER).await.unwrap();
    assert_eq!(access["restricted"], true);
    assert_eq!(access["banner"], "no-rights-assigned");
    assert_eq!(
        access["pages"],
        json!(["home", "faq", "settings", "feedback", "home-links"])
    );
    assert_eq!(access["tour"], json!([]));

    let routes = customer_routes(&app, &admin).await;
    assert!(routes.len() >= 10, "{routes:?}");
    let before = app.all_items().await;
    for (method, path) in routes {
        let headers = [("content-type", "application/json")];
        let body = match method {
            Method::PUT if path.ends_with("/roles") => json!({ "roleIds": [] }),
            Method::PUT | Method::POST if path.ends_with("/roles") || path.contains("/roles/") => {
                json!({ "name": "Sneaky", "permissions": ["orders"] })
            }
            Method::POST if path.ends_with("/invitations") => json!({ "email": "friend@example.com" }),
            Method::POST if path.ends_with("/invitations/batch") => {
                json!({ "invitations": [{ "email": "friend@example.com" }] })
            }
            _ => json!({}),
        };
        let response = member.request(method.clone(), &path, &headers, body.to_string()).await;
        response.assert_problem(403, "not-an-admin");
    }
    assert_eq!(app.all_items().await, before, "nothing changed");
}

#[tokio::test]
async fn assigning_rights_lifts_the_restriction_on_the_next_call_and_the_tour_shows_the_new_areas_once() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let member = restricted_member(&app, &admin, "anna@example.com").await;
    let user_id = member.user_id();
    assert_eq!(
        member.my_access(seed::CUSTOMER_NUMBER).await.unwrap()["restricted"],
        true
    );

    let buyer = app.demo_role("Buyer").await;
    assert_eq!(admin.assign(user_id, json!([buyer])).await.status, 200);
    let access = member.my_access(seed::CUSTOMER_NUMBER).await.unwrap();
    assert_eq!(access["restricted"], false);
    assert_eq!(access["banner"], Value::Null);
    assert_eq!(
        access["pages"],
        json!(["home", "faq", "settings", "feedback", "home-links", "orders"])
    );
    assert_eq!(access["tour"], json!(["orders"]));
    // At the next log-in too, until the steps are marked seen.
    let again = app.user("anna@example.com", PASSWORD).await;
    assert_eq!(
        again.my_access(seed::CUSTOMER_NUMBER).await.unwrap()["tour"],
        json!(["orders"])
    );

    let done = member
        .post_json(
            "/me/tour/complete",
            &json!({ "customerNumber": seed::CUSTOMER_NUMBER, "steps": ["orders"] }),
        )
        .await;
    assert_eq!(done.status, 200, "{done:?}");
    assert_eq!(done.body["tour"], json!([]));
    assert_eq!(
        member.my_access(seed::CUSTOMER_NUMBER).await.unwrap()["tour"],
        json!([])
    );

    // More rights later: the tour shows exactly the areas that are new.
    let accounting = app.demo_role("Accounting").await;
    let administrator = app.demo_role("Administrator").await;
    assert_eq!(
        admin
            .assign(user_id, json!([buyer, accounting, administrator]))
            .await
            .status,
        200
    );
    let access = member.my_access(seed::CUSTOMER_NUMBER).await.unwrap();
    assert_eq!(access["tour"], json!(["invoices", "documents", "user-management"]));
    assert_eq!(access["admin"], true);
    // And the areas are open: the admin routes now answer.
    assert_eq!(member.users().await.status, 200);
    assert_eq!(member.list_invitations(seed::CUSTOMER_NUMBER, "").await.status, 200);

    // Taking the rights away restricts again at once.
    assert_eq!(admin.assign(user_id, json!([])).await.status, 200);
    let access = member.my_access(seed::CUSTOMER_NUMBER).await.unwrap();
    assert_eq!(access["restricted"], true);
    assert_eq!(access["tour"], json!([]));
    member.users().await.assert_problem(403, "not-an-admin");
}

#[tokio::test]
async fn a_step_of_an_area_the_member_cannot_reach_cannot_be_completed_so_granting_it_shows_it() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let member = restricted_member(&app, &admin, "anna@example.com").await;
    let user_id = member.user_id();
    let before = app.all_items().await;
    for steps in [json!(["orders"]), json!(["orders", "invoices"])] {
        member
            .post_json(
                "/me/tour/complete",
                &json!({ "customerNumber": seed::CUSTOMER_NUMBER, "steps": steps }),
            )
            .await
            .assert_problem(422, "invalid-tour-step");
    }
    assert_eq!(app.all_items().await, before, "nothing stored");

    let buyer = app.demo_role("Buyer").await;
    assert_eq!(admin.assign(user_id, json!([buyer])).await.status, 200);
    let again = app.user("anna@example.com", PASSWORD).await;
    assert_eq!(
        again.my_access(seed::CUSTOMER_NUMBER).await.unwrap()["tour"],
        json!(["orders"])
    );
    // With orders reachable, a step of another area is still refused, and the whole request with it.
    again
        .post_json(
            "/me/tour/complete",
            &json!({ "customerNumber": seed::CUSTOMER_NUMBER, "steps": ["orders", "invoices"] }),
        )
        .await
        .assert_problem(422, "invalid-tour-step");
    assert_eq!(
        again.my_access(seed::CUSTOMER_NUMBER).await.unwrap()["tour"],
        json!(["orders"])
    );
    // Completing a due step works, and completing it again (a retried request) changes nothing.
    for _ in 0..2 {
        let done = again
            .post_json(
                "/me/tour/complete",
                &json!({ "customerNumber": seed::CUSTOMER_NUMBER, "steps": ["orders"] }),
            )
            .await;
        assert_eq!(done.status, 200, "{done:?}");
        assert_eq!(done.body["tour"], json!([]));
    }
}

#[tokio::test]
async fn change_customer_is_offered_only_with_several_customers() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let access = admin.my_access(seed::CUSTOMER_NUMBER).await.unwrap();
    assert!(!access["pages"].as_array().unwrap().contains(&json!("change-customer")));

    let other = app.other_customer().await;
    let beta_admin = app.user(&other.admin_email, &other.admin_password).await;
    let (_, link) = beta_admin
        .invite_to_customer_with_link(&other.number, seed::ADMIN_EMAIL, &[])
        .await;
    let accepted = admin.accept(&link, &json!({})).await;
    assert_eq!(accepted.status, 200, "{accepted:?}");
    let me = admin.me().await;
    assert_eq!(me.body["screen"], "choose-customer");
    for customer in me.body["customers"].as_array().unwrap() {
        assert!(
            customer["pages"]
                .as_array()
                .unwrap()
                .contains(&json!("change-customer"))
        );
    }
}

#[tokio::test]
async fn tour_steps_are_checked() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    let before = app.all_items().await;
    for (body, status, code) in [
        (
            json!({ "customerNumber": "100234", "steps": [] }),
            422,
            "invalid-tour-step",
        ),
        (
            json!({ "customerNumber": "100234", "steps": ["cellar"] }),
            422,
            "invalid-tour-step",
        ),
        (json!({ "customerNumber": "100234" }), 422, "invalid-body"),
        (
            json!({ "customerNumber": "x_y", "steps": ["orders"] }),
            422,
            "invalid-customer-number",
        ),
        (
            json!({ "customerNumber": "999999", "steps": ["orders"] }),
            404,
            "membership-not-found",
        ),
    ] {
        admin
            .post_json("/me/tour/complete", &body)
            .await
            .assert_problem(status, code);
    }
    anon.post_json(
        "/me/tour/complete",
        &json!({ "customerNumber": "100234", "steps": ["orders"] }),
    )
    .await
    .assert_problem(401, "missing-session");
    assert_eq!(app.all_items().await, before);
}

#[tokio::test]
async fn the_language_setting_is_saved_and_checked() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let saved = admin.put_json("/me/settings", &json!({ "language": "de" })).await;
    assert_eq!(saved.status, 200, "{saved:?}");
    assert_eq!(saved.body["user"]["language"], "de");
    assert_eq!(admin.me().await.body["user"]["language"], "de");

    let before = app.all_items().await;
    admin
        .put_json("/me/settings", &json!({ "language": "fr" }))
        .await
        .assert_problem(422, "invalid-language");
    admin
        .put_json("/me/settings", &json!({ "language": "en", "theme": "dark" }))
        .await
        .assert_problem(422, "invalid-body");
    assert_eq!(app.all_items().await, before);
}
