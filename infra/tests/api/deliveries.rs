//! Test support for the emails' path: the local stream poller, the mailer as the tests build
//! it, delivering an event as EventBridge would, and a port where nothing listens.

use crate::helpers::TestApp;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use infra::delivery::{StreamPoller, local_streams_client};
use lambda_runtime::{Context, LambdaEvent};
use mailer::{Mailer, Outbox, Outcome};
use serde_json::Value;

pub(crate) const PORTAL: &str = "https://portal.example";

pub(crate) async fn poller(app: &TestApp) -> StreamPoller {
    StreamPoller::new(
        app.app.store.client(),
        local_streams_client(&cloudhub::testing::endpoint()),
        &app.app.store.tables().data,
    )
    .await
    .unwrap()
}

pub(crate) fn mailer(app: &TestApp, outbox: Outbox) -> Mailer {
    Mailer {
        store: app.app.store.clone(),
        clock: app.app.clock.clone(),
        links: app.app.link_keys().unwrap().clone(),
        outbox,
        portal_base_url: PORTAL.into(),
    }
}

pub(crate) async fn deliver(mailer: &Mailer, envelope: &Value) -> Result<Outcome, lambda_runtime::Error> {
    let event: EventBridgeEvent = serde_json::from_value(envelope.clone()).unwrap();
    mailer::handle(mailer, LambdaEvent::new(event, Context::default())).await
}

pub(crate) fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
