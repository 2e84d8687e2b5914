//! Inviting up to 50 email addresses to a customer in one request, with one result per row.
//!
//! Rows are merged by their canonical email first: a later row of an address already in the
//! batch is not invited again, it answers with the first row's result. The rest are invited
//! in chunks, one TransactWriteItems per chunk, one chunk after the other (every chunk updates
//! the admin's one quota counter, so two at once would only conflict):
//! - A chunk holds the admin's quota counter, spent as one `ADD n` on condition that all `n`
//!   fit into what is left today; the admin check; one check per distinct role its rows name;
//!   and per row its seat, its invitation and its link (a row whose address has an expired
//!   invitation sends that one again: the invitation and a new link). DynamoDB takes 100 items:
//!   32 rows without roles, fewer with them.
//! - A chunk is no larger than what is known to be left of the quota: at first the whole day's,
//!   then exactly what a refused counter said was left.
//! - A refused chunk is read back by part, and nothing of it was written: a row whose seat a
//!   member holds is `already-member`; one whose seat an invitation holds reads it (one
//!   BatchGetItem for all such rows): pending is `invitation-pending`, expired is sent again,
//!   deleted has its seat taken over; a row naming a role that is unknown or being changed is
//!   refused with it; a refused counter tells how many sends are left, and the chunk shrinks to
//!   them. Then the rest of the chunk is tried again. So only created rows spend quota, exactly,
//!   however many batches run at once; once nothing is left, every row not yet invited is
//!   `invitation-quota-exhausted`.
//! - The request fails as a whole (a non-admin, contention, an outage) only while nothing has
//!   been written; once a chunk has committed, such a failure is the answer of each row not yet
//!   invited, and the created rows are answered as created. A batch that keeps meeting
//!   conflicts starts no transaction after 3 s: its open rows are then `service-unavailable`.
//!
//! Each created row is an invitation item written with a new link, so the table's stream owes
//! its email exactly as for a single invite.
//!
//! Round trips for 50 new addresses: two TransactWriteItems, one after the other. A refused
//! chunk adds one (its retry), and one BatchGetItem when seats were held by invitations.

use super::invite::{NewInvitation, fresh, sent_again};
use crate::domain::{Admin, CustomerNumber, Email, InvalidValue, InvitationId, Language, RoleId};
use crate::invitations::{self, Invitation, InvitationError, InvitationStatus, quota_exhausted};
use crate::links::LinkKey;
use crate::memberships::admin_check;
use crate::quota::{self, DAILY_LIMIT};
use crate::roles::lock::{RolesRefused, refused_roles, usable};
use crate::seats::{self, Expected, Holder};
use crate::store::Store;
use crate::store::transactions::{MAX_ITEMS, Part, Refused, Transaction, TransactionError};
use std::collections::{BTreeSet, HashMap};
use time::OffsetDateTime;

/// Most rows one batch may have.
pub const MAX_ROWS: usize = 50;

/// Items of every chunk besides its rows and roles: the quota counter and the admin check.
const FIXED_ITEMS: usize = 2;

/// How often one row's seat may turn out held by someone else before the row gives up (as a
/// single invite does: a deleted invitation's seat, then a concurrent invite's).
const SEAT_READS: u32 = 3;

/// Transactions one batch may try, refusals included, before the rows left give up: enough for
/// two chunks refused by seats and then by the quota, not for a batch that never gets anywhere.
const ATTEMPTS: u32 = 12;

/// No transaction starts later than this after the batch began (the rows still open are then
/// `service-unavailable`): with one transaction's own retries on conflicts (about 3 s at most),
/// the answer comes well within the function's 10 s, which would otherwise end it unanswered
/// after some chunks were written.
const START_BY: std::time::Duration = std::time::Duration::from_secs(3);

/// One row as the admin sent it, its address parsed.
#[derive(Debug, Clone)]
pub enum BatchRow {
    /// An address that cannot be invited (`invalid-email`).
    Invalid(InvalidValue),
    /// An address to invite, with its roles and language.
    Invite {
        /// The address.
        email: Email,
        /// The roles to grant.
        role_ids: BTreeSet<RoleId>,
        /// The email's language, if chosen.
        language: Option<Language>,
    },
}

/// What became of one row.
#[derive(Debug)]
pub enum RowResult {
    /// Invited: this invitation was created, or its expired one sent again.
    Created(Box<Invitation>),
    /// Not invited, for this reason; nothing of the row was written.
    Refused(InvitationError),
    /// The address was not valid.
    Invalid(InvalidValue),
    /// The same address as this earlier row, whose result is this row's too.
    DuplicateOf(usize),
}

/// How a row is to be sent on its next try.
#[derive(Debug, Clone)]
enum Sending {
    /// A new invitation, taking the address's seat as expected.
    Fresh(Expected),
    /// The address's expired invitation, sent again.
    Again(Box<Invitation>),
}

