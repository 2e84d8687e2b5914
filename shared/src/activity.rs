//! A customer's activity log: who did what, when, in which request. Invitations sent, resent,
//! deleted, accepted and declined; members who left; roles created, edited, deleted and
//! assigned.
//!
//! Entries are written from the data table's stream, never in a request path: a write the log
//! covers stamps its own item ([`crate::store::stamp`]), and the recorder turns the stream
//! record of that write into the entry ([`writes`]), in the transaction that also marks the
//! record applied, so a record delivered again writes nothing new. An entry's key comes from
//! the record alone (the stamp's time and id), so even a replay without the mark would write
//! the same item again. Entries hold ids, addresses, names and permissions, never a link's
//! nonce or hash, a token or a password's hash: they are built field by field from the images,
//! never copied whole.
//!
//! Reads ([`page`]): newest first, by key ranges only. The whole log is the partition
//! `ACTIVITY#{customer}` by time; one kind is a range of LSI1 (`{kind}#{time}#{id}`), strongly
//! consistent; one subject's address is a partition of GSI1 (`ACTIVITY#{customer}#{email}`),
//! eventually consistent, and with a kind too, a filter on that address's entries.

use crate::domain::RoleRef;
use crate::domain::{CustomerNumber, Email, InvalidValue, Permission, RoleId, RoleName, UserId};
use crate::memberships::is_admin;
use crate::store::stamp::{self, Stamp};
use crate::store::{Item, Store, decode, keys, text};
use crate::stream::Change;
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::{Duration, OffsetDateTime};

/// The kind of an entry.
pub use crate::store::stamp::ChangeKind as Kind;

/// How long an entry is kept (then TTL removes it; reads leave out older ones before that).
pub const KEPT_FOR: Duration = Duration::days(365);
/// Largest page of the JSON answer.
pub const MAX_PAGE_SIZE: u16 = 100;
/// Largest page of a CSV export.
pub const MAX_EXPORT_ROWS: u16 = 1000;

/// The acting account of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    /// Its id.
    pub user_id: UserId,
    /// Its email address.
    pub email: Email,
}

/// What an entry is about: an invitation (its address), a member, a role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    /// The invited address, or the member's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// The member (for an accepted invitation: the account that accepted it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    /// The invitation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation_id: Option<String>,
    /// The role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_id: Option<RoleId>,
    /// The role's name (after the change; before a deletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_name: Option<RoleName>,
}

/// A role's or a member's state before or after a change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct State {
    /// A role's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<RoleName>,
    /// A role's permissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<BTreeSet<Permission>>,
    /// The roles a member holds, or an invitation grants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_ids: Option<BTreeSet<RoleId>>,
}

/// One entry of the log, as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Unique in the customer's log.
    pub id: String,
    /// What happened.
    pub kind: Kind,
    /// When.
    #[serde(
        serialize_with = "crate::domain::timestamp::serialize",
        deserialize_with = "time::serde::rfc3339::deserialize"
    )]
    pub at: OffsetDateTime,
    /// Who did it.
    pub actor: Actor,
    /// To what.
    pub subject: Subject,
    /// API Gateway's request id of the change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Before an edit or an assignment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<State>,
    /// After a creation, an edit, an assignment or a send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<State>,
}

/// An entry as stored.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntryItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(rename = "LSI1SK")]
    lsi1sk: String,
    #[serde(rename = "GSI1PK", default, skip_serializing_if = "Option::is_none")]
    gsi1pk: Option<String>,
    #[serde(rename = "GSI1SK", default, skip_serializing_if = "Option::is_none")]
    gsi1sk: Option<String>,
    customer_number: CustomerNumber,
    #[serde(flatten)]
    entry: Entry,
    ttl: i64,
}

fn position(at: OffsetDateTime, id: &str) -> String {
    format!("{:015}#{id}", at.unix_timestamp_nanos() / 1_000_000)
}

fn kind_position(kind: Kind, sk: &str) -> String {
    format!("{}#{sk}", kind.code())
}

