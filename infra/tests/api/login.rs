use crate::helpers::{DEFAULT_SOURCE, TestApp};
use cloudhub::sessions::{LOGIN_ATTEMPTS_PER_WINDOW, LOGIN_WINDOW, SOURCE_LOGIN_ATTEMPTS_PER_WINDOW};
use infra::seed;
use time::Duration;

/// Where someone guessing the admin's password sits.
const ATTACKER: &str = "203.0.113.66";
/// Where the admin really is.
const OWNER: &str = "198.51.100.20";

#[tokio::test]
async fn the_demo_admin_logs_in_and_the_session_opens_me() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let response = anon.log_in(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.headers["content-type"], "application/json");
    assert_eq!(response.headers["cache-control"], "no-store");
    assert_eq!(response.body["userId"], seed::ADMIN_USER_ID);
    let expires_at = response.body["expiresAt"].as_str().unwrap();
    assert_eq!(expires_at, "2026-11-24T21:30:00.000Z", "a session lasts 12 hours");
    assert_eq!(app.signed_in(&response).me().await.status, 200);
}

#[tokio::test]
async fn the_email_address_is_case_insensitive() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let response = anon.log_in(" Admin@ACME.example ", seed::ADMIN_PASSWORD).await;
    assert_eq!(response.status, 200, "{response:?}");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let wrong_password = anon.log_in(seed::ADMIN_EMAIL, "not the password").await;
    let unknown_email = anon.log_in("nobody@acme.example", seed::ADMIN_PASSWORD).await;
    wrong_password.assert_problem(401, "invalid-credentials");
    assert_eq!(wrong_password.status, unknown_email.status);
    assert_eq!(wrong_password.body, unknown_email.body);
    // Every answer names its own request (`apigw-requestid`, as API Gateway's do); the rest is alike.
    let without_request_id = |headers: &lambda_http::http::HeaderMap| {
        let mut headers = headers.clone();
        assert!(headers.remove("apigw-requestid").is_some());
        headers
    };
    assert_eq!(
        without_request_id(&wrong_password.headers),
        without_request_id(&unknown_email.headers)
    );
}

#[tokio::test]
async fn each_session_token_is_new_and_only_its_hash_is_stored() {
    let app = TestApp::with_demo_customer().await;
    let first = app.demo_admin().await;
    let second = app.demo_admin().await;
    let (first, second) = (first.session(), second.session());
    assert_ne!(first, second);
    assert!(first.len() >= 43, "at least 256 bits, base64url");
    assert!(
        !app.table_text_contains(first).await && !app.table_text_contains(second).await,
        "a token is stored in clear"
    );
    assert!(
        !app.table_text_contains(seed::ADMIN_PASSWORD).await,
        "a password is stored in clear"
    );
    assert!(
        app.table_text_contains("$argon2id$v=19$m=19456,t=2,p=1$").await,
        "passwords are argon2id with OWASP parameters"
    );
}

fn retry_after(response: &crate::helpers::TestResponse) -> i64 {
    response.headers["retry-after"].to_str().unwrap().parse().unwrap()
}

fn admin_failures_from(source: &str) -> String {
    format!("LOGIN#{}#{source}#", seed::ADMIN_EMAIL)
}

