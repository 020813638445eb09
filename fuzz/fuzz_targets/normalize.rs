//! Fuzz target for `liaison_core::indicator::normalize`, covering every kind's
//! normaliser (phone, email, domain, url, ip, wallet, iban, bank-account,
//! handle, jobad, phash, alias, location, network, file-hash; wallets of every
//! supported coin): it must never panic, whatever it
//! accepts must normalise to itself, and must pass `check_canonical` (the test
//! a partner applies to the value this node signs).
//!
//! The first input byte picks the kind; the rest (as lossy UTF-8) is the value.
// libFuzzer provides `main` under cargo-fuzz (`--cfg fuzzing`); elsewhere
// (`cargo build --workspace`) a stand-in says how to fuzz.
#![cfg_attr(fuzzing, no_main)]

use liaison_core::indicator::{check_canonical, normalize, Context, Kind, Normalized};
use libfuzzer_sys::fuzz_target;

/// Handles written `platform:@@name` keep one `@` after normalising, which a
/// second pass strips by design; job adverts normalise to a hash.
fn idempotence_applies(n: &Normalized) -> bool {
    match n.kind {
        Kind::JobAd => false,
        Kind::Handle => !n
            .value
            .split_once(':')
            .is_some_and(|(_, handle)| handle.starts_with('@')),
        _ => true,
    }
}

fn check(kind: Kind, input: &str, ctx: &Context) {
    let Ok(first) = normalize(kind, input, ctx) else {
        return;
    };
    if let Err(err) = check_canonical(kind, &first.value) {
        panic!(
            "{kind}: normalised value {:?} of input {input:?} is refused by partners: {err}",
            first.value
        );
    }
    if !idempotence_applies(&first) {
        return;
    }
    match normalize(kind, &first.value, ctx) {
        Ok(second) => assert_eq!(second, first, "{kind} not idempotent for input {input:?}"),
        Err(err) => panic!(
            "{kind}: normalised value {:?} of input {input:?} is rejected: {err}",
            first.value
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Some(kind) = Kind::from_code(1 + selector % Kind::ALL.len() as u8) else {
        return;
    };
    let input = String::from_utf8_lossy(rest);
    check(kind, &input, &Context::default());
    let uk = Context {
        default_country: Some("GB".to_string()),
    };
    check(kind, &input, &uk);
});

#[cfg(not(fuzzing))]
fn main() {
    liaison_fuzz::not_fuzzing("normalize");
}
