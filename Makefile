# reelforge build. `make` builds every daemon; `make SANITIZE=1` builds the
# same with AddressSanitizer and UndefinedBehaviorSanitizer into build/san.
# `make run`, `make demo`, `make test` and `make bench` are described in README.md.

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD := build/san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT := -O1 -g
else
BUILD := build/rel
SANFLAGS :=
OPT := -O2 -g
endif

CC ?= cc
# `make fuzz` rebuilds the libraries with clang and libFuzzer's instrumentation into build/fuzz.
ifeq ($(FUZZ_BUILD),1)
BUILD := build/fuzz
CC := clang
SANFLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT := -O1 -g
endif
DAEMONS := api-gateway parse-worker render-worker tts-worker merge-worker webhook-receiver
PKGS := rdkafka libpq libcurl libcjson libuv openssl libavformat libavcodec libavfilter \
	libswresample libswscale libavutil espeak-ng
LLHTTP_SRC := /usr/share/llhttp
LLHTTP_INC := /usr/share/include/llhttp

WARN := -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla \
	-Wwrite-strings -fno-common
CPPFLAGS += -D_GNU_SOURCE -Icommon -I$(LLHTTP_INC) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS := -std=c17 $(OPT) $(WARN) $(SANFLAGS) -MMD -MP
LDFLAGS := $(SANFLAGS) -Wl,--as-needed
# Daemons export their symbols so the plugins they load use the same log, util... as they do.
EXE_LDFLAGS := -rdynamic
LDLIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

COMMON_SRC := $(wildcard common/*.c common/vendors/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
LLHTTP_OBJ := $(BUILD)/llhttp/llhttp.o $(BUILD)/llhttp/api.o $(BUILD)/llhttp/http.o
LIBREEL := $(BUILD)/libreel.a
REEL_CONFIG := $(BUILD)/bin/reel-config
PROVIDERS_TABLE := $(BUILD)/gen/providers_table.o

# Per daemon: every .c beside main.c (and under providers/) goes into lib<daemon>.a,
# so unit tests can link the daemon's modules without its main().
daemon_src = $(filter-out $(1)/main.c,$(wildcard $(1)/*.c $(1)/providers/*.c))
daemon_lib = $(BUILD)/lib$(1).a
DAEMON_LIBS := $(foreach d,$(DAEMONS),$(call daemon_lib,$(d)))
# A daemon's plugin/ folder is built into lib/reel-<daemon>.so, loaded at run
# time only by the providers that need it (see common/plugin.h).
PLUGIN_DAEMONS := $(patsubst %/plugin/,%,$(dir $(wildcard $(DAEMONS:%=%/plugin/*.c))))
PLUGIN_DAEMONS := $(sort $(PLUGIN_DAEMONS))
plugin_objs = $(patsubst %.c,$(BUILD)/pic/%.o,$(wildcard $(1)/plugin/*.c))
PLUGIN_OBJS := $(foreach d,$(PLUGIN_DAEMONS),$(call plugin_objs,$(d)))
PLUGINS := $(PLUGIN_DAEMONS:%=$(BUILD)/lib/reel-%.so)
BINS := $(DAEMONS:%=$(BUILD)/bin/%) $(BUILD)/bin/reel-devbroker $(BUILD)/bin/reelctl $(PLUGINS)
# The gateway serves this copy at /openapi.json (../share beside its binary).
BINS += $(BUILD)/share/openapi.json
BINS += $(BUILD)/bin/reel-assemble $(BUILD)/bin/reel-config

# tests/unit/ mirrors the source folders (tests/unit/common/vendors/test_fal.c);
# the binaries are flat, named for their file (build/<mode>/tests/test_fal).
UNIT_SRC := $(wildcard tests/unit/*/test_*.c tests/unit/*/*/test_*.c)
unit_bin = $(BUILD)/tests/$(basename $(notdir $(1)))
UNIT_BINS := $(foreach t,$(UNIT_SRC),$(call unit_bin,$(t)))

.PHONY: all deps test-deps tests unit e2e test test-fresh run demo bench bench-smoke format format-check clean config-doc \
	config-check hdr-check
all: $(BINS)

deps:
	@bash deploy/install-deps.sh

