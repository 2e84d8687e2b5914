use crate::helpers::TestApp;

#[tokio::test]
async fn logging_out_ends_the_session_at_once() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let other = app.demo_admin().await;
    let response = admin.log_out().await;
    assert_eq!(response.status, 204, "{response:?}");
    admin.me().await.assert_problem(401, "invalid-session");
    admin.log_out().await.assert_problem(401, "invalid-session");
    assert_eq!(other.me().await.status, 200, "other sessions live on");
}

#[tokio::test]
async fn logging_out_needs_a_session() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    anon.log_out().await.assert_problem(401, "missing-session");
}
