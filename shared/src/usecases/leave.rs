//! Leaving a customer: a member cancels its own access.

use crate::accounts;
use crate::customers::{is_admin, member_count_change, not_admin_check, remove_admin};
use crate::domain::{CompanyName, CustomerNumber, Language, UserId};
use crate::memberships::{self, MembershipStatus};
use crate::seats;
use crate::store::Store;
use crate::store::transactions::{Part, Transaction, TransactionError};
use time::OffsetDateTime;

/// Where the portal goes after a member left a customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextScreen {
    /// Two or more customers remain: the user picks one.
    ChooseCustomer,
    /// One customer remains: its home page.
    Home {
        /// The customer.
        customer_number: CustomerNumber,
        /// Its company name.
        company_name: CompanyName,
    },
    /// None remain: only language settings and log-out work.
    NoAccess {
        /// The user's language, to tell it so.
        language: Language,
    },
}

/// Why a member could not leave. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum LeaveError {
    /// The user has no active membership in the customer.
    #[error("You have no access to this customer.")]
    NotMember,
    /// The user is the customer's last admin.
    #[error("You are the last admin of this customer. Make another member an admin first, then leave.")]
    LastAdmin,
    /// The membership kept changing meanwhile.
    #[error("Your access to this customer changed meanwhile; try again.")]
    ChangedMeanwhile,
    /// Other requests kept conflicting.
    #[error("The service is busy.")]
    Contention,
    /// Anything else.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Cancels `user`'s membership in `customer`, blocking its access at once: every access check
/// reads the membership consistently, so the very next request, on any session, is refused.
/// One read of the account (and, beside it, of whether the user is an admin), then one
/// transaction: the membership marked left (unchanged since
/// read), its seat freed (so the user can be invited again), and the admin count lowered when
/// the user was an admin, on condition another admin remains. The membership's change to `left`
/// is what owes the admins their email (the table's stream publishes it).
pub async fn leave(
    store: &Store,
    user: &UserId,
    customer: &CustomerNumber,
    now: OffsetDateTime,
) -> Result<NextScreen, LeaveError> {
    // A role change racing the leave changes the revision; read again and retry.
    for _ in 0..3 {
        let ((account, memberships), was_admin) =
            tokio::try_join!(accounts::load_items(store, user), is_admin(store, customer, user))?;
        let language = account.map(|user| user.language).unwrap_or_default();
        let (leaving, others): (Vec<_>, Vec<_>) = memberships
            .into_iter()
            .filter(|m| m.status == MembershipStatus::Active)
            .partition(|m| &m.customer_number == customer);
        let leaving = leaving.into_iter().next().ok_or(LeaveError::NotMember)?;

        let mut transaction = Transaction::new(store);
        transaction
            .add(Part::Membership(*user), memberships::mark_left(store, &leaving, now)?)
            .add(Part::Seat, seats::free(store, customer, &leaving.email, user)?);
        transaction.add(
            Part::Customer,
            member_count_change(store, customer, -1, -i64::from(was_admin))?,
        );
        if was_admin {
            transaction.add(Part::AdminSet, remove_admin(store, customer, user, None)?);
        } else {
            // Read beside the membership, not with it: had the user become an admin meanwhile,
            // leaving must not keep it in the admin set.
            transaction.add(Part::AdminSet, not_admin_check(store, customer, user)?);
        }
        match transaction.commit("leave a customer").await {
            Ok(()) => {
                tracing::info!("left the customer");
                return Ok(match others.len() {
                    0 => NextScreen::NoAccess { language },
                    1 => NextScreen::Home {
                        customer_number: others[0].customer_number.clone(),
                        company_name: others[0].company_name.clone(),
                    },
                    _ => NextScreen::ChooseCustomer,
                });
            }
            Err(TransactionError::Refused(refused)) => {
                if refused.failed(&Part::Customer) && !refused.failed(&Part::Membership(*user)) {
                    return Err(LeaveError::LastAdmin);
                }
            }
            Err(TransactionError::Contention) => return Err(LeaveError::Contention),
            Err(TransactionError::Other(error)) => return Err(error.into()),
        }
    }
    Err(LeaveError::ChangedMeanwhile)
}
