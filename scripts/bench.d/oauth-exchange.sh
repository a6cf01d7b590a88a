#!/usr/bin/env bash
# HTTP load on the token-exchange hot path (PRODUCT §12): a real
# `chainsts serve` on loopback exchanges an ES256 subject token for an ES256
# access token through a chain with one mapping rule, driven by
# cmd/chainsts-load. In the same run the load generator measures the
# signature work alone (ES256 verify + sign) and the rule alone (pooled
# runtime), and prints, against the §12 targets: req/s and p50/p99/p99.9
# at maximum throughput and at 70% of it, the server's CPU per request
# (from /proc, user and kernel), the share of it outside crypto and the
# rule, the server's RSS after the run, and its start-up to ready (exec to
# the first 200 from /readyz; a restart, with the first start, which
# generates the development keys, for reference).
#
# LOAD_DURATION (default 10s) and LOAD_CONCURRENCY (default 8) tune it;
# LOAD_LOG_LEVEL (default warn) sets the server's log level (info writes an
# access line and an audit line per request, to a file here);
# CHAINSTS_BIN uses a prebuilt binary (to compare two builds). The server
# and the load generator share the machine's cores, so req/s is a floor;
# the CPU-per-request figures are what the §12 share is judged on. The
# rule's deadline is raised to 2s so that a busy machine measures slow
# requests instead of failing them. The whole run takes about 30 s.
set -euo pipefail
cd "$(dirname "$0")/../.."

work=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${CHAINSTS_BIN:-}" ]; then
	cp "$CHAINSTS_BIN" "$work/chainsts"
else
	go build -o "$work/chainsts" ./cmd/chainsts
fi
go build -o "$work/chainsts-load" ./cmd/chainsts-load
"$work/chainsts-load" keygen -dir "$work"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
admin=$(free_port)
base="http://127.0.0.1:$port"
secret=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
gen=$(printf '%s' "$secret" | "$work/chainsts" secret hash --cost 4)

cat > "$work/department.js" <<'JS'
stsuu.addAttribute(new Attribute("department", "urn:ibm:jwt:claim", "engineering"));
JS
cat > "$work/chainsts.yaml" <<YAML
data_dir: data
server: {listen: "127.0.0.1:$port", admin_listen: "127.0.0.1:$admin"}
logging: {level: ${LOAD_LOG_LEVEL:-warn}}
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
  files: {department: department.js}
chains:
  - name: exchange
    steps:
      - {id: in, module: jwt, mode: validate, config: {issuers: [{iss: https://partner.example, keystore: partner}], aud: ['$base'], algorithms: [ES256]}}
      - {id: policy, module: oauth, mode: map}
      - {id: rule, module: map, mode: map, config: {rule: department, timeout: 2s}}
      - {id: out, module: jwt, mode: issue, config: {profile: access_token, iss: '$base', signing: {keystore: internal, alg: ES256}, lifetime: 5m}}
    lookup: {request_type: exchange, token_type: "urn:ietf:params:oauth:token-type:jwt", applies_to: https://api.example}
YAML

# start prints the milliseconds from exec to the first 200 from /readyz and
# leaves the server running as $pid.
start() {
	local t0
	t0=$(date +%s%N)
	"$work/chainsts" serve --config "$work/chainsts.yaml" >>"$work/server.log" 2>&1 &
	pid=$!
	until curl -fs -o /dev/null "http://127.0.0.1:$admin/readyz"; do
		kill -0 "$pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
		sleep 0.005
	done
	startup_ms=$((($(date +%s%N) - t0) / 1000000))
}
# The first start generates the development keys and the store; the
# measured one is the restart, as scripts/bench.d/startup.sh measures.
start
first_ms=$startup_ms
kill -TERM "$pid"
wait "$pid" || true
start

"$work/chainsts-load" run -url "$base" -key "$work/partner-key.pem" -client bench -secret "$secret" \
	-duration "${LOAD_DURATION:-10s}" -concurrency "${LOAD_CONCURRENCY:-8}" -server-pid "$pid" \
	-rule "$work/department.js" -rule-name department -startup "${startup_ms}ms" -startup-first "${first_ms}ms" ||
	{ echo "--- server log"; tail -20 "$work/server.log"; exit 1; }
