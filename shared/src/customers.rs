//! Customers (tenants): the customer item, its admins, and the rule that a customer always
//! keeps an admin.
//!
//! **Who is an admin** is written down once per customer, in [`ADMIN_SHARDS`] admin-set items
//! (`ADMINS#{n}`, a string set of user ids each; a user's shard follows from its id), so that
//! "the caller is an admin of C" is a condition on one item whose key the request knows, inside
//! the same transaction as the write it guards, and so that a role edit that makes or unmakes
//! thousands of admins changes at most [`ADMIN_SHARDS`] items, in one transaction, at once. Every
//! write that changes who is an admin (accepting with an admin role, assigning roles, editing or
//! deleting a role, leaving, the first admin) changes the set in the same transaction: a user is
//! added only where absent and removed only where present, and each change bumps the shard's
//! `revision`, so a bulk change computed from a read can require that nothing changed since.
//!
//! The customer item counts the admins (`adminCount`). Every such transaction carries
//! [`admin_count_change`], whose condition refuses to let the count fall below one: "the last
//! admin cannot leave or lose the right" is a condition on one item, exact under any
//! concurrency, never a count taken before the write.

use crate::domain::{CompanyName, CustomerNumber, Language, UserId};
use crate::store::{IntoTransactionItem as _, Item, Store, item_key, keys, number, text};
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// How many items a customer's admin set is spread over: concurrent requests of different admins
/// mostly check different items, and a bulk change touches at most this many.
pub(crate) const ADMIN_SHARDS: u8 = 16;

/// The attributes expressions name.
pub(crate) mod attr {
    /// Members holding `user-management`.
    pub(crate) const ADMIN_COUNT: &str = "adminCount";
    /// Active members.
    pub(crate) const MEMBER_COUNT: &str = "memberCount";
    /// On an admin-set item: the admins' user ids (a string set, absent while empty).
    pub(crate) const USER_IDS: &str = "userIds";
    /// On an admin-set item: bumped by every change.
    pub(crate) const REVISION: &str = "revision";
    /// On the customer item: bumped by every change of what its roles grant in
    /// `user-management`, so two such changes computed from one state cannot both land.
    pub(crate) const ADMIN_ROLES_REVISION: &str = "adminRolesRevision";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CustomerItem {
    #[serde(rename = "PK")]
    pk: String,
    #[serde(rename = "SK")]
    sk: String,
    pub number: CustomerNumber,
    pub company_name: CompanyName,
    pub default_language: Language,
    /// Members holding `user-management`; kept exact by every transaction that changes it, so
    /// that "the last admin cannot leave" is a condition, not a count.
    pub admin_count: u32,
    /// Active members; kept exact by accepting and leaving (the users table's total).
    #[serde(default)]
    pub member_count: u32,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
}

impl CustomerItem {
    /// A new customer with its first admin.
    pub(crate) fn new(
        number: &CustomerNumber,
        company_name: &CompanyName,
        default_language: Language,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            pk: keys::customer(number),
            sk: keys::CUSTOMER_SK.into(),
            number: number.clone(),
            company_name: company_name.clone(),
            default_language,
            admin_count: 1,
            member_count: 1,
            created_at: now,
        }
    }
}

/// The customer item's key.
pub(crate) fn key(customer: &CustomerNumber) -> Item {
    item_key(keys::customer(customer), keys::CUSTOMER_SK.into())
}

/// Adds `members` to the customer's member count and `admins` to its admin count, refusing (its
/// condition fails) to let the admin count fall below one: a member joining or leaving.
pub(crate) fn member_count_change(
    store: &Store,
    customer: &CustomerNumber,
    members: i64,
    admins: i64,
) -> anyhow::Result<TransactWriteItem> {
    store
        .update(key(customer))
        .update_expression("ADD #members :members, #count :admins")
        .condition_expression("attribute_exists(PK) AND #count >= :needed")
        .expression_attribute_names("#members", attr::MEMBER_COUNT)
        .expression_attribute_names("#count", attr::ADMIN_COUNT)
        .expression_attribute_values(":members", number(members))
        .expression_attribute_values(":admins", number(admins))
        .expression_attribute_values(":needed", number(1 - admins.min(0)))
        .into_item()
}

