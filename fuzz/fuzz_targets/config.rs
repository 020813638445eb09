//! Fuzz target for `Config::from_toml`, which reads the operator-edited
//! `config.toml`: it must never panic, and an accepted config must survive its
//! own `to_toml` round trip unchanged.
// libFuzzer provides `main` under cargo-fuzz (`--cfg fuzzing`); elsewhere
// (`cargo build --workspace`) a stand-in says how to fuzz.
#![cfg_attr(fuzzing, no_main)]

use liaison_server::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(config) = Config::from_toml(&text) else {
        return;
    };
    let written = config.to_toml();
    match Config::from_toml(&written) {
        Ok(again) => assert_eq!(again, config, "round trip changed the config"),
        Err(err) => panic!("own output {written:?} is refused: {err}"),
    }
});

#[cfg(not(fuzzing))]
fn main() {
    liaison_fuzz::not_fuzzing("config");
}
