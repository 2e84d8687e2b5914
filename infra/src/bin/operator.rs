//! Operators' command: create a customer with its roles and its first admin, claim older roles'
//! names, print an invitation's link; against real AWS (table names from the stack's outputs)
//! or DynamoDB Local (`--dynamodb-endpoint`).
//!
//! The admin's password is read from standard input (or `CLOUDHUB_ADMIN_PASSWORD`), never from
//! the command line, where other users of the machine could see it.

// The AWS SDK's futures nest deeply; computing their layout needs more than the default 128.
#![recursion_limit = "256"]

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use cloudhub::accounts;
use cloudhub::domain::{
    CompanyName, CustomerNumber, Email, Language, Password, PasswordPolicy, Permission, RoleName, UserId,
};
use cloudhub::schema::{Ttl, create_tables, local_client};
use cloudhub::store::{Store, Tables};
use cloudhub::usecases::onboarding::{self as customers, FirstAdmin, NewCustomer};
use std::collections::BTreeSet;

#[derive(Parser)]
#[command(
    about = "Operate CloudHub: create tables (local only) and customers, claim role names; invitation links and their keys."
)]
struct Options {
    /// DynamoDB endpoint, e.g. http://127.0.0.1:8100 for DynamoDB Local. Without it, AWS as
    /// configured by the environment (AWS_PROFILE, AWS_REGION, ...).
    #[arg(long, env = "CLOUDHUB_DYNAMODB_ENDPOINT", global = true)]
    dynamodb_endpoint: Option<String>,
    /// The data table (stack output DataTableName).
    #[arg(long, env = "DATA_TABLE_NAME", global = true, default_value = "cloudhub-local-data")]
    data_table: String,
    /// The sessions table (stack output SessionsTableName).
    #[arg(
        long,
        env = "SESSIONS_TABLE_NAME",
        global = true,
        default_value = "cloudhub-local-sessions"
    )]
    sessions_table: String,
    /// The secret holding the invitation link keys (stack output LinkKeysSecretArn). Without it,
    /// against DynamoDB Local, the local stack's development key.
    #[arg(long, env = "LINK_KEYS_SECRET_ID", global = true)]
    link_keys_secret: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the tables of template.yaml (DynamoDB Local only; on AWS, SAM creates them).
    CreateTables,
    /// Create a customer, its roles, and its first admin (a new account, or an existing one).
    CreateCustomer {
        /// The customer number.
        #[arg(long)]
        number: String,
        /// The company name.
        #[arg(long)]
        company: String,
        /// Default language of the customer's emails: en or de.
        #[arg(long, default_value = "en")]
        language: String,
        /// A role besides "Administrator": NAME=PERMISSION,PERMISSION (orders, invoices,
        /// documents, user-management). Repeatable.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// The first admin's email address.
        #[arg(long)]
        admin_email: String,
        /// The first admin's language, if the account is new: en or de.
        #[arg(long, default_value = "en")]
        admin_language: String,
    },
    /// Claim the names of a customer's roles made before role names were unique (once, after
    /// upgrading), so that no new role can take one of them. Safe to run again.
    ClaimRoleNames {
        /// The customer number.
        #[arg(long)]
        customer: String,
    },
    /// Write a customer's admin set from what its members' roles grant (once, after upgrading
    /// to admin sets: until then its admins pass no admin check). Safe to run again.
    WriteAdminSet {
        /// The customer number.
        #[arg(long)]
        customer: String,
    },
    /// Print the current link of an invitation (its token, and the portal URL that carries it),
    /// e.g. when its email cannot be delivered. Reads the link keys from --link-keys-secret;
    /// against DynamoDB Local the development key is the default.
    InvitationLink {
        /// The customer number.
        #[arg(long)]
        customer: String,
        /// The invitation id.
        #[arg(long)]
        invitation: String,
        /// The portal's base URL the link points to.
        #[arg(long, env = "PORTAL_BASE_URL", default_value = "http://127.0.0.1:3000/#")]
        portal: String,
    },
    /// Rotate the invitation link keys in --link-keys-secret: a new current key; links of the
    /// current key keep working for their 24 hours, links of the previous key stop working.
    RotateLinkKeys,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Options::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> anyhow::Result<()> {
    let tables = Tables {
        data: options.data_table,
        sessions: options.sessions_table,
    };
    let client = match &options.dynamodb_endpoint {
        Some(endpoint) => local_client(endpoint),
        None => aws_sdk_dynamodb::Client::new(&aws_config_from_env().await),
    };
    let store = Store::new(client, tables);
    match options.command {
        Command::CreateTables => {
            if options.dynamodb_endpoint.is_none() {
                bail!("create-tables is for DynamoDB Local; on AWS the SAM stack creates the tables.");
            }
            create_tables(store.client(), store.tables(), Ttl::AsTemplate).await?;
            println!("Tables {} and {} exist.", store.tables().data, store.tables().sessions);
        }
        Command::CreateCustomer {
            number,
            company,
            language,
            roles,
            admin_email,
            admin_language,
        } => {
            let customer = NewCustomer {
                number: CustomerNumber::parse(&number)?,
                company_name: CompanyName::parse(&company)?,
                default_language: Language::parse(&language)?,
                roles: roles
                    .iter()
                    .map(|role| parse_role(role))
                    .collect::<anyhow::Result<_>>()?,
            };
            let email = Email::parse(&admin_email)?;
            let admin = match accounts::find_credential(&store, &email).await? {
                Some(credential) => {
                    eprintln!("{email} has an account already; it becomes the admin with its own password.");
                    FirstAdmin::ExistingAccount {
                        email,
                        user_id: credential.user_id,
                    }
                }
                None => FirstAdmin::NewAccount {
                    user_id: UserId::generate(),
                    email,
                    password_hash: Password::parse(read_password()?, PasswordPolicy::New)?.hash().await?,
                    language: Language::parse(&admin_language)?,
                },
            };
            let created = customers::create(&store, customer, admin, time::OffsetDateTime::now_utc()).await?;
            println!(
                "Customer {} created. Admin: {} (user {}).",
                created.admin.customer_number, created.admin.email, created.admin.user_id
            );
            for role in created.roles {
                let permissions: Vec<&str> = role.permissions.iter().map(|p| p.code()).collect();
                println!("  role {} {:<16} {}", role.id, role.name, permissions.join(","));
            }
        }
        Command::ClaimRoleNames { customer } => {
            let customer = CustomerNumber::parse(&customer)?;
            let outcome = cloudhub::roles::claim_names(&store, &customer, time::OffsetDateTime::now_utc()).await?;
            for role in &outcome.claimed {
                println!("  claimed      {} {}", role.id, role.name);
            }
            for role in &outcome.not_claimed {
                println!(
                    "  not claimed  {} {} (another role has this name, or it is being changed)",
                    role.id, role.name
                );
            }
            println!(
                "Customer {customer}: {} name(s) claimed now, {} held already, {} not claimed.",
                outcome.claimed.len(),
                outcome.held,
                outcome.not_claimed.len()
            );
            if !outcome.not_claimed.is_empty() {
                bail!("Rename the roles not claimed (or run again if one was being changed).");
            }
        }
        Command::WriteAdminSet { customer } => {
            let customer = CustomerNumber::parse(&customer)?;
            let written = cloudhub::usecases::upgrade::write_admin_set(&store, &customer).await?;
            println!(
                "Customer {customer}: {} admin(s); {} named already, {} added, {} removed.",
                written.admins.len(),
                written.kept,
                written.added,
                written.removed
            );
        }
        Command::InvitationLink {
            customer,
            invitation,
            portal,
        } => {
            let keyring = match (&options.link_keys_secret, &options.dynamodb_endpoint) {
                (Some(secret), _) => infra::link_keys::read(&secrets_client().await, secret).await?,
                (None, Some(_)) => infra::seed::dev_keyring(),
                (None, None) => bail!("Name the stack's link key secret: --link-keys-secret <LinkKeysSecretArn>."),
            };
            let customer = CustomerNumber::parse(&customer)?;
            let id = cloudhub::domain::InvitationId::parse(&invitation)?;
            let found = cloudhub::invitations::find(&store, &customer, &id)
                .await?
                .with_context(|| format!("Customer {customer} has no invitation {id}."))?;
            let now = time::OffsetDateTime::now_utc();
            if !found.is_open() {
                bail!(
                    "This invitation was {:?}; it has no link any more.",
                    found.listed_status(now)
                );
            }
            if found.status(now) == cloudhub::invitations::InvitationStatus::Expired {
                eprintln!("This invitation's link has expired; an admin can resend it.");
            }
            let token = found
                .link_token(&keyring)
                .context("This invitation's link was made with a retired key; an admin can resend it.")?;
            println!("token {}", token.reveal());
            println!("link  {}/invitations/{}", portal.trim_end_matches('/'), token.reveal());
            println!("valid until {}", found.expires_at);
        }
        Command::RotateLinkKeys => {
            let secret = options
                .link_keys_secret
                .context("Name the stack's link key secret: --link-keys-secret <LinkKeysSecretArn>.")?;
            let rotated = infra::link_keys::rotate(&secrets_client().await, &secret).await?;
            println!("New current link key: {}.", rotated.current);
            println!(
                "Links of key {} keep working until their 24 hours are over.",
                rotated.previous
            );
            if let Some(retired) = rotated.retired {
                println!("Key {retired} is retired: its links no longer work.");
            }
            println!(
                "The functions use the new key within {} minutes.",
                cloudhub::links::REFRESH_EVERY.as_secs() / 60
            );
        }
    }
    Ok(())
}

async fn secrets_client() -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&aws_config_from_env().await)
}

fn parse_role(raw: &str) -> anyhow::Result<(RoleName, BTreeSet<Permission>)> {
    let (name, permissions) = raw
        .split_once('=')
        .with_context(|| format!("A role is NAME=PERMISSION,PERMISSION; got `{raw}`."))?;
    let permissions = permissions
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| Permission::parse(p.trim()))
        .collect::<Result<BTreeSet<_>, _>>()?;
    Ok((RoleName::parse(name)?, permissions))
}

fn read_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("CLOUDHUB_ADMIN_PASSWORD") {
        return Ok(password);
    }
    eprintln!(
        "The admin's password ({}-{} characters), then Enter or end of input:",
        Password::MIN_CHARS,
        Password::MAX_CHARS
    );
    let mut input = String::new();
    std::io::stdin()
        .read_line(&mut input)
        .context("Failed to read the password from standard input.")?;
    Ok(input.trim_end_matches(['\r', '\n']).to_owned())
}

async fn aws_config_from_env() -> aws_config::SdkConfig {
    aws_config::load_from_env().await
}
