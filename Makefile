# promoloop: one Makefile builds the shared library, every filter, the tests.
#   make            build bin/promo-*          make test   unit + bats tests
#   make run        the demonstration loop     make bench  speed against peers
#   make fuzz       libFuzzer targets          make V=1    show commands
# SANITIZE=1 builds with ASan+UBSan into build/san (binaries in build/san/bin).
# MPI=1 builds with Open MPI into build/mpi (binaries in build/mpi/bin): the
# trainers become data-parallel under mpirun (docs/scale.md); bin/ stays MPI-free.

.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules
.SUFFIXES:

CC       ?= cc
PKGS     := zlib libdeflate msgpack openblas
OPT      ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes -Wmissing-prototypes -Wno-sign-compare
CPPFLAGS += -Icommon -D_GNU_SOURCE $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS   += -std=c11 $(OPT) $(WARN) -pthread
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -lpthread

ifeq ($(MPI),1)
ifeq ($(SANITIZE),1)
$(error MPI=1 and SANITIZE=1 together are not supported: build one tree at a time)
endif
BUILD    := build/mpi
BIN      := build/mpi/bin
CPPFLAGS += -DPROMO_MPI $(shell pkg-config --cflags ompi-c 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs ompi-c 2>/dev/null)
MPI_OK   := ompi-c
else ifeq ($(SANITIZE),1)
BUILD    := build/san
BIN      := build/san/bin
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
else
BUILD    := build/rel
BIN      := bin
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
LIB        := $(BUILD)/libpromo.a
FILTERS    := $(patsubst filters/%.c,%,$(wildcard filters/promo-*.c))
PROGS      := $(FILTERS:%=$(BIN)/%)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNITS      := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all deps run nightly test unit bats bench fuzz clean
all: $(PROGS)

# Object files with header dependencies tracked by the compiler.
$(BUILD)/%.o: %.c | deps-ok
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(COMMON_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN)/%: $(BUILD)/filters/%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

-include $(COMMON_OBJ:.o=.d) $(PROGS:$(BIN)/%=$(BUILD)/filters/%.d) $(UNIT_SRC:%.c=$(BUILD)/%.d)

# Install missing Debian packages (a no-op when all are present).
deps:
	$(Q)tools/install-deps build test browser mpi
# Compiling needs the libraries' headers: say how to get them.
.PHONY: deps-ok units
deps-ok:
	@pkg-config --exists $(PKGS) || { echo "missing libraries: run 'make deps' as root (or see tools/install-deps)" >&2; exit 1; }
	@$(if $(MPI_OK),pkg-config --exists $(MPI_OK) || { echo "missing Open MPI: run 'tools/install-deps mpi' as root" >&2; exit 1; })
units: $(UNITS)

# The README's main command: set up, build, run the promotion loop (three
# campaign cycles on the simulated shop; parameters in pipelines/loop.conf).
# Packages are installed first and the build runs in a sub-make, so the
# compiler flags from pkg-config are read after the install.
run:
	$(Q)tools/install-deps build
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory -f pipelines/loop.mk BIN=$(abspath $(BIN))

# A new day's events (NEW_EVENTS=file, else one more simulated day), the
# loop rebuilt, and its figures compared with the previous night's.
nightly:
	$(Q)tools/install-deps build
	$(Q)$(MAKE) --no-print-directory all
	$(Q)$(MAKE) --no-print-directory -f pipelines/nightly.mk BIN=$(abspath $(BIN))

# The README's test command: unit tests, then bats tests; last line "N passed, N failed".
test: deps
	$(Q)$(MAKE) --no-print-directory all units
	$(Q)$(if $(filter 1,$(SANITIZE) $(MPI)),,$(MAKE) --no-print-directory MPI=1 all)
	$(Q)PROMO_SANITIZE=$(if $(filter 1,$(SANITIZE)),1,0) tests/run --bin $(abspath $(BIN)) --units $(abspath $(BUILD)/tests)

bench: deps
	$(Q)tools/install-deps bench
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tools/bench --bin $(abspath $(BIN))

fuzz:
	$(Q)tools/install-deps fuzz
	$(Q)tools/fuzz $(if $(FUZZ_SECONDS),--seconds $(FUZZ_SECONDS))

clean:
	rm -rf build bin out
