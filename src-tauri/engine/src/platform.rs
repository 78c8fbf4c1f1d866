//! Every platform difference of the engine lives here.

/// Threads for inference when the caller does not choose.
///
/// Inference is memory-bound and suffers badly from oversubscription, so this counts
/// performance cores, not logical ones:
/// - iOS: the iPhone's performance cluster has 2 cores;
/// - Android: big+prime cores are typically 4 of 8;
/// - desktop: physical cores (SMT siblings share the same FPUs and memory bandwidth).
///
/// The engine reads no environment variables: the CLI and the app pass their own choice
/// (`--threads`, `MURMUR_THREADS`, the settings screen) as an explicit thread count.
pub fn default_threads() -> usize {
    let physical = num_cpus::get_physical().max(1);
    if cfg!(target_os = "ios") {
        physical.min(2)
    } else if cfg!(target_os = "android") {
        physical.min(4)
    } else {
        physical.min(8)
    }
}
