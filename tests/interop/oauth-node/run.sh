#!/usr/bin/env bash
# Interop with real OAuth client libraries: oauth4webapi (discovery, client
# credentials with three authentication methods, token exchange and the JWT
# bearer grant through the generic grant API, introspection, revocation) and
# jose (createRemoteJWKSet + jwtVerify on every issued token), against a
# `chainsts serve` process on loopback. Installs the npm packages from the
# committed lockfile (npm ci).
set -euo pipefail
cd "$(dirname "$0")/../../.."
root=$PWD
suite=tests/interop/oauth-node

work=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

(cd "$suite" && npm ci --no-audit --no-fund --loglevel=error)
go build -o "$work/chainsts" ./cmd/chainsts
node "$suite/setup.mjs" "$work"

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port=$(free_port)
secret=interop-$(node -e 'console.log(require("crypto").randomBytes(16).toString("hex"))')
hash=$(printf '%s' "$secret" | "$work/chainsts" secret hash --cost 4)
base="http://127.0.0.1:$port"

issue="{id: out, module: jwt, mode: issue, config: {profile: access_token, iss: '$base', token_type: 'urn:ietf:params:oauth:token-type:access_token', signing: {keystore: internal, alg: ES256}, lifetime: 5m, aud: [https://api.example]}}"
cat > "$work/chainsts.yaml" <<YAML
data_dir: data
server: {listen: "127.0.0.1:$port", admin_listen: "off"}
logging: {level: warn}
store: {driver: sqlite}
keystores:
  stores:
    internal: {dev: true, public: true}
    partner: {files: [partner.jwks]}
clients:
  static:
    - {id: interop-basic, secret: '$hash', scopes: [read, write], audiences: [https://api.example]}
    - {id: interop-post, secret: '$hash', auth_method: client_secret_post}
    - {id: interop-pkj, auth_method: private_key_jwt, jwks: '@client.jwks'}
    - {id: interop-opaque, secret: '$hash', access_token_format: opaque}
oauth:
  issuer: "$base"
  jwt_bearer:
    issuers:
      - {issuer: https://partner.example, jwks: '@partner.jwks', algorithms: [ES256]}
chains:
  - name: client-credentials
    steps:
      - {id: in, module: oauth, mode: validate}
      - {id: policy, module: oauth, mode: map}
      - $issue
    lookup: {request_type: issue, token_type: "urn:ietf:params:oauth:grant-type:client_credentials"}
  - name: jwt-bearer
    steps:
      - {id: in, module: oauth, mode: validate}
      - {id: policy, module: oauth, mode: map}
      - $issue
    lookup: {request_type: issue, issuer: https://partner.example, token_type: "urn:ietf:params:oauth:token-type:jwt"}
  - name: exchange
    steps:
      - {id: in, module: jwt, mode: validate, config: {issuers: [{iss: https://partner.example, keystore: partner}], aud: ['$base'], algorithms: [ES256]}}
      - {id: policy, module: oauth, mode: map}
      - {id: out, module: jwt, mode: issue, config: {profile: access_token, iss: '$base', token_type: 'urn:ietf:params:oauth:token-type:access_token', signing: {keystore: internal, alg: ES256}, lifetime: 5m}}
    lookup: {request_type: exchange, token_type: "urn:ietf:params:oauth:token-type:jwt", applies_to: https://api.example}
  - name: introspect
    steps:
      - {id: in, module: jwt, mode: validate, config: {profile: access_token, issuers: [{iss: '$base', keystore: internal}], algorithms: [ES256]}}
    lookup: {request_type: validate, applies_to: '$base', token_type: "urn:ietf:params:oauth:token-type:access_token"}
YAML

"$work/chainsts" serve --config "$work/chainsts.yaml" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
	if curl -fsS "$base/.well-known/oauth-authorization-server" >/dev/null 2>&1; then break; fi
	if ! kill -0 "$pid" 2>/dev/null; then cat "$work/server.log"; echo "chainsts did not start"; exit 1; fi
	sleep 0.1
done

status=0
CHAINSTS_URL="$base" CHAINSTS_INTEROP_DIR="$work" CHAINSTS_CLIENT_SECRET="$secret" \
	node --test "$root/$suite/test.mjs" || status=$?
if [ $status -ne 0 ]; then
	echo "--- server log"; cat "$work/server.log"
fi
exit $status
