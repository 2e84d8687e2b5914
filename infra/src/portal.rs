//! The reference portal (`infra/portal/`, built into `infra/portal/dist/`), served by the local
//! stack beside the API: `GET /` is its page, `GET /_portal/{file}` its script and styles. Its
//! screens live in the URL's fragment (`/#/invitations/{token}`), which browsers never send, so
//! no server sees a link's token; [`PORTAL_BASE_URL_PATH`] is what email links start with.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use std::path::Path;

/// What the local stack's `PORTAL_BASE_URL` ends with: links are `{base}/invitations/{token}`,
/// i.e. `http://127.0.0.1:3000/#/invitations/{token}`.
pub const PORTAL_BASE_URL_PATH: &str = "/#";
/// The path prefix of the portal's files.
pub const FILES_PREFIX: &str = "/_portal/";

fn response(status: StatusCode, content_type: &str, body: Body) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("cache-control", "no-store")
        .body(body)
        .expect("a valid response")
}

fn not_built(dir: &Path) -> Response<Body> {
    response(
        StatusCode::SERVICE_UNAVAILABLE,
        "text/plain; charset=utf-8",
        Body::Text(format!(
            "The portal is not built in {}: run `infra/portal/build` (infra/dev does it when npm is there).\n",
            dir.display()
        )),
    )
}

fn redirect(location: String) -> Response<Body> {
    Response::builder()
        .status(StatusCode::FOUND)
        .header("location", location)
        .header("cache-control", "no-store")
        .body(Body::Empty)
        .expect("a valid response")
}

/// The template of a portal path, for the request log (paths may carry invitation tokens).
pub fn page_template(path: &str) -> Option<&'static str> {
    if path == "/" {
        Some("/")
    } else if path.starts_with("/_portal/invitations/") {
        Some("/_portal/invitations/{token}")
    } else if path == "/_portal" || path.starts_with(FILES_PREFIX) {
        Some("/_portal/{file}")
    } else {
        None
    }
}

/// The answer for `path` if it is one of the portal's: its page, its files, and redirects from
/// the links of earlier local stacks (`/_portal/invitations/{token}`).
pub fn answer(dir: &Path, path: &str) -> Option<Response<Body>> {
    if path == "/" {
        return Some(match std::fs::read_to_string(dir.join("index.html")) {
            Ok(page) => response(StatusCode::OK, "text/html; charset=utf-8", Body::Text(page)),
            Err(_) => not_built(dir),
        });
    }
    if let Some(token) = path.strip_prefix("/_portal/invitations/") {
        return Some(redirect(format!("/#/invitations/{token}")));
    }
    if path == "/_portal" || path == FILES_PREFIX {
        return Some(redirect("/".into()));
    }
    let file = path.strip_prefix(FILES_PREFIX)?;
    let content_type = match file {
        "app.js" => "text/javascript; charset=utf-8",
        "app.js.map" => "application/json",
        "app.css" => "text/css; charset=utf-8",
        _ => {
            return Some(response(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                Body::Text("Not found.\n".into()),
            ));
        }
    };
    Some(match std::fs::read(dir.join(file)) {
        Ok(bytes) => response(StatusCode::OK, content_type, Body::Binary(bytes)),
        Err(_) => not_built(dir),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_and_its_files_are_served_and_old_links_lead_to_the_page() {
        let dir = std::env::temp_dir().join(format!("portal-{}", ulid::Ulid::new()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(answer(&dir, "/").unwrap().status(), 503, "not built yet");
        std::fs::write(dir.join("index.html"), "<!doctype html>").unwrap();
        std::fs::write(dir.join("app.js"), "export {}").unwrap();
        let page = answer(&dir, "/").unwrap();
        assert_eq!(
            (page.status().as_u16(), &page.headers()["content-type"]),
            (200, &"text/html; charset=utf-8".parse().unwrap())
        );
        let script = answer(&dir, "/_portal/app.js").unwrap();
        assert_eq!(script.headers()["content-type"], "text/javascript; charset=utf-8");
        assert_eq!(answer(&dir, "/_portal/../Cargo.toml").unwrap().status(), 404);
        let old = answer(&dir, "/_portal/invitations/dev.abc").unwrap();
        assert_eq!(
            (old.status().as_u16(), &old.headers()["location"]),
            (302, &"/#/invitations/dev.abc".parse().unwrap())
        );
        assert!(answer(&dir, "/me").is_none() && answer(&dir, "/invitations/x").is_none());
        assert_eq!(
            page_template("/_portal/invitations/dev.abc"),
            Some("/_portal/invitations/{token}")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
