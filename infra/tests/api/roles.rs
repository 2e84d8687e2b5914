//! Rule 6: roles exist before they are invited with; deleting a role removes it from open
//! invitations; editing it changes what they will grant; the answers say what a change affects.

use crate::helpers::TestApp;
use infra::seed::CUSTOMER_NUMBER;
use serde_json::json;

fn role_path(id: &str) -> String {
    format!("/customers/{CUSTOMER_NUMBER}/roles/{id}")
}

#[tokio::test]
async fn roles_are_listed_with_the_members_and_open_invitations_holding_them() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    admin
        .invite(
            CUSTOMER_NUMBER,
            json!({ "email": "anna@example.com", "roleIds": [buyer] }),
        )
        .await;
    let roles = admin.roles().await;
    assert_eq!(roles.status, 200, "{roles:?}");
    let by_name = |name: &str| {
        roles.body["roles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap()
            .clone()
    };
    assert_eq!(
        by_name("Administrator")["usage"],
        json!({ "members": 1, "openInvitations": 0 })
    );
    assert_eq!(by_name("Buyer")["usage"], json!({ "members": 0, "openInvitations": 1 }));
    assert_eq!(by_name("Buyer")["permissions"], json!(["orders"]));
}

#[tokio::test]
async fn an_admin_creates_a_role_and_can_invite_with_it() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let created = admin
        .post_json(
            &format!("/customers/{CUSTOMER_NUMBER}/roles"),
            &json!({ "name": " Warehouse ", "permissions": ["orders", "documents"] }),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    assert_eq!(created.body["name"], "Warehouse");
    let id = created.body["id"].as_str().unwrap();
    let invited = admin
        .invite(CUSTOMER_NUMBER, json!({ "email": "w@example.com", "roleIds": [id] }))
        .await;
    assert_eq!(invited.status, 201, "{invited:?}");
    for (body, code) in [
        (json!({ "name": "X", "permissions": ["admin"] }), "invalid-permission"),
        (json!({ "name": "   ", "permissions": [] }), "invalid-role-name"),
        (json!({ "name": "X" }), "invalid-body"),
    ] {
        admin
            .post_json(&format!("/customers/{CUSTOMER_NUMBER}/roles"), &body)
            .await
            .assert_problem(422, code);
    }
}

#[tokio::test]
async fn editing_a_role_changes_what_members_hold_and_what_invitations_will_grant() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    let member = app.member_of_demo("buyer@acme.example", &["Buyer"]).await;
    admin
        .invite(
            CUSTOMER_NUMBER,
            json!({ "email": "anna@example.com", "roleIds": [buyer] }),
        )
        .await;

    let edited = admin
        .put_json(
            &role_path(&buyer),
            &json!({ "name": "Purchasing", "permissions": ["orders", "invoices"] }),
        )
        .await;
    assert_eq!(edited.status, 200, "{edited:?}");
    assert_eq!(edited.body["affected"], json!({ "members": 1, "openInvitations": 1 }));
    assert_eq!(edited.body["role"]["name"], "Purchasing");

    let me = member.me().await;
    assert_eq!(me.body["customers"][0]["roles"][0]["name"], "Purchasing");
    assert_eq!(me.body["customers"][0]["permissions"], json!(["orders", "invoices"]));
    let listed = admin.list_invitations(CUSTOMER_NUMBER, "").await;
    assert_eq!(listed.body["invitations"][0]["roles"][0]["name"], "Purchasing");
}

#[tokio::test]
async fn the_last_admin_cannot_lose_user_management_through_a_role_edit() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let administrator = app.demo_role("Administrator").await;
    let before = app.all_items().await;
    admin
        .put_json(
            &role_path(&administrator),
            &json!({ "name": "Administrator", "permissions": ["orders"] }),
        )
        .await
        .assert_problem(409, "last-admin");
    assert_eq!(
        app.all_items().await,
        before,
        "nothing changed and the role is not left locked"
    );
    assert_eq!(admin.me().await.body["customers"][0]["admin"], true);
}

