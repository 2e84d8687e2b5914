//! Who made a change, in which request: the `change` attribute a write the activity log covers
//! sets on its item, so that the table's stream record (the item after the write) carries what
//! the log's entry needs, and the request path pays no read or write for it. A write the log
//! does not cover leaves the attribute as it was; the recorder tells the two apart by the
//! stamp's `id`, new with every stamped write ([`stamped_by`]).
//!
//! The request id comes from the HTTP edge, which runs every request inside
//! [`within_request`]; writes outside a request (the operator's) carry none.

use crate::domain::{Email, UserId};
use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The attribute a stamped write sets.
pub(crate) const ATTRIBUTE: &str = "change";

/// The part of an update's `SET` clause that writes the stamp (its name and value are added by
/// [`Stamp::onto`]).
pub(crate) const SET: &str = "#change = :change";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `work` as part of the request `request_id`: the stamps its writes make name it.
pub async fn within_request<F: Future>(request_id: String, work: F) -> F::Output {
    REQUEST_ID.scope(request_id, work).await
}

/// The id of the request the current task serves, if any.
fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(|id| id.clone()).ok().filter(|id| !id.is_empty())
}

/// What kind of change an activity entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// An invitation was created (or an expired one sent again by a new invite).
    InvitationSent,
    /// An invitation was sent again with a new link.
    InvitationResent,
    /// An admin deleted an invitation.
    InvitationDeleted,
    /// An invitation was accepted.
    InvitationAccepted,
    /// The invited account declined an invitation.
    InvitationDeclined,
    /// A member left the customer.
    MemberLeft,
    /// A role was created.
    RoleCreated,
    /// A role's name or permissions were edited.
    RoleEdited,
    /// A role was deleted.
    RoleDeleted,
    /// A member's roles were assigned.
    RolesAssigned,
}

impl ChangeKind {
    /// Every kind, in the order the API document lists them.
    pub const ALL: [Self; 10] = [
        Self::InvitationSent,
        Self::InvitationResent,
        Self::InvitationDeleted,
        Self::InvitationAccepted,
        Self::InvitationDeclined,
        Self::MemberLeft,
        Self::RoleCreated,
        Self::RoleEdited,
        Self::RoleDeleted,
        Self::RolesAssigned,
    ];

    /// As stored, in keys and in the API.
    pub const fn code(self) -> &'static str {
        match self {
            Self::InvitationSent => "invitation-sent",
            Self::InvitationResent => "invitation-resent",
            Self::InvitationDeleted => "invitation-deleted",
            Self::InvitationAccepted => "invitation-accepted",
            Self::InvitationDeclined => "invitation-declined",
            Self::MemberLeft => "member-left",
            Self::RoleCreated => "role-created",
            Self::RoleEdited => "role-edited",
            Self::RoleDeleted => "role-deleted",
            Self::RolesAssigned => "roles-assigned",
        }
    }

    /// The kind `code` names.
    pub fn of_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

/// Who made a change, when, and in which request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stamp {
    /// New with every stamped write: a record whose item keeps the stamp of an earlier write
    /// records no change of the log.
    pub id: String,
    /// What the change was.
    pub kind: ChangeKind,
    /// The acting account.
    pub actor_id: UserId,
    /// Its email address.
    pub actor_email: Email,
    /// API Gateway's request id; none outside a request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A stamp of a change of `kind` by `actor_id` (`actor_email`) at `at`, in the current request.
pub(crate) fn stamped_by(kind: ChangeKind, actor_id: UserId, actor_email: &Email, at: OffsetDateTime) -> Stamp {
    Stamp {
        id: ulid::Ulid::new().to_string(),
        kind,
        actor_id,
        actor_email: actor_email.clone(),
        request_id: current_request_id(),
        at,
    }
}

impl Stamp {
    /// The stamp as an attribute value.
    pub(crate) fn value(&self) -> anyhow::Result<aws_sdk_dynamodb::types::AttributeValue> {
        super::value(self)
    }

    /// Adds the name and value that [`SET`] refers to.
    pub(crate) fn onto(&self, update: UpdateBuilder) -> anyhow::Result<UpdateBuilder> {
        Ok(update
            .expression_attribute_names("#change", ATTRIBUTE)
            .expression_attribute_values(":change", self.value()?))
    }

    /// `item` with this stamp on it.
    pub(crate) fn on_item(&self, mut item: super::Item) -> anyhow::Result<super::Item> {
        item.insert(ATTRIBUTE.to_owned(), self.value()?);
        Ok(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stamp_names_the_request_it_was_made_in_and_only_that_one() {
        let actor = UserId::generate();
        let email = Email::parse("admin@acme.example").unwrap();
        let at = OffsetDateTime::UNIX_EPOCH;
        let inside = within_request("req-1".into(), async {
            stamped_by(ChangeKind::RoleCreated, actor, &email, at)
        })
        .await;
        assert_eq!(inside.request_id.as_deref(), Some("req-1"));
        let outside = stamped_by(ChangeKind::RoleCreated, actor, &email, at);
        assert_eq!(outside.request_id, None);
        assert_ne!(inside.id, outside.id, "every stamp is new");
    }

    #[test]
    fn kinds_read_back_from_their_codes() {
        for kind in ChangeKind::ALL {
            assert_eq!(ChangeKind::of_code(kind.code()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.code());
        }
        assert_eq!(ChangeKind::of_code("invitation"), None);
    }
}