impl EntryItem {
    fn new(customer: &CustomerNumber, entry: Entry) -> Self {
        let sk = position(entry.at, &entry.id);
        Self {
            pk: keys::activity(customer),
            lsi1sk: kind_position(entry.kind, &sk),
            gsi1pk: entry
                .subject
                .email
                .as_ref()
                .map(|email| keys::activity_of_email(customer, email)),
            gsi1sk: entry.subject.email.as_ref().map(|_| sk.clone()),
            sk,
            customer_number: customer.clone(),
            ttl: crate::store::epoch_seconds(entry.at + KEPT_FOR),
            entry,
        }
    }
}

/// The writes the stream record `change` owes the activity log: the Put of its entry, when the
/// write it records is one the log covers (its item's stamp is new), else none. Pure: it reads
/// nothing, so the recorder can put it into its one transaction.
pub fn writes(store: &Store, change: &Change) -> anyhow::Result<Vec<TransactWriteItem>> {
    let Some(entry) = entry_of(change)? else {
        return Ok(Vec::new());
    };
    let (customer, entry) = entry;
    let item = serde_dynamo::to_item(EntryItem::new(&customer, entry))?;
    let put = Put::builder()
        .table_name(&store.tables().data)
        .set_item(Some(item))
        .build()?;
    Ok(vec![TransactWriteItem::builder().put(put).build()])
}

/// The entry a record makes, with its customer, if any.
fn entry_of(change: &Change) -> anyhow::Result<Option<(CustomerNumber, Entry)>> {
    // The deployed recorder hands an absent image over as an empty one.
    let present = |image: &Option<serde_dynamo::Item>| image.clone().filter(|image| !image.is_empty());
    let (new, old) = (present(&change.new), present(&change.old));
    let Some(new) = new.as_ref() else {
        // A removal: nothing on the removed item names who removed it (a role's deletion is
        // recorded by the record its transaction puts beside it).
        return Ok(None);
    };
    if !new.contains_key(stamp::ATTRIBUTE) {
        return Ok(None);
    }
    let new = Image::read(new)?;
    let Some(stamp) = new.change.clone() else {
        return Ok(None);
    };
    let old = old.as_ref().map(Image::read).transpose()?;
    if old.as_ref().and_then(|old| old.change.as_ref()).map(|s| &s.id) == Some(&stamp.id) {
        // A write that left an earlier stamp in place: not one the log covers.
        return Ok(None);
    }
    let Some(customer) = new.customer() else {
        anyhow::bail!("A stamped item names no customer ({}, {}).", new.pk, new.sk);
    };
    let (subject, before, after) = describe(stamp.kind, &new, old.as_ref());
    Ok(Some((customer, entry(stamp, subject, before, after))))
}

fn entry(stamp: Stamp, subject: Subject, before: Option<State>, after: Option<State>) -> Entry {
    Entry {
        id: stamp.id,
        kind: stamp.kind,
        at: stamp.at,
        actor: Actor {
            user_id: stamp.actor_id,
            email: stamp.actor_email,
        },
        subject,
        request_id: stamp.request_id,
        before,
        after,
    }
}

/// The subject, and the states before and after, of a change of `kind` from `old` to `new`.
fn describe(kind: Kind, new: &Image, old: Option<&Image>) -> (Subject, Option<State>, Option<State>) {
    let role_state = |image: &Image| State {
        name: image.name.clone(),
        permissions: image.permissions.clone(),
        role_ids: None,
    };
    let held = |image: &Image| State {
        role_ids: Some(image.role_ids()),
        ..State::default()
    };
    match kind {
        Kind::InvitationSent | Kind::InvitationResent => (new.invitation_subject(), None, Some(held(new))),
        Kind::InvitationDeleted | Kind::InvitationDeclined => (new.invitation_subject(), None, None),
        Kind::InvitationAccepted => (
            Subject {
                user_id: new.outcome_by,
                ..new.invitation_subject()
            },
            None,
            None,
        ),
        Kind::MemberLeft => (new.member_subject(), old.map(held), None),
        Kind::RolesAssigned => (new.member_subject(), old.map(held), Some(held(new))),
        Kind::RoleCreated => (new.role_subject(), None, Some(role_state(new))),
        Kind::RoleEdited => (new.role_subject(), old.map(role_state), Some(role_state(new))),
        // The deletion's record holds the role as it was.
        Kind::RoleDeleted => (new.role_subject(), Some(role_state(new)), None),
    }
}