#[tokio::test]
async fn a_role_held_by_members_is_not_deleted_silently() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    app.member_of_demo("buyer@acme.example", &["Buyer"]).await;
    let before = app.all_items().await;
    let refused = admin.delete(&role_path(&buyer)).await;
    refused.assert_problem(409, "role-in-use");
    assert_eq!(refused.body["members"], 1);
    assert_eq!(app.all_items().await, before);
}

#[tokio::test]
async fn deleting_a_role_removes_it_from_open_invitations() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    let accounting = app.demo_role("Accounting").await;
    admin
        .invite(
            CUSTOMER_NUMBER,
            json!({ "email": "anna@example.com", "roleIds": [buyer, accounting] }),
        )
        .await;
    admin
        .invite(
            CUSTOMER_NUMBER,
            json!({ "email": "ben@example.com", "roleIds": [accounting] }),
        )
        .await;

    let deleted = admin.delete(&role_path(&accounting)).await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert_eq!(deleted.body["affected"], json!({ "members": 0, "openInvitations": 2 }));
    let mut stored = app.stored_invitation_roles().await;
    stored.sort();
    assert_eq!(stored, vec![vec![], vec![buyer.clone()]]);
    admin
        .delete(&role_path(&accounting))
        .await
        .assert_problem(404, "role-not-found");
    admin
        .invite(
            CUSTOMER_NUMBER,
            json!({ "email": "cara@example.com", "roleIds": [accounting] }),
        )
        .await
        .assert_problem(422, "unknown-role");
    admin
        .delete(&role_path("not-a-role"))
        .await
        .assert_problem(404, "role-not-found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_invite_racing_a_role_deletion_never_keeps_the_deleted_role() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    for round in 0..5 {
        let created = admin
            .post_json(
                &format!("/customers/{CUSTOMER_NUMBER}/roles"),
                &json!({ "name": format!("Temp {round}"), "permissions": ["orders"] }),
            )
            .await;
        let role = created.body["id"].as_str().unwrap().to_owned();
        let invites: Vec<_> = (0..8)
            .map(|i| {
                let (admin, role) = (admin.clone(), role.clone());
                tokio::spawn(async move {
                    admin
                        .invite(
                            CUSTOMER_NUMBER,
                            json!({ "email": format!("r{round}-{i}@example.com"), "roleIds": [role] }),
                        )
                        .await
                })
            })
            .collect();
        let deletion = {
            let (admin, role) = (admin.clone(), role.clone());
            tokio::spawn(async move { admin.delete(&role_path(&role)).await })
        };
        for invite in invites {
            let response = invite.await.unwrap();
            assert!(matches!(response.status, 201 | 409 | 422), "{response:?}");
        }
        let deletion = deletion.await.unwrap();
        assert!(matches!(deletion.status, 200 | 409), "{deletion:?}");
        let role_exists = app.demo_role_exists(&role).await;
        assert_eq!(role_exists, deletion.status != 200);
        if !role_exists {
            for roles in app.stored_invitation_roles().await {
                assert!(!roles.contains(&role), "an invitation kept the deleted role {role}");
            }
        }
    }
}

#[tokio::test]
async fn role_changes_need_an_admin_and_a_valid_body() {
    let app = TestApp::with_demo_customer().await;
    let buyer = app.demo_role("Buyer").await;
    let member = app.member_of_demo("buyer@acme.example", &["Buyer"]).await;
    member
        .put_json(
            &role_path(&buyer),
            &json!({ "name": "Mine", "permissions": ["user-management"] }),
        )
        .await
        .assert_problem(403, "not-an-admin");
    member
        .delete(&role_path(&buyer))
        .await
        .assert_problem(403, "not-an-admin");
    let admin = app.demo_admin().await;
    admin
        .put_json(&role_path(&buyer), &json!({ "name": "X", "permissions": "orders" }))
        .await
        .assert_problem(422, "invalid-body");
    let unknown = crate::helpers::unknown_role_id();
    admin
        .put_json(&role_path(&unknown), &json!({ "name": "X", "permissions": [] }))
        .await
        .assert_problem(404, "role-not-found");
}

fn roles_path() -> String {
    format!("/customers/{CUSTOMER_NUMBER}/roles")
}

