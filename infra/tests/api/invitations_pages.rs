//! Rule 19 (tables that page and search): the invitations table searched by email prefix beside
//! its status filter, with the counts per status; bad paging input is refused and a cursor
//! serves only the listing it came from.

use crate::helpers::{Caller, LINK_LIFETIME, TestApp};
use infra::seed::CUSTOMER_NUMBER;
use serde_json::{Value, json};
use time::Duration;

/// Every page of a listing, following `nextCursor`: the emails in order and the first page.
async fn all_pages(admin: &Caller, filters: &str) -> (Vec<String>, Value) {
    let (mut emails, mut first, mut cursor) = (Vec::new(), None, None::<String>);
    loop {
        let mut query = format!("?limit=2{filters}");
        if let Some(cursor) = &cursor {
            query.push_str(&format!("&cursor={cursor}"));
        }
        let page = admin.list_invitations(CUSTOMER_NUMBER, &query).await;
        assert_eq!(page.status, 200, "{query}: {page:?}");
        emails.extend(
            page.body["invitations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["email"].as_str().unwrap().to_owned()),
        );
        first.get_or_insert_with(|| page.body.clone());
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (emails, first.unwrap()),
        }
    }
}

#[tokio::test]
async fn invitations_are_searched_by_email_prefix_in_any_case_beside_the_status_filter() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    for email in [
        "anna@example.com",
        "annabel@example.com",
        "bob@example.com",
        "anton@example.com",
    ] {
        admin.invite_to_demo(email).await;
    }
    app.clock.advance(LINK_LIFETIME);
    let admin = app.demo_admin().await;
    for email in ["anne@example.com", "annika@example.com", "ann.deleted@example.com"] {
        admin.invite_to_demo(email).await;
    }
    let deleted = admin.list_invitations(CUSTOMER_NUMBER, "?email=ann.deleted").await;
    let deleted = deleted.body["invitations"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(admin.delete_invitation(CUSTOMER_NUMBER, &deleted).await.status, 204);

    // By email, in pages, whatever the case of the search.
    let (found, _) = all_pages(&admin, "&email=ANN").await;
    assert_eq!(
        found,
        [
            "anna@example.com",
            "annabel@example.com",
            "anne@example.com",
            "annika@example.com"
        ],
        "pending and expired, by email"
    );
    let (pending, _) = all_pages(&admin, "&email=Ann&status=pending").await;
    assert_eq!(pending, ["anne@example.com", "annika@example.com"]);
    let (expired, _) = all_pages(&admin, "&email=ann&status=expired").await;
    assert_eq!(expired, ["anna@example.com", "annabel@example.com"]);
    let (kept, _) = all_pages(&admin, "&email=ann&status=deleted").await;
    assert_eq!(kept, ["ann.deleted@example.com"]);
    let (none, _) = all_pages(&admin, "&email=zed").await;
    assert!(none.is_empty());
}

#[tokio::test]
async fn the_list_counts_pending_and_expired_invitations_exactly_whatever_the_filter() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    for i in 0..3 {
        admin.invite_to_demo(&format!("early{i}@example.com")).await;
    }
    app.clock.advance(LINK_LIFETIME - Duration::minutes(1));
    let admin = app.demo_admin().await;
    let late = admin.invite_to_demo("late@example.com").await;
    let gone = admin.invite_to_demo("gone@example.com").await;
    assert_eq!(admin.delete_invitation(CUSTOMER_NUMBER, &gone).await.status, 204);
    app.recorded().await;
    let (_, first) = all_pages(&admin, "").await;
    assert_eq!(first["counts"], json!({ "pending": 4, "expired": 0 }), "{first}");

    // A minute later the first three have expired: counted by the clock, not by a write.
    app.clock.advance(Duration::minutes(1));
    let admin = app.demo_admin().await;
    for filters in ["", "&status=expired", "&email=late", "&status=deleted"] {
        let (_, first) = all_pages(&admin, filters).await;
        assert_eq!(
            first["counts"],
            json!({ "pending": 1, "expired": 3 }),
            "{filters}: {first}"
        );
    }
    let shown = admin.get_invitation(CUSTOMER_NUMBER, &late).await;
    assert_eq!(shown.body["status"], "pending");

    // 30 days after expiry they are no longer listed, nor counted.
    app.clock
        .advance(crate::helpers::LISTED_AFTER_EXPIRY + Duration::seconds(1));
    let admin = app.demo_admin().await;
    let (_, first) = all_pages(&admin, "").await;
    assert_eq!(first["counts"], json!({ "pending": 0, "expired": 1 }), "{first}");
}

