use serde::{Deserialize, Serialize};

/// A portal area a role grants access to. `UserManagement` makes its holder an admin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Permission {
    /// Orders.
    Orders,
    /// Invoices.
    Invoices,
    /// Documents.
    Documents,
    /// User Management: inviting users and assigning roles.
    UserManagement,
}

/// Whether holding `permissions` leaves a member restricted: no rights at all (no roles, or
/// roles without permissions), so only Home, FAQ, Settings, Feedback and the home page's links.
/// The one definition of "restricted" every answer uses.
pub fn is_restricted(permissions: &std::collections::BTreeSet<Permission>) -> bool {
    permissions.is_empty()
}

impl Permission {
    /// Every area, in the portal's menu order.
    pub const ALL: [Permission; 4] = [Self::Orders, Self::Invoices, Self::Documents, Self::UserManagement];

    /// The stable name used in the API and in DynamoDB.
    pub fn code(self) -> &'static str {
        match self {
            Self::Orders => "orders",
            Self::Invoices => "invoices",
            Self::Documents => "documents",
            Self::UserManagement => "user-management",
        }
    }

    /// Parses a permission by its code.
    pub fn parse(raw: &str) -> Result<Self, super::InvalidValue> {
        Self::ALL.into_iter().find(|p| p.code() == raw).ok_or_else(|| {
            super::InvalidValue::new(
                "invalid-permission",
                format!("`{raw}` is not a permission (orders, invoices, documents, user-management)."),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_match_serde() {
        for permission in Permission::ALL {
            assert_eq!(Permission::parse(permission.code()).unwrap(), permission);
            assert_eq!(serde_json::to_value(permission).unwrap(), permission.code());
        }
        assert_eq!(Permission::parse("admin").unwrap_err().code, "invalid-permission");
    }
}
