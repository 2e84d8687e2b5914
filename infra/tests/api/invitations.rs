//! Inviting, listing, resending and deleting invitations (rules 3 to 6).

use crate::helpers::{Ended, LINK_LIFETIME, LISTED_AFTER_EXPIRY, LinkState, TestApp, forged_link, unknown_role_id};
use infra::seed::{self, CUSTOMER_NUMBER};
use serde_json::{Value, json};
use std::collections::HashSet;
use time::Duration;

#[tokio::test]
async fn an_admin_invites_with_roles_and_the_invitation_is_listed_as_pending() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    let response = admin
        .invite(
            CUSTOMER_NUMBER,
            json!({ "email": "New.User@Example.com", "roleIds": [buyer], "language": "de" }),
        )
        .await;
    assert_eq!(response.status, 201, "{response:?}");
    let invitation = &response.body["invitation"];
    let id = invitation["id"].as_str().unwrap();
    assert_eq!(
        response.headers["location"],
        format!("/customers/{CUSTOMER_NUMBER}/invitations/{id}").as_str()
    );
    assert_eq!(invitation["email"], "new.user@example.com");
    assert_eq!(invitation["status"], "pending");
    assert_eq!(invitation["roleIds"], json!([buyer]));
    assert_eq!(invitation["invitedBy"]["email"], seed::ADMIN_EMAIL);
    assert_eq!(invitation["sendCount"], 1);
    assert_eq!(
        invitation["expiresAt"], "2026-11-25T09:30:00.000Z",
        "valid for exactly 24 hours"
    );
    assert_eq!(response.body["emailStatus"], "queued");

    let list = admin.list_invitations(CUSTOMER_NUMBER, "").await;
    assert_eq!(list.status, 200, "{list:?}");
    let listed = &list.body["invitations"][0];
    assert_eq!(listed["id"], id);
    assert_eq!(listed["roles"], json!([{ "id": buyer, "name": "Buyer" }]));
    assert_eq!(listed["status"], "pending");
    assert!(list.body["nextCursor"].is_null());
}

#[tokio::test]
async fn a_second_invite_to_a_pending_email_is_a_conflict_naming_the_invitation() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let id = admin.invite_to_demo("anna@example.com").await;
    let again = admin
        .invite(CUSTOMER_NUMBER, json!({ "email": "ANNA@example.com" }))
        .await;
    again.assert_problem(409, "invitation-pending");
    assert_eq!(again.body["invitationId"], id.as_str());
    let quota = admin.quota(CUSTOMER_NUMBER).await;
    assert_eq!(quota.body["used"], 1, "the refused invite spent nothing");
}

#[tokio::test]
async fn one_invitation_reads_as_the_list_shows_it_at_the_invite_answers_location() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    let invited = admin
        .invite(
            CUSTOMER_NUMBER,
            json!({ "email": "anna@example.com", "roleIds": [buyer] }),
        )
        .await;
    assert_eq!(invited.status, 201, "{invited:?}");
    let location = invited.headers["location"].to_str().unwrap().to_owned();
    let shown = admin.get(&location).await;
    assert_eq!(shown.status, 200, "{shown:?}");
    let list = admin.list_invitations(CUSTOMER_NUMBER, "").await;
    assert_eq!(shown.body, list.body["invitations"][0]);
    assert_eq!(shown.body["roles"], json!([{ "id": buyer, "name": "Buyer" }]));

    // Expired, it is still shown (as expired) for as long as the list shows it.
    app.clock.advance(LINK_LIFETIME + Duration::seconds(1));
    let admin = app.demo_admin().await;
    let expired = admin.get(&location).await;
    assert_eq!(expired.body["status"], "expired", "{expired:?}");
    app.clock.advance(LISTED_AFTER_EXPIRY);
    let admin = app.demo_admin().await;
    admin.get(&location).await.assert_problem(404, "invitation-not-found");
}

#[tokio::test]
async fn the_invite_answer_is_the_invitation_exactly_as_shown_roles_with_names_included() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    for (email, role_ids, names) in [
        ("anna@example.com", json!([buyer]), json!(["Buyer"])),
        ("ben@example.com", json!([]), json!([])),
    ] {
        let invited = admin
            .invite(CUSTOMER_NUMBER, json!({ "email": email, "roleIds": role_ids }))
            .await;
        assert_eq!(invited.status, 201, "{invited:?}");
        let location = invited.headers["location"].to_str().unwrap().to_owned();
        let shown = admin.get(&location).await.body;
        assert_eq!(invited.body["invitation"], shown, "{email}");
        let invited_names: Vec<Value> = invited.body["invitation"]["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].clone())
            .collect();
        assert_eq!(
            json!(invited_names),
            names,
            "{email}: the roles with names, an empty list when none"
        );
    }
}

