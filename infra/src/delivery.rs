//! The data table's stream on the local stack: what Lambda's stream mappings and EventBridge do
//! in AWS.
//!
//! A [`StreamPoller`] reads the data table's stream from DynamoDB Local (aws-sdk-dynamodbstreams)
//! and hands each batch of records to a [`Consumer`], like a stream mapping: the publisher's own
//! [`publisher::publish`], or the recorder's [`cloudhub::recorder::record`]. When a record is
//! not handled, the poller resumes at that record next time. Each consumer has its own poller,
//! as each function has its own mapping. With [`publisher::Bus::Local`], each event goes in EventBridge's envelope to the
//! mailer's own [`mailer::handle`], retried twice on failure like an asynchronous invocation.

use anyhow::Context as _;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use cloudhub::store::Store;
use lambda_runtime::{Context, LambdaEvent};
use publisher::{Bus, Change};
use std::collections::HashMap;
use std::time::Duration;

/// What a stream mapping hands records to.
pub trait Consumer {
    /// Handles `changes` in order; the sequence number of the first one not handled, if any
    /// (it and every later one are handed over again).
    fn consume(&self, changes: Vec<Change>) -> impl Future<Output = Option<String>> + Send;
}

/// The publisher: events on the bus.
impl Consumer for Bus {
    fn consume(&self, changes: Vec<Change>) -> impl Future<Output = Option<String>> + Send {
        publisher::publish(self, changes)
    }
}

/// The recorder: the table's derived items (the invitation counters).
#[derive(Clone, Debug)]
pub struct Recorder(pub Store);

impl Consumer for Recorder {
    async fn consume(&self, changes: Vec<Change>) -> Option<String> {
        cloudhub::recorder::record(&self.0, &changes).await
    }
}

/// How often the local stack looks at the stream.
pub const POLL_EVERY: Duration = Duration::from_millis(200);

/// A DynamoDB Streams client for a local endpoint, with dummy credentials.
pub fn local_streams_client(endpoint: &str) -> aws_sdk_dynamodbstreams::Client {
    use aws_sdk_dynamodbstreams::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("eu-central-1"))
        .credentials_provider(Credentials::new("dummy", "dummy", None, None, "local"))
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(config)
}

enum Position {
    /// Read on from here.
    At(String),
    /// The shard is closed and read to its end.
    Done,
}

/// Reads one table's stream, every shard from its oldest record (parents before children).
pub struct StreamPoller {
    client: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    shards: HashMap<String, Position>,
}

/// What one poll did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Polled {
    /// Records read (including any read again after a failure).
    pub records: usize,
    /// Whether some record's event was not published (it is read again next time).
    pub failed: bool,
}

impl StreamPoller {
    /// A poller of `table`'s stream (the table must have one).
    pub async fn new(
        dynamodb: &aws_sdk_dynamodb::Client,
        client: aws_sdk_dynamodbstreams::Client,
        table: &str,
    ) -> anyhow::Result<Self> {
        let described = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .with_context(|| format!("Failed to describe the table {table}."))?;
        let stream_arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .with_context(|| format!("The table {table} has no stream."))?
            .to_owned();
        Ok(Self {
            client,
            stream_arn,
            shards: HashMap::new(),
        })
    }

    async fn iterator(&self, shard: &str, kind: ShardIteratorType, at: Option<String>) -> anyhow::Result<String> {
        self.client
            .get_shard_iterator()
            .stream_arn(&self.stream_arn)
            .shard_id(shard)
            .shard_iterator_type(kind)
            .set_sequence_number(at)
            .send()
            .await
            .context("Failed to get a shard iterator.")?
            .shard_iterator
            .context("No shard iterator was returned.")
    }

