//! Domain events, derived from the data table's stream: the write is the source of truth, and an
//! email is owed exactly when the write that owes it committed. No request path publishes
//! anything itself, so a crash or an EventBridge outage after the write loses nothing: the
//! stream keeps the record until the publisher has put its event on the bus.
//!
//! - `InvitationSent`: an invitation item written with a link nonce it did not have before
//!   (invite, resend, an expired invitation sent again).
//! - `UserRegistered`: a user item inserted (an accepted invitation's new account, or an
//!   operator's first admin).
//! - `MemberLeft`: a membership changed from `active` to `left`, or removed while active (its
//!   account deleted; the mailer then reads the deletion's record).
//! - `MemberJoined`: a membership became `active` by an accepted invitation (new, or revived
//!   after leaving): the admin who sent it is owed an email.
//! - `AccountDeleted`: an account deletion's record inserted (its final transaction committed).
//! - `RenewalRequested`: an open invitation's `renewalRequestedAt` set anew (the holder of its
//!   expired link asked for a new one): the admin who sent it is owed an email.
//!
//! An event only says which item changed and which change it was: no address, name, text or link
//! material travels on the bus. The mailer reads every recipient and every word from the table's
//! current items, so an event put on the bus by anyone else sends nothing the table does not back
//! (and a link can never be rebuilt from what the bus, its logs or the mail dead-letter queue hold).
//!
//! Each event carries a key that names what it is about, the same however often the stream
//! record is delivered or republished; the mailer sends at most one email per key and recipient.

use crate::domain::{CustomerNumber, InvitationId, UserId};
use serde::{Deserialize, Serialize};

/// The `source` of every CloudHub event on the bus.
pub const SOURCE: &str = "cloudhub.invitations";

/// An invitation email is owed: the invitation was sent for the `send_count`-th time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationSent {
    /// `invitation#{id}#{sendCount}`: one per send.
    pub event_key: String,
    /// The customer.
    pub customer_number: CustomerNumber,
    /// The invitation.
    pub invitation_id: InvitationId,
    /// Which send of it; the email is owed only while the invitation is still at this send.
    pub send_count: u32,
}

/// A welcome email is owed to a new account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserRegistered {
    /// `user#{id}`.
    pub event_key: String,
    /// The account.
    pub user_id: UserId,
}

/// Every admin of a customer is owed an email: a member left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberLeft {
    /// `left#{userId}#{customer}#{revision}`: one per leave.
    pub event_key: String,
    /// Who left.
    pub user_id: UserId,
    /// The customer left.
    pub customer_number: CustomerNumber,
    /// The membership's revision the leave made; owed only while the membership is still at it.
    pub revision: u64,
}

/// The admin who sent an invitation is owed an email: it was accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberJoined {
    /// `joined#{userId}#{customer}#{revision}`: one per join.
    pub event_key: String,
    /// Who joined.
    pub user_id: UserId,
    /// The customer joined.
    pub customer_number: CustomerNumber,
    /// The membership's revision the join made; owed only while the membership is still at it.
    pub revision: u64,
}

/// The "account deleted" email is owed to the address the deletion's record names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountDeleted {
    /// `deleted#{userId}`.
    pub event_key: String,
    /// The deleted account.
    pub user_id: UserId,
}

/// The admin who sent an invitation (or every admin) is owed an email: the holder of its expired
/// link asked for a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenewalRequested {
    /// `renewal#{invitationId}#{requestedAt}`: one per request.
    pub event_key: String,
    /// The customer.
    pub customer_number: CustomerNumber,
    /// The invitation.
    pub invitation_id: InvitationId,
    /// When it was asked for (epoch milliseconds); owed only while the invitation still records
    /// this request.
    pub requested_at: i64,
    /// The invitation's send count then; owed only while no admin has sent it again since.
    pub send_count: u32,
}

/// A domain event, as put on the bus (`detail-type` is the variant's name, `detail` its fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    /// See [`InvitationSent`].
    InvitationSent(InvitationSent),
    /// See [`UserRegistered`].
    UserRegistered(UserRegistered),
    /// See [`MemberLeft`].
    MemberLeft(MemberLeft),
    /// See [`MemberJoined`].
    MemberJoined(MemberJoined),
    /// See [`AccountDeleted`].
    AccountDeleted(AccountDeleted),
    /// See [`RenewalRequested`].
    RenewalRequested(RenewalRequested),
}

