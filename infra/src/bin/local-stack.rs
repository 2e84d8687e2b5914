//! The local stack: creates the tables of `template.yaml` on DynamoDB Local, seeds the demo
//! customer, and serves every route on 127.0.0.1 with the functions' handlers and the authorizer.
//! Started by `infra/dev`, which also starts DynamoDB Local.

// The AWS SDK's futures nest deeply; computing their layout needs more than the default 128.
#![recursion_limit = "256"]

use clap::Parser;
use cloudhub::App;
use cloudhub::clock::{Clock, SharedClock, SystemClock};
use cloudhub::links::LinkKeys;
use cloudhub::schema::{Ttl, create_tables, local_client, tables_named};
use cloudhub::store::Store;
use infra::cors::Cors;
use infra::delivery::{StreamPoller, local_streams_client};
use infra::gateway::Gateway;
use infra::seed;
use infra::server::LocalPages;
use mailer::{Mailer, Outbox};
use std::sync::Arc;

#[derive(Parser)]
#[command(about = "Serve the CloudHub API locally against DynamoDB Local.")]
struct Options {
    /// Port of the API on 127.0.0.1.
    #[arg(long, env = "CLOUDHUB_PORT", default_value_t = 3000)]
    port: u16,
    /// DynamoDB Local's endpoint.
    #[arg(long, env = "CLOUDHUB_DYNAMODB_ENDPOINT", default_value = "http://127.0.0.1:8100")]
    dynamodb_endpoint: String,
    /// Tables are named `{prefix}-data` and `{prefix}-sessions`.
    #[arg(long, env = "CLOUDHUB_TABLE_PREFIX", default_value = "cloudhub-local")]
    table_prefix: String,
    /// The folder the local mailer writes emails into (also served at /_mailbox).
    #[arg(long, env = "CLOUDHUB_MAILBOX_DIR", default_value = ".local/mailbox")]
    mailbox_dir: std::path::PathBuf,
    /// The portal's base URL in email links; by default the reference portal on this server
    /// (`http://127.0.0.1:3000/#`: links are `…/#/invitations/{token}`).
    #[arg(long, env = "PORTAL_BASE_URL")]
    portal_base_url: Option<String>,
    /// The built reference portal, served at `/`.
    #[arg(long, env = "CLOUDHUB_PORTAL_DIR", default_value = "infra/portal/dist")]
    portal_dir: std::path::PathBuf,
    /// The origins browsers may call the API from (comma-separated), as the template's
    /// `PortalOrigins`; by default the portal's own, `http://127.0.0.1:{port}`. As on every stage
    /// but prod, `http://localhost:{dev server port}` is allowed too.
    #[arg(long, env = "CLOUDHUB_CORS_ORIGINS")]
    cors_origins: Option<String>,
    /// The template's `DevServerPort` (default: the template's default).
    #[arg(long, env = "CLOUDHUB_DEV_SERVER_PORT")]
    dev_server_port: Option<u16>,
    /// Whether the local stack delivers emails itself (off when something else, e.g. the
    /// publisher and mailer under `cargo lambda watch`, reads the events).
    #[arg(long, env = "CLOUDHUB_DELIVER_EMAILS", default_value_t = true, action = clap::ArgAction::Set)]
    deliver_emails: bool,
    /// Whether the local stack keeps the invitation counters and the activity log from the
    /// stream itself (off when another local stack on the same tables does: two recorders are
    /// correct, each record is recorded once, but the second one's refused attempts cost time).
    #[arg(long, env = "CLOUDHUB_RECORD", default_value_t = true, action = clap::ArgAction::Set)]
    record: bool,
    /// The sender address written into emails.
    #[arg(
        long,
        env = "SENDER_ADDRESS",
        default_value = "CloudHub <no-reply@cloudhub.localhost>"
    )]
    sender_address: String,
    /// Runs this stack's clock ahead (`25h`, `90m`, `2d`; seconds without a unit), e.g. beside
    /// another stack on the same tables to see a link expire. Local only: the functions deployed
    /// read the system clock. The mailer and every route use it; the demo's seed too.
    #[arg(long, env = "CLOUDHUB_CLOCK_SHIFT", value_parser = parse_shift)]
    clock_shift: Option<time::Duration>,
}

/// A shift of `CLOUDHUB_CLOCK_SHIFT`: whole seconds, minutes, hours or days ahead.
fn parse_shift(text: &str) -> Result<time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((at, unit)) if unit.is_ascii_alphabetic() => (&text[..at], unit),
        _ => (text, 's'),
    };
    let amount: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a shift such as 25h, 90m, 2d or 3600"))?;
    let unit = match unit {
        's' => time::Duration::SECOND,
        'm' => time::Duration::MINUTE,
        'h' => time::Duration::HOUR,
        'd' => time::Duration::DAY,
        other => return Err(format!("`{other}` is not a unit: s, m, h or d")),
    };
    if amount < 0 {
        return Err("the clock only runs ahead".into());
    }
    unit.checked_mul(i32::try_from(amount).map_err(|_| "too far ahead".to_owned())?)
        .ok_or_else(|| "too far ahead".into())
}