#[tokio::test]
async fn the_invitation_a_pending_conflict_names_can_be_read() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let id = admin.invite_to_demo("anna@example.com").await;
    let again = admin
        .invite(CUSTOMER_NUMBER, json!({ "email": "anna@example.com" }))
        .await;
    again.assert_problem(409, "invitation-pending");
    let named = again.body["invitationId"].as_str().unwrap();
    let shown = admin.get_invitation(CUSTOMER_NUMBER, named).await;
    assert_eq!(shown.status, 200, "{shown:?}");
    assert_eq!(shown.body["id"], id.as_str());
    assert_eq!(shown.body["email"], "anna@example.com");
}

#[tokio::test]
async fn unknown_and_other_customers_invitations_are_not_found_and_non_admins_are_refused() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let id = admin.invite_to_demo("anna@example.com").await;
    let other = app.other_customer().await;
    let other_admin = app.user(&other.admin_email, &other.admin_password).await;

    for unknown in ["01KAWDEM0000000000000000NV", "not-an-id"] {
        admin
            .get_invitation(CUSTOMER_NUMBER, unknown)
            .await
            .assert_problem(404, "invitation-not-found");
    }
    // Another customer's admin: not an admin here, and the id is unknown in its own customer.
    let refused = other_admin.get_invitation(CUSTOMER_NUMBER, &id).await;
    refused.assert_problem(403, "not-an-admin");
    assert!(!refused.body.to_string().contains("anna"), "{refused:?}");
    other_admin
        .get_invitation(&other.number, &id)
        .await
        .assert_problem(404, "invitation-not-found");
    let member = app.member_of_demo("buyer@acme.example", &["Buyer"]).await;
    member
        .get_invitation(CUSTOMER_NUMBER, &id)
        .await
        .assert_problem(403, "not-an-admin");

    // Deleted, it is kept with its outcome (rule 20), and still only its own customer's.
    assert_eq!(admin.delete_invitation(CUSTOMER_NUMBER, &id).await.status, 204);
    assert_eq!(
        admin.get_invitation(CUSTOMER_NUMBER, &id).await.body["status"],
        "deleted"
    );
    other_admin
        .get_invitation(&other.number, &id)
        .await
        .assert_problem(404, "invitation-not-found");
}

#[tokio::test]
async fn inviting_an_active_member_is_a_conflict() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let response = admin
        .invite(CUSTOMER_NUMBER, json!({ "email": seed::ADMIN_EMAIL }))
        .await;
    response.assert_problem(409, "already-member");
    assert_eq!(admin.quota(CUSTOMER_NUMBER).await.body["used"], 0);
}

#[tokio::test]
async fn roles_must_exist_in_that_customer_and_a_refusal_writes_nothing() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    let unknown = unknown_role_id();
    let before = app.all_items().await;
    let response = admin
        .invite(
            CUSTOMER_NUMBER,
            json!({ "email": "anna@example.com", "roleIds": [buyer, unknown] }),
        )
        .await;
    response.assert_problem(422, "unknown-role");
    assert_eq!(response.body["roleIds"], json!([unknown]));
    // A role of another customer is unknown here too.
    let other = app.other_customer().await;
    let foreign_role = app.all_role_ids(&other.number).await[0].clone();
    let before_foreign = app.all_items().await;
    admin
        .invite(
            CUSTOMER_NUMBER,
            json!({ "email": "anna@example.com", "roleIds": [foreign_role] }),
        )
        .await
        .assert_problem(422, "unknown-role");
    assert_eq!(app.all_items().await, before_foreign);
    assert!(before.len() < before_foreign.len());
}

#[tokio::test]
async fn the_link_works_until_the_last_second_of_its_24_hours_even_while_stored() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let id = admin.invite_to_demo("anna@example.com").await;
    let link = app.link_of(CUSTOMER_NUMBER, &id).await;
    app.clock.advance(LINK_LIFETIME - Duration::seconds(1));
    assert!(matches!(app.open_link(&link).await, LinkState::Live(_)));
    app.clock.advance(Duration::seconds(1));
    // TTL deletion is off in tests: the items are still there, and the link is expired anyway.
    assert!(matches!(app.open_link(&link).await, LinkState::Expired(_)));
    let forged = forged_link();
    assert_eq!(app.open_link(&forged).await, LinkState::Dead);
}