/// What an entry reads from a stream record's images: only these attributes, by name, so no
/// other attribute (a link's nonce or hash) can reach an entry.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Image {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    #[serde(default)]
    change: Option<Stamp>,
    /// A membership's (its partition is the user's).
    #[serde(default)]
    customer_number: Option<CustomerNumber>,
    /// An invitation's address, or a member's.
    #[serde(default)]
    email: Option<Email>,
    /// An invitation's or a role's id.
    #[serde(default)]
    id: Option<String>,
    /// A member's.
    #[serde(default)]
    user_id: Option<UserId>,
    /// The account that accepted an invitation.
    #[serde(default)]
    outcome_by: Option<UserId>,
    /// A role's.
    #[serde(default)]
    name: Option<RoleName>,
    #[serde(default)]
    permissions: Option<BTreeSet<Permission>>,
    /// A member's roles, or an invitation's.
    #[serde(default)]
    role_ids: Option<BTreeSet<RoleId>>,
    /// Memberships stored before role ids name their roles.
    #[serde(default, rename = "roles")]
    legacy_roles: Option<Vec<RoleRef>>,
}

impl Image {
    /// The image of an item the log covers: one that carries a stamp, or its image before.
    /// Only those are read (others may hold attributes of these names in other shapes).
    fn read(item: &serde_dynamo::Item) -> anyhow::Result<Self> {
        serde_dynamo::from_item(item.clone())
            .map_err(|error| anyhow::anyhow!("A stamped item of the stream is malformed: {error}"))
    }

    fn customer(&self) -> Option<CustomerNumber> {
        self.customer_number.clone().or_else(|| keys::customer_of_pk(&self.pk))
    }

    fn role_ids(&self) -> BTreeSet<RoleId> {
        match (&self.role_ids, &self.legacy_roles) {
            (Some(ids), _) => ids.clone(),
            (None, Some(roles)) => roles.iter().map(|role| role.id).collect(),
            (None, None) => BTreeSet::new(),
        }
    }

    fn invitation_subject(&self) -> Subject {
        Subject {
            email: self.email.clone(),
            invitation_id: self.id.clone(),
            ..Subject::default()
        }
    }

    fn member_subject(&self) -> Subject {
        Subject {
            email: self.email.clone(),
            user_id: self.user_id,
            ..Subject::default()
        }
    }

    fn role_subject(&self) -> Subject {
        Subject {
            role_id: self.id.as_deref().and_then(|id| RoleId::parse(id).ok()),
            role_name: self.name.clone(),
            ..Subject::default()
        }
    }
}

/// What a page of the log asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivityQuery {
    /// One kind only.
    pub kind: Option<Kind>,
    /// Entries about this address only.
    pub email: Option<Email>,
    /// From this time on (inclusive).
    pub from: Option<OffsetDateTime>,
    /// Before this time (exclusive).
    pub to: Option<OffsetDateTime>,
    /// Entries at most.
    pub limit: u16,
    /// Where the previous page ended.
    pub cursor: Option<String>,
}

impl ActivityQuery {
    /// The filters, as a cursor names them: a cursor continues only the listing it came from.
    fn filters(&self) -> String {
        let millis = |at: Option<OffsetDateTime>| at.map(|at| (at.unix_timestamp_nanos() / 1_000_000).to_string());
        format!(
            "kind={};email={};from={};to={}",
            self.kind.map(Kind::code).unwrap_or(""),
            self.email.as_ref().map(Email::as_str).unwrap_or(""),
            millis(self.from).unwrap_or_default(),
            millis(self.to).unwrap_or_default(),
        )
    }
}

