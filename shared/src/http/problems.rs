//! The one map from the domain's refusals to the API's problems: every `From<...> for ApiError`
//! is here, so each refusal has one status and one code wherever it happens.
//!
//! Two answers hold everywhere: a transaction that kept conflicting with others (contention)
//! is `503 service-unavailable` with `Retry-After` (nothing was written; retrying succeeds),
//! and a write whose reads went stale while it was computed is `409 concurrent-change` (the
//! caller may read again and decide). A role being edited or deleted by someone else is
//! `409 role-busy`.

use super::ApiError;
use crate::activity::ActivityError;
use crate::domain::{InvalidValue, RoleId};
use crate::invitations::{Ended, InvitationError};
use crate::links::KeysUnavailable;
use crate::memberships::TourError;
use crate::roles::RoleError;
use crate::sessions::{LoginLimit, Refusal};
use crate::usecases::accept::AcceptError;
use crate::usecases::delete_account::DeleteAccountError;
use crate::usecases::leave::LeaveError;
use crate::usecases::list::ListError;
use crate::usecases::members::MemberError;
use crate::usecases::roles::RoleChangeError;
use serde_json::{Map, Value, json};

/// What a caller who is not an admin of the customer was refused, for its sentence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminArea {
    /// Sending, resending, withdrawing invitations.
    Invitations,
    /// Listing invitations.
    InvitationList,
    /// The admin's invitation quota.
    Quota,
    /// Roles.
    Roles,
    /// The User Management table and role assignments.
    Users,
    /// The activity log.
    Activity,
}

impl From<AdminArea> for ApiError {
    fn from(area: AdminArea) -> Self {
        let what = match area {
            AdminArea::Invitations => "manage its invitations",
            AdminArea::InvitationList => "list its invitations",
            AdminArea::Quota => "send invitations or see their quota",
            AdminArea::Roles => "manage its roles",
            AdminArea::Users => "manage its users",
            AdminArea::Activity => "read its activity log",
        };
        ApiError::Forbidden {
            code: "not-an-admin",
            detail: format!("Only an admin of this customer may {what}."),
        }
    }
}

/// Contention: busy for a moment, nothing written.
fn contention() -> ApiError {
    ApiError::Unavailable { retry_after_secs: 1 }
}

fn conflict(code: &'static str, detail: String) -> ApiError {
    ApiError::Conflict {
        code,
        detail,
        extensions: Map::new(),
    }
}

fn with(name: &str, value: Value) -> Map<String, Value> {
    [(name.to_owned(), value)].into_iter().collect()
}

fn unknown_roles(detail: String, ids: &[RoleId]) -> ApiError {
    ApiError::Unprocessable {
        code: "unknown-role",
        detail,
        extensions: with("roleIds", json!(ids)),
    }
}

impl From<KeysUnavailable> for ApiError {
    fn from(error: KeysUnavailable) -> Self {
        Self::Unexpected(anyhow::Error::new(error).context(crate::aws::Unavailable))
    }
}

impl From<InvitationError> for ApiError {
    fn from(error: InvitationError) -> Self {
        let detail = error.to_string();
        match error {
            InvitationError::NotAdmin => AdminArea::Invitations.into(),
            InvitationError::UnknownRoles(ids) => unknown_roles(detail, &ids),
            InvitationError::RoleBeingChanged(_) => conflict("role-busy", detail),
            InvitationError::AlreadyMember => conflict("already-member", detail),
            InvitationError::AlreadyInvited(id) => ApiError::Conflict {
                code: "invitation-pending",
                detail,
                extensions: with("invitationId", json!(id)),
            },
            InvitationError::NotFound => ApiError::NotFound {
                code: "invitation-not-found",
                detail,
            },
            InvitationError::QuotaExhausted {
                resets_at,
                retry_after_secs,
            } => ApiError::QuotaExhausted {
                detail,
                resets_at,
                retry_after_secs,
            },
            InvitationError::ChangedMeanwhile => conflict("concurrent-change", detail),
            InvitationError::Contention => contention(),
            InvitationError::Unexpected(error) => ApiError::Unexpected(error),
        }
    }
}

impl From<ListError> for ApiError {
    fn from(error: ListError) -> Self {
        match error {
            ListError::NotAdmin => AdminArea::InvitationList.into(),
            ListError::Invalid(invalid) => ApiError::InvalidQuery(invalid),
            ListError::Unexpected(error) => ApiError::Unexpected(error),
        }
    }
}

