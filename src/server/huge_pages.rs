//! Transparent huge pages, off for the server process unless asked for.
//!
//! The allocator (mimalloc) asks the kernel for huge pages on its arenas.
//! A 2 MiB page is resident, and counted in RSS, as soon as one byte of it
//! is touched, so a server whose memory is many small per-connection
//! pieces holds more than it uses, and how much more varies from run to
//! run. Measured with 15,000 idle sockets (docs/BENCHMARKS.md): 132-160 MiB
//! with huge pages, 108-141 MiB without; the price is a slower history page
//! at the tail (p99 0.8 to about 1.1 ms), from more page faults.
//! `CHAT_HUGE_PAGES=true` keeps them.

/// Turns transparent huge pages off for this process (and its children)
/// unless `CHAT_HUGE_PAGES` is `true` or `1`. Returns whether they are off.
/// Pages already faulted in keep their size; call it first thing.
pub fn configure_from_env() -> bool {
    let keep = std::env::var("CHAT_HUGE_PAGES")
        .map(|v| matches!(v.trim(), "1" | "true"))
        .unwrap_or(false);
    if keep {
        return false;
    }
    disable()
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn disable() -> bool {
    // SAFETY: prctl(PR_SET_THP_DISABLE) takes plain integers and only sets
    // a flag on this process; it touches no memory of ours.
    unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0 }
}

#[cfg(not(target_os = "linux"))]
fn disable() -> bool {
    false
}
