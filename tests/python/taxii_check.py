"""TAXII 2.1 and MISP feed checks against a running Liaison node (tests/tests/taxii.rs).

Stock clients only: taxii2-client for TAXII, requests for the feed, the OASIS
stix2-validator for every object, PyMISP to load feed events. The node's
certificate names "liaison-node" whatever address it is reached at, so the
connection checks that name (never skips verification). Prints one JSON line.

  taxii_check.py pull ADDRESS CLIENT_DIR PER_REQUEST
  taxii_check.py resume ADDRESS CLIENT_DIR ADDED_AFTER
  taxii_check.py get ADDRESS NODE_CRT CERT|- KEY|- PATH
  taxii_check.py feed ADDRESS CLIENT_DIR
  taxii_check.py reports ADDRESS CLIENT_DIR
  taxii_check.py walk ADDRESS CLIENT_DIR PER_REQUEST
  taxii_check.py changes ADDRESS CLIENT_DIR ADDED_AFTER|- PER_REQUEST
  taxii_check.py feed_state ADDRESS CLIENT_DIR
"""
import json
import ssl
import sys

import requests
from requests.adapters import HTTPAdapter

NODE_NAME = "liaison-node"


class NodeName(HTTPAdapter):
    """Trusts exactly the node's (self-signed, pinned) certificate and checks
    its fixed name, not the IP. OpenSSL takes a non-CA certificate as a trust
    anchor only with partial chains allowed (curl allows them by default)."""

    def __init__(self, node_crt, cert=None):
        self.context = ssl.create_default_context(cafile=node_crt)
        self.context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        if cert:
            self.context.load_cert_chain(*cert)
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["assert_hostname"] = NODE_NAME
        kwargs["server_hostname"] = NODE_NAME
        kwargs["ssl_context"] = self.context
        super().init_poolmanager(*args, **kwargs)


def session(node_crt, cert=None):
    s = requests.Session()
    s.verify = node_crt
    s.cert = cert
    s.mount("https://", NodeName(node_crt, cert))
    return s


def taxii_collection(address, client_dir):
    import taxii2client.common
    from taxii2client.v21 import Server

    node_crt = f"{client_dir}/node.crt"
    cert = (f"{client_dir}/client.crt", f"{client_dir}/client.key")
    # taxii2-client opens a new connection per API root: each gets the adapter.
    plain_init = taxii2client.common._HTTPConnection.__init__

    def with_node_name(self, *args, **kwargs):
        plain_init(self, *args, **kwargs)
        self.session.mount("https://", NodeName(node_crt, cert))

    taxii2client.common._HTTPConnection.__init__ = with_node_name
    server = Server(f"https://{address}/taxii2/", verify=node_crt, cert=cert)
    root = server.default
    collections = root.collections
    everything = [c for c in collections if c.title == "All indicators"][0]
    return server, collections, everything


def validate(objects):
    # Any schema fetch over the network is an error: the checks run offline.
    real_get = requests.get

    def no_network(*args, **kwargs):
        raise RuntimeError("stix2-validator tried to fetch %r" % (args,))

    requests.get = no_network
    try:
        from stix2validator import ValidationOptions, validate_instance

        invalid = []
        for obj in objects:
            result = validate_instance(obj, ValidationOptions(strict=False))
            if not result.is_valid:
                invalid.append({"id": obj.get("id"), "errors": [str(e) for e in result.errors]})
        return invalid
    finally:
        requests.get = real_get


def pull(address, client_dir, per_request):
    from taxii2client.v21 import as_pages

    server, collections, everything = taxii_collection(address, client_dir)
    objects, pages = [], 0
    for envelope in as_pages(everything.get_objects, per_request=int(per_request)):
        pages += 1
        objects.extend(envelope.get("objects", []))
    manifest = []
    for envelope in as_pages(everything.get_manifest, per_request=int(per_request)):
        manifest.extend(envelope.get("objects", []))
    indicators = [o for o in objects if o["type"] == "indicator"]
    one = everything.get_object(indicators[0]["id"]) if indicators else {}
    return {
        "api_roots": [r.url for r in server.api_roots],
        "collections": [c.title for c in collections],
        "pages": pages,
        "objects": len(objects),
        "indicators": len(indicators),
        "distinct_indicators": len({o["id"] for o in indicators}),
        "revoked": sum(1 for o in indicators if o.get("revoked")),
        "invalid": validate(objects),
        "last_added": max((m["date_added"] for m in manifest), default=None),
        "manifest_indicators": sum(1 for m in manifest if m["id"].startswith("indicator--")),
        "by_id": [o["id"] for o in one.get("objects", [])],
    }


def walk(address, client_dir, per_request):
    """as_pages over the All collection, stopping (as a failure) after 50 pages."""
    from taxii2client.v21 import as_pages

    server, collections, everything = taxii_collection(address, client_dir)
    indicators, pages = [], 0
    for envelope in as_pages(everything.get_objects, per_request=int(per_request)):
        pages += 1
        indicators.extend(o["id"] for o in envelope.get("objects", []) if o["type"] == "indicator")
        if pages >= 50:
            break
    return {
        "pages": pages,
        "indicators": len(indicators),
        "distinct_indicators": len(set(indicators)),
    }


