//! Rule 19's counts (the invitations table's pending and expired): kept by the recorder from the
//! data table's stream, one counter per customer and expiry minute. Every write that opens,
//! moves or ends an invitation moves its count; the clock moves invitations from pending to
//! expired to unlisted with no write, exactly at the second; a record handed over again, or
//! two recorders at once, count each change once.

use crate::deliveries::poller;
use crate::helpers::{LINK_LIFETIME, LISTED_AFTER_EXPIRY, TestApp};
use cloudhub::stream::Change;
use infra::delivery::{Consumer, Recorder};
use infra::seed::CUSTOMER_NUMBER;
use serde_json::{Value, json};
use std::sync::Mutex;
use time::Duration;

async fn counts(app: &TestApp) -> Value {
    let admin = app.demo_admin().await;
    let page = admin.list_invitations(CUSTOMER_NUMBER, "?limit=1").await;
    assert_eq!(page.status, 200, "{page:?}");
    page.body["counts"].clone()
}

/// A consumer that keeps what it is handed, to hand it to the recorder by hand.
#[derive(Default)]
struct Capture(Mutex<Vec<Change>>);

impl Consumer for Capture {
    fn consume(&self, changes: Vec<Change>) -> impl Future<Output = Option<String>> + Send {
        self.0.lock().unwrap().extend(changes);
        std::future::ready(None)
    }
}

/// The counter items of the demo customer, as stored.
async fn counter_items(app: &TestApp) -> Vec<Value> {
    let mut items: Vec<Value> = app
        .all_items()
        .await
        .iter()
        .filter(|item| item.sk.starts_with("OPENCOUNT#"))
        .map(|item| item.attributes.clone())
        .collect();
    items.sort_by_key(|item| item["SK"].as_str().unwrap_or_default().to_owned());
    items
}