/// A row not yet invited nor refused.
struct Row {
    /// Its index in the batch.
    index: usize,
    new: NewInvitation,
    sending: Sending,
    /// How often its seat was found held by another invitation.
    seat_reads: u32,
}

impl Row {
    /// The transaction items it takes besides its roles' checks.
    fn items(&self) -> usize {
        match self.sending {
            Sending::Fresh(_) => 3,
            Sending::Again(_) => 2,
        }
    }
}

/// Invites the rows of one batch to `customer`, chunk by chunk; one result per row, in order.
/// Fails as a whole (nothing written) only while no chunk has committed.
pub async fn invite_batch(
    store: &Store,
    key: &LinkKey,
    admin: &Admin,
    customer: &CustomerNumber,
    rows: Vec<BatchRow>,
    now: OffsetDateTime,
) -> Result<Vec<RowResult>, InvitationError> {
    let mut results: Vec<Option<RowResult>> = Vec::with_capacity(rows.len());
    let mut open = Vec::new();
    let mut first_of: HashMap<Email, usize> = HashMap::new();
    for (index, row) in rows.into_iter().enumerate() {
        match row {
            BatchRow::Invalid(invalid) => results.push(Some(RowResult::Invalid(invalid))),
            BatchRow::Invite {
                email,
                role_ids,
                language,
            } => {
                if let Some(first) = first_of.get(&email) {
                    results.push(Some(RowResult::DuplicateOf(*first)));
                    continue;
                }
                first_of.insert(email.clone(), index);
                results.push(None);
                open.push(Row {
                    index,
                    new: NewInvitation {
                        customer: customer.clone(),
                        email,
                        role_ids,
                        language,
                    },
                    sending: Sending::Fresh(Expected::Free),
                    seat_reads: 0,
                });
            }
        }
    }
    let mut batch = Batch {
        store,
        key,
        admin,
        customer,
        now,
        left: DAILY_LIMIT,
        committed: false,
        results,
        started: std::time::Instant::now(),
    };
    if open.is_empty() {
        // Nothing to write; still, a non-admin learns nothing, not even which addresses are valid.
        batch.check_admin().await?;
    } else {
        batch.run(open).await?;
    }
    batch
        .results
        .into_iter()
        .map(|result| result.ok_or_else(|| anyhow::anyhow!("A row of a batch was left without a result.").into()))
        .collect()
}

/// A batch being invited.
struct Batch<'a> {
    store: &'a Store,
    key: &'a LinkKey,
    admin: &'a Admin,
    customer: &'a CustomerNumber,
    now: OffsetDateTime,
    /// Sends known to be left today (at most; a concurrent request may spend some meanwhile).
    left: u32,
    /// Whether a chunk has committed: from then on failures are answered per row.
    committed: bool,
    /// The rows' results, by index; `None` while a row is open.
    results: Vec<Option<RowResult>>,
    started: std::time::Instant,
}

impl<'a> Batch<'a> {
    async fn run(&mut self, mut open: Vec<Row>) -> Result<(), InvitationError> {
        let mut attempts = 0;
        while !open.is_empty() {
            if self.left == 0 {
                for row in open.drain(..) {
                    self.answer(row.index, RowResult::Refused(quota_exhausted(self.now)));
                }
                break;
            }
            attempts += 1;
            if attempts > ATTEMPTS || self.started.elapsed() > START_BY {
                return self.stop(InvitationError::Contention, open);
            }
            let size = chunk_size(&open, self.left);
            let (transaction, made) = match self.transaction(&open[..size]) {
                Ok(built) => built,
                Err(error) => return self.stop(error.into(), open),
            };
            match transaction.commit("create a batch of invitations").await {
                Ok(()) => {
                    self.committed = true;
                    self.left = self.left.saturating_sub(u32::try_from(made.len()).unwrap_or(u32::MAX));
                    tracing::info!(invitations = made.len(), "a chunk of a batch of invitations created");
                    for (index, invitation) in made {
                        self.answer(index, RowResult::Created(Box::new(invitation)));
                    }
                    open.drain(..size);
                }
                Err(TransactionError::Refused(refused)) => {
                    if refused.failed(&Part::AdminCheck) {
                        return self.stop(InvitationError::NotAdmin, open);
                    }
                    if let Err(error) = self.read_refusal(&refused, &mut open, size).await {
                        return self.stop(error.into(), open);
                    }
                }
                Err(TransactionError::Contention) => return self.stop(InvitationError::Contention, open),
                Err(TransactionError::Other(error)) => return self.stop(error.into(), open),
            }
        }
        Ok(())
    }

