//! Bad input gets a 4xx problem+json with a stable code, never a 500, and changes nothing.

use crate::helpers::TestApp;
use lambda_http::http::Method;

/// Headers, body, and the status and code it must get.
type Case<'a> = (&'a [(&'a str, &'a str)], Vec<u8>, u16, &'a str);

#[tokio::test]
async fn bad_log_in_bodies_are_refused_with_a_code_and_change_nothing() {
    let app = TestApp::with_demo_customer().await;
    let before = app.all_items().await;
    let json = [("content-type", "application/json")];
    let cases: Vec<Case> = vec![
        (&json, b"{\"email\": ".to_vec(), 400, "malformed-json"),
        (&json, b"not json at all".to_vec(), 400, "malformed-json"),
        (&json, Vec::new(), 400, "malformed-json"),
        (&json, b"[]".to_vec(), 422, "invalid-body"),
        (
            &json,
            br#"{"email": 42, "password": "x"}"#.to_vec(),
            422,
            "invalid-body",
        ),
        (
            &json,
            br#"{"email": "admin@acme.example"}"#.to_vec(),
            422,
            "invalid-body",
        ),
        (
            &json,
            br#"{"email": "admin@acme.example", "password": "x", "admin": true}"#.to_vec(),
            422,
            "invalid-body",
        ),
        (
            &json,
            br#"{"email": "not an email", "password": "whatever it is"}"#.to_vec(),
            422,
            "invalid-email",
        ),
        (
            &json,
            br#"{"email": "admin@acme.example", "password": ""}"#.to_vec(),
            422,
            "invalid-password",
        ),
        (
            &json,
            format!(
                r#"{{"email": "admin@acme.example", "password": "{}"}}"#,
                "x".repeat(17 * 1024)
            )
            .into_bytes(),
            413,
            "body-too-large",
        ),
        (
            &[("content-type", "text/plain")],
            br#"{"email": "admin@acme.example", "password": "x"}"#.to_vec(),
            415,
            "unsupported-media-type",
        ),
        (&json, vec![0xff, 0xfe, 0x00], 400, "malformed-json"),
    ];
    for (headers, body, status, code) in cases {
        let response = app.request(Method::POST, "/auth/login", headers, body).await;
        response.assert_problem(status, code);
    }
    assert_eq!(
        app.all_items().await,
        before,
        "a refused log-in counted an attempt or stored something"
    );
}

#[tokio::test]
async fn unknown_paths_are_404_and_a_known_paths_other_methods_405_naming_the_allowed_ones() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    for caller in [app.anonymous(), admin] {
        for path in [
            "/nothing-here",
            "/customers/100234/invitations/x/y/z",
            "/me/nothing?limit=1",
        ] {
            caller
                .request(Method::GET, path, &[], Vec::new())
                .await
                .assert_problem(404, "route-not-found");
        }
        for (method, path, allowed) in [
            (Method::POST, "/me", "DELETE, GET"),
            (Method::PATCH, "/customers/100234/invitations?status=all", "GET, POST"),
            (
                Method::PUT,
                "/customers/100234/invitations/01KAWDEM0000000000000000NV",
                "DELETE, GET",
            ),
            (Method::GET, "/auth/login", "POST"),
            (Method::HEAD, "/me", "DELETE, GET"),
        ] {
            let refused = caller.request(method.clone(), path, &[], Vec::new()).await;
            assert_eq!(refused.status, 405, "{method} {path}: {refused:?}");
            assert_eq!(refused.headers["allow"], allowed, "{method} {path}");
            if method != Method::HEAD {
                refused.assert_problem(405, "method-not-allowed");
            }
        }
    }
}

#[tokio::test]
async fn bad_sessions_on_log_out_change_nothing() {
    let app = TestApp::with_demo_customer().await;
    let before = app.all_items().await;
    app.with_session("forged")
        .log_out()
        .await
        .assert_problem(401, "invalid-session");
    app.with_forged_session()
        .log_out()
        .await
        .assert_problem(401, "invalid-session");
    assert_eq!(app.all_items().await, before);
}