/// Adds `delta` to the customer's admin count, refusing (its condition fails) to let it fall
/// below one: the last-admin rule.
pub(crate) fn admin_count_change(
    store: &Store,
    customer: &CustomerNumber,
    delta: i64,
) -> anyhow::Result<TransactWriteItem> {
    store
        .update(key(customer))
        .update_expression("ADD #count :delta")
        .condition_expression("#count >= :needed")
        .expression_attribute_names("#count", attr::ADMIN_COUNT)
        .expression_attribute_values(":delta", number(delta))
        // After the change at least one admin remains.
        .expression_attribute_values(":needed", number(1 - delta.min(0)))
        .into_item()
}

/// The admin-set item `user` belongs to.
pub(crate) fn shard_of(user: &UserId) -> u8 {
    // A ULID's last characters are random: a stable, even spread.
    let text = user.to_string();
    let sum: u32 = text.bytes().rev().take(4).map(u32::from).sum();
    u8::try_from(sum % u32::from(ADMIN_SHARDS)).unwrap_or(0)
}

fn shard_key(customer: &CustomerNumber, shard: u8) -> Item {
    item_key(keys::customer(customer), keys::admins_sk(shard))
}

/// One admin-set item as stored.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AdminShard {
    #[serde(rename = "SK")]
    sk: String,
    #[serde(default)]
    pub user_ids: BTreeSet<UserId>,
    #[serde(default)]
    pub revision: u64,
}

impl AdminShard {
    /// Which shard it is.
    pub(crate) fn number(&self) -> Option<u8> {
        keys::shard_of_admins_sk(&self.sk)
    }
}

/// How many active members `customer` has (one consistent GetItem of the customer item).
pub(crate) async fn member_count(store: &Store, customer: &CustomerNumber) -> anyhow::Result<u32> {
    let item: Option<CustomerItem> = store.get(key(customer), "a customer").await?;
    Ok(item.map_or(0, |customer| customer.member_count))
}

/// The condition, inside a transaction, that `user` is an admin of `customer`.
pub(crate) fn admin_check(
    store: &Store,
    customer: &CustomerNumber,
    user: &UserId,
) -> anyhow::Result<TransactWriteItem> {
    store
        .check(shard_key(customer, shard_of(user)))
        .condition_expression("contains(#users, :user)")
        .expression_attribute_names("#users", attr::USER_IDS)
        .expression_attribute_values(":user", text(user))
        .into_item()
}

/// Whether `user` is an admin of `customer` (one consistent GetItem), for reads that cannot
/// carry the check as a transaction condition.
pub(crate) async fn is_admin(store: &Store, customer: &CustomerNumber, user: &UserId) -> anyhow::Result<bool> {
    let shard: Option<AdminShard> = store
        .get(shard_key(customer, shard_of(user)), "a customer's admin set")
        .await?;
    Ok(shard.is_some_and(|shard| shard.user_ids.contains(user)))
}

/// Adds `user` to the admins, where it is not one yet (its condition fails otherwise). When
/// `acting` (the admin making the change) has its id in the same item, the condition also
/// requires it there: a transaction may touch an item once, so this write is its admin check.
pub(crate) fn add_admin(
    store: &Store,
    customer: &CustomerNumber,
    user: &UserId,
    acting: Option<&UserId>,
) -> anyhow::Result<TransactWriteItem> {
    one_admin(
        store,
        customer,
        user,
        acting,
        "ADD #users :user, #revision :one",
        "NOT contains(#users, :one_user)",
    )
}

/// Removes `user` from the admins, where it is one (its condition fails otherwise); `acting` as
/// for [`add_admin`].
pub(crate) fn remove_admin(
    store: &Store,
    customer: &CustomerNumber,
    user: &UserId,
    acting: Option<&UserId>,
) -> anyhow::Result<TransactWriteItem> {
    one_admin(
        store,
        customer,
        user,
        acting,
        "DELETE #users :user ADD #revision :one",
        "contains(#users, :one_user)",
    )
}

fn one_admin(
    store: &Store,
    customer: &CustomerNumber,
    user: &UserId,
    acting: Option<&UserId>,
    expression: &str,
    condition: &str,
) -> anyhow::Result<TransactWriteItem> {
    let mut update = store
        .update(shard_key(customer, shard_of(user)))
        .update_expression(expression)
        .expression_attribute_names("#users", attr::USER_IDS)
        .expression_attribute_names("#revision", attr::REVISION)
        .expression_attribute_values(":user", AttributeValue::Ss(vec![user.to_string()]))
        .expression_attribute_values(":one_user", text(user))
        .expression_attribute_values(":one", number(1));
    match acting.filter(|acting| *acting != user && shard_of(acting) == shard_of(user)) {
        Some(acting) => {
            update = update
                .condition_expression(format!("{condition} AND contains(#users, :acting)"))
                .expression_attribute_values(":acting", text(acting));
        }
        None => update = update.condition_expression(condition),
    }
    update.into_item()
}

