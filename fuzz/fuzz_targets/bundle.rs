//! Fuzz target for enrollment bundles, which admins receive by e-mail: the PEM
//! armour and the signed protobuf inside must never panic the parser, and a
//! bundle that verifies, raw or PEM, must survive its own round trip.
//!
//! The input is tried both as raw `SignedBundle` bytes and, as lossy UTF-8, as
//! PEM text.
// libFuzzer provides `main` under cargo-fuzz (`--cfg fuzzing`); elsewhere
// (`cargo build --workspace`) a stand-in says how to fuzz.
#![cfg_attr(fuzzing, no_main)]

use liaison_identity::identity::Bundle;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = Bundle::from_signed(data) {
        let again = Bundle::from_pem(&bundle.to_pem()).expect("own PEM parses");
        assert_eq!(again, bundle);
    }
    if let Ok(bundle) = Bundle::from_pem(&String::from_utf8_lossy(data)) {
        let again = Bundle::from_signed(&bundle.signed).expect("verified bytes verify again");
        assert_eq!(again, bundle);
    }
});

#[cfg(not(fuzzing))]
fn main() {
    liaison_fuzz::not_fuzzing("bundle");
}