#[tokio::test]
async fn a_resend_by_another_admin_keeps_the_first_inviter_also_of_an_invitation_stored_before_it_was_kept() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let app = TestApp::with_demo_customer().await;
    let first = app.demo_admin().await;
    let second = app.member_of_demo("second.admin@example.com", &["Administrator"]).await;
    let third = app.member_of_demo("third.admin@example.com", &["Administrator"]).await;
    let id = first.invite_to_demo("anna@example.com").await;
    // As stored before resends named their sender: only invitedBy, the first inviter.
    app.app
        .store
        .client()
        .update_item()
        .table_name(&app.app.store.tables().data)
        .key("PK", AttributeValue::S(format!("CUSTOMER#{CUSTOMER_NUMBER}")))
        .key("SK", AttributeValue::S(format!("INVITATION#{id}")))
        .update_expression("REMOVE firstInvitedBy, firstInvitedByEmail")
        .send()
        .await
        .unwrap();
    let listed = first.list_invitations(CUSTOMER_NUMBER, "").await;
    assert_eq!(
        listed.body["invitations"][0]["firstInvitedBy"]["email"],
        seed::ADMIN_EMAIL
    );

    for (resender, email) in [
        (&second, "second.admin@example.com"),
        (&third, "third.admin@example.com"),
    ] {
        assert_eq!(resender.resend(CUSTOMER_NUMBER, &id).await.status, 200);
        let listed = first.list_invitations(CUSTOMER_NUMBER, "").await;
        let invitation = &listed.body["invitations"][0];
        assert_eq!(invitation["invitedBy"]["email"], email, "{invitation:?}");
        assert_eq!(
            invitation["firstInvitedBy"]["email"],
            seed::ADMIN_EMAIL,
            "{invitation:?}"
        );
        assert_eq!(invitation["firstInvitedBy"]["userId"], seed::ADMIN_USER_ID);
    }
    // The resends charged the resending admins, not the first inviter.
    assert_eq!(first.quota(CUSTOMER_NUMBER).await.body["used"], 1);
    assert_eq!(second.quota(CUSTOMER_NUMBER).await.body["used"], 1);
}

#[tokio::test]
async fn expired_invitations_are_listed_as_expired_for_30_days_and_can_be_resent() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let id = admin.invite_to_demo("anna@example.com").await;
    app.clock.advance(LINK_LIFETIME);
    let admin = app.demo_admin().await;
    let all = admin.list_invitations(CUSTOMER_NUMBER, "").await;
    assert_eq!(all.body["invitations"][0]["status"], "expired");
    assert_eq!(
        admin.list_invitations(CUSTOMER_NUMBER, "?status=pending").await.body["invitations"],
        json!([])
    );
    assert_eq!(
        admin.list_invitations(CUSTOMER_NUMBER, "?status=expired").await.body["invitations"][0]["id"],
        id.as_str()
    );

    app.clock.advance(LISTED_AFTER_EXPIRY - Duration::seconds(1));
    let admin = app.demo_admin().await;
    assert_eq!(
        admin.list_invitations(CUSTOMER_NUMBER, "?status=expired").await.body["invitations"][0]["id"],
        id.as_str()
    );
    let resent = admin.resend(CUSTOMER_NUMBER, &id).await;
    assert_eq!(resent.status, 200, "{resent:?}");
    assert_eq!(resent.body["status"], "pending");
    let pending = admin.list_invitations(CUSTOMER_NUMBER, "?status=pending").await;
    assert_eq!(pending.body["invitations"][0]["sendCount"], 2);
}

#[tokio::test]
async fn expired_invitations_leave_the_list_after_30_days() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    admin.invite_to_demo("anna@example.com").await;
    app.clock
        .advance(LINK_LIFETIME + LISTED_AFTER_EXPIRY + Duration::seconds(1));
    let admin = app.demo_admin().await;
    assert_eq!(
        admin.list_invitations(CUSTOMER_NUMBER, "").await.body["invitations"],
        json!([])
    );
}

