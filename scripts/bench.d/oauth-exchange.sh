#!/usr/bin/env bash
# HTTP load on the token-exchange hot path (PRODUCT §12): a real
# `chainsts serve` on loopback exchanges an ES256 subject token for an ES256
# access token through a chain with one mapping rule, driven by
# cmd/chainsts-load, which also runs the crypto-only loop (ES256 verify +
# sign) in the same run and prints the ratio.
# LOAD_DURATION (default 10s) and LOAD_CONCURRENCY (default 8) tune it. The
# server and the load generator share the machine's cores, so req/s is a
# floor; the CPU-per-request figures are what the §12 ratio is judged on.
# The rule's deadline is raised to 2s so that a busy machine measures slow
# requests instead of failing them.
set -euo pipefail
cd "$(dirname "$0")/../.."

work=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/chainsts" ./cmd/chainsts
go build -o "$work/chainsts-load" ./cmd/chainsts-load
"$work/chainsts-load" keygen -dir "$work"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
secret=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
gen=$(printf '%s' "$secret" | "$work/chainsts" secret hash --cost 4)

cat > "$work/chainsts.yaml" <<YAML
data_dir: data
server: {listen: "127.0.0.1:$port", admin_listen: "off"}
logging: {level: warn}
keystores:
  stores:
    internal: {dev: true, public: true}
    partner: {files: [partner.pem], keys: {partner: {alg: ES256, kid: partner-1}}}
clients:
  static:
    - {id: bench, secret: '$gen', scopes: [read, write], audiences: [https://api.example]}
oauth:
  issuer: "$base"
  rate_limit: {disabled: true}
rules:
  inline:
    department: |
      stsuu.addAttribute(new Attribute("department", "urn:ibm:jwt:claim", "engineering"));
chains:
  - name: exchange
    steps:
      - {id: in, module: jwt, mode: validate, config: {issuers: [{iss: https://partner.example, keystore: partner}], aud: ['$base'], algorithms: [ES256]}}
      - {id: policy, module: oauth, mode: map}
      - {id: rule, module: map, mode: map, config: {rule: department, timeout: 2s}}
      - {id: out, module: jwt, mode: issue, config: {profile: access_token, iss: '$base', signing: {keystore: internal, alg: ES256}, lifetime: 5m}}
    lookup: {request_type: exchange, token_type: "urn:ietf:params:oauth:token-type:jwt", applies_to: https://api.example}
YAML

"$work/chainsts" serve --config "$work/chainsts.yaml" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
	curl -fsS "$base/.well-known/oauth-authorization-server" >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/server.log"; exit 1; }
	sleep 0.1
done

"$work/chainsts-load" run -url "$base" -key "$work/partner-key.pem" -client bench -secret "$secret" \
	-duration "${LOAD_DURATION:-10s}" -concurrency "${LOAD_CONCURRENCY:-8}" -server-pid "$pid" ||
	{ echo "--- server log"; tail -20 "$work/server.log"; exit 1; }
