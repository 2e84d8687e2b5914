//! Deleting one's own account (`DELETE /me`): confirmed by the account's password, which counts
//! toward log-in's throttle like a log-in; allowed while the account has no active membership,
//! or, when asked to, after leaving every customer in the same request; refused while the
//! account is the last admin of any customer.
//!
//! **What goes, in which order.** Everything of the account goes in one final transaction: the
//! credential (no log-in from then on, and the address can register again), the user item, every
//! membership (an active one on the conditions of leaving: its seat freed, the customer's member
//! and admin counts, the admin set; the admin count's condition keeps the last-admin rule exact
//! under any concurrency) and, in their place, the [`crate::deleted_accounts`] record the
//! emails are read from. So an account is either whole (and logs in) or gone: never half
//! deleted. The sessions and the email's failed log-ins are ended after that transaction (they
//! are in the other table): a failure there is answered (503 when DynamoDB is unavailable), and
//! the retry, with any session of the account, finds the record and ends them.
//!
//! **The 100 items of a transaction.** The final transaction holds 3 items, 4 per active
//! membership and 1 per left one. When that is over 100, the active memberships beyond it are
//! first left in transactions of their own (25 customers each, as `POST .../leave` would: each is
//! a complete leave, and their "member left" emails are owed as for any leave); a refusal there
//! (a last admin after all) leaves an account that is whole and has left some customers, and
//! answers as the refusal. Left memberships beyond 97 are removed before the final transaction
//! (100 at a time); their removal is harmless (their seats were freed when they were left),
//! though a "member left" email still in flight for one of them then finds no record and is
//! skipped.

use crate::accounts;
use crate::customers::{AdminStanding, member_count_change, not_admin_check, remove_admin, standings};
use crate::deleted_accounts::{self, DeletedAccount, FormerCustomer};
use crate::domain::{CustomerNumber, Email, Password, PasswordHash, SourceAddress, UserId};
use crate::memberships::{self, MembershipItem, MembershipStatus};
use crate::seats;
use crate::sessions::{self, Attempt, Refusal};
use crate::store::Store;
use crate::store::transactions::{MAX_ITEMS, Part, Transaction, TransactionError};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Items of the final transaction besides the memberships: the record, the credential, the user.
const FIXED_ITEMS: usize = 3;
/// Items an active membership adds: itself, its seat, the customer item, the admin set.
const ITEMS_PER_ACTIVE: usize = 4;
/// Customers a leaving transaction before the final one takes.
const LEAVE_CHUNK: usize = MAX_ITEMS / ITEMS_PER_ACTIVE;
/// How often a deletion whose reads went stale is tried again.
const ATTEMPTS: usize = 3;

/// A request to delete an account.
pub struct Deletion<'a> {
    /// The account (the caller's session).
    pub user: UserId,
    /// Its address (the caller's session, and typed again by the caller).
    pub email: &'a Email,
    /// The account's password, typed again.
    pub password: Password,
    /// Where the request comes from, for the log-in throttle.
    pub source: &'a SourceAddress,
    /// Leave every customer first.
    pub leave_customers: bool,
}

/// What a deletion did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    /// The customers left in the same request.
    pub left_customers: Vec<CustomerNumber>,
}

/// Why an account was not deleted. Nothing was written, except where said.
#[derive(Debug, thiserror::Error)]
pub enum DeleteAccountError {
    /// The password is not the account's (counted as a failed log-in).
    #[error("The password is not correct.")]
    WrongPassword,
    /// Too many failed log-ins for the address from this source, or from this source.
    #[error("Too many failed log-ins.")]
    TooManyAttempts(Refusal),
    /// The account still has access to customers, and the request did not ask to leave them.
    #[error(
        "Your account still has access to customers {}. Leave them first, or send `leaveCustomers: true`.",
        numbers(.0)
    )]
    MembershipsRemain(Vec<CustomerNumber>),
    /// The account is the last admin of these customers.
    #[error(
        "You are the last admin of customers {}. Make another member an admin there first.",
        numbers(.0)
    )]
    LastAdmin(Vec<CustomerNumber>),
    /// The account's memberships kept changing meanwhile.
    #[error("Your account changed meanwhile; try again.")]
    ChangedMeanwhile,
    /// Other requests kept conflicting.
    #[error("The service is busy.")]
    Contention,
    /// The session's account does not exist (and was not just deleted).
    #[error("The account does not exist.")]
    AccountGone,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

