# plinth: build, test and check. `make help` lists the targets.
# Everything it needs comes from the Go module proxy and is installed into ./bin.

GO            ?= go
BIN           := $(CURDIR)/bin
STATICCHECK   := $(BIN)/staticcheck
STATICCHECK_VERSION := v0.8.2
GO_TEST_ARGS  ?=
FUZZTIME      ?= 20s

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/plinth.
	$(GO) build -o $(BIN)/plinth ./cmd/plinth

.PHONY: test
test: ## Run every test (unit, rule tables, CLI scripts, docs freshness).
	$(GO) test -count=1 $(GO_TEST_ARGS) ./...

.PHONY: race
race: ## Run the tests with the race detector.
	$(GO) test -count=1 -race ./...

.PHONY: lint
lint: $(STATICCHECK) ## gofmt, go vet, staticcheck, go.mod tidiness.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	$(GO) mod tidy -diff

$(STATICCHECK):
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

.PHONY: demo
demo: build ## Run plinth on the bundled example environments.
	$(BIN)/plinth vet --root $(CURDIR)

.PHONY: docs
docs: ## Regenerate docs/environment.md and docs/rules.md from cue/.
	$(GO) test ./lib/schemadoc -run TestDocsUpToDate -update

.PHONY: update-golden
update-golden: docs ## Rewrite expected outputs (CLI scripts, docs); review the diff.
	UPDATE_SCRIPTS=1 $(GO) test ./cmd/plinth

.PHONY: bench
bench: build ## Measure vet (bench/vet.sh).
	bench/vet.sh $(BIN)/plinth

.PHONY: clean
clean: ## Remove build outputs.
	rm -rf $(BIN) cover.out
