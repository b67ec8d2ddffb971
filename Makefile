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
	src/http_server.o
PGFILEDESC = "innoquim_failover - health, role and failover from inside PostgreSQL"

DATA = sql/innoquim_failover--1.0.sql

REGRESS = objects access health gucs health_json
REGRESS_OPTS = --temp-config=$(srcdir)/test/regress.conf --temp-instance=tmp_regress

TAP_TESTS = 1
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))

PG_CPPFLAGS = -I$(libpq_srcdir)
SHLIB_LINK_INTERNAL = $(libpq)
SHLIB_LINK = -lhttp_parser

EXTRA_CLEAN = tmp_regress test/unit/decision_test test/unit/*.o

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# after pgxs, which resets PROVE_FLAGS: shared TAP helpers live in test/perl
PROVE_FLAGS += -I $(srcdir)/test/perl

ifneq ($(MAJORVERSION),15)
$(error innoquim_failover supports PostgreSQL 15 only; $(PG_CONFIG) reports $(MAJORVERSION))
endif

# Unit tests of the pure decision module: plain C, no server, TAP output.
UNIT_CFLAGS = -O1 -g -Wall -Wextra -Werror -std=c99 -I$(srcdir)/src
test/unit/decision_test: test/unit/decision_test.c src/decision.c src/decision.h
	$(CC) $(UNIT_CFLAGS) -o $@ test/unit/decision_test.c src/decision.c

unitcheck: test/unit/decision_test
	$(PROVE) -v test/unit/decision_test

.PHONY: unitcheck
