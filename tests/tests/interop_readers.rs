//! Issue 24 items 6, 7 and 10 through a real node: a MISP event shaped like a
//! MISP instance's export (composite types, variants, objects) and a STIX
//! bundle shaped like MISP's STIX 2.1 export (network-traffic, email-message,
//! domain|ip and OR patterns) imported with every row accounted for; and the
//! STIX export's own extension definitions checked both ways: the bundle by
//! the OASIS validator, and the objects its patterns name, built as SCOs, by
//! the JSON schemas shipped in docs/stix/extensions (and by the validator).

use crate::common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::python::{python, run_python};
use common::TestNode;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/core/src/formats/testdata")
        .join(name)
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn count(summary: &serde_json::Value, what: &str) -> u64 {
    common::int_opt(&summary[what]).unwrap_or_else(|| panic!("{what} in {summary}"))
}

#[test]
fn misp_objects_and_composites_and_misp_style_stix_patterns_import() {
    let mut node = TestNode::init("Agency Readers (example)");
    node.start();
    let rejects = node.tmp.path().join("rejects.tsv");

    let misp = fixture("objects.misp.json");
    let text = node.cli_ok(&["import", path(&misp), "--rejects", path(&rejects)]);
    // 15 values; trade-desk.example.org twice (a domain-ip object and a url
    // object's host); the non-numeric port rejected; four object attributes
    // of no kind (text, port) skipped.
    assert!(
        text.contains("imported 14, already present 1, rejected 1, skipped 4"),
        "{text}"
    );
    assert!(
        text.contains("normalised 1 value(s) as read")
            && text.contains("url: no scheme; http:// assumed"),
        "{text}"
    );
    let listed = std::fs::read_to_string(&rejects).expect("rejects file");
    assert!(
        listed.contains("port \\\"http\\\"") || listed.contains("port \"http\""),
        "{listed}"
    );
    assert!(
        listed.contains("relation \\\"holder-name\\\"")
            || listed.contains("relation \"holder-name\""),
        "{listed}"
    );
    for value in [
        "192.0.2.44",
        "invest-now.example.org",
        "http://invest-now.example.org/signup",
    ] {
        assert_eq!(node.search_ids(value).len(), 1, "{value} stored");
    }
    let found = node.cli_json(&["search", "192.0.2.45"]);
    assert!(
        found.to_string().contains("(port 8443)"),
        "port kept: {found}"
    );

    let stix = fixture("patterns.stix.json");
    let summary = node.cli_json(&["import", path(&stix)]);
    // 13 values (a SHA-256 file hash among them), the unterminated pattern
    // rejected; the grouping and three unsupported patterns skipped.
    assert_eq!(count(&summary, "imported"), 13, "{summary}");
    assert_eq!(count(&summary, "alreadyPresent"), 0, "{summary}");
    assert_eq!(count(&summary, "rejected"), 1, "{summary}");
    assert_eq!(count(&summary, "skipped"), 4, "{summary}");
    for value in [
        "192.0.2.50",
        "2001:db8::50",
        "boss@example.org",
        "b.example.org",
        "192.0.2.53",
    ] {
        assert_eq!(node.search_ids(value).len(), 1, "{value} stored");
    }
    assert!(
        node.search_ids("192.0.2.54").is_empty(),
        "AND of different objects"
    );
}

/// The OASIS validator over the bundle and over SCOs built from its patterns;
/// those SCOs and the indicators' x_liaison_* properties against the schemas
/// the extension definitions name. Prints one JSON line.
const CHECK_EXTENSIONS: &str = r#"
import json, re, sys, requests
def no_network(*args, **kwargs):
    raise RuntimeError("stix2-validator tried to fetch %r" % (args,))
requests.get = no_network
import jsonschema
from stix2patterns.pattern import Pattern
from stix2validator import validate_instance, validate_string, ValidationOptions