def reports(address, client_dir):
    """Per collection: its reports (id, name, object_refs) and indicator ids."""
    from taxii2client.v21 import as_pages

    server, collections, everything = taxii_collection(address, client_dir)
    result, invalid = {}, []
    for collection in collections:
        objects = []
        for envelope in as_pages(collection.get_objects, per_request=50):
            objects.extend(envelope.get("objects", []))
        invalid.extend(validate(objects))
        result[collection.title] = {
            "reports": [
                {
                    "id": o["id"],
                    "name": o["name"],
                    "object_refs": sorted(o["object_refs"]),
                    "revoked": o.get("revoked", False),
                }
                for o in objects
                if o["type"] == "report"
            ],
            "indicators": sorted(o["id"] for o in objects if o["type"] == "indicator"),
        }
    reports = result.get("All indicators", {}).get("reports", [])
    one = everything.get_object(reports[0]["id"]) if reports else {}
    return {
        "collections": result,
        "invalid": invalid,
        "by_id": [o["id"] for o in one.get("objects", [])],
    }


def resume(address, client_dir, added_after):
    from taxii2client.v21 import as_pages

    _, _, everything = taxii_collection(address, client_dir)
    objects = []
    for envelope in as_pages(everything.get_objects, per_request=2, added_after=added_after):
        objects.extend(envelope.get("objects", []))
    values = [o["pattern"] for o in objects if o["type"] == "indicator"]
    return {"indicators": len(values), "patterns": values}


def changes(address, client_dir, added_after, per_request):
    """The indicators served (after ADDED_AFTER, or all with "-"), each with
    its versions as the versions endpoint lists them, and the last date_added."""
    from taxii2client.v21 import as_pages

    _, _, everything = taxii_collection(address, client_dir)
    kwargs = {} if added_after == "-" else {"added_after": added_after}
    objects = []
    for envelope in as_pages(everything.get_objects, per_request=int(per_request), **kwargs):
        objects.extend(envelope.get("objects", []))
    manifest = []
    for envelope in as_pages(everything.get_manifest, per_request=500):
        manifest.extend(envelope.get("objects", []))
    indicators = [o for o in objects if o["type"] == "indicator"]
    return {
        "distinct": len({o["id"] for o in indicators}),
        "indicators": [
            {
                "id": o["id"],
                "pattern": o["pattern"],
                "created": o["created"],
                "modified": o["modified"],
                "revoked": o.get("revoked", False),
                "versions": everything.object_versions(o["id"]).get("versions", []),
            }
            # Only the ones the test follows: versions is one request each.
            for o in indicators if "filler" not in o["pattern"]
        ],
        # The filler (test padding) is left out: the validator is slow per object.
        "invalid": validate([o for o in objects if "filler" not in o.get("pattern", "")]),
        "last_added": max((m["date_added"] for m in manifest), default=None),
    }


def feed_state(address, client_dir):
    """The feed as a MISP server fetching it sees it: each event's manifest
    timestamp, and every attribute (through PyMISP) with its state."""
    from pymisp import MISPEvent

    s = session(f"{client_dir}/node.crt", (f"{client_dir}/client.crt", f"{client_dir}/client.key"))
    base = f"https://{address}/misp-feed"
    manifest = s.get(f"{base}/manifest.json", timeout=30)
    manifest.raise_for_status()
    events, attributes = {}, []
    for uuid, entry in manifest.json().items():
        event = MISPEvent()
        event.load(s.get(f"{base}/{uuid}.json", timeout=30).text)
        events[uuid] = {"manifest": int(entry["timestamp"]), "event": int(event.timestamp.timestamp())}
        for a in event.attributes:
            attributes.append({
                "event": uuid,
                "uuid": str(a.uuid),
                "value": a.value,
                "deleted": bool(a.deleted),
                "to_ids": bool(a.to_ids),
                "timestamp": int(a.timestamp.timestamp()),
                "tags": sorted(t.name for t in a.tags),
            })
    return {"events": events, "attributes": attributes}


def get(address, node_crt, cert, key, path):
    client = None if cert == "-" else (cert, key)
    try:
        response = session(node_crt, client).get(
            f"https://{address}{path}",
            headers={"Accept": "application/taxii+json;version=2.1"},
            timeout=30,
        )
    except requests.exceptions.RequestException as e:
        return {"refused": type(e).__name__ + ": " + str(e)[:300]}
    try:
        body = response.json()
    except ValueError:
        body = response.text[:300]
    return {
        "status": response.status_code,
        "content_type": response.headers.get("Content-Type"),
        "body": body,
    }


def feed(address, client_dir):
    from pymisp import MISPEvent

    s = session(f"{client_dir}/node.crt", (f"{client_dir}/client.crt", f"{client_dir}/client.key"))
    base = f"https://{address}/misp-feed"
    manifest = s.get(f"{base}/manifest.json", timeout=30)
    manifest.raise_for_status()
    attributes, deleted, events = 0, 0, 0
    bulletins = []
    for uuid in manifest.json():
        event = MISPEvent()
        event.load(s.get(f"{base}/{uuid}.json", timeout=30).text)
        events += 1
        tags = sorted(t.name for t in event.tags)
        if "liaison:bulletin" in tags:
            bulletins.append({
                "uuid": str(event.uuid),
                "info": event.info,
                "tags": tags,
                "values": sorted(a.value for a in event.attributes),
            })
        attributes += len(event.attributes)
        deleted += sum(1 for a in event.attributes if a.deleted)
        assert str(event.uuid) == uuid, (event.uuid, uuid)
    hashes = s.get(f"{base}/hashes.csv", timeout=30)
    hashes.raise_for_status()
    lines = [line for line in hashes.text.splitlines() if line]
    return {
        "events": events,
        "attributes": attributes,
        "deleted": deleted,
        "hash_lines": len(lines),
        "hash_events": sorted({line.split(",")[1] for line in lines}),
        "manifest": sorted(manifest.json()),
        "bulletins": bulletins,
    }


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    result = {"pull": pull, "resume": resume, "get": get, "feed": feed, "reports": reports, "walk": walk,
              "changes": changes, "feed_state": feed_state}[mode](*args)
    print(json.dumps(result))
