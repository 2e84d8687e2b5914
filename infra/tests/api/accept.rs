//! Accepting an invitation: the preview, new and existing accounts, the link used once, expiry,
//! and concurrent accepts of one link.

use crate::helpers::{NowForTests, TestApp};
use infra::seed;
use serde_json::json;
use std::sync::Arc;
use time::Duration;

const NEW_PASSWORD: &str = "a long new password";

#[tokio::test]
async fn the_preview_names_customer_email_roles_expiry_and_whether_an_account_exists() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    let (_, link) = admin.invite_with_link("Anna@Example.com", &["Buyer"]).await;

    let preview = anon.preview(&link).await;
    assert_eq!(preview.status, 200, "{preview:?}");
    assert_eq!(preview.body["customerNumber"], seed::CUSTOMER_NUMBER);
    assert_eq!(preview.body["companyName"], seed::COMPANY_NAME);
    assert_eq!(preview.body["email"], "anna@example.com");
    assert_eq!(preview.body["accountExists"], false);
    assert_eq!(
        preview.body["invitedBy"],
        json!({ "userId": seed::ADMIN_USER_ID, "email": seed::ADMIN_EMAIL }),
        "in the shape of the list's"
    );
    assert_eq!(preview.body["roles"][0]["name"], "Buyer");
    let expires = time::OffsetDateTime::parse(
        preview.body["expiresAt"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(expires, app.clock.now_for_tests() + Duration::hours(24));

    // An invitation to someone who has an account says so, so the frontend asks for a log-in.
    let (_, link) = admin.invite_to_customer_with_link("100234", "x@example.com", &[]).await;
    anon.accept_as_new(&link, NEW_PASSWORD).await;
    let other = app.other_customer().await;
    let beta_admin = app.user(&other.admin_email, &other.admin_password).await;
    let (_, link) = beta_admin
        .invite_to_customer_with_link(&other.number, "x@example.com", &[])
        .await;
    let preview = anon.preview(&link).await;
    assert_eq!(preview.body["accountExists"], true, "{preview:?}");
    assert_eq!(preview.body["companyName"], "Beta Logistik AG");
}

#[tokio::test]
async fn a_new_user_sets_a_password_and_gets_account_membership_and_session() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    let (id, link) = admin.invite_with_link("anna@example.com", &["Buyer"]).await;

    let response = anon
        .accept(&link, &json!({ "password": NEW_PASSWORD, "language": "de" }))
        .await;
    assert_eq!(response.status, 201, "{response:?}");
    assert_eq!(response.body["accountCreated"], true);
    assert_eq!(response.body["email"], "anna@example.com");
    assert_eq!(response.body["customer"]["customerNumber"], seed::CUSTOMER_NUMBER);
    assert_eq!(response.body["customer"]["roles"][0]["name"], "Buyer");
    assert_eq!(response.body["customer"]["restricted"], false);

    // The answer's session works at once.
    let session = app.signed_in(&response);
    let me = session.me().await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["user"]["email"], "anna@example.com");
    assert_eq!(me.body["user"]["language"], "de");
    assert_eq!(me.body["customers"][0]["permissions"], json!(["orders"]));
    assert_eq!(me.body["screen"], "home");

    // The password is the account's password from now on.
    app.user("anna@example.com", NEW_PASSWORD).await;

    // The invitation left the list; the user is in the users table.
    let list = admin.list_invitations(seed::CUSTOMER_NUMBER, "?status=all").await;
    assert!(list.body["invitations"].as_array().unwrap().is_empty(), "{list:?}");
    assert_eq!(admin.delete_invitation(seed::CUSTOMER_NUMBER, &id).await.status, 404);
    let users = admin.users().await;
    let anna = users.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "anna@example.com")
        .cloned()
        .expect("anna is listed");
    assert_eq!(anna["roles"][0]["name"], "Buyer");
    assert_eq!(anna["status"], "active");
}

