//! The mailer: turns each domain event from the bus into its emails and sends them through SES v2
//! (or, on the local stack, into a mailbox folder).
//!
//! EventBridge delivers at least once, and the publisher may publish an event twice; the mailer
//! still sends one email per event and recipient: it claims each delivery with a conditional put
//! before sending ([`cloudhub::deliveries`]), marks it sent afterwards, and releases the claim
//! when sending failed. A failed send makes the invocation fail once every other recipient was
//! tried, so Lambda retries it (twice) and then hands the event to the dead-letter queue; the
//! deliveries already made are not repeated.
//!
//! An event only names the item that changed; every recipient and every word is read from the
//! table's current items, so an event nobody's write backs (a forged one) sends nothing:
//! - `InvitationSent` → the invitation email to the invited address, in the admin's chosen
//!   language, else its account's (when the address has one), else the customer's default; skipped when the invitation is gone (deleted,
//!   accepted), was sent again since (another send count), its link has expired, or its link's
//!   key was retired.
//! - `UserRegistered` → the welcome email to the account, in its language; skipped when there is
//!   no such account.
//! - `MemberLeft` → to every active admin of the customer, each in their own language; skipped
//!   unless the membership is cancelled and still at the event's revision (or, its account
//!   deleted, the deletion's record names the customer at that revision).
//! - `MemberJoined` → to the admin who sent the invitation, in their language; skipped unless the
//!   membership is active and still at the event's revision, and when that admin's account is
//!   gone, is no admin of the customer any more (then nobody is told: the other admins did not
//!   send it), or turned these emails off (`notifyOnAccept`).
//! - `RenewalRequested` → to the admin who sent the invitation last, in their language, or to
//!   every admin of the customer when that account is gone or no admin of it any more; skipped
//!   unless the invitation is open, still records that request, and was not sent again since.
//! - `AccountDeleted` → the "account deleted" email to the address the deletion's record holds,
//!   in the account's language; skipped when there is no such record (any more).

use anyhow::Context as _;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_sdk_sesv2::error::DisplayErrorContext;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use cloudhub::clock::SharedClock;
use cloudhub::deliveries::{self, Claim};
use cloudhub::domain::Email;
use cloudhub::emails::{self, Rendered};
use cloudhub::events::DomainEvent;
use cloudhub::links::LinkKeys;
use cloudhub::metrics::Metric;
use cloudhub::recipients;
use cloudhub::store::Store;
use lambda_runtime::{Error, LambdaEvent};
use std::path::PathBuf;

/// Where emails go.
#[derive(Debug, Clone)]
pub enum Outbox {
    /// Amazon SES v2, from a verified sender address.
    Ses {
        /// The client, built once per cold start.
        client: aws_sdk_sesv2::Client,
        /// The `From` address (an SES identity).
        sender: String,
    },
    /// A folder: each email as `{id}.txt` (headers and text) and `{id}.html`, for the local stack.
    Folder {
        /// The folder.
        dir: PathBuf,
        /// The `From` address written into each file.
        sender: String,
    },
}

impl Outbox {
    /// Sends one email; returns its message id.
    async fn send(&self, to: &Email, mail: &Rendered) -> anyhow::Result<String> {
        match self {
            Self::Ses { client, sender } => {
                let content = |data: &str| {
                    Content::builder()
                        .data(data)
                        .charset("UTF-8")
                        .build()
                        .context("An email part is malformed.")
                };
                let message = Message::builder()
                    .subject(content(&mail.subject)?)
                    .body(
                        Body::builder()
                            .text(content(&mail.text)?)
                            .html(content(&mail.html)?)
                            .build(),
                    )
                    .build();
                let output = client
                    .send_email()
                    .from_email_address(sender)
                    .destination(Destination::builder().to_addresses(to.as_str()).build())
                    .content(EmailContent::builder().simple(message).build())
                    .send()
                    .await
                    .map_err(|error| anyhow::anyhow!("SES refused an email: {}", DisplayErrorContext(&error)))?;
                Ok(output.message_id().unwrap_or_default().to_owned())
            }
            Self::Folder { dir, sender } => {
                let id = ulid::Ulid::new().to_string();
                tokio::fs::create_dir_all(dir)
                    .await
                    .with_context(|| format!("Failed to create the mailbox folder {}.", dir.display()))?;
                let date = time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc2822)
                    .context("A date cannot be formatted.")?;
                let text = format!(
                    "From: {sender}\nTo: {to}\nSubject: {}\nDate: {date}\n\n{}",
                    mail.subject, mail.text
                );
                // The HTML first: a reader that lists `.txt` files then always finds both.
                tokio::fs::write(dir.join(format!("{id}.html")), &mail.html)
                    .await
                    .context("Failed to write an email's HTML into the mailbox.")?;
                tokio::fs::write(dir.join(format!("{id}.txt")), text)
                    .await
                    .context("Failed to write an email into the mailbox.")?;
                Ok(id)
            }
        }
    }
}

