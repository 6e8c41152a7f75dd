# plinth: build, test and check. `make help` lists the targets.
# Everything it needs comes from the Go module proxy and is installed into ./bin.

GO            ?= go
BIN           := $(CURDIR)/bin
STATICCHECK   := $(BIN)/staticcheck
STATICCHECK_VERSION := v0.8.2
# The tools a user would run instead of plinth: tests compare plinth's
# output with theirs, benchmarks its speed. Built from the Go module proxy.
HELM_VERSION      := v3.22.0
KUSTOMIZE_VERSION := v5.8.1
HELM              := $(BIN)/helm-$(HELM_VERSION)
KUSTOMIZE         := $(BIN)/kustomize-$(KUSTOMIZE_VERSION)
# The shared fixtures: beside the repository, else beside the repository
# this one was cloned from when that is a directory (a clone made
# elsewhere, e.g. in a temporary directory). Tests read it from
# PLINTH_FIXTURES (lib/needs.FixturesDir).
ORIGIN            := $(shell git config --get remote.origin.url 2>/dev/null)
FIXTURES          ?= $(firstword $(wildcard $(CURDIR)/../shared/fixtures $(if $(ORIGIN),$(ORIGIN)/../shared/fixtures)) $(CURDIR)/../shared/fixtures)
export PLINTH_FIXTURES := $(abspath $(FIXTURES))
# Where this repository vendors and renders the fixture-based examples:
# vendor/ at the root would switch the go command to vendor mode.
EXAMPLES          := $(CURDIR)/tmp/examples
GO_TEST_ARGS  ?=
FUZZTIME      ?= 20s

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# plinth version reports these (cmd/plinth/cli/version.go); a build
# without them (go install) reports the go command's build information.
# Not taken from the environment; make build VERSION=v1.2.3 overrides.
VERSION       := $(shell git describe --tags --always --dirty 2>/dev/null)
COMMIT        := $(shell git rev-parse HEAD 2>/dev/null)
BUILD_DATE    := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
VERSION_PKG   := github.com/plinth-platform/plinth/cmd/plinth/cli
LDFLAGS       := -X $(VERSION_PKG).version=$(VERSION) -X $(VERSION_PKG).commit=$(COMMIT) -X $(VERSION_PKG).date=$(BUILD_DATE)
# make install copies bin/plinth here: /usr/local/bin when writable (root),
# else ~/.local/bin (on PATH in most distributions' default profiles).
PREFIX        ?= $(shell [ -w /usr/local/bin ] && echo /usr/local || echo $$HOME/.local)

.PHONY: build
build: ## Build bin/plinth (its version, commit and date from git).
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/plinth ./cmd/plinth

# make image: the controller's image, ghcr.io/plinth-platform/plinth:VERSION,
# without a container daemon (build/image, go-containerregistry): a static
# binary (no cgo, paths trimmed, dated by the commit, not the clock) on an
# empty base, user 65532, as an OCI layout (bin/plinth-image/, which
# `plinth mirror --from oci-layout:` pushes) and as one archive
# (bin/plinth-image.tar, for podman/skopeo/containerd). The same commit
# gives the same digest.
IMAGE_CREATED := $(shell git log -1 --format=%cI 2>/dev/null)
IMAGE_LDFLAGS := -s -w -X $(VERSION_PKG).version=$(VERSION) -X $(VERSION_PKG).commit=$(COMMIT) -X $(VERSION_PKG).date=$(IMAGE_CREATED)

.PHONY: image
image: ## Build the controller's image without a daemon: bin/plinth-image/ (OCI layout) and bin/plinth-image.tar; prints its name and digest.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(IMAGE_LDFLAGS)" -o $(BIN)/image/plinth ./cmd/plinth
	$(GO) run ./build/image -binary $(BIN)/image/plinth -version $(VERSION) -commit $(COMMIT) \
		-created $(IMAGE_CREATED) -layout $(BIN)/plinth-image -archive $(BIN)/plinth-image.tar

.PHONY: install
install: build ## Copy bin/plinth to $(PREFIX)/bin (PREFIX: /usr/local when writable, else ~/.local).
	install -d $(PREFIX)/bin
	install -m 0755 $(BIN)/plinth $(PREFIX)/bin/plinth
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; *) echo "$(PREFIX)/bin is not on PATH: add it, e.g. export PATH=\"$(PREFIX)/bin:\$$PATH\"";; esac

.PHONY: tools
tools: $(HELM) $(KUSTOMIZE) ## Build the reference CLIs (helm, kustomize) into bin/.

$(HELM):
	GOBIN=$(BIN) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	mv $(BIN)/helm $@
	ln -sf $(notdir $@) $(BIN)/helm

$(KUSTOMIZE):
	GOBIN=$(BIN) $(GO) install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	mv $(BIN)/kustomize $@
	ln -sf $(notdir $@) $(BIN)/kustomize

