//! Logs: one `tracing` subscriber for every function, set up from Lambda's logging controls.
//!
//! The same choices as `lambda_runtime`'s default subscriber (JSON when `AWS_LAMBDA_LOG_FORMAT` is
//! `JSON`, no timestamps since Lambda adds them, no targets) but filtered by
//! [`Targets`](tracing_subscriber::filter::Targets) instead of `EnvFilter`, which links a regex
//! engine into every binary for filters we do not use.
//!
//! Whatever level is asked for, the AWS SDK, the HTTP stack and the Lambda runtime log at most at
//! `INFO`: at `DEBUG` and `TRACE` they log requests and answers, item bodies included (a link's
//! nonce and hash, a session's hash, a password hash), and nothing secret may reach a log line.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;

/// Installs the subscriber: level from `AWS_LAMBDA_LOG_LEVEL` (Lambda's `TRACE`…`FATAL`), else
/// `RUST_LOG` (`level` or `target=level,…` directives), else `INFO`; JSON lines when
/// `AWS_LAMBDA_LOG_FORMAT=JSON`. Call once, first thing in `main`.
pub fn init() {
    let var = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let subscriber = subscriber(
        var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
        var("RUST_LOG").as_deref(),
        var("AWS_LAMBDA_LOG_FORMAT").as_deref(),
        std::io::stdout,
    );
    // A second call (tests, the local stack) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// The subscriber [`init`] installs, writing to `writer` (tests read what operators would).
pub fn subscriber<W>(
    lambda_level: Option<&str>,
    rust_log: Option<&str>,
    format: Option<&str>,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .with_target(false)
        .without_time()
        .with_writer(writer);
    let registry = tracing_subscriber::registry()
        .with(ceiling())
        .with(filter(lambda_level, rust_log));
    if format.is_some_and(|format| format.eq_ignore_ascii_case("json")) {
        Box::new(registry.with(layer.json()))
    } else {
        Box::new(registry.with(layer))
    }
}

/// Targets that log request and answer bodies below `INFO` (prefixes of the target).
const BODY_LOGGING_TARGETS: &[&str] = &[
    "aws_",
    "hyper",
    "h2",
    "rustls",
    "tower",
    "lambda_runtime",
    "lambda_http",
];

/// The ceiling under every level asked for: see the module's documentation.
fn ceiling() -> Targets {
    BODY_LOGGING_TARGETS
        .iter()
        .fold(Targets::new().with_default(LevelFilter::TRACE), |targets, target| {
            targets.with_target(*target, LevelFilter::INFO)
        })
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

    /// Lines written by a subscriber, for the tests.
    #[derive(Clone, Default)]
    struct Lines(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines_at(lambda_level: Option<&str>, rust_log: Option<&str>, events: impl FnOnce()) -> String {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = subscriber(lambda_level, rust_log, None, move || writer.clone());
        tracing::subscriber::with_default(subscriber, events);
        String::from_utf8(lines.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn no_level_makes_the_sdk_or_the_http_stack_log_bodies() {
        let events = || {
            tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "sdk-trace-body");
            tracing::debug!(target: "aws_sdk_dynamodb::operation", "sdk-debug-body");
            tracing::trace!(target: "hyper_util::client", "hyper-trace-body");
            tracing::debug!(target: "lambda_runtime::layers", "runtime-debug-body");
            tracing::info!(target: "aws_smithy_runtime::client", "sdk-info");
            tracing::trace!(target: "cloudhub::invitations", "ours-at-trace");
        };
        for (lambda_level, rust_log) in [
            (Some("TRACE"), None),
            (None, Some("trace")),
            (
                None,
                Some("aws_smithy_runtime=trace,aws_sdk_dynamodb=trace,hyper_util=trace,trace"),
            ),
        ] {
            let written = lines_at(lambda_level, rust_log, events);
            for body in [
                "sdk-trace-body",
                "sdk-debug-body",
                "hyper-trace-body",
                "runtime-debug-body",
            ] {
                assert!(!written.contains(body), "{lambda_level:?} {rust_log:?}: {written}");
            }
            assert!(written.contains("sdk-info"), "{written}");
            assert!(written.contains("ours-at-trace"), "{written}");
        }
    }

    fn one_line(format: Option<&str>) -> String {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = subscriber(Some("INFO"), None, format, move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(user = "01KAWDEM0ADM1N000000000000", "authorized");
            tracing::debug!("not at INFO");
        });
        String::from_utf8(lines.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn lambda_json_format_writes_one_json_object_per_event() {
        let written = one_line(Some("JSON"));
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines.len(), 1, "{written}");
        let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["fields"]["message"], "authorized");
        assert_eq!(line["fields"]["user"], "01KAWDEM0ADM1N000000000000");
    }

    #[test]
    fn without_lambda_json_format_lines_are_text() {
        let written = one_line(None);
        assert_eq!(written.lines().count(), 1, "{written}");
        assert!(written.contains("authorized"), "{written}");
        assert!(
            serde_json::from_str::<serde_json::Value>(written.trim()).is_err(),
            "{written}"
        );
    }
}
