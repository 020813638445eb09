#!/bin/sh
# Issue a Liaison client certificate (analyst or admin) with OpenSSL, signed by a
# node's local CA (DIR/ca/ca.crt and DIR/ca/ca.key). See certs/README.md.
#
#   certs/openssl-client-cert.sh --dir DIR --name "Analyst Name" --out OUTDIR \
#       [--role analyst|admin] [--days N]
#
# Writes, like `liaison client issue`:
#   OUTDIR/client.key  ECDSA P-256 private key, PKCS#8 PEM, mode 0600
#   OUTDIR/client.crt  the certificate (CN=name, OU=liaison-analyst|liaison-admin,
#                      basicConstraints CA:FALSE, keyUsage digitalSignature,
#                      extendedKeyUsage clientAuth)
#   OUTDIR/node.crt    a copy of DIR/tls/node.crt, the server certificate to trust
#   DIR/clients/SHA256.crt  a copy of the certificate (public), as `client issue`
#                      keeps one, so that `liaison doctor` watches its expiry and
#                      revocation and `client renew --name` finds it
#
# It prints the certificate's SHA-256 (hex of the SHA-256 of its DER), the value
# `liaison client revoke --sha256` takes. Unlike `client issue` it writes no
# `client.issue` entry in the audit log (that needs the node's signing key).
#
# The CA key is only ever read in place by `openssl x509 -CAkey`; it is never
# copied. The script refuses to overwrite an existing client.key or client.crt.
# It needs OpenSSL 1.1.1 or later (tested with OpenSSL 3.0).

set -eu

die() {
    printf 'openssl-client-cert: %s\n' "$*" >&2
    exit 1
}

usage() {
    cat >&2 <<'EOF'
usage: openssl-client-cert.sh --dir DIR --name NAME --out OUTDIR [--role analyst|admin] [--days N]
  --dir DIR     the Liaison node directory holding ca/ca.crt, ca/ca.key, tls/node.crt
  --name NAME   the person or tool (certificate CN), e.g. "Analyst Example"
  --out OUTDIR  directory for client.key, client.crt, node.crt (created if missing)
  --role ROLE   analyst (default) or admin
  --days N      validity in days (default 825, as `liaison client issue`)
EOF
    exit 2
}

dir=
name=
out=
role=analyst
days=825

while [ $# -gt 0 ]; do
    case "$1" in
        --dir) [ $# -ge 2 ] || usage; dir=$2; shift 2 ;;
        --name) [ $# -ge 2 ] || usage; name=$2; shift 2 ;;
        --out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
        --role) [ $# -ge 2 ] || usage; role=$2; shift 2 ;;
        --days) [ $# -ge 2 ] || usage; days=$2; shift 2 ;;
        -h|--help) usage ;;
        *) printf 'openssl-client-cert: unknown argument %s\n' "$1" >&2; usage ;;
    esac
done

[ -n "$dir" ] && [ -n "$name" ] && [ -n "$out" ] || usage

case "$role" in
    analyst) unit=liaison-analyst ;;
    admin) unit=liaison-admin ;;
    *) die "--role must be analyst or admin, not '$role'" ;;
esac

case "$days" in
    ''|*[!0-9]*) die "--days must be a whole number of days" ;;
esac
[ "$days" -ge 1 ] || die "--days must be at least 1"

# A name with control characters (newlines, tabs) would break the subject.
if printf '%s' "$name" | LC_ALL=C grep -q '[[:cntrl:]]'; then
    die "--name must not contain control characters"
fi

command -v openssl >/dev/null 2>&1 || die "openssl is not installed"

ca_crt=$dir/ca/ca.crt
ca_key=$dir/ca/ca.key
node_crt=$dir/tls/node.crt
[ -f "$ca_crt" ] || die "$ca_crt not found (is $dir a Liaison node directory?)"
[ -r "$ca_key" ] || die "$ca_key not found or not readable (run as the node's owner)"
[ -f "$node_crt" ] || die "$node_crt not found"

# Everything this script creates is private to its owner.
umask 077