/// One page of the log, newest first.
#[derive(Debug, Clone)]
pub struct Page {
    /// The entries.
    pub entries: Vec<Entry>,
    /// Opaque; present when there may be more.
    pub next_cursor: Option<String>,
}

/// Why a page of the log was refused.
#[derive(Debug, thiserror::Error)]
pub enum ActivityError {
    /// The caller is not an admin of the customer.
    #[error("Only an admin of this customer may read its activity log.")]
    NotAdmin,
    /// A malformed filter, range or cursor.
    #[error(transparent)]
    Invalid(#[from] InvalidValue),
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    customer: String,
    filters: String,
    /// The sort key of the page's last entry.
    sk: String,
}

fn invalid_cursor() -> InvalidValue {
    InvalidValue {
        code: "invalid-cursor",
        reason: "The cursor is not one this log issued for this customer and these filters.".into(),
    }
}

fn encode_cursor(customer: &CustomerNumber, query: &ActivityQuery, sk: String) -> String {
    let cursor = Cursor {
        customer: customer.to_string(),
        filters: query.filters(),
        sk,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

/// A position (`{15 digits}#{26 ULID characters}`), as only this log writes them.
fn is_position(sk: &str) -> bool {
    let bytes = sk.as_bytes();
    bytes.len() == 15 + 1 + 26
        && bytes[..15].iter().all(u8::is_ascii_digit)
        && bytes[15] == b'#'
        && bytes[16..].iter().all(u8::is_ascii_alphanumeric)
}

fn decode_cursor(raw: &str, customer: &CustomerNumber, query: &ActivityQuery) -> Result<String, InvalidValue> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid_cursor())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())?;
    if cursor.customer != customer.as_str() || cursor.filters != query.filters() || !is_position(&cursor.sk) {
        return Err(invalid_cursor());
    }
    Ok(cursor.sk)
}

/// The time range of a query as positions: from `from` (at most 365 days back) up to before
/// `to` (or any time).
fn range(query: &ActivityQuery, now: OffsetDateTime) -> (String, String) {
    let millis = |at: OffsetDateTime| at.unix_timestamp_nanos() / 1_000_000;
    let oldest = now - KEPT_FOR;
    let from = query.from.map_or(oldest, |from| from.max(oldest));
    let low = format!("{:015}#", millis(from));
    // "{to}" sorts before every position at that millisecond: `to` is exclusive.
    let high = query
        .to
        .map_or_else(|| "~".to_owned(), |to| format!("{:015}", millis(to)));
    (low, high)
}

/// A page of a customer's log, newest first: one Query of a key range (the log's partition by
/// time; LSI1's range of a kind; GSI1's partition of an address, filtered by kind when both
/// are asked for), repeated only while DynamoDB's 1 MB pages end before `limit` entries;
/// beside it the admin check (one GetItem), in the same round trip.
pub async fn page(
    store: &Store,
    admin: &UserId,
    customer: &CustomerNumber,
    query: &ActivityQuery,
    now: OffsetDateTime,
) -> Result<Page, ActivityError> {
    let after = query
        .cursor
        .as_deref()
        .map(|raw| decode_cursor(raw, customer, query))
        .transpose()?;
    if let (Some(from), Some(to)) = (query.from, query.to)
        && from >= to
    {
        return Err(InvalidValue {
            code: "invalid-range",
            reason: "`from` must be before `to`.".into(),
        }
        .into());
    }
    let (is_admin, (entries, last)) = tokio::try_join!(
        is_admin(store, customer, admin),
        read(store, customer, query, after, now),
    )?;
    if !is_admin {
        return Err(ActivityError::NotAdmin);
    }
    Ok(Page {
        entries,
        next_cursor: last.map(|sk| encode_cursor(customer, query, sk)),
    })
}

