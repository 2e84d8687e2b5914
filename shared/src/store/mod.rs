//! The DynamoDB tables, their keys, and the plumbing every domain module shares.
//!
//! # Tables
//! Both are defined once, in `template.yaml`; the local stack and the tests create theirs from
//! those definitions (see `schema`).
//!
//! **Data table** (`DataTable`, env `DATA_TABLE_NAME`): keys `PK`, `SK` (strings); TTL attribute
//! `ttl` (epoch seconds); stream with new and old images (the write is the source of truth for
//! events). Indexes:
//! - `GSI1` (`GSI1PK`, `GSI1SK`), eventually consistent: the invitations' email search (a
//!   partition per customer and group, `INVITATIONS#{number}#open` or `#accepted`, `#deleted`,
//!   by email), and a customer's memberships (`CUSTOMER#{number}`, `MEMBER#{email}`), which
//!   nothing reads any more (the User Management table reads the seats, the mailer the admin
//!   set, both consistent; kept for operators' ad-hoc queries).
//! - `GSI2` (`GSI2PK`, `GSI2SK`), eventually consistent: the invitations addressed to an email,
//!   across customers (`INVITEE#{email}`, `INVITATION#{number}#{id}`: `GET /me/invitations`).
//! - `LSI1` (`PK`, `LSI1SK`), strongly consistent: a customer's open invitations ordered by when
//!   their link expires, so "pending" and "expired" are key ranges, and its kept outcomes
//!   (`OUTCOME#{accepted|deleted}#{at ms}#{id}`) ordered by when, each a key range of its own;
//!   and a customer's activity entries by kind (`{kind}#{at ms}#{id}`: `?kind=` is a key range).
//!   An LSI caps each partition key's items at 10 GB: an `ACTIVITY#` partition holds a year of
//!   one customer's entries (~0.5 KB each: 20 million).
//! - GSI1 also holds a customer's activity entries about one address (`ACTIVITY#{number}#{email}`,
//!   `{at ms}#{id}`: `?email=` is a partition).
//!
//! | item | PK | SK | other keys | TTL |
//! |---|---|---|---|---|
//! | customer (`adminCount` kept exact; `adminRolesRevision`, bumped by every change of what roles grant in user-management) | `CUSTOMER#{number}` | `CUSTOMER` | | |
//! | admin set, one of 16 items (`userIds` string set, `revision`); a user's item follows from its id | `CUSTOMER#{number}` | `ADMINS#{00..15}` | | |
//! | role (`revision`, `changingUntil` lock, `nameClaimed`) | `CUSTOMER#{number}` | `ROLE#{roleId}` | | |
//! | role name claim (`roleId`): put with `attribute_not_exists` beside every create or rename, so names are unique per customer regardless of case; roles from before claims hold none until edited | `CUSTOMER#{number}` | `ROLENAME#{lower-cased NFC name}` | | |
//! | seat: an email's standing in a customer (`member` with role ids, or `invited`) | `CUSTOMER#{number}` | `EMAIL#{email}` | | |
//! | invitation, open (link key id, nonce and hash, `previousLinkHash1..4` the links the last four sends replaced (newest first; empty where none), role ids, send count, `invitedBy` last sender, `firstInvitedBy`, `renewalRequestedAt` epoch ms when the expired link's holder last asked for a new one) | `CUSTOMER#{number}` | `INVITATION#{id}` | `LSI1SK`=`INVITATION#{expiry ms}#{id}`, `GSI1PK`=`INVITATIONS#{number}#open`, `GSI1SK`=`INVITATION#{email}#{id}`; `GSI2PK`=`INVITEE#{email}`, `GSI2SK`=`INVITATION#{number}#{id}` (invitations stored before the inbox or the search have none) | expiry + 30 days |
//! | invitation, kept outcome (the same item, updated by accept, decline or delete: `outcome` accepted, declined or deleted, `outcomeAt`, `outcomeBy` user id, `outcomeByEmail` for a delete; no link nonce, so no token can be rebuilt, but the link hash and the previous ones kept, so that its links say what became of it) | `CUSTOMER#{number}` | `INVITATION#{id}` | `LSI1SK`=`OUTCOME#{outcome}#{at ms}#{id}`, `GSI1PK`=`INVITATIONS#{number}#{outcome}`, `GSI1SK` as open; no `GSI2PK`/`GSI2SK` (out of the invitee's inbox) | outcome + 365 days |
//! | invitation link of a token sent before tokens named their invitation (no longer written, nor deleted by an accept; kept until its TTL, so such a link says why it stopped working, not 404) | `LINK#{sha256(token)}` | `LINK` | | expiry + 30 days |
//! | admin's quota for one UTC day | `QUOTA#{userId}#{yyyy-mm-dd}` | `QUOTA` | | next midnight + 1 day |
//! | user profile (`notifyOnAccept: false` when turned off) | `USER#{userId}` | `USER` | | |
//! | membership (`roleIds`, never what they grant; `revision`, `status` active or left, `tourSeen` string set; `invitedBy` and `invitationId` of the invitation it was made by; older ones name `roles` with names instead, read as their ids) | `USER#{userId}` | `MEMBERSHIP#{number}` | `GSI1PK`=`CUSTOMER#{number}`, `GSI1SK`=`MEMBER#{email}` | |
//! | credential | `EMAIL#{email}` | `CREDENTIAL` | | |
//! | a deleted account's record (`account`: address, language, the customers its memberships were of with their last revision; `userId`): what the deletion's emails are read from | `USER#{userId}` | `DELETED` | | deletion + 14 days |
//! | email delivery (`status` sending or sent, `claimedUntil`) | `DELIVERY#{eventKey}#{recipient}` | `DELIVERY` | | 14 days |
//! | activity entry (`kind`, `at`, `actor` {userId, email}, `subject` {email, userId, invitationId, roleId, roleName}, `requestId`, `before`/`after` {name, permissions, roleIds}); written by the recorder from the stream only | `ACTIVITY#{number}` | `{at ms}#{stamp id}` | `LSI1SK`=`{kind}#{at ms}#{stamp id}`; with a subject address `GSI1PK`=`ACTIVITY#{number}#{email}`, `GSI1SK`=SK | at + 365 days |
//! | a role's deletion record (the role as it was, stamped): a removal's stream record has no actor, so the deletion's transaction puts this beside it for the activity log | `CUSTOMER#{number}` | `ROLEDELETED#{roleId}#{at ms}` | | 2 days |
//!
//! **Stamps.** Every write the activity log covers (invitation sent, resent, deleted, accepted,
//! declined; membership left, roles assigned; role created, edited; a role's deletion record)
//! sets `change` on its item in the same write: kind, actor id and email, API Gateway's request
//! id, time, and an id new with every stamped write ([`stamp`]). Other writes leave it as it
//! was, so a stream record whose old and new `change.id` are equal owes no entry.
//!
//! **Sessions table** (`SessionsTable`, env `SESSIONS_TABLE_NAME`): key `PK` (string); TTL `ttl`.
//! Index `ByEmail` (`email`, with `userId`; eventually consistent, sparse): an address's sessions
//! and failed log-ins per source, which deleting its account finds by a Query of this index,
//! never by reading the whole table.
//!
//! | item | PK |
//! |---|---|
//! | session | `SESSION#{sha256(token)}` |
//! | failed log-ins for one email from one source in one 15-minute window (`attempts`, at most 10) | `LOGIN#{email}#{source}#{windowStart}` |
//! | failed log-ins from one source, all emails, in one hour (`attempts`, at most 100) | `LOGINSRC#{source}#{windowStart}` |
//!
//! `{source}` is API Gateway's `sourceIp`: an IPv4 address as is, an IPv6 address as its /64
//! network (`2001:db8:1:2::/64`), an IPv4-mapped one as its IPv4 address (see
//! [`crate::domain::SourceAddress`]); `windowStart` is in epoch seconds. The window is in the
//! key, so a new window starts from nothing whether or not TTL (at the window's end) has removed
//! the old item.
//!
//! TTL only cleans up: every read checks expiry against the clock, because DynamoDB may delete
//! expired items days late (and DynamoDB Local within seconds).
//!
//! # Code
//! Each aggregate module owns the conditions and writes on its items (see the crate's layers);
//! a use case puts them into one [`transactions::Transaction`], each item with its
//! [`transactions::Part`], and reads a refusal back by part. Reads go through [`Store::get`],
//! [`Store::query_all`] (every page, the SDK's paginator) and [`Store::update_returning`];
//! attribute names are constants of each aggregate's `attr` module, statuses come from their
//! enums (`code()`), key formats from `keys`.
//!
//! # Access patterns (round trips per request)
//! - log-in: two conditional UpdateItems (count the attempt for the email from this source and
//!   for the source) and GetItem (credential), concurrently. Refused by one counter: one
//!   UpdateItem takes the other's count back. A wrong password: nothing more (the failure stays
//!   counted). A right one: PutItem (session), DeleteItem (the email's failures from this
//!   source) and UpdateItem (the source's count taken back), concurrently.
//! - authorizer: GetItem session. Log-out: DeleteItem session.
//! - `GET /me`: one Query of `USER#{userId}` (profile and every membership) beside one Query
//!   of GSI2's `INVITEE#{email}` (the invitations waiting), then one BatchGetItem of the roles
//!   its active memberships hold (what they grant now; none when they hold no role): 2 round
//!   trips.
//! - `GET /me/invitations`: one Query of GSI2's `INVITEE#{email}` (eventually consistent), then
//!   one BatchGetItem of their customers and roles: 2 round trips. Accepting one
//!   (`POST /me/invitations/{c}/{id}/accept`): one BatchGetItem (the invitation, its customer),
//!   then accept's transaction with the session's credential check (2; 3 when a role makes an
//!   admin). Declining one: one TransactWriteItems of one update (kept as declined, on
//!   condition that it is open and addressed to the caller's email): 1.
//! - admin check: in a transaction, a ConditionCheck of the caller's admin-set item; for reads,
//!   one GetItem of it (beside the request's other reads).
//! - invite: one TransactWriteItems (quota counter, admin check, a check per role, seat,
//!   invitation); when the invitation has roles, concurrently a Query of the customer's
//!   roles, whose names the answer shows (a successful transaction returns nothing). Only when the seat names an earlier invitation: GetItem of that
//!   invitation, then one more transaction (take over a deleted one's seat, or send an expired
//!   one again).
//! - batch invite (up to 50 rows): one TransactWriteItems per chunk, chunk after chunk (each
//!   updates the admin's quota counter): the counter (`ADD n`, on condition that `n` fit), the
//!   admin check, a check per distinct role of the chunk's rows, and per row seat and invitation;
//!   up to DynamoDB's 100 items (chunks of 32 rows). 50 new addresses: two
//!   TransactWriteItems, one after the other; with roles, concurrently with the first a Query of
//!   the customer's roles (names). A refused chunk is read by part and tried again without its
//!   refused rows and within the quota the counter said was left (one more round trip), after
//!   one BatchGetItem of the invitations that held rows' seats, if any.
//! - list: one Query of LSI1 (a key range per status: pending, expired, both, accepted,
//!   deleted; no filter), concurrently with GetItem (admin check) and a Query of the customer's
//!   roles (names): a page reads `limit` + 1 items at 100 as at 10,000 invitations (the one
//!   more tells a full last page from one that has a next). Searched by
//!   email: one Query of GSI1 instead (the prefix's key range in the group's partition: open,
//!   accepted or deleted), whose filter leaves out only open invitations past their 30 days not
//!   yet removed by TTL; with `pending` or `expired` the filter also leaves out the other
//!   status, read and discarded, so such a page takes up to 8 Queries of `limit` items (the
//!   search's addresses' invitations of the other status: bounded by the page, not the
//!   customer's size). The first page (no cursor) also counts, concurrently
//!   ([`crate::invitation_counts`]): a Query of the customer's counter items from the hour of 30
//!   days ago on (one item per hour in which open invitations expire, with a count per minute:
//!   at most ~770 items of ~0.4 KB, one call whatever the number of invitations) and two
//!   Queries of one minute's LSI1 key range each (the minutes now and 30 days ago fall in,
//!   whose invitations are read, keys only, to count them to the millisecond). Still one round
//!   trip; the counters are written by the recorder from the stream, not by any request.
//!   Exact once the recorder has read the writes (within its delay; the README's "Invitation
//!   counts"), since a pending invitation becomes expired, and an expired one unlisted, by the
//!   clock alone (see the README). One invitation (`GET .../invitations/{invitationId}`): GetItem of the
//!   invitation, concurrently with the same GetItem (admin check) and Query (roles).
//! - resend: one TransactWriteItems (quota, admin check, invitation's new link and sender,
//!   the first inviter kept, the replaced link's hash shifted into `previousLinkHash1..4` by
//!   `if_not_exists` on the item as it was: no read).
//! - delete: one TransactWriteItems (admin check, the invitation updated to its kept `deleted`
//!   outcome on condition it is open).
//! - quota: GetItem (admin check) and GetItem (counter), concurrently.
//! - roles: list = GetItem + two Queries (roles; seats and invitations for usage: the open
//!   invitations' LSI1 key range, so kept outcomes are never read); create = one
//!   TransactWriteItems; edit = GetItem (admin), UpdateItem (lock), Queries of the customer's
//!   seats, invitations and roles, then one TransactWriteItems of the role alone (and its name
//!   claims), whatever the number of holders; one that gives or takes `user-management` first
//!   reads the admin set and customer item (one Query, before the seats) and adds the admin
//!   set's changed items (at most 16) and the customer item: 4 round trips, at 10 holders as at
//!   10,000. Delete: the same reads, then one TransactWriteItems (the role, its claim, the
//!   admin set when holders lose the right; invitations naming it, the rest in transactions of
//!   100 before it); with `confirm=remove-from-members`, after it, one UpdateItem per former
//!   holder's seat and membership (16 at once) takes the dead role's id off (tidying only: a
//!   deleted role grants nothing). Create, a rename and a delete carry
//!   the name claims in their transaction (create: admin check, role, claim).
//! - users: list = GetItem + Query (seats) + Query (roles); assign = GetItem (admin),
//!   GetItem (membership), Query (roles) concurrently, then one TransactWriteItems (admin check,
//!   each new role unchanged and not locked, each role given up not locked, membership, seat,
//!   and when the member becomes or stops being an admin, its admin-set item and the count).
//! - tour complete: GetItem (membership) and Query (roles) concurrently, then one UpdateItem
//!   conditional on the membership unchanged (2 round trips).
//! - preview (`GET /invitations/{token}`): the token names its invitation
//!   (`{keyId}.{customer}.{invitationId}.{mac}`), so one BatchGetItem of the invitation and its
//!   customer, then one BatchGetItem of the email's credential and the invitation's roles: 2
//!   round trips. A token of the old form (`{keyId}.{mac}`, sent before tokens named their
//!   invitation) first takes GetItem of its link item: 3. A link that is not live is answered
//!   from the first round trip alone (why it stopped working: the invitation's outcome, or its
//!   previous link hashes, or its expiry): 1.
//! - renewal request (`POST /invitations/{token}/renewal-request`): one conditional UpdateItem
//!   of the invitation the token names (`renewalRequestedAt` set, on condition that the token's
//!   hash is the current link's, the invitation open, its link expired but still listed, and
//!   no request in the 24 hours before), returning the old item when refused, which says why
//!   (live, ended, asked already): 1 round trip, refused or not. A token of the old form: its
//!   link item first (GetItem): 2.
//! - accept: the first round trip is preview's BatchGetItem, beside GetItem of the session if one
//!   is sent. The transaction (TransactWriteItems: invitation consumed: updated to its
//!   kept `accepted` outcome; seat, membership, a check
//!   per role, user and credential when new, for a session a check that the email's credential is
//!   the session's account, admin set and counts when an admin role, session) then grants the
//!   invitation's roles unread, on condition that each exists, is not being changed and grants no
//!   `user-management`; beside it one BatchGetItem reads the credential and the roles (the
//!   answer's names and permissions). With a session, and for a new account: 2 round trips. When
//!   a role makes an admin (or changed), one more TransactWriteItems requires the roles as read
//!   (3). With a password and `account: existing`: one TransactGetItems (the invitation again,
//!   the credential, the roles: one snapshot, so a concurrent accept's new account is never seen
//!   without its consumed invitation) beside log-in's two UpdateItems (the attempt counted),
//!   then the transaction beside log-in's DeleteItem and UpdateItem that forget a right
//!   password's attempt: 3. With a password and no hint, when the account exists: the refused
//!   new-account transaction, the count, the transaction: 4. A token of the old form: its link
//!   item first, and the snapshot before the transaction.
//! - leave: one Query of `USER#{userId}` and, beside it, GetItem of the user's admin-set item,
//!   then one TransactWriteItems (membership left, seat freed, and when an admin leaves its
//!   admin-set item and the count). Settings: one UpdateItem.
//! - delete the account (`DELETE /me`): log-in's two UpdateItems (count the attempt), GetItem
//!   (credential), Query of `USER#{userId}` and GetItem (an earlier deletion's record), all at
//!   once; the password checked; with active memberships one BatchGetItem (each customer item and
//!   the user's admin-set item there); one TransactWriteItems (the record, the credential, the
//!   user, and per membership its removal, and for an active one its seat, the customer's counts
//!   and the admin set: 3 + 4 per active + 1 per left membership, up to 100); then a Query of
//!   the sessions table's `ByEmail` index and one BatchWriteItem per 25 of its sessions and
//!   failed log-ins, beside log-in's DeleteItem and UpdateItem that forget the right password's
//!   attempt. 4 round trips without customers, 5 with. Over 100 items: before it, one more
//!   TransactWriteItems (and read of the partition) per 25 active memberships left, or 100 left
//!   ones removed.
//! - activity (`GET /customers/{c}/activity`): GetItem (admin check) beside one Query: of the
//!   `ACTIVITY#{number}` partition by time (unfiltered), of LSI1's kind range (`kind`), or of
//!   GSI1's address partition (`email`; with `kind` too, a filter on kind, so it reads that
//!   address's entries of the range: bounded by one address's activity, not the customer's);
//!   newest first, `limit` items: 1 round trip. A page is read on (one more Query each) only
//!   when DynamoDB's 1 MB page ends first: a CSV page of 1,000 entries (~0.5 KB each) may take
//!   a second. The stamps cost no request path a round trip: they ride on the write the request
//!   already makes (a role's deletion: one item more in its last transaction).
//! - not-found (the `$default` route: unknown paths and methods): no AWS call at all.
//! - publisher (stream): no reads. Mailer, per event (every word from the table, never from the
//!   event): invitation = BatchGetItem (customer, invitation) and, concurrently, a Query of the
//!   customer's roles (the names the email says it grants: one round trip), and when the admin
//!   chose no language, GetItem (the address's credential) then GetItem (its user's language);
//!   welcome = GetItem (the user);
//!   member left = GetItem (the membership; when it is gone with its account, then GetItem of the
//!   deletion's record) and, concurrently, a Query of the customer's admin
//!   set, then BatchGetItem (their users: address and language); member joined = GetItem (the
//!   membership, naming the admin who sent the invitation) beside a Query of the customer's
//!   roles (names), then GetItem (that admin's user: address, language, `notifyOnAccept`) beside
//!   GetItem (its admin-set item: still an admin?); renewal requested = BatchGetItem (customer,
//!   invitation), then GetItem (its last sender's user) beside GetItem (that sender's admin-set
//!   item), and when that account is gone or no admin, the member-left email's two reads of
//!   every admin; account deleted = GetItem (the record); then
//!   per recipient PutItem (claim), the send, UpdateItem (sent).
//! - recorder (stream, [`crate::recorder`]): no reads. Per batch of records (up to 100), one
//!   TransactWriteItems per up to 100 items: a Put of each record's marker (`RECORDED#{seq}`,
//!   conditional on not existing: a record handed over again is refused there and skipped) and
//!   an UpdateItem (ADD) of each counter item its invitations' expiry hours touch, and a Put of
//!   each activity entry a record owes ([`crate::activity::writes`], pure: a stamped write's
//!   record owes one). 100 invites of one minute: ~3 transactions (100 markers, 100 entries, the
//!   counters); a refused one is retried record by record.
//! - link keys (invite, resend, accept, mailer): no DynamoDB; one Secrets Manager
//!   GetSecretValue at the first request that needs them and every 5 minutes after (and when a
//!   link names a key the function does not know, at most every 10 seconds).
//! - operator's create-customer: one TransactWriteItems (customer, roles and their name
//!   claims, user, credential, membership, seat), all conditional on not existing yet.

