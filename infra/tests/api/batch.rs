//! Rule 19's bulk invite: up to 50 addresses in one request, one result per row in order,
//! duplicates merged, only created rows spending quota (exactly, under concurrency), and one
//! email owed per created row.

use crate::helpers::{Caller, Ended, LINK_LIFETIME, LinkState, TestApp, TestResponse, unknown_role_id};
use infra::seed::CUSTOMER_NUMBER;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

fn batch_path(customer: &str) -> String {
    format!("/customers/{customer}/invitations/batch")
}

/// `POST .../invitations/batch` into the demo customer. Every row problem of the answer must be
/// one `infra/openapi.yaml` documents for a batch's rows (the helpers check top-level problems).
async fn invite_batch(caller: &Caller, body: Value) -> TestResponse {
    let response = caller.post_json(&batch_path(CUSTOMER_NUMBER), &body).await;
    if response.status == 200 {
        let documented = row_problem_codes();
        for result in results(&response) {
            if result["status"] == "refused" {
                let code = result["problem"]["code"].as_str().unwrap_or_default();
                assert!(
                    documented.contains(code),
                    "a row's problem `{code}` is not among the documented ones: {documented:?}"
                );
            }
        }
    }
    response
}

/// The codes `infra/openapi.yaml` documents for a batch row's problem.
fn row_problem_codes() -> BTreeSet<String> {
    let document: serde_norway::Value = serde_norway::from_str(include_str!("../../openapi.yaml")).unwrap();
    document["components"]["schemas"]["BatchRowProblem"]["properties"]["code"]["enum"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect()
}

fn rows(emails: &[&str]) -> Value {
    json!({ "invitations": emails.iter().map(|email| json!({ "email": email })).collect::<Vec<_>>() })
}

#[track_caller]
fn results(response: &TestResponse) -> &Vec<Value> {
    assert_eq!(response.status, 200, "{response:?}");
    response.body["results"].as_array().unwrap()
}

/// Asserts that `result` is a row refused with `status` and `code`.
#[track_caller]
fn assert_refused(result: &Value, status: u16, code: &str) {
    assert_eq!(result["status"], "refused", "{result}");
    let problem = &result["problem"];
    assert_eq!(problem["code"], code, "{result}");
    assert_eq!(problem["status"], status, "{result}");
    assert_eq!(problem["type"], format!("urn:cloudhub:problem:{code}"), "{result}");
    assert!(
        problem["title"].is_string() && problem["detail"].is_string(),
        "{result}"
    );
}

async fn quota_used(admin: &Caller) -> i64 {
    admin.quota(CUSTOMER_NUMBER).await.body["used"].as_i64().unwrap()
}

#[tokio::test]
async fn a_batch_answers_each_row_in_order_as_the_single_invite_shows_it_and_merges_duplicates() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;
    let response = invite_batch(
        &admin,
        json!({
            "invitations": [
                { "email": "Anna@Example.com" },
                { "email": "ben@example.com", "roleIds": [], "language": "en" },
                { "email": "anna@EXAMPLE.com", "roleIds": [] },
                { "email": "not an address" },
                { "email": "carl@example.com" },
            ],
            "defaults": { "roleIds": [buyer], "language": "de" },
        }),
    )
    .await;
    let results = results(&response);
    assert_eq!(results.len(), 5);
    assert_eq!(
        (
            &response.body["created"],
            &response.body["refused"],
            &response.body["duplicates"]
        ),
        (&json!(3), &json!(1), &json!(1))
    );

    let anna = &results[0];
    assert_eq!(anna["status"], "created", "{anna}");
    assert_eq!(anna["email"], "anna@example.com");
    assert_eq!(anna["emailStatus"], "queued");
    let id = anna["invitation"]["id"].as_str().unwrap();
    let shown = admin.get_invitation(CUSTOMER_NUMBER, id).await;
    assert_eq!(anna["invitation"], shown.body, "exactly as the invitation is shown");
    assert_eq!(anna["invitation"]["roles"], json!([{ "id": buyer, "name": "Buyer" }]));
    assert_eq!(
        app.invitation_item(CUSTOMER_NUMBER, id).await.language.unwrap().code(),
        "de"
    );

    // A row's own roles (even none) and language replace the defaults.
    let ben = &results[1];
    assert_eq!(ben["status"], "created", "{ben}");
    assert_eq!(ben["invitation"]["roles"], json!([]));
    let ben_id = ben["invitation"]["id"].as_str().unwrap();
    assert_eq!(
        app.invitation_item(CUSTOMER_NUMBER, ben_id)
            .await
            .language
            .unwrap()
            .code(),
        "en"
    );

    // The same address in another spelling is the first row's result, not a second invitation.
    let mut expected = anna.clone();
    expected["duplicateOf"] = json!(0);
    assert_eq!(results[2], expected);

    assert_refused(&results[3], 422, "invalid-email");
    assert!(results[3].get("email").is_none(), "{}", results[3]);
    assert_eq!(results[4]["status"], "created");
    assert_eq!(results[4]["email"], "carl@example.com");

    assert_eq!(quota_used(&admin).await, 3, "one send per created row");
    let list = admin.list_invitations(CUSTOMER_NUMBER, "").await;
    let listed: BTreeSet<&str> = list.body["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["email"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        BTreeSet::from(["anna@example.com", "ben@example.com", "carl@example.com"])
    );
}

