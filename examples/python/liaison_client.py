#!/usr/bin/env python3
"""A small Python client for a Liaison node: publish, search and health over mTLS.

The gRPC stubs are generated from the repository's proto/ files with grpcio-tools
when the script starts, into a temporary directory that is deleted on exit (nothing
generated is written into the repository). Pass --stubs DIR to generate them into
DIR instead and reuse them on later runs.

Certificates: the three files that

    liaison --dir DIR client issue --name NAME --role analyst --out OUT

writes into OUT: client.crt, client.key and node.crt (the node's self-signed TLS
certificate, used as the only trusted root). The node certificate's DNS name is
"liaison-node", whatever address the node is reached at.

Examples (fictional values):

    python3 liaison_client.py --address a.example.org:7400 \\
        --cert analyst/client.crt --key analyst/client.key --node-cert analyst/node.crt \\
        publish --kind phone --value "+44 7700 900123" --tlp green --label scam-centre --evaluation B2
    python3 liaison_client.py ... search "07700 900123" --federated --justification "case example-1"
    python3 liaison_client.py ... publish-batch indicators.jsonl
    python3 liaison_client.py ... health

Output is JSON on stdout (protobuf's canonical JSON mapping: enum names, 64-bit
integers as strings). On a gRPC error the status code and message go to stderr and
the exit status is 1.
"""

import argparse
import importlib
import json
import os
import sys
import tempfile

# The node's TLS certificate carries this DNS name (identity::NODE_CERT_NAME).
NODE_CERT_NAME = "liaison-node"

PROTO_FILES = [
    "liaison/v1/record.proto",
    "liaison/v1/analyst.proto",
]

# The standard gRPC health service (grpc/health/v1/health.proto, Apache-2.0, the
# grpc project), reduced to the one call used here. Its protobuf package is the
# standard one, so it calls the node's grpc.health.v1.Health service; the file is
# named so that its generated module does not collide with the `grpc` package.
HEALTH_PROTO_NAME = "liaison_example_health.proto"
HEALTH_PROTO = """\
syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus {
    UNKNOWN = 0;
    SERVING = 1;
    NOT_SERVING = 2;
    SERVICE_UNKNOWN = 3;
  }
  ServingStatus status = 1;
}
service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
}
"""

DEFAULT_PROTO_DIR = os.path.normpath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "proto")
)


class Stubs:
    """The generated modules."""

    def __init__(self, record_pb2, analyst_pb2, analyst_pb2_grpc, health_pb2, health_pb2_grpc):
        self.record_pb2 = record_pb2
        self.analyst_pb2 = analyst_pb2
        self.analyst_pb2_grpc = analyst_pb2_grpc
        self.health_pb2 = health_pb2
        self.health_pb2_grpc = health_pb2_grpc


def generate_stubs(proto_dir, out_dir):
    """Runs grpcio-tools' protoc on the Liaison protos and the health proto."""
    import grpc_tools
    from grpc_tools import protoc

    # google/protobuf/*.proto, shipped with grpcio-tools.
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")

    for name in PROTO_FILES:
        if not os.path.isfile(os.path.join(proto_dir, name)):
            raise SystemExit(f"error: {name} not found under --proto-dir {proto_dir}")
    health_dir = os.path.join(out_dir, "_health_proto")
    os.makedirs(health_dir, exist_ok=True)
    with open(os.path.join(health_dir, HEALTH_PROTO_NAME), "w", encoding="utf-8") as f:
        f.write(HEALTH_PROTO)

    for include, files_ in ((proto_dir, PROTO_FILES), (health_dir, [HEALTH_PROTO_NAME])):
        args = [
            "grpc_tools.protoc",
            f"-I{include}",
            f"-I{well_known}",
            f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            *files_,
        ]
        if protoc.main(args) != 0:
            raise SystemExit(f"error: generating stubs from {include} failed (see above)")


def load_stubs(proto_dir, out_dir):
    if not os.path.isfile(os.path.join(out_dir, "liaison", "v1", "analyst_pb2_grpc.py")):
        generate_stubs(proto_dir, out_dir)
    sys.path.insert(0, out_dir)
    health = HEALTH_PROTO_NAME[: -len(".proto")]
    return Stubs(
        importlib.import_module("liaison.v1.record_pb2"),
        importlib.import_module("liaison.v1.analyst_pb2"),
        importlib.import_module("liaison.v1.analyst_pb2_grpc"),
        importlib.import_module(health + "_pb2"),
        importlib.import_module(health + "_pb2_grpc"),
    )