pub(crate) mod keys;
pub mod stamp;
pub(crate) mod transactions;

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::builders::{ConditionCheckBuilder, DeleteBuilder, PutBuilder, UpdateBuilder};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The names of the tables, as deployed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tables {
    /// Customers, roles, users, memberships, credentials, invitations.
    pub data: String,
    /// Sessions and log-in attempt counters.
    pub sessions: String,
}

impl Tables {
    /// Reads `DATA_TABLE_NAME` and `SESSIONS_TABLE_NAME`.
    pub fn from_env() -> anyhow::Result<Self> {
        let var =
            |name: &str| std::env::var(name).with_context(|| format!("The environment variable {name} is not set."));
        Ok(Self {
            data: var("DATA_TABLE_NAME")?,
            sessions: var("SESSIONS_TABLE_NAME")?,
        })
    }
}

/// The DynamoDB client and the tables it works on. Built once per cold start; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) client: Client,
    pub(crate) tables: Tables,
}

/// What a conditional UpdateItem did.
#[derive(Debug)]
pub(crate) enum Updated<T> {
    /// It was written; the item after it.
    Done(T),
    /// Its condition failed: the item as it was, if there was one.
    Refused(Option<Item>),
}

impl Store {
    /// A store over an existing client.
    pub fn new(client: Client, tables: Tables) -> Self {
        Self { client, tables }
    }