#[tokio::test]
async fn each_row_problem_is_what_the_single_invite_answers_and_spends_nothing() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let pending = admin.invite_to_demo("pending@example.com").await;
    app.member_of_demo("member@example.com", &["Buyer"]).await;
    let unknown = unknown_role_id();
    let buyer = app.demo_role("Buyer").await;
    let used_before = quota_used(&admin).await;

    let response = invite_batch(
        &admin,
        json!({ "invitations": [
            { "email": "PENDING@example.com" },
            { "email": "member@example.com" },
            { "email": "ghost@example.com", "roleIds": [buyer, unknown] },
            { "email": "fine@example.com", "roleIds": [buyer] },
        ]}),
    )
    .await;
    let results = results(&response);
    assert_refused(&results[0], 409, "invitation-pending");
    assert_eq!(results[0]["problem"]["invitationId"], pending.as_str());
    assert_eq!(results[0]["email"], "pending@example.com");
    assert_refused(&results[1], 409, "already-member");
    assert_refused(&results[2], 422, "unknown-role");
    assert_eq!(
        results[2]["problem"]["roleIds"],
        json!([unknown]),
        "only the unknown ones"
    );
    assert_eq!(results[3]["status"], "created", "{}", results[3]);
    assert_eq!(
        results[3]["invitation"]["roles"],
        json!([{ "id": buyer, "name": "Buyer" }])
    );

    assert_eq!(quota_used(&admin).await, used_before + 1, "only the created row spent");
    let items = app.all_items().await;
    assert!(
        items.with_sk("EMAIL#ghost@example.com").is_empty(),
        "a refused row wrote nothing"
    );
    assert_eq!(items.with_sk_prefix("INVITATION#").len(), 2);
}

#[tokio::test]
async fn an_expired_invitation_in_a_batch_is_sent_again_and_a_deleted_ones_address_invited_afresh() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let (late, old_link) = admin.invite_with_link("late@example.com", &[]).await;
    let gone = admin.invite_to_demo("gone@example.com").await;
    assert_eq!(admin.delete_invitation(CUSTOMER_NUMBER, &gone).await.status, 204);
    app.clock.advance(LINK_LIFETIME + time::Duration::minutes(1));
    let admin = app.demo_admin().await;
    let buyer = app.demo_role("Buyer").await;

    let response = invite_batch(
        &admin,
        json!({ "invitations": [
            { "email": "late@example.com", "roleIds": [buyer] },
            { "email": "gone@example.com" },
        ]}),
    )
    .await;
    let results = results(&response);
    let again = &results[0];
    assert_eq!(again["status"], "created", "{again}");
    assert_eq!(
        again["invitation"]["id"],
        late.as_str(),
        "the same invitation, sent again"
    );
    assert_eq!(again["invitation"]["sendCount"], 2);
    assert_eq!(again["invitation"]["status"], "pending");
    assert_eq!(again["invitation"]["roleIds"], json!([buyer]), "with the row's roles");
    let fresh = &results[1];
    assert_eq!(fresh["status"], "created", "{fresh}");
    assert_ne!(fresh["invitation"]["id"], gone.as_str());
    assert_eq!(fresh["invitation"]["sendCount"], 1);

    let old = crate::helpers::LinkToken::parse(&old_link).unwrap();
    assert_eq!(
        app.open_link(&old).await,
        LinkState::Ended(Ended::Superseded),
        "the old link died, and says it was replaced"
    );
    let new_link = app.link_of(CUSTOMER_NUMBER, &late).await;
    assert!(matches!(app.open_link(&new_link).await, LinkState::Live(_)));
    assert_eq!(quota_used(&admin).await, 2, "a new day: both sends counted");
}

