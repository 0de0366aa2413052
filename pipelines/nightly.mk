# Nightly rebuild: a new day's events join the log, the loop reruns what
# changed, and its figures are compared with the previous night's; a
# regression beyond FAIL_ON (pipelines/loop.conf) fails the run.
#
# Usage: make -f pipelines/nightly.mk BIN=/abs/bin [NEW_EVENTS=day.mpz] [NIGHT=out/nightly]
# Without NEW_EVENTS the simulated shop lives one more day.  A cron line:
#   15 2 * * * cd /srv/promoloop && make nightly NEW_EVENTS=/data/$(date +\%F).mpz
include $(dir $(lastword $(MAKEFILE_LIST)))make.mk

LOOP_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
include $(LOOP_DIR)loop.conf
BIN ?= $(CURDIR)/bin
NIGHT ?= out/nightly
NEW_EVENTS ?=
LOG := $(NIGHT)/events.mpz
# Days of history the log holds (one more each night).
DAYS = $(shell cat $(NIGHT)/days 2>/dev/null || echo $(HISTORY_DAYS))

.PHONY: nightly
nightly:
	mkdir -p $(NIGHT)
	# The first night starts from the simulated history.
	[ -f $(LOG) ] || $(MAKE) --no-print-directory -f $(LOOP_DIR)loop.mk BIN=$(BIN) OUT=$(abspath $(NIGHT))/loop \
	  $(abspath $(NIGHT))/loop/history.mpz
	[ -f $(LOG) ] || { cp $(NIGHT)/loop/history.mpz $(LOG); echo $(HISTORY_DAYS) > $(NIGHT)/days; }
	# The new day: a file of events, or one more simulated day without offers.
	day=$$(date -u -d '$(START) + '$$(cat $(NIGHT)/days)' days' +%F); \
	if [ -n '$(NEW_EVENTS)' ]; then cp '$(NEW_EVENTS)' $(NIGHT)/day.mpz; \
	else printf 'user,offer,holdout\n' | $(BIN)/promo-import -q --kind plan --types user=int,offer=string,holdout=bool \
	  | $(BIN)/promo-synth respond -q --world $(NIGHT)/loop/world.mpz --plan - --start $$day --days 1 \
	      --campaign 999 --seed $$(cat $(NIGHT)/days) -o $(NIGHT)/day.mpz; fi
	$(BIN)/promo-cat --format mpz --kind events -o $(LOG).new $(LOG) $(NIGHT)/day.mpz
	mv $(LOG).new $(LOG)
	echo $$(( $$(cat $(NIGHT)/days) + 1 )) > $(NIGHT)/days
	# Rebuild what changed, then compare with the previous night.
	$(MAKE) --no-print-directory -f $(LOOP_DIR)loop.mk BIN=$(BIN) OUT=$(abspath $(NIGHT))/loop \
	  EVENTS=$(abspath $(LOG)) HISTORY_DAYS=$$(cat $(NIGHT)/days) report
	last=$(NIGHT)/loop/cycle$(CYCLES)/summary.mpz; \
	if [ -f $(NIGHT)/previous.mpz ]; then \
	  $(BIN)/promo-evaluate --task report --compare $(NIGHT)/previous.mpz \
	    --fail-on-regression $(FAIL_ON) $$last $(NIGHT)/loop/cycle$(CYCLES)/intent-eval.mpz; fi; \
	$(BIN)/promo-cat --format mpz -o $(NIGHT)/previous.mpz $$last $(NIGHT)/loop/cycle$(CYCLES)/intent-eval.mpz
