# The promotion feedback loop, as make rules in processing order.
#
#   events -> clean -> featurize -> train (segments, uplift, intent,
#   recommender) -> score -> plan -> the campaign plays out -> measure ->
#   the campaign week's events join the log -> next cycle
#
# Usage: make -f pipelines/loop.mk BIN=/abs/bin [OUT=out/loop] [PARAM=value ...]
# Parameters: pipelines/loop.conf.  Every stage's output depends on its
# inputs, its program and a parameter file that changes only when that
# stage's parameters change, so an edit reruns just what it affects.
# docs/loop.md draws the files each stage reads and writes.
# TIMING=FILE appends each recipe line's target and wall time to FILE
# (bench/loop.sh sums them by stage).

include $(dir $(lastword $(MAKEFILE_LIST)))make.mk
# Every file the loop writes is kept (none is an intermediate to delete),
# so a rerun rebuilds only what changed.
.SECONDARY:

LOOP_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
include $(LOOP_DIR)loop.conf

BIN ?= $(CURDIR)/bin
OUT ?= out/loop

# ---- dates: cycle c starts T_c = START + HISTORY_DAYS + (c-1) * CYCLE_DAYS
day = $(shell date -u -d '$(START) + $(1) days' +%F)
T1 := $(call day,$(HISTORY_DAYS))
cycle_start = $(call day,$(shell echo $$(( $(HISTORY_DAYS) + ($(1) - 1) * $(CYCLE_DAYS) ))))
cycle_end = $(call day,$(shell echo $$(( $(HISTORY_DAYS) + $(1) * $(CYCLE_DAYS) ))))
CYCLE_LIST := $(shell seq 1 $(CYCLES))
# The offers' ids: the planner gets an uplift model of each.
OFFER_IDS := $(shell tail -n +2 $(OFFERS) | cut -d, -f1)
$(if $(OFFER_IDS),,$(error OFFERS=$(OFFERS): no offer ids read))
OFFER_LIST := $(subst $(space),$(comma),$(strip $(OFFER_IDS)))

# ---- parameter files (params: pipelines/make.mk), one per stage
$(call params,world,users=$(USERS) items=$(ITEMS) seed=$(WORLD_SEED) wish=$(WISH_RATE) deal=$(DEAL_SIGNAL))
$(call params,history,start=$(START) days=$(HISTORY_DAYS) campaigns=$(PAST_CAMPAIGNS) dirt=$(DIRT) seed=$(EVENTS_SEED) events=$(EVENTS))
$(call params,clean,max_events_per_day=$(MAX_EVENTS_PER_DAY))
$(call params,kmeans,k=$(K) fields=$(KMEANS_FIELDS))
$(call params,uplift,fields=$(UPLIFT_FIELDS) trees=$(UPLIFT_TREES) depth=$(UPLIFT_DEPTH) min_leaf=$(UPLIFT_MIN_LEAF) opts=$(UPLIFT_OPTS))
$(call params,intent,model=$(INTENT_MODEL) fields=$(INTENT_FIELDS) epochs=$(INTENT_EPOCHS))
$(call params,cf,algo=$(CF_ALGO) factors=$(CF_FACTORS) recommend=$(RECOMMEND))
$(call params,plan,budget=$(BUDGET) holdout=$(HOLDOUT) seed=$(PLAN_SEED) offers=$(OFFERS) cycle_days=$(CYCLE_DAYS))

.PHONY: all report
all: report
report: $(OUT)/report.txt $(OUT)/report.html
	@cat $(OUT)/report.txt
	@echo
	@echo "loop: report written to $(abspath $(OUT)/report.html)"

$(OUT) $(addprefix $(OUT)/cycle,$(CYCLE_LIST)):
	mkdir -p $@

# ---- the shop -------------------------------------------------------------

# The hidden world: customers, items, responses to offers.
$(OUT)/world.mpz: $(P)/world.txt $(BIN)/promo-synth | $(OUT)
	$(BIN)/promo-synth world -q --users $(USERS) --items $(ITEMS) --wish-rate $(WISH_RATE) \
	  --deal-signal $(DEAL_SIGNAL) --seed $(WORLD_SEED) -o $@