# The real Kubernetes API server, etcd and controller manager for
# apply/drift/reconciler tests, built from Go modules (testbin/), cached in
# bin/ by version. The API server and etcd run through controller-runtime's
# envtest (KUBEBUILDER_ASSETS=$(TESTBIN)), lib/kubetest starts the
# controller manager beside them; make test builds them when missing (about
# 8 minutes on 2 cores, once per version).
K8S_VERSION  := v1.34.4
ETCD_VERSION := v3.6.6
TESTBIN      := $(BIN)/k8s-$(K8S_VERSION)
K8S_LDFLAGS  := -X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34

.PHONY: testbin
testbin: $(TESTBIN)/kube-apiserver $(TESTBIN)/etcd $(TESTBIN)/kube-controller-manager ## Build kube-apiserver, etcd and kube-controller-manager into bin/k8s-<version>/.

$(TESTBIN)/kube-apiserver:
	mkdir -p $(TESTBIN)
	cd testbin/apiserver && $(GO) build -o $@ -ldflags "$(K8S_LDFLAGS)" .

$(TESTBIN)/kube-controller-manager:
	mkdir -p $(TESTBIN)
	cd testbin/controller-manager && $(GO) build -o $@ -ldflags "$(K8S_LDFLAGS)" .

$(TESTBIN)/etcd:
	mkdir -p $(TESTBIN)
	cd testbin/etcd && $(GO) build -o $@ .

# kubectl of the same version, for bench/apply.sh, bench/controller.sh and bench/fleet.sh
# (not part of testbin); `make bin/k8s-<version>/kubectl` builds it too.
KUBECTL_LDFLAGS := $(foreach p,k8s.io/component-base/version k8s.io/client-go/pkg/version,\
	-X $(p).gitVersion=$(K8S_VERSION) -X $(p).gitMajor=1 -X $(p).gitMinor=34)
$(TESTBIN)/kubectl bin/k8s-$(K8S_VERSION)/kubectl:
	mkdir -p $(TESTBIN)
	cd testbin/kubectl && $(GO) build -o $(TESTBIN)/kubectl -ldflags "$(KUBECTL_LDFLAGS)" .

# Chromium, for the test that opens the HTML drift report in a headless
# browser (lib/drift/browser_test.go): Debian's package, installed with
# apt-get when missing (through sudo when not root and sudo exists).
SUDO := $(shell [ "$$(id -u)" = 0 ] || ! command -v sudo >/dev/null || echo sudo)

.PHONY: chromium
chromium: ## Install Chromium (apt-get) for the browser test of the HTML drift report, when missing.
	@command -v chromium >/dev/null || ($(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium)

# A test that needs something from outside the repository fails when it is
# missing, naming what provides it, unless PLINTH_SKIP names it (lib/needs:
# fixtures, chromium, tools, git). make test says up front what this run
# will not cover, and what is missing.
.PHONY: test
test: tools testbin ## Run every test (unit, rule tables, renders vs helm/kustomize, real API server, CLI scripts, docs).
	@for n in $$(echo "$$PLINTH_SKIP" | tr ',' ' '); do case $$n in fixtures|chromium|tools|git) ;; \
		*) echo "make test: PLINTH_SKIP=$$PLINTH_SKIP: unknown name $$n (known: fixtures, chromium, tools, git)"; exit 2;; esac; done
	@if [ -n "$$PLINTH_SKIP" ]; then echo "make test: not covered: the tests that need $$PLINTH_SKIP (PLINTH_SKIP=$$PLINTH_SKIP): they skip"; fi
	@case ",$$PLINTH_SKIP," in *,fixtures,*) ;; *) [ -f "$(PLINTH_FIXTURES)/charts/index.yaml" ] || \
		echo "make test: no shared fixtures at $(PLINTH_FIXTURES): the render tests will fail (PLINTH_SKIP=fixtures skips them)";; esac
	@case ",$$PLINTH_SKIP," in *,chromium,*) ;; *) [ -n "$$CHROMIUM" ] || [ -x /usr/bin/chromium ] || command -v chromium >/dev/null || \
		echo "make test: no Chromium: the browser test will fail (make chromium installs it; PLINTH_SKIP=chromium skips it)";; esac
	KUBEBUILDER_ASSETS=$(TESTBIN) $(GO) test -count=1 $(GO_TEST_ARGS) ./...

# Every fuzz target, each for FUZZTIME from its seed corpus in the
# package's testdata/fuzz (plus what the fuzzer finds in that time).
# Minimising a new input is capped, or CUE-heavy targets stall on it.
# Go 1.26's coordinator can end a run at the FUZZTIME deadline with a bare
# "context deadline exceeded" and no failing input (golang/go#75804, fixed
# in Go 1.27): such a run passes only if replaying the target's corpus
# (go test -run) then passes. A failing input written, a test's own
# message, or any other error fails at once.
FUZZTIME ?= 20s

