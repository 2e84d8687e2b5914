use crate::helpers::TestApp;
use cloudhub::sessions::{LOGIN_ATTEMPTS_PER_WINDOW, LOGIN_WINDOW};
use infra::seed;

#[tokio::test]
async fn the_demo_admin_logs_in_and_the_session_opens_me() {
    let app = TestApp::with_demo_customer().await;
    let response = app.post_login(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.headers["content-type"], "application/json");
    assert_eq!(response.headers["cache-control"], "no-store");
    assert_eq!(response.body["userId"], seed::ADMIN_USER_ID);
    let expires_at = response.body["expiresAt"].as_str().unwrap();
    assert_eq!(expires_at, "2026-11-24T21:30:00Z", "a session lasts 12 hours");
    let token = response.body["sessionToken"].as_str().unwrap();
    assert_eq!(app.get_me(Some(token)).await.status, 200);
}

#[tokio::test]
async fn the_email_address_is_case_insensitive() {
    let app = TestApp::with_demo_customer().await;
    let response = app.post_login(" Admin@ACME.example ", seed::ADMIN_PASSWORD).await;
    assert_eq!(response.status, 200, "{response:?}");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = TestApp::with_demo_customer().await;
    let wrong_password = app.post_login(seed::ADMIN_EMAIL, "not the password").await;
    let unknown_email = app.post_login("nobody@acme.example", seed::ADMIN_PASSWORD).await;
    wrong_password.assert_problem(401, "invalid-credentials");
    assert_eq!(wrong_password.status, unknown_email.status);
    assert_eq!(wrong_password.body, unknown_email.body);
    assert_eq!(wrong_password.headers, unknown_email.headers);
}

#[tokio::test]
async fn each_session_token_is_new_and_only_its_hash_is_stored() {
    let app = TestApp::with_demo_customer().await;
    let first = app.log_in_as_demo_admin().await;
    let second = app.log_in_as_demo_admin().await;
    assert_ne!(first, second);
    assert!(first.len() >= 43, "at least 256 bits, base64url");
    let stored = app.all_items().await.join("\n");
    assert!(
        !stored.contains(&first) && !stored.contains(&second),
        "a token is stored in clear"
    );
    assert!(!stored.contains(seed::ADMIN_PASSWORD), "a password is stored in clear");
    assert!(
        stored.contains("$argon2id$v=19$m=19456,t=2,p=1$"),
        "passwords are argon2id with OWASP parameters"
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_until_the_window_ends() {
    let app = TestApp::with_demo_customer().await;
    for _ in 0..LOGIN_ATTEMPTS_PER_WINDOW {
        app.post_login(seed::ADMIN_EMAIL, "wrong password")
            .await
            .assert_problem(401, "invalid-credentials");
    }
    let throttled = app.post_login(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await;
    throttled.assert_problem(429, "too-many-login-attempts");
    let retry_after: i64 = throttled.headers["retry-after"].to_str().unwrap().parse().unwrap();
    // 09:30:00 is the start of a 15-minute window.
    assert_eq!(retry_after, LOGIN_WINDOW.whole_seconds());

    app.clock.advance(LOGIN_WINDOW);
    assert_eq!(
        app.post_login(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await.status,
        200
    );
}

#[tokio::test]
async fn unknown_emails_are_throttled_like_known_ones() {
    let app = TestApp::with_demo_customer().await;
    for _ in 0..LOGIN_ATTEMPTS_PER_WINDOW {
        app.post_login("nobody@acme.example", "wrong password")
            .await
            .assert_problem(401, "invalid-credentials");
    }
    app.post_login("nobody@acme.example", "wrong password")
        .await
        .assert_problem(429, "too-many-login-attempts");
    // Another address is counted on its own.
    assert_eq!(
        app.post_login(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await.status,
        200
    );
}

#[tokio::test]
async fn a_successful_log_in_forgets_earlier_failures() {
    let app = TestApp::with_demo_customer().await;
    for _ in 0..LOGIN_ATTEMPTS_PER_WINDOW - 1 {
        app.post_login(seed::ADMIN_EMAIL, "wrong password").await;
    }
    app.log_in_as_demo_admin().await;
    for _ in 0..LOGIN_ATTEMPTS_PER_WINDOW - 1 {
        app.post_login(seed::ADMIN_EMAIL, "wrong password")
            .await
            .assert_problem(401, "invalid-credentials");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_cannot_pass_the_attempt_limit() {
    let app = std::sync::Arc::new(TestApp::with_demo_customer().await);
    let guesses = 3 * LOGIN_ATTEMPTS_PER_WINDOW as usize;
    let tasks: Vec<_> = (0..guesses)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move { app.post_login(seed::ADMIN_EMAIL, &format!("guess number {i}")).await })
        })
        .collect();
    let mut checked = 0;
    let mut throttled = 0;
    for task in tasks {
        let response = task.await.unwrap();
        match response.status {
            401 => checked += 1,
            429 => throttled += 1,
            _ => panic!("unexpected answer {response:?}"),
        }
    }
    assert_eq!(
        checked, LOGIN_ATTEMPTS_PER_WINDOW as usize,
        "exactly the limit reached the password check"
    );
    assert_eq!(throttled, guesses - LOGIN_ATTEMPTS_PER_WINDOW as usize);
}
