//! Tests of what an import reports: CRLF row numbers, file-level errors, the
//! "not carried" report and the provenance the readers keep.

use super::tests::split;
use super::*;

#[test]
fn csv_rows_are_numbered_by_line_with_crlf_as_with_lf() {
    let lf = "kind,value\nphone,+44 7700 900123\nphone,\nphone,+44 7700 900124\ndomain,\n";
    let crlf = lf.replace('\n', "\r\n");
    for text in [lf.to_string(), crlf] {
        let got = split(csv::read(text.as_bytes()));
        let rows: Vec<String> = got.errors.iter().map(|e| e.location.to_string()).collect();
        assert_eq!(rows, ["row 3", "row 5"], "{text:?}");
        assert_eq!(got.items.len(), 2);
    }
}

#[test]
fn crlf_reader_keeps_every_byte_but_the_cr_of_crlf() {
    use std::io::Read;
    let cases: [(&[u8], &[u8]); 5] = [
        (b"a\r\nb\r\n", b"a\nb\n"),
        (b"a\rb\r", b"a\rb\r"),
        (b"\r\r\n\n", b"\r\n\n"),
        (b"\"x\r\ny\"\r\n", b"\"x\ny\"\n"),
        (b"", b""),
    ];
    for (input, want) in cases {
        let mut out = Vec::new();
        csv::CrLfToLf(std::io::BufReader::with_capacity(1, input))
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, want, "{:?}", String::from_utf8_lossy(input));
    }
}

proptest::proptest! {
    /// Whatever mix of LF and CRLF ends the lines, a bad row is reported with
    /// the line it is on.
    #[test]
    fn csv_error_rows_are_line_numbers_whatever_the_line_ends(
        rows in proptest::collection::vec((proptest::bool::ANY, proptest::bool::ANY), 1..40),
    ) {
        let mut text = String::from("kind,value\r\n");
        let mut bad_lines = Vec::new();
        for (index, (bad, crlf)) in rows.iter().enumerate() {
            let value = if *bad { "" } else { "+44 7700 900123" };
            text.push_str(&format!("phone,{value}{}", if *crlf { "\r\n" } else { "\n" }));
            if *bad {
                bad_lines.push(format!("row {}", index + 2));
            }
        }
        let got = split(csv::read(text.as_bytes()));
        let rows: Vec<String> = got.errors.iter().map(|e| e.location.to_string()).collect();
        proptest::prop_assert_eq!(rows, bad_lines);
    }
}
