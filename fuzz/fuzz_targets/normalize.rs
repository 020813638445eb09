//! Fuzz target for `liaison::indicator::normalize`: it must never panic, and
//! whatever it accepts must normalise to itself.
//!
//! The first input byte picks the kind; the rest (as lossy UTF-8) is the value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use liaison::indicator::{normalize, Context, Kind, Normalized};

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
    if !idempotence_applies(&first) {
        return;
    }
    match normalize(kind, &first.value, ctx) {
        Ok(second) => assert_eq!(
            second, first,
            "{kind} not idempotent for input {input:?}"
        ),
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
    let Some(kind) = Kind::from_code(1 + selector % 13) else {
        return;
    };
    let input = String::from_utf8_lossy(rest);
    check(kind, &input, &Context::default());
    let uk = Context {
        default_country: Some("GB".to_string()),
    };
    check(kind, &input, &uk);
});