async fn read(
    store: &Store,
    customer: &CustomerNumber,
    query: &ActivityQuery,
    after: Option<String>,
    now: OffsetDateTime,
) -> anyhow::Result<(Vec<Entry>, Option<String>)> {
    let pk = keys::activity(customer);
    let (low, high) = range(query, now);
    let limit = usize::from(query.limit.max(1));
    let mut start: Option<Item> = after.map(|sk| start_key(customer, query, &pk, sk));
    let mut entries: Vec<Entry> = Vec::new();
    let mut last_sk = None;
    loop {
        let mut request = store
            .query()
            .scan_index_forward(false)
            .limit(i32::try_from(limit - entries.len()).unwrap_or(i32::MAX));
        request = match (&query.email, query.kind) {
            (Some(email), kind) => {
                let mut request = request
                    .consistent_read(false)
                    .index_name(keys::GSI1)
                    .key_condition_expression("GSI1PK = :pk AND GSI1SK BETWEEN :low AND :high")
                    .expression_attribute_values(":pk", text(keys::activity_of_email(customer, email)))
                    .expression_attribute_values(":low", text(&low))
                    .expression_attribute_values(":high", text(&high));
                if let Some(kind) = kind {
                    request = request
                        .filter_expression("#kind = :kind")
                        .expression_attribute_names("#kind", "kind")
                        .expression_attribute_values(":kind", text(kind.code()));
                }
                request
            }
            (None, Some(kind)) => request
                .index_name(keys::LSI1)
                .key_condition_expression("PK = :pk AND LSI1SK BETWEEN :low AND :high")
                .expression_attribute_values(":pk", text(&pk))
                .expression_attribute_values(":low", text(kind_position(kind, &low)))
                .expression_attribute_values(":high", text(kind_position(kind, &high))),
            (None, None) => request
                .key_condition_expression("PK = :pk AND SK BETWEEN :low AND :high")
                .expression_attribute_values(":pk", text(&pk))
                .expression_attribute_values(":low", text(&low))
                .expression_attribute_values(":high", text(&high)),
        };
        let output = request
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(crate::aws::sdk_error("Failed to query the activity log."))?;
        for item in output.items.unwrap_or_default() {
            let stored: EntryItem = decode(item, "an activity entry")?;
            last_sk = Some(stored.sk);
            entries.push(stored.entry);
        }
        match output.last_evaluated_key {
            Some(key) if entries.len() < limit => start = Some(key),
            // Full, or the range may go on: the next page starts after the last entry read.
            Some(_) => return Ok((entries, last_sk)),
            None => return Ok((entries, None)),
        }
    }
}

/// Where a page that ended at `sk` goes on, in the index the query reads.
fn start_key(customer: &CustomerNumber, query: &ActivityQuery, pk: &str, sk: String) -> Item {
    let mut key = crate::store::item_key(pk.to_owned(), sk.clone());
    match (&query.email, query.kind) {
        (Some(email), _) => {
            key.insert(keys::GSI1PK.into(), text(keys::activity_of_email(customer, email)));
            key.insert(keys::GSI1SK.into(), text(&sk));
        }
        (None, Some(kind)) => {
            key.insert(keys::LSI1SK.into(), text(kind_position(kind, &sk)));
        }
        (None, None) => {}
    }
    key
}

/// The CSV export's header row.
pub const CSV_HEADER: [&str; 12] = [
    "time",
    "kind",
    "actorUserId",
    "actorEmail",
    "subjectEmail",
    "subjectUserId",
    "invitationId",
    "roleId",
    "roleName",
    "before",
    "after",
    "requestId",
];

