//! argon2id's 19 MiB block array must not pile up in the allocator. A warm log-in or accept
//! function hashes once per request; with glibc's dynamic mmap threshold each hash used to leave
//! its block array resident (120 to 220 MiB after 16 requests), until `password.rs` pinned the
//! threshold. The only test in this binary, so that no other test's memory counts.

/// The process's peak resident set (VmHWM), in KiB.
#[cfg(target_os = "linux")]
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status is readable");
    let line = status
        .lines()
        .find(|line| line.starts_with("VmHWM:"))
        .expect("a VmHWM line");
    line.split_whitespace()
        .nth(1)
        .and_then(|kib| kib.parse().ok())
        .expect("VmHWM in kB")
}

#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peak_memory_stays_flat_over_many_hashes() {
    use cloudhub::domain::{Password, PasswordPolicy};
    let password = || Password::parse("a memory test password".into(), PasswordPolicy::New).unwrap();
    // Like requests of one warm function: each hashes (accept) or verifies (log-in) once.
    let mut requests = Vec::new();
    for _ in 0..10 {
        let hash = password().hash().await.unwrap();
        assert!(hash.verify(password()).await.unwrap());
        requests.push(peak_rss_kib());
    }
    let growth_mib = (requests[9] - requests[0]) as f64 / 1024.0;
    assert!(
        growth_mib < 10.0,
        "peak memory grew by {growth_mib:.1} MiB over 9 more hashes and verifies (KiB after each: {requests:?})"
    );
}
