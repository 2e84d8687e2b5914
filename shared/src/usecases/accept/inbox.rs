//! The invitations addressed to a signed-in account, across customers, and accepting one without
//! its link: the account's email must be the invitation's (else 404, as if there were none),
//! and the accept is the link's, in one transaction that consumes the invitation's current link
//! (so a link accept and an inbox accept at once: exactly one wins).

use super::commit::Link;
use super::{Accept, AcceptError, Accepted, Acceptor, Proof};
use crate::customers::CustomerItem;
use crate::domain::{CompanyName, CustomerNumber, Email, InvitationId, RoleId, SourceAddress, UserId};
use crate::invitations::{self, Invitation, InvitationStatus, InviterView};
use crate::memberships::RoleRef;
use crate::roles::RoleItem;
use crate::store::transactions::{Part, Transaction, TransactionError};
use crate::store::{Item, Store, decode, keys};
use anyhow::Context as _;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;

/// One invitation waiting for the signed-in account. No token, no link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Waiting {
    /// The invitation.
    pub invitation_id: InvitationId,
    /// The customer it grants access to.
    pub customer_number: CustomerNumber,
    /// Its company name.
    pub company_name: CompanyName,
    /// The roles it grants, those that still exist.
    pub roles: Vec<RoleRef>,
    /// The admin who sent it.
    pub invited_by: InviterView,
    /// Until when it can be accepted.
    #[serde(serialize_with = "crate::domain::timestamp::serialize")]
    pub expires_at: OffsetDateTime,
}

/// The pending invitations addressed to `email` in any customer, newest send first: one Query
/// of GSI2 (eventually consistent), then one BatchGetItem of their customers and roles.
pub async fn waiting(store: &Store, email: &Email, now: OffsetDateTime) -> anyhow::Result<Vec<Waiting>> {
    let mut open: Vec<Invitation> = invitations::addressed_to(store, email)
        .await?
        .into_iter()
        .filter(|invitation| invitation.is_open() && invitation.status(now) == InvitationStatus::Pending)
        .collect();
    if open.is_empty() {
        return Ok(Vec::new());
    }
    open.sort_by_key(|invitation| std::cmp::Reverse((invitation.last_sent_at, invitation.id)));
    let customers: BTreeSet<&CustomerNumber> = open.iter().map(|i| &i.customer_number).collect();
    let roles: BTreeSet<(&CustomerNumber, &RoleId)> = open
        .iter()
        .flat_map(|i| i.role_ids.iter().map(move |role| (&i.customer_number, role)))
        .collect();
    let mut wanted: Vec<Item> = customers.into_iter().map(crate::customers::key).collect();
    wanted.extend(
        roles
            .into_iter()
            .map(|(customer, role)| crate::roles::key(customer, role)),
    );
    let mut names = BTreeMap::new();
    let mut roles = BTreeMap::new();
    for item in store
        .batch_get(wanted)
        .await
        .context("Failed to read the customers and roles of one's invitations.")?
    {
        let pk = item
            .get(keys::PK)
            .and_then(|pk| pk.as_s().ok())
            .cloned()
            .unwrap_or_default();
        if item.get(keys::SK).and_then(|sk| sk.as_s().ok()).map(String::as_str) == Some(keys::CUSTOMER_SK) {
            let customer: CustomerItem = decode(item, "a customer")?;
            names.insert(customer.number.clone(), customer.company_name);
        } else {
            let role: RoleItem = decode(item, "a role")?;
            roles.insert((pk, role.id), role.as_ref());
        }
    }
    Ok(open
        .into_iter()
        .filter_map(|invitation| {
            let company_name = names.get(&invitation.customer_number)?.clone();
            let pk = keys::customer(&invitation.customer_number);
            Some(Waiting {
                roles: invitation
                    .role_ids
                    .iter()
                    .filter_map(|id| roles.get(&(pk.clone(), *id)).cloned())
                    .collect(),
                invitation_id: invitation.id,
                customer_number: invitation.customer_number,
                company_name,
                invited_by: InviterView {
                    user_id: invitation.invited_by,
                    email: invitation.invited_by_email,
                },
                expires_at: invitation.expires_at,
            })
        })
        .collect())
}

