//! IDNA2008 (RFC 5891/5892) validity on top of UTS-46.
//!
//! The `idna` crate implements UTS-46, which also accepts code points that
//! IDNA2008 disallows (symbols, emoji, historic numerals: the "NV8"/"XV8"
//! entries of the UTS-46 table, e.g. `☃.net`). The shared rule asks for
//! IDNA2008 validity, so every code point of the mapped (Unicode) label must
//! also be PVALID or a CONTEXTJ/CONTEXTO code point whose context rule holds.
//!
//! PVALID is approximated by "letter, mark or number" from std and
//! `unicode-normalization`, minus [`NOT_PVALID`]: the letter/mark/number code
//! points that UTS-46 leaves unchanged but IDNA2008 disallows. That table was
//! derived by comparing every UTS-46-valid code point of `idna` 1.1 against
//! the IDNA2008 classes of Python `idna` 3.13 (Unicode 17); with it the two
//! agree on every code point. CONTEXTJ (joiners) is already checked by UTS-46.

use unicode_normalization::char::is_combining_mark;

const MIDDLE_DOT: char = '\u{B7}';
const GREEK_KERAIA: char = '\u{375}';
const HEBREW_GERESH: char = '\u{5F3}';
const HEBREW_GERSHAYIM: char = '\u{5F4}';
const KATAKANA_MIDDLE_DOT: char = '\u{30FB}';
const ARABIC_INDIC_DIGITS: (char, char) = ('\u{660}', '\u{669}');
const EXTENDED_ARABIC_INDIC_DIGITS: (char, char) = ('\u{6F0}', '\u{6F9}');
/// CONTEXTJ: ZERO WIDTH NON-JOINER and JOINER; UTS-46 CheckJoiners already
/// enforced their context before this check runs.
const JOINERS: [char; 2] = ['\u{200C}', '\u{200D}'];
/// PVALID by exception (RFC 5892 section 2.6) although not letters or digits.
const PVALID_EXCEPTIONS: [char; 3] = ['\u{6FD}', '\u{6FE}', '\u{F0B}'];

/// Letters, marks and numbers that IDNA2008 nonetheless disallows (old Hangul
/// jamo, archaic numerals, enclosed letters, a few exceptions), as inclusive ranges.
const NOT_PVALID: [(char, char); 95] = [
    ('\u{488}', '\u{489}'),
    ('\u{5C8}', '\u{5C9}'),
    ('\u{640}', '\u{640}'),
    ('\u{7FA}', '\u{7FA}'),
    ('\u{9F4}', '\u{9F9}'),
    ('\u{B53}', '\u{B54}'),
    ('\u{B72}', '\u{B77}'),
    ('\u{BF0}', '\u{BF2}'),
    ('\u{C78}', '\u{C7E}'),
    ('\u{D58}', '\u{D5E}'),
    ('\u{D70}', '\u{D78}'),
    ('\u{F2A}', '\u{F33}'),
    ('\u{1100}', '\u{11FF}'),
    ('\u{1369}', '\u{137C}'),
    ('\u{16EE}', '\u{16F0}'),
    ('\u{17F0}', '\u{17F9}'),
    ('\u{19DA}', '\u{19DA}'),
    ('\u{1ABE}', '\u{1ABE}'),
    ('\u{1ADE}', '\u{1ADF}'),
    ('\u{1AEC}', '\u{1AF0}'),
    ('\u{20D0}', '\u{20F0}'),
    ('\u{2180}', '\u{2182}'),
    ('\u{2185}', '\u{2188}'),
    ('\u{24EB}', '\u{24FF}'),
    ('\u{2776}', '\u{2793}'),
    ('\u{2CFD}', '\u{2CFD}'),
    ('\u{3021}', '\u{3029}'),
    ('\u{302E}', '\u{302F}'),
    ('\u{3031}', '\u{3035}'),
    ('\u{303B}', '\u{303B}'),
    ('\u{3248}', '\u{324F}'),
    ('\u{A670}', '\u{A672}'),
    ('\u{A6E6}', '\u{A6EF}'),
    ('\u{A830}', '\u{A835}'),
    ('\u{A960}', '\u{A97C}'),
    ('\u{D7B0}', '\u{D7FB}'),
    ('\u{10107}', '\u{10133}'),
    ('\u{10140}', '\u{10178}'),
    ('\u{1018A}', '\u{1018B}'),
    ('\u{102E1}', '\u{102FB}'),
    ('\u{10320}', '\u{10323}'),
    ('\u{10341}', '\u{10341}'),
    ('\u{1034A}', '\u{1034A}'),
    ('\u{103D1}', '\u{103D5}'),
    ('\u{10858}', '\u{1085F}'),
    ('\u{10879}', '\u{1087F}'),
    ('\u{108A7}', '\u{108AF}'),
    ('\u{108FB}', '\u{108FF}'),
    ('\u{10916}', '\u{1091B}'),
    ('\u{109BC}', '\u{109BD}'),
    ('\u{109C0}', '\u{109FF}'),
    ('\u{10A40}', '\u{10A48}'),
    ('\u{10A7D}', '\u{10A7E}'),
    ('\u{10A9D}', '\u{10A9F}'),
    ('\u{10AEB}', '\u{10AEF}'),
    ('\u{10B58}', '\u{10B5F}'),
    ('\u{10B78}', '\u{10B7F}'),
    ('\u{10BA9}', '\u{10BAF}'),
    ('\u{10CFA}', '\u{10CFF}'),
    ('\u{10E60}', '\u{10E7E}'),
    ('\u{10ECB}', '\u{10ECF}'),
    ('\u{10EF0}', '\u{10EF9}'),
    ('\u{10F1D}', '\u{10F26}'),
    ('\u{10F51}', '\u{10F54}'),
    ('\u{10FC5}', '\u{10FCB}'),
    ('\u{11052}', '\u{11065}'),
    ('\u{111E1}', '\u{111F4}'),
    ('\u{1173A}', '\u{1173B}'),
    ('\u{118EA}', '\u{118F2}'),
    ('\u{11C5A}', '\u{11C6C}'),
    ('\u{11DF0}', '\u{11DF0}'),
    ('\u{11FC0}', '\u{11FD4}'),
    ('\u{12400}', '\u{1246E}'),
    ('\u{16B5B}', '\u{16B61}'),
    ('\u{16E80}', '\u{16E96}'),
    ('\u{16FF4}', '\u{16FF6}'),
    ('\u{1D127}', '\u{1D128}'),
    ('\u{1D165}', '\u{1D169}'),
    ('\u{1D16D}', '\u{1D182}'),
    ('\u{1D185}', '\u{1D18B}'),
    ('\u{1D1AA}', '\u{1D1AD}'),
    ('\u{1D242}', '\u{1D244}'),
    ('\u{1D250}', '\u{1D252}'),
    ('\u{1D25B}', '\u{1D25C}'),
    ('\u{1D25F}', '\u{1D25F}'),
    ('\u{1D280}', '\u{1D2F3}'),
    ('\u{1D360}', '\u{1D378}'),
    ('\u{1E8C7}', '\u{1E8CF}'),
    ('\u{1EC71}', '\u{1ECAB}'),
    ('\u{1ECAD}', '\u{1ECAF}'),
    ('\u{1ECB1}', '\u{1ED2D}'),
    ('\u{1ED2F}', '\u{1ED3D}'),
    ('\u{1F10B}', '\u{1F10C}'),
    ('\u{1F150}', '\u{1F169}'),
    ('\u{1F170}', '\u{1F189}'),
];

