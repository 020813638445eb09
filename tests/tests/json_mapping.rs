//! `--json` is the gRPC response in the canonical proto3 JSON mapping: a CLI
//! answer deserialises (with the pbjson serde impls) back into exactly the
//! message the RPC returns, and an independent implementation (Python
//! protobuf's `json_format.Parse`, when a Python with grpcio-tools is there)
//! reads it into the same message, byte for byte.

use crate::common;

use std::path::Path;
use std::time::Duration;

use common::python::{python, run_python};
use common::TestNode;
use liaison::proto;
use prost::Message as _;

/// Reads the CLI's JSON as a message (pbjson's Deserialize impls).
macro_rules! parse {
    ($ty:ty, $text:expr) => {
        serde_json::from_str::<$ty>($text)
            .unwrap_or_else(|e| panic!("not a {} ({e}):\n{}", stringify!($ty), $text))
    };
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_json_is_the_grpc_response_in_the_proto3_json_mapping() {
    let mut node = TestNode::init("Agency Json (example)");
    node.start();
    let first = node.publish("phone", "+44 7700 900610", "amber", &["--label", "fraud"]);
    let second = node.publish(
        "phone",
        "+44 7700 900611",
        "amber+strict",
        &[
            "--label",
            "fraud",
            "--handling",
            "h0",
            "--evaluation",
            "B2",
            "--supersedes",
            &first,
        ],
    );

    // The raw text: lowerCamelCase names, enum names, 64-bit integers as strings,
    // bytes as base64.
    let text = node.cli_ok(&["get", &second, "--json"]);
    let raw: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(raw["recordId"], second.as_str(), "{raw}");
    assert_eq!(raw["sequence"], "2", "uint64 as a string: {raw}");
    let indicator = &raw["indicator"];
    assert_eq!(indicator["kind"], "INDICATOR_KIND_PHONE");
    assert_eq!(indicator["tlp"], "TLP_AMBER_STRICT");
    assert_eq!(indicator["handling"][0], "HANDLING_H0");
    assert_eq!(indicator["evaluation"]["sourceReliability"], "B");
    assert!(indicator["validUntilUnixMs"].is_string(), "{raw}");
    let supersedes = indicator["supersedes"].as_str().expect("supersedes");
    assert_eq!(
        supersedes.len(),
        44,
        "32 bytes in base64, not hex: {supersedes}"
    );
    assert!(raw["envelope"]["payload"].is_string());
    assert_eq!(raw["held_until_endorsed"], serde_json::Value::Null);
    assert_eq!(raw["heldUntilEndorsed"], false, "defaults are printed too");

    // Read back, it is the RPC's answer exactly.
    let client = node.admin_client().await;
    let view = client
        .analyst()
        .get(proto::GetRequest {
            record_id: second.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    let parsed = parse!(proto::RecordView, &text);
    assert_eq!(parsed, view);
    assert_eq!(
        parsed
            .indicator
            .as_ref()
            .map(|i| hex::encode(&i.supersedes)),
        Some(first.clone())
    );

    let text = node.cli_ok(&["search", "+44 7700 900611", "--json"]);
    let search = client
        .analyst()
        .search(proto::SearchRequest {
            value: "+44 7700 900611".into(),
            ..Default::default()
        })
        .await
        .expect("search")
        .into_inner();
    assert_eq!(parse!(proto::SearchResponse, &text), search);

    let text = node.cli_ok(&["identity", "show", "--json"]);
    let identity = client
        .admin()
        .show_identity(proto::ShowIdentityRequest {})
        .await
        .expect("identity")
        .into_inner();
    assert_eq!(parse!(proto::IdentityInfo, &text), identity);

    // The CLI gathers list pages into one ListResponse.
    let text = node.cli_ok(&["list", "--json"]);
    let list = parse!(proto::ListResponse, &text);
    assert_eq!(list.records.len(), 1, "the superseded one is not listed");
    assert_eq!(list.records[0].record_id, second);

    python_reads_the_same_message(&node, &node.cli_ok(&["get", &second, "--json"]), &view);
    node.stop();
}

/// Python protobuf parses the CLI's text into the message the node served: the
/// same bytes once encoded, and the same JSON printed again.
fn python_reads_the_same_message(node: &TestNode, text: &str, view: &proto::RecordView) {
    let python = python();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let input = node.tmp.path().join("record.json");
    std::fs::write(&input, text).expect("write json");
    let stubs = node.tmp.path().join("stubs");
    let script = r#"
import json, sys
examples, proto_dir, stubs_dir, path = sys.argv[1:5]
sys.path.insert(0, examples)
import liaison_client
stubs = liaison_client.load_stubs(proto_dir, stubs_dir)
from google.protobuf import json_format
text = open(path, encoding="utf-8").read()
message = json_format.Parse(text, stubs.analyst_pb2.RecordView())
again = liaison_client.to_json(message)
print(json.dumps({"same_json": again == json.loads(text),
                  "bytes": message.SerializeToString(deterministic=True).hex()}))
"#;
    let (examples, protos) = (root.join("examples/python"), root.join("proto"));
    let args = [
        "-c",
        script,
        examples.to_str().expect("path"),
        protos.to_str().expect("path"),
        stubs.to_str().expect("path"),
        input.to_str().expect("path"),
    ];
    let run = run_python(python, &args, Duration::from_secs(120)).expect("python");
    assert!(run.success, "python:\n{}\n{}", run.stdout, run.stderr);
    let answer: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("json");
    assert_eq!(answer["same_json"], true, "{answer}");
    assert_eq!(
        answer["bytes"].as_str(),
        Some(hex::encode(view.encode_to_vec()).as_str()),
        "json_format.Parse read another message"
    );
}
