//! Emails: the data table's stream → the publisher → EventBridge → the mailer → SES v2, with
//! moto's server standing in for EventBridge, SQS and SES, and the local stack's folder mailbox.

use crate::deliveries::{PORTAL, closed_port, deliver, mailer, poller};
use crate::helpers::TestApp;
use crate::moto::{Moto, SentEmail};
use infra::seed;
use mailer::Outbox;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) fn unique(name: &str) -> String {
    format!("{name}.{}@example.com", ulid::Ulid::new().to_string().to_lowercase())
}

pub(crate) fn to(emails: &[SentEmail], address: &str) -> Vec<SentEmail> {
    emails.iter().filter(|e| e.to == [address]).cloned().collect()
}

/// The `InvitationSent` events of one invitation: events name the invitation, not its address.
fn invitation_events<'a>(events: &'a [Value], invitation_id: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["detail-type"] == "InvitationSent" && e["detail"]["invitationId"] == invitation_id)
        .collect()
}

#[tokio::test]
async fn an_invitation_reaches_the_bus_as_an_event_and_ses_as_one_email_however_often_it_is_delivered() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let mut poller = poller(&app).await;
    let admin = app.demo_admin().await;
    let anna = unique("anna");
    let (id, link) = admin.invite_with_link(&anna, &["Buyer"]).await;

    let polled = poller.poll_once(&moto.bus()).await.unwrap();
    assert!(polled.records > 0 && !polled.failed, "{polled:?}");
    let events = moto.received_events().await;
    let invited = invitation_events(&events, &id);
    assert_eq!(invited.len(), 1, "{events:#?}");
    let event = invited[0];
    assert_eq!(event["source"], "cloudhub.invitations");
    let detail = &event["detail"];
    assert_eq!(detail["customerNumber"], seed::CUSTOMER_NUMBER);
    assert_eq!(detail["invitationId"], id.as_str());
    assert_eq!(detail["sendCount"], 1);
    assert!(
        detail["eventKey"]
            .as_str()
            .unwrap()
            .starts_with(&format!("invitation#{id}#"))
    );
    // Only which item changed: no address, no link material (the mailer reads the table).
    let stored = app.invitation_item(seed::CUSTOMER_NUMBER, &id).await;
    let text = event.to_string();
    for secret in [
        link.as_str(),
        stored.link.nonce.as_str(),
        stored.link.hash.as_str(),
        anna.as_str(),
        seed::ADMIN_EMAIL,
    ] {
        assert!(!text.contains(secret), "`{secret}` on the bus: {text}");
    }
    // The demo admin's account was inserted by the seed: a welcome email is owed too.
    assert!(
        events
            .iter()
            .any(|e| e["detail-type"] == "UserRegistered" && e["detail"]["userId"] == seed::ADMIN_USER_ID),
        "{events:#?}"
    );

    let mailer = mailer(&app, moto.outbox());
    let outcome = deliver(&mailer, event).await.unwrap();
    assert_eq!(outcome.sent, 1, "{outcome:?}");
    let sent = to(&moto.sent_emails().await, &anna);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert!(sent[0].subject.contains(seed::COMPANY_NAME), "{:?}", sent[0].subject);
    assert!(
        sent[0].html.contains("<strong>Buyer</strong>"),
        "the email names the roles it grants, read from the table: {}",
        sent[0].html
    );
    assert_eq!(sent[0].link_token(), link, "the button carries the invitation's link");
    assert!(
        sent[0].html.contains(&format!(
            "{}&#x2f;invitations&#x2f;{link}",
            PORTAL.replace('/', "&#x2f;")
        )),
        "links are made from the portal's base URL: {}",
        sent[0].html
    );

    // EventBridge delivers again, several times at once: no second email.
    let again: Vec<_> = (0..4)
        .map(|_| {
            let (mailer, event) = (mailer.clone(), event.clone());
            tokio::spawn(async move { deliver(&mailer, &event).await.map_err(|e| e.to_string()) })
        })
        .collect();
    for outcome in again {
        // None sends; one that met another delivery still sending fails and is retried later.
        if let Ok(outcome) = outcome.await.unwrap() {
            assert_eq!(outcome.sent, 0, "{outcome:?}");
        }
    }
    assert_eq!(deliver(&mailer, event).await.unwrap().already_sent, 1);
    assert_eq!(to(&moto.sent_emails().await, &anna).len(), 1);

    // The stream offers the same records again (a retried batch): the same event key, no email.
    let mut replay = self::poller(&app).await;
    replay.poll_once(&moto.bus()).await.unwrap();
    let replayed = moto.received_events().await;
    let event = invitation_events(&replayed, &id)[0];
    assert_eq!(event["detail"]["eventKey"], detail["eventKey"]);
    assert_eq!(deliver(&mailer, event).await.unwrap().sent, 0);
    assert_eq!(to(&moto.sent_emails().await, &anna).len(), 1);

    // The link in the email opens the invitation.
    assert_eq!(anon.preview(&sent[0].link_token()).await.status, 200);
}

