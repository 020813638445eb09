"""TAXII 2.1 side-by-side benchmark driver (scripts/peers/opentaxii.sh).

One stock client (taxii2-client) for both servers. Modes:

  setup                      (OpenTAXII's venv, OPENTAXII_CONFIG set) api root + collection; prints ids
  pull   liaison|opentaxii … full paginated pull of a collection; objects/s; saves indicators
  load   URL USER PASS FILE  POSTs the saved indicators to OpenTAXII (1000 per request)
  lookup liaison|opentaxii … GET objects/{id} for a random sample of ids; p50/p99 ms

Server arguments: liaison ADDRESS CLIENT_DIR | opentaxii URL USER PASSWORD.
Prints one JSON line per run. Liaison's certificate is verified for its fixed
name "liaison-node" (the node's own certificate is the only trust anchor).
"""
import json
import random
import ssl
import statistics
import sys
import time

NODE_NAME = "liaison-node"


def liaison_collection(address, client_dir):
    import taxii2client.common
    from requests.adapters import HTTPAdapter
    from taxii2client.v21 import Server

    node_crt = f"{client_dir}/node.crt"
    cert = (f"{client_dir}/client.crt", f"{client_dir}/client.key")

    class NodeName(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            context = ssl.create_default_context(cafile=node_crt)
            context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
            context.load_cert_chain(*cert)
            kwargs.update(assert_hostname=NODE_NAME, server_hostname=NODE_NAME, ssl_context=context)
            super().init_poolmanager(*args, **kwargs)

    plain_init = taxii2client.common._HTTPConnection.__init__

    def with_node_name(self, *args, **kwargs):
        plain_init(self, *args, **kwargs)
        self.session.mount("https://", NodeName())

    taxii2client.common._HTTPConnection.__init__ = with_node_name
    server = Server(f"https://{address}/taxii2/", verify=node_crt, cert=cert)
    return [c for c in server.default.collections if c.title == "All indicators"][0]


def opentaxii_collection(url, user, password):
    """OpenTAXII with its JWT (from /management/auth): basic auth would hash
    the password on every request and measure that instead of the server."""
    import requests
    from requests.auth import AuthBase
    from taxii2client.v21 import Server

    base = url.split("/taxii2/")[0]
    answer = requests.post(f"{base}/management/auth", json={"username": user, "password": password})
    answer.raise_for_status()
    token = answer.json()["token"]

    class Bearer(AuthBase):
        def __call__(self, request):
            request.headers["Authorization"] = f"Bearer {token}"
            return request

    server = Server(url, auth=Bearer())
    return server.default.collections[0]


def collection(args):
    kind, rest = args[0], args[1:]
    if kind == "liaison":
        return liaison_collection(*rest[:2]), rest[2:]
    return opentaxii_collection(*rest[:3]), rest[3:]


def pull(args):
    from taxii2client.v21 import as_pages

    col, (per_request, out) = collection(args)
    started = time.perf_counter()
    objects, pages = [], 0
    for envelope in as_pages(col.get_objects, per_request=int(per_request)):
        pages += 1
        objects.extend(envelope.get("objects", []))
    seconds = time.perf_counter() - started
    indicators = [o for o in objects if o["type"] == "indicator"]
    if out != "-":
        with open(out, "w") as f:
            json.dump(indicators, f)
    return {
        "objects": len(objects),
        "indicators": len(indicators),
        "pages": pages,
        "seconds": round(seconds, 3),
        "objects_per_second": round(len(objects) / seconds, 1),
    }


def lookup(args):
    col, (ids_file, count) = collection(args)
    ids = [o["id"] for o in json.load(open(ids_file))]
    sample = random.Random(7).sample(ids, min(int(count), len(ids)))
    times, found = [], 0
    for object_id in sample:
        started = time.perf_counter()
        envelope = col.get_object(object_id)
        times.append((time.perf_counter() - started) * 1000)
        found += sum(1 for o in envelope.get("objects", []) if o["id"] == object_id)
    times.sort()
    return {
        "lookups": len(sample),
        "found": found,
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(times[max(0, int(len(times) * 0.99) - 1)], 2),
    }


def load(args):
    url, user, password, path = args
    col = opentaxii_collection(url, user, password)
    indicators = json.load(open(path))
    started = time.perf_counter()
    for i in range(0, len(indicators), 1000):
        envelope = {"objects": indicators[i : i + 1000]}
        status = col.add_objects(json.dumps(envelope))
        assert status.failure_count == 0, status
    seconds = time.perf_counter() - started
    return {"loaded": len(indicators), "seconds": round(seconds, 1)}


def setup(_args):
    from opentaxii.cli import app

    with app.app_context():
        api = app.taxii_server.servers.taxii2.persistence.api
        root = api.add_api_root(title="bench", description="benchmark", default=True, is_public=True)
        col = api.add_collection(
            api_root_id=root.id, title="bench", description="benchmark", alias="bench",
            is_public=True, is_public_write=True,
        )
        return {"api_root": str(root.id), "collection": str(col.id)}


if __name__ == "__main__":
    mode, rest = sys.argv[1], sys.argv[2:]
    modes = {"pull": pull, "lookup": lookup, "load": load, "setup": setup}
    print(json.dumps(modes[mode](rest)), flush=True)
