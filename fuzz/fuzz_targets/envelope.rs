//! Fuzz target for the path every byte from a partner takes: decode a wire
//! envelope, check its shape, verify its signature, decode and validate the
//! payload. It must never panic, and anything that verifies must round-trip.
// libFuzzer provides `main` under cargo-fuzz (`--cfg fuzzing`); elsewhere
// (`cargo build --workspace`) a stand-in says how to fuzz.
#![cfg_attr(fuzzing, no_main)]

use liaison_core::proto;
use liaison_core::record::Envelope;
use libfuzzer_sys::fuzz_target;
use prost::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(wire) = proto::Envelope::decode(data) else {
        return;
    };
    let Ok(envelope) = Envelope::from_wire(wire) else {
        return;
    };
    let id = envelope.id();
    if let Ok(record) = envelope.verify() {
        assert_eq!(record.id, id);
        let again = Envelope::from_wire(record.envelope.to_wire()).expect("shape");
        assert_eq!(again.id(), id);
    }
});

#[cfg(not(fuzzing))]
fn main() {
    liaison_fuzz::not_fuzzing("envelope");
}