#[tokio::test]
async fn every_route_that_takes_a_body_refuses_bad_bodies_and_changes_nothing() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let id = admin.invite_to_demo("anna@example.com").await;
    let role = app.demo_role("Buyer").await;
    let link = app.link_of(infra::seed::CUSTOMER_NUMBER, &id).await;
    let before = app.all_items().await;
    let routes: Vec<_> = app
        .gateway
        .routes()
        .filter(|route| route.method == "POST" || route.method == "PUT")
        .cloned()
        .collect();
    for route in routes {
        let path = route
            .path
            .replace("{customerId}", infra::seed::CUSTOMER_NUMBER)
            .replace("{invitationId}", &id)
            .replace("{roleId}", &role)
            .replace("{userId}", infra::seed::ADMIN_USER_ID)
            .replace("{token}", link.reveal());
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let json = [("content-type", "application/json")];
        let text = [("content-type", "text/plain")];
        let untyped = [];
        // Routes without a body (log-out, resend, accepting or declining one's own invitation,
        // asking for a new link) ignore it;
        // every other one must refuse.
        if route.path.ends_with("/resend")
            || route.path == "/invitations/{token}/renewal-request"
            || route.path == "/auth/logout"
            || route.path == "/me/invitations/{customerId}/{invitationId}/accept"
            || route.path == "/me/invitations/{customerId}/{invitationId}/decline"
        {
            continue;
        }
        let cases: Vec<Case> = vec![
            (&json, b"{\"broken\": ".to_vec(), 400, "malformed-json"),
            (&json, b"[1, 2, 3]".to_vec(), 422, "invalid-body"),
            (&json, br#"{"unexpected": true}"#.to_vec(), 422, "invalid-body"),
            (&json, vec![b' '; 17 * 1024], 413, "body-too-large"),
            (&text, b"{}".to_vec(), 415, "unsupported-media-type"),
            (&untyped, b"{}".to_vec(), 415, "unsupported-media-type"),
            (&json, br#""a string""#.to_vec(), 422, "invalid-body"),
            (&json, b"null".to_vec(), 422, "invalid-body"),
        ];
        for (headers, body, status, code) in cases {
            let response = admin.request(method.clone(), &path, headers, body).await;
            assert_eq!(response.status, status, "{} {}: {response:?}", route.method, route.path);
            response.assert_problem(status, code);
        }
    }
    let after = app.all_items().await;
    // Log-in attempts are not made (bad bodies are refused first), sessions are untouched.
    assert_eq!(after, before);
}

#[tokio::test]
async fn json_arrays_and_other_non_objects_are_invalid_bodies_and_change_nothing() {
    // serde would read `["email", "password"]` as a log-in body's fields in order.
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let member = app.member_of_demo("member@example.com", &["Buyer"]).await;
    let before = app.all_items().await;
    let customer = infra::seed::CUSTOMER_NUMBER;
    let cases = [
        (
            "/auth/login".to_owned(),
            app.anonymous(),
            format!(r#"["{}", "{}"]"#, infra::seed::ADMIN_EMAIL, infra::seed::ADMIN_PASSWORD),
        ),
        (
            format!("/customers/{customer}/invitations"),
            admin,
            r#"["someone@example.com"]"#.to_owned(),
        ),
        (
            format!("/me/customers/{customer}/leave"),
            member.clone(),
            format!(r#"["{customer}"]"#),
        ),
    ];
    for (path, caller, body) in &cases {
        for body in [body.as_str(), "null", "42", r#""text""#, "true"] {
            caller
                .request(Method::POST, path, &[("content-type", "application/json")], body)
                .await
                .assert_problem(422, "invalid-body");
        }
    }
    assert_eq!(
        app.all_items().await,
        before,
        "no session, invitation, quota or left membership may come of it"
    );
    assert!(member.my_access(customer).await.is_some(), "the member is still in");
}

#[tokio::test]
async fn a_body_without_a_content_type_is_refused_only_where_a_body_is_read() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    let id = admin.invite_to_demo("anna@example.com").await;
    let customer = infra::seed::CUSTOMER_NUMBER;
    let before = app.all_items().await;
    let login = format!(
        r#"{{"email": "{}", "password": "{}"}}"#,
        infra::seed::ADMIN_EMAIL,
        infra::seed::ADMIN_PASSWORD
    );
    anon.request(Method::POST, "/auth/login", &[], login)
        .await
        .assert_problem(415, "unsupported-media-type");
    admin
        .request(
            Method::POST,
            &format!("/customers/{customer}/invitations"),
            &[],
            r#"{"email": "bert@example.com"}"#,
        )
        .await
        .assert_problem(415, "unsupported-media-type");
    assert_eq!(app.all_items().await, before);

    // Resend and log-out read no body, so they need no content type.
    let resent = admin
        .request(
            Method::POST,
            &format!("/customers/{customer}/invitations/{id}/resend"),
            &[],
            Vec::new(),
        )
        .await;
    assert_eq!(resent.status, 200, "{resent:?}");
    let logged_out = admin.request(Method::POST, "/auth/logout", &[], Vec::new()).await;
    assert_eq!(logged_out.status, 204, "{logged_out:?}");
}

#[tokio::test]
async fn unknown_query_parameters_are_refused_on_every_route_and_change_nothing() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let id = admin.invite_to_demo("anna@example.com").await;
    let role = app.demo_role("Buyer").await;
    let link = app.link_of(infra::seed::CUSTOMER_NUMBER, &id).await;
    let customer = infra::seed::CUSTOMER_NUMBER;
    let before = app.all_items().await;

    // The list's own parameters pass; a misspelt one does not.
    let listed = admin.list_invitations(customer, "?status=pending&limit=5").await;
    assert_eq!(listed.status, 200, "{listed:?}");
    admin
        .list_invitations(customer, "?staus=pending")
        .await
        .assert_problem(400, "invalid-query");
    admin
        .get(&format!("/me?customer={customer}"))
        .await
        .assert_problem(400, "invalid-query");

    let headers = [("content-type", "application/json")];
    let routes: Vec<_> = app.gateway.routes().cloned().collect();
    for route in routes {
        let path = route
            .path
            .replace("{customerId}", customer)
            .replace("{invitationId}", &id)
            .replace("{roleId}", &role)
            .replace("{userId}", infra::seed::ADMIN_USER_ID)
            .replace("{token}", link.reveal());
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let response = admin
            .request(method, &format!("{path}?unexpected=1"), &headers, "{}")
            .await;
        assert_eq!(response.status, 400, "{} {}: {response:?}", route.method, route.path);
        response.assert_problem(400, "invalid-query");
    }
    assert_eq!(app.all_items().await, before);
}