/// What the mailer needs, built once per cold start.
#[derive(Clone)]
pub struct Mailer {
    /// The data table: deliveries, customers, admins.
    pub store: Store,
    /// Where "now" comes from.
    pub clock: SharedClock,
    /// The keys invitation links are made with.
    pub links: LinkKeys,
    /// Where emails go.
    pub outbox: Outbox,
    /// The portal's base URL, e.g. `https://portal.example.com`; links are made from it.
    pub portal_base_url: String,
}

impl Mailer {
    /// The mailer from the environment: the tables, `LINK_KEYS_SECRET_ID`, `SENDER_ADDRESS`,
    /// `PORTAL_BASE_URL`, and DynamoDB and SES configured from Lambda's environment
    /// ([`cloudhub::aws::sdk_config`]).
    pub fn from_env() -> anyhow::Result<Self> {
        let var =
            |name: &str| std::env::var(name).with_context(|| format!("The environment variable {name} is not set."));
        use cloudhub::aws::{Service, sdk_config};
        Ok(Self {
            store: Store::new(
                aws_sdk_dynamodb::Client::new(&sdk_config(Service::DynamoDb)?),
                cloudhub::store::Tables::from_env()?,
            ),
            clock: std::sync::Arc::new(cloudhub::clock::SystemClock),
            links: LinkKeys::from_env()?.with_context(|| {
                format!(
                    "The environment variable {} is not set.",
                    cloudhub::links::KEYS_SECRET_VAR
                )
            })?,
            outbox: Outbox::Ses {
                client: aws_sdk_sesv2::Client::new(&sdk_config(Service::SesV2)?),
                sender: var("SENDER_ADDRESS")?,
            },
            portal_base_url: var("PORTAL_BASE_URL")?,
        })
    }

    fn portal(&self, path: &str) -> String {
        format!("{}{path}", self.portal_base_url.trim_end_matches('/'))
    }

    /// The link an invitation email carries.
    pub fn invitation_link(&self, token: &str) -> String {
        self.portal(&format!("/invitations/{token}"))
    }
}

/// What became of one event.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// Emails sent now.
    pub sent: usize,
    /// Emails sent by an earlier delivery of the same event.
    pub already_sent: usize,
    /// Why no email was owed any more, if so.
    pub skipped: Option<&'static str>,
}