    /// The chunk's transaction, and the invitation each of its rows will be once it commits.
    fn transaction(&self, chunk: &[Row]) -> anyhow::Result<(Transaction<'a>, Vec<(usize, Invitation)>)> {
        let store = self.store;
        let sends = u32::try_from(chunk.len())?;
        let mut transaction = Transaction::new(store);
        transaction
            .add(Part::Quota, quota::spend(store, &self.admin.user_id, sends, self.now)?)
            .add(
                Part::AdminCheck,
                admin_check(store, self.customer, &self.admin.user_id)?,
            );
        let roles: BTreeSet<RoleId> = chunk.iter().flat_map(|row| row.new.role_ids.iter().copied()).collect();
        for role in &roles {
            transaction.add(Part::Role(*role), usable(store, self.customer, role, self.now)?);
        }
        let mut made = Vec::with_capacity(chunk.len());
        for row in chunk {
            let part = |part| Part::of_row(row.index, part);
            let invitation = match &row.sending {
                Sending::Fresh(expected) => {
                    let invitation = fresh(self.key, self.admin, &row.new, self.now);
                    transaction
                        .add(
                            part(Part::Seat),
                            seats::take_for_invitation(store, self.customer, &row.new.email, invitation.id, *expected)?,
                        )
                        .add(part(Part::Invitation), invitations::put_new(store, &invitation)?);
                    invitation
                }
                Sending::Again(expired) => {
                    let previous = expired.link.hash.clone();
                    let invitation = sent_again(self.key, self.admin, (**expired).clone(), &row.new, self.now);
                    transaction.add(
                        part(Part::Invitation),
                        invitations::replace_expired(store, &invitation, &previous)?,
                    );
                    invitation
                }
            };
            made.push((row.index, invitation));
        }
        Ok((transaction, made))
    }

    /// Learns what a refused chunk (the first `size` open rows) says: rows refused for good,
    /// rows to send another way, how much quota is left. Fails when the refusal explains nothing.
    async fn read_refusal(&mut self, refused: &Refused, open: &mut Vec<Row>, size: usize) -> anyhow::Result<()> {
        let mut settled: Vec<(usize, InvitationError)> = Vec::new();
        let chunk = &open[..size];
        match refused_roles(refused) {
            Some(RolesRefused::Unknown(unknown)) => {
                for row in chunk {
                    let theirs: Vec<RoleId> = unknown
                        .iter()
                        .filter(|id| row.new.role_ids.contains(id))
                        .copied()
                        .collect();
                    if !theirs.is_empty() {
                        settled.push((row.index, InvitationError::UnknownRoles(theirs)));
                    }
                }
            }
            Some(RolesRefused::BeingChanged(busy)) => {
                for row in chunk.iter().filter(|row| row.new.role_ids.contains(&busy)) {
                    settled.push((row.index, InvitationError::RoleBeingChanged(busy)));
                }
            }
            None => {}
        }
        let mut quota_learnt = false;
        if refused.failed(&Part::Quota) {
            // It refused `size` sends, so fewer are left, whatever a concurrent request did.
            let refused_sends = u32::try_from(size)?;
            self.left = quota::left_in(refused.item(&Part::Quota)).min(refused_sends.saturating_sub(1));
            quota_learnt = true;
        }
        let mut held: Vec<(usize, InvitationId)> = Vec::new();
        for (part, item) in refused.failures() {
            let Part::Row(index, part) = part else { continue };
            match **part {
                Part::Seat => match seats::holder(item)? {
                    Holder::Member => settled.push((*index, InvitationError::AlreadyMember)),
                    Holder::Invitation(id) => held.push((*index, id)),
                },
                // Only an expired invitation's send can fail (resent, deleted or sent again
                // meanwhile), as a single invite's does.
                Part::Invitation => settled.push((*index, InvitationError::ChangedMeanwhile)),
                _ => return Err(refused.unexplained("create a batch of invitations")),
            }
        }
        let reread = !held.is_empty();
        if reread {
            let ids: Vec<InvitationId> = held.iter().map(|(_, id)| *id).collect();
            let found = invitations::find_many(self.store, self.customer, &ids).await?;
            for (index, id) in held {
                let Some(row) = open.iter_mut().find(|row| row.index == index) else {
                    continue;
                };
                row.seat_reads += 1;
                if row.seat_reads > SEAT_READS {
                    settled.push((index, InvitationError::Contention));
                    continue;
                }
                match found.iter().find(|invitation| invitation.id == id) {
                    None => row.sending = Sending::Fresh(Expected::Stale(id)),
                    Some(kept) if !kept.is_open() => row.sending = Sending::Fresh(Expected::Stale(id)),
                    Some(existing) if existing.status(self.now) == InvitationStatus::Pending => {
                        settled.push((index, InvitationError::AlreadyInvited(existing.id)));
                    }
                    Some(expired) => row.sending = Sending::Again(Box::new(expired.clone())),
                }
            }
        }
        if settled.is_empty() && !reread && !quota_learnt {
            return Err(refused.unexplained("create a batch of invitations"));
        }
        for (index, error) in settled {
            open.retain(|row| row.index != index);
            self.answer(index, RowResult::Refused(error));
        }
        Ok(())
    }