#[tokio::test]
async fn resending_issues_a_new_link_kills_the_old_one_and_counts_toward_the_quota() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let id = admin.invite_to_demo("anna@example.com").await;
    let old_link = app.link_of(CUSTOMER_NUMBER, &id).await;
    app.clock.advance(Duration::hours(3));
    let resent = admin.resend(CUSTOMER_NUMBER, &id).await;
    assert_eq!(resent.status, 200, "{resent:?}");
    assert_eq!(
        resent.body["expiresAt"], "2026-11-25T12:30:00.000Z",
        "a new 24 hours from the resend"
    );
    let new_link = app.link_of(CUSTOMER_NUMBER, &id).await;
    assert_ne!(old_link.hash(), new_link.hash());
    assert_eq!(app.open_link(&old_link).await, LinkState::Ended(Ended::Superseded));
    assert!(matches!(app.open_link(&new_link).await, LinkState::Live(_)));
    assert_eq!(admin.quota(CUSTOMER_NUMBER).await.body["used"], 2);
}

#[tokio::test]
async fn deleting_kills_the_link_at_once_and_a_second_delete_is_not_found() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let id = admin.invite_to_demo("anna@example.com").await;
    let link = app.link_of(CUSTOMER_NUMBER, &id).await;
    let deleted = admin.delete_invitation(CUSTOMER_NUMBER, &id).await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    assert_eq!(app.open_link(&link).await, LinkState::Ended(Ended::Withdrawn));
    admin
        .delete_invitation(CUSTOMER_NUMBER, &id)
        .await
        .assert_problem(404, "invitation-not-found");
    admin
        .resend(CUSTOMER_NUMBER, &id)
        .await
        .assert_problem(404, "invitation-not-found");
    assert_eq!(
        admin.list_invitations(CUSTOMER_NUMBER, "").await.body["invitations"],
        json!([])
    );
    // The email can be invited afresh.
    let again = admin.invite_to_demo("anna@example.com").await;
    assert_ne!(again, id);
}

#[tokio::test]
async fn inviting_an_email_whose_invitation_expired_sends_that_invitation_again() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let id = admin.invite_to_demo("anna@example.com").await;
    app.clock.advance(LINK_LIFETIME);
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    let response = admin
        .invite(
            CUSTOMER_NUMBER,
            json!({ "email": "anna@example.com", "roleIds": [buyer] }),
        )
        .await;
    assert_eq!(response.status, 201, "{response:?}");
    assert_eq!(
        response.body["invitation"]["id"],
        id.as_str(),
        "one invitation per email and customer"
    );
    assert_eq!(response.body["invitation"]["sendCount"], 2);
    assert_eq!(response.body["invitation"]["status"], "pending");
    let listed = admin.list_invitations(CUSTOMER_NUMBER, "").await;
    assert_eq!(listed.body["invitations"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["invitations"][0]["roles"][0]["name"], "Buyer");
}