    /// Reads what is new and hands it to `consumer` (the publisher's [`Bus`], the [`Recorder`]).
    pub async fn poll_once(&mut self, consumer: &impl Consumer) -> anyhow::Result<Polled> {
        let mut shards = Vec::new();
        let mut start = None;
        loop {
            let described = self
                .client
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(start.take())
                .send()
                .await
                .context("Failed to describe the stream.")?;
            let description = described.stream_description.context("The stream has no description.")?;
            shards.extend(description.shards.unwrap_or_default());
            match description.last_evaluated_shard_id {
                Some(last) => start = Some(last),
                None => break,
            }
        }
        let listed: std::collections::HashSet<&str> = shards.iter().filter_map(|s| s.shard_id()).collect();
        let mut polled = Polled::default();
        for shard in &shards {
            let id = shard.shard_id().unwrap_or_default().to_owned();
            let parent_pending = shard.parent_shard_id().is_some_and(|parent| {
                listed.contains(parent) && !matches!(self.shards.get(parent), Some(Position::Done))
            });
            if parent_pending {
                continue;
            }
            let iterator = match self.shards.get(&id) {
                Some(Position::Done) => continue,
                Some(Position::At(iterator)) => iterator.clone(),
                None => self.iterator(&id, ShardIteratorType::TrimHorizon, None).await?,
            };
            let output = match self.client.get_records().shard_iterator(iterator).send().await {
                Ok(output) => output,
                Err(error) => {
                    // An expired or otherwise unusable iterator: start the shard over next time
                    // (what was delivered before is not sent twice; the mailer remembers).
                    self.shards.remove(&id);
                    return Err(error).context("Failed to read stream records.");
                }
            };
            let changes: Vec<Change> = output
                .records()
                .iter()
                .filter_map(|record| record.dynamodb())
                .map(|change| Change {
                    sequence_number: change.sequence_number().unwrap_or_default().to_owned(),
                    old: change.old_image().cloned().map(serde_dynamo::Item::from),
                    new: change.new_image().cloned().map(serde_dynamo::Item::from),
                })
                .collect();
            polled.records += changes.len();
            let position = match consumer.consume(changes).await {
                Some(failed) => {
                    polled.failed = true;
                    Position::At(
                        self.iterator(&id, ShardIteratorType::AtSequenceNumber, Some(failed))
                            .await?,
                    )
                }
                None => output.next_shard_iterator.map_or(Position::Done, Position::At),
            };
            self.shards.insert(id, position);
        }
        Ok(polled)
    }
}

/// Asynchronous invocations are tried three times in all.
const MAILER_ATTEMPTS: u32 = 3;

/// Starts the local stack's recorder: polls `poller` and hands every record to the recorder.
pub fn spawn_recorder(mut poller: StreamPoller, store: Store) -> tokio::task::JoinHandle<()> {
    let recorder = Recorder(store);
    tokio::spawn(async move {
        loop {
            if let Err(error) = poller.poll_once(&recorder).await {
                tracing::warn!(error = format!("{error:#}"), "reading the stream failed");
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    })
}

/// Starts the local stack's delivery: polls `poller` and feeds every event to `mailer`.
pub fn spawn(mut poller: StreamPoller, mailer: mailer::Mailer) -> tokio::task::JoinHandle<()> {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let bus = Bus::Local(sender);
    tokio::spawn(async move {
        loop {
            if let Err(error) = poller.poll_once(&bus).await {
                tracing::warn!(error = format!("{error:#}"), "reading the stream failed");
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    });
    tokio::spawn(async move {
        while let Some(envelope) = receiver.recv().await {
            let mailer = mailer.clone();
            // One task per event, as Lambda runs invocations side by side.
            tokio::spawn(async move {
                for attempt in 1..=MAILER_ATTEMPTS {
                    let event = LambdaEvent::new(envelope.clone(), Context::default());
                    match mailer::handle(&mailer, event).await {
                        Ok(_) => break,
                        Err(error) if attempt < MAILER_ATTEMPTS => {
                            tracing::warn!(error = %error, attempt, "the mailer failed; retrying");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                        Err(error) => tracing::error!(error = %error, "the mailer failed; giving the event up"),
                    }
                }
            });
        }
    })
}