#[tokio::test]
async fn without_a_language_the_new_account_takes_the_invitations_else_the_customers() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    // The demo customer's default language is German.
    let (_, link) = admin.invite_with_link("anna@example.com", &[]).await;
    let session = anon.accept_as_new(&link, NEW_PASSWORD).await;
    assert_eq!(session.me().await.body["user"]["language"], "de");

    let response = admin
        .invite(
            seed::CUSTOMER_NUMBER,
            json!({ "email": "ben@example.com", "language": "en" }),
        )
        .await;
    let id = response.body["invitation"]["id"].as_str().unwrap();
    let link = app.link_of(seed::CUSTOMER_NUMBER, id).await;
    let session = anon.accept_as_new(link.reveal(), NEW_PASSWORD).await;
    assert_eq!(session.me().await.body["user"]["language"], "en");
}

#[tokio::test]
async fn a_link_works_once() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    let (_, link) = admin.invite_with_link("anna@example.com", &[]).await;
    anon.accept_as_new(&link, NEW_PASSWORD).await;

    let before = app.all_items().await;
    anon.preview(&link).await.assert_problem(410, "invitation-accepted");
    anon.accept(&link, &json!({ "password": NEW_PASSWORD }))
        .await
        .assert_problem(410, "invitation-accepted");
    assert_eq!(app.all_items().await, before);
}

#[tokio::test]
async fn an_expired_link_is_gone_at_exactly_24_hours_and_accepting_it_changes_nothing() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    let (_, link) = admin.invite_with_link("anna@example.com", &[]).await;

    app.clock.advance(Duration::hours(24) - Duration::seconds(1));
    assert_eq!(anon.preview(&link).await.status, 200);
    app.clock.advance(Duration::seconds(1));
    anon.preview(&link).await.assert_problem(410, "invitation-expired");
    let before = app.all_items().await;
    anon.accept(&link, &json!({ "password": NEW_PASSWORD }))
        .await
        .assert_problem(410, "invitation-expired");
    assert_eq!(app.all_items().await, before);
}

/// The `ttl` attribute (epoch seconds) of the stored item `pk`/`sk`.
async fn stored_ttl(app: &TestApp, pk: String, sk: &str) -> i64 {
    use aws_sdk_dynamodb::types::AttributeValue;
    let item = app
        .app
        .store
        .client()
        .get_item()
        .table_name(&app.app.store.tables().data)
        .key("PK", AttributeValue::S(pk.clone()))
        .key("SK", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_else(|| panic!("no item {pk}"));
    item["ttl"].as_n().unwrap().parse().unwrap()
}

/// Asserts that TTL may not delete what the invitation's current link opens before the
/// invitation leaves the list, 30 days after its expiry: the token names the invitation, whose
/// own TTL is that, and no link item is written that could go first.
async fn assert_link_kept_while_listed(app: &TestApp, id: &str) {
    let invitation = app.invitation_item(seed::CUSTOMER_NUMBER, id).await;
    let listed_until = (invitation.expires_at + crate::helpers::LISTED_AFTER_EXPIRY).unix_timestamp();
    let link = app.link_of(seed::CUSTOMER_NUMBER, id).await;
    assert!(link.invitation_key().is_some(), "the token names its invitation");
    let invitation_ttl = stored_ttl(
        app,
        format!("CUSTOMER#{}", seed::CUSTOMER_NUMBER),
        &format!("INVITATION#{id}"),
    )
    .await;
    assert!(
        invitation_ttl >= listed_until,
        "the invitation may be deleted at {invitation_ttl}, it is listed until {listed_until}"
    );
    assert!(
        app.all_items().await.with_key_prefix("LINK#").is_empty(),
        "no link item is written"
    );
}

#[tokio::test]
async fn an_expired_link_answers_gone_for_as_long_as_its_invitation_is_listed() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    let (id, link) = admin.invite_with_link("anna@example.com", &[]).await;
    assert_link_kept_while_listed(&app, &id).await;

    // Tests keep TTL deletion off, so the stored TTL above is what keeps the link item in AWS;
    // the clock shows what the link answers meanwhile.
    app.clock.advance(Duration::hours(24) + Duration::days(29));
    anon.preview(&link).await.assert_problem(410, "invitation-expired");
    anon.accept(&link, &json!({ "password": NEW_PASSWORD }))
        .await
        .assert_problem(410, "invitation-expired");
    let admin = app.demo_admin().await;
    let listed = admin.list_invitations(seed::CUSTOMER_NUMBER, "?status=expired").await;
    assert_eq!(listed.body["invitations"][0]["id"], id.as_str(), "{listed:?}");
    // Once it leaves the list (30 days after expiry), its link is not found, TTL or not.
    app.clock.advance(Duration::days(1));
    anon.preview(&link).await.assert_problem(410, "invitation-expired");
    app.clock.advance(Duration::seconds(1));
    anon.preview(&link).await.assert_problem(404, "invitation-not-found");
    app.clock.advance(-(Duration::days(1) + Duration::seconds(1)));

    // Every write of a link keeps it as long: a resend, and an invite of the expired address.
    assert_eq!(admin.resend(seed::CUSTOMER_NUMBER, &id).await.status, 200);
    assert_link_kept_while_listed(&app, &id).await;
    app.clock.advance(Duration::hours(24));
    let admin = app.demo_admin().await;
    let again = admin
        .invite(seed::CUSTOMER_NUMBER, json!({ "email": "anna@example.com" }))
        .await;
    assert_eq!(again.status, 201, "{again:?}");
    assert_eq!(again.body["invitation"]["id"], id.as_str());
    assert_link_kept_while_listed(&app, &id).await;
}

