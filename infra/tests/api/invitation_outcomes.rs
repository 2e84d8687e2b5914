//! Rule 20 (outcomes kept): accepted and deleted invitations stay listed with their outcome for
//! 365 days, with no live link, blocking nothing and counted as open nowhere.

use crate::helpers::{NowForTests as _, TestApp};
use infra::seed::CUSTOMER_NUMBER;
use serde_json::{Value, json};
use time::Duration;

/// The stored invitation item, as JSON.
async fn stored(app: &TestApp, id: &str) -> Value {
    app.all_items()
        .await
        .with_sk(&format!("INVITATION#{id}"))
        .first()
        .expect("the invitation is kept")
        .attributes
        .clone()
}

fn epoch_seconds(at: time::OffsetDateTime) -> i64 {
    at.unix_timestamp()
}

fn ids(page: &Value) -> Vec<String> {
    page["invitations"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {page}"))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The invitation ids of `GET /me/invitations`.
fn inbox(page: &Value) -> Vec<String> {
    page["invitations"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {page}"))
        .iter()
        .map(|i| i["invitationId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_accepted_invitation_stays_listed_as_accepted_with_its_member_for_365_days() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let (id, link) = admin.invite_with_link("anna@example.com", &["Buyer"]).await;
    app.clock.advance(Duration::hours(2));
    let accepted_at = app.clock.now_for_tests();
    let anna = app.anonymous().accept_as_new(&link, "a long new password").await;

    let listed = admin.list_invitations(CUSTOMER_NUMBER, "?status=accepted").await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(ids(&listed.body), vec![id.clone()]);
    let invitation = &listed.body["invitations"][0];
    assert_eq!(invitation["status"], "accepted");
    assert_eq!(invitation["acceptedAt"], "2026-11-24T11:30:00.000Z");
    assert_eq!(invitation["acceptedBy"]["userId"], anna.user_id());
    assert_eq!(invitation["email"], "anna@example.com");
    assert_eq!(invitation["roles"][0]["name"], "Buyer");
    let shown = admin.get_invitation(CUSTOMER_NUMBER, &id).await;
    assert_eq!(shown.body, *invitation, "one invitation reads as the list shows it");
    // Not open: neither pending nor expired, nor in the default list.
    for query in [
        "",
        "?status=all",
        "?status=pending",
        "?status=expired",
        "?status=deleted",
    ] {
        let page = admin.list_invitations(CUSTOMER_NUMBER, query).await;
        assert!(!ids(&page.body).contains(&id), "{query}: {page:?}");
    }

    // No live link: it says it was accepted, and no token can be rebuilt (the nonce is gone;
    // the hash stays, to recognise the link by).
    app.anonymous()
        .preview(&link)
        .await
        .assert_problem(410, "invitation-accepted");
    let item = stored(&app, &id).await;
    assert!(item["linkNonce"].is_null(), "the nonce kept: {item}");
    assert_eq!(
        item["ttl"].as_i64(),
        Some(epoch_seconds(accepted_at + Duration::days(365))),
        "kept 365 days from the outcome: {item}"
    );

    // Not waiting in the member's own invitations either.
    assert_eq!(inbox(&anna.get("/me/invitations").await.body), Vec::<String>::new());
    assert_eq!(anna.me().await.body["invitationsWaiting"], 0);

    app.clock.advance(Duration::days(365) - Duration::seconds(1));
    let admin = app.demo_admin().await;
    let page = admin.list_invitations(CUSTOMER_NUMBER, "?status=accepted").await;
    assert_eq!(ids(&page.body), vec![id.clone()], "still kept on its last day");
    app.clock.advance(Duration::seconds(2));
    let admin = app.demo_admin().await;
    let page = admin.list_invitations(CUSTOMER_NUMBER, "?status=accepted").await;
    assert_eq!(ids(&page.body), Vec::<String>::new(), "gone after 365 days, TTL or not");
    admin
        .get_invitation(CUSTOMER_NUMBER, &id)
        .await
        .assert_problem(404, "invitation-not-found");
}

#[tokio::test]
async fn a_deleted_invitation_stays_listed_as_deleted_with_who_deleted_it_and_when() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let second = app.member_of_demo("second.admin@example.com", &["Administrator"]).await;
    let (id, link) = admin.invite_with_link("anna@example.com", &["Buyer"]).await;
    app.clock.advance(Duration::hours(3));
    let deleted_at = app.clock.now_for_tests();
    assert_eq!(second.delete_invitation(CUSTOMER_NUMBER, &id).await.status, 204);

    let listed = admin.list_invitations(CUSTOMER_NUMBER, "?status=deleted").await;
    assert_eq!(listed.status, 200, "{listed:?}");
    assert_eq!(ids(&listed.body), vec![id.clone()]);
    let invitation = &listed.body["invitations"][0];
    assert_eq!(invitation["status"], "deleted");
    assert_eq!(invitation["deletedAt"], "2026-11-24T12:30:00.000Z");
    assert_eq!(invitation["deletedBy"]["userId"], second.user_id());
    assert_eq!(invitation["deletedBy"]["email"], "second.admin@example.com");
    assert_eq!(admin.get_invitation(CUSTOMER_NUMBER, &id).await.body, *invitation);
    assert!(!ids(&admin.list_invitations(CUSTOMER_NUMBER, "").await.body).contains(&id));

    // Its link is dead at once (and says it was withdrawn), and it cannot be deleted or resent again.
    app.anonymous()
        .preview(&link)
        .await
        .assert_problem(410, "invitation-withdrawn");
    admin
        .delete_invitation(CUSTOMER_NUMBER, &id)
        .await
        .assert_problem(404, "invitation-not-found");
    admin
        .resend(CUSTOMER_NUMBER, &id)
        .await
        .assert_problem(404, "invitation-not-found");
    let item = stored(&app, &id).await;
    assert!(item["linkNonce"].is_null(), "the nonce kept: {item}");
    assert_eq!(
        item["ttl"].as_i64(),
        Some(epoch_seconds(deleted_at + Duration::days(365))),
        "{item}"
    );

    // An account's invitation, once deleted, no longer waits among its own invitations.
    let other = app.other_customer().await;
    let invited = admin.invite_to_demo(&other.admin_email).await;
    let account = app.user(&other.admin_email, &other.admin_password).await;
    assert_eq!(inbox(&account.get("/me/invitations").await.body), vec![invited.clone()]);
    assert_eq!(admin.delete_invitation(CUSTOMER_NUMBER, &invited).await.status, 204);
    assert_eq!(inbox(&account.get("/me/invitations").await.body), Vec::<String>::new());
    assert_eq!(account.me().await.body["invitationsWaiting"], 0);

    // It blocks no new invitation of the address, which is a new one beside it.
    let again = admin.invite_to_demo("anna@example.com").await;
    assert_ne!(again, id);
    assert_eq!(
        ids(&admin.list_invitations(CUSTOMER_NUMBER, "").await.body),
        vec![again.clone()]
    );
    let deleted = ids(&admin.list_invitations(CUSTOMER_NUMBER, "?status=deleted").await.body);
    assert_eq!(deleted.len(), 2, "the two deleted ones stay: {deleted:?}");
    assert!(deleted.contains(&id) && deleted.contains(&invited) && !deleted.contains(&again));
}

#[tokio::test]
async fn kept_outcomes_count_as_open_invitations_nowhere() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    let (_, accepted_link) = admin.invite_with_link("accepted@example.com", &["Buyer"]).await;
    let (deleted, _) = admin.invite_with_link("deleted@example.com", &["Buyer"]).await;
    let (open, _) = admin.invite_with_link("open@example.com", &["Buyer"]).await;
    let member = app
        .anonymous()
        .accept_as_new(&accepted_link, "a long new password")
        .await;
    assert_eq!(admin.delete_invitation(CUSTOMER_NUMBER, &deleted).await.status, 204);

    let roles = admin.roles().await;
    let usage = roles.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|role| role["id"] == buyer.as_str())
        .unwrap()["usage"]
        .clone();
    assert_eq!(usage, json!({ "members": 1, "openInvitations": 1 }), "{roles:?}");

    // The batch invite of the deleted invitation's address creates a new one.
    let batch = admin
        .post_json(
            &format!("/customers/{CUSTOMER_NUMBER}/invitations/batch"),
            &json!({ "invitations": [{ "email": "deleted@example.com" }] }),
        )
        .await;
    assert_eq!(batch.status, 200, "{batch:?}");
    assert_eq!(batch.body["results"][0]["status"], "created", "{batch:?}");
    let renewed = batch.body["results"][0]["invitation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(renewed, deleted);

    // Deleting the role (its member confirmed) strips it from the open invitation only; the
    // kept ones keep the roles they had.
    let member_id = member.user_id().to_owned();
    let removed = admin
        .delete(&format!(
            "/customers/{CUSTOMER_NUMBER}/roles/{buyer}?confirm=remove-from-members"
        ))
        .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    assert_eq!(
        removed.body["affected"],
        json!({ "members": 1, "openInvitations": 1 }),
        "{removed:?}"
    );
    assert_eq!(stored(&app, &open).await["roleIds"], json!([]));
    assert_eq!(stored(&app, &deleted).await["roleIds"], json!([buyer]));
    let accepted = admin.list_invitations(CUSTOMER_NUMBER, "?status=accepted").await;
    assert_eq!(accepted.body["invitations"][0]["acceptedBy"]["userId"], member_id);
    assert_eq!(accepted.body["invitations"][0]["roleIds"], json!([buyer]));
    // The quota counted the sends only.
    assert_eq!(admin.quota(CUSTOMER_NUMBER).await.body["used"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_a_concurrent_accept_and_deletes_exactly_one_outcome_is_kept() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let second = app.member_of_demo("second.admin@example.com", &["Administrator"]).await;
    for round in 0..6 {
        let (id, link) = admin.invite_with_link(&format!("race{round}@example.com"), &[]).await;
        let (accepted, first_delete, second_delete) = {
            let (anyone, a, b) = (app.anonymous(), admin.clone(), second.clone());
            let (i1, i2) = (id.clone(), id.clone());
            tokio::join!(
                tokio::spawn(async move {
                    anyone
                        .accept(&link, &json!({ "password": "a long new password" }))
                        .await
                }),
                tokio::spawn(async move { a.delete_invitation(CUSTOMER_NUMBER, &i1).await }),
                tokio::spawn(async move { b.delete_invitation(CUSTOMER_NUMBER, &i2).await }),
            )
        };
        let (accepted, first_delete, second_delete) =
            (accepted.unwrap(), first_delete.unwrap(), second_delete.unwrap());
        let deletes = [&first_delete, &second_delete];
        let won: Vec<u16> = [accepted.status, first_delete.status, second_delete.status]
            .into_iter()
            .filter(|status| *status == 201 || *status == 204)
            .collect();
        assert_eq!(won.len(), 1, "one outcome: {accepted:?} {deletes:?}");
        for delete in deletes.iter().filter(|d| d.status != 204) {
            delete.assert_problem(404, "invitation-not-found");
        }
        let kept = admin.get_invitation(CUSTOMER_NUMBER, &id).await.body;
        if accepted.status == 201 {
            assert_eq!(kept["status"], "accepted", "{kept}");
            assert_eq!(kept["acceptedBy"]["userId"], accepted.body["userId"]);
        } else {
            accepted.assert_problem(410, "invitation-withdrawn");
            assert_eq!(kept["status"], "deleted", "{kept}");
            let winner = if first_delete.status == 204 { &admin } else { &second };
            assert_eq!(kept["deletedBy"]["userId"], winner.user_id(), "{kept}");
        }
    }
}
