//! The data table's stream as its consumers see it: one record per write, the item before and
//! after. The publisher turns records into domain events; the recorder turns them into the
//! table's derived items (invitation counts, the activity log).

/// One stream record: the item before and after a write.
#[derive(Debug, Clone)]
pub struct Change {
    /// The record's position in its shard (every record of one item is in one shard, in order).
    pub sequence_number: String,
    /// The item before the write (`None` for an insert).
    pub old: Option<serde_dynamo::Item>,
    /// The item after the write (`None` for a removal).
    pub new: Option<serde_dynamo::Item>,
}