# The tests' packages too, playwright-core (tests/browser) and stripe (tests/payments), installed
# again only when its lockfile changed: no network once everything is there.
test-deps:
	@bash deploy/install-deps.sh --test
	@cd tests/browser && { cmp -s package-lock.json node_modules/.installed-lock.json || \
		{ PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --silent --no-audit --no-fund && \
		cp package-lock.json node_modules/.installed-lock.json; }; }
	@cd tests/payments && { cmp -s package-lock.json node_modules/.installed-lock.json || \
		{ npm ci --silent --no-audit --no-fund && cp package-lock.json node_modules/.installed-lock.json; }; }

$(BUILD)/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c17 $(OPT) $(SANFLAGS) -I$(LLHTTP_INC) -w -c $< -o $@

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $< (plugin)"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -fPIC -c $< -o $@

# Include paths beyond common/: a daemon's objects see only its own folder, its
# plugin/ and providers/, so including another daemon's header fails to
# compile. reelctl links libapi-gateway and may include the gateway's headers;
# unit tests, fuzz targets, benchmarks and reel-config may include any daemon's. The same
# paths serve hdr-check's objects (build/<mode>/hdr/<folder>/...).
daemon_inc = -I$(1) -I$(1)/plugin -I$(1)/providers
$(foreach d,$(DAEMONS),$(eval $(BUILD)/$(d)/%.o $(BUILD)/pic/$(d)/%.o $(BUILD)/hdr/$(d)/%.o: \
	CPPFLAGS += $(call daemon_inc,$(d))))
$(BUILD)/deploy/reelctl/%.o $(BUILD)/hdr/deploy/reelctl/%.o: CPPFLAGS += -Ideploy/reelctl $(call daemon_inc,api-gateway)
$(BUILD)/tests/%.o $(BUILD)/hdr/tests/%.o: CPPFLAGS += $(foreach d,$(DAEMONS),$(call daemon_inc,$(d)))
$(BUILD)/deploy/reel-config/%.o: CPPFLAGS += $(foreach d,$(DAEMONS),$(call daemon_inc,$(d)))

define plugin_rules
$(BUILD)/lib/reel-$(1).so: $(call plugin_objs,$(1))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -shared -o $$@ $$^ $$(LDLIBS)
endef
$(foreach d,$(PLUGIN_DAEMONS),$(eval $(call plugin_rules,$(d))))

$(LIBREEL): $(COMMON_OBJ) $(LLHTTP_OBJ)
	@rm -f $@
	ar rcs $@ $^

define daemon_rules
$(call daemon_lib,$(1)): $(patsubst %.c,$(BUILD)/%.o,$(call daemon_src,$(1)))
	@rm -f $$@
	$$(if $$^,ar rcs $$@ $$^,printf '!<arch>\n' > $$@)
$(BUILD)/bin/$(1): $(BUILD)/$(1)/main.o $(call daemon_lib,$(1)) $(LIBREEL) $(if $(filter api-gateway,$(1)),$(PROVIDERS_TABLE))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) $$(EXE_LDFLAGS) -o $$@ $$^ $$(LDLIBS) -ldl
endef
$(foreach d,$(DAEMONS),$(eval $(call daemon_rules,$(d))))

