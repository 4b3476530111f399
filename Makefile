# tsync — the README's two set-up commands are `make run` and `make test`.
# Everything builds with meson/ninja; this file only names the common tasks.
BUILD ?= build
ASAN  ?= build-asan
FUZZ  ?= build-fuzz
CONF  ?= conf/tsyncd.conf
ARGS  ?=

.PHONY: all deps deps-build build run test bench sim check-config clean

all: build

# Installs missing Debian packages (as root), or prints the apt-get command to run.
deps:
	tools/deps.sh test

deps-build:
	tools/deps.sh build

build: deps-build
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) -Dtests=false
	ninja -C $(BUILD)

# Starts tsyncd in the foreground on the shipped config; on a machine whose clock
# must not move, pass ARGS=-x.
run: build
	$(BUILD)/src/daemon/tsyncd -d -f $(CONF) $(ARGS)

check-config: build
	$(BUILD)/src/daemon/tsyncd --check-config -f $(CONF)

# Unit tests under ASan+UBSan, purity check, fuzz smoke runs, config checks and the
# real-peer interop tests in network namespaces.
test: deps
	tools/run-tests.sh

# Serve throughput, then accuracy (fake clock), each against chronyd in the same run;
# both run even when the first misses a target, and make fails if either did.
bench: deps build
	@rc=0; bench/serve.sh $(BUILD) || rc=1; bench/accuracy/run.sh $(BUILD) || rc=1; exit $$rc

# Runs every scenario of sim/scenarios through tsync-sim (the real core on virtual clocks
# and a virtual network) and prints its report; CSV and SVG plots land in $(BUILD)/sim-out.
sim: build
	@mkdir -p $(BUILD)/sim-out
	@for f in sim/scenarios/*.scn; do \
		n=$$(basename $$f .scn); \
		$(BUILD)/sim/tsync-sim --csv $(BUILD)/sim-out/$$n.csv \
			--svg $(BUILD)/sim-out/$$n.svg $$f || exit 1; \
		echo; \
	done

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
