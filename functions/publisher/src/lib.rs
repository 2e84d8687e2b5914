//! The publisher: reads the data table's stream and puts one domain event on the CloudHub bus per
//! change that owes an email ([`cloudhub::events::from_change`]).
//!
//! Nothing is lost between a write and its email: the stream holds each record until a batch
//! succeeds. Entries that `PutEvents` refuses (or a bus that cannot be reached) are retried a few
//! times within the invocation; what still fails is reported as a batch item failure naming the
//! first record not published, so Lambda retries the batch from there (bisecting it on repeated
//! errors) and, after its retry limit, hands the records to the on-failure destination. Records
//! after the failed one may be published twice; the mailer sends one email per event key.

use aws_lambda_events::event::dynamodb;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use aws_sdk_eventbridge::error::DisplayErrorContext;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use cloudhub::events::{self, DomainEvent};
use lambda_runtime::{Error, LambdaEvent};
use std::time::Duration;

/// `PutEvents` takes at most ten entries.
pub const MAX_ENTRIES: usize = 10;
/// Attempts per entry within one invocation, before the record is reported failed.
pub const ATTEMPTS: u32 = 4;
/// The pause before the second attempt; doubled before each further one.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);

pub use cloudhub::stream::Change;

/// Where events go.
#[derive(Debug, Clone)]
pub enum Bus {
    /// A custom EventBridge bus.
    EventBridge {
        /// The client, built once per cold start.
        client: aws_sdk_eventbridge::Client,
        /// The bus's name or ARN.
        bus_name: String,
    },
    /// The local stack: each event, in EventBridge's envelope, to the local mailer.
    Local(tokio::sync::mpsc::UnboundedSender<EventBridgeEvent>),
}

impl Bus {
    /// The EventBridge bus named by `EVENT_BUS_NAME`, with the SDK configured from Lambda's
    /// environment ([`cloudhub::aws::sdk_config`]).
    pub fn from_env() -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let bus_name =
            std::env::var("EVENT_BUS_NAME").context("The environment variable EVENT_BUS_NAME is not set.")?;
        let config = cloudhub::aws::sdk_config(cloudhub::aws::Service::EventBridge)?;
        Ok(Self::EventBridge {
            client: aws_sdk_eventbridge::Client::new(&config),
            bus_name,
        })
    }

    /// Puts up to [`MAX_ENTRIES`] events; says for each whether the bus took it.
    async fn put(&self, batch: &[&DomainEvent]) -> Vec<bool> {
        match self {
            Self::EventBridge { client, bus_name } => {
                let entries = batch
                    .iter()
                    .map(|event| {
                        PutEventsRequestEntry::builder()
                            .event_bus_name(bus_name)
                            .source(events::SOURCE)
                            .detail_type(event.detail_type())
                            .detail(event.detail())
                            .build()
                    })
                    .collect();
                match client.put_events().set_entries(Some(entries)).send().await {
                    Ok(output) => {
                        let results = output.entries();
                        (0..batch.len())
                            .map(|i| match results.get(i) {
                                Some(result) if result.error_code().is_none() && result.event_id().is_some() => true,
                                Some(result) => {
                                    tracing::warn!(
                                        event = batch[i].event_key(),
                                        code = result.error_code().unwrap_or_default(),
                                        message = result.error_message().unwrap_or_default(),
                                        "EventBridge refused an event"
                                    );
                                    false
                                }
                                None => false,
                            })
                            .collect()
                    }
                    Err(error) => {
                        tracing::warn!(error = %DisplayErrorContext(&error), "PutEvents failed");
                        vec![false; batch.len()]
                    }
                }
            }
            Self::Local(sender) => batch.iter().map(|event| sender.send(envelope(event)).is_ok()).collect(),
        }
    }
}

/// The envelope EventBridge delivers an event in (for the local bus).
pub fn envelope(event: &DomainEvent) -> EventBridgeEvent {
    let mut envelope = EventBridgeEvent::default();
    envelope.version = Some("0".into());
    envelope.id = Some(ulid::Ulid::new().to_string());
    envelope.detail_type = event.detail_type().into();
    envelope.source = events::SOURCE.into();
    envelope.detail = serde_json::from_str(&event.detail()).expect("event details are JSON");
    envelope
}

