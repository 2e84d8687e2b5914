//! Who holds a role: member seats and listed invitations.

use crate::domain::{CustomerNumber, RoleId};
use crate::invitations::{self, RoleHolding};
use crate::seats::{self, SeatItem};
use crate::store::Store;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Who holds a role now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleUsage {
    /// Active members holding it.
    pub members: u32,
    /// Listed invitations (pending, or expired less than 30 days ago) that would grant it.
    pub open_invitations: u32,
}

/// A customer's member seats and invitations, with their roles.
pub(super) struct Holders {
    pub seats: Vec<SeatItem>,
    pub invitations: Vec<RoleHolding>,
}

impl Holders {
    /// The member seats holding `role`.
    pub(super) fn seats_holding(&self, role: &RoleId) -> Vec<&SeatItem> {
        self.seats.iter().filter(|seat| seat.role_ids.contains(role)).collect()
    }

    /// The invitations naming `role`, listed or not.
    pub(super) fn invitations_naming(&self, role: &RoleId) -> Vec<&RoleHolding> {
        self.invitations
            .iter()
            .filter(|invitation| invitation.role_ids.contains(role))
            .collect()
    }

    /// How many members and listed invitations hold `role` at `now`.
    pub(super) fn usage_of(&self, role: &RoleId, now: OffsetDateTime) -> RoleUsage {
        RoleUsage {
            members: count(self.seats_holding(role).len()),
            open_invitations: count(
                self.invitations_naming(role)
                    .into_iter()
                    .filter(|invitation| invitation.listed(now))
                    .count(),
            ),
        }
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Every member seat and every invitation of the customer (two consistent Queries, at once).
pub(super) async fn holders(store: &Store, customer: &CustomerNumber) -> anyhow::Result<Holders> {
    let (seats, invitations) = tokio::try_join!(
        seats::members(store, customer),
        invitations::role_holdings(store, customer),
    )?;
    Ok(Holders { seats, invitations })
}

/// How many members and open invitations hold each role of the customer.
pub async fn usage(
    store: &Store,
    customer: &CustomerNumber,
    now: OffsetDateTime,
) -> anyhow::Result<BTreeMap<RoleId, RoleUsage>> {
    let holders = holders(store, customer).await?;
    let mut usage: BTreeMap<RoleId, RoleUsage> = BTreeMap::new();
    for seat in &holders.seats {
        for role in &seat.role_ids {
            usage.entry(*role).or_default().members += 1;
        }
    }
    for invitation in holders.invitations.iter().filter(|invitation| invitation.listed(now)) {
        for role in &invitation.role_ids {
            usage.entry(*role).or_default().open_invitations += 1;
        }
    }
    Ok(usage)
}
