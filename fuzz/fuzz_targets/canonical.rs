//! Fuzz target for the receiving side of indicator values: a partner's record
//! carries a value that must already be canonical (`check_canonical`), and a
//! search without a kind tries every normaliser (`normalize_any`).
//!
//! Checks: no panic; whatever `check_canonical` accepts is a fixed point of
//! `normalize`; every interpretation `normalize_any` returns is canonical, so a
//! value this node would sign is one every partner accepts.
//!
//! The first input byte picks the kind; the rest (as lossy UTF-8) is the value.
// libFuzzer provides `main` under cargo-fuzz (`--cfg fuzzing`); elsewhere
// (`cargo build --workspace`) a stand-in says how to fuzz.
#![cfg_attr(fuzzing, no_main)]

use liaison_core::indicator::{check_canonical, normalize, normalize_any, Context, Kind};
use libfuzzer_sys::fuzz_target;

fn handle_keeps_marker(kind: Kind, value: &str) -> bool {
    kind == Kind::Handle
        && value
            .split_once(':')
            .is_some_and(|(_, handle)| handle.starts_with('@'))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Some(kind) = Kind::from_code(1 + selector % 13) else {
        return;
    };
    let value = String::from_utf8_lossy(rest);
    if let Ok(checked) = check_canonical(kind, &value) {
        assert_eq!(
            checked.value, value,
            "{kind}: check_canonical changed the value"
        );
        // A job-ad value is the fingerprint, not the advert text normalize takes;
        // `platform:@name` is canonical (from `@@name`) but loses its `@` again.
        if kind != Kind::JobAd && !handle_keeps_marker(kind, &value) {
            let again = normalize(kind, &value, &Context::default());
            assert!(
                again.is_ok(),
                "{kind}: canonical {value:?} fails normalize: {again:?}"
            );
        }
    }
    let uk = Context {
        default_country: Some("GB".to_string()),
    };
    for ctx in [Context::default(), uk] {
        for found in normalize_any(&value, &ctx) {
            if let Err(err) = check_canonical(found.kind, &found.value) {
                panic!(
                    "normalize_any({value:?}) gave {} {:?}, which a partner refuses: {err}",
                    found.kind, found.value
                );
            }
        }
    }
});

#[cfg(not(fuzzing))]
fn main() {
    liaison_fuzz::not_fuzzing("canonical");
}