#[tokio::test]
async fn a_link_resent_away_or_deleted_says_so_and_one_never_issued_is_not_found() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    let (id, old_link) = admin.invite_with_link("anna@example.com", &[]).await;
    assert_eq!(admin.resend(seed::CUSTOMER_NUMBER, &id).await.status, 200);
    anon.accept(&old_link, &json!({ "password": NEW_PASSWORD }))
        .await
        .assert_problem(410, "invitation-superseded");

    let new_link = app.link_of(seed::CUSTOMER_NUMBER, &id).await;
    assert_eq!(admin.delete_invitation(seed::CUSTOMER_NUMBER, &id).await.status, 204);
    anon.accept(new_link.reveal(), &json!({ "password": NEW_PASSWORD }))
        .await
        .assert_problem(410, "invitation-withdrawn");

    for unknown in ["not-a-token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"] {
        anon.preview(unknown).await.assert_problem(404, "invitation-not-found");
        anon.accept(unknown, &json!({ "password": NEW_PASSWORD }))
            .await
            .assert_problem(404, "invitation-not-found");
    }
}

#[tokio::test]
async fn a_new_account_needs_a_password_that_meets_the_policy() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    let (_, link) = admin.invite_with_link("anna@example.com", &[]).await;
    let before = app.all_items().await;
    for body in [
        json!({}),
        json!({ "password": "short" }),
        json!({ "password": " ".repeat(12) }),
    ] {
        anon.accept(&link, &body).await.assert_problem(422, "invalid-password");
    }
    anon.accept(&link, &json!({ "password": NEW_PASSWORD, "language": "fr" }))
        .await
        .assert_problem(422, "invalid-language");
    anon.accept(&link, &json!({ "password": 12 }))
        .await
        .assert_problem(422, "invalid-body");
    assert_eq!(app.all_items().await, before);
}

