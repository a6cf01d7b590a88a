#!/usr/bin/env bash
# Runs every Go fuzz target in the module for FUZZTIME (default 5s) each.
# Targets are discovered: any `func FuzzXxx(` in a _test.go file. Seed
# corpora live in each package's testdata/fuzz/FuzzXxx; a failing input found
# here is written there too, so it becomes a regression test.
#
#   scripts/fuzz.sh                 all targets
#   scripts/fuzz.sh ./sts/...       targets of some packages
#   FUZZTIME=1m scripts/fuzz.sh     longer runs
#
# FUZZMINIMIZETIME (default 3s) bounds the minimization of each new
# interesting input, which otherwise can stall a short run for a minute.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME="${FUZZTIME:-5s}"
FUZZMINIMIZETIME="${FUZZMINIMIZETIME:-3s}"
pkgs=("$@")
[ ${#pkgs[@]} -eq 0 ] && pkgs=(./...)

count=0
while read -r dir pkg; do
	mapfile -t targets < <(grep -hoE '^func (Fuzz[A-Za-z0-9_]*)\(' "$dir"/*_test.go 2>/dev/null | sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(/\1/' | sort -u)
	for t in "${targets[@]}"; do
		echo "fuzz $pkg $t ($FUZZTIME)"
		go test -run '^$' -fuzz "^${t}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZETIME" "$pkg"
		count=$((count + 1))
	done
done < <(go list -f '{{.Dir}} {{.ImportPath}}' "${pkgs[@]}")
echo "fuzz: $count target(s) passed"