#[tokio::test]
async fn a_role_name_another_role_has_in_any_case_is_a_conflict_and_changes_nothing() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    let before = app.all_items().await;
    for name in ["buyer", " BUYER ", "Accounting", "administrator"] {
        admin
            .post_json(&roles_path(), &json!({ "name": name, "permissions": ["orders"] }))
            .await
            .assert_problem(409, "role-name-taken");
    }
    // Renaming onto another role's name is refused, and the role is left as it was (unlocked).
    admin
        .put_json(
            &role_path(&buyer),
            &json!({ "name": "ACCOUNTING", "permissions": ["orders"] }),
        )
        .await
        .assert_problem(409, "role-name-taken");
    assert_eq!(app.all_items().await, before);
}

#[tokio::test]
async fn a_role_keeps_its_name_in_another_case_and_a_rename_or_deletion_frees_the_old_one() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    let create = |name: &'static str| {
        let admin = &admin;
        async move {
            admin
                .post_json(&roles_path(), &json!({ "name": name, "permissions": ["orders"] }))
                .await
        }
    };
    let recased = admin
        .put_json(
            &role_path(&buyer),
            &json!({ "name": "BUYER", "permissions": ["orders"] }),
        )
        .await;
    assert_eq!(recased.status, 200, "{recased:?}");
    assert_eq!(recased.body["role"]["name"], "BUYER");
    create("buyer").await.assert_problem(409, "role-name-taken");

    let renamed = admin
        .put_json(
            &role_path(&buyer),
            &json!({ "name": "Purchasing", "permissions": ["orders"] }),
        )
        .await;
    assert_eq!(renamed.status, 200, "{renamed:?}");
    create("purchasing").await.assert_problem(409, "role-name-taken");
    let reused = create("Buyer").await;
    assert_eq!(reused.status, 201, "the old name is free again: {reused:?}");

    let deleted = admin.delete(&role_path(&buyer)).await;
    assert_eq!(deleted.status, 200, "{deleted:?}");
    assert_eq!(
        create("Purchasing").await.status,
        201,
        "a deleted role's name is free again"
    );
    assert_eq!(
        app.all_items().await.with_sk_prefix("ROLENAME#").len(),
        4,
        "one claim per role"
    );
}

#[tokio::test]
async fn concurrent_creates_of_one_name_make_exactly_one_role() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let creates: Vec<_> = (0..10)
        .map(|i| {
            let admin = admin.clone();
            let name = if i % 2 == 0 { "Night Shift" } else { "night shift" };
            tokio::spawn(async move {
                admin
                    .post_json(&roles_path(), &json!({ "name": name, "permissions": ["orders"] }))
                    .await
            })
        })
        .collect();
    let mut created = 0;
    for create in creates {
        let response = create.await.unwrap();
        match response.status {
            201 => created += 1,
            _ => response.assert_problem(409, "role-name-taken"),
        }
    }
    assert_eq!(created, 1);
    let roles = admin.roles().await;
    let night_shifts = roles.body["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|role| role["name"].as_str().unwrap().eq_ignore_ascii_case("night shift"))
        .count();
    assert_eq!(night_shifts, 1);
}

/// Makes the demo role `name` look like one created before names were claimed.
async fn unclaim(app: &TestApp, id: &str, name: &str) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let store = &app.app.store;
    let pk = AttributeValue::S(format!("CUSTOMER#{CUSTOMER_NUMBER}"));
    store
        .client()
        .delete_item()
        .table_name(&store.tables().data)
        .key("PK", pk.clone())
        .key("SK", AttributeValue::S(format!("ROLENAME#{}", name.to_lowercase())))
        .condition_expression("attribute_exists(PK)")
        .send()
        .await
        .unwrap();
    store
        .client()
        .update_item()
        .table_name(&store.tables().data)
        .key("PK", pk)
        .key("SK", AttributeValue::S(format!("ROLE#{id}")))
        .update_expression("REMOVE nameClaimed")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn roles_from_before_name_claims_keep_their_names_and_claim_them_when_edited() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    let accounting = app.demo_role("Accounting").await;
    unclaim(&app, &buyer, "Buyer").await;
    // An edit reads the customer's roles, so it sees the unclaimed name too.
    admin
        .put_json(
            &role_path(&accounting),
            &json!({ "name": "buyer", "permissions": ["invoices"] }),
        )
        .await
        .assert_problem(409, "role-name-taken");
    // Editing the old role claims its name: from then on a create is refused atomically.
    let edited = admin
        .put_json(
            &role_path(&buyer),
            &json!({ "name": "Buyer", "permissions": ["orders", "documents"] }),
        )
        .await;
    assert_eq!(edited.status, 200, "{edited:?}");
    admin
        .post_json(&roles_path(), &json!({ "name": "BUYER", "permissions": [] }))
        .await
        .assert_problem(409, "role-name-taken");
}