#[tokio::test]
async fn with_eventbridge_unreachable_the_invite_succeeds_and_the_email_goes_out_once_the_bus_is_back() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let mut poller = poller(&app).await;
    let admin = app.demo_admin().await;
    let anna = unique("anna");
    let (id, link) = admin.invite_with_link(&anna, &[]).await;

    // Nothing listens on this port: every PutEvents fails.
    let closed = format!("http://127.0.0.1:{}", closed_port());
    let unreachable = publisher::Bus::EventBridge {
        client: crate::moto::eventbridge(&closed),
        bus_name: moto.bus_name.clone(),
    };
    for _ in 0..2 {
        let polled = poller.poll_once(&unreachable).await.unwrap();
        assert!(polled.failed, "the batch is reported failed, not dropped: {polled:?}");
        assert!(polled.records > 0, "and read again: {polled:?}");
    }
    assert!(moto.received_events().await.is_empty());

    // The bus is back: the same records are published, the email goes out once.
    let polled = poller.poll_once(&moto.bus()).await.unwrap();
    assert!(!polled.failed, "{polled:?}");
    let events = moto.received_events().await;
    let invited = invitation_events(&events, &id);
    assert_eq!(invited.len(), 1, "{events:#?}");
    let mailer = mailer(&app, moto.outbox());
    deliver(&mailer, invited[0]).await.unwrap();
    let sent = to(&moto.sent_emails().await, &anna);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].link_token(), link);
    // Read on (the stream now holds the mailer's delivery records): nothing more is published.
    assert!(!poller.poll_once(&moto.bus()).await.unwrap().failed);
    assert!(moto.received_events().await.is_empty());
}

#[tokio::test]
async fn an_entry_eventbridge_refuses_is_put_again_not_dropped() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let mut poller = poller(&app).await;
    let admin = app.demo_admin().await;
    let (anna, ben) = (unique("anna"), unique("ben"));
    admin.invite_with_link(&anna, &[]).await;
    admin.invite_with_link(&ben, &[]).await;

    // The first PutEvents answers FailedEntryCount 1 for its first entry (the seed's welcome).
    let flaky = publisher::Bus::EventBridge {
        client: crate::moto::eventbridge(&crate::moto::refusing_first_entry(&moto.endpoint).await),
        bus_name: moto.bus_name.clone(),
    };
    let polled = poller.poll_once(&flaky).await.unwrap();
    assert!(!polled.failed, "retried within the invocation: {polled:?}");
    let events = moto.received_events().await;
    let kinds: Vec<&str> = events.iter().map(|e| e["detail-type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["InvitationSent", "InvitationSent", "UserRegistered"],
        "every event once, the refused one after the others: {events:#?}"
    );
    assert_eq!(events[2]["detail"]["userId"], seed::ADMIN_USER_ID);
}