impl From<ActivityError> for ApiError {
    fn from(error: ActivityError) -> Self {
        match error {
            ActivityError::NotAdmin => AdminArea::Activity.into(),
            ActivityError::Invalid(invalid) => ApiError::InvalidQuery(invalid),
            ActivityError::Unexpected(error) => ApiError::Unexpected(error),
        }
    }
}

impl From<AcceptError> for ApiError {
    fn from(error: AcceptError) -> Self {
        let detail = error.to_string();
        match error {
            AcceptError::NotFound => ApiError::NotFound {
                code: "invitation-not-found",
                detail,
            },
            AcceptError::Expired => ApiError::Gone {
                code: "invitation-expired",
                detail,
            },
            AcceptError::Ended(ended) => ApiError::Gone {
                code: ended.code(),
                detail,
            },
            AcceptError::NotExpired => conflict("invitation-not-expired", detail),
            AcceptError::RenewalAlreadyRequested { retry_after_secs } => ApiError::AskedAlready {
                code: "renewal-already-requested",
                detail,
                retry_after_secs,
            },
            AcceptError::SessionExpired => ApiError::SessionExpired,
            AcceptError::InvalidSession => ApiError::InvalidSession,
            AcceptError::AlreadyMember => conflict("already-member", detail),
            AcceptError::AccountExists => conflict("account-exists", detail),
            AcceptError::RolesChanged => conflict("role-busy", detail),
            AcceptError::WrongAccount => ApiError::Forbidden {
                code: "wrong-account",
                detail,
            },
            AcceptError::CredentialsRequired => ApiError::Unprocessable {
                code: "credentials-required",
                detail,
                extensions: Map::new(),
            },
            AcceptError::InvalidCredentials => ApiError::InvalidCredentials,
            AcceptError::TooManyAttempts(refusal) => refusal.into(),
            AcceptError::InvalidPassword(invalid) => ApiError::InvalidValue(invalid),
            AcceptError::Contention => contention(),
            AcceptError::Unexpected(error) => ApiError::Unexpected(error),
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        let retry_after_secs = refusal.retry_after_secs;
        match refusal.limit {
            LoginLimit::EmailFromSource => ApiError::TooManyLoginAttempts { retry_after_secs },
            LoginLimit::Source => ApiError::TooManyLoginAttemptsFromSource { retry_after_secs },
        }
    }
}

impl From<TourError> for ApiError {
    fn from(error: TourError) -> Self {
        let detail = error.to_string();
        match error {
            TourError::NotAMember => ApiError::NotFound {
                code: "membership-not-found",
                detail,
            },
            TourError::NotDue(_) => ApiError::InvalidValue(InvalidValue {
                code: "invalid-tour-step",
                reason: detail,
            }),
            TourError::ChangedMeanwhile => conflict("concurrent-change", detail),
            TourError::Unexpected(error) => ApiError::Unexpected(error),
        }
    }
}

impl From<MemberError> for ApiError {
    fn from(error: MemberError) -> Self {
        let detail = error.to_string();
        match error {
            MemberError::NotAdmin => AdminArea::Users.into(),
            MemberError::NotFound => ApiError::NotFound {
                code: "user-not-found",
                detail,
            },
            MemberError::UnknownRoles(ids) => unknown_roles(detail, &ids),
            MemberError::LastAdmin => conflict("last-admin", detail),
            MemberError::ChangedMeanwhile => conflict("concurrent-change", detail),
            MemberError::Contention => contention(),
            MemberError::Invalid(invalid) => ApiError::InvalidQuery(invalid),
            MemberError::Unexpected(error) => ApiError::Unexpected(error),
        }
    }
}

impl From<DeleteAccountError> for ApiError {
    fn from(error: DeleteAccountError) -> Self {
        let detail = error.to_string();
        let customers = |numbers: &[crate::domain::CustomerNumber]| with("customerNumbers", json!(numbers));
        match error {
            // Not 401: the session is fine, and a portal logs out on a 401.
            DeleteAccountError::WrongPassword => ApiError::Forbidden {
                code: "wrong-password",
                detail,
            },
            DeleteAccountError::TooManyAttempts(refusal) => refusal.into(),
            DeleteAccountError::MembershipsRemain(numbers) => ApiError::Conflict {
                code: "customers-remain",
                detail,
                extensions: customers(&numbers),
            },
            DeleteAccountError::LastAdmin(numbers) => ApiError::Conflict {
                code: "last-admin",
                detail,
                extensions: customers(&numbers),
            },
            DeleteAccountError::ChangedMeanwhile => conflict("concurrent-change", detail),
            DeleteAccountError::Contention => contention(),
            DeleteAccountError::AccountGone => ApiError::InvalidSession,
            DeleteAccountError::Unexpected(error) => ApiError::Unexpected(error),
        }
    }
}

impl From<LeaveError> for ApiError {
    fn from(error: LeaveError) -> Self {
        let detail = error.to_string();
        match error {
            LeaveError::NotMember => ApiError::NotFound {
                code: "membership-not-found",
                detail,
            },
            LeaveError::LastAdmin => conflict("last-admin", detail),
            LeaveError::ChangedMeanwhile => conflict("concurrent-change", detail),
            LeaveError::Contention => contention(),
            LeaveError::Unexpected(error) => ApiError::Unexpected(error),
        }
    }
}

impl From<RoleError> for ApiError {
    fn from(error: RoleError) -> Self {
        let detail = error.to_string();
        match error {
            RoleError::NotAdmin => AdminArea::Roles.into(),
            RoleError::NameTaken(_) => conflict("role-name-taken", detail),
            RoleError::Contention => contention(),
            RoleError::Unexpected(error) => ApiError::Unexpected(error),
        }
    }
}

impl From<RoleChangeError> for ApiError {
    fn from(error: RoleChangeError) -> Self {
        let detail = error.to_string();
        match error {
            RoleChangeError::NotAdmin => AdminArea::Roles.into(),
            RoleChangeError::NotFound => ApiError::NotFound {
                code: "role-not-found",
                detail,
            },
            RoleChangeError::Busy => conflict("role-busy", detail),
            RoleChangeError::InUse { members } => ApiError::Conflict {
                code: "role-in-use",
                detail,
                extensions: with("members", json!(members)),
            },
            RoleChangeError::NameTaken(_) => conflict("role-name-taken", detail),
            RoleChangeError::LastAdmin => conflict("last-admin", detail),
            RoleChangeError::Contention => contention(),
            RoleChangeError::Unexpected(error) => ApiError::Unexpected(error),
        }
    }
}

/// One refusal of every kind the map answers (one per variant), for the test that the API's
/// contract documents every code it can produce.
pub fn every_refusal() -> Vec<ApiError> {
    use crate::domain::{InvitationId, RoleName};
    let role = RoleId::generate();
    let name = || RoleName::parse("Buyer").expect("a valid name");
    let refusal = |limit| Refusal {
        limit,
        retry_after_secs: 60,
    };
    let invalid = || InvalidValue::new("invalid-password", "x");
    let mut all: Vec<ApiError> = Vec::new();
    all.extend(
        [
            AdminArea::Invitations,
            AdminArea::InvitationList,
            AdminArea::Quota,
            AdminArea::Roles,
            AdminArea::Users,
            AdminArea::Activity,
        ]
        .map(ApiError::from),
    );
    all.extend(
        [
            InvitationError::NotAdmin,
            InvitationError::UnknownRoles(vec![role]),
            InvitationError::RoleBeingChanged(role),
            InvitationError::AlreadyMember,
            InvitationError::AlreadyInvited(InvitationId::generate()),
            InvitationError::NotFound,
            crate::invitations::quota_exhausted(time::OffsetDateTime::UNIX_EPOCH),
            InvitationError::ChangedMeanwhile,
            InvitationError::Contention,
        ]
        .map(ApiError::from),
    );
    all.push(ListError::NotAdmin.into());
    all.push(ListError::Invalid(InvalidValue::new("invalid-cursor", "x")).into());
    all.push(ActivityError::NotAdmin.into());
    all.extend(
        [
            AcceptError::NotFound,
            AcceptError::Expired,
            AcceptError::Ended(Ended::Superseded),
            AcceptError::Ended(Ended::Accepted),
            AcceptError::Ended(Ended::Declined),
            AcceptError::Ended(Ended::Withdrawn),
            AcceptError::NotExpired,
            AcceptError::RenewalAlreadyRequested { retry_after_secs: 3600 },
            AcceptError::AlreadyMember,
            AcceptError::AccountExists,
            AcceptError::WrongAccount,
            AcceptError::CredentialsRequired,
            AcceptError::InvalidCredentials,
            AcceptError::TooManyAttempts(refusal(LoginLimit::EmailFromSource)),
            AcceptError::TooManyAttempts(refusal(LoginLimit::Source)),
            AcceptError::InvalidPassword(invalid()),
            AcceptError::RolesChanged,
            AcceptError::Contention,
        ]
        .map(ApiError::from),
    );
    all.extend(
        [
            TourError::NotAMember,
            TourError::NotDue(vec![crate::domain::Permission::Orders]),
            TourError::ChangedMeanwhile,
        ]
        .map(ApiError::from),
    );
    all.extend(
        [
            MemberError::NotAdmin,
            MemberError::NotFound,
            MemberError::UnknownRoles(vec![role]),
            MemberError::LastAdmin,
            MemberError::ChangedMeanwhile,
            MemberError::Contention,
            MemberError::Invalid(InvalidValue::new("invalid-cursor", "x")),
        ]
        .map(ApiError::from),
    );
    all.extend(
        [
            LeaveError::NotMember,
            LeaveError::LastAdmin,
            LeaveError::ChangedMeanwhile,
            LeaveError::Contention,
        ]
        .map(ApiError::from),
    );
    let customer = crate::domain::CustomerNumber::parse("100234").expect("a customer number");
    all.extend(
        [
            DeleteAccountError::WrongPassword,
            DeleteAccountError::TooManyAttempts(refusal(LoginLimit::EmailFromSource)),
            DeleteAccountError::MembershipsRemain(vec![customer.clone()]),
            DeleteAccountError::LastAdmin(vec![customer]),
            DeleteAccountError::ChangedMeanwhile,
            DeleteAccountError::Contention,
            DeleteAccountError::AccountGone,
        ]
        .map(ApiError::from),
    );
    all.extend([RoleError::NotAdmin, RoleError::NameTaken(name()), RoleError::Contention].map(ApiError::from));
    all.extend(
        [
            RoleChangeError::NotAdmin,
            RoleChangeError::NotFound,
            RoleChangeError::Busy,
            RoleChangeError::InUse { members: 2 },
            RoleChangeError::NameTaken(name()),
            RoleChangeError::LastAdmin,
            RoleChangeError::Contention,
        ]
        .map(ApiError::from),
    );
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contention_is_one_answer_everywhere() {
        for error in [
            ApiError::from(InvitationError::Contention),
            AcceptError::Contention.into(),
            MemberError::Contention.into(),
            LeaveError::Contention.into(),
            DeleteAccountError::Contention.into(),
            RoleError::Contention.into(),
            RoleChangeError::Contention.into(),
        ] {
            assert_eq!((error.status().as_u16(), error.code()), (503, "service-unavailable"));
        }
    }

    #[test]
    fn a_non_admin_hears_what_it_was_refused() {
        let detail = |error: ApiError| error.to_string();
        assert!(detail(MemberError::NotAdmin.into()).contains("users"));
        assert!(detail(RoleChangeError::NotAdmin.into()).contains("roles"));
        assert!(detail(AdminArea::Quota.into()).contains("quota"));
        assert!(detail(ListError::NotAdmin.into()).contains("list its invitations"));
        assert!(detail(InvitationError::NotAdmin.into()).contains("manage its invitations"));
    }
}

#[cfg(test)]
mod contract {
    use super::every_refusal;
    use std::collections::BTreeSet;

