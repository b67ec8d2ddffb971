# innoquim_failover: PGXS build.
#
#   make && make install           build and install (PG_CONFIG overridable)
#   make installcheck              pg_regress (sql/, expected/) then TAP (test/t/)
#   make unitcheck                 standalone C tests of the pure modules (no server)
#
# The whole suite, with dependencies and an unprivileged user, is scripts/test.sh.

EXTENSION  = innoquim_failover
MODULE_big = innoquim_failover
OBJS = \
	src/innoquim_failover.o \
	src/decision.o \
	src/state.o \
	src/sampler.o \
	src/worker.o \
	src/report.o \
	src/conninfo.o \
	src/sql_api.o \
	src/http_request.o \
	src/http_response.o \
	src/http_server.o \
	src/failover.o \
	src/ha_state.o \
	src/ha_sql.o \
	src/fence.o \
	src/peer.o \
	src/agent.o
PGFILEDESC = "innoquim_failover - health, role and failover from inside PostgreSQL"

DATA = sql/innoquim_failover--1.0.sql

REGRESS = objects access health gucs health_json failover
REGRESS_OPTS = --temp-config=$(srcdir)/test/regress.conf --temp-instance=tmp_regress

TAP_TESTS = 1
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))

PG_CPPFLAGS = -I$(libpq_srcdir)
SHLIB_LINK_INTERNAL = $(libpq)
SHLIB_LINK = -lhttp_parser

EXTRA_CLEAN = tmp_regress test/unit/decision_test test/unit/failover_test test/unit/*.o test/fuzz/http_request_fuzz

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# after pgxs, which resets PROVE_FLAGS: shared TAP helpers live in test/perl
PROVE_FLAGS += -I $(srcdir)/test/perl

ifneq ($(MAJORVERSION),15)
$(error innoquim_failover supports PostgreSQL 15 only; $(PG_CONFIG) reports $(MAJORVERSION))
endif

# PGXS tracks no header dependencies: rebuild everything when a header moves
$(OBJS): $(wildcard $(srcdir)/src/*.h)

# Unit tests of the pure decision module: plain C, no server, TAP output.
UNIT_CFLAGS = -O1 -g -Wall -Wextra -Werror -std=c99 -I$(srcdir)/src
test/unit/decision_test: test/unit/decision_test.c src/decision.c src/decision.h
	$(CC) $(UNIT_CFLAGS) -o $@ test/unit/decision_test.c src/decision.c

test/unit/failover_test: test/unit/failover_test.c src/failover.c src/failover.h
	$(CC) $(UNIT_CFLAGS) -o $@ test/unit/failover_test.c src/failover.c

unitcheck: test/unit/decision_test test/unit/failover_test
	$(PROVE) -v test/unit/decision_test test/unit/failover_test

.PHONY: unitcheck

# libFuzzer target for the HTTP request reader (test/fuzz/), built with
# clang, AddressSanitizer and UndefinedBehaviorSanitizer (the system
# libhttp_parser is not instrumented; our code is).  fuzzcheck runs it for
# FUZZ_SECONDS on a scratch copy of test/fuzz/corpus, so the seeds in the tree
# stay as they are, and fails on any crash, leak, hang (-timeout, seconds per
# input) or broken invariant; the failing input is then kept in the scratch
# dir, whose path is printed (libFuzzer also prints it in Base64).
FUZZ_SECONDS ?= 60
FUZZ_CC = clang
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_FLAGS = -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=10 \
	-max_len=8192 -print_final_stats=1 -dict=$(srcdir)/test/fuzz/http_request.dict

test/fuzz/http_request_fuzz: test/fuzz/http_request_fuzz.c src/http_request.c src/http_request.h
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I$(srcdir)/src $(srcdir)/test/fuzz/http_request_fuzz.c \
		$(srcdir)/src/http_request.c -lhttp_parser -o $@

fuzzcheck: test/fuzz/http_request_fuzz
	@work=$$(mktemp -d "$${TMPDIR:-/tmp}/iqf-fuzz.XXXXXX") || exit 1; \
	cp -R $(srcdir)/test/fuzz/corpus "$$work/corpus" || exit 1; \
	echo "fuzzing test/fuzz/http_request_fuzz for $(FUZZ_SECONDS) s on a copy of the corpus in $$work"; \
	if test/fuzz/http_request_fuzz $(FUZZ_FLAGS) -artifact_prefix="$$work/" "$$work/corpus"; then \
		rm -rf "$$work"; \
	else \
		echo "FAILED: fuzzcheck; the failing input is kept in $$work:" >&2; \
		ls "$$work" | grep -v '^corpus$$' >&2; \
		exit 1; \
	fi

.PHONY: fuzzcheck