#[tokio::test]
async fn a_failed_send_is_retried_and_sends_once_the_outbox_works() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let mut poller = poller(&app).await;
    let admin = app.demo_admin().await;
    let anna = unique("anna");
    let (id, _) = admin.invite_with_link(&anna, &[]).await;
    poller.poll_once(&moto.bus()).await.unwrap();
    let events = moto.received_events().await;
    let event = invitation_events(&events, &id)[0];

    // SES unreachable: the invocation fails (Lambda retries it), nothing is recorded as sent.
    let broken = Outbox::Ses {
        client: aws_sdk_sesv2::Client::new(
            &aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .endpoint_url(format!("http://127.0.0.1:{}", closed_port()))
                .region(aws_config::Region::new("eu-central-1"))
                .credentials_provider(aws_sdk_sesv2::config::SharedCredentialsProvider::new(
                    aws_sdk_sesv2::config::Credentials::new("dummy", "dummy", None, None, "test"),
                ))
                .build(),
        ),
        sender: moto.sender.clone(),
    };
    cloudhub::metrics::capture::start();
    assert!(deliver(&mailer(&app, broken), event).await.is_err());
    // An unverified sender: SES refuses; also retried.
    let unverified = Outbox::Ses {
        client: moto.ses.clone(),
        sender: "nobody@unverified.test".into(),
    };
    assert!(deliver(&mailer(&app, unverified), event).await.is_err());
    assert!(to(&moto.sent_emails().await, &anna).is_empty());

    let outcome = deliver(&mailer(&app, moto.outbox()), event).await.unwrap();
    assert_eq!(outcome.sent, 1);
    assert_eq!(to(&moto.sent_emails().await, &anna).len(), 1);
    // Only the email that went out counts toward EmailsSent (CloudWatch EMF).
    let metrics = cloudhub::metrics::capture::take();
    assert_eq!(metrics.len(), 1, "{metrics:#?}");
    assert_eq!(metrics[0]["EmailsSent"], 1, "{metrics:#?}");
    assert_eq!(
        metrics[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
        "EmailsSent"
    );
}

#[tokio::test]
async fn a_resent_deleted_or_accepted_invitation_gets_no_email_for_its_dead_link() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let mut poller = poller(&app).await;
    let admin = app.demo_admin().await;
    let (anna, ben) = (unique("anna"), unique("ben"));
    let (anna_id, _) = admin.invite_with_link(&anna, &[]).await;
    let (ben_id, _) = admin.invite_with_link(&ben, &[]).await;
    // Accepted before its email went out: kept as accepted (rule 20), and owed nothing.
    let carl = unique("carl");
    let (carl_id, carl_link) = admin.invite_with_link(&carl, &[]).await;
    app.anonymous().accept_as_new(&carl_link, "a long new password").await;
    assert_eq!(admin.resend(seed::CUSTOMER_NUMBER, &anna_id).await.status, 200);
    let new_link = app.link_of(seed::CUSTOMER_NUMBER, &anna_id).await;
    assert_eq!(
        admin.delete_invitation(seed::CUSTOMER_NUMBER, &ben_id).await.status,
        204
    );
    poller.poll_once(&moto.bus()).await.unwrap();
    let events = moto.received_events().await;
    let mailer = mailer(&app, moto.outbox());

    let to_anna = invitation_events(&events, &anna_id);
    assert_eq!(to_anna.len(), 2, "the invitation and the resend: {events:#?}");
    assert_eq!(
        deliver(&mailer, to_anna[0]).await.unwrap().skipped,
        Some("link-superseded")
    );
    assert_eq!(deliver(&mailer, to_anna[1]).await.unwrap().sent, 1);
    let sent = to(&moto.sent_emails().await, &anna);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].link_token(), new_link.reveal());

    let to_ben = invitation_events(&events, &ben_id);
    assert_eq!(
        deliver(&mailer, to_ben[0]).await.unwrap().skipped,
        Some("invitation-gone")
    );
    assert!(to(&moto.sent_emails().await, &ben).is_empty());
    let to_carl = invitation_events(&events, &carl_id);
    assert_eq!(to_carl.len(), 1, "the invitation only, not its accept: {events:#?}");
    assert_eq!(
        deliver(&mailer, to_carl[0]).await.unwrap().skipped,
        Some("invitation-gone")
    );
    assert!(
        to(&moto.sent_emails().await, &carl).is_empty(),
        "no invitation email for an accepted invitation"
    );

    // An event delivered after the link's day is over sends nothing either.
    app.clock.advance(time::Duration::days(1));
    assert_eq!(
        deliver(&mailer, to_anna[1]).await.unwrap().skipped,
        Some("link-expired")
    );
}

