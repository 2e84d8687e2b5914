//! The four emails, in English and German, as HTML and plain text, rendered with minijinja
//! from the templates beside this file (compiled into the binary). A plain-text template's
//! first line is the subject, then a blank line, then the body; HTML templates are escaped.

use crate::domain::{CompanyName, CustomerNumber, Email, Language, RoleName};
use anyhow::Context as _;
use minijinja::{Environment, Value, context};
use std::sync::OnceLock;
use time::OffsetDateTime;

/// A rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

/// What the invitation email says.
#[derive(Debug, Clone)]
pub struct Invitation<'a> {
    /// The customer's company name.
    pub company_name: &'a CompanyName,
    /// Its number.
    pub customer_number: &'a CustomerNumber,
    /// The admin who sent it.
    pub inviter: &'a Email,
    /// The link that accepts it.
    pub link: &'a str,
    /// Until when the link works.
    pub valid_until: OffsetDateTime,
    /// The names of the roles it grants (none: restricted access until an admin assigns some).
    pub roles: &'a [RoleName],
}

/// What the welcome email says.
#[derive(Debug, Clone)]
pub struct Welcome<'a> {
    /// The new account's address.
    pub email: &'a Email,
    /// Where to log in.
    pub portal_url: &'a str,
}

/// What the member-left email says.
#[derive(Debug, Clone)]
pub struct MemberLeft<'a> {
    /// Who left.
    pub member: &'a Email,
    /// The customer's company name.
    pub company_name: &'a CompanyName,
    /// Its number.
    pub customer_number: &'a CustomerNumber,
    /// The customer's User Management page.
    pub users_url: &'a str,
}

/// What the "account deleted" email says.
#[derive(Debug, Clone)]
pub struct AccountDeleted<'a> {
    /// The deleted account's address.
    pub email: &'a Email,
}

/// What the email to the admin(s) of an invitation whose expired link's holder asks for a new
/// one says.
#[derive(Debug, Clone)]
pub struct RenewalRequested<'a> {
    /// The invited address.
    pub invitee: &'a Email,
    /// The customer's company name.
    pub company_name: &'a CompanyName,
    /// Its number.
    pub customer_number: &'a CustomerNumber,
    /// When the link expired.
    pub expired_at: OffsetDateTime,
    /// The invitation in the portal, where an admin resends (or deletes) it.
    pub invitation_url: &'a str,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("button.html", include_str!("templates/button.html")),
    ("invitation.en.txt", include_str!("templates/invitation.en.txt")),
    ("invitation.en.html", include_str!("templates/invitation.en.html")),
    ("invitation.de.txt", include_str!("templates/invitation.de.txt")),
    ("invitation.de.html", include_str!("templates/invitation.de.html")),
    ("welcome.en.txt", include_str!("templates/welcome.en.txt")),
    ("welcome.en.html", include_str!("templates/welcome.en.html")),
    ("welcome.de.txt", include_str!("templates/welcome.de.txt")),
    ("welcome.de.html", include_str!("templates/welcome.de.html")),
    ("member_left.en.txt", include_str!("templates/member_left.en.txt")),
    ("member_left.en.html", include_str!("templates/member_left.en.html")),
    ("member_left.de.txt", include_str!("templates/member_left.de.txt")),
    ("member_left.de.html", include_str!("templates/member_left.de.html")),
    ("member_joined.en.txt", include_str!("templates/member_joined.en.txt")),
    ("member_joined.en.html", include_str!("templates/member_joined.en.html")),
    ("member_joined.de.txt", include_str!("templates/member_joined.de.txt")),
    ("member_joined.de.html", include_str!("templates/member_joined.de.html")),
    (
        "renewal_requested.en.txt",
        include_str!("templates/renewal_requested.en.txt"),
    ),
    (
        "renewal_requested.en.html",
        include_str!("templates/renewal_requested.en.html"),
    ),
    (
        "renewal_requested.de.txt",
        include_str!("templates/renewal_requested.de.txt"),
    ),
    (
        "renewal_requested.de.html",
        include_str!("templates/renewal_requested.de.html"),
    ),
    (
        "account_deleted.en.txt",
        include_str!("templates/account_deleted.en.txt"),
    ),
    (
        "account_deleted.en.html",
        include_str!("templates/account_deleted.en.html"),
    ),
    (
        "account_deleted.de.txt",
        include_str!("templates/account_deleted.de.txt"),
    ),
    (
        "account_deleted.de.html",
        include_str!("templates/account_deleted.de.html"),
    ),
];

fn environment() -> &'static Environment<'static> {
    static ENVIRONMENT: OnceLock<Environment<'static>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            // The templates are part of the binary and covered by tests; a broken one is a bug.
            env.add_template(name, source).expect("the email templates parse");
        }
        env
    })
}