/// How many pending invitations are addressed to `email` (`GET /me`): one Query of GSI2.
pub async fn count_waiting(store: &Store, email: &Email, now: OffsetDateTime) -> anyhow::Result<usize> {
    Ok(invitations::addressed_to(store, email)
        .await?
        .iter()
        .filter(|invitation| invitation.is_open() && invitation.status(now) == InvitationStatus::Pending)
        .count())
}

/// The signed-in account.
#[derive(Debug, Clone)]
pub struct Me {
    /// Its id.
    pub user_id: UserId,
    /// Its email: only invitations addressed to it are its.
    pub email: Email,
    /// Where the request came from.
    pub source: SourceAddress,
}

/// Accepts invitation `id` of `customer` for the signed-in account: one BatchGetItem of the
/// invitation and its customer, then the accept's transaction (as with a session on the link:
/// 2 round trips), which keeps the caller's session instead of starting one.
pub async fn accept_mine(
    store: &Store,
    me: &Me,
    customer: &CustomerNumber,
    id: &InvitationId,
    now: OffsetDateTime,
) -> Result<Accepted, AcceptError> {
    let (invitation, customer_item) = mine(store, me, customer, id, now).await?;
    let link = Link {
        hash: invitation.link.hash.clone(),
        new_session: false,
    };
    let proof = Proof {
        password: None,
        language: None,
        session: None,
        account: None,
        source: me.source.clone(),
    };
    let accept = Accept {
        store,
        link: &link,
        invitation: &invitation,
        proof: &proof,
        now,
    };
    // What became of an invitation taken meanwhile is the link's to tell; here, as for anything
    // not open, it is not found.
    accept
        .unread(customer_item, Acceptor::BySession { user_id: me.user_id })
        .await
        .map_err(|error| match error {
            AcceptError::Ended(_) => AcceptError::NotFound,
            other => other,
        })
}

/// Declines invitation `id` of `customer` for the signed-in account: one TransactWriteItems of
/// one conditional update that keeps it as declined (its link dead, its seat free for a new invitation, out of the
/// inbox), only while it is open and addressed to the account's email; anything else is 404,
/// never a hint that it exists. No email to anyone.
pub async fn decline_mine(
    store: &Store,
    me: &Me,
    customer: &CustomerNumber,
    id: &InvitationId,
    now: OffsetDateTime,
) -> Result<(), AcceptError> {
    let mut transaction = Transaction::new(store);
    transaction.add(
        Part::Invitation,
        invitations::decline(store, customer, id, &me.email, me.user_id, now)?,
    );
    match transaction.commit("decline an invitation").await {
        Ok(()) => {
            tracing::info!(invitation = %id, customer = %customer, "invitation declined");
            Ok(())
        }
        Err(TransactionError::Refused(_)) => Err(AcceptError::NotFound),
        Err(TransactionError::Contention) => Err(AcceptError::Contention),
        Err(TransactionError::Other(error)) => Err(error.into()),
    }
}

/// Invitation `id` of `customer` if it is addressed to the caller and pending, with its
/// customer; anyone else's (or none) is 404, the caller's expired one 410.
async fn mine(
    store: &Store,
    me: &Me,
    customer: &CustomerNumber,
    id: &InvitationId,
    now: OffsetDateTime,
) -> Result<(Invitation, CustomerItem), AcceptError> {
    let (invitation, customer_item) = super::invitation_and_customer(store, customer, id).await?;
    let invitation = invitation
        .map(Invitation::from)
        .filter(|invitation| invitation.email == me.email && invitation.is_open())
        .ok_or(AcceptError::NotFound)?;
    if invitation.status(now) != InvitationStatus::Pending {
        return Err(AcceptError::Expired);
    }
    let customer_item = customer_item.context("An invitation names a customer that does not exist.")?;
    Ok((invitation, customer_item))
}
