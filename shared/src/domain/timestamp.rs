//! The one form of every timestamp in an answer: RFC 3339 in UTC with milliseconds,
//! `2026-11-24T09:30:00.000Z`. Answers use it through `#[serde(serialize_with = ...)]`; stored
//! items keep their own (`time::serde::rfc3339`), so nothing stored changes.

use serde::Serializer;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// `at` in UTC with milliseconds (sub-millisecond digits dropped), e.g. `2026-11-24T09:30:00.000Z`.
pub fn format(at: OffsetDateTime) -> String {
    let utc = at.to_offset(UtcOffset::UTC);
    // Years outside 0000..=9999 are not RFC 3339; the clock never makes them.
    utc.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .unwrap_or_default()
}

/// Serializes a timestamp of an answer (`#[serde(serialize_with = "...::timestamp::serialize")]`).
pub fn serialize<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format(*at))
}

/// Serializes an optional timestamp of an answer: `null` when absent.
pub fn serialize_option<S: Serializer>(at: &Option<OffsetDateTime>, serializer: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serialize(at, serializer),
        None => serializer.serialize_none(),
    }
}

/// Whether `text` has the form of [`format`]: `YYYY-MM-DDThh:mm:ss.sssZ` (what `infra/openapi.yaml`'s
/// `Timestamp` pattern says).
pub fn is_formatted(text: &str) -> bool {
    let bytes = text.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:dd.dddZ";
    bytes.len() == shape.len()
        && bytes.iter().zip(shape).all(|(byte, expected)| match expected {
            b'd' => byte.is_ascii_digit(),
            other => byte == other,
        })
        && time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn answers_show_utc_with_milliseconds() {
        assert_eq!(format(datetime!(2026-11-24 09:30:00 UTC)), "2026-11-24T09:30:00.000Z");
        assert_eq!(
            format(datetime!(2026-11-24 09:30:00.123456789 UTC)),
            "2026-11-24T09:30:00.123Z"
        );
        assert_eq!(
            format(datetime!(2026-11-24 10:30:00.5 +01:00)),
            "2026-11-24T09:30:00.500Z"
        );
    }

    #[test]
    fn only_the_answer_form_is_recognised() {
        assert!(is_formatted("2026-11-24T09:30:00.000Z"));
        for other in [
            "2026-11-24T09:30:00Z",
            "2026-11-24T09:30:00.000+00:00",
            "2026-11-24T09:30:00.123456Z",
            "2026-13-24T09:30:00.000Z",
            "2026-11-24 09:30:00.000Z",
        ] {
            assert!(!is_formatted(other), "{other}");
        }
    }
}