/// Publishes the events `changes` owe, in order. Returns the sequence number of the first record
/// whose event could not be published (or whose item cannot be read), if any: that record and
/// every later one must be delivered again.
pub async fn publish(bus: &Bus, changes: Vec<Change>) -> Option<String> {
    let mut sequence_numbers = Vec::with_capacity(changes.len());
    let mut pending: Vec<(usize, DomainEvent)> = Vec::new();
    let mut unreadable = None;
    for (position, change) in changes.into_iter().enumerate() {
        match events::from_change(change.old, change.new) {
            Ok(Some(event)) => pending.push((position, event)),
            Ok(None) => {}
            Err(error) => {
                tracing::error!(
                    sequence_number = change.sequence_number,
                    error = format!("{error:#}"),
                    "A changed item cannot be read; reporting its record as failed"
                );
                unreadable = Some(position);
                sequence_numbers.push(change.sequence_number);
                break;
            }
        }
        sequence_numbers.push(change.sequence_number);
    }
    if sequence_numbers.is_empty() {
        return None;
    }
    let owed = pending.len();
    let mut backoff = FIRST_BACKOFF;
    for attempt in 1..=ATTEMPTS {
        if pending.is_empty() {
            break;
        }
        if attempt > 1 {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
        let mut refused = Vec::new();
        for chunk in pending.chunks(MAX_ENTRIES) {
            let batch: Vec<&DomainEvent> = chunk.iter().map(|(_, event)| event).collect();
            let taken = bus.put(&batch).await;
            refused.extend(
                chunk
                    .iter()
                    .zip(taken)
                    .filter(|(_, taken)| !taken)
                    .map(|(entry, _)| entry.clone()),
            );
        }
        pending = refused;
    }
    let failed = pending
        .first()
        .map(|(position, _)| *position)
        .into_iter()
        .chain(unreadable)
        .min();
    tracing::info!(
        records = sequence_numbers.len(),
        events = owed,
        unpublished = pending.len(),
        "published the events a batch of changes owes"
    );
    failed.map(|position| sequence_numbers[position].clone())
}

/// The Lambda handler: a batch of stream records in, the first unpublished one reported back.
pub async fn handle(bus: &Bus, event: LambdaEvent<dynamodb::Event>) -> Result<DynamoDbEventResponse, Error> {
    let changes = event
        .payload
        .records
        .into_iter()
        .map(|record| Change {
            sequence_number: record.change.sequence_number.unwrap_or_default(),
            old: Some(record.change.old_image),
            new: Some(record.change.new_image),
        })
        .collect();
    let mut response = DynamoDbEventResponse::default();
    if let Some(sequence_number) = publish(bus, changes).await {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence_number);
        response.batch_item_failures.push(failure);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(sequence_number: &str, new: serde_json::Value) -> Change {
        Change {
            sequence_number: sequence_number.into(),
            old: None,
            new: Some(serde_dynamo::to_item(new).unwrap()),
        }
    }

    fn user(id: &str) -> serde_json::Value {
        json!({ "PK": format!("USER#{id}"), "SK": "USER", "id": id, "email": "anna@example.com", "language": "en" })
    }

    #[tokio::test]
    async fn an_unreadable_item_stops_the_batch_at_its_record_and_what_came_before_is_published() {
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let bus = Bus::Local(sender);
        let changes = vec![
            change("100", json!({ "PK": "QUOTA#x#2026-11-24", "SK": "QUOTA", "sent": 1 })),
            change("200", user("01KAWDEM0ADM1N000000000002")),
            // An invitation without its link nonce cannot become an event.
            change(
                "300",
                json!({ "PK": "CUSTOMER#100234", "SK": "INVITATION#01KAWDEM0ADM1N000000000001" }),
            ),
            change("400", user("01KAWDEM0ADM1N000000000003")),
        ];
        assert_eq!(publish(&bus, changes).await.as_deref(), Some("300"));
        let published = receiver.try_recv().unwrap();
        assert_eq!(published.detail_type, "UserRegistered");
        assert_eq!(published.detail["userId"], "01KAWDEM0ADM1N000000000002");
        assert!(receiver.try_recv().is_err(), "nothing after the unreadable record");
    }

    #[tokio::test]
    async fn when_nothing_can_be_published_the_first_record_owing_an_event_is_reported() {
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        drop(receiver);
        let bus = Bus::Local(sender);
        let changes = vec![
            change("100", json!({ "PK": "QUOTA#x#2026-11-24", "SK": "QUOTA", "sent": 1 })),
            change("200", user("01KAWDEM0ADM1N000000000002")),
            change("300", user("01KAWDEM0ADM1N000000000003")),
        ];
        assert_eq!(publish(&bus, changes).await.as_deref(), Some("200"));
        // A batch that owes nothing succeeds at once.
        let nothing = vec![change("100", json!({ "PK": "QUOTA#x#2026-11-24", "SK": "QUOTA" }))];
        assert_eq!(publish(&bus, nothing).await, None);
    }
}
