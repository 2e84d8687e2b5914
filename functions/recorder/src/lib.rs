//! The recorder: reads the data table's stream and writes what each change owes the table
//! itself ([`cloudhub::recorder`]): the open invitations' counters, exactly once per record.
//!
//! The handler names the first record it could not apply; Lambda hands it over again from there
//! (halving the batch on errors) and, after its retries, gives the records' position to the
//! on-failure queue. Records after the failed one may be handed over twice; their markers make
//! the second time a no-op.

use aws_lambda_events::event::dynamodb;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use cloudhub::store::Store;
use cloudhub::stream::Change;
use lambda_runtime::{Error, LambdaEvent};

/// The Lambda handler: a batch of stream records in, the first one not applied reported back.
pub async fn handle(store: &Store, event: LambdaEvent<dynamodb::Event>) -> Result<DynamoDbEventResponse, Error> {
    let changes: Vec<Change> = event
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
    if let Some(sequence_number) = cloudhub::recorder::record(store, &changes).await {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence_number);
        response.batch_item_failures.push(failure);
    }
    Ok(response)
}