#[tokio::test]
async fn ten_failures_from_one_source_block_it_for_that_email_but_the_owner_logs_in_from_another() {
    let app = TestApp::with_demo_customer().await;
    let attacker = app.anonymous_from(ATTACKER);
    let owner = app.anonymous_from(OWNER);
    for _ in 0..LOGIN_ATTEMPTS_PER_WINDOW {
        attacker
            .log_in(seed::ADMIN_EMAIL, "wrong password")
            .await
            .assert_problem(401, "invalid-credentials");
    }
    // Even the right password is refused from there, until the 15-minute window ends ...
    let throttled = attacker.log_in(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await;
    throttled.assert_problem(429, "too-many-login-attempts");
    // 09:30:00 is the start of a 15-minute window.
    assert_eq!(retry_after(&throttled), LOGIN_WINDOW.whole_seconds());

    // ... but the owner, elsewhere, logs in, and that does not unblock the attacker.
    let owners = owner.log_in(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await;
    assert_eq!(owners.status, 200, "{owners:?}");
    attacker
        .log_in(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD)
        .await
        .assert_problem(429, "too-many-login-attempts");
    // The refused attempts were not counted.
    assert_eq!(
        app.failures_counted(&admin_failures_from(ATTACKER)).await,
        i64::from(LOGIN_ATTEMPTS_PER_WINDOW)
    );
}

#[tokio::test]
async fn repeated_failures_are_throttled_until_the_window_ends() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    for _ in 0..LOGIN_ATTEMPTS_PER_WINDOW {
        anon.log_in(seed::ADMIN_EMAIL, "wrong password")
            .await
            .assert_problem(401, "invalid-credentials");
    }
    app.clock.advance(LOGIN_WINDOW - Duration::seconds(1));
    let throttled = anon.log_in(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await;
    throttled.assert_problem(429, "too-many-login-attempts");
    assert_eq!(retry_after(&throttled), 1);

    // The old window's item may outlive its TTL; the clock decides.
    app.clock.advance(Duration::seconds(1));
    assert_eq!(anon.log_in(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await.status, 200);
}

#[tokio::test]
async fn addresses_of_one_ipv6_64_network_count_as_one_source() {
    let app = TestApp::with_demo_customer().await;
    for i in 1..=LOGIN_ATTEMPTS_PER_WINDOW {
        app.anonymous_from(&format!("2001:db8:1:2::{i:x}"))
            .log_in(seed::ADMIN_EMAIL, "wrong password")
            .await
            .assert_problem(401, "invalid-credentials");
    }
    app.anonymous_from("2001:db8:1:2:ffff::1")
        .log_in(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD)
        .await
        .assert_problem(429, "too-many-login-attempts");
    let next_network = app
        .anonymous_from("2001:db8:1:3::1")
        .log_in(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD)
        .await;
    assert_eq!(next_network.status, 200, "{next_network:?}");
}

#[tokio::test]
async fn unknown_emails_are_throttled_like_known_ones() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    for _ in 0..LOGIN_ATTEMPTS_PER_WINDOW {
        anon.log_in("nobody@acme.example", "wrong password")
            .await
            .assert_problem(401, "invalid-credentials");
    }
    anon.log_in("nobody@acme.example", "wrong password")
        .await
        .assert_problem(429, "too-many-login-attempts");
    // Another address is counted on its own.
    assert_eq!(anon.log_in(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await.status, 200);
}

#[tokio::test]
async fn one_source_failing_across_many_emails_hits_the_source_ceiling_and_others_do_not() {
    let app = TestApp::with_demo_customer().await;
    let attacker = app.anonymous_from(ATTACKER);
    let owner = app.anonymous_from(OWNER);
    // Password spraying: a few guesses each on many addresses, none near its own limit.
    for i in 0..SOURCE_LOGIN_ATTEMPTS_PER_WINDOW {
        attacker
            .log_in(&format!("user{}@acme.example", i / 4), "Winter2026!")
            .await
            .assert_problem(401, "invalid-credentials");
    }
    let throttled = attacker.log_in(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await;
    throttled.assert_problem(429, "too-many-login-attempts-from-source");
    // 09:30 is half-way through the hour the source's failures are counted in.
    assert_eq!(retry_after(&throttled), 30 * 60);
    attacker
        .log_in("user99@acme.example", "Winter2026!")
        .await
        .assert_problem(429, "too-many-login-attempts-from-source");

    // Everyone elsewhere is unaffected, on the sprayed addresses too.
    let owners = owner.log_in(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await;
    assert_eq!(owners.status, 200, "{owners:?}");
    owner
        .log_in("user0@acme.example", "wrong password")
        .await
        .assert_problem(401, "invalid-credentials");

    // The refusals were not counted, and the next hour starts afresh.
    assert_eq!(
        app.failures_counted(&format!("LOGINSRC#{ATTACKER}#")).await,
        i64::from(SOURCE_LOGIN_ATTEMPTS_PER_WINDOW)
    );
    app.clock.advance(Duration::minutes(29) + Duration::seconds(59));
    attacker
        .log_in(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD)
        .await
        .assert_problem(429, "too-many-login-attempts-from-source");
    app.clock.advance(Duration::seconds(1));
    let next_hour = attacker.log_in(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await;
    assert_eq!(next_hour.status, 200, "{next_hour:?}");
}

#[tokio::test]
async fn only_failures_count_toward_the_source_ceiling() {
    let app = TestApp::with_demo_customer().await;
    let owner = app.anonymous_from(OWNER);
    for i in 0..3 {
        owner
            .log_in(&format!("typo{i}@acme.example"), "wrong password")
            .await
            .assert_problem(401, "invalid-credentials");
    }
    // Many colleagues behind one office address log in all day long.
    for _ in 0..3 {
        let response = owner.log_in(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await;
        assert_eq!(response.status, 200, "{response:?}");
    }
    assert_eq!(app.failures_counted(&format!("LOGINSRC#{OWNER}#")).await, 3);
}

#[tokio::test]
async fn a_successful_log_in_forgets_earlier_failures_from_its_source() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    for _ in 0..LOGIN_ATTEMPTS_PER_WINDOW - 1 {
        anon.log_in(seed::ADMIN_EMAIL, "wrong password").await;
    }
    app.demo_admin().await;
    for _ in 0..LOGIN_ATTEMPTS_PER_WINDOW - 1 {
        anon.log_in(seed::ADMIN_EMAIL, "wrong password")
            .await
            .assert_problem(401, "invalid-credentials");
    }
    assert_eq!(
        app.failures_counted(&admin_failures_from(DEFAULT_SOURCE)).await,
        i64::from(LOGIN_ATTEMPTS_PER_WINDOW - 1)
    );
}

#[tokio::test]
async fn the_owners_own_successes_never_block_it() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    for _ in 0..LOGIN_ATTEMPTS_PER_WINDOW + 2 {
        app.demo_admin().await;
    }
    anon.log_in(seed::ADMIN_EMAIL, "wrong password")
        .await
        .assert_problem(401, "invalid-credentials");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_failures_from_one_source_count_exactly() {
    let app = TestApp::with_demo_customer().await;
    let attacker = app.anonymous_from(ATTACKER);
    let owner = app.anonymous_from(OWNER);
    let guesses = 50;
    let tasks: Vec<_> = (0..guesses)
        .map(|i| {
            let attacker = attacker.clone();
            tokio::spawn(async move { attacker.log_in(seed::ADMIN_EMAIL, &format!("guess number {i}")).await })
        })
        .collect();
    let mut checked = 0;
    let mut throttled = 0;
    for task in tasks {
        let response = task.await.unwrap();
        match response.status {
            401 => checked += 1,
            429 => {
                response.assert_problem(429, "too-many-login-attempts");
                throttled += 1;
            }
            _ => panic!("unexpected answer {response:?}"),
        }
    }
    assert_eq!(
        checked, LOGIN_ATTEMPTS_PER_WINDOW as usize,
        "exactly the limit reached the password check"
    );
    assert_eq!(throttled, guesses - LOGIN_ATTEMPTS_PER_WINDOW as usize);
    // Both counters hold exactly the failures: the refused guesses were taken back.
    assert_eq!(
        app.failures_counted(&admin_failures_from(ATTACKER)).await,
        i64::from(LOGIN_ATTEMPTS_PER_WINDOW)
    );
    assert_eq!(
        app.failures_counted(&format!("LOGINSRC#{ATTACKER}#")).await,
        i64::from(LOGIN_ATTEMPTS_PER_WINDOW)
    );
    let owners = owner.log_in(seed::ADMIN_EMAIL, seed::ADMIN_PASSWORD).await;
    assert_eq!(owners.status, 200, "{owners:?}");
}