#[tokio::test]
async fn bad_search_input_is_refused_and_a_cursor_serves_only_its_own_listing() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    for i in 0..5 {
        admin.invite_to_demo(&format!("user{i}@example.com")).await;
    }
    let before = app.all_items().await;
    for (query, code) in [
        ("?email=", "invalid-search"),
        ("?email=a%20b", "invalid-search"),
        ("?status=withdrawn", "invalid-status-filter"),
        ("?status=Accepted", "invalid-status-filter"),
        ("?email=a&email=b", "invalid-query"),
    ] {
        admin
            .list_invitations(CUSTOMER_NUMBER, query)
            .await
            .assert_problem(400, code);
    }
    assert_eq!(app.all_items().await, before, "a refused listing changes nothing");

    for (issued, other) in [
        ("?limit=2", "?limit=2&status=pending"),
        ("?limit=2", "?limit=2&email=user"),
        ("?limit=2&email=user", "?limit=2&email=use"),
        ("?limit=2&email=user", "?limit=2"),
        ("?limit=2&status=pending", "?limit=2&status=expired"),
    ] {
        let page = admin.list_invitations(CUSTOMER_NUMBER, issued).await;
        let cursor = page.body["nextCursor"]
            .as_str()
            .unwrap_or_else(|| panic!("{issued}: {page:?}"))
            .to_owned();
        admin
            .list_invitations(CUSTOMER_NUMBER, &format!("{other}&cursor={cursor}"))
            .await
            .assert_problem(400, "invalid-cursor");
        // Its own listing goes on with it.
        let next = admin
            .list_invitations(CUSTOMER_NUMBER, &format!("{issued}&cursor={cursor}"))
            .await;
        assert_eq!(next.status, 200, "{issued}: {next:?}");
    }
    // At another customer, by its own admin: refused, never a page of the first customer.
    let page = admin.list_invitations(CUSTOMER_NUMBER, "?limit=2").await;
    let cursor = page.body["nextCursor"].as_str().unwrap().to_owned();
    let other = app.other_customer().await;
    let beta = app.user(&other.admin_email, &other.admin_password).await;
    beta.list_invitations(&other.number, &format!("?limit=2&cursor={cursor}"))
        .await
        .assert_problem(400, "invalid-cursor");
}

#[tokio::test]
async fn at_thousands_of_invitations_the_counts_stay_exact_and_a_search_finds_its_rows() {
    use crate::helpers::NowForTests as _;
    let app = TestApp::with_demo_customer().await;
    let customer = cloudhub::domain::CustomerNumber::parse(CUSTOMER_NUMBER).unwrap();
    let admin = cloudhub::domain::Admin {
        user_id: cloudhub::domain::UserId::parse(infra::seed::ADMIN_USER_ID).unwrap(),
        email: cloudhub::domain::Email::parse(infra::seed::ADMIN_EMAIL).unwrap(),
    };
    let now = app.clock.now_for_tests();
    // More than a Query's 1 MB of invitations in the pending range: the count takes pages.
    let store = &app.app.store;
    tokio::join!(
        cloudhub::testing::add_invitations_at_scale(store, &customer, &admin, "p", 1500, now),
        cloudhub::testing::add_invitations_at_scale(store, &customer, &admin, "q", 1500, now),
        cloudhub::testing::add_invitations_at_scale(store, &customer, &admin, "e", 300, now - Duration::days(2)),
    );
    app.recorded().await;
    let caller = app.demo_admin().await;
    let first = caller.list_invitations(CUSTOMER_NUMBER, "").await;
    assert_eq!(first.body["counts"], json!({ "pending": 3000, "expired": 300 }));
    assert_eq!(first.body["invitations"].as_array().unwrap().len(), 25);
    let (found, _) = all_pages(&caller, "&email=p99").await;
    let mut expected: Vec<String> = std::iter::once(99)
        .chain(990..1000)
        .map(|n| format!("p{n}@example.com"))
        .collect();
    expected.sort();
    assert_eq!(found, expected);
    let (expired, _) = all_pages(&caller, "&email=e29&status=expired").await;
    assert_eq!(expired.len(), 11, "e29 and e290..e299: {expired:?}");
}

#[tokio::test]
async fn a_page_that_ends_the_listing_has_no_cursor_even_when_full() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    for i in 0..4 {
        admin.invite_to_demo(&format!("full{i}@example.com")).await;
    }
    for filters in ["&email=full", "&status=pending&email=full"] {
        let first = admin
            .list_invitations(CUSTOMER_NUMBER, &format!("?limit=2{filters}"))
            .await;
        let cursor = first.body["nextCursor"]
            .as_str()
            .unwrap_or_else(|| panic!("{filters}: {first:?}"));
        let last = admin
            .list_invitations(CUSTOMER_NUMBER, &format!("?limit=2{filters}&cursor={cursor}"))
            .await;
        assert_eq!(
            last.body["invitations"].as_array().unwrap().len(),
            2,
            "{filters}: {last:?}"
        );
        assert_eq!(
            last.body["nextCursor"],
            Value::Null,
            "{filters}: the last page, full, says so"
        );
    }
    // Unfiltered, by time: the demo's own invitations and these four, in pages of their number.
    let all = admin.list_invitations(CUSTOMER_NUMBER, "?limit=100").await;
    let total = all.body["invitations"].as_array().unwrap().len();
    let exact = admin
        .list_invitations(CUSTOMER_NUMBER, &format!("?limit={total}"))
        .await;
    assert_eq!(exact.body["invitations"].as_array().unwrap().len(), total);
    assert_eq!(
        exact.body["nextCursor"],
        Value::Null,
        "one full page of everything: {exact:?}"
    );
}