fn numbers(customers: &[CustomerNumber]) -> String {
    customers.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

impl From<TransactionError> for DeleteAccountError {
    fn from(error: TransactionError) -> Self {
        match error {
            TransactionError::Contention => Self::Contention,
            TransactionError::Other(error) => Self::Unexpected(error),
            TransactionError::Refused(refused) => Self::Unexpected(refused.unexplained("delete an account")),
        }
    }
}

/// Deletes the account, as the module's documentation says. Round trips: the attempt counted
/// (two UpdateItems), the credential (GetItem), the account's partition (Query) and the record
/// of an earlier deletion (GetItem), all at once; the password checked; with active memberships,
/// one BatchGetItem (each customer item and the account's admin-set item there); the final
/// TransactWriteItems; then the sessions ended (a Query of the sessions table's `ByEmail` index,
/// one BatchWriteItem per 25), beside the attempt taken back. Four, five with customers to leave.
#[tracing::instrument(name = "Deleting an account", skip_all, fields(user_id = %deletion.user))]
pub async fn delete(store: &Store, deletion: Deletion<'_>, now: OffsetDateTime) -> Result<Deleted, DeleteAccountError> {
    let Deletion {
        user,
        email,
        password,
        source,
        leave_customers,
    } = deletion;
    let (counted, credential, partition, record) = tokio::join!(
        sessions::count_login_attempt(store, email, source, now),
        accounts::find_credential(store, email),
        accounts::load_items(store, &user),
        deleted_accounts::find(store, &user, now),
    );
    let (account, memberships) = partition?;
    let Some(account) = account else {
        // Deleted already, by this request's earlier try whose last step failed: finish it.
        if record?.is_some_and(|record| record.email == *email) {
            sessions::end_all_of(store, &user, email, false).await?;
            return Ok(Deleted {
                left_customers: Vec::new(),
            });
        }
        return Err(DeleteAccountError::AccountGone);
    };
    if let Attempt::Refused(refusal) = counted? {
        return Err(DeleteAccountError::TooManyAttempts(refusal));
    }
    // An unknown credential is checked against the dummy hash: the same time as a wrong password.
    let (known, hash) = match credential?.filter(|credential| credential.user_id == user) {
        Some(credential) => (true, credential.password_hash),
        None => (false, PasswordHash::dummy()),
    };
    if !hash.verify(password).await? || !known {
        tracing::info!("wrong password for deleting the account");
        return Err(DeleteAccountError::WrongPassword);
    }
    // A right password is no failed log-in, whatever the deletion's outcome: its attempt is
    // taken back beside the rest.
    let (deleted, ()) = tokio::join!(
        delete_confirmed(store, user, email, account.language, memberships, leave_customers, now),
        sessions::login_succeeded(store, email, source, now),
    );
    deleted
}

/// The deletion once the password was right: the memberships left and the account deleted.
async fn delete_confirmed(
    store: &Store,
    user: UserId,
    email: &Email,
    language: crate::domain::Language,
    mut memberships: Vec<MembershipItem>,
    leave_customers: bool,
    now: OffsetDateTime,
) -> Result<Deleted, DeleteAccountError> {
    let mut left_customers = Vec::new();
    let mut attempts = 0;
    let deleted = loop {
        let active: Vec<&MembershipItem> = memberships
            .iter()
            .filter(|m| m.status == MembershipStatus::Active)
            .collect();
        if !active.is_empty() && !leave_customers {
            return Err(DeleteAccountError::MembershipsRemain(
                active.iter().map(|m| m.customer_number.clone()).collect(),
            ));
        }
        let numbers: Vec<CustomerNumber> = active.iter().map(|m| m.customer_number.clone()).collect();
        let standings = standings(store, &user, &numbers).await?;
        let last: Vec<CustomerNumber> = standings
            .iter()
            .filter(|(_, standing)| standing.last_admin())
            .map(|(customer, _)| customer.clone())
            .collect();
        if !last.is_empty() {
            return Err(DeleteAccountError::LastAdmin(last));
        }
        let step = if fits(&memberships) {
            finish(store, &user, email, language, &memberships, &standings, now).await
        } else {
            make_room(store, &user, &memberships, &standings, now, &mut left_customers).await
        };
        match step {
            Ok(Step::Done) => break true,
            Ok(Step::Again) => {}
            Err(Stale::LastAdmin(customer)) => return Err(DeleteAccountError::LastAdmin(vec![customer])),
            Err(Stale::Changed) => {
                attempts += 1;
                if attempts == ATTEMPTS {
                    break false;
                }
            }
            Err(Stale::Failed(error)) => return Err(error),
        }
        let (still, read) = accounts::load_items(store, &user).await?;
        if still.is_none() {
            return Err(DeleteAccountError::AccountGone);
        }
        memberships = read;
    };
    if !deleted {
        return Err(DeleteAccountError::ChangedMeanwhile);
    }
    left_customers.extend(
        memberships
            .iter()
            .filter(|m| m.status == MembershipStatus::Active)
            .map(|m| m.customer_number.clone()),
    );
    tracing::info!(customers_left = left_customers.len(), "deleted the account");
    // The account is gone: what remains is in the sessions table. A failure here is answered,
    // and the retry finds the record and ends them.
    sessions::end_all_of(store, &user, email, true).await?;
    left_customers.sort();
    Ok(Deleted { left_customers })
}

fn fits(memberships: &[MembershipItem]) -> bool {
    let items: usize = memberships
        .iter()
        .map(|m| match m.status {
            MembershipStatus::Active => ITEMS_PER_ACTIVE,
            MembershipStatus::Left => 1,
        })
        .sum();
    FIXED_ITEMS + items <= MAX_ITEMS
}

/// What one step did.
enum Step {
    /// The account is deleted.
    Done,
    /// Room was made; read again and go on.
    Again,
}

/// Why a step wrote nothing.
enum Stale {
    /// The account is the last admin of this customer (found by the transaction's condition).
    LastAdmin(CustomerNumber),
    /// What it was computed from changed; read again.
    Changed,
    /// Anything else.
    Failed(DeleteAccountError),
}

impl From<anyhow::Error> for Stale {
    fn from(error: anyhow::Error) -> Self {
        Self::Failed(error.into())
    }
}

/// Adds the parts of leaving `membership` (row `row`) to `transaction`: the membership itself by
/// `membership_item`, its seat freed, the customer's counts, the admin set.
fn add_leaving(
    store: &Store,
    transaction: &mut Transaction<'_>,
    row: usize,
    membership: &MembershipItem,
    membership_item: aws_sdk_dynamodb::types::TransactWriteItem,
    standing: AdminStanding,
) -> anyhow::Result<()> {
    let (user, customer) = (&membership.user_id, &membership.customer_number);
    transaction
        .add(Part::of_row(row, Part::Membership(*user)), membership_item)
        .add(
            Part::of_row(row, Part::Seat),
            seats::free(store, customer, &membership.email, user)?,
        )
        .add(
            Part::of_row(row, Part::Customer),
            member_count_change(store, customer, -1, -i64::from(standing.is_admin))?,
        );
    // Read beside the memberships, not with them: had the user become an admin meanwhile, the
    // admin set must not keep it.
    let admin_set = if standing.is_admin {
        remove_admin(store, customer, user, None)?
    } else {
        not_admin_check(store, customer, user)?
    };
    transaction.add(Part::of_row(row, Part::AdminSet), admin_set);
    Ok(())
}

/// Reads a refused step's transaction: a customer's count refused while its membership was
/// as read is its last admin leaving; anything else went stale.
fn refusal(
    error: TransactionError,
    rows: &[&MembershipItem],
    standings: &BTreeMap<CustomerNumber, AdminStanding>,
) -> Stale {
    match error {
        TransactionError::Refused(refused) => {
            for (row, membership) in rows.iter().enumerate() {
                let counted = refused.failed(&Part::of_row(row, Part::Customer));
                let unchanged = !refused.failed(&Part::of_row(row, Part::Membership(membership.user_id)));
                let was_admin = standings
                    .get(&membership.customer_number)
                    .is_some_and(|standing| standing.is_admin);
                if counted && unchanged && was_admin {
                    return Stale::LastAdmin(membership.customer_number.clone());
                }
            }
            Stale::Changed
        }
        other => Stale::Failed(other.into()),
    }
}

/// The final transaction: the record, the credential, the user, every membership.
async fn finish(
    store: &Store,
    user: &UserId,
    email: &Email,
    language: crate::domain::Language,
    memberships: &[MembershipItem],
    standings: &BTreeMap<CustomerNumber, AdminStanding>,
    now: OffsetDateTime,
) -> Result<Step, Stale> {
    let former: BTreeMap<CustomerNumber, FormerCustomer> = memberships
        .iter()
        .map(|m| {
            // An active membership ends at its next revision, as leaving would make it.
            let revision = u64::from(m.revision) + u64::from(m.status == MembershipStatus::Active);
            (
                m.customer_number.clone(),
                FormerCustomer {
                    company_name: m.company_name.clone(),
                    revision,
                },
            )
        })
        .collect();
    let record = DeletedAccount::new(*user, email, language, now, former);
    let mut transaction = Transaction::new(store);
    transaction
        .add(Part::DeletedAccount, deleted_accounts::put(store, &record)?)
        .add(Part::Credential, accounts::remove_credential(store, email, user)?)
        .add(Part::User, accounts::remove_user(store, user)?);
    let rows: Vec<&MembershipItem> = memberships.iter().collect();
    for (row, membership) in rows.iter().enumerate() {
        let removal = memberships::remove(store, membership)?;
        match membership.status {
            MembershipStatus::Active => {
                let standing = standings.get(&membership.customer_number).copied().unwrap_or_default();
                add_leaving(store, &mut transaction, row, membership, removal, standing)?;
            }
            MembershipStatus::Left => {
                transaction.add(Part::of_row(row, Part::Membership(*user)), removal);
            }
        }
    }
    transaction
        .commit("delete an account")
        .await
        .map(|()| Step::Done)
        .map_err(|error| refusal(error, &rows, standings))
}

/// Too many memberships for the final transaction: leaves up to [`LEAVE_CHUNK`] active ones
/// (a complete leave each: marked left, seat freed, counts, admin set), or, with none left to
/// leave, removes up to 100 left ones.
async fn make_room(
    store: &Store,
    user: &UserId,
    memberships: &[MembershipItem],
    standings: &BTreeMap<CustomerNumber, AdminStanding>,
    now: OffsetDateTime,
    left_customers: &mut Vec<CustomerNumber>,
) -> Result<Step, Stale> {
    let mut transaction = Transaction::new(store);
    let active: Vec<&MembershipItem> = memberships
        .iter()
        .filter(|m| m.status == MembershipStatus::Active)
        .take(LEAVE_CHUNK)
        .collect();
    if active.is_empty() {
        let left: Vec<&MembershipItem> = memberships.iter().take(MAX_ITEMS).collect();
        for (row, membership) in left.iter().enumerate() {
            transaction.add(
                Part::of_row(row, Part::Membership(*user)),
                memberships::remove(store, membership)?,
            );
        }
        return transaction
            .commit("remove an account's left memberships")
            .await
            .map(|()| Step::Again)
            .map_err(|error| refusal(error, &left, standings));
    }
    for (row, membership) in active.iter().enumerate() {
        let standing = standings.get(&membership.customer_number).copied().unwrap_or_default();
        let left = memberships::mark_left(store, membership, now)?;
        add_leaving(store, &mut transaction, row, membership, left, standing)?;
    }
    transaction
        .commit("leave customers before deleting an account")
        .await
        .map_err(|error| refusal(error, &active, standings))?;
    left_customers.extend(active.iter().map(|m| m.customer_number.clone()));
    Ok(Step::Again)
}