/// An event whose `detail-type` or `detail` CloudHub does not know.
#[derive(Debug, thiserror::Error)]
#[error("Not a CloudHub event: {0}")]
pub struct UnknownEvent(String);

impl DomainEvent {
    /// The EventBridge `detail-type`.
    pub fn detail_type(&self) -> &'static str {
        match self {
            Self::InvitationSent(_) => "InvitationSent",
            Self::UserRegistered(_) => "UserRegistered",
            Self::MemberLeft(_) => "MemberLeft",
            Self::MemberJoined(_) => "MemberJoined",
            Self::AccountDeleted(_) => "AccountDeleted",
            Self::RenewalRequested(_) => "RenewalRequested",
        }
    }

    /// What the event is about, stable across redeliveries.
    pub fn event_key(&self) -> &str {
        match self {
            Self::InvitationSent(e) => &e.event_key,
            Self::UserRegistered(e) => &e.event_key,
            Self::MemberLeft(e) => &e.event_key,
            Self::MemberJoined(e) => &e.event_key,
            Self::AccountDeleted(e) => &e.event_key,
            Self::RenewalRequested(e) => &e.event_key,
        }
    }

    /// The EventBridge `detail`, as JSON text.
    pub fn detail(&self) -> String {
        let value = match self {
            Self::InvitationSent(e) => serde_json::to_string(e),
            Self::UserRegistered(e) => serde_json::to_string(e),
            Self::MemberLeft(e) => serde_json::to_string(e),
            Self::MemberJoined(e) => serde_json::to_string(e),
            Self::AccountDeleted(e) => serde_json::to_string(e),
            Self::RenewalRequested(e) => serde_json::to_string(e),
        };
        value.expect("events serialise")
    }

    /// Reads an event back from its `detail-type` and `detail`. Its key must be the one its ids
    /// make: deliveries are remembered by key, so an event with a key of its own choosing (put on
    /// the bus by someone else) could otherwise send a true email again.
    pub fn parse(detail_type: &str, detail: serde_json::Value) -> Result<Self, UnknownEvent> {
        let wrong = |e: serde_json::Error| UnknownEvent(format!("{detail_type}: {e}"));
        let event = match detail_type {
            "InvitationSent" => serde_json::from_value(detail).map(Self::InvitationSent).map_err(wrong),
            "UserRegistered" => serde_json::from_value(detail).map(Self::UserRegistered).map_err(wrong),
            "MemberLeft" => serde_json::from_value(detail).map(Self::MemberLeft).map_err(wrong),
            "MemberJoined" => serde_json::from_value(detail).map(Self::MemberJoined).map_err(wrong),
            "AccountDeleted" => serde_json::from_value(detail).map(Self::AccountDeleted).map_err(wrong),
            "RenewalRequested" => serde_json::from_value(detail)
                .map(Self::RenewalRequested)
                .map_err(wrong),
            other => Err(UnknownEvent(other.to_owned())),
        }?;
        if event.event_key() != event.expected_key() {
            return Err(UnknownEvent(format!(
                "{detail_type}: its key is not the one its ids make"
            )));
        }
        Ok(event)
    }

    /// The key the event's ids make.
    fn expected_key(&self) -> String {
        match self {
            Self::InvitationSent(e) => invitation_key(&e.invitation_id, e.send_count),
            Self::UserRegistered(e) => user_key(&e.user_id),
            Self::MemberLeft(e) => left_key(&e.user_id, &e.customer_number, e.revision),
            Self::MemberJoined(e) => joined_key(&e.user_id, &e.customer_number, e.revision),
            Self::AccountDeleted(e) => deleted_key(&e.user_id),
            Self::RenewalRequested(e) => renewal_key(&e.invitation_id, e.requested_at),
        }
    }
}

fn invitation_key(id: &InvitationId, send_count: u32) -> String {
    format!("invitation#{id}#{send_count}")
}

fn renewal_key(id: &InvitationId, requested_at: i64) -> String {
    format!("renewal#{id}#{requested_at}")
}

fn user_key(id: &UserId) -> String {
    format!("user#{id}")
}

fn joined_key(user: &UserId, customer: &CustomerNumber, revision: u64) -> String {
    format!("joined#{user}#{customer}#{revision}")
}

