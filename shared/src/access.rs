//! What a member may use of the portal in one customer: the pages, whether access is restricted
//! (no rights yet: Home, FAQ, Settings, Feedback and the home page's links only), the info banner
//! that says so, and the welcome-tour steps still due for the areas the member can reach.

use crate::domain::Permission;
use crate::memberships::Membership;
use serde::Serialize;

/// A page or area of the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Page {
    /// The home page.
    Home,
    /// Frequently asked questions.
    Faq,
    /// The user's settings.
    Settings,
    /// Feedback to the CloudHub team.
    Feedback,
    /// The links on the home page.
    HomeLinks,
    /// Switching to another customer; only with several customers.
    ChangeCustomer,
    /// An area a role opens.
    #[serde(untagged)]
    Area(Permission),
}

/// The pages every active member may use, rights or not.
pub const ALWAYS_ALLOWED: [Page; 5] = [Page::Home, Page::Faq, Page::Settings, Page::Feedback, Page::HomeLinks];

/// The info banner a restricted member sees: it has access but no rights yet.
pub const RESTRICTED_BANNER: &str = "no-rights-assigned";

/// A member's access to one customer, as the portal shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Access {
    /// No rights in this customer: only the always-allowed pages.
    pub restricted: bool,
    /// The info banner to show, if any.
    pub banner: Option<&'static str>,
    /// The pages the member may open, in menu order.
    pub pages: Vec<Page>,
    /// The welcome-tour steps still due: reachable areas the member has not been shown.
    pub tour: Vec<Permission>,
}

/// The access `membership` gives, for a user with `active_customers` customers in all.
pub fn access(membership: &Membership, active_customers: usize) -> Access {
    let restricted = membership.is_restricted();
    let mut pages = ALWAYS_ALLOWED.to_vec();
    if active_customers > 1 {
        pages.push(Page::ChangeCustomer);
    }
    pages.extend(membership.permissions.iter().copied().map(Page::Area));
    Access {
        restricted,
        banner: restricted.then_some(RESTRICTED_BANNER),
        pages,
        tour: membership
            .permissions
            .difference(&membership.tour_seen)
            .copied()
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CompanyName, CustomerNumber, Email, UserId};
    use crate::memberships::MembershipStatus;
    use std::collections::BTreeSet;

    fn member(permissions: &[Permission], seen: &[Permission]) -> Membership {
        Membership {
            user_id: UserId::generate(),
            email: Email::parse("anna@example.com").unwrap(),
            customer_number: CustomerNumber::parse("100234").unwrap(),
            company_name: CompanyName::parse("ACME").unwrap(),
            roles: Vec::new(),
            permissions: permissions.iter().copied().collect(),
            status: MembershipStatus::Active,
            joined_at: time::OffsetDateTime::UNIX_EPOCH,
            tour_seen: seen.iter().copied().collect::<BTreeSet<_>>(),
        }
    }

    #[test]
    fn a_member_without_rights_is_restricted_to_the_always_allowed_pages() {
        let access = access(&member(&[], &[]), 1);
        assert!(access.restricted);
        assert_eq!(access.banner, Some(RESTRICTED_BANNER));
        assert_eq!(access.pages, ALWAYS_ALLOWED.to_vec());
        assert!(access.tour.is_empty());
    }

    #[test]
    fn change_customer_appears_only_with_several_customers() {
        assert!(!access(&member(&[], &[]), 1).pages.contains(&Page::ChangeCustomer));
        assert!(access(&member(&[], &[]), 2).pages.contains(&Page::ChangeCustomer));
    }

    #[test]
    fn rights_open_their_areas_and_the_tour_covers_the_unseen_ones() {
        let access = access(
            &member(&[Permission::Orders, Permission::Invoices], &[Permission::Orders]),
            1,
        );
        assert!(!access.restricted);
        assert_eq!(access.banner, None);
        assert!(access.pages.contains(&Page::Area(Permission::Orders)));
        assert!(access.pages.contains(&Page::Area(Permission::Invoices)));
        assert!(!access.pages.contains(&Page::Area(Permission::Documents)));
        assert_eq!(access.tour, vec![Permission::Invoices]);
    }

    #[test]
    fn pages_serialise_as_flat_codes() {
        let pages = serde_json::to_value([Page::HomeLinks, Page::Area(Permission::UserManagement)]).unwrap();
        assert_eq!(pages, serde_json::json!(["home-links", "user-management"]));
    }
}