/// The emails an event owes, or why it owes none any more.
async fn compose(mailer: &Mailer, event: &DomainEvent) -> anyhow::Result<Result<Vec<(Email, Rendered)>, &'static str>> {
    match event {
        DomainEvent::InvitationSent(sent) => {
            let Some(found) = recipients::invitation(&mailer.store, &sent.customer_number, &sent.invitation_id).await?
            else {
                return Ok(Err("invitation-gone"));
            };
            let invitation = &found.invitation;
            if invitation.send_count != sent.send_count {
                return Ok(Err("link-superseded"));
            }
            if invitation.expires_at <= mailer.clock.now() {
                return Ok(Err("link-expired"));
            }
            let Some(key) = mailer.links.key(&invitation.link.key_id).await? else {
                return Ok(Err("link-key-retired"));
            };
            let Some(token) = invitation
                .link
                .token_with(&key, &invitation.customer_number, &invitation.id)
            else {
                return Ok(Err("link-not-rebuilt"));
            };
            let link = mailer.invitation_link(token.reveal());
            let language = found.language();
            let mail = emails::invitation(
                language,
                &emails::Invitation {
                    company_name: &found.company_name,
                    customer_number: &invitation.customer_number,
                    inviter: &invitation.invited_by_email,
                    link: &link,
                    valid_until: invitation.expires_at,
                    roles: &found.role_names,
                },
            )?;
            Ok(Ok(vec![(invitation.email.clone(), mail)]))
        }
        DomainEvent::UserRegistered(registered) => {
            let Some(account) = recipients::account(&mailer.store, &registered.user_id).await? else {
                return Ok(Err("account-gone"));
            };
            let portal_url = mailer.portal("/");
            let mail = emails::welcome(
                account.language,
                &emails::Welcome {
                    email: &account.email,
                    portal_url: &portal_url,
                },
            )?;
            Ok(Ok(vec![(account.email, mail)]))
        }
        DomainEvent::MemberJoined(joined) => {
            let Some(arrival) = recipients::arrival(&mailer.store, &joined.user_id, &joined.customer_number)
                .await?
                .filter(|a| a.active && a.revision == joined.revision)
            else {
                return Ok(Err("membership-not-joined"));
            };
            let Some(inviter) = arrival.invited_by else {
                return Ok(Err("no-inviter"));
            };
            let Some(recipient) = recipients::inviter_to_tell(&mailer.store, &joined.customer_number, &inviter).await?
            else {
                return Ok(Err("inviter-not-told"));
            };
            let users_url = mailer.portal(&format!("/customers/{}/users", joined.customer_number));
            let mail = emails::member_joined(
                recipient.language,
                &emails::MemberJoined {
                    member: &arrival.email,
                    company_name: &arrival.company_name,
                    customer_number: &joined.customer_number,
                    roles: &arrival.role_names,
                    users_url: &users_url,
                },
            )?;
            Ok(Ok(vec![(recipient.email, mail)]))
        }
        DomainEvent::RenewalRequested(asked) => {
            let Some(found) = recipients::renewal_asked(&mailer.store, &asked.customer_number, &asked.invitation_id)
                .await?
                .filter(|found| found.invitation.is_open() && found.requested_at == Some(asked.requested_at))
            else {
                return Ok(Err("renewal-not-requested"));
            };
            let invitation = &found.invitation;
            if invitation.send_count != asked.send_count {
                return Ok(Err("invitation-sent-again"));
            }
            let admins =
                recipients::admins_to_ask(&mailer.store, &asked.customer_number, &invitation.invited_by).await?;
            let invitation_url = mailer.portal(&format!(
                "/customers/{}/invitations/{}",
                invitation.customer_number, invitation.id
            ));
            admins
                .into_iter()
                .map(|admin| {
                    let mail = emails::renewal_requested(
                        admin.language,
                        &emails::RenewalRequested {
                            invitee: &invitation.email,
                            company_name: &found.company_name,
                            customer_number: &invitation.customer_number,
                            expired_at: invitation.expires_at,
                            invitation_url: &invitation_url,
                        },
                    )?;
                    Ok((admin.email, mail))
                })
                .collect::<anyhow::Result<Vec<_>>>()
                .map(Ok)
        }
        DomainEvent::AccountDeleted(deleted) => {
            let Some(record) = recipients::deleted_account(&mailer.store, &deleted.user_id, mailer.clock.now()).await?
            else {
                return Ok(Err("no-deletion-record"));
            };
            let mail = emails::account_deleted(record.language, &emails::AccountDeleted { email: &record.email })?;
            Ok(Ok(vec![(record.email, mail)]))
        }
        DomainEvent::MemberLeft(left) => {
            let (departure, admins) = tokio::try_join!(
                recipients::membership(&mailer.store, &left.user_id, &left.customer_number, mailer.clock.now()),
                recipients::admins(&mailer.store, &left.customer_number),
            )?;
            let Some(departure) = departure.filter(|d| d.left && d.revision == left.revision) else {
                return Ok(Err("membership-not-left"));
            };
            let users_url = mailer.portal(&format!("/customers/{}/users", left.customer_number));
            admins
                .into_iter()
                .filter(|admin| admin.email != departure.email)
                .map(|admin| {
                    let mail = emails::member_left(
                        admin.language,
                        &emails::MemberLeft {
                            member: &departure.email,
                            company_name: &departure.company_name,
                            customer_number: &left.customer_number,
                            users_url: &users_url,
                        },
                    )?;
                    Ok((admin.email, mail))
                })
                .collect::<anyhow::Result<Vec<_>>>()
                .map(Ok)
        }
    }
}