fn render(name: &str, language: Language, values: Value) -> anyhow::Result<Rendered> {
    let env = environment();
    let lang = language.code();
    let values = context! { lang, ..values };
    let text = env
        .get_template(&format!("{name}.{lang}.txt"))?
        .render(&values)
        .with_context(|| format!("Failed to render the {name} email's text."))?;
    let html = env
        .get_template(&format!("{name}.{lang}.html"))?
        .render(&values)
        .with_context(|| format!("Failed to render the {name} email's HTML."))?;
    let (subject, body) = text
        .split_once("\n\n")
        .with_context(|| format!("The {name} text template has no subject line."))?;
    Ok(Rendered {
        subject: subject.trim().to_owned(),
        text: format!("{}\n", body.trim()),
        html,
    })
}

/// A time as the recipient reads it, in UTC (the portal shows local time; an email cannot know it).
pub fn readable_time(at: OffsetDateTime, language: Language) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    match language {
        Language::En => {
            let month = match at.month() {
                time::Month::January => "January",
                time::Month::February => "February",
                time::Month::March => "March",
                time::Month::April => "April",
                time::Month::May => "May",
                time::Month::June => "June",
                time::Month::July => "July",
                time::Month::August => "August",
                time::Month::September => "September",
                time::Month::October => "October",
                time::Month::November => "November",
                time::Month::December => "December",
            };
            format!(
                "{} {month} {}, {:02}:{:02} UTC",
                at.day(),
                at.year(),
                at.hour(),
                at.minute()
            )
        }
        Language::De => format!(
            "{:02}.{:02}.{} um {:02}:{:02} Uhr (UTC)",
            at.day(),
            u8::from(at.month()),
            at.year(),
            at.hour(),
            at.minute()
        ),
    }
}

/// What the email to the admin who sent an accepted invitation says.
#[derive(Debug, Clone)]
pub struct MemberJoined<'a> {
    /// Who joined.
    pub member: &'a Email,
    /// The customer's company name.
    pub company_name: &'a CompanyName,
    /// Its number.
    pub customer_number: &'a CustomerNumber,
    /// The names of the roles the member holds now (none: the restricted portal).
    pub roles: &'a [RoleName],
    /// The customer's User Management page.
    pub users_url: &'a str,
}

/// The invitation email.
pub fn invitation(language: Language, mail: &Invitation<'_>) -> anyhow::Result<Rendered> {
    render(
        "invitation",
        language,
        context! {
            company_name => mail.company_name.to_string(),
            customer_number => mail.customer_number.to_string(),
            inviter => mail.inviter.to_string(),
            link => mail.link,
            valid_until => readable_time(mail.valid_until, language),
            roles => mail.roles.iter().map(ToString::to_string).collect::<Vec<_>>(),
        },
    )
}

/// The welcome email.
pub fn welcome(language: Language, mail: &Welcome<'_>) -> anyhow::Result<Rendered> {
    render(
        "welcome",
        language,
        context! { email => mail.email.to_string(), portal_url => mail.portal_url },
    )
}

/// The email to each admin when a member left.
pub fn member_left(language: Language, mail: &MemberLeft<'_>) -> anyhow::Result<Rendered> {
    render(
        "member_left",
        language,
        context! {
            member => mail.member.to_string(),
            company_name => mail.company_name.to_string(),
            customer_number => mail.customer_number.to_string(),
            users_url => mail.users_url,
        },
    )
}

/// The email to the admin who sent an invitation, when it was accepted.
pub fn member_joined(language: Language, mail: &MemberJoined<'_>) -> anyhow::Result<Rendered> {
    render(
        "member_joined",
        language,
        context! {
            member => mail.member.to_string(),
            company_name => mail.company_name.to_string(),
            customer_number => mail.customer_number.to_string(),
            roles => mail.roles.iter().map(ToString::to_string).collect::<Vec<_>>(),
            users_url => mail.users_url,
        },
    )
}

/// The email to the admin(s) of an invitation whose expired link's holder asks for a new one.
pub fn renewal_requested(language: Language, mail: &RenewalRequested<'_>) -> anyhow::Result<Rendered> {
    render(
        "renewal_requested",
        language,
        context! {
            invitee => mail.invitee.to_string(),
            company_name => mail.company_name.to_string(),
            customer_number => mail.customer_number.to_string(),
            expired_at => readable_time(mail.expired_at, language),
            invitation_url => mail.invitation_url,
        },
    )
}

