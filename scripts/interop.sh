#!/usr/bin/env bash
# Runs the interoperability suites: every tests/interop/<name>/run.sh, in
# name order, from the repository root. A suite installs what it needs
# (npm packages, Debian packages) and exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

shopt -s nullglob
suites=(tests/interop/*/run.sh)
if [ ${#suites[@]} -eq 0 ]; then
	echo "interop: no suites under tests/interop"
	exit 0
fi
for s in "${suites[@]}"; do
	echo "interop: $s"
	bash "$s"
done
echo "interop: ${#suites[@]} suite(s) passed"