#[tokio::test]
async fn a_customer_cannot_be_created_with_two_roles_of_one_name() {
    let app = TestApp::spawn().await;
    let result = cloudhub::usecases::onboarding::create(
        &app.app.store,
        cloudhub::usecases::onboarding::NewCustomer {
            number: cloudhub::domain::CustomerNumber::parse("300700").unwrap(),
            company_name: cloudhub::domain::CompanyName::parse("Gamma GmbH").unwrap(),
            default_language: cloudhub::domain::Language::De,
            roles: vec![(
                cloudhub::domain::RoleName::parse("ADMINISTRATOR").unwrap(),
                Default::default(),
            )],
        },
        cloudhub::usecases::onboarding::FirstAdmin::NewAccount {
            user_id: cloudhub::domain::UserId::generate(),
            email: cloudhub::domain::Email::parse("admin@gamma.example").unwrap(),
            password_hash: cloudhub::domain::PasswordHash::dummy(),
            language: cloudhub::domain::Language::En,
        },
        crate::helpers::NowForTests::now_for_tests(&*app.clock),
    )
    .await;
    assert!(
        matches!(
            result,
            Err(cloudhub::usecases::onboarding::CreateCustomerError::DuplicateRoleName(
                _
            ))
        ),
        "{result:?}"
    );
    assert!(app.all_items().await.is_empty(), "nothing was written");
}

#[tokio::test]
async fn claiming_older_roles_names_closes_them_to_creates_and_reports_duplicates() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let customer = cloudhub::domain::CustomerNumber::parse(CUSTOMER_NUMBER).unwrap();
    let buyer = app.demo_role("Buyer").await;
    unclaim(&app, &buyer, "Buyer").await;
    // Before the claim, a create can still take the old role's name: the gap claiming closes.
    let twin = admin
        .post_json(&roles_path(), &json!({ "name": "BUYER", "permissions": [] }))
        .await;
    assert_eq!(twin.status, 201, "{twin:?}");
    let accounting = app.demo_role("Accounting").await;
    unclaim(&app, &accounting, "Accounting").await;

    let now = crate::helpers::NowForTests::now_for_tests(&*app.clock);
    let outcome = cloudhub::roles::claim_names(&app.app.store, &customer, now)
        .await
        .unwrap();
    let names = |roles: &[cloudhub::roles::Role]| roles.iter().map(|r| r.name.to_string()).collect::<Vec<_>>();
    assert_eq!(names(&outcome.claimed), ["Accounting"]);
    assert_eq!(names(&outcome.not_claimed), ["Buyer"], "BUYER holds the name");
    assert_eq!(outcome.held, 2);
    admin
        .post_json(&roles_path(), &json!({ "name": "accounting", "permissions": [] }))
        .await
        .assert_problem(409, "role-name-taken");

    let again = cloudhub::roles::claim_names(&app.app.store, &customer, now)
        .await
        .unwrap();
    assert_eq!((again.claimed.len(), again.held, again.not_claimed.len()), (0, 3, 1));
}

#[tokio::test]
async fn role_names_with_bidirectional_or_zero_width_characters_are_refused() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    let before = app.all_items().await;
    // `Admin\u{202E}` hides what follows; `Buyer\u{200B}` looks like the role it is not.
    for name in ["nimdA\u{202E}", "Buyer\u{200B}", "\u{2066}Sales\u{2069}"] {
        admin
            .post_json(&roles_path(), &json!({ "name": name, "permissions": [] }))
            .await
            .assert_problem(422, "invalid-role-name");
        admin
            .put_json(&role_path(&buyer), &json!({ "name": name, "permissions": [] }))
            .await
            .assert_problem(422, "invalid-role-name");
    }
    assert_eq!(app.all_items().await, before);
}