#[tokio::test]
async fn an_existing_user_accepts_with_its_password() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let other = app.other_customer().await;
    let beta_admin = app.user(&other.admin_email, &other.admin_password).await;
    let admin = app.demo_admin().await;
    // Beta's admin is invited into the demo customer.
    let (_, link) = admin.invite_with_link(&other.admin_email, &["Accounting"]).await;

    // Everything but the log-in failure counters.
    let items_but_counters = || async { app.all_items().await.without_pk_prefix("LOGIN") };
    let before = items_but_counters().await;
    anon.accept(&link, &json!({}))
        .await
        .assert_problem(422, "credentials-required");
    anon.accept(&link, &json!({ "password": "not the password" }))
        .await
        .assert_problem(401, "invalid-credentials");
    // Only the failed attempt's counters changed.
    assert_eq!(items_but_counters().await, before);
    assert_eq!(app.failures_counted(&format!("LOGIN#{}#", other.admin_email)).await, 1);

    let response = anon.accept(&link, &json!({ "password": other.admin_password })).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.body["accountCreated"], false);
    let session = app.signed_in(&response);
    let me = session.me().await;
    assert_eq!(me.body["customers"].as_array().unwrap().len(), 2, "{me:?}");
    assert_eq!(me.body["screen"], "choose-customer");
    // Still one account, with its old session working too.
    assert_eq!(app.all_items().await.with_sk("CREDENTIAL").len(), 2);
    assert_eq!(beta_admin.me().await.status, 200);
}

#[tokio::test]
async fn wrong_passwords_in_accept_count_toward_the_sources_log_in_limit_for_that_email() {
    const ATTACKER: &str = "203.0.113.66";
    const OWNER: &str = "198.51.100.20";
    let app = TestApp::with_demo_customer().await;
    let other = app.other_customer().await;
    let admin = app.demo_admin().await;
    let (_, link) = admin.invite_with_link(&other.admin_email, &["Buyer"]).await;

    // Half the guesses through log-in, half through the link: one count.
    let (attacker, owner) = (app.anonymous_from(ATTACKER), app.anonymous_from(OWNER));
    let half = cloudhub::sessions::LOGIN_ATTEMPTS_PER_WINDOW / 2;
    for _ in 0..half {
        attacker
            .log_in(&other.admin_email, "a wrong guess")
            .await
            .assert_problem(401, "invalid-credentials");
    }
    for _ in half..cloudhub::sessions::LOGIN_ATTEMPTS_PER_WINDOW {
        attacker
            .accept(&link, &json!({ "password": "a wrong guess" }))
            .await
            .assert_problem(401, "invalid-credentials");
    }
    let throttled = attacker
        .accept(&link, &json!({ "password": other.admin_password }))
        .await;
    throttled.assert_problem(429, "too-many-login-attempts");
    assert!(throttled.headers.contains_key("retry-after"), "{throttled:?}");
    attacker
        .log_in(&other.admin_email, &other.admin_password)
        .await
        .assert_problem(429, "too-many-login-attempts");

    // The owner, from elsewhere, logs in and accepts.
    let logged_in = owner.log_in(&other.admin_email, &other.admin_password).await;
    assert_eq!(logged_in.status, 200, "{logged_in:?}");
    let accepted = owner.accept(&link, &json!({ "password": other.admin_password })).await;
    assert_eq!(accepted.status, 200, "{accepted:?}");
}

#[tokio::test]
async fn accepting_with_the_right_password_forgets_the_sources_failures() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let other = app.other_customer().await;
    let admin = app.demo_admin().await;
    let (_, link) = admin.invite_with_link(&other.admin_email, &[]).await;
    for _ in 1..cloudhub::sessions::LOGIN_ATTEMPTS_PER_WINDOW {
        anon.log_in(&other.admin_email, "a wrong guess")
            .await
            .assert_problem(401, "invalid-credentials");
    }
    let accepted = anon.accept(&link, &json!({ "password": other.admin_password })).await;
    assert_eq!(accepted.status, 200, "{accepted:?}");
    // The right password was no failure, and success cleared the earlier ones.
    assert_eq!(app.failures_counted(&format!("LOGIN#{}#", other.admin_email)).await, 0);
    app.user(&other.admin_email, &other.admin_password).await;
}

#[tokio::test]
async fn an_existing_user_accepts_with_its_session() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let other = app.other_customer().await;
    let beta_admin = app.user(&other.admin_email, &other.admin_password).await;
    let admin = app.demo_admin().await;
    let (_, link) = admin.invite_with_link(&other.admin_email, &["Buyer"]).await;

    let preview = anon.preview(&link).await;
    assert_eq!(preview.body["accountExists"], true);
    let response = beta_admin.accept(&link, &json!({})).await;
    assert_eq!(response.status, 200, "{response:?}");
    let access = beta_admin.my_access(seed::CUSTOMER_NUMBER).await.unwrap();
    assert_eq!(access["roles"][0]["name"], "Buyer");
}