#[tokio::test]
async fn the_quota_running_out_mid_batch_spends_what_is_left_on_the_rows_in_order() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    app.member_of_demo("member@example.com", &[]).await;
    let first: Vec<String> = (0..45).map(|i| format!("early{i}@example.com")).collect();
    let first: Vec<&str> = first.iter().map(String::as_str).collect();
    let response = invite_batch(&admin, rows(&first)).await;
    assert_eq!(response.body["created"], 45, "{response:?}");
    assert_eq!(quota_used(&admin).await, 45);

    // Five sends are left: a member's row spends none of them.
    let emails = [
        "m0@example.com",
        "m1@example.com",
        "member@example.com",
        "m2@example.com",
        "m3@example.com",
        "m4@example.com",
        "m5@example.com",
        "m6@example.com",
    ];
    let response = invite_batch(&admin, rows(&emails)).await;
    let answered = results(&response);
    let statuses: Vec<&str> = answered.iter().map(|r| r["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        [
            "created", "created", "refused", "created", "created", "created", "refused", "refused"
        ]
    );
    assert_refused(&answered[2], 409, "already-member");
    for exhausted in &answered[6..] {
        assert_refused(exhausted, 429, "invitation-quota-exhausted");
        assert_eq!(exhausted["problem"]["resetsAt"], "2026-11-25T00:00:00.000Z");
    }
    assert_eq!(quota_used(&admin).await, 50);
    assert_eq!(app.all_items().await.with_sk_prefix("INVITATION#").len(), 50);

    // With nothing left, every row is refused and nothing is written.
    let before = app.all_items().await;
    let response = invite_batch(&admin, rows(&["late0@example.com", "late1@example.com"])).await;
    for row in results(&response) {
        assert_refused(row, 429, "invitation-quota-exhausted");
    }
    assert_eq!(app.all_items().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn two_concurrent_batches_of_fifty_create_exactly_the_fifty_sends_left() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let batches: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|prefix| {
            let admin = admin.clone();
            let emails: Vec<String> = (0..50).map(|i| format!("{prefix}{i}@example.com")).collect();
            tokio::spawn(async move {
                let emails: Vec<&str> = emails.iter().map(String::as_str).collect();
                invite_batch(&admin, rows(&emails)).await
            })
        })
        .collect();
    let mut created = BTreeSet::new();
    let mut exhausted = 0;
    for batch in batches {
        let response = batch.await.unwrap();
        for result in results(&response) {
            match result["status"].as_str().unwrap() {
                "created" => assert!(created.insert(result["invitation"]["id"].as_str().unwrap().to_owned())),
                _ => {
                    assert_refused(result, 429, "invitation-quota-exhausted");
                    exhausted += 1;
                }
            }
        }
    }
    assert_eq!((created.len(), exhausted), (50, 50), "exactly the 50 sends left");
    assert_eq!(quota_used(&admin).await, 50, "the counter matches what was created");
    let items = app.all_items().await;
    let count = |prefix: &str| items.with_key_prefix(prefix).len();
    assert_eq!(count("INVITATION#"), 50);
    assert_eq!(count("LINK#"), 0, "tokens name their invitation: no link items");
    let seats = items
        .with_sk_prefix("EMAIL#")
        .matching(|item| item.sk.ends_with("@example.com"));
    assert_eq!(seats.len(), 50, "one seat per created row");
    for id in &created {
        let link = app.link_of(CUSTOMER_NUMBER, id).await;
        assert!(matches!(app.open_link(&link).await, LinkState::Live(_)));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn five_concurrent_batches_of_twenty_share_the_fifty_sends_left_exactly() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    // Each batch is one chunk; the counter refuses those that no longer fit, which shrink to
    // what it says is left.
    let batches: Vec<_> = (0..5)
        .map(|batch| {
            let admin = admin.clone();
            let emails: Vec<String> = (0..20).map(|i| format!("c{batch}-{i}@example.com")).collect();
            tokio::spawn(async move {
                let emails: Vec<&str> = emails.iter().map(String::as_str).collect();
                invite_batch(&admin, rows(&emails)).await
            })
        })
        .collect();
    let mut created = 0;
    for batch in batches {
        let response = batch.await.unwrap();
        let answered = results(&response);
        let statuses: Vec<&str> = answered.iter().map(|r| r["status"].as_str().unwrap()).collect();
        // Within a batch the quota goes to the rows in order.
        let invited = statuses.iter().take_while(|status| **status == "created").count();
        for refused in &answered[invited..] {
            assert_refused(refused, 429, "invitation-quota-exhausted");
        }
        created += invited;
    }
    assert_eq!(created, 50);
    assert_eq!(quota_used(&admin).await, 50);
    assert_eq!(app.all_items().await.with_sk_prefix("INVITATION#").len(), 50);
}