    /// A failure that ends the batch: the request's, while nothing is written; else the answer
    /// of every row still open.
    fn stop(&mut self, error: InvitationError, open: Vec<Row>) -> Result<(), InvitationError> {
        if !self.committed {
            return Err(error);
        }
        tracing::warn!(error = %error, rows = open.len(), "a batch of invitations stopped after a chunk committed");
        for row in open {
            self.answer(row.index, RowResult::Refused(for_each_row(&error)));
        }
        Ok(())
    }

    /// The admin check alone, for a batch with nothing to write.
    async fn check_admin(&self) -> Result<(), InvitationError> {
        let mut transaction = Transaction::new(self.store);
        transaction.add(
            Part::AdminCheck,
            admin_check(self.store, self.customer, &self.admin.user_id)?,
        );
        match transaction.commit("check an admin").await {
            Ok(()) => Ok(()),
            Err(TransactionError::Refused(refused)) if refused.failed(&Part::AdminCheck) => {
                Err(InvitationError::NotAdmin)
            }
            Err(TransactionError::Refused(refused)) => Err(refused.unexplained("check an admin").into()),
            Err(TransactionError::Contention) => Err(InvitationError::Contention),
            Err(TransactionError::Other(error)) => Err(error.into()),
        }
    }

    fn answer(&mut self, index: usize, result: RowResult) {
        if let Some(slot) = self.results.get_mut(index) {
            *slot = Some(result);
        }
    }
}

/// How many of the open rows, from the first, the next chunk takes: as many as fit into one
/// transaction and into what is left of the quota.
fn chunk_size(open: &[Row], left: u32) -> usize {
    let left = usize::try_from(left).unwrap_or(usize::MAX);
    let mut roles: BTreeSet<RoleId> = BTreeSet::new();
    let mut items = FIXED_ITEMS;
    let mut size = 0;
    for row in open.iter().take(left) {
        let new_roles = row.new.role_ids.difference(&roles).count();
        if items + new_roles + row.items() > MAX_ITEMS {
            break;
        }
        items += new_roles + row.items();
        roles.extend(row.new.role_ids.iter().copied());
        size += 1;
    }
    // A row always fits alone: it has at most `MAX_ROLES` roles.
    size.max(1)
}

/// A failure that ended a batch, as the answer of one of the rows it left open.
fn for_each_row(error: &InvitationError) -> InvitationError {
    match error {
        InvitationError::NotAdmin => InvitationError::NotAdmin,
        InvitationError::Contention => InvitationError::Contention,
        InvitationError::Unexpected(cause) if crate::aws::is_unavailable(cause) => InvitationError::Unexpected(
            anyhow::anyhow!("The batch stopped before this row: {cause:#}").context(crate::aws::Unavailable),
        ),
        other => InvitationError::Unexpected(anyhow::anyhow!("The batch stopped before this row: {other:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(index: usize, roles: usize) -> Row {
        Row {
            index,
            new: NewInvitation {
                customer: CustomerNumber::parse("100234").unwrap(),
                email: Email::parse(&format!("row{index}@example.com")).unwrap(),
                role_ids: (0..roles).map(|_| RoleId::generate()).collect(),
                language: None,
            },
            sending: Sending::Fresh(Expected::Free),
            seat_reads: 0,
        }
    }

    #[test]
    fn a_chunk_fills_one_transaction_and_no_more_than_the_quota_left() {
        let plain: Vec<Row> = (0..50).map(|i| row(i, 0)).collect();
        // The quota counter and the admin check, then three items per row.
        assert_eq!(chunk_size(&plain, 50), 32);
        assert_eq!(chunk_size(&plain[32..], 50), 18);
        assert_eq!(chunk_size(&plain, 7), 7);
        // Each role is checked once per chunk, however many rows name it.
        let with_roles: Vec<Row> = (0..50).map(|i| row(i, 20)).collect();
        assert_eq!(
            chunk_size(&with_roles, 50),
            4,
            "2 + 4 × (20 + 3) = 94; a fifth would make 117"
        );
        let shared = with_roles[0].new.role_ids.clone();
        let same_roles: Vec<Row> = (0..50)
            .map(|i| Row {
                new: NewInvitation {
                    role_ids: shared.clone(),
                    ..row(i, 0).new
                },
                ..row(i, 0)
            })
            .collect();
        assert_eq!(chunk_size(&same_roles, 50), 26, "2 + 20 + 26 × 3 = 100");
    }
}
