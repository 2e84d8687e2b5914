//! The invited person's own invitations: `GET /me/invitations` lists the pending ones addressed to
//! the account's email across customers, and `POST /me/invitations/{c}/{id}/accept` accepts one
//! without its link, by the same rules and in the same one transaction as the link.

use crate::helpers::{Caller, TestApp};
use infra::seed;
use serde_json::{Value, json};

/// A member of another customer (an account of its own), and an invitation to it from the demo
/// customer's admin with the role Buyer; returns the account, the invitation id and its link.
async fn invited_account(app: &TestApp) -> (Caller, String, String, crate::helpers::OtherCustomer) {
    let other = app.other_customer().await;
    let account = app.user(&other.admin_email, &other.admin_password).await;
    let admin = app.demo_admin().await;
    let (id, link) = admin.invite_with_link(&other.admin_email, &["Buyer"]).await;
    (account, id, link, other)
}

fn ids(listed: &Value) -> Vec<&str> {
    listed["invitations"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .map(|invitation| invitation["invitationId"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_account_sees_the_pending_invitations_to_its_email_across_customers_and_nothing_secret() {
    let app = TestApp::with_demo_customer().await;
    let (account, id, link, other) = invited_account(&app).await;
    // A third customer invites the same address a minute later, and someone else is invited.
    app.clock.advance(time::Duration::minutes(1));
    app.create_customer(
        "300600",
        "Gamma GmbH",
        "en",
        "admin@gamma.example",
        "gamma admin password",
    )
    .await;
    let gamma = app.user("admin@gamma.example", "gamma admin password").await;
    let (gamma_id, _) = gamma
        .invite_to_customer_with_link("300600", &other.admin_email, &[])
        .await;
    app.demo_admin().await.invite_to_demo("someone.else@example.com").await;

    let listed = account.get("/me/invitations").await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(account.me().await.body["invitationsWaiting"], 2, "GET /me counts them");
    assert_eq!(ids(&listed.body), [gamma_id.as_str(), id.as_str()], "newest send first");
    let demo = &listed.body["invitations"][1];
    assert_eq!(demo["customerNumber"], seed::CUSTOMER_NUMBER);
    assert_eq!(demo["companyName"], seed::COMPANY_NAME);
    assert_eq!(demo["roles"][0]["name"], "Buyer");
    assert_eq!(demo["invitedBy"]["email"], seed::ADMIN_EMAIL);
    assert!(demo["expiresAt"].is_string());
    let text = listed.body.to_string();
    let invitation = app.invitation_item(seed::CUSTOMER_NUMBER, &id).await;
    for secret in [
        link.as_str(),
        link.rsplit_once('.').unwrap().1,
        invitation.link.nonce.as_str(),
        invitation.link.hash.as_str(),
    ] {
        assert!(!text.contains(secret), "{text}");
    }

    // An expired one is not waiting any more; the admin's own list is not the account's.
    app.clock.advance(time::Duration::hours(25));
    let account = app.user(&other.admin_email, &other.admin_password).await;
    assert_eq!(ids(&account.get("/me/invitations").await.body), Vec::<&str>::new());
    assert_eq!(account.me().await.body["invitationsWaiting"], 0);
    let admin = app.demo_admin().await;
    let own = admin.get("/me/invitations").await;
    assert_eq!(ids(&own.body), Vec::<&str>::new(), "{own:?}");
}

#[tokio::test]
async fn accepting_from_the_list_makes_the_membership_and_the_emailed_link_dies() {
    let app = TestApp::with_demo_customer().await;
    let (account, id, link, _) = invited_account(&app).await;
    let path = format!("/me/invitations/{}/{id}/accept", seed::CUSTOMER_NUMBER);
    let accepted = account.post_json(&path, &json!({})).await;
    assert_eq!(accepted.status, 200, "{accepted:?}");
    assert_eq!(accepted.body["customer"]["customerNumber"], seed::CUSTOMER_NUMBER);
    assert_eq!(accepted.body["customer"]["roles"][0]["name"], "Buyer");
    assert_eq!(accepted.body["customer"]["restricted"], false);
    assert!(
        accepted.body.get("sessionToken").is_none(),
        "the caller's session goes on"
    );
    let access = account.my_access(seed::CUSTOMER_NUMBER).await.expect("a member now");
    assert_eq!(access["permissions"], json!(["orders"]));
    app.anonymous()
        .preview(&link)
        .await
        .assert_problem(410, "invitation-accepted");
    assert_eq!(ids(&account.get("/me/invitations").await.body), Vec::<&str>::new());
    assert_eq!(account.me().await.body["invitationsWaiting"], 0);
    account
        .post_json(&path, &json!({}))
        .await
        .assert_problem(404, "invitation-not-found");
}

#[tokio::test]
async fn another_accounts_invitation_is_not_found_and_nothing_changes() {
    let app = TestApp::with_demo_customer().await;
    let (_, id, _, _) = invited_account(&app).await;
    let admin = app.demo_admin().await;
    let before = app.all_items().await;
    for path in [
        format!("/me/invitations/{}/{id}/accept", seed::CUSTOMER_NUMBER),
        format!(
            "/me/invitations/{}/{}/accept",
            seed::CUSTOMER_NUMBER,
            cloudhub::domain::InvitationId::generate()
        ),
        format!("/me/invitations/999999/{id}/accept"),
        format!("/me/invitations/{}/not-an-id/accept", seed::CUSTOMER_NUMBER),
    ] {
        let answer = admin.post_json(&path, &json!({})).await;
        assert_eq!(answer.status, 404, "{path}: {answer:?}");
    }
    app.anonymous()
        .post_json(
            &format!("/me/invitations/{}/{id}/accept", seed::CUSTOMER_NUMBER),
            &json!({}),
        )
        .await
        .assert_problem(401, "missing-session");
    assert_eq!(app.anonymous().get("/me/invitations").await.status, 401);
    assert_eq!(app.all_items().await, before);
}

#[tokio::test]
async fn an_expired_invitation_of_ones_own_is_gone() {
    let app = TestApp::with_demo_customer().await;
    let (_, id, _, other) = invited_account(&app).await;
    app.clock.advance(time::Duration::hours(24));
    let account = app.user(&other.admin_email, &other.admin_password).await;
    let before = app.all_items().await.without_pk_prefix("SESSION#");
    account
        .post_json(
            &format!("/me/invitations/{}/{id}/accept", seed::CUSTOMER_NUMBER),
            &json!({}),
        )
        .await
        .assert_problem(410, "invitation-expired");
    assert_eq!(app.all_items().await.without_pk_prefix("SESSION#"), before);
}

#[tokio::test]
async fn accepting_by_link_and_from_the_list_at_once_makes_one_membership() {
    let app = TestApp::with_demo_customer().await;
    let other = app.other_customer().await;
    let account = app.user(&other.admin_email, &other.admin_password).await;
    let admin = app.demo_admin().await;
    for round in 0..5 {
        let (id, link) = admin.invite_with_link(&other.admin_email, &[]).await;
        let path = format!("/me/invitations/{}/{id}/accept", seed::CUSTOMER_NUMBER);
        let body = json!({ "password": other.admin_password, "account": "existing" });
        let anon = app.anonymous();
        let empty = json!({});
        let (by_link, by_list) = tokio::join!(anon.accept(&link, &body), account.post_json(&path, &empty));
        let won = [by_link.status, by_list.status].iter().filter(|s| **s == 200).count();
        assert_eq!(won, 1, "round {round}: {by_link:?} {by_list:?}");
        for lost in [&by_link, &by_list].into_iter().filter(|answer| answer.status != 200) {
            assert!(
                [404, 409].contains(&lost.status) || lost.body["code"] == "invitation-accepted",
                "round {round}: the loser hears the invitation is used: {lost:?}"
            );
        }
        let memberships = app
            .all_items()
            .await
            .with_pk(&format!("USER#{}", account.user_id()))
            .with_sk(&format!("MEMBERSHIP#{}", seed::CUSTOMER_NUMBER))
            .with_attr("status", "active");
        assert_eq!(memberships.len(), 1, "round {round}");
        // Leave again, for the next round.
        let left = account
            .post_json(
                &format!("/me/customers/{}/leave", seed::CUSTOMER_NUMBER),
                &json!({ "confirmCustomerNumber": seed::CUSTOMER_NUMBER }),
            )
            .await;
        assert_eq!(left.status, 200, "{left:?}");
    }
}

#[tokio::test]
async fn declining_keeps_it_as_declined_kills_the_link_and_frees_the_address() {
    let app = TestApp::with_demo_customer().await;
    let (account, id, link, other) = invited_account(&app).await;
    let admin = app.demo_admin().await;
    // Someone else's: 404 and nothing changes.
    let path = format!("/me/invitations/{}/{id}/decline", seed::CUSTOMER_NUMBER);
    let before = app.all_items().await;
    admin
        .post_json(&path, &json!({}))
        .await
        .assert_problem(404, "invitation-not-found");
    assert_eq!(app.all_items().await, before);

    let declined = account.post_json(&path, &json!({})).await;
    assert_eq!(declined.status, 204, "{declined:?}");
    assert_eq!(ids(&account.get("/me/invitations").await.body), Vec::<&str>::new());
    assert_eq!(account.me().await.body["invitationsWaiting"], 0);
    app.anonymous()
        .preview(&link)
        .await
        .assert_problem(410, "invitation-declined");
    account
        .post_json(&path, &json!({}))
        .await
        .assert_problem(404, "invitation-not-found");
    account
        .post_json(
            &format!("/me/invitations/{}/{id}/accept", seed::CUSTOMER_NUMBER),
            &json!({}),
        )
        .await
        .assert_problem(404, "invitation-not-found");

    // The admins see it as declined; it is open nowhere, and the address can be invited again.
    let listed = admin.list_invitations(seed::CUSTOMER_NUMBER, "?status=declined").await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(listed.body["invitations"][0]["id"], id.as_str(), "{listed:?}");
    assert_eq!(listed.body["invitations"][0]["status"], "declined");
    assert!(listed.body["invitations"][0]["declinedAt"].is_string());
    let open = admin.list_invitations(seed::CUSTOMER_NUMBER, "").await;
    assert!(
        open.body["invitations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["id"] != id.as_str()),
        "{open:?}"
    );
    let again = admin
        .invite(seed::CUSTOMER_NUMBER, json!({ "email": other.admin_email }))
        .await;
    assert_eq!(again.status, 201, "{again:?}");
}

#[tokio::test]
async fn declining_and_accepting_at_once_leaves_exactly_one_outcome() {
    let app = TestApp::with_demo_customer().await;
    let other = app.other_customer().await;
    let account = app.user(&other.admin_email, &other.admin_password).await;
    let admin = app.demo_admin().await;
    for round in 0..5 {
        let (id, link) = admin.invite_with_link(&other.admin_email, &[]).await;
        let decline = format!("/me/invitations/{}/{id}/decline", seed::CUSTOMER_NUMBER);
        let body = json!({ "password": other.admin_password, "account": "existing" });
        let (empty, anon) = (json!({}), app.anonymous());
        let (by_link, declined) = tokio::join!(anon.accept(&link, &body), account.post_json(&decline, &empty));
        let outcomes = [by_link.status == 200, declined.status == 204];
        assert_eq!(
            outcomes.iter().filter(|won| **won).count(),
            1,
            "round {round}: {by_link:?} {declined:?}"
        );
        let shown = admin.get_invitation(seed::CUSTOMER_NUMBER, &id).await;
        let status = shown.body["status"].as_str().unwrap_or_default().to_owned();
        let expected = if outcomes[0] { "accepted" } else { "declined" };
        assert_eq!(status, expected, "round {round}: {shown:?}");
        if outcomes[0] {
            let left = account
                .post_json(
                    &format!("/me/customers/{}/leave", seed::CUSTOMER_NUMBER),
                    &json!({ "confirmCustomerNumber": seed::CUSTOMER_NUMBER }),
                )
                .await;
            assert_eq!(left.status, 200, "{left:?}");
        }
    }
}
