//! Key formats of every item; the table in `store`'s documentation lists them.

use crate::domain::{CustomerNumber, Email, InvitationId, SourceAddress, TokenHash, UserId};

pub(crate) const PK: &str = "PK";
pub(crate) const SK: &str = "SK";

pub(crate) fn customer(number: &CustomerNumber) -> String {
    format!("CUSTOMER#{number}")
}

pub(crate) const CUSTOMER_SK: &str = "CUSTOMER";

/// The customer whose partition a key names.
pub(crate) fn customer_of_pk(pk: &str) -> Option<CustomerNumber> {
    CustomerNumber::parse(pk.strip_prefix("CUSTOMER#")?).ok()
}

/// One item of a customer's admin set.
pub(crate) fn admins_sk(shard: u8) -> String {
    format!("{ADMINS_SK_PREFIX}{shard:02}")
}

pub(crate) const ADMINS_SK_PREFIX: &str = "ADMINS#";

/// Which admin-set item a sort key names.
pub(crate) fn shard_of_admins_sk(sk: &str) -> Option<u8> {
    sk.strip_prefix(ADMINS_SK_PREFIX)?.parse().ok()
}

pub(crate) fn role_sk(role: &crate::domain::RoleId) -> String {
    format!("ROLE#{role}")
}

/// A seat: an email's standing in a customer (in the customer's partition).
pub(crate) fn seat_sk(email: &Email) -> String {
    format!("{SEAT_SK_PREFIX}{email}")
}

pub(crate) const SEAT_SK_PREFIX: &str = "EMAIL#";

/// The email a seat's sort key names.
pub(crate) fn email_of_seat_sk(sk: &str) -> Option<Email> {
    Email::parse(sk.strip_prefix(SEAT_SK_PREFIX)?).ok()
}

pub(crate) fn user(id: &UserId) -> String {
    format!("USER#{id}")
}

pub(crate) const USER_SK: &str = "USER";

pub(crate) fn membership_sk(number: &CustomerNumber) -> String {
    format!("MEMBERSHIP#{number}")
}

pub(crate) const MEMBERSHIP_SK_PREFIX: &str = "MEMBERSHIP#";

pub(crate) fn member_gsi1sk(email: &Email) -> String {
    format!("{MEMBER_GSI1SK_PREFIX}{email}")
}

pub(crate) const MEMBER_GSI1SK_PREFIX: &str = "MEMBER#";

/// GSI2's partition of the invitations addressed to `email`, across customers.
pub(crate) fn invitee(email: &Email) -> String {
    format!("INVITEE#{email}")
}

pub(crate) fn invitee_gsi2sk(number: &CustomerNumber, id: &InvitationId) -> String {
    format!("{INVITEE_GSI2SK_PREFIX}{number}#{id}")
}

pub(crate) const INVITEE_GSI2SK_PREFIX: &str = "INVITATION#";

pub(crate) fn credential(email: &Email) -> String {
    format!("EMAIL#{email}")
}

pub(crate) const CREDENTIAL_SK: &str = "CREDENTIAL";

pub(crate) fn session(hash: &TokenHash) -> String {
    format!("{SESSION_PREFIX}{}", hash.as_str())
}

pub(crate) const SESSION_PREFIX: &str = "SESSION#";

/// The start of every failed log-in counter of `email`, whatever the source and window.
pub(crate) fn login_failures_prefix(email: &Email) -> String {
    format!("LOGIN#{email}#")
}

pub(crate) fn login_failures(email: &Email, source: &SourceAddress, window_start: i64) -> String {
    format!("{}{source}#{window_start}", login_failures_prefix(email))
}

pub(crate) fn source_login_failures(source: &SourceAddress, window_start: i64) -> String {
    format!("LOGINSRC#{source}#{window_start}")
}

pub(crate) fn quota(admin: &UserId, day: time::Date) -> String {
    format!("QUOTA#{admin}#{day}")
}

pub(crate) const QUOTA_SK: &str = "QUOTA";

pub(crate) fn invitation_sk(id: &crate::domain::InvitationId) -> String {
    format!("INVITATION#{id}")
}

pub(crate) const INVITATION_SK_PREFIX: &str = "INVITATION#";

/// The invitations' sort key in LSI1: by link expiry (milliseconds, zero-padded so text order is
/// time order), then id.
pub(crate) fn invitation_lsi1sk(expires_at: time::OffsetDateTime, id: &crate::domain::InvitationId) -> String {
    format!("{}{id}", invitation_lsi1_prefix(expires_at))
}

