//! The product's metrics, written as CloudWatch Embedded Metric Format (EMF) documents to
//! standard output: on Lambda, CloudWatch Logs turns them into metrics in the `CloudHub`
//! namespace with no API call and no agent. The format is one JSON object per line
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>).

use serde_json::{Map, Value, json};

/// The namespace of every metric.
pub const NAMESPACE: &str = "CloudHub";

/// The environment variable naming the stage (the stack's `Stage`), the metrics' one dimension.
pub const STAGE_VAR: &str = "CLOUDHUB_STAGE";

/// A product metric; each is a count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Invitations created or resent (each a new link and an owed email).
    InvitationsSent,
    /// Invitations or resends refused because the admin's daily quota is spent.
    QuotaRefusals,
    /// Invitations accepted (new accounts and existing ones).
    Accepts,
    /// Members who left a customer.
    Leaves,
    /// Emails handed to the email service.
    EmailsSent,
}

impl Metric {
    /// The metric's name in CloudWatch.
    pub fn name(self) -> &'static str {
        match self {
            Self::InvitationsSent => "InvitationsSent",
            Self::QuotaRefusals => "QuotaRefusals",
            Self::Accepts => "Accepts",
            Self::Leaves => "Leaves",
            Self::EmailsSent => "EmailsSent",
        }
    }
}

/// The EMF document for `values` at `timestamp_ms`, in `stage`, with `properties` as searchable
/// members that are not dimensions (e.g. the request id).
pub fn document(values: &[(Metric, u64)], stage: &str, properties: &[(&str, &str)], timestamp_ms: i64) -> Value {
    let mut document = Map::new();
    for (name, value) in properties {
        document.insert((*name).to_owned(), Value::String((*value).to_owned()));
    }
    document.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Stage"]],
                "Metrics": values
                    .iter()
                    .map(|(metric, _)| json!({ "Name": metric.name(), "Unit": "Count" }))
                    .collect::<Vec<_>>(),
            }],
        }),
    );
    document.insert("Stage".into(), Value::String(stage.to_owned()));
    for (metric, value) in values {
        document.insert(metric.name().into(), Value::from(*value));
    }
    Value::Object(document)
}

/// Writes the EMF document for `values` (now, in the configured stage) as one line to
/// standard output. Zero values are left out; with none left, nothing is written.
pub fn emit(values: &[(Metric, u64)], properties: &[(&str, &str)]) {
    let values: Vec<(Metric, u64)> = values.iter().copied().filter(|(_, value)| *value > 0).collect();
    if values.is_empty() {
        return;
    }
    let stage = std::env::var(STAGE_VAR).unwrap_or_else(|_| "local".into());
    let timestamp_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let document = document(&values, &stage, properties, timestamp_ms);
    #[cfg(feature = "testing")]
    if capture::record(&document) {
        return;
    }
    // One locked write of the whole line, so concurrent requests never interleave within a document.
    println!("{document}");
}

/// Tests read the documents their own thread emits instead of standard output.
#[cfg(feature = "testing")]
pub mod capture {
    use serde_json::Value;
    use std::cell::RefCell;

    thread_local! {
        static CAPTURED: RefCell<Option<Vec<Value>>> = const { RefCell::new(None) };
    }

    /// From now on, this thread's documents are kept for [`take`] instead of printed.
    pub fn start() {
        CAPTURED.with(|captured| *captured.borrow_mut() = Some(Vec::new()));
    }

    /// The documents kept since [`start`]; keeping stops.
    pub fn take() -> Vec<Value> {
        CAPTURED.with(|captured| captured.borrow_mut().take().unwrap_or_default())
    }

    pub(super) fn record(document: &Value) -> bool {
        CAPTURED.with(|captured| match captured.borrow_mut().as_mut() {
            Some(documents) => {
                documents.push(document.clone());
                true
            }
            None => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_follows_the_embedded_metric_format() {
        let document = document(
            &[(Metric::EmailsSent, 2), (Metric::Accepts, 1)],
            "prod",
            &[("requestId", "abc")],
            1_764_000_000_000,
        );
        assert_eq!(
            document,
            json!({
                "_aws": {
                    "Timestamp": 1_764_000_000_000_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "CloudHub",
                        "Dimensions": [["Stage"]],
                        "Metrics": [{ "Name": "EmailsSent", "Unit": "Count" }, { "Name": "Accepts", "Unit": "Count" }],
                    }],
                },
                "Stage": "prod",
                "EmailsSent": 2,
                "Accepts": 1,
                "requestId": "abc",
            })
        );
        // Every metric and dimension the directive names is a member of the document.
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        for metric in directive["Metrics"].as_array().unwrap() {
            assert!(document[metric["Name"].as_str().unwrap()].is_number());
        }
        for dimension in directive["Dimensions"][0].as_array().unwrap() {
            assert!(document[dimension.as_str().unwrap()].is_string());
        }
    }
}