.PHONY: fuzz
fuzz: ## Run every fuzz target (go test -fuzz) for FUZZTIME (20s) each.
	@set -e; log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for file in $$(grep -rl --include='*_test.go' '^func Fuzz' lib cmd reconciler | sort); do \
	  for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
	    pkg=./$$(dirname $$file); echo "fuzz $$pkg $$target"; \
	    if $(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=10x $$pkg > $$log 2>&1; then cat $$log; continue; fi; \
	    cat $$log; \
	    if grep -q 'Failing input written' $$log || ! grep -q 'context deadline exceeded' $$log || grep -qE '_test\.go:[0-9]+:' $$log; then exit 1; fi; \
	    echo "fuzz $$pkg $$target: Go's fuzztime deadline race (golang/go#75804), no failing input: replaying the corpus"; \
	    $(GO) test -count=1 -run="^$$target$$" $$pkg; \
	  done; \
	done

.PHONY: race
race: testbin ## Run the tests with the race detector.
	KUBEBUILDER_ASSETS=$(TESTBIN) $(GO) test -count=1 -race ./...

# The Environment CRD and deep-copy functions come from the Go types in
# reconciler/api (controller-gen from the Go module proxy). The CRD goes
# where the plinth component renders it from: the embedded overlay
# overlays/plinth-controller.
CONTROLLER_GEN := $(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.20.1

.PHONY: generate
generate: ## Generate the Environment CRD and deep-copy code from reconciler/api.
	GOFLAGS=-mod=mod $(CONTROLLER_GEN) object paths=./reconciler/api/... crd:crdVersions=v1 output:crd:artifacts:config=overlays/plinth-controller/crd

.PHONY: lint
lint: $(STATICCHECK) ## gofmt, go vet, staticcheck, go.mod tidiness, generated code current.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(GO) mod tidy -diff
	$(MAKE) -s generate
	@git diff --exit-code -- reconciler/ overlays/plinth-controller/ && \
		test -z "$$(git ls-files --others --exclude-standard -- reconciler/api overlays/plinth-controller/crd)" || \
		(echo "generated code is stale: run make generate and commit"; exit 1)

$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# The main job end to end, offline, into tmp/demo (demo/run.sh): builds
# plinth and the test binaries (testbin) when missing, vets, vendors prod
# from the fixtures, renders, diffs a change, applies dev to a local API
# server, edits it by hand and reports the drift.
.PHONY: demo
demo: ## The main job, offline: build, vet, vendor and render prod and dev, a PR diff, apply to a local API server, drift (demo/run.sh).
	@MAKE="$(MAKE)" GO="$(GO)" TESTBIN=$(TESTBIN) FIXTURES=$(FIXTURES) demo/run.sh

.PHONY: examples
examples: build ## Vendor prod and okd from ../shared/fixtures and render them into tmp/examples.
	bench/fixture-mirror.sh $(FIXTURES) $(EXAMPLES)/git-mirror
	$(BIN)/plinth vendor prod okd --root $(CURDIR) --vendor-dir $(EXAMPLES)/vendor --lock $(EXAMPLES)/plinth.lock \
		--charts-mirror $(FIXTURES)/charts --git-mirror $(EXAMPLES)/git-mirror
	$(BIN)/plinth render prod okd --root $(CURDIR) --vendor-dir $(EXAMPLES)/vendor --lock $(EXAMPLES)/plinth.lock --out $(EXAMPLES)/deploy

.PHONY: docs
docs: ## Regenerate docs/environment.md and docs/rules.md from cue/, docs/cli.md from the command tree.
	$(GO) test ./docs -run TestGeneratedDocsUpToDate -update

.PHONY: update-golden
update-golden: docs testbin ## Rewrite every expected output (CLI scripts, render and drift goldens, docs, deploy/dev); review the diff.
	UPDATE_SCRIPTS=1 $(GO) test ./cmd/plinth
	$(GO) test ./lib/render -run TestGolden -update
	KUBEBUILDER_ASSETS=$(TESTBIN) $(GO) test ./lib/drift -run TestWriteGolden -update
	$(BIN)/plinth render dev --root $(CURDIR)

# Whole processes, as shipped (a copy of bin/plinth, each run its own
# process): render against helm and kustomize, apply and drift against
# kubectl, the controller, on a local API server (make demo's helper,
# built here) and git server, then a fleet (one controller, three target
# API servers, 30 Environments); then one summary table. RUNS (5) runs of
# each, PUSHES (5) pushes for the controller (3, plus one to all, for the
# fleet). About 40 minutes on 2 cores (the fleet 8 to 9).
.PHONY: bench
bench: build tools testbin $(TESTBIN)/kubectl ## Measure vet, render, diff, apply, drift, the controller and a fleet of 30 environments on 3 clusters against cue, helm, kustomize and kubectl (bench/*.sh).
	$(GO) build -o $(BIN)/plinth-demo-cluster ./demo/cluster
	bench/vet.sh $(BIN)/plinth
	FIXTURES=$(FIXTURES) bench/render.sh
	FIXTURES=$(FIXTURES) bench/diff.sh
	KUBEBUILDER_ASSETS=$(TESTBIN) KUBECTL=$(TESTBIN)/kubectl bench/apply.sh
	KUBEBUILDER_ASSETS=$(TESTBIN) KUBECTL=$(TESTBIN)/kubectl bench/controller.sh
	KUBEBUILDER_ASSETS=$(TESTBIN) KUBECTL=$(TESTBIN)/kubectl bench/fleet.sh
	bench/summary.sh

.PHONY: clean
clean: ## Remove build outputs.
	rm -rf $(BIN) cover.out