# The configuration reference (deploy/reel-config/reel_config.c) links every stage's
# provider registry and the daemons' option tables. The gateway, reelctl and
# the unit tests link the table of provider names it generates
# (common/providers.h): they cannot link the workers' code themselves.
$(REEL_CONFIG): $(BUILD)/deploy/reel-config/reel_config.o $(call daemon_lib,api-gateway) $(call daemon_lib,parse-worker) \
		$(call daemon_lib,render-worker) $(call daemon_lib,tts-worker) $(call daemon_lib,merge-worker) $(LIBREEL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -ldl
ifeq ($(FUZZ_BUILD),1)
# The table is the same whatever the build: the fuzz build takes the sanitized one's.
$(BUILD)/gen/providers_table.c: FORCE
	$(MAKE) --no-print-directory FUZZ_BUILD=0 SANITIZE=1 build/san/gen/providers_table.c
	@mkdir -p $(dir $@)
	cmp -s build/san/gen/providers_table.c $@ || cp build/san/gen/providers_table.c $@
else
$(BUILD)/gen/providers_table.c: $(REEL_CONFIG)
	@mkdir -p $(dir $@)
	$(REEL_CONFIG) names-c > $@.tmp && mv $@.tmp $@
endif
.PHONY: FORCE
$(BUILD)/gen/providers_table.o: $(BUILD)/gen/providers_table.c
	@echo "  CC $<"
	@$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/share/openapi.json: api-gateway/openapi.json
	@mkdir -p $(dir $@)
	cp $< $@

$(BUILD)/bin/reel-devbroker: $(BUILD)/deploy/devbroker/devbroker.o $(LIBREEL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -ldl

# The merge benchmark's driver: the assembler on prepared files (tests/bench/reel_assemble.c).
$(BUILD)/bin/reel-assemble: $(BUILD)/tests/bench/reel_assemble.o $(call plugin_objs,merge-worker) $(LIBREEL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

REELCTL_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(wildcard deploy/reelctl/*.c))
$(BUILD)/bin/reelctl: $(REELCTL_OBJ) $(PROVIDERS_TABLE) $(call daemon_lib,api-gateway) $(LIBREEL)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

define unit_rules
$(call unit_bin,$(1)): $(BUILD)/$(1:.c=.o) $(PLUGIN_OBJS) $(PROVIDERS_TABLE) $(DAEMON_LIBS) $(LIBREEL)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(CHECK_LIBS) $$(LDLIBS) -ldl
endef
$(foreach t,$(UNIT_SRC),$(eval $(call unit_rules,$(t))))

# The benchmark's C submitter (tests/bench/loadgen.c).
LOADGEN := $(BUILD)/tests/reel-loadgen
$(LOADGEN): $(BUILD)/tests/bench/loadgen.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

# The benchmark's instant image vendor (tests/bench/vendor_stub.c).
VENDOR_STUB := $(BUILD)/tests/reel-vendor-stub
$(VENDOR_STUB): $(BUILD)/tests/bench/vendor_stub.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^

tests: $(BINS) $(UNIT_BINS) $(LOADGEN) $(VENDOR_STUB)

unit: tests
	@bash tests/unit/run.sh $(UNIT_BINS)

# `make hdr-check`: every header compiles alone (a .c holding only its
# #include, with the project's flags and its folder's include paths), so no
# header leans on what its includers happened to include before it.
HDRS := $(wildcard common/*.h common/vendors/*.h $(DAEMONS:%=%/*.h) $(DAEMONS:%=%/plugin/*.h) $(DAEMONS:%=%/providers/*.h) \
	deploy/*/*.h)
hdr-check: $(HDRS:%.h=$(BUILD)/hdr/%.o)
	@echo "hdr-check: $(words $(HDRS)) headers compile alone"
$(BUILD)/hdr/%.o: %.h
	@mkdir -p $(dir $@)
	@printf '#include "%s"\n' $(notdir $<) | \
		$(CC) -I$(dir $<) $(CPPFLAGS) $(CFLAGS) -MF $(@:.o=.d) -MT $@ -x c -c - -o $@

# Every tests/e2e/test_*.py starts its own fleet and takes --bin. They run in
# TEST_LANES parallel lanes (tests/e2e/run_lanes.py: ports shifted per lane,
# each file's output printed whole when it ends, times and failures at the end),
# longest first so the lanes end together; files not named here come after.
TEST_LANES ?= 2
E2E_FIRST := $(addprefix tests/e2e/,test_ops.py test_parse.py test_render.py test_api.py test_tts.py \
	test_fleet.py test_live.py test_merge.py test_s3.py test_reliability.py)
E2E_FILES := $(filter $(wildcard tests/e2e/test_*.py),$(E2E_FIRST)) \
	$(filter-out $(E2E_FIRST),$(wildcard tests/e2e/test_*.py))
LANES := python3 tests/e2e/run_lanes.py --lanes $(TEST_LANES) --bin $(BUILD)/bin
e2e: tests
	@$(LANES) $(E2E_FILES)

# The unit tests, the end-to-end files, the bench smoke, the fault suite's
# short form and the fuzz targets (TEST_FUZZ_SECONDS each, a third of `make
# fuzz`'s, to keep make test near its 20 minutes) share the lanes: none of
# them waits for another.
TEST_FUZZ_SECONDS ?= 20
test: test-deps
	$(MAKE) -j2 SANITIZE=1 tests
	@$(MAKE) --no-print-directory -j2 SANITIZE=1 hdr-check
	@$(MAKE) --no-print-directory format-check
	@python3 tests/tools/include_cycles.py
	@python3 tests/tools/prefix_check.py build/san
	$(MAKE) --no-print-directory SANITIZE=1 config-check
	@$(subst build/rel,build/san,$(LANES)) $(wordlist 1,1,$(E2E_FILES)) "$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)" \
		$(wordlist 2,3,$(E2E_FILES)) \
		"bash tests/unit/run.sh $(subst build/rel,build/san,$(UNIT_BINS))" \
		"python3 tests/faults/run_faults.py --bin build/san/bin --jobs 40 --spread 15" \
		$(wordlist 4,$(words $(E2E_FILES)),$(E2E_FILES)) \
		"python3 tests/bench/bench.py --bin build/san/bin --smoke"

# docs/configuration.md, the OpenAPI provider enums and the provider blocks of
# deploy/reelforge.env and the ConfigMap are generated from the provider
# registries and the daemons' option tables (deploy/reel-config/reel_config.c).
config-doc: $(REEL_CONFIG)
	$(REEL_CONFIG) write .
config-check: $(REEL_CONFIG)
	$(REEL_CONFIG) check .

# run, demo and bench build in a second make, started after deps: this one
# was parsed before deps could install the libraries and llhttp's sources that
# the pkg-config flags and the llhttp rules are read from.
run: deps
	@$(MAKE) -j2 --no-print-directory all
	@bash deploy/fleet.sh run $(BUILD)/bin

demo: deps
	@$(MAKE) -j2 --no-print-directory all
	@bash deploy/fleet.sh demo $(BUILD)/bin

bench: deps
	@$(MAKE) -j2 --no-print-directory all $(LOADGEN) $(VENDOR_STUB)
	@python3 tests/bench/bench.py --bin $(BUILD)/bin

# The first run on a bare Debian 12 (tests/fresh/run.sh): a debootstrap root
# with only git and make, this commit cloned into /root, `make demo` there. Needs root.
test-fresh:
	@bash tests/fresh/run.sh

bench-smoke: all $(LOADGEN) $(VENDOR_STUB)
	@python3 tests/bench/bench.py --bin $(BUILD)/bin --smoke

# `make format` lays out every C source as .clang-format says; `make
# format-check` (in `make test`) changes nothing and fails naming the files
# that differ. build/ (generated code, llhttp's copy) and node_modules are not ours.
FORMAT_SRC = $(shell find . \( -path ./build -o -path ./.git -o -path ./.run -o -name node_modules \) -prune -o \
	-name '*.[ch]' -print | sed 's|^\./||' | sort)
format:
	@clang-format -i $(FORMAT_SRC)
format-check:
	@out=$$(clang-format --dry-run --Werror --ferror-limit=1 $(FORMAT_SRC) 2>&1); rc=$$?; \
	files=$$(printf '%s\n' "$$out" | sed -n 's/^\(.*\.[ch]\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' | sort -u); \
	if [ -n "$$files" ]; then \
		echo "format-check: these files differ from .clang-format (make format rewrites them):"; \
		printf '  %s\n' $$files; exit 1; \
	elif [ $$rc -ne 0 ]; then printf '%s\n' "$$out" >&2; exit 1; fi; \
	echo "format-check: $(words $(FORMAT_SRC)) files match .clang-format"

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)

# Reliability: the fault suite (tests/faults/run_faults.py); `make test` runs a short form.
FAULT_JOBS ?= 200
FAULT_SPREAD ?= 40
.PHONY: test-faults
test-faults: tests
	python3 tests/faults/run_faults.py --bin $(BUILD)/bin --jobs $(FAULT_JOBS) --spread $(FAULT_SPREAD)

# Hostile input: libFuzzer targets (tests/fuzz/fuzz_*.c), each run for FUZZ_SECONDS
# from the seeds in tests/fuzz/corpus/<target>; what they find new is kept in build/fuzz/corpus.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := http job_request storyboard webhook replicate fal comfyui payments
FUZZ_BINS := $(FUZZ_TARGETS:%=build/fuzz/fuzz/fuzz_%)
.PHONY: fuzz fuzz-bins
fuzz:
	$(MAKE) FUZZ_BUILD=1 fuzz-bins
	@set -e; for t in $(FUZZ_TARGETS); do echo "== fuzz_$$t ($(FUZZ_SECONDS) s)"; \
		mkdir -p build/fuzz/corpus/$$t; \
		build/fuzz/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
			-artifact_prefix=build/fuzz/crash-$$t- build/fuzz/corpus/$$t tests/fuzz/corpus/$$t; done
fuzz-bins: $(FUZZ_BINS)
build/fuzz/fuzz/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(PROVIDERS_TABLE) $(call daemon_lib,api-gateway) $(call daemon_lib,parse-worker) \
		$(call daemon_lib,webhook-receiver) $(LIBREEL)
	@mkdir -p $(dir $@)
	$(CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)