    /// A store configured from Lambda's environment ([`crate::aws::sdk_config`]; `AWS_ENDPOINT_URL`
    /// for DynamoDB Local), with the table names from the environment.
    pub fn from_env() -> anyhow::Result<Self> {
        let config = crate::aws::sdk_config(crate::aws::Service::DynamoDb)?;
        Ok(Self::new(Client::new(&config), Tables::from_env()?))
    }

    /// The underlying client, for operators' tools and tests.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The table names.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// The data-table item at `key`, as `T` (one consistent GetItem); `what` names it in errors.
    pub(crate) async fn get<T: DeserializeOwned>(&self, key: Item, what: &str) -> anyhow::Result<Option<T>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.data)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(crate::aws::sdk_error(format!("Failed to read {what}.")))?;
        output.item.map(|item| decode(item, what)).transpose()
    }

    /// A consistent Query of the data table, for [`Store::query_all`].
    pub(crate) fn query(&self) -> QueryFluentBuilder {
        self.client.query().table_name(&self.tables.data).consistent_read(true)
    }

    /// Every item `query` finds, over all its pages, as stored.
    pub(crate) async fn query_all_items(&self, query: QueryFluentBuilder, what: &str) -> anyhow::Result<Vec<Item>> {
        query
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .map_err(crate::aws::sdk_error(format!("Failed to query {what}.")))
    }

    /// Every item `query` finds, over all its pages, as `T`.
    pub(crate) async fn query_all<T: DeserializeOwned>(
        &self,
        query: QueryFluentBuilder,
        what: &str,
    ) -> anyhow::Result<Vec<T>> {
        self.query_all_items(query, what)
            .await?
            .into_iter()
            .map(|item| decode(item, what))
            .collect()
    }

    /// The items of partition `pk` whose sort key starts with `prefix` (consistent, all pages).
    pub(crate) fn query_prefix(&self, pk: String, prefix: &str) -> QueryFluentBuilder {
        self.query()
            .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
            .expression_attribute_values(":pk", AttributeValue::S(pk))
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
    }

    /// Runs a conditional UpdateItem and returns the item after it, or, when its condition
    /// failed, the item as it was.
    pub(crate) async fn update_returning<T: DeserializeOwned>(
        &self,
        update: UpdateItemFluentBuilder,
        what: &str,
    ) -> anyhow::Result<Updated<T>> {
        let result = update
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(Updated::Done(decode(output.attributes.unwrap_or_default(), what)?)),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(UpdateItemError::is_conditional_check_failed_exception) =>
            {
                match error.into_service_error() {
                    UpdateItemError::ConditionalCheckFailedException(failed) => Ok(Updated::Refused(failed.item)),
                    _ => Ok(Updated::Refused(None)),
                }
            }
            Err(error) => Err(crate::aws::sdk_error(format!("Failed to update {what}."))(error)),
        }
    }

    /// An UpdateItem of the data-table item at `key`.
    pub(crate) fn update_item(&self, key: Item) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.tables.data)
            .set_key(Some(key))
    }

    /// A transaction's put of `item` into the data table.
    pub(crate) fn put(&self, item: impl Serialize) -> anyhow::Result<PutBuilder> {
        let item = serde_dynamo::to_item(item).context("Failed to serialise an item.")?;
        Ok(aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.tables.data)
            .set_item(Some(item)))
    }

    /// A transaction's put of an item whose key must not exist yet.
    pub(crate) fn put_new(&self, item: impl Serialize) -> anyhow::Result<TransactWriteItem> {
        self.put(item)?
            .condition_expression("attribute_not_exists(PK)")
            .into_item()
    }

    /// A transaction's put of an item whose key must not exist yet, with `stamp` on it (a
    /// change the activity log records).
    pub(crate) fn put_new_stamped(
        &self,
        item: impl Serialize,
        stamp: &stamp::Stamp,
    ) -> anyhow::Result<TransactWriteItem> {
        let item = stamp.on_item(serde_dynamo::to_item(item).context("Failed to serialise an item.")?)?;
        aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.tables.data)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .into_item()
    }

    /// A transaction's update of the data-table item at `key`.
    pub(crate) fn update(&self, key: Item) -> UpdateBuilder {
        aws_sdk_dynamodb::types::Update::builder()
            .table_name(&self.tables.data)
            .set_key(Some(key))
    }

    /// A transaction's delete of the data-table item at `key`.
    pub(crate) fn delete(&self, key: Item) -> DeleteBuilder {
        aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.tables.data)
            .set_key(Some(key))
    }

    /// A transaction's condition on the data-table item at `key`.
    pub(crate) fn check(&self, key: Item) -> ConditionCheckBuilder {
        aws_sdk_dynamodb::types::ConditionCheck::builder()
            .table_name(&self.tables.data)
            .set_key(Some(key))
    }

    /// Reads `keys` of the data table with consistent BatchGetItem calls (100 keys each),
    /// retrying unprocessed keys until none are left. Items come back in no particular order.
    pub(crate) async fn batch_get(&self, keys: Vec<Item>) -> anyhow::Result<Vec<Item>> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(100) {
            let wanted = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                .set_keys(Some(chunk.to_vec()))
                .consistent_read(true)
                .build()
                .context("A BatchGetItem request is malformed.")?;
            let mut request = std::collections::HashMap::from([(self.tables.data.clone(), wanted)]);
            while !request.is_empty() {
                let output = self
                    .client
                    .batch_get_item()
                    .set_request_items(Some(request))
                    .send()
                    .await
                    .map_err(crate::aws::sdk_error("BatchGetItem failed."))?;
                found.extend(output.responses.unwrap_or_default().into_values().flatten());
                request = output.unprocessed_keys.unwrap_or_default();
            }
        }
        Ok(found)
    }
}

