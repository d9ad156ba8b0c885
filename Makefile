# Tributary — change data capture from PostgreSQL to Kafka.
SHELL := /bin/bash
.DEFAULT_GOAL := help

APT_PACKAGES := libpq-dev librdkafka-dev postgresql kcat
SWIFT ?= swift

help:
	@echo "make demo   run a connector against a throwaway PostgreSQL and embedded Kafka, show the events"
	@echo "make test   install what is needed, build, lint and run every test"
	@echo "make setup  install the Debian packages the project needs (idempotent)"
	@echo "make build  release build (.build/release/tributary)"
	@echo "make bench  snapshot rows/s next to COPY TO /dev/null (release build; N= rows)"

# Installs only what is missing, so it is quick and quiet on a prepared machine.
setup:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing: $$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@pkg-config --exists libpq rdkafka || { echo "pkg-config cannot find libpq or rdkafka after setup"; exit 1; }

build: setup
	$(SWIFT) build -c release --product tributary

lint:
	$(SWIFT) format lint --strict --recursive --parallel Package.swift Sources Tests

test: setup lint
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo: build
	./scripts/demo.sh

# Benchmarks use the release build. N= sets the row count.
bench: build
	./scripts/bench-snapshot.sh

.PHONY: help setup build lint test demo bench