/// The email to an account's address once the account is deleted.
pub fn account_deleted(language: Language, mail: &AccountDeleted<'_>) -> anyhow::Result<Rendered> {
    render(
        "account_deleted",
        language,
        context! { email => mail.email.to_string() },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn snapshot(name: &str, rendered: &Rendered) {
        let actual = format!(
            "Subject: {}\n\n----- text -----\n{}\n----- html -----\n{}\n",
            rendered.subject, rendered.text, rendered.html
        );
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("src/emails/snapshots/{name}.snap"));
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &actual).unwrap();
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("no snapshot {}; run with UPDATE_SNAPSHOTS=1", path.display()));
        assert_eq!(
            actual, expected,
            "{name} changed; if intended, run with UPDATE_SNAPSHOTS=1"
        );
    }

    fn company() -> CompanyName {
        CompanyName::parse("Müller & Söhne <GmbH>").unwrap()
    }

    #[test]
    fn the_invitation_names_customer_company_inviter_roles_link_and_expiry() {
        let (company, number) = (company(), CustomerNumber::parse("100234").unwrap());
        let inviter = Email::parse("admin@acme.example").unwrap();
        let link = "https://portal.example/invitations/TOKEN";
        let valid_until = time::macros::datetime!(2026-11-25 09:30 UTC);
        let roles = [
            RoleName::parse("Buyer").unwrap(),
            RoleName::parse("Q&A <lead>").unwrap(),
        ];
        for (language, granted) in [(Language::En, "with the roles"), (Language::De, "mit den Rollen")] {
            let mail = invitation(
                language,
                &Invitation {
                    company_name: &company,
                    customer_number: &number,
                    inviter: &inviter,
                    link,
                    valid_until,
                    roles: &roles,
                },
            )
            .unwrap();
            assert!(mail.text.contains(granted) && mail.html.contains(granted), "{mail:?}");
            assert!(mail.text.contains("Buyer, Q&A <lead>"), "{}", mail.text);
            assert!(
                mail.html
                    .contains("<strong>Buyer</strong>, <strong>Q&amp;A &lt;lead&gt;</strong>"),
                "{}",
                mail.html
            );
            // HTML escapes `/` as `&#x2f;`, which mail clients decode like browsers do.
            let escaped_link = link.replace('/', "&#x2f;");
            for (body, link) in [(&mail.text, link), (&mail.html, escaped_link.as_str())] {
                assert!(body.contains("100234"));
                assert!(body.contains("admin@acme.example"));
                assert!(body.contains("CloudHub"));
                assert!(body.contains(link), "{body}");
            }
            assert!(mail.subject.contains("Müller & Söhne <GmbH>"), "text is not escaped");
            assert!(mail.html.contains("Müller &amp; Söhne &lt;GmbH&gt;"), "HTML is escaped");
            assert!(
                mail.html.contains(&format!("href=\"{escaped_link}\"")),
                "a button with the link"
            );
            snapshot(&format!("invitation.{}", language.code()), &mail);
        }
        let en = invitation(
            Language::En,
            &Invitation {
                company_name: &company,
                customer_number: &number,
                inviter: &inviter,
                link,
                valid_until,
                roles: &[],
            },
        )
        .unwrap();
        assert!(en.text.contains("25 November 2026, 09:30 UTC"));
        assert!(
            en.text.contains("no roles yet") && en.html.contains("no roles yet"),
            "{}",
            en.text
        );
        let de = invitation(
            Language::De,
            &Invitation {
                company_name: &company,
                customer_number: &number,
                inviter: &inviter,
                link,
                valid_until,
                roles: &[],
            },
        )
        .unwrap();
        assert!(de.text.contains("noch keine Rollen"), "{}", de.text);
    }

    #[test]
    fn every_email_fits_a_phone_screen() {
        // A fixed-width table wider than a phone (`width="600"`) scrolls sideways at 390 px; the
        // layout is fluid up to a maximum instead, and long links wrap. The browser test
        // (infra/portal/e2e) measures the rendered width.
        let layout = TEMPLATES.iter().find(|(name, _)| *name == "layout.html").unwrap().1;
        assert!(!layout.contains("width=\"600\""), "{layout}");
        assert!(layout.contains("max-width:600px"), "{layout}");
        assert!(layout.contains("width=device-width, initial-scale=1"), "{layout}");
    }

    #[test]
    fn the_welcome_email_gives_an_overview_in_both_languages() {
        let email = Email::parse("anna@example.com").unwrap();
        for (language, areas) in [
            (Language::En, ["Orders", "Invoices", "User Management", "Settings"]),
            (
                Language::De,
                ["Bestellungen", "Rechnungen", "Benutzerverwaltung", "Einstellungen"],
            ),
        ] {
            let mail = welcome(
                language,
                &Welcome {
                    email: &email,
                    portal_url: "https://portal.example",
                },
            )
            .unwrap();
            for area in areas {
                assert!(mail.text.contains(area) && mail.html.contains(area), "{area}");
            }
            snapshot(&format!("welcome.{}", language.code()), &mail);
        }
    }

    #[test]
    fn the_member_left_email_names_the_member_and_the_customer() {
        let (company, number) = (company(), CustomerNumber::parse("100234").unwrap());
        let member = Email::parse("anna@example.com").unwrap();
        for language in [Language::En, Language::De] {
            let mail = member_left(
                language,
                &MemberLeft {
                    member: &member,
                    company_name: &company,
                    customer_number: &number,
                    users_url: "https://portal.example/customers/100234/users",
                },
            )
            .unwrap();
            assert!(mail.subject.contains("anna@example.com") && mail.subject.contains("100234"));
            assert!(mail.html.contains("anna@example.com"));
            snapshot(&format!("member_left.{}", language.code()), &mail);
        }
    }

    #[test]
    fn the_member_joined_email_names_the_member_the_customer_and_the_roles() {
        let (company, number) = (company(), CustomerNumber::parse("100234").unwrap());
        let member = Email::parse("anna@example.com").unwrap();
        let roles = [
            RoleName::parse("Buyer").unwrap(),
            RoleName::parse("Accounting").unwrap(),
        ];
        for language in [Language::En, Language::De] {
            let mail = member_joined(
                language,
                &MemberJoined {
                    member: &member,
                    company_name: &company,
                    customer_number: &number,
                    roles: &roles,
                    users_url: "https://portal.example/customers/100234/users",
                },
            )
            .unwrap();
            assert!(mail.subject.contains("anna@example.com") && mail.subject.contains("Buyer, Accounting"));
            assert!(mail.text.contains("https://portal.example/customers/100234/users"));
            snapshot(&format!("member_joined.{}", language.code()), &mail);
            let restricted = member_joined(
                language,
                &MemberJoined {
                    roles: &[],
                    ..MemberJoined {
                        member: &member,
                        company_name: &company,
                        customer_number: &number,
                        roles: &roles,
                        users_url: "https://portal.example/customers/100234/users",
                    }
                },
            )
            .unwrap();
            assert!(!restricted.subject.contains("Buyer"), "{}", restricted.subject);
            assert!(restricted.text.contains("restricted") || restricted.text.contains("eingeschränkte"));
        }
    }

    #[test]
    fn the_account_deleted_email_names_the_address_and_how_to_come_back() {
        let email = Email::parse("anna@example.com").unwrap();
        for (language, subject, again) in [
            (Language::En, "Your CloudHub account was deleted", "invite"),
            (Language::De, "Ihr CloudHub-Konto wurde gelöscht", "erneut einladen"),
        ] {
            let mail = account_deleted(language, &AccountDeleted { email: &email }).unwrap();
            assert_eq!(mail.subject, subject);
            for body in [&mail.text, &mail.html] {
                assert!(body.contains(email.as_str()), "{body}");
                assert!(body.contains(again), "{body}");
            }
            snapshot(&format!("account_deleted.{}", language.code()), &mail);
        }
    }

    #[test]
    fn the_renewal_request_email_names_the_invitee_the_customer_and_links_to_the_invitation() {
        let (company, number) = (company(), CustomerNumber::parse("100234").unwrap());
        let invitee = Email::parse("anna@example.com").unwrap();
        let url = "https://portal.example/customers/100234/invitations/01KAWDEM0ADM1N000000000001";
        for (language, asks, resend) in [
            (Language::En, "asks for a new invitation link", "resend the invitation"),
            (Language::De, "bittet um einen neuen Einladungslink", "erneut"),
        ] {
            let mail = renewal_requested(
                language,
                &RenewalRequested {
                    invitee: &invitee,
                    company_name: &company,
                    customer_number: &number,
                    expired_at: time::macros::datetime!(2026-11-25 09:30 UTC),
                    invitation_url: url,
                },
            )
            .unwrap();
            assert!(
                mail.subject.contains("anna@example.com") && mail.subject.contains(asks),
                "{}",
                mail.subject
            );
            assert!(mail.text.contains(url) && mail.text.contains(resend), "{}", mail.text);
            assert!(
                mail.html.contains(&url.replace('/', "&#x2f;")),
                "a button to the invitation: {}",
                mail.html
            );
            snapshot(&format!("renewal_requested.{}", language.code()), &mail);
        }
    }

    #[test]
    fn times_read_naturally_in_each_language() {
        let at = time::macros::datetime!(2026-03-05 07:05 +01:00);
        assert_eq!(readable_time(at, Language::En), "5 March 2026, 06:05 UTC");
        assert_eq!(readable_time(at, Language::De), "05.03.2026 um 06:05 Uhr (UTC)");
    }
}
