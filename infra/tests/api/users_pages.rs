//! Rule 19 (tables that page and search): the users table comes a page at a time, by email,
//! searched by email prefix and filtered, with the total; bad paging input is refused.

use crate::helpers::{Caller, NowForTests as _, TestApp};
use cloudhub::domain::{CompanyName, CustomerNumber};
use infra::seed::{ADMIN_EMAIL, COMPANY_NAME, CUSTOMER_NUMBER};
use serde_json::{Value, json};

fn users_path(query: &str) -> String {
    format!("/customers/{CUSTOMER_NUMBER}/users{query}")
}

/// Every page of a listing, following `nextCursor`; the emails in order, and the last total.
async fn all_pages(admin: &Caller, filters: &str) -> (Vec<String>, u64, usize) {
    let (mut emails, mut pages, mut cursor) = (Vec::new(), 0, None::<String>);
    loop {
        let mut query = format!("?limit=50{filters}");
        if let Some(cursor) = &cursor {
            query.push_str(&format!("&cursor={cursor}"));
        }
        let page = admin.get(&users_path(&query)).await;
        assert_eq!(page.status, 200, "{page:?}");
        pages += 1;
        emails.extend(
            page.body["users"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["email"].as_str().unwrap().to_owned()),
        );
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (emails, page.body["total"].as_u64().unwrap(), pages),
        }
    }
}

async fn members(app: &TestApp, prefix: &str, count: usize, role_names: &[&str]) {
    let customer = CustomerNumber::parse(CUSTOMER_NUMBER).unwrap();
    let roles: Vec<_> = cloudhub::roles::list(&app.app.store, &customer)
        .await
        .unwrap()
        .into_iter()
        .filter(|role| role_names.contains(&role.name.as_str()))
        .collect();
    cloudhub::testing::add_members_at_scale(
        &app.app.store,
        &customer,
        &CompanyName::parse(COMPANY_NAME).unwrap(),
        prefix,
        count,
        &roles,
        app.clock.now_for_tests(),
    )
    .await;
}

#[tokio::test]
async fn the_users_table_comes_in_pages_by_email_with_the_total() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    members(&app, "p", 120, &["Buyer"]).await;
    // An invitation's seat sits among the members' and is no row.
    admin
        .invite(CUSTOMER_NUMBER, json!({ "email": "p5-invited@example.com" }))
        .await;
    let (emails, total, pages) = all_pages(&admin, "").await;
    assert_eq!(total, 121);
    assert_eq!(emails.len(), 121, "every member once");
    let mut sorted = emails.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(emails, sorted, "by email, none twice");
    assert!(!emails.contains(&"p5-invited@example.com".to_owned()));
    assert_eq!(pages, 3);
    let first = admin.get(&users_path("")).await;
    assert_eq!(
        first.body["users"].as_array().unwrap().len(),
        50,
        "50 a page by default"
    );
}

#[tokio::test]
async fn the_users_table_is_searched_by_email_prefix_in_any_case_and_filtered() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    members(&app, "buyer", 30, &["Buyer"]).await;
    members(&app, "nobody", 20, &[]).await;
    let (found, total, _) = all_pages(&admin, "&email=BUYER1").await;
    assert_eq!(found.len(), 11, "buyer1 and buyer10..buyer19: {found:?}");
    assert!(found.iter().all(|email| email.starts_with("buyer1")));
    assert_eq!(total, 51, "the total ignores the filters");

    let buyer = app.demo_role("Buyer").await;
    let (holding, _, _) = all_pages(&admin, &format!("&role={buyer}")).await;
    assert_eq!(holding.len(), 30);
    let (restricted, _, _) = all_pages(&admin, "&restricted=true").await;
    assert_eq!(restricted.len(), 20);
    assert!(restricted.iter().all(|email| email.starts_with("nobody")));
    let (admins, _, _) = all_pages(&admin, "&admin=true").await;
    assert_eq!(admins, vec![ADMIN_EMAIL.to_owned()]);
    let (not_admins, _, _) = all_pages(&admin, "&admin=false&restricted=false").await;
    assert_eq!(not_admins.len(), 30);
}

#[tokio::test]
async fn bad_paging_input_is_refused_and_a_cursor_serves_only_its_own_listing() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    members(&app, "m", 60, &[]).await;
    for (query, code) in [
        ("?limit=0", "invalid-limit"),
        ("?limit=101", "invalid-limit"),
        ("?limit=x", "invalid-limit"),
        ("?cursor=not-a-cursor", "invalid-cursor"),
        ("?restricted=yes", "invalid-filter"),
        ("?role=x", "invalid-filter"),
        ("?email=a%20b", "invalid-search"),
        ("?sort=email", "invalid-query"),
    ] {
        admin.get(&users_path(query)).await.assert_problem(400, code);
    }
    let first = admin.get(&users_path("?limit=10")).await;
    let cursor = first.body["nextCursor"].as_str().unwrap().to_owned();
    // With other filters, the cursor is refused.
    admin
        .get(&users_path(&format!("?limit=10&restricted=true&cursor={cursor}")))
        .await
        .assert_problem(400, "invalid-cursor");
    // At another customer, by its own admin, too: never a page of the first customer.
    let other = app.other_customer().await;
    let beta = app.user(&other.admin_email, &other.admin_password).await;
    beta.get(&format!("/customers/{}/users?limit=10&cursor={cursor}", other.number))
        .await
        .assert_problem(400, "invalid-cursor");
    let next: Value = admin.get(&users_path(&format!("?limit=10&cursor={cursor}"))).await.body;
    assert_eq!(next["users"].as_array().unwrap().len(), 10);
    assert_ne!(next["users"][0]["email"], first.body["users"][0]["email"]);
}