#[tokio::test]
async fn an_invitation_resent_by_another_admin_names_that_admin_in_its_email_and_as_its_last_sender() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let mut poller = poller(&app).await;
    let first = app.demo_admin().await;
    let second_email = unique("second.admin");
    let second = app.member_of_demo(&second_email, &["Administrator"]).await;
    let anna = unique("anna");
    let (id, _) = first.invite_with_link(&anna, &[]).await;
    assert_eq!(second.resend(seed::CUSTOMER_NUMBER, &id).await.status, 200);

    let listed = first.list_invitations(seed::CUSTOMER_NUMBER, "").await;
    let listed = &listed.body["invitations"][0];
    assert_eq!(listed["id"], id.as_str(), "{listed:?}");
    assert_eq!(listed["invitedBy"]["email"], second_email.as_str(), "the last sender");
    assert_eq!(
        listed["firstInvitedBy"]["email"],
        seed::ADMIN_EMAIL,
        "the first inviter"
    );
    assert_eq!(listed["firstInvitedBy"]["userId"], seed::ADMIN_USER_ID);

    poller.poll_once(&moto.bus()).await.unwrap();
    let events = moto.received_events().await;
    let resent = invitation_events(&events, &id);
    assert_eq!(resent.len(), 2, "{events:#?}");
    assert_eq!(deliver(&mailer(&app, moto.outbox()), resent[1]).await.unwrap().sent, 1);
    let sent = to(&moto.sent_emails().await, &anna);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].html.contains(&second_email), "{}", sent[0].html);
    assert!(!sent[0].html.contains(seed::ADMIN_EMAIL), "{}", sent[0].html);
}

#[tokio::test]
async fn the_invitation_is_written_in_the_admins_choice_or_else_the_customers_default_language() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let mut poller = poller(&app).await;
    let admin = app.demo_admin().await;
    let (anna, ben) = (unique("anna"), unique("ben"));
    let invited = admin
        .invite(
            seed::CUSTOMER_NUMBER,
            json!({ "email": anna, "roleIds": [], "language": "en" }),
        )
        .await;
    assert_eq!(invited.status, 201, "{invited:?}");
    let anna_id = invited.body["invitation"]["id"].as_str().unwrap().to_owned();
    let (ben_id, _) = admin.invite_with_link(&ben, &[]).await;
    poller.poll_once(&moto.bus()).await.unwrap();
    let events = moto.received_events().await;
    let mailer = mailer(&app, moto.outbox());
    for id in [&anna_id, &ben_id] {
        deliver(&mailer, invitation_events(&events, id)[0]).await.unwrap();
    }
    // The demo customer's default language is German.
    let emails = moto.sent_emails().await;
    assert!(
        to(&emails, &anna)[0].html.contains("lang=\"en\""),
        "{:?}",
        to(&emails, &anna)
    );
    assert!(to(&emails, &anna)[0].subject.starts_with("Invitation to CloudHub"));
    assert!(
        to(&emails, &ben)[0].html.contains("lang=\"de\""),
        "{:?}",
        to(&emails, &ben)
    );
    assert!(to(&emails, &ben)[0].subject.starts_with("Einladung zu CloudHub"));
}

/// The local stack's mailbox folder, read until `wanted` finds an email or 20 s pass.
async fn wait_for_mail(dir: &Path, wanted: impl Fn(&infra::mailbox::Mail) -> bool) -> infra::mailbox::Mail {
    for _ in 0..200 {
        if let Some(mail) = infra::mailbox::list(dir).into_iter().find(|m| wanted(m)) {
            return mail;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "no such email arrived in {}: {:#?}",
        dir.display(),
        infra::mailbox::list(dir)
    );
}

fn token_in(text: &str) -> String {
    let start = text.find("/invitations/").expect("an invitation link") + "/invitations/".len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '.')
        .collect()
}

