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

/// Whether llama.cpp repacks the quantised weights for its faster prefill kernels by default.
///
/// Repacking keeps a second, anonymous copy of the repacked weights while the memory-mapped
/// file stays resident too. Phones kill apps for memory long before they run out of cores,
/// and decode (most of an answer's time) reads the same bytes either way: on iOS and Android
/// the weights are used as mapped. Desktops have the memory and gain prefill speed.
/// Measured on the 0.5B and 1.5B in docs/BENCHMARKS.md ("Memory levers").
pub fn default_repack() -> bool {
    !cfg!(any(target_os = "ios", target_os = "android"))
}

/// Whether the KV cache is kept in 8 bits by default: on phones, where it decides whether the
/// 1.5B with a 4,096-token context stays within its memory budget (docs/BENCHMARKS.md,
/// "Memory levers"); desktops keep 16-bit floats.
pub fn default_kv_q8() -> bool {
    cfg!(any(target_os = "ios", target_os = "android"))
}

/// Tokens computed in one step of a prefill (llama.cpp's micro-batch). The compute buffer
/// grows with it; prefill speed barely does above 128 on phones' narrower cores.
pub fn default_ubatch() -> u32 {
    if cfg!(any(target_os = "ios", target_os = "android")) {
        256
    } else {
        512
    }
}

/// A CPU feature the engine's ggml was compiled to use and this processor lacks, if any.
///
/// Phone builds compile ggml with the Arm int8 dot product (`.cargo/config.toml`,
/// docs/PHONES.md): on a phone without it (iPhones before the A13, Cortex-A53/A73 phones) any
/// model computation would stop the app with an illegal instruction. Checked before a model is
/// loaded, so the person gets an error that names the problem instead.
pub fn missing_cpu_feature() -> Option<&'static str> {
    #[cfg(all(target_arch = "aarch64", any(target_os = "ios", target_os = "android")))]
    {
        // iOS: std reads the `hw.optional.arm.FEAT_DotProd` sysctl, present from iOS 15 (the
        // app's minimum, tauri.conf.json); Android: the kernel's HWCAP_ASIMDDP.
        if !std::arch::is_aarch64_feature_detected!("dotprod") {
            return Some("the Arm int8 dot product (dotprod, Armv8.2 and later: iPhone XS/A12 and older, and phones with only Cortex-A53/A73 cores lack it)");
        }
    }
    None
}