/// Checks one mapped (Unicode) label; `Err` names the offending character.
pub(super) fn check_label(label: &str) -> Result<(), String> {
    let chars: Vec<char> = label.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let ok = match c {
            MIDDLE_DOT => i > 0 && chars.get(i - 1) == Some(&'l') && chars.get(i + 1) == Some(&'l'),
            GREEK_KERAIA => chars.get(i + 1).is_some_and(|&next| is_greek(next)),
            HEBREW_GERESH | HEBREW_GERSHAYIM => {
                i > 0 && chars.get(i - 1).is_some_and(|&prev| is_hebrew(prev))
            }
            KATAKANA_MIDDLE_DOT => chars
                .iter()
                .any(|&other| other != KATAKANA_MIDDLE_DOT && is_kana_or_han(other)),
            _ => JOINERS.contains(&c) || is_pvalid(c),
        };
        if !ok {
            return Err(format!(
                "contains {c:?}, which IDNA2008 does not allow here"
            ));
        }
    }
    let has = |(lo, hi): (char, char)| chars.iter().any(|c| (lo..=hi).contains(c));
    if has(ARABIC_INDIC_DIGITS) && has(EXTENDED_ARABIC_INDIC_DIGITS) {
        return Err("mixes Arabic-Indic and extended Arabic-Indic digits".to_string());
    }
    Ok(())
}

fn is_pvalid(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
    }
    let letter_mark_or_number = c.is_alphanumeric() || is_combining_mark(c);
    (letter_mark_or_number || PVALID_EXCEPTIONS.contains(&c)) && !in_ranges(c, &NOT_PVALID)
}

fn in_ranges(c: char, ranges: &[(char, char)]) -> bool {
    ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c))
}

fn is_greek(c: char) -> bool {
    in_ranges(c, &[('\u{370}', '\u{3FF}'), ('\u{1F00}', '\u{1FFF}')])
}

fn is_hebrew(c: char) -> bool {
    in_ranges(c, &[('\u{591}', '\u{5F4}'), ('\u{FB1D}', '\u{FB4F}')])
}

fn is_kana_or_han(c: char) -> bool {
    in_ranges(
        c,
        &[
            ('\u{2E80}', '\u{2FDF}'),
            ('\u{3005}', '\u{3007}'),
            ('\u{3021}', '\u{3029}'),
            ('\u{3038}', '\u{303B}'),
            ('\u{3041}', '\u{30FF}'),
            ('\u{31F0}', '\u{31FF}'),
            ('\u{3400}', '\u{4DBF}'),
            ('\u{4E00}', '\u{9FFF}'),
            ('\u{F900}', '\u{FAFF}'),
            ('\u{1B000}', '\u{1B16F}'),
            ('\u{20000}', '\u{3FFFF}'),
        ],
    )
}
