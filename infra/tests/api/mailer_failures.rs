//! The mailer when some emails of an event fail: every recipient is still tried, the invocation
//! fails so that Lambda retries it, and `EmailsSent` counts what went out, also when giving up
//! the failed email's claim fails as well.

use crate::deliveries::{deliver, mailer, poller};
use crate::helpers::TestApp;
use crate::moto::{Moto, SentEmail};
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use cloudhub::store::Store;
use infra::seed;
use mailer::Outbox;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

fn unique(name: &str) -> String {
    format!("{name}.{}@example.com", ulid::Ulid::new().to_string().to_lowercase())
}

/// SES refusing every email to the first recipient an email was tried for.
#[derive(Debug, Default, Clone)]
struct RefuseFirstRecipient {
    refused: Arc<Mutex<Option<String>>>,
}

impl RefuseFirstRecipient {
    fn refused(&self) -> Option<String> {
        self.refused.lock().unwrap().clone()
    }
}

impl Intercept for RefuseFirstRecipient {
    fn name(&self) -> &'static str {
        "RefuseFirstRecipient"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body: serde_json::Value =
            serde_json::from_slice(context.request().body().bytes().unwrap_or_default()).unwrap_or_default();
        let to = body["Destination"]["ToAddresses"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let mut refused = self.refused.lock().unwrap();
        if *refused.get_or_insert_with(|| to.clone()) == to {
            Err(format!("SES refuses {to} (injected)").into())
        } else {
            Ok(())
        }
    }
}

/// DynamoDB failing every DeleteItem: the mailer's release of a claim.
#[derive(Debug)]
struct FailDeleteItem;

impl Intercept for FailDeleteItem {
    fn name(&self) -> &'static str {
        "FailDeleteItem"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let target = context.request().headers().get("x-amz-target").unwrap_or_default();
        if target.ends_with(".DeleteItem") {
            Err("DynamoDB fails DeleteItem (injected)".into())
        } else {
            Ok(())
        }
    }
}

fn member_left_emails(sent: &[SentEmail], member: &str) -> Vec<String> {
    sent.iter()
        .filter(|email| email.html.contains(member))
        .flat_map(|email| email.to.clone())
        .collect()
}

fn emails_sent_counted(metrics: &[serde_json::Value]) -> Vec<u64> {
    metrics
        .iter()
        .filter_map(|document| document["EmailsSent"].as_u64())
        .collect()
}

#[tokio::test]
async fn a_failed_email_whose_claim_cannot_be_released_does_not_stop_the_other_recipients() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let mut poller = poller(&app).await;
    // Three admins are told when Anna leaves.
    let (second, third) = (unique("second-admin"), unique("third-admin"));
    app.member_of_demo(&second, &["Administrator"]).await;
    app.member_of_demo(&third, &["Administrator"]).await;
    let admins: BTreeSet<String> = [seed::ADMIN_EMAIL.to_owned(), second, third].into();
    let anna = unique("anna");
    let member = app.member_of_demo(&anna, &[]).await;
    let left = member.leave(seed::CUSTOMER_NUMBER, seed::CUSTOMER_NUMBER).await;
    assert_eq!(left.status, 200, "{left:?}");
    poller.poll_once(&moto.bus()).await.unwrap();
    let events = moto.received_events().await;
    let event = events
        .iter()
        .find(|e| e["detail-type"] == "MemberLeft")
        .unwrap_or_else(|| panic!("no MemberLeft event: {events:#?}"));

    // SES refuses the first admin tried, and the claim on that email cannot be given up.
    let refusing = RefuseFirstRecipient::default();
    let mut faulty = mailer(
        &app,
        Outbox::Ses {
            client: aws_sdk_sesv2::Client::from_conf(
                moto.ses.config().to_builder().interceptor(refusing.clone()).build(),
            ),
            sender: moto.sender.clone(),
        },
    );
    faulty.store = Store::new(
        aws_sdk_dynamodb::Client::from_conf(
            app.app
                .store
                .client()
                .config()
                .to_builder()
                .interceptor(FailDeleteItem)
                .build(),
        ),
        app.app.store.tables().clone(),
    );
    cloudhub::metrics::capture::start();
    let failed = deliver(&faulty, event).await;
    assert!(
        failed.is_err(),
        "the invocation fails, so that Lambda retries it: {failed:?}"
    );
    let refused = refusing.refused().expect("an email was tried");
    assert!(admins.contains(&refused), "{refused}");

    // The other admins got their email, and only theirs counts.
    let others: BTreeSet<String> = admins.iter().filter(|a| **a != refused).cloned().collect();
    let sent: BTreeSet<String> = member_left_emails(&moto.sent_emails().await, &anna)
        .into_iter()
        .collect();
    assert_eq!(sent, others, "every recipient after the failed one is still tried");
    assert_eq!(emails_sent_counted(&cloudhub::metrics::capture::take()), [2]);

    // The claim that was not given up holds the refused email back until it lapses; then the
    // retry sends that one email and only it.
    let healthy = mailer(&app, moto.outbox());
    cloudhub::metrics::capture::start();
    assert!(deliver(&healthy, event).await.is_err(), "the claim still holds");
    app.clock
        .advance(cloudhub::deliveries::CLAIM_FOR + time::Duration::seconds(1));
    let outcome = deliver(&healthy, event).await.unwrap();
    assert_eq!((outcome.sent, outcome.already_sent), (1, 2));
    let mut to_each = member_left_emails(&moto.sent_emails().await, &anna);
    to_each.sort();
    assert_eq!(to_each, admins.into_iter().collect::<Vec<_>>(), "each admin once");
    // The attempt that sent nothing counts nothing: 2 + 1, the emails that went out.
    assert_eq!(emails_sent_counted(&cloudhub::metrics::capture::take()), [1]);
}
