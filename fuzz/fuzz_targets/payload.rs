//! Fuzz target for `record::decode_payload`, the validation every received
//! payload passes after its signature verified.
//!
//! Checks: no panic; a payload that decodes, signed by this node
//! (`sign_payload`, with the origin set to our key), verifies and decodes back
//! to the same payload: what a node signs, its partners accept.
// libFuzzer provides `main` under cargo-fuzz (`--cfg fuzzing`); elsewhere
// (`cargo build --workspace`) a stand-in says how to fuzz.
#![cfg_attr(fuzzing, no_main)]

use ed25519_dalek::SigningKey;
use liaison_core::record::{decode_payload, sign_payload, NodeId, RecordError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(mut payload) = decode_payload(data) else {
        return;
    };
    let key = SigningKey::from_bytes(&[7; 32]);
    payload.origin = NodeId(key.verifying_key().to_bytes());
    let signed = match sign_payload(&key, &payload) {
        Ok(signed) => signed,
        // Re-encoding may grow past the payload limit; refusing is fine.
        Err(RecordError::Oversized(_)) => return,
        Err(err) => panic!("a payload that decoded cannot be signed: {err}"),
    };
    match signed.envelope.verify() {
        Ok(record) => assert_eq!(record.payload, payload, "round trip changed the payload"),
        Err(err) => panic!("our own signed payload is refused: {err}"),
    }
});

#[cfg(not(fuzzing))]
fn main() {
    liaison_fuzz::not_fuzzing("payload");
}
