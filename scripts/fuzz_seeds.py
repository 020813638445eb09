#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/).

Python 3 standard library only. Values are fictional (+44 7700 900xxx,
example.org, 192.0.2.x, test wallets). Envelopes are signed with a fixed test
key (RFC 8032 Ed25519, implemented below) so the envelope target starts from
records that verify; bundle seeds are re-signed copies of a real bundle.

Usage: scripts/fuzz_seeds.py [BUNDLE_PEM]   (run from anywhere)
"""
import base64
import hashlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
KINDS = ["phone", "email", "domain", "url", "ip", "wallet", "iban", "bank-account",
         "handle", "jobad", "phash", "alias", "location"]

# --- Ed25519 (RFC 8032 section 6, reference arithmetic; slow but tiny) ---
P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % P
    bb = (y1 + x1) * (y2 + x2) % P
    c = t1 * 2 * D * t2 % P
    dd = z1 * 2 * z2 % P
    e, f, g, h = bb - aa, dd - c, dd + c, bb + aa
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(s, pt):
    q = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            q = _add(q, pt)
        pt = _add(pt, pt)
        s >>= 1
    return q


def _encode(pt):
    x, y, z, _ = pt
    zi = pow(z, P - 2, P)
    x, y = x * zi % P, y * zi % P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _base():
    y = 4 * pow(5, P - 2, P) % P
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if x & 1:
        x = P - x
    return (x, y, 1, x * y % P)


G = _base()


def _h(data):
    return int.from_bytes(hashlib.sha512(data).digest(), "little")


def keypair(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:], _encode(_mul(a, G))


def sign(seed, msg):
    a, prefix, pub = keypair(seed)
    r = _h(prefix + msg) % L
    rb = _encode(_mul(r, G))
    k = _h(rb + pub + msg) % L
    return rb + ((r + k * a) % L).to_bytes(32, "little")


# --- protobuf encoding (just what the seeds need) ---
def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def f_varint(field, n):
    return varint(field << 3) + varint(n) if n else b""


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return varint(field << 3 | 2) + varint(len(data)) + data if data else b""


def indicator(kind, value, tlp=2, labels=(), handling=(), note="", recipients=(),
              description="", case="", evaluation=("B", 2), supersedes=b""):
    out = f_varint(1, KINDS.index(kind) + 1) + f_bytes(2, value)
    out += b"".join(f_bytes(3, l) for l in labels)
    out += f_varint(4, tlp)
    out += b"".join(f_varint(5, h) for h in handling)
    out += f_bytes(6, note)
    out += f_bytes(7, f_bytes(1, evaluation[0]) + f_varint(2, evaluation[1]))
    out += f_varint(8, 1_893_456_000_000)
    out += f_bytes(9, description) + f_bytes(10, case)
    out += b"".join(f_bytes(11, r) for r in recipients)
    out += f_bytes(12, supersedes)
    return out


def payload(origin, seq, body_field, body):
    return f_bytes(1, origin) + f_varint(2, seq) + f_varint(3, 1_764_000_000_000) + f_bytes(body_field, body)


RECORD_PREFIX = b"liaison/v1/record\0"
BUNDLE_PREFIX = b"liaison/v1/bundle\0"
SEED = bytes([7]) * 32
_, _, PUB = keypair(SEED)
OTHER = bytes(range(32))
RID = hashlib.sha256(b"example record").digest()


def payloads():
    ind = [
        indicator("phone", "+447700900123", labels=["scam-centre"]),
        indicator("email", "recruiter@example.org", tlp=3, handling=[1, 3]),
        indicator("domain", "jobs.example.org", tlp=1, description="fake job portal"),
        indicator("url", "https://jobs.example.org/apply?id=7", case="CASE-1"),
        indicator("ip", "192.0.2.17", tlp=4, handling=[4], note="no court use"),
        indicator("wallet", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        indicator("iban", "GB82WEST12345698765432", labels=["fraud", "money-laundering"]),
        indicator("bank-account", "TH:1234567890"),
        indicator("handle", "telegram:hr_agent", tlp=5, recipients=[OTHER]),
        indicator("alias", "mr example", supersedes=RID),
        indicator("location", "16.7784,98.5247", evaluation=("X", 4)),
        indicator("location", "place:shwe kokko"),
        indicator("phash", "8f373714acfcf4d0"),
    ]
    out = [payload(PUB, i + 1, 10, b) for i, b in enumerate(ind)]
    out.append(payload(PUB, 20, 11, f_bytes(1, RID) + f_bytes(2, "entered in error")))
    out.append(payload(PUB, 21, 12, f_bytes(1, RID) + f_bytes(2, "seen in a victim statement")))
    return out


def envelope(pl):
    return f_bytes(1, pl) + f_bytes(2, sign(SEED, RECORD_PREFIX + pl)) + f_bytes(3, PUB)


CONFIGS = [
    'name = "Agency A (example)"\nlisten = "127.0.0.1:7400"\n',
    'name = "Agency B (example)"\nlisten = "0.0.0.0:7400"\nendpoints = ["b.example.org:7400", "192.0.2.10:7400"]\n'
    'cache_mb = 64\ndefault_valid_days = 365\ndefault_country = "GB"\npurge_interval_seconds = 60\n',
    "name = 'Agency C'\nlisten = '[::1]:0'\ndefault_valid_days = 1\ncache_mb = 18446744073709551615\n",
    'name = """multi\nline"""\nlisten = "x"\nendpoints = []\n# comment\n',
]


def bundles(pem_path):
    if not pem_path or not os.path.exists(pem_path):
        return []
    text = open(pem_path).read()
    body = "".join(l for l in text.splitlines() if not l.startswith("-----"))
    signed = base64.b64decode(body)
    # Re-sign the same bundle with the test key so seeds hold no real identity.
    inner = _field(signed, 1)
    name, cert = _field(inner, 1), _field(inner, 3)
    out = []
    for endpoints in ([b"a.example.org:7400"], [b"192.0.2.10:7400", b"a.example.org:443"], []):
        new_inner = f_bytes(1, name) + f_bytes(2, PUB) + f_bytes(3, cert)
        new_inner += b"".join(f_bytes(4, e) for e in endpoints) + f_varint(5, 1_764_000_000_000)
        sig = sign(SEED, BUNDLE_PREFIX + new_inner)
        out.append(f_bytes(1, new_inner) + f_bytes(2, sig) + f_bytes(3, PUB))
    return out


def _field(msg, wanted):
    """The first length-delimited field number `wanted` of a protobuf message."""
    i = 0
    while i < len(msg):
        key, i = _read_varint(msg, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            _, i = _read_varint(msg, i)
        elif wt == 2:
            n, i = _read_varint(msg, i)
            if field == wanted:
                return msg[i:i + n]
            i += n
        else:
            raise ValueError("unexpected wire type")
    return b""


def _read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def pem(raw):
    b64 = base64.b64encode(raw).decode()
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return ("-----BEGIN LIAISON BUNDLE-----\n" + "\n".join(lines) + "\n-----END LIAISON BUNDLE-----\n").encode()


def write(target, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def main():
    # RFC 8032 test 1, so a broken signer cannot produce silently useless seeds.
    t1 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    assert keypair(t1)[2].hex() == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    assert sign(t1, b"").hex().startswith("e5564300c360ac729086e2cc806e828a")
    vectors = os.path.join(ROOT, "crates", "core", "testdata", "indicator-vectors.tsv")
    for line in open(vectors).read().splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) < 4 or cols[0] not in KINDS:
            continue
        code = bytes([KINDS.index(cols[0])])
        write("normalize", code + cols[1].encode())
        write("canonical", code + cols[1].encode())
        if cols[3] != "ERROR":
            write("canonical", code + cols[3].encode())
    for pl in payloads():
        write("payload", pl)
        write("envelope", envelope(pl))
    for text in CONFIGS:
        write("config", text.encode())
    for raw in bundles(sys.argv[1] if len(sys.argv) > 1 else None):
        write("bundle", raw)
        write("bundle", pem(raw))
    for t in sorted(os.listdir(CORPUS)):
        print(f"{t}: {len(os.listdir(os.path.join(CORPUS, t)))} seeds")


if __name__ == "__main__":
    main()