mkdir -p "$out" || die "cannot create $out"
key=$out/client.key
crt=$out/client.crt
for f in "$key" "$crt"; do
    [ ! -e "$f" ] || die "$f already exists; refusing to overwrite it (choose another --out)"
done

# Work inside OUTDIR, so the final step is a same-filesystem link that fails
# (instead of overwriting) if a file appeared meanwhile.
work=$(mktemp -d "$out/.openssl-client-cert.XXXXXX") || die "cannot create a work directory in $out"
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM

# Escape the characters that are special in an OpenSSL -subj string.
cn=$(printf '%s' "$name" | sed 's/[\\/+,=]/\\&/g')

cat > "$work/ext.cnf" <<'EOF'
[ client ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
EOF

# 1. The key: ECDSA P-256 (named curve), PKCS#8 PEM.
openssl genpkey -algorithm EC \
    -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
    -out "$work/client.key" 2>"$work/err" || { cat "$work/err" >&2; die "key generation failed"; }

# 2. The request: CN = the person or tool, OU = the Liaison role.
openssl req -new -utf8 -key "$work/client.key" -subj "/CN=$cn/OU=$unit" \
    -out "$work/client.csr" 2>"$work/err" || { cat "$work/err" >&2; die "CSR creation failed"; }

# 3. The certificate, signed by the local CA. A random serial; no serial file is
#    written next to the CA (no -CAcreateserial).
serial=$(openssl rand -hex 16)
openssl x509 -req -in "$work/client.csr" \
    -CA "$ca_crt" -CAkey "$ca_key" -set_serial "0x$serial" \
    -days "$days" -sha256 -extfile "$work/ext.cnf" -extensions client \
    -out "$work/client.crt" 2>"$work/err" || { cat "$work/err" >&2; die "signing failed"; }

# 4. Check the result against the CA before handing it out.
openssl verify -CAfile "$ca_crt" -purpose sslclient "$work/client.crt" >/dev/null 2>"$work/err" \
    || { cat "$work/err" >&2; die "the new certificate does not verify against $ca_crt"; }

# 5. Move into place without overwriting (ln fails if the target exists).
ln "$work/client.key" "$key" || die "$key appeared meanwhile; not overwritten"
chmod 600 "$key"
if ! ln "$work/client.crt" "$crt"; then
    rm -f "$key"
    die "$crt appeared meanwhile; not overwritten"
fi
chmod 644 "$crt"
if [ -e "$out/node.crt" ]; then
    cmp -s "$node_crt" "$out/node.crt" || printf 'openssl-client-cert: warning: %s differs from %s; left as it was\n' "$out/node.crt" "$node_crt" >&2
else
    cp "$node_crt" "$out/node.crt"
    chmod 644 "$out/node.crt"
fi

# 6. The pin the node uses for this certificate (SHA-256 of the DER), and a
#    public copy under the node directory, named by it, where doctor looks.
sha256=$(openssl x509 -in "$crt" -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1) \
    || die "cannot compute the certificate's SHA-256"
case "$sha256" in
    *[!0-9a-f]*|'') die "cannot compute the certificate's SHA-256 (got '$sha256')" ;;
esac
[ ${#sha256} -eq 64 ] || die "cannot compute the certificate's SHA-256 (got '$sha256')"
recorded=$dir/clients/$sha256.crt
if mkdir -p "$dir/clients" 2>/dev/null && cp "$crt" "$recorded" 2>/dev/null; then
    chmod 644 "$recorded"
    kept="  recorded as $recorded (liaison doctor watches its expiry and revocation)"
else
    kept="  warning: could not write $recorded; liaison doctor will not list this certificate"
fi

printf 'Issued an %s certificate for "%s" in %s:\n' "$role" "$name" "$out"
printf '  client.crt, client.key (mode 0600), node.crt (the node certificate to trust)\n'
printf '  TLS server name to expect: liaison-node\n'
printf '  certificate SHA-256 (keep it; `liaison client revoke --sha256` refuses it): %s\n' "$sha256"
printf '%s\n' "$kept"
openssl x509 -in "$crt" -noout -subject -serial -enddate