#[tokio::test]
async fn every_created_row_owes_exactly_one_email() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let expired = admin.invite_to_demo("again@example.com").await;
    app.clock.advance(LINK_LIFETIME + time::Duration::minutes(1));
    let admin = app.demo_admin().await;
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let bus = publisher::Bus::Local(sender);
    let mut poller = crate::deliveries::poller(&app).await;
    poller.poll_once(&bus).await.unwrap();
    while receiver.try_recv().is_ok() {}

    // Two chunks (32 and 8 rows), a duplicate, an expired invitation sent again, a refusal.
    let mut emails: Vec<String> = (0..39).map(|i| format!("owed{i}@example.com")).collect();
    emails.extend([
        "again@example.com".to_owned(),
        "OWED0@example.com".to_owned(),
        "nope".to_owned(),
    ]);
    let emails: Vec<&str> = emails.iter().map(String::as_str).collect();
    let response = invite_batch(&admin, rows(&emails)).await;
    assert_eq!(response.body["created"], 40, "{response:?}");
    let sends: BTreeMap<String, u64> = results(&response)
        .iter()
        .filter(|r| r["status"] == "created" && r.get("duplicateOf").is_none())
        .map(|r| {
            (
                r["invitation"]["id"].as_str().unwrap().to_owned(),
                r["invitation"]["sendCount"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(sends.len(), 40);
    assert_eq!(sends[&expired], 2);

    let mut published: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut envelopes = Vec::new();
    for _ in 0..20 {
        poller.poll_once(&bus).await.unwrap();
        while let Ok(envelope) = receiver.try_recv() {
            if envelope.detail_type == "InvitationSent" {
                let id = envelope.detail["invitationId"].as_str().unwrap().to_owned();
                published
                    .entry(id)
                    .or_default()
                    .push(envelope.detail["sendCount"].as_u64().unwrap());
                envelopes.push(envelope);
            }
        }
        if envelopes.len() >= sends.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let expected: BTreeMap<String, Vec<u64>> = sends.iter().map(|(id, count)| (id.clone(), vec![*count])).collect();
    assert_eq!(published, expected, "one InvitationSent per created row, at its send");

    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("batch-{}", ulid::Ulid::new()));
    let mailer = crate::deliveries::mailer(
        &app,
        mailer::Outbox::Folder {
            dir: dir.clone(),
            sender: "no-reply@cloudhub.localhost".into(),
        },
    );
    for envelope in &envelopes {
        let outcome = mailer::handle(
            &mailer,
            lambda_runtime::LambdaEvent::new(envelope.clone(), Default::default()),
        )
        .await
        .unwrap();
        assert_eq!(outcome.sent, 1, "{outcome:?}");
    }
    let mails = infra::mailbox::list(&dir);
    assert_eq!(mails.len(), 40, "one email per created row");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_batch_of_invalid_shape_is_refused_as_a_whole_and_changes_nothing() {
    let app = TestApp::with_demo_customer().await;
    let admin = app.demo_admin().await;
    let before = app.all_items().await;
    let many: Vec<String> = (0..51).map(|i| format!("x{i}@example.com")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let roles: Vec<String> = (0..21).map(|_| unknown_role_id()).collect();
    for (body, status, code) in [
        (json!({ "invitations": [] }), 422, "invalid-batch-size"),
        (rows(&many), 422, "invalid-batch-size"),
        (json!({}), 422, "invalid-body"),
        (
            json!({ "invitations": [{ "email": "a@example.com", "role": [] }] }),
            422,
            "invalid-body",
        ),
        (json!({ "invitations": [{ "email": 7 }] }), 422, "invalid-body"),
        (json!({ "invitations": "a@example.com" }), 422, "invalid-body"),
        (
            json!({ "invitations": [{ "email": "a@example.com" }], "extra": true }),
            422,
            "invalid-body",
        ),
        (
            json!({ "invitations": [{ "email": "a@example.com" }, { "email": "b@example.com", "roleIds": ["nope"] }] }),
            422,
            "invalid-role-id",
        ),
        (
            json!({ "invitations": [{ "email": "a@example.com" }], "defaults": { "language": "fr" } }),
            422,
            "invalid-language",
        ),
        (
            json!({ "invitations": [{ "email": "a@example.com", "roleIds": roles }] }),
            422,
            "too-many-roles",
        ),
    ] {
        let response = admin.post_json(&batch_path(CUSTOMER_NUMBER), &body).await;
        response.assert_problem(status, code);
    }
    let invalid_role = admin
        .post_json(
            &batch_path(CUSTOMER_NUMBER),
            &json!({ "invitations": [{ "email": "a@example.com" }, { "email": "b@example.com", "roleIds": ["nope"] }] }),
        )
        .await;
    assert!(
        invalid_role.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("invitations[1].roleIds"),
        "the detail names the field: {invalid_role:?}"
    );
    let path = batch_path(CUSTOMER_NUMBER);
    admin
        .request(
            lambda_http::http::Method::POST,
            &path,
            &[("content-type", "application/json")],
            "{\"invitations\": [",
        )
        .await
        .assert_problem(400, "malformed-json");
    admin
        .request(
            lambda_http::http::Method::POST,
            &path,
            &[],
            rows(&["a@example.com"]).to_string(),
        )
        .await
        .assert_problem(415, "unsupported-media-type");
    // Well-formed, but no address to invite: each row answers, nothing is written.
    let response = invite_batch(&admin, rows(&["not an address", "@example.com"])).await;
    for row in results(&response) {
        assert_refused(row, 422, "invalid-email");
    }
    assert_eq!(app.all_items().await, before, "nothing written, no quota spent");
}

#[tokio::test]
async fn a_non_admin_is_refused_whatever_the_rows_and_nothing_is_written() {
    let app = TestApp::with_demo_customer().await;
    let buyer = app.member_of_demo("buyer@example.com", &["Buyer"]).await;
    let other = app.other_customer().await;
    let other_admin = app.user(&other.admin_email, &other.admin_password).await;
    let admin = app.demo_admin().await;
    let anonymous = app.anonymous();
    let before = app.all_items().await;
    for body in [
        rows(&["anna@example.com", "ben@example.com"]),
        rows(&["not an address"]),
    ] {
        invite_batch(&buyer, body.clone())
            .await
            .assert_problem(403, "not-an-admin");
        invite_batch(&other_admin, body.clone())
            .await
            .assert_problem(403, "not-an-admin");
        invite_batch(&anonymous, body.clone())
            .await
            .assert_problem(401, "missing-session");
        // Nor may an admin invite into another tenant.
        admin
            .post_json(&batch_path(&other.number), &body)
            .await
            .assert_problem(403, "not-an-admin");
    }
    assert_eq!(app.all_items().await, before, "nothing written, no quota spent");
}