#[tokio::test]
async fn on_the_local_stack_invite_accept_and_leave_fill_the_mailbox() {
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let mailbox = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("mailbox-{}", ulid::Ulid::new()));
    let (listener, address) = infra::server::bind(0).await.unwrap();
    let portal = format!("http://{address}{}", infra::portal::PORTAL_BASE_URL_PATH);
    let mut local_mailer = mailer(
        &app,
        Outbox::Folder {
            dir: mailbox.clone(),
            sender: "CloudHub <no-reply@cloudhub.localhost>".into(),
        },
    );
    local_mailer.portal_base_url = portal.clone();
    infra::delivery::spawn(poller(&app).await, local_mailer);
    tokio::spawn(infra::server::serve_with_mailbox(
        listener,
        app.gateway.clone(),
        Some(mailbox.clone()),
    ));

    // A second admin, so that "every admin" is more than one.
    let admin = app.demo_admin().await;
    let second_admin = unique("second-admin");
    let second_session = app.member_of_demo(&second_admin, &["Administrator"]).await;
    let german = second_session
        .put_json("/me/settings", &json!({ "language": "de" }))
        .await;
    assert_eq!(german.status, 200, "{german:?}");

    // Invite → the email is in the mailbox, with the link to the reference portal's page.
    let anna = unique("anna");
    admin.invite_with_link(&anna, &["Buyer"]).await;
    let invitation = wait_for_mail(&mailbox, |m| m.to == anna).await;
    assert!(invitation.subject.contains(seed::COMPANY_NAME), "{invitation:?}");
    assert!(
        invitation.text.contains(&format!("{portal}/invitations/")),
        "{invitation:?}"
    );
    let token = token_in(&invitation.text);

    // The mailbox page lists it, and its HTML has the clickable button.
    let page = http_get(address, "/_mailbox").await;
    assert!(
        page.contains(&anna) && page.contains(&format!("/_mailbox/{}", invitation.id)),
        "{page}"
    );
    let html = http_get(address, &format!("/_mailbox/{}", invitation.id)).await;
    assert!(
        html.replace("&#x2f;", "/")
            .contains(&format!("href=\"{portal}/invitations/{token}\"")),
        "{html}"
    );

    // The link accepts the invitation → the welcome email arrives.
    let session = anon.accept_as_new(&token, "a long new password").await;
    let welcome = wait_for_mail(&mailbox, |m| m.to == anna && m.id != invitation.id).await;
    assert!(welcome.text.contains(&format!("{portal}/")), "{welcome:?}");
    // ... and the admin who sent it is told that Anna joined.
    let joined = wait_for_mail(&mailbox, |m| m.to == seed::ADMIN_EMAIL && m.subject.contains("joined")).await;
    assert!(joined.subject.starts_with(&format!("{anna} joined")), "{joined:?}");

    // Leave → every admin gets the member-left email naming Anna and the customer.
    let left = session.leave(seed::CUSTOMER_NUMBER, seed::CUSTOMER_NUMBER).await;
    assert_eq!(left.status, 200, "{left:?}");
    // Each admin in their own language.
    for (admin_email, subject) in [
        (
            seed::ADMIN_EMAIL,
            format!("{anna} left customer {}", seed::CUSTOMER_NUMBER),
        ),
        (
            second_admin.as_str(),
            format!("{anna} hat Kunde {}", seed::CUSTOMER_NUMBER),
        ),
    ] {
        let mail = wait_for_mail(&mailbox, |m| {
            m.to == admin_email && m.text.contains(&anna) && m.subject.starts_with(&subject)
        })
        .await;
        assert!(mail.text.contains(seed::COMPANY_NAME), "{mail:?}");
    }
    assert!(
        !infra::mailbox::list(&mailbox).iter().any(|m| m.to == anna
            && m.text.contains(seed::CUSTOMER_NUMBER)
            && m.id != invitation.id
            && m.id != welcome.id),
        "the member who left is not told"
    );
    let _ = std::fs::remove_dir_all(&mailbox);
}

