#!/usr/bin/env bash
# JWT issue/validate per algorithm next to raw crypto/* in the same run:
# prints the overhead (everything but the signature) and the ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
CHAINSTS_BENCH=1 go test -count=1 -run '^TestBenchTable$' -v ./modules/jwt | grep -v -e '^=== RUN' -e '^--- PASS' -e '^PASS' -e '^ok'
