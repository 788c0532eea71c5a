//! Build script: tests that need the real public samples are compiled as ignored, with the
//! reason, when `TRAILSCOPE_REAL_SAMPLES` is not set, so `cargo test` reports them as skipped
//! instead of passing them without testing anything.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(real_samples)");
    println!("cargo::rerun-if-env-changed=TRAILSCOPE_REAL_SAMPLES");
    if std::env::var_os("TRAILSCOPE_REAL_SAMPLES").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=real_samples");
    }
}