#[tokio::test]
async fn every_write_that_opens_moves_or_ends_an_invitation_moves_its_count() {
    let app = TestApp::with_demo_customer().await;
    // An account of another customer, invited here too: it will decline.
    let other = app.other_customer().await;
    let decliner = app.user(&other.admin_email, &other.admin_password).await;
    let admin = app.demo_admin().await;
    let kept = admin.invite_to_demo("kept@example.com").await;
    let gone = admin.invite_to_demo("gone@example.com").await;
    let (_, link) = admin.invite_with_link("joins@example.com", &[]).await;
    let declined = admin.invite_to_demo(&other.admin_email).await;
    app.recorded().await;
    assert_eq!(counts(&app).await, json!({ "pending": 4, "expired": 0 }));

    // Deleted, accepted by link, declined by its invitee: no longer counted.
    assert_eq!(admin.delete_invitation(CUSTOMER_NUMBER, &gone).await.status, 204);
    app.anonymous().accept_as_new(&link, "a long enough password 1").await;
    let decline = format!("/me/invitations/{CUSTOMER_NUMBER}/{declined}/decline");
    assert_eq!(decliner.post_json(&decline, &json!({})).await.status, 204);
    app.recorded().await;
    assert_eq!(counts(&app).await, json!({ "pending": 1, "expired": 0 }));

    // Two hours after its day it has expired, by the clock alone; a resend moves it back to
    // pending (to another expiry hour: one counter down, another up).
    app.clock.advance(LINK_LIFETIME + Duration::hours(2));
    assert_eq!(counts(&app).await, json!({ "pending": 0, "expired": 1 }));
    let admin = app.demo_admin().await;
    assert_eq!(admin.resend(CUSTOMER_NUMBER, &kept).await.status, 200);
    app.recorded().await;
    assert_eq!(counts(&app).await, json!({ "pending": 1, "expired": 0 }));
    let open: Vec<(String, i64)> = counter_items(&app)
        .await
        .iter()
        .map(|item| (item["SK"].as_str().unwrap().to_owned(), item["n"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        open.iter().map(|(_, n)| n).sum::<i64>(),
        1,
        "open invitations in all: {open:?}"
    );
    assert!(
        open.iter().any(|(_, n)| *n == 0),
        "the old hour's counter went down: {open:?}"
    );
}

#[tokio::test]
async fn at_the_two_bounds_the_counts_are_exact_to_the_second() {
    use crate::helpers::NowForTests as _;
    let app = TestApp::with_demo_customer().await;
    // Half a minute into a minute: the bounds' minutes hold invitations on both sides of now.
    let second = i64::from(app.clock.now_for_tests().second());
    app.clock.advance(Duration::seconds((90 - second) % 60));
    let now = app.clock.now_for_tests();
    let customer = cloudhub::domain::CustomerNumber::parse(CUSTOMER_NUMBER).unwrap();
    let admin = cloudhub::domain::Admin {
        user_id: cloudhub::domain::UserId::parse(infra::seed::ADMIN_USER_ID).unwrap(),
        email: cloudhub::domain::Email::parse(infra::seed::ADMIN_EMAIL).unwrap(),
    };
    let store = &app.app.store;
    // Expiring 10 s from now, and 10 s ago: the current minute, read from the invitations.
    cloudhub::testing::add_invitations_at_scale(
        store,
        &customer,
        &admin,
        "soon",
        2,
        now + Duration::seconds(10) - LINK_LIFETIME,
    )
    .await;
    cloudhub::testing::add_invitations_at_scale(
        store,
        &customer,
        &admin,
        "just",
        3,
        now - Duration::seconds(10) - LINK_LIFETIME,
    )
    .await;
    app.recorded().await;
    assert_eq!(counts(&app).await, json!({ "pending": 2, "expired": 3 }));
    app.clock.advance(Duration::seconds(15));
    assert_eq!(counts(&app).await, json!({ "pending": 0, "expired": 5 }));

    // 30 days after their expiry, to the second: the bound 30 days back falls in their minute.
    app.clock
        .advance(LISTED_AFTER_EXPIRY - Duration::seconds(15) - Duration::seconds(12));
    assert_eq!(
        counts(&app).await,
        json!({ "pending": 0, "expired": 5 }),
        "expired 30 days less 2 s and 22 s ago"
    );
    app.clock.advance(Duration::seconds(5));
    assert_eq!(
        counts(&app).await,
        json!({ "pending": 0, "expired": 2 }),
        "the three 10 s older ones unlisted"
    );
    app.clock.advance(Duration::seconds(20));
    assert_eq!(counts(&app).await, json!({ "pending": 0, "expired": 0 }));
}

#[tokio::test]
async fn records_handed_over_again_or_to_two_recorders_at_once_count_once() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    // Invites at once, and a resend: INSERT and MODIFY records.
    let invites: Vec<_> = (0..30)
        .map(|i| {
            let admin = admin.clone();
            tokio::spawn(async move { admin.invite_to_demo(&format!("many{i}@example.com")).await })
        })
        .collect();
    let mut ids = Vec::new();
    for invite in invites {
        ids.push(invite.await.unwrap());
    }
    assert_eq!(admin.delete_invitation(CUSTOMER_NUMBER, &ids[0]).await.status, 204);

    // The records as the stream has them, handed to the recorder three times over.
    let capture = Capture::default();
    let mut reader = poller(&app).await;
    while reader.poll_once(&capture).await.unwrap().records > 0 {}
    let changes = std::mem::take(&mut *capture.0.lock().unwrap());
    assert!(changes.len() >= 31, "{} records", changes.len());
    let store = app.app.store.clone();
    assert_eq!(cloudhub::recorder::record(&store, &changes).await, None);
    let once = counter_items(&app).await;
    assert_eq!(counts(&app).await, json!({ "pending": 29, "expired": 0 }));
    // Again whole, then its second half alone (a batch retried from a failed record).
    assert_eq!(cloudhub::recorder::record(&store, &changes).await, None);
    assert_eq!(
        cloudhub::recorder::record(&store, &changes[changes.len() / 2..]).await,
        None
    );
    assert_eq!(
        counter_items(&app).await,
        once,
        "a record handed over again changes nothing"
    );

    // Two recorders reading the whole stream at once (a retried batch beside its successor).
    let more: Vec<_> = (0..20)
        .map(|i| {
            let admin = admin.clone();
            tokio::spawn(async move { admin.invite_to_demo(&format!("more{i}@example.com")).await })
        })
        .collect();
    for invite in more {
        invite.await.unwrap();
    }
    let recorders: Vec<_> = (0..2)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                let mut reader = poller(&app).await;
                let recorder = Recorder(app.app.store.clone());
                // A refused batch is read again next time, as Lambda hands it over again.
                loop {
                    let polled = reader.poll_once(&recorder).await.unwrap();
                    if polled.records == 0 && !polled.failed {
                        break;
                    }
                }
            })
        })
        .collect();
    for recorder in recorders {
        recorder.await.unwrap();
    }
    assert_eq!(counts(&app).await, json!({ "pending": 49, "expired": 0 }));
}

#[tokio::test]
async fn records_whose_derived_items_share_a_key_go_in_separate_transactions() {
    // Two items written with one stamp (as the benchmark's clones of one invitation are) owe
    // the same activity entry: one transaction cannot write it twice, so they go in two.
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    admin.invite_to_demo("stamped@example.com").await;
    let capture = Capture::default();
    let mut reader = poller(&app).await;
    while reader.poll_once(&capture).await.unwrap().records > 0 {}
    let changes = std::mem::take(&mut *capture.0.lock().unwrap());
    let invited = changes
        .iter()
        .rev()
        .find(|change| {
            change.new.as_ref().is_some_and(|item| {
                serde_dynamo::from_item::<_, Value>(item.clone()).unwrap()["email"] == "stamped@example.com"
            })
        })
        .unwrap()
        .clone();
    let mut twin = invited.clone();
    let mut image: Value = serde_dynamo::from_item(twin.new.clone().unwrap()).unwrap();
    let other = cloudhub::domain::InvitationId::generate().to_string();
    image["SK"] = json!(format!("INVITATION#{other}"));
    image["id"] = json!(other);
    image["email"] = json!("twin@example.com");
    twin.new = Some(serde_dynamo::to_item(image).unwrap());
    twin.sequence_number = format!("{}9", invited.sequence_number);
    let store = app.app.store.clone();
    assert_eq!(cloudhub::recorder::record(&store, &[invited, twin]).await, None);
    let open: i64 = counter_items(&app)
        .await
        .iter()
        .map(|item| item["n"].as_i64().unwrap())
        .sum();
    assert_eq!(open, 2, "both counted, once");
}