# The world's items with price and margin, for measuring profit.
$(OUT)/items.csv: $(OUT)/world.mpz $(BIN)/promo-cat
	$(BIN)/promo-cat --where type=item --fields item,price,margin -o $@ $<

# The history: the behaviour log with past randomized campaigns (or EVENTS).
$(OUT)/history.mpz: $(P)/history.txt $(OUT)/world.mpz $(BIN)/promo-synth $(EVENTS)
	$(if $(EVENTS),$(BIN)/promo-cat --format mpz --kind events -o $@ $(EVENTS), \
	  $(BIN)/promo-synth events -q --world $(OUT)/world.mpz --start $(START) --days $(HISTORY_DAYS) \
	    --campaigns $(PAST_CAMPAIGNS) --dirt $(DIRT) --seed $(EVENTS_SEED) -o $@)

# ---- one cycle ----------------------------------------------------------------
# $(1): the cycle number.  Its log is the history plus the weeks of the
# campaigns before it; its campaign runs [T, T + CYCLE_DAYS).
define cycle
C$(1) := $(OUT)/cycle$(1)
T$(1) := $(call cycle_start,$(1))
E$(1) := $(call cycle_end,$(1))
CAMPAIGN$(1) := $(shell echo $$(( $(PAST_CAMPAIGNS) + $(1) )))
# The plans of the cycles before it (their campaigns are in its log).
PLANS_BEFORE$(1) := $(foreach j,$(filter-out $(1),$(shell seq 1 $(1))),$(OUT)/cycle$(j)/plan.mpz)

# The log as it stands when the cycle's campaign is planned.
$$(C$(1))/log.mpz: $(if $(filter 1,$(1)),$(OUT)/history.mpz,$(OUT)/cycle$(shell echo $$(($(1)-1)))/log.mpz $(OUT)/cycle$(shell echo $$(($(1)-1)))/week-plan.mpz) $(BIN)/promo-cat | $$(C$(1))
	$(BIN)/promo-cat --format mpz -o $$@ $$(filter %.mpz,$$^)

# Validated, deduplicated, sorted by user and time; rejects counted.
$$(C$(1))/clean-report.mpz: $$(C$(1))/clean.mpz ;
$$(C$(1))/clean.mpz: $$(C$(1))/log.mpz $(P)/clean.txt $(BIN)/promo-clean
	$(BIN)/promo-clean -q --max-events-per-day $(MAX_EVENTS_PER_DAY) \
	  --report $$(C$(1))/clean-report.mpz -o $$(C$(1))/clean.mpz $$<

# Features as of the campaign start, and a week earlier with labels (the
# intent model learns from the week before T what it predicts after T).
$$(C$(1))/users.mpz: $$(C$(1))/clean.mpz $(BIN)/promo-featurize
	$(BIN)/promo-featurize -q --view users --asof $$(T$(1)) --labels no -o $$@ $$<
$$(C$(1))/users-train.mpz: $$(C$(1))/clean.mpz $(BIN)/promo-featurize $(P)/plan.txt
	$(BIN)/promo-featurize -q --view users --asof $(call day,$(shell echo $$(( $(HISTORY_DAYS) + ($(1) - 2) * $(CYCLE_DAYS) )))) \
	  --label-days $(CYCLE_DAYS) -o $$@ $$<
# Every past campaign's members, features as of its start, and outcome;
# for each offer, the campaigns that sent it, cut and weighted so that its
# treated and control rows are comparable (examples.sh says why).
$$(C$(1))/examples.mpz: $$(C$(1))/clean.mpz $(BIN)/promo-featurize
	$(BIN)/promo-featurize -q --view examples --asof $$(T$(1)) --campaign-days $(CYCLE_DAYS) -o $$@ $$<
