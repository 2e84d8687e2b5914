//! The operator's create-customer: all or nothing.

use crate::helpers::{NowForTests, TestApp};
use cloudhub::domain::{CompanyName, CustomerNumber, Email, Language, Password, PasswordPolicy, UserId};
use cloudhub::usecases::onboarding::{self as customers, CreateCustomerError, FirstAdmin, NewCustomer};
use infra::seed;

fn customer(number: &str) -> NewCustomer {
    NewCustomer {
        number: CustomerNumber::parse(number).unwrap(),
        company_name: CompanyName::parse("Someone Else GmbH").unwrap(),
        default_language: Language::En,
        roles: vec![],
    }
}

async fn new_admin(email: &str) -> FirstAdmin {
    FirstAdmin::NewAccount {
        user_id: UserId::generate(),
        email: Email::parse(email).unwrap(),
        password_hash: Password::parse("a long enough password".into(), PasswordPolicy::New)
            .unwrap()
            .hash()
            .await
            .unwrap(),
        language: Language::En,
    }
}

#[tokio::test]
async fn a_customer_number_can_be_created_only_once_and_a_refusal_writes_nothing() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let before = app.all_items().await;
    let result = customers::create(
        &app.app.store,
        customer(seed::CUSTOMER_NUMBER),
        new_admin("other@else.example").await,
        app.clock.now_for_tests(),
    )
    .await;
    assert!(
        matches!(result, Err(CreateCustomerError::CustomerExists(_))),
        "{result:?}"
    );
    assert_eq!(app.all_items().await, before);
    // The would-be admin has no account.
    anon.log_in("other@else.example", "a long enough password")
        .await
        .assert_problem(401, "invalid-credentials");
}

#[tokio::test]
async fn a_new_admin_account_must_not_exist_yet() {
    let app = TestApp::with_demo_customer().await;
    let before = app.all_items().await;
    let result = customers::create(
        &app.app.store,
        customer("300700"),
        new_admin(seed::ADMIN_EMAIL).await,
        app.clock.now_for_tests(),
    )
    .await;
    assert!(
        matches!(result, Err(CreateCustomerError::AccountChanged(_))),
        "{result:?}"
    );
    assert_eq!(
        app.all_items().await,
        before,
        "the demo admin's password was not replaced"
    );
}
