//! Every file in `events/` replayed through its function's handler against the demo data, the
//! same files `cargo lambda invoke <function> --data-file events/<file>` sends.

use crate::helpers::TestApp;
use cloudhub::http::AuthorizerContext;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use std::path::Path;

/// What a sample event answers (see `infra/events.tsv`).
enum Expect {
    Status(u16),
    Caller(String),
    Failure(String),
    /// The publisher puts these events on the bus and reports no failure.
    Published(Vec<String>),
    /// The mailer sends this many emails.
    Mailed(usize),
    /// The recorder reports no failure, and counts this many open invitations more.
    Recorded(u32),
}

/// File, function, and what it answers, from `infra/events.tsv`.
fn expectations() -> Vec<(String, String, Expect)> {
    include_str!("../../events.tsv")
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            let [file, function, kind, value] = fields[..] else {
                panic!("events.tsv: not four tab-separated fields: {line}")
            };
            let expect = match kind {
                "status" => Expect::Status(value.parse().unwrap()),
                "caller" => Expect::Caller(value.into()),
                "failure" => Expect::Failure(value.into()),
                "published" => Expect::Published(value.split(',').map(str::to_owned).collect()),
                "mailed" => Expect::Mailed(value.parse().unwrap()),
                "recorded" => Expect::Recorded(value.parse().unwrap()),
                other => panic!("events.tsv: unknown expectation {other}"),
            };
            (file.to_owned(), function.to_owned(), expect)
        })
        .collect()
}

fn events_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../events")
}

#[tokio::test]
async fn every_sample_event_answers_as_its_name_says() {
    for (file, function, expect) in &expectations() {
        let app = TestApp::with_demo_customer().await;
        let payload = std::fs::read_to_string(events_dir().join(file)).unwrap();
        match (function.as_str(), expect) {
            ("publisher", Expect::Published(kinds)) => {
                let event = serde_json::from_str(&payload).unwrap();
                let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
                let bus = publisher::Bus::Local(sender);
                let response = publisher::handle(&bus, lambda_runtime::LambdaEvent::new(event, Default::default()))
                    .await
                    .unwrap();
                assert!(response.batch_item_failures.is_empty(), "{file}: {response:?}");
                let mut published = Vec::new();
                while let Ok(envelope) = receiver.try_recv() {
                    published.push(envelope.detail_type);
                }
                assert_eq!(published, *kinds, "{file}");
            }
            ("recorder", Expect::Recorded(count)) => {
                use crate::helpers::NowForTests as _;
                let event = serde_json::from_str(&payload).unwrap();
                let store = &app.app.store;
                let customer = cloudhub::domain::CustomerNumber::parse(infra::seed::CUSTOMER_NUMBER).unwrap();
                let now = app.clock.now_for_tests();
                let before = cloudhub::invitation_counts::read(store, &customer, now).await.unwrap();
                let response = recorder::handle(store, lambda_runtime::LambdaEvent::new(event, Default::default()))
                    .await
                    .unwrap();
                assert!(response.batch_item_failures.is_empty(), "{file}: {response:?}");
                let after = cloudhub::invitation_counts::read(store, &customer, now).await.unwrap();
                assert_eq!(
                    after.pending + after.expired,
                    before.pending + before.expired + count,
                    "{file}: {before:?} → {after:?}"
                );
            }
            ("mailer", Expect::Mailed(count)) => {
                let event = serde_json::from_str(&payload).unwrap();
                let dir =
                    std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("events-{}", ulid::Ulid::new()));
                let mailer = mailer::Mailer {
                    store: app.app.store.clone(),
                    clock: app.app.clock.clone(),
                    links: app.app.link_keys().unwrap().clone(),
                    outbox: mailer::Outbox::Folder {
                        dir: dir.clone(),
                        sender: "no-reply@cloudhub.localhost".into(),
                    },
                    portal_base_url: "https://portal.example".into(),
                };
                let outcome = mailer::handle(&mailer, lambda_runtime::LambdaEvent::new(event, Default::default()))
                    .await
                    .unwrap();
                assert_eq!(outcome.sent, *count, "{file}: {outcome:?}");
                assert_eq!(infra::mailbox::list(&dir).len(), *count, "{file}");
                let _ = std::fs::remove_dir_all(&dir);
            }
            ("authorizer", expect) => {
                let event: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_str(&payload).unwrap();
                let verdict = authorizer::authorize(&app.app, event).await;
                assert!(verdict.is_authorized);
                let context = verdict.context;
                match expect {
                    Expect::Caller(user_id) => assert_eq!(context.user_id.as_deref(), Some(user_id.as_str()), "{file}"),
                    Expect::Failure(code) => assert_eq!(
                        context,
                        AuthorizerContext {
                            failure: Some(code.clone()),
                            ..Default::default()
                        },
                        "{file}"
                    ),
                    _ => unreachable!(),
                }
            }
            (function, Expect::Status(status)) => {
                let request = lambda_http::request::from_str(&payload).unwrap();
                let response = match function {
                    "login" => login::handle(&app.app, request).await,
                    "logout" => logout::handle(&app.app, request).await,
                    "me" => me::handle(&app.app, request).await,
                    "invite" => invite::handle(&app.app, request).await,
                    "list" => list::handle(&app.app, request).await,
                    "resend" => resend::handle(&app.app, request).await,
                    "delete" => delete::handle(&app.app, request).await,
                    "quota" => quota::handle(&app.app, request).await,
                    "roles" => roles::handle(&app.app, request).await,
                    "users" => users::handle(&app.app, request).await,
                    "accept" => accept::handle(&app.app, request).await,
                    "leave-customer" => leave_customer::handle(&app.app, request).await,
                    "not-found" => not_found::handle(request).await,
                    other => panic!("no handler for {other}"),
                }
                .unwrap_or_else(cloudhub::http::ApiError::into_response);
                assert_eq!(response.status().as_u16(), *status, "{file}: {:?}", response.body());
            }
            _ => panic!("{file}: no such expectation for {function}"),
        }
    }
}

#[test]
fn every_event_file_has_an_expectation_and_every_function_an_event() {
    let mut files: Vec<String> = std::fs::read_dir(events_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut expected: Vec<String> = expectations().into_iter().map(|(file, _, _)| file).collect();
    expected.sort();
    assert_eq!(files, expected);

    let functions: Vec<String> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for function in functions {
        assert!(
            expectations()
                .iter()
                .any(|(file, f, _)| *f == function && file.starts_with(&function)),
            "functions/{function} has no sample event named after it"
        );
    }
}
