//! The welcome tour: a member marks the steps of areas it reaches as seen.

use crate::domain::{CustomerNumber, Permission, UserId};
use crate::memberships::{self, Membership, TourError};
use crate::roles;
use crate::store::Store;
use std::collections::BTreeSet;

/// Records `steps` as seen in `user`'s membership of `customer`: the membership and the
/// customer's roles read at once (what it reaches is what its roles grant now), then one
/// conditional UpdateItem.
pub async fn complete(
    store: &Store,
    user: &UserId,
    customer: &CustomerNumber,
    steps: &BTreeSet<Permission>,
) -> Result<Membership, TourError> {
    let (membership, roles) = tokio::try_join!(
        memberships::find_item(store, user, customer),
        roles::items(store, customer),
    )?;
    let membership = membership.ok_or(TourError::NotAMember)?;
    let roles = roles.into_iter().map(|role| (role.id, role)).collect();
    memberships::complete_tour(store, membership, &roles, steps).await
}
