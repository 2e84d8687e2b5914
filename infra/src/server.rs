//! The local stack's HTTP server: hyper on a loopback address, every request to the [`Gateway`]
//! but the local pages beside the API (the mailbox, the reference portal).

use crate::gateway::{Gateway, IncomingRequest};
use cloudhub::http::{ApiError, MAX_BODY_BYTES};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::Body;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;

/// API Gateway's own limit would be 10 MB; the functions refuse anything over 16 KiB, and the
/// local server stops reading well before memory could matter.
const READ_LIMIT: usize = 64 * MAX_BODY_BYTES;

/// The local pages served beside the API.
#[derive(Debug, Clone, Default)]
pub struct LocalPages {
    /// The mailbox folder ([`crate::mailbox`]).
    pub mailbox_dir: Option<PathBuf>,
    /// The built reference portal ([`crate::portal`]).
    pub portal_dir: Option<PathBuf>,
}

/// Serves the gateway on `listener` until the process ends.
pub async fn serve(listener: TcpListener, gateway: Gateway) -> anyhow::Result<()> {
    serve_with_pages(listener, gateway, LocalPages::default()).await
}

/// Serves the gateway, and with a mailbox folder also the local pages of [`crate::mailbox`].
pub async fn serve_with_mailbox(
    listener: TcpListener,
    gateway: Gateway,
    mailbox_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    serve_with_pages(
        listener,
        gateway,
        LocalPages {
            mailbox_dir,
            portal_dir: None,
        },
    )
    .await
}

/// Serves the gateway and the local pages.
pub async fn serve_with_pages(listener: TcpListener, gateway: Gateway, pages: LocalPages) -> anyhow::Result<()> {
    let pages = Arc::new(pages);
    loop {
        let (stream, peer) = listener.accept().await?;
        let gateway = gateway.clone();
        let pages = pages.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let gateway = gateway.clone();
                let pages = pages.clone();
                async move { Ok::<_, std::convert::Infallible>(answer(&gateway, &pages, peer, request).await) }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %error, "connection ended with an error");
            }
        });
    }
}

/// Binds a loopback address.
pub async fn bind(port: u16) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let address = listener.local_addr()?;
    Ok((listener, address))
}

/// A local page's answer, if `path` is one.
fn local_page(pages: &LocalPages, method: &hyper::Method, path: &str) -> Option<lambda_http::Response<Body>> {
    if method != hyper::Method::GET {
        return None;
    }
    let mailbox = pages
        .mailbox_dir
        .as_deref()
        .and_then(|dir| crate::mailbox::answer(dir, path));
    mailbox.or_else(|| {
        pages
            .portal_dir
            .as_deref()
            .and_then(|dir| crate::portal::answer(dir, path))
    })
}

fn local_page_template(pages: &LocalPages, path: &str) -> Option<&'static str> {
    let mailbox = pages
        .mailbox_dir
        .as_ref()
        .and_then(|_| crate::mailbox::page_template(path));
    mailbox.or_else(|| {
        pages
            .portal_dir
            .as_ref()
            .and_then(|_| crate::portal::page_template(path))
    })
}

async fn answer(
    gateway: &Gateway,
    pages: &LocalPages,
    peer: SocketAddr,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let started = std::time::Instant::now();
    let local_page = local_page(pages, &parts.method, parts.uri.path());
    let collected = Limited::new(body, READ_LIMIT).collect().await;
    let response = match (local_page, collected) {
        (Some(page), _) => page,
        (None, Ok(collected)) => {
            let incoming = IncomingRequest {
                method: parts.method.clone(),
                path_and_query: parts
                    .uri
                    .path_and_query()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "/".into()),
                headers: parts.headers,
                body: collected.to_bytes().to_vec(),
                source_ip: peer.ip(),
            };
            gateway.handle(incoming).await
        }
        (None, Err(_)) => ApiError::BodyTooLarge.into_response(),
    };
    // The route's template, never the path: paths carry invitation tokens.
    let route = gateway
        .route_key(&parts.method, parts.uri.path())
        .or_else(|| local_page_template(pages, parts.uri.path()).map(|page| format!("{} {page}", parts.method)))
        .unwrap_or_else(|| format!("{} (no route)", parts.method));
    tracing::info!(
        route,
        status = response.status().as_u16(),
        duration_ms = started.elapsed().as_millis() as u64,
        "request"
    );
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}
