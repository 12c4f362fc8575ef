//! Settings of the core that come from the environment, read once per process.

use std::sync::OnceLock;

/// How many lines of shell trace a verdict's context holds unless asked otherwise.
pub const DEFAULT_CONTEXT_DEPTH: usize = 12;

/// Threads for work that splits across cores: `LOGSORTER_THREADS` when set
/// (1 gives the single-thread figures of the benchmarks), else the machine's
/// cores.
pub fn worker_threads() -> usize {
    static THREADS: OnceLock<usize> = OnceLock::new();
    *THREADS.get_or_init(|| {
        std::env::var("LOGSORTER_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
    })
}
