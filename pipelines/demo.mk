# The demonstration pipeline `make run` runs until the full loop exists:
# import the sample log that ships in data/, then show it.
# Usage: make -f pipelines/demo.mk BIN=/abs/path/to/bin [OUT=out/demo]
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

BIN ?= $(CURDIR)/bin
OUT ?= out/demo
SAMPLE ?= data/sample-events.csv

.PHONY: all
all: $(OUT)/report.txt
	@cat $<
	@echo "demo: report written to $<"

$(OUT):
	mkdir -p $@

# Text log -> events stream (types inferred from the data).
$(OUT)/events.mpz: $(SAMPLE) $(BIN)/promo-import | $(OUT)
	$(BIN)/promo-import --kind events -o $@ $<

# A readable report: the first records, and counts per event type.
$(OUT)/report.txt: $(OUT)/events.mpz $(BIN)/promo-cat
	{ echo "events: $$($(BIN)/promo-cat --count $<)"; \
	  echo; $(BIN)/promo-cat --format table --head 5 $<; \
	  echo; echo "count event"; \
	  $(BIN)/promo-cat --format tsv --no-names --fields event $< | sort | uniq -c | sort -rn; \
	} > $@.tmp
	mv $@.tmp $@
