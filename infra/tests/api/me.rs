use crate::helpers::{NowForTests, TestApp};
use cloudhub::domain::{CompanyName, CustomerNumber, Email, Language, Permission, RoleName, UserId};
use cloudhub::sessions::LIFETIME;
use cloudhub::usecases::onboarding::{self as customers, FirstAdmin, NewCustomer};
use infra::seed;
use serde_json::json;
use time::Duration;

#[tokio::test]
async fn me_shows_the_account_and_its_customers_with_roles() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let me = admin.me().await;
    assert_eq!(me.status, 200, "{me:?}");
    assert_eq!(me.body["user"]["id"], seed::ADMIN_USER_ID);
    assert_eq!(me.body["user"]["email"], seed::ADMIN_EMAIL);
    assert_eq!(me.body["user"]["language"], "en");
    let customers = me.body["customers"].as_array().unwrap();
    assert_eq!(customers.len(), 1);
    assert_eq!(customers[0]["customerNumber"], seed::CUSTOMER_NUMBER);
    assert_eq!(customers[0]["companyName"], seed::COMPANY_NAME);
    assert_eq!(customers[0]["admin"], true);
    assert_eq!(customers[0]["roles"][0]["name"], "Administrator");
    assert_eq!(
        customers[0]["permissions"],
        json!(["orders", "invoices", "documents", "user-management"])
    );
}

#[tokio::test]
async fn a_user_of_several_customers_sees_each_with_its_own_roles() {
    let app = TestApp::with_demo_customer().await;
    let created = customers::create(
        &app.app.store,
        NewCustomer {
            number: CustomerNumber::parse("200500").unwrap(),
            company_name: CompanyName::parse("Beta Logistik AG").unwrap(),
            default_language: Language::De,
            roles: vec![(
                RoleName::parse("Buyer").unwrap(),
                [Permission::Orders].into_iter().collect(),
            )],
        },
        FirstAdmin::ExistingAccount {
            email: Email::parse(seed::ADMIN_EMAIL).unwrap(),
            user_id: UserId::parse(seed::ADMIN_USER_ID).unwrap(),
        },
        app.clock.now_for_tests(),
    )
    .await
    .unwrap();
    assert_eq!(created.admin.user_id.to_string(), seed::ADMIN_USER_ID);

    let admin = app.demo_admin().await;
    let me = admin.me().await;
    let numbers: Vec<&str> = me.body["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customerNumber"].as_str().unwrap())
        .collect();
    assert_eq!(numbers, ["100234", "200500"]);
}

#[tokio::test]
async fn a_session_works_until_the_last_second_of_its_lifetime() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    app.clock.advance(LIFETIME - Duration::seconds(1));
    assert_eq!(admin.me().await.status, 200);
    app.clock.advance(Duration::seconds(1));
    // The item is still stored (TTL deletion is off in tests, and lags by days on AWS).
    admin.me().await.assert_problem(401, "session-expired");
}

#[tokio::test]
async fn missing_forged_and_malformed_sessions_are_refused() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    anon.me().await.assert_problem(401, "missing-session");
    app.with_forged_session()
        .me()
        .await
        .assert_problem(401, "invalid-session");
    app.with_session("not-a-token")
        .me()
        .await
        .assert_problem(401, "invalid-session");
    let basic = app
        .request(
            lambda_http::http::Method::GET,
            "/me",
            &[("authorization", "Basic YWRtaW46cGFzcw==")],
            Vec::new(),
        )
        .await;
    basic.assert_problem(401, "invalid-session");
}
