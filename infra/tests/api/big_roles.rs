//! Rule 19 (roles with no ceiling on holders): a role held by hundreds is edited and deleted;
//! every holder's access follows on its next request; the admin set and count stay exact, and
//! the last admin is kept, under concurrent edits and assignments.

use crate::helpers::{Caller, NowForTests as _, TestApp};
use cloudhub::domain::{CompanyName, CustomerNumber, UserId};
use infra::seed::{COMPANY_NAME, CUSTOMER_NUMBER};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const HOLDERS: usize = 500;

fn role_path(id: &str) -> String {
    format!("/customers/{CUSTOMER_NUMBER}/roles/{id}")
}

/// A new role of the demo customer with `permissions`.
async fn new_role(admin: &Caller, name: &str, permissions: Value) -> String {
    let created = admin
        .post_json(
            &format!("/customers/{CUSTOMER_NUMBER}/roles"),
            &json!({ "name": name, "permissions": permissions }),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    created.body["id"].as_str().unwrap().to_owned()
}

/// `count` members holding the role `id` (without passwords), written directly.
async fn holders(app: &TestApp, id: &str, prefix: &str, count: usize) -> Vec<UserId> {
    let customer = CustomerNumber::parse(CUSTOMER_NUMBER).unwrap();
    let role: Vec<_> = cloudhub::roles::list(&app.app.store, &customer)
        .await
        .unwrap()
        .into_iter()
        .filter(|role| role.id.to_string() == id)
        .collect();
    cloudhub::testing::add_members_at_scale(
        &app.app.store,
        &customer,
        &CompanyName::parse(COMPANY_NAME).unwrap(),
        prefix,
        count,
        &role,
        app.clock.now_for_tests(),
    )
    .await
}

/// What `/me` says the caller may do in the demo customer.
async fn permissions_in_demo(caller: &Caller) -> (Vec<String>, bool, bool) {
    let me = caller.me().await;
    assert_eq!(me.status, 200, "{me:?}");
    let customer = me.body["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["customerNumber"] == CUSTOMER_NUMBER)
        .expect("a member of the demo customer")
        .clone();
    let permissions = customer["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    (
        permissions,
        customer["admin"].as_bool().unwrap(),
        customer["restricted"].as_bool().unwrap(),
    )
}

/// The admin set as stored, and the customer's admin count, against what the members' roles
/// grant: they must agree exactly.
async fn assert_admins_exact(app: &TestApp) -> BTreeSet<String> {
    let items = app.all_items().await;
    let customer_pk = format!("CUSTOMER#{CUSTOMER_NUMBER}");
    let admin_roles: BTreeSet<String> = items
        .with_pk_prefix(&customer_pk)
        .iter()
        .filter(|item| item.sk.starts_with("ROLE#"))
        .filter(|item| {
            item.attr("permissions")
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p == "user-management"))
        })
        .map(|item| item.sk.trim_start_matches("ROLE#").to_owned())
        .collect();
    let by_roles: BTreeSet<String> = items
        .with_pk_prefix(&customer_pk)
        .iter()
        .filter(|item| item.sk.starts_with("EMAIL#") && item.attr("status") == "member")
        .filter(|seat| {
            seat.attr("roleIds")
                .as_array()
                .is_some_and(|ids| ids.iter().any(|id| admin_roles.contains(id.as_str().unwrap())))
        })
        .map(|seat| seat.attr("userId").as_str().unwrap().to_owned())
        .collect();
    let in_set: BTreeSet<String> = items
        .with_pk_prefix(&customer_pk)
        .iter()
        .filter(|item| item.sk.starts_with("ADMINS#"))
        .flat_map(|shard| {
            shard
                .attr("userIds")
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|id| id.as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(in_set, by_roles, "the admin set is who holds an admin role");
    let count = items
        .with_pk_prefix(&customer_pk)
        .iter()
        .find(|item| item.sk == "CUSTOMER")
        .and_then(|customer| customer.attr("adminCount").as_u64())
        .unwrap();
    assert_eq!(count as usize, in_set.len(), "the admin count is exact");
    assert!(count >= 1, "a customer keeps an admin");
    in_set
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_role_held_by_hundreds_is_edited_and_each_holder_has_it_on_its_next_request() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let buyer = new_role(&admin, "Big buyers", json!(["orders"])).await;
    holders(&app, &buyer, "buyer", HOLDERS).await;
    let anna = app.member_of_demo("anna@example.com", &["Big buyers"]).await;
    assert_eq!(
        permissions_in_demo(&anna).await,
        (vec!["orders".to_owned()], false, false)
    );

    let edited = admin
        .put_json(
            &role_path(&buyer),
            &json!({ "name": "Buyers", "permissions": ["invoices", "documents"] }),
        )
        .await;
    assert_eq!(edited.status, 200, "{edited:?}");
    assert_eq!(edited.body["affected"]["members"], HOLDERS + 1);
    assert_eq!(
        permissions_in_demo(&anna).await,
        (vec!["invoices".to_owned(), "documents".to_owned()], false, false)
    );
    let mut rows: Vec<Value> = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = admin
            .get(&format!("/customers/{CUSTOMER_NUMBER}/users?limit=100{cursor}"))
            .await;
        assert_eq!(page.body["total"], HOLDERS + 2);
        rows.extend(page.body["users"].as_array().unwrap().iter().cloned());
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(rows.len(), HOLDERS + 2);
    assert!(
        rows.iter()
            .filter(|row| row["email"] != infra::seed::ADMIN_EMAIL)
            .all(|row| row["roles"] == json!([{ "id": buyer, "name": "Buyers" }]) && row["restricted"] == false)
    );
    assert_admins_exact(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn giving_and_taking_user_management_reaches_every_holder_at_once() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let role = new_role(&admin, "Leads", json!(["orders"])).await;
    holders(&app, &role, "lead", HOLDERS).await;
    let anna = app.member_of_demo("anna@example.com", &["Leads"]).await;
    anna.list_invitations(CUSTOMER_NUMBER, "")
        .await
        .assert_problem(403, "not-an-admin");

    let given = admin
        .put_json(
            &role_path(&role),
            &json!({ "name": "Leads", "permissions": ["orders", "user-management"] }),
        )
        .await;
    assert_eq!(given.status, 200, "{given:?}");
    assert_eq!(anna.list_invitations(CUSTOMER_NUMBER, "").await.status, 200);
    assert_eq!(assert_admins_exact(&app).await.len(), HOLDERS + 2);

    let taken = admin
        .put_json(
            &role_path(&role),
            &json!({ "name": "Leads", "permissions": ["orders"] }),
        )
        .await;
    assert_eq!(taken.status, 200, "{taken:?}");
    // The right is gone on the very next request: no propagation to wait for.
    anna.list_invitations(CUSTOMER_NUMBER, "")
        .await
        .assert_problem(403, "not-an-admin");
    anna.invite(CUSTOMER_NUMBER, json!({ "email": "x@example.com" }))
        .await
        .assert_problem(403, "not-an-admin");
    assert_eq!(assert_admins_exact(&app).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_role_held_by_hundreds_is_deleted_only_when_the_request_confirms_it() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let role = new_role(&admin, "Temps", json!(["documents"])).await;
    holders(&app, &role, "temp", HOLDERS).await;
    let anna = app.member_of_demo("anna@example.com", &["Temps"]).await;
    admin
        .invite(
            CUSTOMER_NUMBER,
            json!({ "email": "new@example.com", "roleIds": [role] }),
        )
        .await;

    let refused = admin.delete(&role_path(&role)).await;
    refused.assert_problem(409, "role-in-use");
    assert_eq!(refused.body["members"], HOLDERS + 1);
    admin
        .delete(&format!("{}?confirm=yes", role_path(&role)))
        .await
        .assert_problem(400, "invalid-confirmation");

    let deleted = admin
        .delete(&format!("{}?confirm=remove-from-members", role_path(&role)))
        .await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert_eq!(
        deleted.body["affected"],
        json!({ "members": HOLDERS + 1, "openInvitations": 1 })
    );
    assert_eq!(permissions_in_demo(&anna).await, (Vec::new(), false, true));
    let items = app.all_items().await;
    assert!(
        items
            .with_pk_prefix(&format!("CUSTOMER#{CUSTOMER_NUMBER}"))
            .iter()
            .filter(|item| item.sk.starts_with("INVITATION#") || item.sk.starts_with("EMAIL#"))
            .all(|item| !item.attr("roleIds").to_string().contains(&role)),
        "no seat or invitation names the deleted role"
    );
    assert_admins_exact(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_last_admins_role_cannot_lose_user_management_or_go_whatever_its_holders() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    // The demo admin holds "Administrator"; 500 members hold "Bosses", an admin role too.
    let bosses = new_role(&admin, "Bosses", json!(["user-management"])).await;
    holders(&app, &bosses, "boss", HOLDERS).await;
    let administrator = app.demo_role("Administrator").await;
    // Taking user-management from "Administrator" is fine while the bosses remain admins...
    let fine = admin
        .put_json(
            &role_path(&administrator),
            &json!({ "name": "Administrator", "permissions": ["orders"] }),
        )
        .await;
    assert_eq!(fine.status, 200, "{fine:?}");
    assert_eq!(assert_admins_exact(&app).await.len(), HOLDERS);
    // ...but not from "Bosses" now: nobody else is an admin. The demo admin is no admin any
    // more, so a boss tries.
    let boss = app.member_of_demo("boss@example.com", &["Bosses"]).await;
    boss.put_json(
        &role_path(&bosses),
        &json!({ "name": "Bosses", "permissions": ["orders"] }),
    )
    .await
    .assert_problem(409, "last-admin");
    boss.delete(&format!("{}?confirm=remove-from-members", role_path(&bosses)))
        .await
        .assert_problem(409, "last-admin");
    assert_eq!(assert_admins_exact(&app).await.len(), HOLDERS + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_role_edits_and_assignments_keep_the_admin_set_exact() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let leads = new_role(&admin, "Leads", json!(["orders"])).await;
    let chiefs = new_role(&admin, "Chiefs", json!(["user-management"])).await;
    holders(&app, &leads, "lead", 100).await;
    let mut members = Vec::new();
    for n in 0..6 {
        members.push(app.member_of_demo(&format!("m{n}@example.com"), &["Leads"]).await);
    }
    // At once: "Leads" gains and loses user-management, members are given "Chiefs" or only
    // "Leads", back and forth.
    let mut tasks = tokio::task::JoinSet::new();
    for round in 0..3 {
        for permissions in [json!(["orders", "user-management"]), json!(["orders"])] {
            let admin = admin.clone();
            let path = role_path(&leads);
            tasks.spawn(async move {
                admin
                    .put_json(&path, &json!({ "name": "Leads", "permissions": permissions }))
                    .await
            });
        }
        for (n, member) in members.iter().enumerate() {
            let (admin, id) = (admin.clone(), member.user_id().to_owned());
            let roles = if (n + round) % 2 == 0 {
                json!([leads, chiefs])
            } else {
                json!([leads])
            };
            tasks.spawn(async move { admin.assign(&id, roles).await });
        }
    }
    let mut answered = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        let answer = answer.unwrap();
        answered.push(answer.status);
        assert!(
            [200, 409, 503].contains(&answer.status),
            "an edit or assignment succeeds or is refused as busy: {answer:?}"
        );
    }
    assert!(answered.contains(&200), "some of them land: {answered:?}");
    assert_admins_exact(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_edits_that_would_each_leave_one_admin_never_both_land() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let chiefs = new_role(&admin, "Chiefs", json!(["user-management"])).await;
    let chief = app.member_of_demo("chief@example.com", &["Chiefs"]).await;
    let administrator = app.demo_role("Administrator").await;
    let (administrator_path, chiefs_path) = (role_path(&administrator), role_path(&chiefs));
    let orders_only_a = json!({ "name": "Administrator", "permissions": ["orders"] });
    let orders_only_b = json!({ "name": "Chiefs", "permissions": ["orders"] });
    for _ in 0..5 {
        let (a, b) = tokio::join!(
            admin.put_json(&administrator_path, &orders_only_a),
            chief.put_json(&chiefs_path, &orders_only_b),
        );
        assert!(!(a.status == 200 && b.status == 200), "both landed: {a:?} {b:?}");
        assert_admins_exact(&app).await;
        // Put back whatever landed, for the next round.
        for (status, role, name, caller) in [
            (a.status, &administrator, "Administrator", &chief),
            (b.status, &chiefs, "Chiefs", &admin),
        ] {
            if status == 200 {
                let restored = caller
                    .put_json(
                        &role_path(role),
                        &json!({ "name": name, "permissions": ["orders", "invoices", "documents", "user-management"] }),
                    )
                    .await;
                assert_eq!(restored.status, 200, "{restored:?}");
            }
        }
    }
}

#[tokio::test]
async fn admins_of_a_customer_from_before_admin_sets_pass_the_admin_check_once_the_set_is_written() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let leads = new_role(&admin, "Leads", json!(["user-management"])).await;
    holders(&app, &leads, "lead", 3).await;
    // As an earlier version stored the customer: no admin set.
    let store = &app.app.store;
    for shard in app
        .all_items()
        .await
        .with_pk_prefix(&format!("CUSTOMER#{CUSTOMER_NUMBER}"))
        .iter()
        .filter(|item| item.sk.starts_with("ADMINS#"))
    {
        store
            .client()
            .delete_item()
            .table_name(&store.tables().data)
            .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(shard.pk.clone()))
            .key("SK", aws_sdk_dynamodb::types::AttributeValue::S(shard.sk.clone()))
            .send()
            .await
            .unwrap();
    }
    admin
        .list_invitations(CUSTOMER_NUMBER, "")
        .await
        .assert_problem(403, "not-an-admin");

    let customer = CustomerNumber::parse(CUSTOMER_NUMBER).unwrap();
    let written = cloudhub::usecases::upgrade::write_admin_set(store, &customer)
        .await
        .unwrap();
    assert_eq!((written.admins.len(), written.added, written.kept), (4, 4, 0));
    assert_eq!(admin.list_invitations(CUSTOMER_NUMBER, "").await.status, 200);
    assert_admins_exact(&app).await;
    // Again: nothing to do.
    let again = cloudhub::usecases::upgrade::write_admin_set(store, &customer)
        .await
        .unwrap();
    assert_eq!((again.added, again.kept, again.removed), (0, 4, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_member_who_leaves_while_made_an_admin_is_never_left_an_admin() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let chiefs = new_role(&admin, "Chiefs", json!(["user-management"])).await;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..8 {
        let member = app.member_of_demo(&format!("m{n}@example.com"), &[]).await;
        let (admin, chiefs) = (admin.clone(), chiefs.clone());
        tasks.spawn(async move {
            let id = member.user_id().to_owned();
            let (assigned, left) = tokio::join!(
                admin.assign(&id, json!([chiefs])),
                member.leave(CUSTOMER_NUMBER, CUSTOMER_NUMBER)
            );
            (assigned.status, left.status)
        });
    }
    while let Some(answers) = tasks.join_next().await {
        let (assigned, left) = answers.unwrap();
        assert!([200, 404, 409].contains(&assigned), "{assigned}");
        assert!([200, 409].contains(&left), "{left}");
    }
    // Whoever left holds no seat; the admin set names exactly the members holding an admin role.
    assert_admins_exact(&app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delete_refused_as_the_last_admins_leaves_the_invitations_naming_the_role_as_they_were() {
    let app = TestApp::with_demo_customer().await;
    let mut admin = app.demo_admin().await;
    let bosses = new_role(&admin, "Bosses", json!(["user-management"])).await;
    // More invitations than fit beside the role's deletion: some are stripped in transactions
    // of their own, ahead of it. 50 today (the quota), 40 the next day.
    for n in 0..90 {
        if n == 50 {
            app.clock.advance(time::Duration::hours(15));
            admin = app.demo_admin().await;
        }
        let invited = admin
            .invite(
                CUSTOMER_NUMBER,
                json!({ "email": format!("i{n}@example.com"), "roleIds": [bosses] }),
            )
            .await;
        assert_eq!(invited.status, 201, "{invited:?}");
    }
    let boss = app.member_of_demo("boss@example.com", &["Bosses"]).await;
    let administrator = app.demo_role("Administrator").await;
    let taken = admin
        .put_json(
            &role_path(&administrator),
            &json!({ "name": "Administrator", "permissions": ["orders"] }),
        )
        .await;
    assert_eq!(taken.status, 200, "{taken:?}");
    let before = app
        .all_items()
        .await
        .with_pk_prefix(&format!("CUSTOMER#{CUSTOMER_NUMBER}"));
    boss.delete(&format!("{}?confirm=remove-from-members", role_path(&bosses)))
        .await
        .assert_problem(409, "last-admin");
    let after = app
        .all_items()
        .await
        .with_pk_prefix(&format!("CUSTOMER#{CUSTOMER_NUMBER}"));
    let invitations = |items: &crate::helpers::StoredItems| -> Vec<String> {
        items
            .iter()
            .filter(|item| item.sk.starts_with("INVITATION#"))
            .map(|item| item.text())
            .collect()
    };
    assert_eq!(invitations(&after).len(), 90);
    assert_eq!(
        invitations(&after),
        invitations(&before),
        "a refused delete changed invitations"
    );
}
