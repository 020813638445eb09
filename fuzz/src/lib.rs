//! What the fuzz targets share. Owns only the stand-in `main` a target has
//! when built without cargo-fuzz (`cargo build --workspace`): cargo-fuzz
//! builds with `--cfg fuzzing`, where libFuzzer provides `main`. It must never
//! hold fuzzing logic: each target's checks stay in its own file.

/// The `main` of a target built without cargo-fuzz: says how to fuzz it.
pub fn not_fuzzing(target: &str) {
    eprintln!(
        "{target}: built without libFuzzer; fuzz it with \
         `cargo +nightly fuzz run --features libfuzzer {target}` (see fuzz/README.md)"
    );
    std::process::exit(2);
}
