//! Logs: one `tracing` subscriber for every function, set up from Lambda's logging controls.
//!
//! The same choices as `lambda_runtime`'s default subscriber (JSON when `AWS_LAMBDA_LOG_FORMAT` is
//! `JSON`, no timestamps since Lambda adds them, no targets) but filtered by
//! [`Targets`](tracing_subscriber::filter::Targets) instead of `EnvFilter`, which links a regex
//! engine into every binary for filters we do not use.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Installs the subscriber: level from `AWS_LAMBDA_LOG_LEVEL` (Lambda's `TRACE`…`FATAL`), else
/// `RUST_LOG` (`level` or `target=level,…` directives), else `INFO`; JSON lines when
/// `AWS_LAMBDA_LOG_FORMAT=JSON`. Call once, first thing in `main`.
pub fn init() {
    let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let filter = filter(var("AWS_LAMBDA_LOG_LEVEL").as_deref(), var("RUST_LOG").as_deref());
    let json = var("AWS_LAMBDA_LOG_FORMAT").is_some_and(|format| format.eq_ignore_ascii_case("json"));
    let format = tracing_subscriber::fmt::layer().with_target(false).without_time();
    let registry = tracing_subscriber::registry().with(filter);
    // A second call (tests, the local stack) keeps the first subscriber.
    let _ = if json {
        registry.with(format.json()).try_init()
    } else {
        registry.with(format).try_init()
    };
}

/// The filter: Lambda's level wins; `RUST_LOG` that does not parse falls back to `INFO`.
fn filter(lambda_level: Option<&str>, rust_log: Option<&str>) -> Targets {
    let level = |text: &str| match text.to_ascii_uppercase().as_str() {
        "FATAL" => Some(LevelFilter::ERROR),
        other => other.parse::<LevelFilter>().ok(),
    };
    if let Some(level) = lambda_level.and_then(level) {
        return Targets::new().with_default(level);
    }
    rust_log
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn lambda_level_wins_then_rust_log_then_info() {
        let warn = filter(Some("WARN"), Some("debug"));
        assert!(warn.would_enable("cloudhub", &Level::WARN));
        assert!(!warn.would_enable("cloudhub", &Level::INFO));

        let fatal = filter(Some("FATAL"), None);
        assert!(fatal.would_enable("cloudhub", &Level::ERROR));
        assert!(!fatal.would_enable("cloudhub", &Level::WARN));

        let directives = filter(None, Some("info,aws_smithy_runtime=debug"));
        assert!(directives.would_enable("aws_smithy_runtime::client", &Level::DEBUG));
        assert!(!directives.would_enable("cloudhub", &Level::DEBUG));
        assert!(directives.would_enable("cloudhub", &Level::INFO));

        let fallback = filter(Some("LOUD"), Some("=not a directive="));
        assert!(fallback.would_enable("cloudhub", &Level::INFO));
        assert!(!fallback.would_enable("cloudhub", &Level::DEBUG));
    }
}