/// `entries` as CSV (RFC 4180: CRLF line ends, fields quoted where needed), with the header.
pub fn to_csv(entries: &[Entry]) -> String {
    let mut out = String::new();
    push_row(&mut out, CSV_HEADER.iter().map(|name| (*name).to_owned()));
    for entry in entries {
        let state = |state: &Option<State>| {
            state
                .as_ref()
                .map(|state| serde_json::to_string(state).unwrap_or_default())
                .unwrap_or_default()
        };
        let shown = |value: Option<String>| value.unwrap_or_default();
        push_row(
            &mut out,
            [
                crate::domain::timestamp::format(entry.at),
                entry.kind.code().to_owned(),
                entry.actor.user_id.to_string(),
                entry.actor.email.to_string(),
                shown(entry.subject.email.as_ref().map(ToString::to_string)),
                shown(entry.subject.user_id.map(|id| id.to_string())),
                shown(entry.subject.invitation_id.clone()),
                shown(entry.subject.role_id.map(|id| id.to_string())),
                shown(entry.subject.role_name.as_ref().map(ToString::to_string)),
                state(&entry.before),
                state(&entry.after),
                shown(entry.request_id.clone()),
            ]
            .into_iter(),
        );
    }
    out
}

fn push_row(out: &mut String, fields: impl Iterator<Item = String>) {
    for (index, field) in fields.enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(&csv_field(&field));
    }
    out.push_str("\r\n");
}

