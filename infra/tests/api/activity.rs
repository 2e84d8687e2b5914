//! Rule 20's activity log: `GET /customers/{c}/activity`, entries written from the data table's
//! stream (each covered change once, with its actor, subject and request id), newest first,
//! cursor pages, filters by kind and address, a CSV export of a time range; admins only; nothing
//! secret in any entry.

use crate::helpers::{Caller, TestApp, TestResponse};
use infra::seed::{self, CUSTOMER_NUMBER};
use lambda_http::http::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Every record of the data table's stream so far through the recorder (as the deployed one
/// reads them); the number of activity entries then stored.
async fn record_activity(app: &TestApp) -> usize {
    app.recorded().await;
    app.all_items().await.with_pk_prefix("ACTIVITY#").len()
}

/// Every record of the data table's stream, oldest first (to hand them to the recorder again).
async fn stream_changes(app: &TestApp) -> Vec<cloudhub::stream::Change> {
    use aws_sdk_dynamodbstreams::types::ShardIteratorType;
    let streams = infra::delivery::local_streams_client(&cloudhub::testing::endpoint());
    let table = app
        .app
        .store
        .client()
        .describe_table()
        .table_name(&app.app.store.tables().data)
        .send()
        .await
        .unwrap();
    let arn = table.table().unwrap().latest_stream_arn().unwrap().to_owned();
    let described = streams.describe_stream().stream_arn(&arn).send().await.unwrap();
    let mut changes = Vec::new();
    for shard in described.stream_description().unwrap().shards() {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id().unwrap())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator;
        while let Some(at) = iterator {
            let output = streams.get_records().shard_iterator(at).send().await.unwrap();
            if output.records().is_empty() {
                break;
            }
            changes.extend(output.records().iter().filter_map(|r| r.dynamodb()).map(|change| {
                cloudhub::stream::Change {
                    sequence_number: change.sequence_number().unwrap_or_default().to_owned(),
                    old: change.old_image().cloned().map(serde_dynamo::Item::from),
                    new: change.new_image().cloned().map(serde_dynamo::Item::from),
                }
            }));
            iterator = output.next_shard_iterator;
        }
    }
    changes
}

fn log_path(query: &str) -> String {
    format!("/customers/{CUSTOMER_NUMBER}/activity{query}")
}

fn entries(response: &TestResponse) -> &Vec<Value> {
    assert_eq!(response.status, 200, "{response:?}");
    response.body["entries"].as_array().unwrap()
}

fn request_id(response: &TestResponse) -> String {
    response.headers["apigw-requestid"].to_str().unwrap().to_owned()
}

/// The one entry of `kind` in `listed`.
#[track_caller]
fn one_of<'a>(listed: &'a [Value], kind: &str) -> &'a Value {
    let found: Vec<&Value> = listed.iter().filter(|entry| entry["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "{kind}: {listed:#?}");
    found[0]
}

/// The one entry the request `request_id` made, which must be of `kind`.
#[track_caller]
fn made_by<'a>(listed: &'a [Value], kind: &str, request_id: &str) -> &'a Value {
    let found: Vec<&Value> = listed.iter().filter(|entry| entry["requestId"] == request_id).collect();
    assert_eq!(found.len(), 1, "{kind} {request_id}: {listed:#?}");
    assert_eq!(found[0]["kind"], kind, "{listed:#?}");
    found[0]
}

