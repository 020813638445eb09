//! Fuzz target for `liaison_core::formats::stix::pattern`, the STIX pattern
//! parser that reads every indicator of an imported bundle: it must never
//! panic (nor overflow its stack: nesting is bounded), and every value it
//! finds, written back as a single comparison, must parse to that value alone.
// libFuzzer provides `main` under cargo-fuzz (`--cfg fuzzing`); elsewhere
// (`cargo build --workspace`) a stand-in says how to fuzz.
#![cfg_attr(fuzzing, no_main)]

use liaison_core::formats::stix::object_property;
use liaison_core::formats::stix::pattern::{parse, values};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(parsed) = parse(&text) else {
        return;
    };
    for (kind, value) in values(&parsed).into_iter().flatten() {
        let Some((object, property)) = object_property(kind, &value) else {
            continue;
        };
        let escaped = value.replace('\\', "\\\\").replace('\'', "\\'");
        let again = format!("[{object}:{property} = '{escaped}']");
        let reparsed = parse(&again).unwrap_or_else(|e| panic!("{again:?}: {e}"));
        assert_eq!(
            values(&reparsed),
            vec![Ok((kind, value.clone()))],
            "{again:?}"
        );
    }
});

#[cfg(not(fuzzing))]
fn main() {
    liaison_fuzz::not_fuzzing("pattern");
}