#[tokio::test]
async fn a_session_of_another_account_is_refused_and_changes_nothing() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let (_, link) = admin.invite_with_link("anna@example.com", &[]).await;
    let other = app.other_customer().await;
    let beta_admin = app.user(&other.admin_email, &other.admin_password).await;
    let (_, beta_link) = admin.invite_with_link(&other.admin_email, &[]).await;

    let before = app.all_items().await;
    // Logged in as Beta's admin, accepting Anna's invitation (a new account) ...
    beta_admin
        .accept(&link, &json!({ "password": NEW_PASSWORD }))
        .await
        .assert_problem(403, "wrong-account");
    // ... or, logged in as the demo admin, Beta's admin's invitation.
    admin
        .accept(&beta_link, &json!({}))
        .await
        .assert_problem(403, "wrong-account");
    app.with_session("forged-session-token-forged-session-token-1")
        .accept(&beta_link, &json!({}))
        .await
        .assert_problem(401, "invalid-session");
    assert_eq!(app.all_items().await, before);
}

#[tokio::test]
async fn an_active_member_cannot_accept_again() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let (_, link) = admin.invite_with_link("anna@example.com", &[]).await;
    // Anna joins by another way (here: directly) while her invitation is still open.
    let anna = app.member_of_demo("anna@example.com", &["Buyer"]).await;
    let before = app.all_items().await;
    anna.accept(&link, &json!({}))
        .await
        .assert_problem(409, "already-member");
    assert_eq!(app.all_items().await, before);
}

#[tokio::test]
async fn only_roles_that_still_exist_are_granted() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    let created = admin
        .post_json(
            &format!("/customers/{}/roles", seed::CUSTOMER_NUMBER),
            &json!({ "name": "Temporary", "permissions": ["documents"] }),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    let (_, link) = admin
        .invite_with_link("anna@example.com", &["Buyer", "Temporary"])
        .await;
    let temporary = created.body["id"].as_str().unwrap();
    let deleted = admin
        .delete(&format!("/customers/{}/roles/{temporary}", seed::CUSTOMER_NUMBER))
        .await;
    assert_eq!(deleted.status, 200, "{deleted:?}");

    let session = anon.accept_as_new(&link, NEW_PASSWORD).await;
    let access = session.my_access(seed::CUSTOMER_NUMBER).await.unwrap();
    assert_eq!(access["roles"].as_array().unwrap().len(), 1, "{access:?}");
    assert_eq!(access["roles"][0]["name"], "Buyer");
    assert_eq!(access["permissions"], json!(["orders"]));
}

