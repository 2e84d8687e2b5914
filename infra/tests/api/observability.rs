//! The product metrics in CloudWatch's Embedded Metric Format. (Each request's log line is tested
//! in `tests/logs.rs`, which captures log lines.)

use crate::helpers::TestApp;
use cloudhub::metrics::capture;
use infra::seed;

#[tokio::test]
async fn quota_refusals_resends_and_leaves_are_counted() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let id = admin.invite_to_demo("carla@example.com").await;
    let member = app.member_of_demo("dora@example.com", &["Buyer"]).await;

    capture::start();
    assert_eq!(admin.resend(seed::CUSTOMER_NUMBER, &id).await.status, 200);
    assert_eq!(
        member.leave(seed::CUSTOMER_NUMBER, seed::CUSTOMER_NUMBER).await.status,
        200
    );
    // Spend the rest of the day's quota, then one more is refused.
    let remaining = admin.quota(seed::CUSTOMER_NUMBER).await.body["remaining"]
        .as_u64()
        .unwrap();
    for _ in 0..remaining {
        assert_eq!(admin.resend(seed::CUSTOMER_NUMBER, &id).await.status, 200);
    }
    admin
        .resend(seed::CUSTOMER_NUMBER, &id)
        .await
        .assert_problem(429, "invitation-quota-exhausted");
    let names: Vec<String> = capture::take()
        .iter()
        .map(|document| {
            document["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let count = |name: &str| names.iter().filter(|n| *n == name).count() as u64;
    assert_eq!(count("InvitationsSent"), 1 + remaining);
    assert_eq!(count("Leaves"), 1);
    assert_eq!(count("QuotaRefusals"), 1);
    assert_eq!(names.len() as u64, remaining + 3);
}