/// Sends the emails `event` owes that no earlier delivery sent. Fails when any of them could
/// not be sent (after trying every one, whatever failed for another); a retry then sends only
/// those.
#[tracing::instrument(name = "Delivering an event", skip_all, fields(event = event.event_key(), kind = event.detail_type()))]
pub async fn deliver(mailer: &Mailer, event: &DomainEvent) -> anyhow::Result<Outcome> {
    let mails = match compose(mailer, event).await? {
        Ok(mails) => mails,
        Err(reason) => {
            tracing::info!(reason, "no email owed any more");
            return Ok(Outcome {
                skipped: Some(reason),
                ..Outcome::default()
            });
        }
    };
    let owed = mails.len();
    let mut outcome = Outcome::default();
    let mut failures = Vec::new();
    // Every recipient is tried whatever failed for another: an early return would leave the
    // later ones to the retries and the emails already out uncounted.
    for (to, mail) in mails {
        match send_once(mailer, event, &to, &mail).await {
            Ok(Sent::Now) => outcome.sent += 1,
            Ok(Sent::Before) => outcome.already_sent += 1,
            Err(error) => {
                tracing::warn!(error = format!("{error:#}"), "an email of the event was not sent");
                failures.push(error);
            }
        }
    }
    cloudhub::metrics::emit(
        &[(Metric::EmailsSent, outcome.sent as u64)],
        &[("event", event.event_key()), ("kind", event.detail_type())],
    );
    let failed = failures.len();
    match failures.into_iter().next() {
        Some(first) => Err(first.context(format!(
            "{failed} of the {owed} emails of {} could not be sent; the retry sends them.",
            event.event_key()
        ))),
        None => Ok(outcome),
    }
}

/// Whether an email went out now or had gone out before.
enum Sent {
    Now,
    Before,
}

/// Sends one email of `event` unless an earlier delivery did: claims it, sends it, and marks it
/// sent, or gives the claim up when sending failed.
async fn send_once(mailer: &Mailer, event: &DomainEvent, to: &Email, mail: &Rendered) -> anyhow::Result<Sent> {
    match deliveries::claim(&mailer.store, event.event_key(), to, mailer.clock.now()).await? {
        Claim::AlreadySent => Ok(Sent::Before),
        Claim::InProgress => Err(anyhow::anyhow!("Another delivery of this email is in progress.")),
        Claim::Claimed => match mailer.outbox.send(to, mail).await {
            Ok(message_id) => {
                // The email is out: failing now would only make the retries find the claim
                // held. Unmarked, the claim lapses and only a much later redelivery resends.
                if let Err(error) = deliveries::mark_sent(&mailer.store, event.event_key(), to).await {
                    tracing::warn!(error = format!("{error:#}"), "recording a sent email failed");
                }
                tracing::info!(message_id, "email sent");
                Ok(Sent::Now)
            }
            Err(error) => {
                // A claim that cannot be given up lapses after `deliveries::CLAIM_FOR`; until then
                // retries find this email in progress. The send's failure is the one to report.
                if let Err(release) = deliveries::release(&mailer.store, event.event_key(), to).await {
                    tracing::warn!(
                        error = format!("{release:#}"),
                        "releasing a failed email's claim failed"
                    );
                }
                Err(error)
            }
        },
    }
}

/// The Lambda handler: one event from the bus.
pub async fn handle(mailer: &Mailer, event: LambdaEvent<EventBridgeEvent>) -> Result<Outcome, Error> {
    let started = std::time::Instant::now();
    let envelope = event.payload;
    let domain = DomainEvent::parse(&envelope.detail_type, envelope.detail)?;
    let delivered = deliver(mailer, &domain).await;
    // The invocation's one line (recipients are in the per-email lines of `deliver`, by message id only).
    tracing::info!(
        request_id = %event.context.request_id,
        event = domain.event_key(),
        kind = domain.detail_type(),
        sent = delivered.as_ref().map(|outcome| outcome.sent).ok(),
        already_sent = delivered.as_ref().map(|outcome| outcome.already_sent).ok(),
        skipped = delivered.as_ref().ok().and_then(|outcome| outcome.skipped),
        failed = delivered.is_err(),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "event handled"
    );
    Ok(delivered?)
}
