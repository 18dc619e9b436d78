# sealroom: the two commands that do everything are `make demo` and `make test`.
# Each installs what it needs (scripts/install-deps.sh) and is safe to rerun.

JOBS ?= 2
CMAKE_FLAGS ?=

.PHONY: all deps deps-build build build-asan build-fuzz test test-quick fuzz demo bench clean

all: build

deps-build:
	@scripts/install-deps.sh build

deps:
	@scripts/install-deps.sh test

build: deps-build
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j$(JOBS)

build-asan: deps-build
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSR_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j$(JOBS)

build-fuzz: deps
	@CC=clang-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSR_FUZZ=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-fuzz -j$(JOBS)

# Everything: release build, the same suite under ASan+UBSan, a short fuzz run.
test: deps
	@scripts/test.sh

# The release-build suite only (for quick iterations).
test-quick: deps build
	@cd build && ctest --output-on-failure -j$(JOBS)

# A long fuzz run of every target (FUZZ_SECONDS each).
FUZZ_SECONDS ?= 300
fuzz: deps
	@CC=clang-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSR_FUZZ=ON -DSR_FUZZ_SECONDS=$(FUZZ_SECONDS) -DSR_FUZZ_SEED=0 >/dev/null
	@cmake --build build-fuzz -j$(JOBS)
	@cd build-fuzz && ctest -L fuzz --output-on-failure --timeout $$(( $(FUZZ_SECONDS) + 120 ))

demo: deps build
	@scripts/demo.sh

bench: deps build
	@bench/run.sh

clean:
	rm -rf build build-asan build-fuzz