/// One CSV field: quoted when it holds a comma, a quote or a line break (quotes doubled), and
/// a field a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first: a role name
/// is the admins' own text) is kept as text with a leading `'`.
fn csv_field(raw: &str) -> String {
    let guarded = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_owned()
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn store() -> Store {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("eu-central-1"))
            .build();
        Store::new(
            aws_sdk_dynamodb::Client::from_conf(config),
            crate::store::Tables {
                data: "data".into(),
                sessions: "sessions".into(),
            },
        )
    }

    fn image(value: Value) -> Option<serde_dynamo::Item> {
        Some(serde_dynamo::to_item(value).unwrap())
    }

    fn stamp(id: &str, kind: &str) -> Value {
        json!({
            "id": id, "kind": kind, "actorId": "01KAWDEM0ADM1N000000000000",
            "actorEmail": "admin@acme.example", "requestId": "req-1", "at": "2026-11-24T09:30:00Z"
        })
    }

    fn invitation(change: Option<Value>) -> Value {
        let mut item = json!({
            "PK": "CUSTOMER#100234", "SK": "INVITATION#01KAWDEM0ADM1N000000000001",
            "id": "01KAWDEM0ADM1N000000000001", "email": "anna@example.com",
            "roleIds": ["01KAWDEM0R01E000000000000B"], "linkNonce": "bm9uY2U", "linkHash": "aGFzaA",
            "sendCount": 1
        });
        if let Some(change) = change {
            item["change"] = change;
        }
        item
    }

    /// The items `writes` puts for `change`, as JSON.
    fn written(change: &Change) -> Vec<Value> {
        writes(&store(), change)
            .unwrap()
            .into_iter()
            .map(|write| {
                let item = write.put().unwrap().item().clone();
                serde_dynamo::from_item(item).unwrap()
            })
            .collect()
    }

    fn change(old: Option<Value>, new: Option<Value>) -> Change {
        Change {
            sequence_number: "100".into(),
            old: old.and_then(image),
            new: new.and_then(image),
        }
    }

    #[test]
    fn a_stamped_write_owes_one_entry_keyed_by_its_stamp_and_nothing_secret() {
        let sent = change(
            None,
            Some(invitation(Some(stamp("01KAWDEM0CHANGE00000000001", "invitation-sent")))),
        );
        let entries = written(&sent);
        assert_eq!(entries.len(), 1);
        // An insert as the deployed recorder hands it over: an empty old image.
        let mut handed_over = sent.clone();
        handed_over.old = image(json!({}));
        assert_eq!(written(&handed_over), entries);
        let entry = &entries[0];
        assert_eq!(entry["PK"], "ACTIVITY#100234");
        assert_eq!(entry["SK"], "001795512600000#01KAWDEM0CHANGE00000000001");
        assert_eq!(
            entry["LSI1SK"],
            "invitation-sent#001795512600000#01KAWDEM0CHANGE00000000001"
        );
        assert_eq!(entry["GSI1PK"], "ACTIVITY#100234#anna@example.com");
        assert_eq!(entry["actor"]["email"], "admin@acme.example");
        assert_eq!(entry["subject"]["invitationId"], "01KAWDEM0ADM1N000000000001");
        assert_eq!(entry["requestId"], "req-1");
        let text = entry.to_string();
        for secret in ["bm9uY2U", "aGFzaA", "linkNonce", "linkHash"] {
            assert!(!text.contains(secret), "{text}");
        }
        // Delivered again, the record owes the very same item.
        assert_eq!(written(&sent), entries);
    }

    #[test]
    fn records_without_a_new_stamp_owe_nothing() {
        let stamped = invitation(Some(stamp("01KAWDEM0CHANGE00000000001", "invitation-sent")));
        let mut touched = stamped.clone();
        touched["roleIds"] = json!([]);
        for record in [
            // A write that left the earlier stamp in place.
            change(Some(stamped.clone()), Some(touched)),
            // Writes of items the log does not cover.
            change(None, Some(invitation(None))),
            change(
                None,
                Some(json!({ "PK": "CUSTOMER#100234", "SK": "CUSTOMER", "name": 7 })),
            ),
            // A removal, also as the deployed recorder hands it over (an empty new image).
            change(Some(stamped.clone()), None),
            change(Some(stamped), Some(json!({}))),
        ] {
            assert!(written(&record).is_empty(), "{record:?}");
        }
    }

    #[test]
    fn an_edit_records_the_role_before_and_after() {
        let role = |name: &str, permissions: Value, change: Option<Value>| {
            let mut item = json!({
                "PK": "CUSTOMER#100234", "SK": "ROLE#01KAWDEM0R01E000000000000B",
                "id": "01KAWDEM0R01E000000000000B", "name": name, "permissions": permissions, "revision": 1
            });
            if let Some(change) = change {
                item["change"] = change;
            }
            item
        };
        let edited = change(
            Some(role("Buyer", json!(["orders"]), None)),
            Some(role(
                "Purchasing",
                json!(["orders", "invoices"]),
                Some(stamp("01KAWDEM0CHANGE00000000002", "role-edited")),
            )),
        );
        let entries = written(&edited);
        assert_eq!(
            entries[0]["before"],
            json!({ "name": "Buyer", "permissions": ["orders"] })
        );
        assert_eq!(
            entries[0]["after"],
            json!({ "name": "Purchasing", "permissions": ["orders", "invoices"] })
        );
        assert_eq!(entries[0]["subject"]["roleName"], "Purchasing");
        assert!(entries[0].get("GSI1PK").is_none(), "a role's entry is about no address");
    }

    #[test]
    fn csv_fields_are_quoted_and_formulas_kept_as_text() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn only_positions_this_log_writes_pass_for_a_cursor() {
        assert!(is_position("001795685400000#01KAWDEM0ADM1N000000000001"));
        assert!(!is_position("001795685400000#01KAWDEM0ADM1N00000000000"));
        assert!(!is_position("INVITATION#01KAWDEM0ADM1N000000000001"));
        assert!(!is_position("00179568540000x#01KAWDEM0ADM1N000000000001"));
    }

    #[test]
    fn a_range_ends_before_its_to_and_reaches_back_a_year_at_most() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(370);
        let to = OffsetDateTime::UNIX_EPOCH + Duration::days(10);
        let query = ActivityQuery {
            from: Some(OffsetDateTime::UNIX_EPOCH),
            to: Some(to),
            ..ActivityQuery::default()
        };
        let (low, high) = range(&query, now);
        let at_to = position(to, "01KAWDEM0ADM1N000000000001");
        assert!(at_to > high, "an entry at `to` is out");
        let just_before = position(to - Duration::milliseconds(1), "01KAWDEM0ADM1N000000000001");
        assert!(just_before < high && just_before > low);
        assert_eq!(low, format!("{:015}#", (now - KEPT_FOR).unix_timestamp() * 1000));
    }
}
