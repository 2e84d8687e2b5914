use crate::helpers::TestApp;

#[tokio::test]
async fn logging_out_ends_the_session_at_once() {
    let app = TestApp::with_demo_customer().await;
    let token = app.log_in_as_demo_admin().await;
    let other = app.log_in_as_demo_admin().await;
    let response = app.post_logout(Some(&token)).await;
    assert_eq!(response.status, 204, "{response:?}");
    app.get_me(Some(&token)).await.assert_problem(401, "invalid-session");
    app.post_logout(Some(&token))
        .await
        .assert_problem(401, "invalid-session");
    assert_eq!(app.get_me(Some(&other)).await.status, 200, "other sessions live on");
}

#[tokio::test]
async fn logging_out_needs_a_session() {
    let app = TestApp::with_demo_customer().await;
    app.post_logout(None).await.assert_problem(401, "missing-session");
}
