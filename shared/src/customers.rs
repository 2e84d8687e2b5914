//! Customers (tenants): the customer item, and the rule that a customer always keeps an admin.
//!
//! The item counts the members holding `user-management` (`adminCount`). Every transaction that
//! makes or unmakes an admin (accepting with an admin role, assigning roles, editing a role,
//! leaving) carries [`admin_count_change`], whose condition refuses to let the count fall
//! below one: "the last admin cannot leave or lose the right" is a condition on one item,
//! exact under any concurrency, never a count taken before the write.

use crate::domain::{CompanyName, CustomerNumber, Language};
use crate::store::{IntoTransactionItem as _, Item, Store, item_key, keys, number};
use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The attributes expressions name.
pub(crate) mod attr {
    /// Members holding `user-management`.
    pub(crate) const ADMIN_COUNT: &str = "adminCount";
}

#[derive(Debug, Serialize, Deserialize)]
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
            created_at: now,
        }
    }
}

/// The customer item's key.
pub(crate) fn key(customer: &CustomerNumber) -> Item {
    item_key(keys::customer(customer), keys::CUSTOMER_SK.into())
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