/// What the demo admin, a new member and another customer's admin did, with the request each
/// change was made in.
struct Story {
    admin: Caller,
    admin_id: String,
    other_admin: Caller,
    other_number: String,
    requests: Vec<(&'static str, String)>,
}

impl Story {
    fn request(&self, kind: &str) -> &str {
        &self.requests.iter().find(|(k, _)| *k == kind).unwrap().1
    }
}

/// Entries of the story: three invitations sent (Anna, Ben, the other admin), and one entry of
/// each other kind.
const STORY_ENTRIES: usize = 12;

/// Every change the log covers, once, with the request id each was made in.
async fn every_kind_of_change(app: &TestApp) -> Story {
    let admin = app.demo_admin().await;
    let admin_id = admin.user_id().to_owned();
    let mut requests = Vec::new();
    let buyer = app.demo_role("Buyer").await;

    let invited = admin
        .invite(
            CUSTOMER_NUMBER,
            json!({ "email": "anna@example.com", "roleIds": [buyer] }),
        )
        .await;
    assert_eq!(invited.status, 201, "{invited:?}");
    requests.push(("invitation-sent", request_id(&invited)));
    let anna = invited.body["invitation"]["id"].as_str().unwrap().to_owned();
    app.clock.advance(time::Duration::seconds(1));
    let resent = admin.resend(CUSTOMER_NUMBER, &anna).await;
    assert_eq!(resent.status, 200, "{resent:?}");
    requests.push(("invitation-resent", request_id(&resent)));
    app.clock.advance(time::Duration::seconds(1));
    let deleted = admin.delete_invitation(CUSTOMER_NUMBER, &anna).await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    requests.push(("invitation-deleted", request_id(&deleted)));

    app.clock.advance(time::Duration::seconds(1));
    let (_, link) = admin.invite_with_link("ben@example.com", &["Buyer"]).await;
    let accepted = app
        .anonymous()
        .accept(&link, &json!({ "password": "a long new password" }))
        .await;
    assert_eq!(accepted.status, 201, "{accepted:?}");
    requests.push(("invitation-accepted", request_id(&accepted)));
    let ben = app.signed_in(&accepted);

    // Another customer's admin declines the demo customer's invitation.
    app.clock.advance(time::Duration::seconds(1));
    let other = app.other_customer().await;
    let other_admin = app.user(&other.admin_email, &other.admin_password).await;
    let (declined_id, _) = admin.invite_with_link(&other.admin_email, &[]).await;
    let declined = other_admin
        .post_json(
            &format!("/me/invitations/{CUSTOMER_NUMBER}/{declined_id}/decline"),
            &json!({}),
        )
        .await;
    assert_eq!(declined.status, 204, "{declined:?}");
    requests.push(("invitation-declined", request_id(&declined)));

    app.clock.advance(time::Duration::seconds(1));
    let created = admin
        .post_json(
            &format!("/customers/{CUSTOMER_NUMBER}/roles"),
            &json!({ "name": "Warehouse", "permissions": ["orders"] }),
        )
        .await;
    assert_eq!(created.status, 201, "{created:?}");
    requests.push(("role-created", request_id(&created)));
    let warehouse = created.body["id"].as_str().unwrap().to_owned();
    app.clock.advance(time::Duration::seconds(1));
    let edited = admin
        .put_json(
            &format!("/customers/{CUSTOMER_NUMBER}/roles/{warehouse}"),
            &json!({ "name": "Warehouse North", "permissions": ["orders", "documents"] }),
        )
        .await;
    assert_eq!(edited.status, 200, "{edited:?}");
    requests.push(("role-edited", request_id(&edited)));

    app.clock.advance(time::Duration::seconds(1));
    let ben_id = ben.user_id().to_owned();
    let assigned = admin.assign(&ben_id, json!([buyer, warehouse])).await;
    assert_eq!(assigned.status, 200, "{assigned:?}");
    requests.push(("roles-assigned", request_id(&assigned)));

    app.clock.advance(time::Duration::seconds(1));
    let removed = admin
        .delete(&format!(
            "/customers/{CUSTOMER_NUMBER}/roles/{warehouse}?confirm=remove-from-members"
        ))
        .await;
    assert_eq!(removed.status, 200, "{removed:?}");
    requests.push(("role-deleted", request_id(&removed)));

    app.clock.advance(time::Duration::seconds(1));
    let left = ben.leave(CUSTOMER_NUMBER, CUSTOMER_NUMBER).await;
    assert_eq!(left.status, 200, "{left:?}");
    requests.push(("member-left", request_id(&left)));
    Story {
        admin,
        admin_id,
        other_admin,
        other_number: other.number,
        requests,
    }
}

#[tokio::test]
async fn each_covered_change_makes_one_entry_with_its_actor_subject_and_request_id() {
    let app = TestApp::with_demo_customer().await;
    let story = every_kind_of_change(&app).await;
    record_activity(&app).await;
    let listed = story.admin.get(&log_path("?limit=100")).await;
    let listed = entries(&listed);
    assert_eq!(listed.len(), STORY_ENTRIES, "{listed:#?}");
    for (kind, request) in &story.requests {
        made_by(listed, kind, request);
    }
    // Newest first.
    let times: Vec<&str> = listed.iter().map(|e| e["at"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);

    let admin = json!({ "userId": story.admin_id, "email": seed::ADMIN_EMAIL });
    for kind in [
        "invitation-sent",
        "invitation-resent",
        "invitation-deleted",
        "role-created",
        "role-edited",
        "role-deleted",
        "roles-assigned",
    ] {
        assert_eq!(made_by(listed, kind, story.request(kind))["actor"], admin, "{kind}");
    }
    let sent = made_by(listed, "invitation-sent", story.request("invitation-sent"));
    assert_eq!(sent["subject"]["email"], "anna@example.com");
    assert_eq!(sent["after"]["roleIds"], json!([app.demo_role("Buyer").await]));
    assert_eq!(
        one_of(listed, "invitation-deleted")["subject"]["invitationId"],
        sent["subject"]["invitationId"]
    );

    let accepted = one_of(listed, "invitation-accepted");
    let ben = accepted["actor"]["userId"].clone();
    assert_eq!(accepted["actor"]["email"], "ben@example.com");
    assert_eq!(accepted["subject"]["userId"], ben);
    let declined = one_of(listed, "invitation-declined");
    assert_eq!(declined["actor"]["email"], "admin@beta.example");
    assert_eq!(declined["subject"]["email"], "admin@beta.example");

    let edited = one_of(listed, "role-edited");
    assert_eq!(
        edited["before"],
        json!({ "name": "Warehouse", "permissions": ["orders"] })
    );
    assert_eq!(
        edited["after"],
        json!({ "name": "Warehouse North", "permissions": ["orders", "documents"] })
    );
    assert_eq!(edited["subject"]["roleName"], "Warehouse North");
    let deleted = one_of(listed, "role-deleted");
    assert_eq!(deleted["subject"]["roleId"], edited["subject"]["roleId"]);
    assert_eq!(deleted["before"]["name"], "Warehouse North");
    let assigned = one_of(listed, "roles-assigned");
    assert_eq!(
        assigned["subject"],
        json!({ "userId": ben, "email": "ben@example.com" })
    );
    assert_eq!(assigned["before"]["roleIds"], json!([app.demo_role("Buyer").await]));
    assert_eq!(assigned["after"]["roleIds"].as_array().unwrap().len(), 2);
    let left = one_of(listed, "member-left");
    assert_eq!(left["actor"], json!({ "userId": ben, "email": "ben@example.com" }));
    assert_eq!(left["subject"]["email"], "ben@example.com");
}

#[tokio::test]
async fn a_record_delivered_again_writes_nothing_new() {
    let app = TestApp::with_demo_customer().await;
    every_kind_of_change(&app).await;
    assert_eq!(record_activity(&app).await, STORY_ENTRIES);
    let once = app.all_items().await;
    // The whole stream handed over again, in one batch and record by record: nothing changes.
    let changes = stream_changes(&app).await;
    assert_eq!(cloudhub::recorder::record(&app.app.store, &changes).await, None);
    for change in &changes {
        assert_eq!(
            cloudhub::recorder::record(&app.app.store, std::slice::from_ref(change)).await,
            None
        );
    }
    assert_eq!(app.all_items().await, once);
    // Without the recorder's markers too, an entry's key comes from its record alone.
    for change in &changes {
        let writes = cloudhub::activity::writes(&app.app.store, change).unwrap();
        if !writes.is_empty() {
            app.app
                .store
                .client()
                .transact_write_items()
                .set_transact_items(Some(writes))
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(
        app.all_items().await.with_pk_prefix("ACTIVITY#"),
        once.with_pk_prefix("ACTIVITY#")
    );
}

#[tokio::test]
async fn the_deployed_recorder_is_handed_every_item_that_carries_a_stamp() {
    let app = TestApp::with_demo_customer().await;
    every_kind_of_change(&app).await;
    let template: serde_norway::Value = serde_norway::from_str(include_str!("../../../template.yaml")).unwrap();
    let filters =
        template["Resources"]["RecorderFunction"]["Properties"]["Events"]["DataStream"]["Properties"]["FilterCriteria"]
            ["Filters"]
            .as_sequence()
            .unwrap()
            .clone();
    let prefixes: Vec<String> = filters
        .iter()
        .flat_map(|filter| {
            let pattern: Value = serde_json::from_str(filter["Pattern"].as_str().unwrap()).unwrap();
            pattern["dynamodb"]["Keys"]["SK"]["S"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["prefix"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    // Every stamped write, as the stream carries it (a deletion's record may be gone already:
    // its TTL is two days after the test clock's time, long past).
    let stamped: Vec<Value> = stream_changes(&app)
        .await
        .into_iter()
        .filter_map(|change| change.new)
        .map(|image| serde_dynamo::from_item::<_, Value>(image).unwrap())
        .filter(|image| image.get("change").is_some())
        .collect();
    let kinds: BTreeSet<&str> = stamped
        .iter()
        .map(|image| image["change"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 10, "{kinds:?}");
    for image in &stamped {
        let sk = image["SK"].as_str().unwrap();
        assert!(
            prefixes.iter().any(|prefix| sk.starts_with(prefix.as_str())),
            "the recorder's filter ({prefixes:?}) leaves out {sk}"
        );
    }
}

#[tokio::test]
async fn writes_the_log_does_not_cover_make_no_entry() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    // Seeding, log-in, settings, a tour step, quota reads: none is an entry.
    admin.put_json("/me/settings", &json!({ "language": "de" })).await;
    admin.quota(CUSTOMER_NUMBER).await;
    assert_eq!(record_activity(&app).await, 0);
    let listed = admin.get(&log_path("")).await;
    assert!(entries(&listed).is_empty(), "{listed:?}");
    assert_eq!(listed.body["nextCursor"], Value::Null);
}

#[tokio::test]
async fn the_log_filters_by_kind_and_by_address_and_pages_with_a_cursor() {
    let app = TestApp::with_demo_customer().await;
    let story = every_kind_of_change(&app).await;
    record_activity(&app).await;
    let admin = &story.admin;

    let kinds = |response: &TestResponse| -> Vec<String> {
        entries(response)
            .iter()
            .map(|e| e["kind"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        kinds(&admin.get(&log_path("?kind=role-edited")).await),
        vec!["role-edited"]
    );
    let about_ben = admin.get(&log_path("?email=Ben@Example.com")).await;
    assert_eq!(
        kinds(&about_ben),
        vec![
            "member-left",
            "roles-assigned",
            "invitation-accepted",
            "invitation-sent"
        ]
    );
    assert_eq!(
        kinds(
            &admin
                .get(&log_path("?email=ben@example.com&kind=invitation-sent"))
                .await
        ),
        vec!["invitation-sent"]
    );
    assert!(kinds(&admin.get(&log_path("?email=nobody@example.com")).await).is_empty());

    // Pages of three: every entry once, newest first, the last page without a cursor.
    let all: Vec<String> = entries(&admin.get(&log_path("?limit=100")).await)
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..10 {
        let query = match &cursor {
            Some(cursor) => format!("?limit=3&cursor={cursor}"),
            None => "?limit=3".into(),
        };
        let page = admin.get(&log_path(&query)).await;
        paged.extend(entries(&page).iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        cursor = page.body["nextCursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(paged, all);

    // A cursor continues only its own listing.
    let first = admin.get(&log_path("?limit=3&kind=invitation-sent")).await;
    let kind_cursor = first.body["nextCursor"].as_str().unwrap().to_owned();
    admin
        .get(&log_path(&format!("?limit=3&cursor={kind_cursor}")))
        .await
        .assert_problem(400, "invalid-cursor");
}

#[tokio::test]
async fn a_time_range_exports_as_csv() {
    let app = TestApp::with_demo_customer().await;
    let story = every_kind_of_change(&app).await;
    record_activity(&app).await;
    let admin = &story.admin;
    let all = admin.get(&log_path("?limit=100")).await;
    let all = entries(&all);
    // The three roles changes and the leaving, by their times: `from` inclusive, `to` exclusive.
    let at = |kind: &str| one_of(all, kind)["at"].as_str().unwrap().to_owned();
    let (from, to) = (at("role-edited"), at("member-left"));
    let exported = admin
        .request(
            Method::GET,
            &log_path(&format!("?from={from}&to={to}")),
            &[("accept", "text/csv")],
            Vec::new(),
        )
        .await;
    assert_eq!(exported.status, 200, "{exported:?}");
    assert_eq!(exported.headers["content-type"], "text/csv; charset=utf-8");
    assert!(
        exported.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("activity-100234.csv")
    );
    let text = exported.body.as_str().unwrap().to_owned();
    let lines: Vec<&str> = text.split("\r\n").filter(|line| !line.is_empty()).collect();
    assert!(
        lines[0].starts_with("time,kind,actorUserId,actorEmail,subjectEmail"),
        "{text}"
    );
    let kinds: Vec<&str> = lines[1..].iter().map(|line| line.split(',').nth(1).unwrap()).collect();
    assert_eq!(kinds, vec!["role-deleted", "roles-assigned", "role-edited"], "{text}");
    // JSON in a field is quoted, its quotes doubled.
    assert!(
        text.contains(r#""{""name"":""Warehouse"",""permissions"":[""orders""]}""#),
        "{text}"
    );

    let same = admin.get(&log_path(&format!("?format=csv&from={from}&to={to}"))).await;
    assert_eq!(same.body, exported.body);
    // format=json wins over the Accept header.
    let json_page = admin
        .request(
            Method::GET,
            &log_path(&format!("?format=json&from={from}&to={to}")),
            &[("accept", "text/csv")],
            Vec::new(),
        )
        .await;
    assert_eq!(entries(&json_page).len(), 3);
}

#[tokio::test]
async fn only_the_customers_admins_read_its_log() {
    let app = TestApp::with_demo_customer().await;
    let story = every_kind_of_change(&app).await;
    record_activity(&app).await;
    let member = app.member_of_demo("buyer@example.com", &["Buyer"]).await;
    member.get(&log_path("")).await.assert_problem(403, "not-an-admin");
    let other_admin = &story.other_admin;
    other_admin.get(&log_path("")).await.assert_problem(403, "not-an-admin");
    app.anonymous()
        .get(&log_path(""))
        .await
        .assert_problem(401, "missing-session");
    // The other customer's own log has none of the demo customer's entries.
    let own = other_admin
        .get(&format!("/customers/{}/activity", story.other_number))
        .await;
    assert!(entries(&own).is_empty(), "{own:?}");
}

#[tokio::test]
async fn bad_filters_ranges_limits_and_cursors_are_refused_with_codes() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let before = app.all_items().await;
    for (query, code) in [
        ("?kind=everything", "invalid-kind"),
        ("?email=not-an-address", "invalid-email"),
        ("?from=yesterday", "invalid-range"),
        ("?to=2026-13-01T00:00:00Z", "invalid-range"),
        ("?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "invalid-range"),
        ("?limit=0", "invalid-limit"),
        ("?limit=101", "invalid-limit"),
        ("?format=csv&limit=1001", "invalid-limit"),
        ("?limit=ten", "invalid-limit"),
        ("?format=xml", "invalid-format"),
        ("?cursor=garbage", "invalid-cursor"),
        ("?cursor=eyJjdXN0b21lciI6IjEwMDIzNCJ9", "invalid-cursor"),
        ("?since=2026-11-01", "invalid-query"),
    ] {
        admin.get(&log_path(query)).await.assert_problem(400, code);
    }
    assert_eq!(app.all_items().await, before);
}

#[tokio::test]
async fn no_entry_holds_a_token_nonce_hash_or_password() {
    let app = TestApp::with_demo_customer().await;
    // Every kind of change, with the links and secrets of its invitations and accounts.
    let admin = app.demo_admin().await;
    let (id, link) = admin.invite_with_link("carla@example.com", &["Buyer"]).await;
    let stored = app.all_items().await;
    let invitation = stored.with_sk(&format!("INVITATION#{id}"));
    let nonce = invitation[0].attr("linkNonce").as_str().unwrap().to_owned();
    let hash = invitation[0].attr("linkHash").as_str().unwrap().to_owned();
    app.anonymous()
        .accept(&link, &json!({ "password": "carla's long password" }))
        .await;
    every_kind_of_change(&app).await;
    assert!(record_activity(&app).await >= 11);
    let entries = app.all_items().await.with_pk_prefix("ACTIVITY#");
    let kinds: BTreeSet<&str> = entries.iter().map(|e| e.attr("kind").as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 10, "every kind: {kinds:?}");
    let credential = app.all_items().await.with_pk("EMAIL#carla@example.com");
    let password_hash = credential[0].attr("passwordHash").as_str().unwrap().to_owned();
    for entry in entries.iter() {
        let text = entry.text();
        for secret in [
            link.as_str(),
            nonce.as_str(),
            hash.as_str(),
            password_hash.as_str(),
            "carla's long password",
            "a long new password",
            seed::ADMIN_PASSWORD,
        ] {
            assert!(!text.contains(secret), "a secret in {text}");
        }
        for name in ["linkNonce", "linkHash", "passwordHash", "token"] {
            assert!(!text.contains(name), "{name} in {text}");
        }
    }
}
