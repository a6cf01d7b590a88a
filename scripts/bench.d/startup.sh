#!/usr/bin/env bash
# Start-up to ready with the quickstart configuration (PRODUCT §12: at most
# 300 ms): the time from starting `chainsts serve` to the first 200 from
# /readyz, measured from outside the process. The first start of a fresh
# data directory generates the dev keys and creates the store; the later
# starts reuse them. STARTUP_RUNS (default 5) sets the number of warm starts.
set -euo pipefail
cd "$(dirname "$0")/../.."

runs="${STARTUP_RUNS:-5}"
work=$(mktemp -d)
pid=""
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/chainsts" ./cmd/chainsts
mkdir "$work/qs"
(cd examples/quickstart && tar --exclude=./data -cf - .) | tar -xf - -C "$work/qs"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
admin=$(free_port)
sed -i -e "s/127.0.0.1:8080/127.0.0.1:$port/g" -e "s/127.0.0.1:9090/127.0.0.1:$admin/g" "$work/qs/chainsts.yaml"

# start_once prints the milliseconds from exec to the first ready answer.
start_once() {
	local t0 t1
	t0=$(date +%s%N)
	"$work/chainsts" serve --config "$work/qs/chainsts.yaml" --log-level warn >>"$work/server.log" 2>&1 &
	pid=$!
	until curl -fs -o /dev/null "http://127.0.0.1:$admin/readyz"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "chainsts exited; log:" >&2
			cat "$work/server.log" >&2
			exit 1
		fi
		sleep 0.005
	done
	t1=$(date +%s%N)
	kill -TERM "$pid"
	wait "$pid" || true
	pid=""
	echo $(((t1 - t0) / 1000000))
}

first=$(start_once)
warm=()
for _ in $(seq "$runs"); do
	warm+=("$(start_once)")
done
sorted=$(printf '%s\n' "${warm[@]}" | sort -n)
median=$(echo "$sorted" | sed -n "$(((runs + 1) / 2))p")
worst=$(echo "$sorted" | tail -1)
echo "startup to ready (quickstart): first start ${first} ms (keys generated), warm median ${median} ms, worst ${worst} ms over ${runs} runs; target <= 300 ms"
