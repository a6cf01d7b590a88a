# chainsts — common tasks. `make test` is what CI runs (.ci/run).
#
# Other parts of the project hook in without editing the recipes here:
#   fuzz targets      any `func FuzzXxx` in a _test.go file (scripts/fuzz.sh finds them)
#   interop suites    tests/interop/<name>/run.sh (scripts/interop.sh runs them)
#   benchmarks        Go benchmarks, and scripts/bench.d/*.sh for load runs
#   examples          examples/*/chainsts.yaml are checked by `make lint`

GO       ?= go
CONFIG   ?= examples/quickstart/chainsts.yaml
FUZZTIME ?= 5s
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
BIN      := bin/chainsts

.PHONY: all build run test lint vet fmt-check check-examples unit e2e fuzz interop bench clean

all: build

## build: compile bin/chainsts with the version and commit stamped in
build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/chainsts

## run: start the quickstart server (127.0.0.1:8080, admin 127.0.0.1:9090)
run: build
	$(BIN) serve --config $(CONFIG)

## test: the whole suite, as CI runs it
test: lint unit fuzz interop

## lint: go vet, gofmt, and `chainsts check` on every example configuration
lint: vet fmt-check check-examples

vet:
	$(GO) vet ./...

fmt-check:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

check-examples: build
	@set -e; for c in examples/*/chainsts.yaml; do echo "check $$c"; $(BIN) check --config "$$c"; done

## unit: every Go test with the race detector (includes tests/e2e; -count=1
## because the e2e tests build the binary, which the test cache cannot see)
unit:
	$(GO) test -race -count=1 -timeout 12m ./...

## e2e: only the end-to-end tests that drive the real binary
e2e:
	$(GO) test -race -count=1 ./tests/e2e/...

## fuzz: every fuzz target for FUZZTIME (default 5s) each
fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

## interop: the suites under tests/interop (real client libraries)
interop:
	scripts/interop.sh

## bench: Go benchmarks and the load runs in scripts/bench.d
bench:
	scripts/bench.sh

clean:
	rm -rf bin
