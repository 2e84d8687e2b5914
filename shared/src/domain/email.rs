use super::InvalidValue;
use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use serde::{Deserialize, Deserializer, Serialize};

/// An email address SES can deliver to, in its one canonical form: an ASCII dot-atom local part
/// and an LDH domain (an internationalised one in Punycode), lower-cased. One mailbox has one
/// spelling, so it can hold only one account and one pending invitation per customer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct Email(String);

impl Email {
    /// RFC 5321's limit on a forward path.
    const MAX_LEN: usize = 254;
    /// RFC 5321's limit on a local part, in octets.
    const MAX_LOCAL_LEN: usize = 64;
    /// RFC 1035's limit on a label, in octets.
    const MAX_LABEL_LEN: usize = 63;
    /// RFC 1035's limit on a domain name written out, without the root's dot.
    const MAX_DOMAIN_LEN: usize = 253;

    /// Accepts `local@domain.tld` after trimming: the local part ASCII dot-atom (no quoted
    /// strings, comments or non-ASCII letters), the domain two or more LDH labels whose last is
    /// not all digits; a Unicode domain is mapped by IDNA (UTS 46) to its Punycode form.
    /// Refuses everything else with `invalid-email`.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let candidate = raw.trim();
        let refuse = || InvalidValue::new("invalid-email", format!("`{candidate}` is not a valid email address."));
        // Generous for a Unicode domain that shrinks to Punycode; spares IDNA a long input.
        if candidate.len() > 4 * Self::MAX_LEN {
            return Err(refuse());
        }
        // A dot-atom has no `@`, so the address's only `@` splits it.
        let Some((local, domain)) = candidate.split_once('@') else {
            return Err(refuse());
        };
        if !is_dot_atom(local) || local.len() > Self::MAX_LOCAL_LEN {
            return Err(refuse());
        }
        let domain = ascii_domain(domain).ok_or_else(refuse)?;
        let address = format!("{}@{domain}", local.to_ascii_lowercase());
        if address.len() > Self::MAX_LEN {
            return Err(refuse());
        }
        Ok(Self(address))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// RFC 5322's dot-atom: runs of atext joined by single dots. Its atext is ASCII only; quoted
/// strings and comments, which would spell one mailbox several ways, are not dot-atoms.
fn is_dot_atom(local: &str) -> bool {
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    !local.is_empty() && local.split('.').all(|atom| !atom.is_empty() && atom.chars().all(atext))
}

/// The domain in lower-case ASCII, Unicode labels in Punycode, if it is a host name mail can go
/// to: LDH labels of 1 to 63 octets, at least two, the last not all digits (that would be an
/// IP address), no domain literal and no trailing dot.
fn ascii_domain(domain: &str) -> Option<String> {
    // UTS 46 maps what is one domain in several spellings (case, full-width forms, Unicode or
    // Punycode) to one, and refuses what no registry may hand out (STD3: only LDH once mapped).
    let ascii = Uts46::new()
        .to_ascii(
            domain.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::CheckFirstLast,
            DnsLength::Verify,
        )
        .ok()?;
    let labels: Vec<&str> = ascii.split('.').collect();
    let ldh = |label: &&str| {
        (1..=Email::MAX_LABEL_LEN).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let top_level = labels.last()?;
    (labels.len() >= 2
        && labels.iter().all(ldh)
        && !top_level.bytes().all(|b| b.is_ascii_digit())
        && ascii.len() <= Email::MAX_DOMAIN_LEN)
        .then(|| ascii.into_owned())
}

impl<'de> Deserialize<'de> for Email {
    /// Reads an address as stored. Stored addresses were parsed when they were written, and an
    /// item written under earlier, looser rules must stay readable (a refusal here would fail
    /// every list that holds it), so the stored spelling is kept as it is, matching its keys.
    /// Request input never comes this way: handlers parse it with [`Email::parse`].
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let stored = String::deserialize(deserializer)?;
        if stored.is_empty() {
            return Err(serde::de::Error::custom("an email address is empty"));
        }
        Ok(Self(stored))
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(raw: &str) -> String {
        Email::parse(raw)
            .unwrap_or_else(|e| panic!("{raw:?} should be accepted: {e}"))
            .as_str()
            .to_owned()
    }

    fn assert_refused(raw: &str) {
        let err = Email::parse(raw).expect_err(&format!("{raw:?} should be refused"));
        assert_eq!(err.code, "invalid-email", "{raw:?}");
    }

    #[test]
    fn valid_addresses_are_accepted_and_lower_cased() {
        assert_eq!(canonical("Anna.Schmidt@Example.COM"), "anna.schmidt@example.com");
        assert_eq!(canonical("  a+tag@sub.example.de "), "a+tag@sub.example.de");
    }

    #[test]
    fn every_atext_character_and_single_dots_make_a_local_part() {
        assert_eq!(
            canonical("a!#$%&'*+-/=?^_`{|}~z@example.com"),
            "a!#$%&'*+-/=?^_`{|}~z@example.com"
        );
        assert_eq!(
            canonical("first.middle.last@example.com"),
            "first.middle.last@example.com"
        );
    }

    #[test]
    fn tags_and_dots_are_kept_as_typed_only_case_is_folded() {
        // Syntax canonicalisation only: whether a provider ignores dots or tags is its business.
        assert_eq!(canonical("A.Nna+News@Example.com"), "a.nna+news@example.com");
        assert_ne!(canonical("a.nna@example.com"), canonical("anna@example.com"));
    }

    #[test]
    fn non_ascii_local_parts_are_refused() {
        for raw in [
            "jürgen@example.com",
            "юзер@example.com",
            "用户@example.com",
            "ａnna@example.com",
        ] {
            assert_refused(raw);
        }
    }

    #[test]
    fn quoted_local_parts_and_comments_are_refused() {
        // `"same-x"@example.com` is the mailbox `same-x@example.com` spelt another way.
        for raw in [
            r#""same-x"@example.com"#,
            r#""anna schmidt"@example.com"#,
            r#""a@b"@example.com"#,
            "anna(comment)@example.com",
            "(comment)anna@example.com",
            "anna@(comment)example.com",
            "anna@example.com(comment)",
        ] {
            assert_refused(raw);
        }
    }

    #[test]
    fn misplaced_dots_in_the_local_part_are_refused() {
        for raw in [
            ".anna@example.com",
            "anna.@example.com",
            "an..na@example.com",
            ".@example.com",
        ] {
            assert_refused(raw);
        }
    }

    #[test]
    fn local_parts_are_at_most_64_octets() {
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(64))).is_ok());
        assert_refused(&format!("{}@example.com", "a".repeat(65)));
    }

    #[test]
    fn domains_must_be_ldh_host_names_of_two_labels_or_more() {
        for raw in [
            "anna@localhost",
            "anna@[127.0.0.1]",
            "anna@[IPv6:::1]",
            "anna@127.0.0.1",
            "anna@example.123",
            "anna@-example.com",
            "anna@example-.com",
            "anna@exa_mple.com",
            "anna@exa mple.com",
            "anna@example..com",
            "anna@.example.com",
            "anna@example.com.",
            "anna@example.com-",
            &format!("anna@{}.com", "a".repeat(64)),
        ] {
            assert_refused(raw);
        }
        assert_eq!(canonical("anna@a-b.c-d.example"), "anna@a-b.c-d.example");
        assert_eq!(canonical("anna@123.example"), "anna@123.example");
        assert_eq!(
            canonical(&format!("anna@{}.com", "a".repeat(63))),
            format!("anna@{}.com", "a".repeat(63))
        );
    }

    #[test]
    fn international_domains_are_converted_to_punycode() {
        assert_eq!(canonical("x@bücher.example"), "x@xn--bcher-kva.example");
        assert_eq!(canonical("x@BÜCHER.example"), "x@xn--bcher-kva.example");
        assert_eq!(canonical("x@xn--bcher-kva.example"), "x@xn--bcher-kva.example");
        assert_eq!(canonical("x@XN--BCHER-KVA.Example"), "x@xn--bcher-kva.example");
        assert_eq!(canonical("x@пример.рф"), "x@xn--e1afmkfd.xn--p1ai");
        // Full-width letters are the same domain to IDNA.
        assert_eq!(canonical("x@ｅｘａｍｐｌｅ.com"), "x@example.com");
    }

    #[test]
    fn domains_idna_cannot_map_are_refused() {
        for raw in [
            "x@xn--.example",
            "x@xn--a.example",
            "x@xn--55555577.example",
            "x@ex\u{202e}ample.com",
            "x@exa/mple.com",
        ] {
            assert_refused(raw);
        }
    }

    #[test]
    fn a_canonical_address_parses_to_itself() {
        for raw in [
            "Anna.Schmidt@Example.COM",
            "x@bücher.example",
            "admin@acme.example",
            "a+tag@sub.example.de",
        ] {
            let once = canonical(raw);
            assert_eq!(canonical(&once), once, "{raw:?}");
        }
    }

    #[test]
    fn invalid_addresses_are_refused_with_a_stable_code() {
        for raw in [
            "",
            "   ",
            "plainaddress",
            "@example.com",
            "anna@",
            "anna@@example.com",
            "an@na@example.com",
            "Anna <anna@example.com>",
            "anna example@example.com",
            "anna\u{0}@example.com",
        ] {
            assert_refused(raw);
        }
    }

    #[test]
    fn overlong_addresses_are_refused() {
        let raw = format!(
            "{}@{}.{}.{}.example",
            "a".repeat(64),
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(63)
        );
        assert!(raw.len() > 254);
        assert_refused(&raw);
    }

    #[test]
    fn stored_addresses_read_back_as_stored() {
        // Written under earlier rules: readable, though no longer accepted as input.
        let stored: Email = serde_json::from_str(r#""jürgen@example.com""#).unwrap();
        assert_eq!(stored.as_str(), "jürgen@example.com");
        assert!(serde_json::from_str::<Email>(r#""""#).is_err());
    }
}
