//! Settings of the core that no ruleset or upload carries: the default
//! context depth, and how many threads work on one large input.

use std::sync::OnceLock;

/// How many `+` lines (shell trace) a verdict carries when the caller does
/// not say; the binding's signatures and `logsorter._core` share it.
pub const DEFAULT_CONTEXT_DEPTH: usize = 12;

/// How many threads may work on one log or upload: `LOGSORTER_THREADS` when
/// set to a number (1 gives the single-thread figures of the benchmarks), else
/// the machine's cores. Read on first use only: a process keeps one setting,
/// and a classification does not pay for an environment lookup.
pub fn threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::env::var("LOGSORTER_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
            .max(1)
    })
}