$$(foreach o,$(OFFER_IDS),$$(C$(1))/examples-$$(o).mpz) &: $$(C$(1))/examples.mpz $(BIN)/promo-cat \
    $(BIN)/promo-import $(P)/plan.txt $(LOOP_DIR)examples.sh $$(PLANS_BEFORE$(1))
	bash $(LOOP_DIR)examples.sh $(BIN) $(PAST_CAMPAIGNS) $$< $$(C$(1))/examples $(OFFER_LIST) $$(PLANS_BEFORE$(1))
$$(C$(1))/interactions.mpz: $$(C$(1))/clean.mpz $(BIN)/promo-featurize
	$(BIN)/promo-featurize -q --view interactions --asof $$(T$(1)) --half-life 14 -o $$@ $$<

# The shop's mean order value and revenue-weighted margin, from the log.
$$(C$(1))/shop.txt: $$(C$(1))/clean.mpz $(OUT)/items.csv
	awk -F, 'FNR == 1 { f++; next } f == 1 { m[$$$$1] = $$$$3; next } \
	  { v = $$$$2 * $$$$3; s += v; n++; g += v * m[$$$$1] } END { printf "%.4f %.4f\n", s / n, g / s }' \
	  $(OUT)/items.csv <($(BIN)/promo-cat --where event=purchase --fields item,price,quantity $$<) > $$@.tmp
	mv $$@.tmp $$@

# Models: segments, uplift per offer, purchase intent, recommendations.
$$(C$(1))/segments.mpz: $$(C$(1))/kmeans.mpz ;
$$(C$(1))/kmeans.mpz: $$(C$(1))/users.mpz $(P)/kmeans.txt $(BIN)/promo-kmeans
	$(BIN)/promo-kmeans -q --fields $(KMEANS_FIELDS) -k $(K) --seed 1 \
	  --profile $$(C$(1))/segments.mpz -o $$(C$(1))/kmeans.mpz $$<
$$(C$(1))/uplift-%.mpz: $$(C$(1))/examples-%.mpz $(P)/uplift.txt $(BIN)/promo-dtree
	$(BIN)/promo-dtree -q --treatment treatment --outcome converted --weight weight \
	  $(if $(UPLIFT_FIELDS),--fields $(UPLIFT_FIELDS),--exclude user,campaign,revenue) \
	  --trees $(UPLIFT_TREES) --max-depth $(UPLIFT_DEPTH) --min-leaf $(UPLIFT_MIN_LEAF) $(UPLIFT_OPTS) --seed 1 -o $$@ $$<
$$(C$(1))/intent.mpz: $$(C$(1))/users-train.mpz $(P)/intent.txt $(BIN)/promo-train-cnn
	$(BIN)/promo-train-cnn -q --model logreg --numeric $(INTENT_FIELDS) --epochs $(INTENT_EPOCHS) \
	  --lr 0.05 --patience 5 --seed 1 -o $$@ $$<
$$(C$(1))/cf.mpz: $$(C$(1))/interactions.mpz $(P)/cf.txt $(BIN)/promo-train-cf
	$(BIN)/promo-train-cf -q --algo $(CF_ALGO) --factors $(CF_FACTORS) --seed 1 -o $$@ $$<

# Every user scored by every model.
$$(C$(1))/scored.mpz: $$(C$(1))/users.mpz $$(C$(1))/kmeans.mpz $$(foreach o,$(OFFER_IDS),$$(C$(1))/uplift-$$(o).mpz) \
    $$(C$(1))/intent.mpz $$(C$(1))/cf.mpz $(BIN)/promo-score
	$(BIN)/promo-score -q -m $$(C$(1))/kmeans.mpz --level 0 $$< \
	  | $(BIN)/promo-score -q -m $$(C$(1))/intent.mpz --level 0 \
	  $$(foreach o,$(OFFER_IDS),| $(BIN)/promo-score -q -m $$(C$(1))/uplift-$$(o).mpz --level 0) \
	  | $(BIN)/promo-score -q -m $$(C$(1))/cf.mpz --recommend $(RECOMMEND) -o $$@

