//! argon2id at the parameters CloudHub hashes passwords with (19 MiB, 2 passes, 1 lane): the
//! median time to hash and to verify, and how much the process's peak resident memory grows
//! (after the first hash and verify, and after all rounds).
//! Prints one JSON line for `infra/bench`. Run: `cargo bench -p cloudhub --bench argon2`.

use cloudhub::domain::{Password, PasswordPolicy};
use std::time::{Duration, Instant};

const ROUNDS: usize = 15;

/// The process's peak resident set (VmHWM), in KiB; Linux only.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn median(mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    samples[samples.len() / 2].as_secs_f64() * 1000.0
}

fn password() -> Password {
    Password::parse("a benchmark password".into(), PasswordPolicy::New).expect("a valid password")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let before = peak_rss_kib();
    let mut hashing = Vec::with_capacity(ROUNDS);
    let mut verifying = Vec::with_capacity(ROUNDS);
    let mut after_first = None;
    for round in 0..ROUNDS {
        let started = Instant::now();
        let hash = password().hash().await?;
        hashing.push(started.elapsed());
        let started = Instant::now();
        assert!(hash.verify(password()).await?, "a hash verifies its own password");
        verifying.push(started.elapsed());
        if round == 0 {
            after_first = peak_rss_kib();
        }
    }
    let growth_mib = |after: Option<u64>| match (before, after) {
        (Some(before), Some(after)) => serde_json::json!((after.saturating_sub(before)) as f64 / 1024.0),
        _ => serde_json::Value::Null,
    };
    println!(
        "{}",
        serde_json::json!({
            "parameters": "argon2id m=19456 KiB, t=2, p=1",
            "rounds": ROUNDS,
            "hash_ms": median(hashing),
            "verify_ms": median(verifying),
            "peak_rss_growth_first_mib": growth_mib(after_first),
            "peak_rss_growth_mib": growth_mib(peak_rss_kib()),
        })
    );
    Ok(())
}