/// The condition, inside a transaction, that `user` is not an admin of `customer` (a write that
/// read so and must not land if it became one meanwhile).
pub(crate) fn not_admin_check(
    store: &Store,
    customer: &CustomerNumber,
    user: &UserId,
) -> anyhow::Result<TransactWriteItem> {
    store
        .check(shard_key(customer, shard_of(user)))
        .condition_expression("NOT contains(#users, :user)")
        .expression_attribute_names("#users", attr::USER_IDS)
        .expression_attribute_values(":user", text(user))
        .into_item()
}

/// Whether a transaction that writes the admin-set items of `written` users carries `acting`'s
/// admin check in one of those writes (then it must not check it in an item of its own).
pub(crate) fn checked_by_writes<'a>(acting: &UserId, written: impl IntoIterator<Item = &'a UserId>) -> bool {
    let shard = shard_of(acting);
    written.into_iter().any(|user| shard_of(user) == shard)
}

/// Every admin-set item of a customer (one consistent Query; at most [`ADMIN_SHARDS`] items).
pub(crate) async fn admin_shards(store: &Store, customer: &CustomerNumber) -> anyhow::Result<Vec<AdminShard>> {
    let query = store.query_prefix(keys::customer(customer), keys::ADMINS_SK_PREFIX);
    store.query_all(query, "a customer's admin set").await
}