# The campaign: who gets which offer under the budget, with a holdout.
# The random and oracle plans (same budget) are what it is measured against.
$$(C$(1))/plan-summary.mpz: $$(C$(1))/plan.mpz ;
$$(C$(1))/plan.mpz: $$(C$(1))/scored.mpz $$(C$(1))/shop.txt $(P)/plan.txt $(BIN)/promo-plan $(OFFERS)
	read aov margin < $$(C$(1))/shop.txt; \
	$(BIN)/promo-plan -q --offers $(OFFERS) --budget $(BUDGET) --holdout $(HOLDOUT) --aov $$$$aov --margin $$$$margin \
	  --seed $(PLAN_SEED)$(1) --summary $$(C$(1))/plan-summary.mpz -o $$(C$(1))/plan.mpz $$<
$$(C$(1))/random.mpz: $$(C$(1))/scored.mpz $$(C$(1))/shop.txt $(P)/plan.txt $(BIN)/promo-plan $(OFFERS)
	read aov margin < $$(C$(1))/shop.txt; \
	$(BIN)/promo-plan -q --offers $(OFFERS) --budget $(BUDGET) --holdout $(HOLDOUT) --aov $$$$aov --margin $$$$margin \
	  --seed $(PLAN_SEED)$(1) --random -o $$@ $$<
$$(C$(1))/truth.mpz: $(OUT)/world.mpz $(P)/plan.txt $(BIN)/promo-synth $(OFFERS)
	$(BIN)/promo-synth truth -q --world $$< --offers $(OFFERS) --start $$(T$(1)) --days $(CYCLE_DAYS) -o $$@
$$(C$(1))/oracle.mpz: $$(C$(1))/scored.mpz $$(C$(1))/truth.mpz $(P)/plan.txt $(BIN)/promo-plan $(OFFERS)
	$(BIN)/promo-plan -q --offers $(OFFERS) --budget $(BUDGET) --holdout $(HOLDOUT) \
	  --seed $(PLAN_SEED)$(1) --truth $$(C$(1))/truth.mpz -o $$@ $$<
# Nobody targeted: the same week as it would have been.
$$(C$(1))/none.mpz: $$(C$(1))/scored.mpz $$(C$(1))/shop.txt $(P)/plan.txt $(BIN)/promo-plan $(OFFERS)
	read aov margin < $$(C$(1))/shop.txt; \
	$(BIN)/promo-plan -q --offers $(OFFERS) --budget 0 --holdout 0 --aov $$$$aov --margin $$$$margin -o $$@ $$<

# The campaign week played out under each plan; the plan's week is the
# next cycle's new data.
$$(C$(1))/week-%.mpz: $$(C$(1))/%.mpz $(OUT)/world.mpz $(BIN)/promo-synth
	$(BIN)/promo-synth respond -q --world $(OUT)/world.mpz --plan $$< --start $$(T$(1)) \
	  --days $(CYCLE_DAYS) --campaign $$(CAMPAIGN$(1)) --seed $(EVENTS_SEED)$(1) -o $$@

# Measured: each plan's treated users against its held-out users (with a
# 95% interval), and exactly, against the same week without offers.
$$(C$(1))/outcome-%.csv: $$(C$(1))/%.mpz $$(C$(1))/week-%.mpz $(OUT)/items.csv $(OFFERS) $(LOOP_DIR)outcome.awk
	awk -f $(LOOP_DIR)outcome.awk $(OFFERS) $(OUT)/items.csv \
	  <($(BIN)/promo-cat --fields user,offer,holdout $$<) \
	  <($(BIN)/promo-cat --fields user,event,item,price,quantity,discount $$(C$(1))/week-$$*.mpz) > $$@.tmp
	mv $$@.tmp $$@
# (A plan that sends nothing, or holds nobody out, has no measured effect.)
$$(C$(1))/effect-%.mpz: $$(C$(1))/outcome-%.csv $(BIN)/promo-import $(BIN)/promo-evaluate
	if grep -q ',treated,' $$< && grep -q ',control,' $$<; then \
	  $(BIN)/promo-import -q --kind outcomes $$< \
	  | $(BIN)/promo-evaluate -q --task effect --arm arm --control control --outcome converted \
	      --revenue profit -o $$@; \
	else printf 'task,metric,group,value,n\neffect,incr_profit,treated,0,0\n' \
	  | $(BIN)/promo-import -q --kind metrics --types group=string -o $$@; fi
