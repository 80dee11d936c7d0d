# Parley: the two commands are `make run` and `make test`. `make` builds everything.
# Both install what they need from Debian's packages (scripts/deps.sh) and npm (`npm ci`).
JOBS ?= $(shell nproc)
MAKEFLAGS += --no-print-directory
DATA_DIR ?= ./var
LISTEN ?= 127.0.0.1:8080

.PHONY: all build web deps deps-test run test unit integ e2e fuzz fuzz-build bench clean format

all: deps build web

deps:
	@scripts/deps.sh build

deps-test:
	@scripts/deps.sh test

build:
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPARLEY_TESTS=OFF >/dev/null
	@cmake --build build -j $(JOBS) --target parleyd

build-asan/parleyd: FORCE
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPARLEY_SANITIZE=ON -DPARLEY_TESTS=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)

web:
	@if [ -f web/package.json ]; then scripts/web.sh; fi

run: all
	@mkdir -p $(DATA_DIR)
	@echo "Parley: starting parleyd (data in $(DATA_DIR)); console at http://$(LISTEN)/ ; Ctrl-C stops it"
	exec build/parleyd --listen $(LISTEN) --data-dir $(DATA_DIR) --web-dir web/dist

test: deps-test web build-asan/parleyd
	@scripts/test.sh

unit: build-asan/parleyd
	@cd build-asan && ctest --output-on-failure

integ: build-asan/parleyd
	@node --test tests/integ/

e2e: web build-asan/parleyd
	@cd tests/e2e && node --test

# The libFuzzer harnesses (tests/fuzz, clang, build-fuzz/): FUZZ_TIME seconds each (default 60),
# one at a time; executions per harness at the end; non-zero on a crash (input kept).
fuzz: fuzz-build
	@scripts/fuzz.sh run

fuzz-build: deps-test
	@scripts/fuzz.sh build

bench: deps build
	@cmake --build build -j $(JOBS) --target loadgen route_sim sqlite_ceiling send_ceiling
	@bench/bench.sh

format:
	@clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'bench/*.c' 'tools/*.c')

clean:
	rm -rf build build-asan build-fuzz

FORCE:
