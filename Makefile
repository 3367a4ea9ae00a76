# jupyterops.cloud developer entry points. Every target that needs tools runs `setup` first,
# so a fresh Debian/Ubuntu machine (root) needs nothing else.
SHELL := /bin/bash
VENV  ?= .venv
BIN   := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED := true
# Two workers (the machines have 2 cores); tests that share one demo stay on one worker.
PYTEST_ARGS ?= -n 2 --dist loadgroup --durations=30

.PHONY: help setup images lint test unit integration molecule demo demo-down bench build changelog clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: ## install Debian packages, container config and the pinned venv (idempotent)
	@bash scripts/setup.sh

images: setup ## build (or load from .cache/images) the Debian 12 systemd/SysV and Debian 13 systemd images
	@bash scripts/build-images.sh

lint: setup ## ansible-lint (production profile), yamllint, ruff
	$(BIN)/yamllint -s .
	$(BIN)/ruff check .
	$(BIN)/ansible-lint -q
	$(BIN)/antsibull-changelog lint

unit: setup ## unit tests only
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

integration: images ## integration tests (emulator, containers) without Molecule
	$(BIN)/pytest tests/integration $(PYTEST_ARGS)

molecule: images ## every Molecule scenario
	$(BIN)/pytest tests/molecule $(PYTEST_ARGS)

test: images lint ## the full suite: lint, unit, integration and Molecule scenarios
	$(BIN)/pytest tests $(PYTEST_ARGS)

# ACCESS= (public, a container over podman) or ACCESS=tunnel (the defaults over SSH: tunnel mode, data disk).
ACCESS ?=
demo: images ## the whole build against the local EC2 emulator and a local container (ACCESS=tunnel: over SSH)
	@ACCESS=$(ACCESS) bash scripts/demo.sh up

demo-down: setup ## remove everything `make demo` created (both forms)
	@ACCESS=$(ACCESS) bash scripts/demo.sh down

bench: images ## benchmarks (tables on stdout, JSON under .cache/bench)
	@bash scripts/bench.sh

build: setup ## build the collection tarball
	$(BIN)/ansible-galaxy collection build --force

changelog: setup ## render CHANGELOG.rst from the fragments (release time)
	$(BIN)/antsibull-changelog lint

clean: ## remove build outputs (keeps the image cache)
	rm -f jupyterops-cloud-*.tar.gz
