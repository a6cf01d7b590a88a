#!/usr/bin/env bash
# Interop with independent JOSE implementations (Debian's python3-jwt and
# python3-jwcrypto): a running chainsts issues an ES256 JWT that PyJWT and
# jwcrypto verify against /jwks.json fetched over HTTP; a JWT that jwcrypto
# signs validates in chainsts (and comes back re-issued, verified again).
set -euo pipefail
cd "$(dirname "$0")/../../.."

# Debian's packages install for Debian's interpreter, which need not be the
# first python3 on PATH.
PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c 'import jwt, jwcrypto' 2>/dev/null; then
	echo "jose interop: installing python3-jwt python3-jwcrypto"
	(apt-get install -y python3-jwt python3-jwcrypto >/dev/null 2>&1 ||
		{ apt-get update >/dev/null && apt-get install -y python3-jwt python3-jwcrypto >/dev/null; })
fi

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/chainsts" ./cmd/chainsts
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
admin=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# The independent side's key pair: private for signing, public for chainsts.
$PY - "$work" <<'PYEOF'
import sys
from jwcrypto import jwk
k = jwk.JWK.generate(kty="EC", crv="P-256")
open(sys.argv[1] + "/peer-private.pem", "wb").write(k.export_to_pem(private_key=True, password=None))
open(sys.argv[1] + "/peer-public.pem", "wb").write(k.export_to_pem())
PYEOF
chmod 600 "$work/peer-private.pem"

cat > "$work/chainsts.yaml" <<YAML
data_dir: data
server:
  listen: 127.0.0.1:$port
  admin_listen: 127.0.0.1:$admin
  api: {allow_anonymous_loopback: true}
keystores:
  stores:
    default: {dev: true, public: true}
chains:
  - name: issue-jwt
    lookup: {request_type: issue, applies_to: urn:interop:issue}
    steps:
      - id: out
        module: jwt
        mode: issue
        config:
          signing: {keystore: default, alg: ES256}
          iss: https://chainsts.interop
          aud: [python]
          sub: interop-user
  - name: peer-jwt-to-jwt
    lookup: {request_type: validate, applies_to: urn:interop:exchange}
    steps:
      - id: in
        module: jwt
        mode: validate
        config:
          signing: {certificate: peer-public.pem, alg: ES256}
          iss: https://python.interop
          aud: [chainsts]
      - id: out
        module: jwt
        mode: issue
        config:
          signing: {keystore: default, alg: ES256}
          iss: https://chainsts.interop
          aud: [python]
YAML

"$work/chainsts" serve --config "$work/chainsts.yaml" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
	curl -fsS "http://127.0.0.1:$port/jwks.json" >/dev/null 2>&1 && break
	sleep 0.1
done

if ! $PY tests/interop/jose/interop.py "http://127.0.0.1:$port" "$work/peer-private.pem"; then
	echo "--- server log"; cat "$work/server.log"; exit 1
fi