fn left_key(user: &UserId, customer: &CustomerNumber, revision: u64) -> String {
    format!("left#{user}#{customer}#{revision}")
}

fn deleted_key(user: &UserId) -> String {
    format!("deleted#{user}")
}

/// The fields of stored items that events are made from. Items are read leniently: a stream
/// carries every kind of item, and only these few attributes matter here.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Image {
    #[serde(rename = "SK")]
    sk: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    user_id: Option<UserId>,
    #[serde(default)]
    customer_number: Option<CustomerNumber>,
    #[serde(default)]
    send_count: Option<u32>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    revision: Option<u64>,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    invited_by: Option<UserId>,
    #[serde(default)]
    renewal_requested_at: Option<i64>,
}

/// The event a change of one item owes, if any. `old` and `new` are the item's images before
/// and after the write (`None` for an insert or a removal).
pub fn from_change(
    old: Option<serde_dynamo::Item>,
    new: Option<serde_dynamo::Item>,
) -> anyhow::Result<Option<DomainEvent>> {
    use anyhow::Context as _;
    let read = |item: Option<serde_dynamo::Item>| -> anyhow::Result<Option<Image>> {
        item.filter(|item| !item.is_empty())
            .map(|item| serde_dynamo::from_item(item).context("A changed item is malformed."))
            .transpose()
    };
    let (old, new) = (read(old)?, read(new)?);
    let Some(new) = new else {
        return old.and_then(removed_while_active).transpose();
    };
    if new.sk == crate::deleted_accounts::SK && old.is_none() {
        let user_id = new.user_id.context("A deleted account's record has no user.")?;
        return Ok(Some(DomainEvent::AccountDeleted(AccountDeleted {
            event_key: deleted_key(&user_id),
            user_id,
        })));
    }
    if new.sk.starts_with(crate::store::keys::INVITATION_SK_PREFIX) {
        // Every send (invite, resend, an expired invitation sent again) counts one up; other
        // changes (a deleted role taken off it, its outcome kept) keep the count. An invitation
        // with an outcome has no link and never owes an email.
        if new.outcome.is_some() {
            return Ok(None);
        }
        let send_count = new.send_count.context("An invitation has no send count.")?;
        // A renewal request only sets its time (no send, no link); every send keeps it.
        let asked = new.renewal_requested_at;
        if asked.is_some() && asked != old.as_ref().and_then(|old| old.renewal_requested_at) {
            let id: InvitationId = InvitationId::parse(new.id.as_deref().unwrap_or_default())
                .map_err(|e| anyhow::anyhow!("An invitation's id is malformed: {e}"))?;
            let requested_at = asked.unwrap_or_default();
            return Ok(Some(DomainEvent::RenewalRequested(RenewalRequested {
                event_key: renewal_key(&id, requested_at),
                customer_number: new.customer_number.context("An invitation has no customer.")?,
                invitation_id: id,
                requested_at,
                send_count,
            })));
        }
        if old.as_ref().and_then(|old| old.send_count) == Some(send_count) {
            return Ok(None);
        }
        let id: InvitationId = InvitationId::parse(new.id.as_deref().unwrap_or_default())
            .map_err(|e| anyhow::anyhow!("An invitation's id is malformed: {e}"))?;
        return Ok(Some(DomainEvent::InvitationSent(InvitationSent {
            event_key: invitation_key(&id, send_count),
            customer_number: new.customer_number.context("An invitation has no customer.")?,
            invitation_id: id,
            send_count,
        })));
    }
    if new.sk == crate::store::keys::USER_SK && old.is_none() {
        let id = UserId::parse(new.id.as_deref().unwrap_or_default())
            .map_err(|e| anyhow::anyhow!("A user's id is malformed: {e}"))?;
        return Ok(Some(DomainEvent::UserRegistered(UserRegistered {
            event_key: user_key(&id),
            user_id: id,
        })));
    }
    let was_active = old.as_ref().and_then(|old| old.status.as_deref()) == Some("active");
    if new.sk.starts_with(crate::store::keys::MEMBERSHIP_SK_PREFIX)
        && was_active
        && new.status.as_deref() == Some("left")
    {
        let user_id = new.user_id.context("A membership has no user.")?;
        let customer = new.customer_number.context("A membership has no customer.")?;
        let revision = new.revision.unwrap_or_default();
        return Ok(Some(DomainEvent::MemberLeft(MemberLeft {
            event_key: left_key(&user_id, &customer, revision),
            user_id,
            customer_number: customer,
            revision,
        })));
    }
    if new.sk.starts_with(crate::store::keys::MEMBERSHIP_SK_PREFIX)
        && !was_active
        && new.status.as_deref() == Some("active")
        && new.invited_by.is_some()
    {
        let user_id = new.user_id.context("A membership has no user.")?;
        let customer = new.customer_number.context("A membership has no customer.")?;
        let revision = new.revision.unwrap_or_default();
        return Ok(Some(DomainEvent::MemberJoined(MemberJoined {
            event_key: joined_key(&user_id, &customer, revision),
            user_id,
            customer_number: customer,
            revision,
        })));
    }
    Ok(None)
}