$$(C$(1))/exact-%.csv: $$(C$(1))/%.mpz $$(C$(1))/week-%.mpz $$(C$(1))/week-none.mpz $(OUT)/items.csv $(LOOP_DIR)exact.awk
	awk -f $(LOOP_DIR)exact.awk $(OUT)/items.csv <($(BIN)/promo-cat --fields user,offer,holdout $$<) $(OFFERS) \
	  <($(BIN)/promo-cat --fields user,event,item,price,quantity,discount $$(C$(1))/week-$$*.mpz) \
	  <($(BIN)/promo-cat --fields user,event,item,price,quantity,discount $$(C$(1))/week-none.mpz) > $$@.tmp
	mv $$@.tmp $$@

# The intent model on the week that followed: did it rank the buyers?
$$(C$(1))/intent-eval.mpz: $$(C$(1))/log.mpz $$(C$(1))/week-plan.mpz $$(C$(1))/intent.mpz $(BIN)/promo-featurize $(BIN)/promo-evaluate
	$(BIN)/promo-cat --format mpz --level 0 $$(C$(1))/log.mpz $$(C$(1))/week-plan.mpz \
	  | $(BIN)/promo-clean -q --level 0 --max-events-per-day $(MAX_EVENTS_PER_DAY) \
	  | $(BIN)/promo-featurize -q --view users --asof $$(T$(1)) --label-days $(CYCLE_DAYS) --level 0 \
	  | $(BIN)/promo-score -q -m $$(C$(1))/intent.mpz --level 0 \
	  | $(BIN)/promo-evaluate -q --task classify --label label --score p_buy -o $$@

# The cycle's figures in one metrics stream.
$$(C$(1))/summary.mpz: $$(foreach p,plan random oracle,$$(C$(1))/effect-$$(p).mpz $$(C$(1))/exact-$$(p).csv) \
    $$(C$(1))/intent-eval.mpz $$(C$(1))/segments.mpz $$(C$(1))/truth.mpz $(LOOP_DIR)summary.sh $(LOOP_DIR)expected.awk
	bash $(LOOP_DIR)summary.sh $(BIN) $(1) $$(C$(1)) > $$@.tmp
	mv $$@.tmp $$@
endef
$(foreach c,$(CYCLE_LIST),$(eval $(call cycle,$(c))))

# ---- the report ---------------------------------------------------------------

SUMMARIES := $(foreach c,$(CYCLE_LIST),$(OUT)/cycle$(c)/summary.mpz)

# Per cycle: the plan's realised incremental profit next to random
# targeting and the oracle under the same budget; model metrics.
$(OUT)/report.txt: $(SUMMARIES) $(LOOP_DIR)report.sh
	bash $(LOOP_DIR)report.sh $(BIN) $(OUT) $(CYCLES) > $@.tmp
	mv $@.tmp $@
$(OUT)/report.html: $(SUMMARIES) $(BIN)/promo-evaluate
	$(BIN)/promo-evaluate -q --task report --html $@ \
	  $(if $(EARLIER),--history $(subst $(space),$(comma),$(EARLIER))) \
	  $(lastword $(SUMMARIES)) $(OUT)/cycle$(lastword $(CYCLE_LIST))/segments.mpz
EARLIER := $(filter-out $(lastword $(SUMMARIES)),$(SUMMARIES))

# ---- timing (bench/loop.sh) -----------------------------------------------------
# With TIMING=FILE every recipe line runs under pipelines/timing.sh, which
# appends "target seconds status" to FILE.  Set last, so the $(shell) calls
# above run with the plain shell; .SHELLFLAGS is expanded per line, with $@.
ifneq ($(TIMING),)
SHELL := $(abspath $(LOOP_DIR)timing.sh)
.SHELLFLAGS = $(abspath $(TIMING)) $@ -eu -o pipefail -c
endif