#[tokio::test]
async fn an_invited_admin_counts_as_admin_once_accepted() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    let (_, link) = admin
        .invite_with_link("second.admin@example.com", &["Administrator"])
        .await;
    let second = anon.accept_as_new(&link, NEW_PASSWORD).await;
    assert_eq!(second.list_invitations(seed::CUSTOMER_NUMBER, "").await.status, 200);
    // With a second admin, the first may leave.
    let left = admin.leave(seed::CUSTOMER_NUMBER, seed::CUSTOMER_NUMBER).await;
    assert_eq!(left.status, 200, "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twenty_concurrent_accepts_of_one_link_make_one_account_and_one_membership() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    let (_, link) = admin.invite_with_link("anna@example.com", &["Buyer"]).await;

    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (anon, link) = (anon.clone(), link.clone());
            tokio::spawn(async move { anon.accept(&link, &json!({ "password": NEW_PASSWORD })).await })
        })
        .collect();
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.unwrap());
    }
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    // Every loser hears that the link was used.
    assert!(
        statuses.iter().all(|s| [201, 404, 409, 410].contains(s)),
        "{responses:?}"
    );
    for lost in responses.iter().filter(|r| r.status == 410) {
        lost.assert_problem(410, "invitation-accepted");
    }
    let items = app.all_items().await;
    assert_eq!(items.with_sk("USER").with_attr("email", "anna@example.com").len(), 1);
    assert_eq!(items.with_pk("EMAIL#anna@example.com").with_sk("CREDENTIAL").len(), 1);
    assert_eq!(items.with_sk_prefix("MEMBERSHIP#").len(), 2);
    let sessions = items.with_pk_prefix("SESSION#");
    assert_eq!(
        sessions.with_attr("email", "anna@example.com").len(),
        1,
        "one session for the one winner"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn losers_of_overlapping_new_account_accepts_hear_the_link_is_used_and_count_no_failed_log_in() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let admin = app.demo_admin().await;
    // The race needs a loser to read the link before the winner commits and the email's
    // credential after; the winner spends its argon2id hash in between, so later rounds spread
    // the contenders wider to cover that time on a busy machine.
    for (round, stagger_ms) in [1u64, 1, 3, 8].into_iter().enumerate() {
        let email = format!("round{round}@example.com");
        let (_, link) = admin.invite_with_link(&email, &["Buyer"]).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(20));
        let tasks: Vec<_> = (0..20u64)
            .map(|i| {
                let (anon, link, barrier) = (anon.clone(), link.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    tokio::time::sleep(std::time::Duration::from_millis(i * stagger_ms)).await;
                    // Each contender sets its own password: a loser that checked its password
                    // against the winner's new account would fail it.
                    let password = format!("{NEW_PASSWORD} {i}");
                    let response = anon.accept(&link, &json!({ "password": password })).await;
                    (password, response)
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.unwrap());
        }
        let statuses: Vec<u16> = outcomes.iter().map(|(_, r)| r.status).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "round {round}: {statuses:?}"
        );
        for (_, response) in outcomes.iter().filter(|(_, r)| r.status != 201) {
            assert!(
                [404, 409, 410].contains(&response.status),
                "round {round}: a loser answered {response:?}"
            );
            let code = response.body["code"].as_str().unwrap_or_default();
            assert!(
                [
                    "invitation-accepted",
                    "invitation-not-found",
                    "account-exists",
                    "already-member"
                ]
                .contains(&code),
                "round {round}: {response:?}"
            );
        }
        assert_eq!(
            app.failures_counted(&format!("LOGIN#{email}#")).await,
            0,
            "round {round}"
        );
        assert_eq!(
            app.failures_counted(&format!("LOGINSRC#{}#", crate::helpers::DEFAULT_SOURCE))
                .await,
            0,
            "round {round}"
        );
        // The owner logs in at once, from the same source the burst came from.
        let (password, _) = outcomes.iter().find(|(_, r)| r.status == 201).unwrap();
        let login = anon.log_in(&email, password).await;
        assert_eq!(login.status, 200, "round {round}: {login:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn twenty_concurrent_accepts_by_an_existing_user_make_one_membership() {
    let app = TestApp::with_demo_customer().await;
    let other = app.other_customer().await;
    let beta_admin = app.user(&other.admin_email, &other.admin_password).await;
    let admin = app.demo_admin().await;
    let (_, link) = admin.invite_with_link(&other.admin_email, &["Buyer"]).await;

    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (link, beta_admin) = (link.clone(), beta_admin.clone());
            tokio::spawn(async move { beta_admin.accept(&link, &json!({})).await })
        })
        .collect();
    let mut responses = Vec::new();
    for task in tasks {
        responses.push(task.await.unwrap());
    }
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [200, 404, 409, 410].contains(s)),
        "{responses:?}"
    );
    for lost in responses.iter().filter(|r| r.status == 410) {
        lost.assert_problem(410, "invitation-accepted");
    }
    let memberships = app
        .all_items()
        .await
        .with_sk(&format!("MEMBERSHIP#{}", seed::CUSTOMER_NUMBER));
    assert_eq!(
        memberships.len(),
        2,
        "the demo admin's and Beta's admin's: {memberships:?}"
    );
}