bundle_path, repo = sys.argv[1], sys.argv[2]
text = open(bundle_path).read()
bundle = json.loads(text)
objects = bundle["objects"]
out = {"bundle_valid": validate_string(text, ValidationOptions(strict=False)).is_valid}
liaison = [o for o in objects if o["type"] == "identity" and o.get("identity_class") == "system"]
out["liaison_identity"] = len(liaison)
definitions = [o for o in objects if o["type"] == "extension-definition"]
out["definitions"] = sorted(o["name"] for o in definitions)
out["authors"] = sorted({o["created_by_ref"] == liaison[0]["id"] for o in definitions})
out["marked_clear"] = all(o.get("object_marking_refs") == ["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"] for o in definitions)
schemas, by_sco = {}, {}
for d in definitions:
    m = re.search(r"(docs/stix/extensions/[a-z-]+\.json)", d["schema"])
    schema = json.load(open(f"{repo}/{m.group(1)}"))
    assert schema["$id"] == m.group(1), (schema["$id"], m.group(1))
    jsonschema.Draft202012Validator.check_schema(schema)
    schemas[d["id"]] = schema
    if "new-sco" in d["extension_types"]:
        by_sco[schema["properties"]["type"]["const"]] = d["id"]
    else:
        props = d["id"]
errors, scos = [], 0
for o in objects:
    if o["type"] != "indicator":
        continue
    x = {k: v for k, v in o.items() if k.startswith("x_liaison_")}
    errors += [f"{o['id']}: {e.message}" for e in jsonschema.Draft202012Validator(schemas[props]).iter_errors(x)]
    for sco_type, comparisons in Pattern(o["pattern"]).inspect().comparisons.items():
        if sco_type not in by_sco:
            continue
        for path, op, value in comparisons:
            sco = {"type": sco_type, "spec_version": "2.1",
                   "id": f"{sco_type}--{o['id'].split('--')[1]}",
                   path[0]: value.strip("'").replace("\\'", "'").replace("\\\\", "\\"),
                   "extensions": {by_sco[sco_type]: {"extension_type": "new-sco"}}}
            scos += 1
            errors += [f"{sco['id']}: {e.message}" for e in jsonschema.Draft202012Validator(schemas[by_sco[sco_type]]).iter_errors(sco)]
            result = validate_instance(sco, ValidationOptions(strict=False))
            if not result.is_valid:
                errors.append(f"{sco['id']}: validator: {[str(e) for e in result.errors]}")
out["scos"] = scos
out["errors"] = errors
print(json.dumps(out))
"#;

#[test]
fn the_stix_export_uses_liaisons_own_extension_definitions_valid_both_ways() {
    let python = python();
    let mut node = TestNode::init("Agency Extensions (example)");
    node.start();
    for (kind, value) in [
        ("phone", "+44 7700 900123"),
        ("wallet", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
        ("iban", "GB82WEST12345698765432"),
        ("domain", "pay-now.example.org"),
    ] {
        node.publish(
            kind,
            value,
            "green",
            &["--evaluation", "B2", "--handling", "H2"],
        );
    }
    let out = node.tmp.path().join("export.stix");
    node.cli_ok(&["export", "--format", "stix", "--out", path(&out)]);
    let bundle = std::fs::read_to_string(&out).expect("export");
    // Nobody else's extension ids (the community publisher's, reused before).
    for foreign in [
        "14a97ee2-e666-5ada-a6bd-b7177f79e211",
        "be78509e-6958-51b1-8b26-d17ee0eba2d7",
        "f19f3291-6a84-5674-b311-d75a925d5bd9",
        "muchdogesec",
    ] {
        assert!(!bundle.contains(foreign), "{foreign} in the export");
    }
    assert!(bundle.contains("[cryptocurrency-wallet:value = '1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2']"));

    let run = run_python(
        python,
        &["-c", CHECK_EXTENSIONS, path(&out), path(&repo())],
        Duration::from_secs(120),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(run.success, "{}\n{}", run.stdout, run.stderr);
    let line = run.stdout.lines().last().unwrap_or_default();
    let got: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    assert_eq!(got["bundle_valid"], true, "{got}");
    assert_eq!(got["liaison_identity"], 1, "{got}");
    assert_eq!(
        got["definitions"],
        serde_json::json!([
            "Liaison bank-account",
            "Liaison cryptocurrency-wallet",
            "Liaison markings",
            "Liaison phone-number"
        ]),
        "{got}"
    );
    assert_eq!(
        got["authors"],
        serde_json::json!([true]),
        "all by Liaison: {got}"
    );
    assert_eq!(got["marked_clear"], true, "{got}");
    assert_eq!(got["scos"], 3, "phone, wallet, iban: {got}");
    assert_eq!(got["errors"], serde_json::json!([]), "{got}");
}
