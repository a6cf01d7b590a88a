#!/usr/bin/env bash
# Runs the benchmarks: Go benchmarks (BENCH selects them, default all;
# BENCHTIME sets -benchtime), then every scripts/bench.d/*.sh, which may start
# a server and drive load against it. Output is printed and saved to
# bench.out. Each script prints the figures it measures and the ratios the
# targets in PRODUCT §12 are stated in, so anyone can re-run them.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH="${BENCH:-.}"
BENCHTIME="${BENCHTIME:-1s}"
PKGS="${PKGS:-./...}"
{
	echo "# go benchmarks ($(go version))"
	go test -run '^$' -bench "$BENCH" -benchtime "$BENCHTIME" -benchmem $PKGS
	shopt -s nullglob
	for s in scripts/bench.d/*.sh; do
		echo "# $s"
		bash "$s"
	done
} 2>&1 | tee bench.out