def read_file(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise SystemExit(f"error: cannot read {path}: {e.strerror}")


def connect(args):
    import grpc

    credentials = grpc.ssl_channel_credentials(
        root_certificates=read_file(args.node_cert),
        private_key=read_file(args.key),
        certificate_chain=read_file(args.cert),
    )
    return grpc.secure_channel(
        args.address,
        credentials,
        options=[("grpc.ssl_target_name_override", NODE_CERT_NAME)],
    )


def enum_value(enum, prefix, name, what):
    """"phone" -> INDICATOR_KIND_PHONE, "amber+strict" -> TLP_AMBER_STRICT."""
    key = prefix + name.strip().upper().replace("+", "_").replace("-", "_")
    try:
        return enum.Value(key)
    except ValueError:
        valid = [
            n[len(prefix):].lower().replace("_", "-" if prefix != "TLP_" else "+")
            for n in enum.keys()
            if not n.endswith("_UNSPECIFIED")
        ]
        raise SystemExit(f"error: unknown {what} {name!r}; one of: {', '.join(valid)}")


def to_json(message):
    from google.protobuf import json_format

    try:
        return json_format.MessageToDict(
            message, always_print_fields_with_no_presence=True
        )
    except TypeError:  # protobuf < 5.26
        return json_format.MessageToDict(
            message, including_default_value_fields=True
        )


def cmd_publish(args, stubs, channel):
    request = stubs.analyst_pb2.PublishRequest(
        kind=enum_value(stubs.record_pb2.IndicatorKind, "INDICATOR_KIND_", args.kind, "kind"),
        value=args.value,
        default_country=args.country or "",
        labels=args.labels,
        tlp=enum_value(stubs.record_pb2.Tlp, "TLP_", args.tlp, "tlp"),
        evaluation=args.evaluation or "",
        description=args.description,
        case_reference=args.case,
    )
    response = stubs.analyst_pb2_grpc.AnalystStub(channel).Publish(request, timeout=args.timeout)
    return to_json(response)


def publish_request(stubs, item):
    """A PublishRequest from one JSON object (the same keys as the publish flags)."""
    return stubs.analyst_pb2.PublishRequest(
        kind=enum_value(stubs.record_pb2.IndicatorKind, "INDICATOR_KIND_", item["kind"], "kind"),
        value=item["value"],
        default_country=item.get("country", ""),
        labels=item.get("labels", []),
        tlp=enum_value(stubs.record_pb2.Tlp, "TLP_", item.get("tlp", "green"), "tlp"),
        evaluation=item.get("evaluation", ""),
        description=item.get("description", ""),
        case_reference=item.get("case", ""),
    )


def cmd_publish_batch(args, stubs, channel):
    """Streams JSON-lines items in chunks (Analyst/PublishBatch); one result per item."""
    source = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")

    def chunks():
        items = []
        with source:
            for line in source:
                if line.strip():
                    items.append(publish_request(stubs, json.loads(line)))
                if len(items) == args.chunk:
                    yield stubs.analyst_pb2.PublishBatchRequest(items=items)
                    items = []
        if items:
            yield stubs.analyst_pb2.PublishBatchRequest(items=items)

    summary = {"published": 0, "alreadyPresent": 0, "rejected": 0, "results": []}
    stub = stubs.analyst_pb2_grpc.AnalystStub(channel)
    for answer in stub.PublishBatch(chunks(), timeout=args.timeout):
        for result in answer.results:
            if result.error:
                summary["rejected"] += 1
            elif result.already_present:
                summary["alreadyPresent"] += 1
            else:
                summary["published"] += 1
            summary["results"].append(to_json(result))
    return summary


def cmd_search(args, stubs, channel):
    request = stubs.analyst_pb2.SearchRequest(
        value=args.value,
        kind=(
            enum_value(stubs.record_pb2.IndicatorKind, "INDICATOR_KIND_", args.kind, "kind")
            if args.kind
            else 0
        ),
        default_country=args.country or "",
        federated=args.federated,
        justification=args.justification,
        case_reference=args.case,
    )
    response = stubs.analyst_pb2_grpc.AnalystStub(channel).Search(request, timeout=args.timeout)
    result = to_json(response)
    for record in result.get("records", []):
        if not args.envelopes:
            # The signed bytes (base64) are for verifiers; left out unless asked.
            record.pop("envelope", None)
    return result


def cmd_health(args, stubs, channel):
    request = stubs.health_pb2.HealthCheckRequest(service=args.service)
    response = stubs.health_pb2_grpc.HealthStub(channel).Check(request, timeout=args.timeout)
    return to_json(response)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Call a Liaison node's Analyst and health services over mTLS."
    )
    parser.add_argument("--address", required=True, help="HOST:PORT of the node")
    parser.add_argument("--cert", required=True, help="client certificate (PEM), e.g. OUT/client.crt")
    parser.add_argument("--key", required=True, help="client private key (PEM), e.g. OUT/client.key")
    parser.add_argument(
        "--node-cert", required=True, help="the node's certificate to trust (PEM), e.g. OUT/node.crt"
    )
    parser.add_argument(
        "--proto-dir",
        default=DEFAULT_PROTO_DIR,
        help="directory holding liaison/v1/*.proto (default: the repository's proto/)",
    )
    parser.add_argument(
        "--stubs",
        help="generate the stubs into this directory, or reuse them if already there "
        "(default: a temporary directory, deleted on exit)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per call (default 10)")
    sub = parser.add_subparsers(dest="command", required=True)

    publish = sub.add_parser("publish", help="sign and publish an indicator (Analyst/Publish)")
    publish.add_argument("--kind", required=True, help="phone, email, domain, url, ip, wallet, iban, ...")
    publish.add_argument("--value", required=True)
    publish.add_argument("--tlp", default="green", help="clear, green, amber, amber+strict, red")
    publish.add_argument("--label", dest="labels", action="append", default=[], help="repeatable")
    publish.add_argument("--evaluation", help="4x4 evaluation, e.g. B2")
    publish.add_argument("--country", help="country for a national-format phone number (default: the node's)")
    publish.add_argument("--description", default="")
    publish.add_argument("--case", default="", help="case reference")
    publish.set_defaults(run=cmd_publish)

    batch = sub.add_parser(
        "publish-batch",
        help="publish many indicators from JSON lines (Analyst/PublishBatch), one result per item",
    )
    batch.add_argument(
        "file",
        help='JSON lines, e.g. {"kind": "phone", "value": "07700 900123", "tlp": "green"}; - for stdin',
    )
    batch.add_argument("--chunk", type=int, default=500, help="items per message (at most 1000)")
    batch.set_defaults(run=cmd_publish_batch)

    search = sub.add_parser("search", help="find records for a value (Analyst/Search)")
    search.add_argument("value")
    search.add_argument("--federated", action="store_true", help="also ask every connected partner")
    search.add_argument("--kind", help="only this kind (default: every kind the value can be)")
    search.add_argument("--country", help="country for a national-format phone number")
    search.add_argument("--justification", default="",
                        help="why (sent to partners, who log it); required with --federated unless the node turned the requirement off")
    search.add_argument("--case", default="", help="case reference")
    search.add_argument("--envelopes", action="store_true", help="include the signed envelopes (base64)")
    search.set_defaults(run=cmd_search)

    health = sub.add_parser("health", help="grpc.health.v1.Health/Check")
    health.add_argument(
        "--service", default="", help='e.g. "liaison.v1.Analyst"; empty means the whole server'
    )
    health.set_defaults(run=cmd_health)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        import grpc
    except ImportError:
        raise SystemExit("error: grpcio is not installed (pip install -r requirements.txt)")

    with tempfile.TemporaryDirectory(prefix="liaison-stubs-") as tmp:
        out_dir = os.path.abspath(args.stubs) if args.stubs else tmp
        os.makedirs(out_dir, exist_ok=True)
        stubs = load_stubs(os.path.abspath(args.proto_dir), out_dir)
        with connect(args) as channel:
            try:
                result = args.run(args, stubs, channel)
            except grpc.RpcError as e:
                print(f"error: {e.code().name}: {e.details()}", file=sys.stderr)
                return 1
    try:
        json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into `head`: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