/// The system clock, ahead by a fixed shift.
struct ShiftedClock(time::Duration);

impl Clock for ShiftedClock {
    fn now(&self) -> time::OffsetDateTime {
        SystemClock.now() + self.0
    }
}

/// A worker thread's stack: unoptimised builds lay the handlers' futures out generously, and the
/// gateway's dispatch over every function's handler needs more than tokio's default 2 MiB.
const WORKER_STACK: usize = 16 * 1024 * 1024;

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK)
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber_init();
    let options = Options::parse();
    let clock: SharedClock = match options.clock_shift {
        Some(shift) => Arc::new(ShiftedClock(shift)),
        None => Arc::new(SystemClock),
    };
    let client = local_client(&options.dynamodb_endpoint);
    let tables = tables_named(&options.table_prefix);
    create_tables(&client, &tables, Ttl::AsTemplate).await?;
    let store = Store::new(client.clone(), tables.clone());
    // The development key: deployed functions read theirs from Secrets Manager.
    let links = LinkKeys::fixed(seed::dev_keyring());
    let (listener, address) = infra::server::bind(options.port).await?;

    // Emails: the table's stream → the publisher → the mailer → the mailbox folder.
    let poller = StreamPoller::new(&client, local_streams_client(&options.dynamodb_endpoint), &tables.data).await?;
    let mailer = Mailer {
        store: store.clone(),
        clock: clock.clone(),
        links: links.clone(),
        outbox: Outbox::Folder {
            dir: options.mailbox_dir.clone(),
            sender: options.sender_address.clone(),
        },
        portal_base_url: options
            .portal_base_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}{}", infra::portal::PORTAL_BASE_URL_PATH)),
    };
    if options.deliver_emails {
        infra::delivery::spawn(poller, mailer);
    }
    // The invitation counters and the activity log: the table's stream → the recorder (the
    // invitations table's counts are read from them).
    if options.record {
        let recording =
            StreamPoller::new(&client, local_streams_client(&options.dynamodb_endpoint), &tables.data).await?;
        infra::delivery::spawn_recorder(recording, store.clone());
    }

    let seeded = seed::demo(&store, clock.now()).await?;
    let origins = options
        .cors_origins
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    let dev_server_port = options.dev_server_port.map(|port| port.to_string());
    let mut parameters = vec![("Stage", "local"), ("PortalOrigins", origins.as_str())];
    if let Some(port) = &dev_server_port {
        parameters.push(("DevServerPort", port.as_str()));
    }
    let cors = Cors::from_template(&parameters)?;
    let gateway = Gateway::new(App {
        store,
        clock: clock.clone(),
        link_keys: Some(links),
    })?
    .with_cors(cors.clone());

    println!(
        "CloudHub local stack on http://{address}  (tables {}, {}; demo data {seeded:?})",
        tables.data, tables.sessions
    );
    for route in gateway.routes() {
        println!(
            "  {:<6} {}{}",
            route.method,
            route.path,
            if route.authorized { "" } else { "  (public)" }
        );
    }
    if let Some(shift) = options.clock_shift {
        println!(
            "This stack's clock runs {shift} ahead (CLOUDHUB_CLOCK_SHIFT): it is {} here",
            clock.now()
        );
    }
    println!(
        "Log in as the demo admin of customer {} ({}):\n  curl -s -X POST http://{address}/auth/login -H 'content-type: application/json' -d '{{\"email\":\"{}\",\"password\":\"{}\"}}'",
        seed::CUSTOMER_NUMBER,
        seed::COMPANY_NAME,
        seed::ADMIN_EMAIL,
        seed::ADMIN_PASSWORD
    );
    println!(
        "Emails land in {} and on http://{address}{}",
        options.mailbox_dir.display(),
        infra::mailbox::MAILBOX_PREFIX
    );
    println!(
        "The reference portal: http://{address}/  (CORS origins {})",
        cors.allow_origins.join(", ")
    );
    let pages = LocalPages {
        mailbox_dir: Some(options.mailbox_dir),
        portal_dir: Some(options.portal_dir),
    };
    infra::server::serve_with_pages(listener, gateway, pages).await
}

fn tracing_subscriber_init() {
    cloudhub::telemetry::init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shift_is_a_whole_number_of_seconds_minutes_hours_or_days_ahead() {
        assert_eq!(parse_shift("25h"), Ok(time::Duration::hours(25)));
        assert_eq!(parse_shift("90m"), Ok(time::Duration::minutes(90)));
        assert_eq!(parse_shift("2d"), Ok(time::Duration::days(2)));
        assert_eq!(parse_shift("3600"), Ok(time::Duration::hours(1)));
        for wrong in ["", "h", "-1h", "1.5h", "25w", "99999999999d"] {
            assert!(parse_shift(wrong).is_err(), "{wrong}");
        }
        let ahead = ShiftedClock(time::Duration::hours(25)).now() - time::OffsetDateTime::now_utc();
        assert!(
            ahead > time::Duration::hours(24) && ahead <= time::Duration::hours(25),
            "{ahead}"
        );
    }
}