#[tokio::test]
async fn the_list_pages_newest_first_without_gaps_or_repeats() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let mut sent = Vec::new();
    for i in 0..7 {
        sent.push(admin.invite_to_demo(&format!("user{i}@example.com")).await);
        app.clock.advance(Duration::minutes(1));
    }
    let mut seen = Vec::new();
    let mut query = "?limit=3".to_owned();
    loop {
        let page = admin.list_invitations(CUSTOMER_NUMBER, &query).await;
        assert_eq!(page.status, 200, "{page:?}");
        let invitations = page.body["invitations"].as_array().unwrap();
        assert!(invitations.len() <= 3);
        seen.extend(invitations.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        match page.body["nextCursor"].as_str() {
            Some(cursor) => query = format!("?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    sent.reverse();
    assert_eq!(seen, sent, "newest first, each once");
}

#[tokio::test]
async fn the_list_rejects_bad_filters_limits_and_cursors() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    for (query, code) in [
        ("?status=open", "invalid-status-filter"),
        ("?limit=0", "invalid-limit"),
        ("?limit=101", "invalid-limit"),
        ("?limit=ten", "invalid-limit"),
        ("?cursor=not-a-cursor", "invalid-cursor"),
        ("?cursor=eyJzayI6IkNVU1RPTUVSIzEiLCJsc2kiOiJ4In0", "invalid-cursor"),
        ("?status=pending&status=expired", "invalid-query"),
    ] {
        admin
            .list_invitations(CUSTOMER_NUMBER, query)
            .await
            .assert_problem(400, code);
    }
}

#[tokio::test]
async fn invite_bodies_are_checked_and_refusals_change_nothing() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let before = app.all_items().await;
    let many: Vec<String> = (0..21).map(|_| unknown_role_id()).collect();
    for (body, status, code) in [
        (json!({}), 422, "invalid-body"),
        (json!({ "email": 42 }), 422, "invalid-body"),
        (
            json!({ "email": "a@example.com", "roleIds": "Buyer" }),
            422,
            "invalid-body",
        ),
        (json!({ "email": "a@example.com", "admin": true }), 422, "invalid-body"),
        (json!({ "email": "not an email" }), 422, "invalid-email"),
        (
            json!({ "email": "a@example.com", "roleIds": ["Buyer"] }),
            422,
            "invalid-role-id",
        ),
        (
            json!({ "email": "a@example.com", "roleIds": many }),
            422,
            "too-many-roles",
        ),
        (
            json!({ "email": "a@example.com", "language": "fr" }),
            422,
            "invalid-language",
        ),
    ] {
        admin.invite(CUSTOMER_NUMBER, body).await.assert_problem(status, code);
    }
    let path = format!("/customers/{CUSTOMER_NUMBER}/invitations");
    let headers = [("content-type", "application/json")];
    admin
        .request(lambda_http::http::Method::POST, &path, &headers, "{\"email\":")
        .await
        .assert_problem(400, "malformed-json");
    admin
        .request(lambda_http::http::Method::POST, &path, &headers, vec![b' '; 17 * 1024])
        .await
        .assert_problem(413, "body-too-large");
    admin
        .invite("not a number!", json!({ "email": "a@example.com" }))
        .await
        .assert_problem(404, "customer-not-found");
    admin
        .resend(CUSTOMER_NUMBER, "not-an-id")
        .await
        .assert_problem(404, "invitation-not-found");
    admin
        .delete_invitation(CUSTOMER_NUMBER, "not-an-id")
        .await
        .assert_problem(404, "invitation-not-found");
    assert_eq!(app.all_items().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_resends_and_deletes_of_one_invitation_end_consistent() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    for round in 0..8 {
        let id = admin.invite_to_demo(&format!("race{round}@example.com")).await;
        let used_before = admin.quota(CUSTOMER_NUMBER).await.body["used"].as_u64().unwrap();
        let (resend, delete) = {
            let (a, b, i1, i2) = (admin.clone(), admin.clone(), id.clone(), id.clone());
            tokio::join!(
                tokio::spawn(async move { a.resend(CUSTOMER_NUMBER, &i1).await }),
                tokio::spawn(async move { b.delete_invitation(CUSTOMER_NUMBER, &i2).await }),
            )
        };
        let (resend, delete) = (resend.unwrap(), delete.unwrap());
        assert_eq!(delete.status, 204, "the invitation existed for the delete: {delete:?}");
        assert!(resend.status == 200 || resend.status == 404, "{resend:?}");
        let used_after = admin.quota(CUSTOMER_NUMBER).await.body["used"].as_u64().unwrap();
        assert_eq!(
            used_after - used_before,
            u64::from(resend.status == 200),
            "only a successful resend spends quota"
        );
        // Either order ends with the invitation gone and every link of it dead.
        let listed: HashSet<String> = admin.list_invitations(CUSTOMER_NUMBER, "").await.body["invitations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect();
        assert!(!listed.contains(&id));
    }
}

#[tokio::test]
async fn spellings_of_a_mailbox_that_holds_an_account_or_an_invitation_are_refused_and_spend_nothing() {
    // Rule 16: `"same-x"@example.com` is the mailbox `same-x@example.com`; accepted, it became a
    // second account of it.
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    app.member_of_demo("same-x@example.com", &["Buyer"]).await;
    admin.invite_to_demo("pending@example.com").await;
    let before = app.all_items().await;
    for email in [
        r#""same-x"@example.com"#,
        r#""pending"@example.com"#,
        r#""admin"@acme.example"#,
        "same-x(twin)@example.com",
        "sämé-x@example.com",
    ] {
        admin
            .invite(CUSTOMER_NUMBER, json!({ "email": email }))
            .await
            .assert_problem(422, "invalid-email");
    }
    assert_eq!(
        app.all_items().await,
        before,
        "no invitation, seat or quota may come of it"
    );
    assert_eq!(admin.quota(CUSTOMER_NUMBER).await.body["used"], 1);
}

#[tokio::test]
async fn an_international_domain_and_its_punycode_are_one_mailbox() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let first = admin
        .invite(CUSTOMER_NUMBER, json!({ "email": "Jana@Bücher.example" }))
        .await;
    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(first.body["invitation"]["email"], "jana@xn--bcher-kva.example");
    let again = admin
        .invite(CUSTOMER_NUMBER, json!({ "email": "jana@xn--bcher-kva.example" }))
        .await;
    again.assert_problem(409, "invitation-pending");
    assert_eq!(again.body["invitationId"], first.body["invitation"]["id"]);
}