/// A Put, Update, Delete or ConditionCheck made into one item of a transaction.
pub(crate) trait IntoTransactionItem {
    /// The transaction item, or why it could not be built.
    fn into_item(self) -> anyhow::Result<TransactWriteItem>;
}

impl IntoTransactionItem for PutBuilder {
    fn into_item(self) -> anyhow::Result<TransactWriteItem> {
        Ok(TransactWriteItem::builder()
            .put(transactions::built(self.build())?)
            .build())
    }
}

impl IntoTransactionItem for UpdateBuilder {
    fn into_item(self) -> anyhow::Result<TransactWriteItem> {
        Ok(TransactWriteItem::builder()
            .update(transactions::built(self.build())?)
            .build())
    }
}

impl IntoTransactionItem for DeleteBuilder {
    fn into_item(self) -> anyhow::Result<TransactWriteItem> {
        Ok(TransactWriteItem::builder()
            .delete(transactions::built(self.build())?)
            .build())
    }
}

impl IntoTransactionItem for ConditionCheckBuilder {
    fn into_item(self) -> anyhow::Result<TransactWriteItem> {
        Ok(TransactWriteItem::builder()
            .condition_check(transactions::built(self.build())?)
            .build())
    }
}

/// A stored item, as the SDK returns it.
pub(crate) type Item = std::collections::HashMap<String, AttributeValue>;