/// A customer's admins as a change of its roles' `user-management` reads them.
#[derive(Debug, Clone, Default)]
pub(crate) struct AdminState {
    /// The admin set's items.
    pub shards: Vec<AdminShard>,
    /// The customer item's [`attr::ADMIN_ROLES_REVISION`].
    pub roles_revision: u64,
    /// The customer item's admin count, as read.
    pub admin_count: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdminRevision {
    #[serde(default)]
    admin_roles_revision: u64,
    #[serde(default)]
    admin_count: i64,
}

/// The admin set and the customer item at once (one consistent Query: their sort keys are
/// adjacent, `ADMINS#..` then `CUSTOMER`).
pub(crate) async fn admin_state(store: &Store, customer: &CustomerNumber) -> anyhow::Result<AdminState> {
    let query = store
        .query()
        .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
        .expression_attribute_values(":pk", text(keys::customer(customer)))
        .expression_attribute_values(":from", text(keys::ADMINS_SK_PREFIX))
        .expression_attribute_values(":to", text(keys::CUSTOMER_SK));
    let mut state = AdminState::default();
    for item in store.query_all_items(query, "a customer's admins").await? {
        let sk = item
            .get(keys::SK)
            .and_then(|sk| sk.as_s().ok())
            .cloned()
            .unwrap_or_default();
        if sk == keys::CUSTOMER_SK {
            let customer = crate::store::decode::<AdminRevision>(item, "a customer")?;
            state.roles_revision = customer.admin_roles_revision;
            state.admin_count = customer.admin_count;
        } else {
            state.shards.push(crate::store::decode(item, "a customer's admin set")?);
        }
    }
    Ok(state)
}

/// The customer item's part in a change of what its roles grant in `user-management`: the
/// admin count changed by `delta` (never below one) and the roles' revision bumped, on
/// condition it is still `state`'s.
pub(crate) fn admin_roles_change(
    store: &Store,
    customer: &CustomerNumber,
    state: &AdminState,
    delta: i64,
) -> anyhow::Result<TransactWriteItem> {
    store
        .update(key(customer))
        .update_expression("ADD #count :delta, #revision :one")
        .condition_expression(
            "#count >= :needed AND (#revision = :seen OR (attribute_not_exists(#revision) AND :seen = :zero))",
        )
        .expression_attribute_names("#count", attr::ADMIN_COUNT)
        .expression_attribute_names("#revision", attr::ADMIN_ROLES_REVISION)
        .expression_attribute_values(":delta", number(delta))
        .expression_attribute_values(":needed", number(1 - delta.min(0)))
        .expression_attribute_values(":one", number(1))
        .expression_attribute_values(":zero", number(0))
        .expression_attribute_values(":seen", number(i64::try_from(state.roles_revision).unwrap_or(i64::MAX)))
        .return_values_on_condition_check_failure(aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld)
        .into_item()
}

/// Whether a refused [`admin_roles_change`] of `delta` found too few admins (rather than a
/// changed revision).
pub(crate) fn too_few_admins(customer_item: Option<&Item>, delta: i64) -> bool {
    customer_item
        .and_then(|item| item.get(attr::ADMIN_COUNT))
        .and_then(|count| count.as_n().ok())
        .and_then(|count| count.parse::<i64>().ok())
        .is_some_and(|count| count + delta < 1)
}

/// A customer's admins, as the admin set says.
pub(crate) fn admins_of(shards: &[AdminShard]) -> BTreeSet<UserId> {
    shards.iter().flat_map(|shard| shard.user_ids.iter().copied()).collect()
}

/// The writes that make `added` admins and `removed` no longer admins, shard by shard, each
/// conditional on its shard being as `read` (its revision; a shard not read must not exist):
/// a bulk change computed from a read of the set. Returns the writes and the change of the
/// admin count.
pub(crate) fn change_admins(
    store: &Store,
    customer: &CustomerNumber,
    read: &[AdminShard],
    added: &BTreeSet<UserId>,
    removed: &BTreeSet<UserId>,
    acting: Option<&UserId>,
) -> anyhow::Result<(Vec<TransactWriteItem>, i64, bool)> {
    let current = admins_of(read);
    let added: BTreeSet<UserId> = added.difference(&current).copied().collect();
    let removed: BTreeSet<UserId> = removed.intersection(&current).copied().collect();
    let mut writes = Vec::new();
    let mut checked = false;
    for shard in 0..ADMIN_SHARDS {
        let adding: Vec<String> = added
            .iter()
            .filter(|u| shard_of(u) == shard)
            .map(ToString::to_string)
            .collect();
        let removing: Vec<String> = removed
            .iter()
            .filter(|u| shard_of(u) == shard)
            .map(ToString::to_string)
            .collect();
        if adding.is_empty() && removing.is_empty() {
            continue;
        }
        let seen = read.iter().find(|s| s.number() == Some(shard)).map(|s| s.revision);
        let mut update = store
            .update(shard_key(customer, shard))
            .expression_attribute_names("#users", attr::USER_IDS)
            .expression_attribute_names("#revision", attr::REVISION)
            .expression_attribute_values(":one", number(1));
        // The acting admin's item carries its admin check: still an admin after this change.
        let check = if let Some(acting) = acting.filter(|acting| shard_of(acting) == shard) {
            checked = true;
            update = update.expression_attribute_values(":acting", text(acting));
            " AND contains(#users, :acting)"
        } else {
            ""
        };
        update = match seen {
            Some(revision) => update
                .condition_expression(format!("#revision = :seen{check}"))
                .expression_attribute_values(":seen", number(i64::try_from(revision).unwrap_or(i64::MAX))),
            None => update.condition_expression(format!("attribute_not_exists(#revision){check}")),
        };
        let expression = match (adding.is_empty(), removing.is_empty()) {
            (false, false) => "ADD #users :add, #revision :one DELETE #users :remove",
            (false, true) => "ADD #users :add, #revision :one",
            _ => "DELETE #users :remove ADD #revision :one",
        };
        if !adding.is_empty() {
            update = update.expression_attribute_values(":add", AttributeValue::Ss(adding));
        }
        if !removing.is_empty() {
            update = update.expression_attribute_values(":remove", AttributeValue::Ss(removing));
        }
        writes.push(update.update_expression(expression).into_item()?);
    }
    let delta = i64::try_from(added.len()).unwrap_or(i64::MAX) - i64::try_from(removed.len()).unwrap_or(i64::MAX);
    Ok((writes, delta, checked))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attributes_expressions_name_are_on_the_item() {
        let item = CustomerItem::new(
            &CustomerNumber::parse("100234").unwrap(),
            &CompanyName::parse("ACME").unwrap(),
            Language::De,
            OffsetDateTime::UNIX_EPOCH,
        );
        let stored: Item = serde_dynamo::to_item(item).unwrap();
        assert!(stored.contains_key(attr::ADMIN_COUNT));
    }
}