/// A membership removed while active (its account deleted) is its member leaving: the event of
/// the revision leaving would have made.
fn removed_while_active(old: Image) -> Option<anyhow::Result<DomainEvent>> {
    use anyhow::Context as _;
    let membership = old.sk.starts_with(crate::store::keys::MEMBERSHIP_SK_PREFIX);
    if !membership || old.status.as_deref() != Some("active") {
        return None;
    }
    Some((|| {
        let user_id = old.user_id.context("A membership has no user.")?;
        let customer = old.customer_number.context("A membership has no customer.")?;
        let revision = old.revision.unwrap_or_default() + 1;
        Ok(DomainEvent::MemberLeft(MemberLeft {
            event_key: left_key(&user_id, &customer, revision),
            user_id,
            customer_number: customer,
            revision,
        }))
    })())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(value: serde_json::Value) -> Option<serde_dynamo::Item> {
        Some(serde_dynamo::to_item(value).unwrap())
    }

    fn invitation(nonce: &str, send_count: u32) -> serde_json::Value {
        json!({
            "PK": "CUSTOMER#100234", "SK": "INVITATION#01KAWDEM0ADM1N000000000001",
            "id": "01KAWDEM0ADM1N000000000001", "customerNumber": "100234",
            "email": "anna@example.com", "invitedByEmail": "admin@acme.example",
            "linkKeyId": "k1", "linkNonce": nonce, "linkHash": "secret-hash",
            "expiresAt": "2026-11-25T09:30:00Z", "sendCount": send_count, "roleIds": []
        })
    }

    #[test]
    fn a_new_invitation_and_every_resend_owe_an_invitation_email() {
        let sent = from_change(None, item(invitation("nonce-one", 1))).unwrap().unwrap();
        assert_eq!(sent.detail_type(), "InvitationSent");
        assert_eq!(sent.event_key(), "invitation#01KAWDEM0ADM1N000000000001#1");
        let resent = from_change(item(invitation("nonce-one", 1)), item(invitation("nonce-two", 2)))
            .unwrap()
            .unwrap();
        assert_eq!(resent.event_key(), "invitation#01KAWDEM0ADM1N000000000001#2");
        // No link material and nothing personal on the bus: only which item changed.
        for event in [&sent, &resent] {
            let detail = event.detail();
            for secret in [
                "nonce-one",
                "nonce-two",
                "secret-hash",
                "k1",
                "anna@example.com",
                "admin@acme",
            ] {
                assert!(!detail.contains(secret), "{secret} in {detail}");
            }
        }
        // A change that keeps the link (a role removed from it) owes nothing; nor does a removal.
        assert_eq!(
            from_change(item(invitation("nonce-two", 2)), item(invitation("nonce-two", 2))).unwrap(),
            None
        );
        assert_eq!(from_change(item(invitation("nonce-two", 2)), None).unwrap(), None);
    }

    #[test]
    fn an_invitation_kept_as_an_outcome_owes_no_email() {
        let mut kept = invitation("nonce-one", 1);
        for (name, value) in [("outcome", "accepted"), ("outcomeAt", "2026-11-24T10:00:00Z")] {
            kept[name] = json!(value);
        }
        kept.as_object_mut().unwrap().remove("linkNonce");
        assert_eq!(
            from_change(item(invitation("nonce-one", 1)), item(kept.clone())).unwrap(),
            None
        );
        // Not even as if it were new (a stream record whose old image is missing).
        assert_eq!(from_change(None, item(kept)).unwrap(), None);
    }

    #[test]
    fn an_inserted_user_owes_a_welcome_email_once() {
        let user = json!({
            "PK": "USER#01KAWDEM0ADM1N000000000002", "SK": "USER", "id": "01KAWDEM0ADM1N000000000002",
            "email": "anna@example.com", "language": "de", "createdAt": "2026-11-24T09:30:00Z"
        });
        let event = from_change(None, item(user.clone())).unwrap().unwrap();
        assert_eq!(event.event_key(), "user#01KAWDEM0ADM1N000000000002");
        assert!(!event.detail().contains("anna@example.com"), "{}", event.detail());
        // Changing the language later is not a registration.
        assert_eq!(from_change(item(user.clone()), item(user)).unwrap(), None);
    }

    #[test]
    fn a_membership_turning_left_owes_the_admins_an_email() {
        let membership = |status: &str, revision: u64| {
            json!({
                "PK": "USER#01KAWDEM0ADM1N000000000002", "SK": "MEMBERSHIP#100234",
                "userId": "01KAWDEM0ADM1N000000000002", "email": "anna@example.com",
                "customerNumber": "100234", "companyName": "ACME Maschinenbau GmbH",
                "status": status, "revision": revision, "roles": [], "permissions": []
            })
        };
        let event = from_change(item(membership("active", 3)), item(membership("left", 4)))
            .unwrap()
            .unwrap();
        assert_eq!(event.event_key(), "left#01KAWDEM0ADM1N000000000002#100234#4");
        assert!(!event.detail().contains("anna@example.com") && !event.detail().contains("ACME"));
        assert_eq!(
            DomainEvent::parse(event.detail_type(), serde_json::from_str(&event.detail()).unwrap()).unwrap(),
            event
        );
        // Joining, a role change, or rejoining owe nothing of this kind (a first admin's
        // membership, which names no inviter, owes nothing at all).
        assert_eq!(from_change(None, item(membership("active", 1))).unwrap(), None);
        assert_eq!(
            from_change(item(membership("active", 1)), item(membership("active", 2))).unwrap(),
            None
        );
        assert_eq!(
            from_change(item(membership("left", 4)), item(membership("active", 5))).unwrap(),
            None
        );
    }

    #[test]
    fn a_membership_made_active_by_an_accepted_invitation_owes_its_inviter_an_email() {
        let membership = |status: &str, revision: u64| {
            json!({
                "PK": "USER#01KAWDEM0ADM1N000000000002", "SK": "MEMBERSHIP#100234",
                "userId": "01KAWDEM0ADM1N000000000002", "email": "anna@example.com",
                "customerNumber": "100234", "companyName": "ACME Maschinenbau GmbH",
                "status": status, "revision": revision, "invitedBy": "01KAWDEM0ADM1N000000000000",
                "invitationId": "01KAWDEM0ADM1N000000000001"
            })
        };
        let joined = from_change(None, item(membership("active", 1))).unwrap().unwrap();
        assert_eq!(joined.detail_type(), "MemberJoined");
        assert_eq!(joined.event_key(), "joined#01KAWDEM0ADM1N000000000002#100234#1");
        assert!(!joined.detail().contains("anna@example.com") && !joined.detail().contains("ACME"));
        assert_eq!(
            DomainEvent::parse("MemberJoined", serde_json::from_str(&joined.detail()).unwrap()).unwrap(),
            joined
        );
        let rejoined = from_change(item(membership("left", 4)), item(membership("active", 5)))
            .unwrap()
            .unwrap();
        assert_eq!(rejoined.event_key(), "joined#01KAWDEM0ADM1N000000000002#100234#5");
        // A role change of an active member is no join.
        assert_eq!(
            from_change(item(membership("active", 1)), item(membership("active", 2))).unwrap(),
            None
        );
    }

    #[test]
    fn an_event_whose_key_is_not_its_ids_is_refused() {
        let sent = from_change(None, item(invitation("nonce-one", 1))).unwrap().unwrap();
        let detail: serde_json::Value = serde_json::from_str(&sent.detail()).unwrap();
        assert_eq!(DomainEvent::parse("InvitationSent", detail.clone()).unwrap(), sent);
        let mut forged = detail;
        forged["eventKey"] = json!("invitation#01KAWDEM0ADM1N000000000001#1#again");
        assert!(DomainEvent::parse("InvitationSent", forged).is_err());
        let welcome =
            json!({ "eventKey": "user#01KAWDEM0ADM1N000000000002-2", "userId": "01KAWDEM0ADM1N000000000002" });
        assert!(DomainEvent::parse("UserRegistered", welcome).is_err());
    }

    #[test]
    fn an_account_deletion_owes_its_email_and_the_admins_of_active_memberships_theirs() {
        let membership = |status: &str| {
            json!({
                "PK": "USER#01KAWDEM0ADM1N000000000002", "SK": "MEMBERSHIP#100234",
                "userId": "01KAWDEM0ADM1N000000000002", "email": "anna@example.com",
                "customerNumber": "100234", "companyName": "ACME", "status": status, "revision": 3
            })
        };
        let left = from_change(item(membership("active")), None).unwrap().unwrap();
        assert_eq!(left.event_key(), "left#01KAWDEM0ADM1N000000000002#100234#4");
        // A left membership removed with its account was told about when it was left.
        assert_eq!(from_change(item(membership("left")), None).unwrap(), None);
        let record = json!({
            "PK": "USER#01KAWDEM0ADM1N000000000002", "SK": "DELETED",
            "userId": "01KAWDEM0ADM1N000000000002",
            "account": { "email": "anna@example.com", "language": "de" }, "ttl": 1
        });
        let deleted = from_change(None, item(record.clone())).unwrap().unwrap();
        assert_eq!(deleted.event_key(), "deleted#01KAWDEM0ADM1N000000000002");
        assert!(!deleted.detail().contains("anna@example.com"), "{}", deleted.detail());
        assert_eq!(
            DomainEvent::parse(deleted.detail_type(), serde_json::from_str(&deleted.detail()).unwrap()).unwrap(),
            deleted
        );
        let forged = json!({ "eventKey": "deleted#other", "userId": "01KAWDEM0ADM1N000000000002" });
        assert!(DomainEvent::parse("AccountDeleted", forged).is_err());
        // Its removal by TTL owes nothing.
        assert_eq!(from_change(item(record), None).unwrap(), None);
        // Nor does a user item's removal.
        let user = json!({ "PK": "USER#01KAWDEM0ADM1N000000000002", "SK": "USER", "id": "01KAWDEM0ADM1N000000000002" });
        assert_eq!(from_change(item(user), None).unwrap(), None);
    }

    #[test]
    fn a_renewal_request_owes_the_admins_an_email_once_and_a_later_send_owes_only_the_invitation() {
        let mut expired = invitation("nonce-one", 1);
        let mut asked = expired.clone();
        asked["renewalRequestedAt"] = json!(1_795_685_400_000_i64);
        let event = from_change(item(expired.clone()), item(asked.clone()))
            .unwrap()
            .unwrap();
        assert_eq!(event.detail_type(), "RenewalRequested");
        assert_eq!(event.event_key(), "renewal#01KAWDEM0ADM1N000000000001#1795685400000");
        assert!(!event.detail().contains("anna@example.com") && !event.detail().contains("secret-hash"));
        assert_eq!(
            DomainEvent::parse("RenewalRequested", serde_json::from_str(&event.detail()).unwrap()).unwrap(),
            event
        );
        let mut forged: serde_json::Value = serde_json::from_str(&event.detail()).unwrap();
        forged["eventKey"] = json!("renewal#01KAWDEM0ADM1N000000000001#1");
        assert!(DomainEvent::parse("RenewalRequested", forged).is_err());
        // The admin's resend keeps the request's time: only the invitation email is owed.
        let mut resent = invitation("nonce-two", 2);
        resent["renewalRequestedAt"] = json!(1_795_685_400_000_i64);
        let sent = from_change(item(asked.clone()), item(resent)).unwrap().unwrap();
        assert_eq!(sent.detail_type(), "InvitationSent");
        // Nor is anything owed when the request is taken off with an outcome.
        expired["outcome"] = json!("deleted");
        assert_eq!(from_change(item(asked), item(expired)).unwrap(), None);
    }

    #[test]
    fn other_items_owe_nothing() {
        let quota = json!({ "PK": "QUOTA#x#2026-11-24", "SK": "QUOTA", "sent": 3 });
        assert_eq!(from_change(None, item(quota)).unwrap(), None);
        assert!(DomainEvent::parse("SomethingElse", json!({})).is_err());
    }
}