pub(crate) fn invitation_lsi1_prefix(at: time::OffsetDateTime) -> String {
    let millis = at.unix_timestamp_nanos() / 1_000_000;
    format!("INVITATION#{millis:015}#")
}

/// After every open invitation's LSI1SK (`INVITATION#{expiry}#{id}`).
pub(crate) const OPEN_LSI1_END: &str = "INVITATION#~";

/// A kept outcome's LSI1SK: by outcome, then when, then id (out of the open range).
pub(crate) fn outcome_lsi1sk(outcome: &str, at: time::OffsetDateTime, id: &crate::domain::InvitationId) -> String {
    format!("{}{id}", outcome_lsi1_prefix(outcome, at))
}

pub(crate) fn outcome_lsi1_prefix(outcome: &str, at: time::OffsetDateTime) -> String {
    let millis = at.unix_timestamp_nanos() / 1_000_000;
    format!("OUTCOME#{outcome}#{millis:015}#")
}

/// After every LSI1SK of `outcome`.
pub(crate) fn outcome_lsi1_end(outcome: &str) -> String {
    format!("OUTCOME#{outcome}#~")
}

/// The GSI1 partition of a customer's invitations in one group (`open`, or an outcome).
pub(crate) fn invitations_gsi1pk(customer: &CustomerNumber, group: &str) -> String {
    format!("INVITATIONS#{customer}#{group}")
}

pub(crate) const OPEN_INVITATIONS: &str = "open";

/// An invitation's GSI1SK: by email, then id.
pub(crate) fn invitation_gsi1sk(email: &Email, id: &crate::domain::InvitationId) -> String {
    format!("{INVITATION_SK_PREFIX}{email}#{id}")
}

pub(crate) fn link(hash: &TokenHash) -> String {
    format!("LINK#{}", hash.as_str())
}

pub(crate) const LINK_SK: &str = "LINK";

pub(crate) const ROLE_SK_PREFIX: &str = "ROLE#";

/// A customer's activity log: its entries by time.
pub(crate) fn activity(customer: &CustomerNumber) -> String {
    format!("ACTIVITY#{customer}")
}

/// GSI1's partition of a customer's entries about one address.
pub(crate) fn activity_of_email(customer: &CustomerNumber, email: &Email) -> String {
    format!("ACTIVITY#{customer}#{email}")
}

/// The record of a role's deletion (for the activity log), in its customer's partition. Its
/// prefix is not `ROLE_SK_PREFIX`'s, so the Query of a customer's roles never reads it.
pub(crate) fn role_deletion_sk(role: &crate::domain::RoleId, at: time::OffsetDateTime) -> String {
    format!(
        "{ROLE_DELETION_SK_PREFIX}{role}#{}",
        at.unix_timestamp_nanos() / 1_000_000
    )
}

pub(crate) const ROLE_DELETION_SK_PREFIX: &str = "ROLEDELETED#";

/// A role name's claim in its customer, by the name's unique key. Its prefix is not
/// `ROLE_SK_PREFIX`'s, so the Query of a customer's roles never reads claims.
pub(crate) fn role_name_sk(unique_key: &str) -> String {
    format!("ROLENAME#{unique_key}")
}

pub(crate) const LSI1: &str = "LSI1";
/// LSI1's sort key attribute.
pub(crate) const LSI1SK: &str = "LSI1SK";
pub(crate) const GSI1: &str = "GSI1";
/// GSI1's key attributes.
pub(crate) const GSI1PK: &str = "GSI1PK";
pub(crate) const GSI1SK: &str = "GSI1SK";
/// GSI2 (the invitations addressed to an email) and its key attributes.
pub(crate) const GSI2: &str = "GSI2";
pub(crate) const GSI2PK: &str = "GSI2PK";
pub(crate) const GSI2SK: &str = "GSI2SK";

/// The email deliveries' key: one per event and recipient.
pub(crate) fn delivery(event_key: &str, recipient: &Email) -> String {
    format!("DELIVERY#{event_key}#{recipient}")
}

pub(crate) const DELIVERY_SK: &str = "DELIVERY";

/// A stream record the recorder applied: `RECORDED#{sequence number}` / `{PK}|{SK}` of its item.
pub(crate) const RECORDED_PREFIX: &str = "RECORDED#";
