# larder: build, test, lint and benchmark.
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
PKG         := github.com/larder-build/larder
LDFLAGS     := -s -w -X $(PKG)/cmd/larder/cmd.Version=$(VERSION)
BENCHTIME   ?= 1x

.PHONY: all build install setup-test setup-demo test test-short lint bench difftest prepare e2e demo clean

all: build

EMBED       := cmd/larder/indexembed/bin
PREFIX      ?= /usr/local

## build: bin/larder with the linux/amd64 and linux/arm64 larder-index
## binaries embedded (a lone bin/larder bakes for both), and those two
## binaries beside it
build:
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '-s -w -X main.version=$(VERSION)' -o bin/larder-index-linux-amd64 ./cmd/larder-index
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -trimpath -ldflags '-s -w -X main.version=$(VERSION)' -o bin/larder-index-linux-arm64 ./cmd/larder-index
	gzip -9nc bin/larder-index-linux-amd64 > $(EMBED)/larder-index-linux-amd64.gz.tmp && mv $(EMBED)/larder-index-linux-amd64.gz.tmp $(EMBED)/larder-index-linux-amd64.gz
	printf '%s %s\n' "$$(sha256sum < bin/larder-index-linux-amd64 | cut -c1-64)" "$$(sha256sum < $(EMBED)/larder-index-linux-amd64.gz | cut -c1-64)" > $(EMBED)/larder-index-linux-amd64.sha256
	gzip -9nc bin/larder-index-linux-arm64 > $(EMBED)/larder-index-linux-arm64.gz.tmp && mv $(EMBED)/larder-index-linux-arm64.gz.tmp $(EMBED)/larder-index-linux-arm64.gz
	printf '%s %s\n' "$$(sha256sum < bin/larder-index-linux-arm64 | cut -c1-64)" "$$(sha256sum < $(EMBED)/larder-index-linux-arm64.gz | cut -c1-64)" > $(EMBED)/larder-index-linux-arm64.sha256
	CGO_ENABLED=0 $(GO) build -buildvcs=auto -trimpath -ldflags '$(LDFLAGS)' -o bin/larder ./cmd/larder
	cp bin/larder-index-linux-amd64 bin/larder-index

## install: bin/larder into $(PREFIX)/bin (it carries larder-index inside)
install: build
	install -d $(PREFIX)/bin
	install -m 0755 bin/larder $(PREFIX)/bin/larder

## setup-test, setup-demo: the Debian/Ubuntu packages the tests or the
## demo use (installed as root; anyone else is told the command to run)
setup-test:
	@.ci/setup test
setup-demo:
	@.ci/setup demo

## test: every test, with every real client and component they use (set up
## first: a missing one fails a test instead of skipping it); a package may
## take up to 30 minutes on a loaded machine (go test's default is 10)
test: setup-test prepare
	@tmp=$$(mktemp -d "$${TMPDIR:-/tmp}/larder-make-test-XXXXXX") && chmod 711 "$$tmp" && trap 'rm -rf "$$tmp"' EXIT INT TERM && \
	  echo "TMPDIR=$$tmp LARDER_REQUIRE_TOOLS=1 $(GO) test -count=1 -timeout 30m ./..." && \
	  TMPDIR=$$tmp LARDER_REQUIRE_TOOLS=1 $(GO) test -count=1 -timeout 30m ./...

## test-short: the fast tests only: every package's pure-logic tests,
## without those testenv.Slow marks (python3, pip, chromium, containers,
## builds, heavy I/O). The test binaries are linked without symbol table
## and DWARF (-s -w; traces keep their lines): linking the 44 of them is
## still some 38 s of the run's CPU. go vet is left to make lint (-vet=off).
## Four packages run at once (-p 4), not two: many tests wait on a timer
## or a subprocess. Temporary files go to /dev/shm when it is a tmpfs
## with 2 GiB free (a container's is often 64 MB) that can run programs (the tests make, rename and delete thousands of
## files, and a disk mounted with discard pays for each); the go command's
## own files stay where TMPDIR said. The packages whose tests take longest
## (most of it waiting on timers, servers and subprocesses) start first,
## the quick ones filling the cores around them: in go's own order (by
## path) wheelhouse/serve started last and ran alone for its last 20 s.
SHORT_FIRST := ./wheelhouse/serve/ ./images/registrycache/ ./images/ ./cmd/larder/cmd/ ./resolver/ ./resolver/index/ ./wheelhouse/fetch/
test-short:
	@base=$${TMPDIR:-/tmp}; free=$$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $$4}'); \
	  [ "$${free:-0}" -ge 2097152 ] && tmp=$$(mktemp -d /dev/shm/larder-test-XXXXXX 2>/dev/null) && \
	  printf '#!/bin/sh\nexit 0\n' > "$$tmp/x" && chmod 700 "$$tmp/x" && "$$tmp/x" || { [ -n "$$tmp" ] && rm -rf "$$tmp"; tmp=$$(mktemp -d "$$base/larder-test-XXXXXX"); }; \
	  trap 'rm -rf "$$tmp"' EXIT INT TERM; \
	  echo "TMPDIR=$$tmp $(GO) test -short -vet=off -p 4 -parallel 8 -ldflags='-s -w' $(SHORT_FIRST) ./..."; \
	  TMPDIR=$$tmp GOTMPDIR=$${GOTMPDIR:-$$base} $(GO) test -short -vet=off -p 4 -parallel 8 -ldflags='-s -w' $(SHORT_FIRST) ./...

## lint: gofmt, go vet and staticcheck must all be silent
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags difftest ./resolver/pep440/
	$(GO) run $(STATICCHECK) ./...

## bench: every benchmark, with allocations
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -benchtime=$(BENCHTIME) -timeout 60m ./...

## difftest: the differential tests against pip's packaging on the whole
## PyPI version corpus (needs the env library's pypi.tsv)
difftest:
	LARDER_DIFFTEST_FULL=1 $(GO) test -tags difftest -count=1 -timeout 30m -run 'Diff|Reference|SampleIsCurrent' ./resolver/...

## demo: lock, fetch and bake an example project into oci:out/demo, offline
demo: setup-demo build
	$(GO) run ./internal/cmd/demo --bin bin --out out

## e2e: larder's three jobs for real in containers, offline (needs root,
## debootstrap, skopeo, umoci, runc, docker-registry; see .ci/run)
E2E_CACHE ?= $(HOME)/.cache/larder/e2e
BUILDKIT_CACHE ?= $(HOME)/.cache/larder/buildkit

## prepare: what the container tests use, made once and cached: the Debian
## base image (debootstrap, needs Debian's mirror) and buildkitd
prepare: setup-test
	$(GO) build -o bin/e2e ./internal/cmd/e2e
	bin/e2e prepare --cache $(E2E_CACHE)
	bin/e2e buildkit --cache $(BUILDKIT_CACHE)

e2e: setup-test build
	$(GO) build -o bin/e2e ./internal/cmd/e2e
	bin/e2e prepare --cache $(E2E_CACHE)
	unshare --net --fork -- sh -c 'ip link set lo up && exec bin/e2e run --cache $(E2E_CACHE) --bin bin --report bin/e2e-report.json'

clean:
	rm -rf bin
