# Qraft. The two commands: `make demo` and `make test` (each installs what is missing and builds).
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= 2
PY := .venv/bin/python

.PHONY: setup build build-asan test demo bench crosscheck fmt lint clean

setup:
	@bash scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@ninja -C $(BUILD) -j$(JOBS)

# Debug build with AddressSanitizer and UndefinedBehaviorSanitizer for the unit tests.
build-asan: setup
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DQRAFT_SANITIZE=ON -DQRAFT_BUILD_BENCH=OFF >/dev/null
	@ninja -C $(ASAN_BUILD) -j$(JOBS)

test: build build-asan
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -L unit -j$(JOBS)
	QRAFT_BIN=$(BUILD)/bin/qraft $(PY) -m pytest -q tests/integration

demo: build
	@bash scripts/demo.sh

bench: build
	@bash bench/run.sh

# Cross-checks against the peers' own code (installed into .venv-peers from PyPI).
crosscheck: build
	@bash scripts/setup-peers.sh
	@bash scripts/crosscheck.sh

SOURCES = $(shell git ls-files 'src/*.cc' 'src/*.h' 'bench/*.cc')

fmt:
	clang-format -i $(SOURCES)

lint:
	clang-format --dry-run --Werror $(SOURCES)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