async fn http_get(address: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer
}

#[tokio::test]
async fn a_new_account_is_welcomed_once_and_an_existing_one_that_accepts_is_not() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    let anon = app.anonymous();
    let other = app.other_customer().await;
    let mut poller = poller(&app).await;
    let admin = app.demo_admin().await;
    let anna = unique("anna");
    let (_, anna_link) = admin.invite_with_link(&anna, &[]).await;
    let (_, other_link) = admin.invite_with_link(&other.admin_email, &[]).await;
    let anna_session = anon.accept_as_new(&anna_link, "a long new password").await;
    let anna_id = anna_session.me().await.body["user"]["id"].as_str().unwrap().to_owned();
    let existing = anon
        .accept(&other_link, &json!({ "password": other.admin_password }))
        .await;
    assert_eq!(existing.status, 200, "{existing:?}");

    poller.poll_once(&moto.bus()).await.unwrap();
    let events = moto.received_events().await;
    let welcomed = |user_id: &str| {
        events
            .iter()
            .filter(|e| e["detail-type"] == "UserRegistered" && e["detail"]["userId"] == user_id)
            .count()
    };
    assert_eq!(welcomed(&anna_id), 1, "{events:#?}");
    let other_id = existing.body["userId"].as_str().unwrap();
    assert_eq!(welcomed(other_id), 1, "only when its account was created: {events:#?}");

    let mailer = mailer(&app, moto.outbox());
    for event in events.iter().filter(|e| e["detail-type"] == "UserRegistered") {
        deliver(&mailer, event).await.unwrap();
    }
    let sent = to(&moto.sent_emails().await, &anna);
    assert_eq!(sent.len(), 1);
    // Anna's account took the customer's default language (German): so does her welcome.
    assert_eq!(sent[0].subject, "Willkommen bei CloudHub");
}

#[tokio::test]
async fn an_invitation_to_an_existing_account_is_written_in_the_accounts_language_unless_the_admin_chose() {
    let moto = Moto::new().await;
    let app = TestApp::with_demo_customer().await;
    // Its admin's account speaks English; the demo customer's default is German.
    let other = app.other_customer().await;
    let mut poller = poller(&app).await;
    let admin = app.demo_admin().await;
    let mailer = mailer(&app, moto.outbox());

    let (id, _) = admin.invite_with_link(&other.admin_email, &[]).await;
    poller.poll_once(&moto.bus()).await.unwrap();
    let events = moto.received_events().await;
    assert_eq!(
        deliver(&mailer, invitation_events(&events, &id)[0]).await.unwrap().sent,
        1
    );
    let sent = to(&moto.sent_emails().await, &other.admin_email);
    assert!(
        sent[0].subject.starts_with("Invitation to CloudHub"),
        "{:?}",
        sent[0].subject
    );

    // The admin's explicit choice wins over the account's language.
    assert_eq!(admin.delete_invitation(seed::CUSTOMER_NUMBER, &id).await.status, 204);
    let invited = admin
        .invite(
            seed::CUSTOMER_NUMBER,
            json!({ "email": other.admin_email, "language": "de" }),
        )
        .await;
    assert_eq!(invited.status, 201, "{invited:?}");
    let again = invited.body["invitation"]["id"].as_str().unwrap().to_owned();
    poller.poll_once(&moto.bus()).await.unwrap();
    let events = moto.received_events().await;
    assert_eq!(
        deliver(&mailer, invitation_events(&events, &again)[0])
            .await
            .unwrap()
            .sent,
        1
    );
    let sent = to(&moto.sent_emails().await, &other.admin_email);
    assert_eq!(sent.len(), 2);
    assert!(
        sent.iter()
            .any(|email| email.subject.starts_with("Einladung zu CloudHub")),
        "{sent:?}"
    );
}