    /// Every problem code `infra/openapi.yaml` names, anywhere (an `enum` or `const` of a `code`).
    fn documented_codes() -> BTreeSet<String> {
        fn walk(value: &serde_norway::Value, codes: &mut BTreeSet<String>) {
            match value {
                serde_norway::Value::Mapping(map) => {
                    for (key, value) in map {
                        if key.as_str() == Some("code") {
                            if let Some(values) = value.get("enum").and_then(|e| e.as_sequence()) {
                                codes.extend(values.iter().filter_map(|v| v.as_str().map(str::to_owned)));
                            }
                            if let Some(code) = value.get("const").and_then(|c| c.as_str()) {
                                codes.insert(code.to_owned());
                            }
                        }
                        walk(value, codes);
                    }
                }
                serde_norway::Value::Sequence(values) => values.iter().for_each(|v| walk(v, codes)),
                _ => {}
            }
        }
        let text = include_str!("../../../infra/openapi.yaml");
        let document: serde_norway::Value = serde_norway::from_str(text).expect("the contract is YAML");
        let mut codes = BTreeSet::new();
        walk(&document, &mut codes);
        codes
    }

    #[test]
    fn every_code_the_map_can_answer_is_in_the_contract() {
        let documented = documented_codes();
        assert!(documented.contains("not-an-admin"), "the reader finds codes");
        let missing: BTreeSet<&str> = every_refusal()
            .iter()
            .map(|problem| problem.code())
            .filter(|code| !documented.contains(*code))
            .collect();
        assert!(
            missing.is_empty(),
            "codes the API answers but infra/openapi.yaml does not name: {missing:?}"
        );
    }
}