/// A stored item as `T`; `what` names it when it is malformed.
pub(crate) fn decode<T: DeserializeOwned>(item: Item, what: &str) -> anyhow::Result<T> {
    serde_dynamo::from_item(item).with_context(|| format!("A stored item ({what}) is malformed."))
}

/// The primary key of a data-table item.
pub(crate) fn item_key(pk: String, sk: String) -> Item {
    std::collections::HashMap::from([
        (keys::PK.to_owned(), AttributeValue::S(pk)),
        (keys::SK.to_owned(), AttributeValue::S(sk)),
    ])
}

/// A string attribute value.
pub(crate) fn text(value: impl ToString) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

/// A number attribute value.
pub(crate) fn number(value: impl Into<i64>) -> AttributeValue {
    AttributeValue::N(value.into().to_string())
}

/// Any serialisable value as an attribute value (sets, lists, maps).
pub(crate) fn value(value: &impl Serialize) -> anyhow::Result<AttributeValue> {
    serde_dynamo::to_attribute_value(value).context("Failed to serialise an attribute.")
}

/// A time as stored: RFC 3339, as `time::serde::rfc3339` writes it.
pub(crate) fn time_text(at: time::OffsetDateTime) -> anyhow::Result<AttributeValue> {
    Ok(AttributeValue::S(
        at.format(&time::format_description::well_known::Rfc3339)
            .context("Failed to format a time.")?,
    ))
}

/// Seconds since the epoch, the unit of DynamoDB's TTL attribute.
pub(crate) fn epoch_seconds(at: time::OffsetDateTime) -> i64 {
    at.unix_timestamp()
}
