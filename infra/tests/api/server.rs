//! The local stack's real HTTP server, over a TCP socket on 127.0.0.1.

use crate::helpers::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn exchange(address: std::net::SocketAddr, request: String) -> String {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    answer
}

#[tokio::test]
async fn the_local_server_serves_log_in_over_http() {
    let app = TestApp::with_demo_customer().await;
    let (listener, address) = infra::server::bind(0).await.unwrap();
    tokio::spawn(infra::server::serve(listener, app.gateway.clone()));

    let body = format!(
        r#"{{"email":"{}","password":"{}"}}"#,
        infra::seed::ADMIN_EMAIL,
        infra::seed::ADMIN_PASSWORD
    );
    let answer = exchange(
        address,
        format!(
            "POST /auth/login HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("sessionToken"), "{answer}");

    let answer = exchange(
        address,
        "GET /me HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n".into(),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
}

#[tokio::test]
async fn the_local_server_hands_on_the_tcp_peer_as_the_source_address() {
    let app = TestApp::with_demo_customer().await;
    let (listener, address) = infra::server::bind(0).await.unwrap();
    tokio::spawn(infra::server::serve(listener, app.gateway.clone()));

    let body = format!(
        r#"{{"email":"{}","password":"wrong password"}}"#,
        infra::seed::ADMIN_EMAIL
    );
    let answer = exchange(
        address,
        format!(
            "POST /auth/login HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\nx-forwarded-for: 203.0.113.9\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    // Counted for the peer, 127.0.0.1, whatever a header claims.
    let for_peer = format!("LOGIN#{}#127.0.0.1#", infra::seed::ADMIN_EMAIL);
    assert_eq!(app.failures_counted(&for_peer).await, 1);
    assert_eq!(app.failures_counted("LOGINSRC#127.0.0.1#").await, 1);
}
