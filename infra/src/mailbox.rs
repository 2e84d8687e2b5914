//! The local mailbox beside the API: every email the local mailer wrote into its folder, newest
//! first, with the HTML as sent so that its buttons lead to the reference portal
//! ([`crate::portal`]).
//!
//! - `GET /_mailbox`: the list; `GET /_mailbox/{id}`: one email's HTML; `/_mailbox/{id}.txt`: its
//!   headers and text.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Response};
use std::path::Path;

/// The mailbox's path.
pub const MAILBOX_PREFIX: &str = "/_mailbox";

/// One email in the folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// Its file stem (a ULID: sorts by time).
    pub id: String,
    /// `From:`.
    pub from: String,
    /// `To:`.
    pub to: String,
    /// `Subject:`.
    pub subject: String,
    /// `Date:`.
    pub date: String,
    /// The plain-text body.
    pub text: String,
}

fn is_id(id: &str) -> bool {
    id.len() == 26 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Reads one email's headers and text.
pub fn read(dir: &Path, id: &str) -> Option<Mail> {
    if !is_id(id) {
        return None;
    }
    let content = std::fs::read_to_string(dir.join(format!("{id}.txt"))).ok()?;
    let (headers, text) = content.split_once("\n\n")?;
    let header = |name: &str| {
        headers
            .lines()
            .find_map(|line| line.strip_prefix(name).and_then(|rest| rest.strip_prefix(": ")))
            .unwrap_or_default()
            .to_owned()
    };
    Some(Mail {
        id: id.to_owned(),
        from: header("From"),
        to: header("To"),
        subject: header("Subject"),
        date: header("Date"),
        text: text.to_owned(),
    })
}

/// Every email in the folder, newest first.
pub fn list(dir: &Path) -> Vec<Mail> {
    let mut ids: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.strip_suffix(".txt").map(str::to_owned))
        .collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids.iter().filter_map(|id| read(dir, id)).collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("cache-control", "no-store")
        .body(Body::Text(body))
        .expect("a valid response")
}

fn html(body: String) -> Response<Body> {
    page(StatusCode::OK, "text/html; charset=utf-8", body)
}

fn not_found() -> Response<Body> {
    page(
        StatusCode::NOT_FOUND,
        "text/plain; charset=utf-8",
        "Not found.\n".into(),
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem}\
    table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.4rem;border-bottom:1px solid #ddd}\
    input,button{font:inherit;padding:.3rem .6rem}pre{background:#f4f4f4;padding:1rem;white-space:pre-wrap}";

fn mailbox_page(dir: &Path) -> Response<Body> {
    let mails = list(dir);
    let rows: String = mails
        .iter()
        .map(|mail| {
            format!(
                "<tr><td>{}</td><td>{}</td><td><a href=\"{MAILBOX_PREFIX}/{id}\">{}</a></td><td><a href=\"{MAILBOX_PREFIX}/{id}.txt\">text</a></td></tr>",
                escape(&mail.date),
                escape(&mail.to),
                escape(&mail.subject),
                id = mail.id,
            )
        })
        .collect();
    html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>CloudHub local mailbox</title><style>{STYLE}</style></head>\
         <body><h1>Local mailbox</h1><p>{} emails in <code>{}</code>, newest first. The list does not refresh by itself. \
         <a href=\"/\">The portal</a></p>\
         <table><tr><th>Date</th><th>To</th><th>Subject</th><th></th></tr>{rows}</table></body></html>",
        mails.len(),
        escape(&dir.display().to_string()),
    ))
}

/// The template of a mailbox page's path (`/_mailbox/{id}`), for logs.
pub fn page_template(path: &str) -> Option<&'static str> {
    if path == MAILBOX_PREFIX || path == "/_mailbox/" {
        Some("/_mailbox")
    } else if path.starts_with("/_mailbox/") {
        Some("/_mailbox/{id}")
    } else {
        None
    }
}

/// The page for `path`, if it is one of the local pages.
pub fn answer(mailbox_dir: &Path, path: &str) -> Option<Response<Body>> {
    if path == MAILBOX_PREFIX || path == "/_mailbox/" {
        return Some(mailbox_page(mailbox_dir));
    }
    if let Some(rest) = path.strip_prefix("/_mailbox/") {
        return Some(match rest.strip_suffix(".txt") {
            Some(id) => read(mailbox_dir, id).map_or_else(not_found, |mail| {
                page(
                    StatusCode::OK,
                    "text/plain; charset=utf-8",
                    format!(
                        "From: {}\nTo: {}\nSubject: {}\nDate: {}\n\n{}",
                        mail.from, mail.to, mail.subject, mail.date, mail.text
                    ),
                )
            }),
            None if is_id(rest) => {
                std::fs::read_to_string(mailbox_dir.join(format!("{rest}.html"))).map_or_else(|_| not_found(), html)
            }
            None => not_found(),
        });
    }
    None
}
