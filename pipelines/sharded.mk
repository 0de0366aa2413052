# The loop's data stages on user shards, run with GNU parallel.
#
#   log -> split by user into SHARDS parts -> per part: clean, featurize,
#   score -> the parts concatenated
#
# Usage: make -f pipelines/sharded.mk BIN=/abs/bin [SHARDS=4] [JOBS=2]
#          [OUT=out/sharded] [MODELS=DIR] [EVENTS=log.mpz | EVENTS_CSV=log.csv]
#          [PARALLEL_OPTS='--sshloginfile hosts'] [PARAM=value ...]
# Parameters: pipelines/loop.conf (the same file as pipelines/loop.mk), for
# the loop's first cycle: the log is the history, T its end.
#
# A user's events all land in one part (promo-cat --split hashes the user,
# docs/scale.md), and cleaning, sessions, deduplication, bots and features
# are per user, so each part is cleaned and featurized alone.  What is not
# per user is pinned so that every part sees the same value: the log's
# window (--since START --until T, which also sets the days of the bot
# rate), --sessionize and --labels.  The concatenated outputs then hold
# exactly the records of SHARDS=1 (the one-process run): sort both to
# compare, as tests/bats/shards.bats does.  Models are trained once on the
# concatenation (the reduce step), unless MODELS names a directory with
# kmeans.mpz, intent.mpz, cf.mpz and uplift-OFFER.mpz for each offer of
# OFFERS (e.g. a loop cycle's).
include $(dir $(lastword $(MAKEFILE_LIST)))make.mk
.SECONDARY:

LOOP_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
include $(LOOP_DIR)loop.conf
# The offers' ids: an uplift forest of each.
OFFER_IDS := $(shell tail -n +2 $(OFFERS) | cut -d, -f1)
$(if $(OFFER_IDS),,$(error OFFERS=$(OFFERS): no offer ids read))

BIN ?= $(CURDIR)/bin
OUT ?= out/sharded
SHARDS ?= 4
# Parallel jobs on this machine (or per host with --sshloginfile).
JOBS ?= $(shell nproc)
# More GNU parallel options, e.g. --sshloginfile hosts (a shared file system).
PARALLEL_OPTS ?=
# A log without session ids needs always; see docs/scale.md.
SESSIONIZE ?= never
# Models to score with; empty: trained here on the concatenated features.
MODELS ?=
# A text log to import instead of the simulated history, and its options.
EVENTS_CSV ?=
IMPORT_OPTS ?=
S := $(OUT)/shards
M := $(if $(MODELS),$(MODELS),$(OUT)/models)
PARTS := $(shell seq -f %05g 0 $$(( $(SHARDS) - 1 )))

day = $(shell date -u -d '$(START) + $(1) days' +%F)
T := $(call day,$(HISTORY_DAYS))
TRAIN_T := $(call day,$(shell echo $$(( $(HISTORY_DAYS) - $(CYCLE_DAYS) ))))

# Parameter files, one per stage (params: pipelines/make.mk).
$(call params,world,users=$(USERS) items=$(ITEMS) seed=$(WORLD_SEED) wish=$(WISH_RATE) deal=$(DEAL_SIGNAL))
$(call params,history,start=$(START) days=$(HISTORY_DAYS) campaigns=$(PAST_CAMPAIGNS) dirt=$(DIRT) seed=$(EVENTS_SEED) events=$(EVENTS) csv=$(EVENTS_CSV) import=$(IMPORT_OPTS))
$(call params,shards,shards=$(SHARDS))
$(call params,clean,max_events_per_day=$(MAX_EVENTS_PER_DAY) since=$(START) until=$(T) sessionize=$(SESSIONIZE))
$(call params,featurize,asof=$(T) train_asof=$(TRAIN_T) cycle_days=$(CYCLE_DAYS))
$(call params,kmeans,k=$(K) fields=$(KMEANS_FIELDS))
$(call params,uplift,fields=$(UPLIFT_FIELDS) trees=$(UPLIFT_TREES) depth=$(UPLIFT_DEPTH) min_leaf=$(UPLIFT_MIN_LEAF) opts=$(UPLIFT_OPTS))
$(call params,intent,model=$(INTENT_MODEL) fields=$(INTENT_FIELDS) epochs=$(INTENT_EPOCHS))
$(call params,cf,algo=$(CF_ALGO) factors=$(CF_FACTORS) recommend=$(RECOMMEND))

# Every part of a stage at once: $(1) is a command with {} for a part's
# number, writing $@.tmp/part-{}.mpz.  GNU parallel stops at the first
# failure; the stage's directory appears whole or not at all.
PARALLEL := parallel --will-cite --halt now,fail=1 -j $(JOBS) $(PARALLEL_OPTS)
define each_part
rm -rf $@.tmp && mkdir -p $@.tmp
$(PARALLEL) $(1) ::: $(PARTS) || { rm -rf $@.tmp; exit 1; }
rm -rf $@ && mv $@.tmp $@
endef
# The parts of a stage, concatenated: a valid stream as they are.
define concat
cat $(foreach p,$(PARTS),$(S)/$(1)/part-$(p).mpz) > $@.tmp
mv $@.tmp $@
endef

STAGES := clean users users-train examples interactions scored
.PHONY: all
all: $(addprefix $(OUT)/,$(addsuffix .mpz,$(STAGES)) clean-report.mpz rejects.mpz)

$(OUT) $(S) $(OUT)/models:
	mkdir -p $@

# ---- the log ------------------------------------------------------------

# The simulated shop and its history, as in loop.mk (unless EVENTS or EVENTS_CSV).
$(OUT)/world.mpz: $(P)/world.txt $(BIN)/promo-synth | $(OUT)
	$(BIN)/promo-synth world -q --users $(USERS) --items $(ITEMS) --wish-rate $(WISH_RATE) \
	  --deal-signal $(DEAL_SIGNAL) --seed $(WORLD_SEED) -o $@
$(OUT)/history.mpz: $(P)/history.txt $(OUT)/world.mpz $(BIN)/promo-synth
	$(BIN)/promo-synth events -q --world $(OUT)/world.mpz --start $(START) --days $(HISTORY_DAYS) \
	  --campaigns $(PAST_CAMPAIGNS) --dirt $(DIRT) --seed $(EVENTS_SEED) -o $@
LOG := $(if $(EVENTS),$(EVENTS),$(if $(EVENTS_CSV),$(EVENTS_CSV),$(OUT)/history.mpz))

# The log split by user (a text log imported on the way); records without
# a user go to part 0, where promo-clean rejects them.
$(S)/events: $(LOG) $(P)/shards.txt $(P)/history.txt $(BIN)/promo-cat $(BIN)/promo-import | $(S)
	$(if $(EVENTS_CSV),$(BIN)/promo-import -q --kind events --level 0 $(IMPORT_OPTS) $< |) \
	  $(BIN)/promo-cat --split $(SHARDS) --by user --missing-to 0 --level 1 -o $@ $(if $(EVENTS_CSV),-,$<)

# ---- map: each part alone ---------------------------------------------------

# Validated, deduplicated, sorted by user and time, in the log's window.
$(S)/clean: $(S)/events $(P)/clean.txt $(BIN)/promo-clean
	$(call each_part,$(BIN)/promo-clean -q --since $(START) --until $(T) --sessionize $(SESSIONIZE) \
	  --max-events-per-day $(MAX_EVENTS_PER_DAY) --rejects $@.tmp/rejects-{}.mpz --report $@.tmp/report-{}.mpz \
	  -o $@.tmp/part-{}.mpz $(S)/events/part-{}.mpz)

# Features as of T; a cycle earlier with labels (the intent model's
# training rows); past campaigns' examples; interactions.
$(S)/users: $(S)/clean $(P)/featurize.txt $(BIN)/promo-featurize
	$(call each_part,$(BIN)/promo-featurize -q --view users --asof $(T) --labels no \
	  -o $@.tmp/part-{}.mpz $(S)/clean/part-{}.mpz)
$(S)/users-train: $(S)/clean $(P)/featurize.txt $(BIN)/promo-featurize
	$(call each_part,$(BIN)/promo-featurize -q --view users --asof $(TRAIN_T) --labels yes \
	  --label-days $(CYCLE_DAYS) -o $@.tmp/part-{}.mpz $(S)/clean/part-{}.mpz)
$(S)/examples: $(S)/clean $(P)/featurize.txt $(BIN)/promo-featurize
	$(call each_part,$(BIN)/promo-featurize -q --view examples --asof $(T) --labels no \
	  --campaign-days $(CYCLE_DAYS) -o $@.tmp/part-{}.mpz $(S)/clean/part-{}.mpz)
$(S)/interactions: $(S)/clean $(P)/featurize.txt $(BIN)/promo-featurize
	$(call each_part,$(BIN)/promo-featurize -q --view interactions --asof $(T) --labels no \
	  --half-life 14 -o $@.tmp/part-{}.mpz $(S)/clean/part-{}.mpz)

# Every user of the part scored by every model (one BLAS thread a job).
MODEL_FILES := $(addprefix $(M)/,kmeans.mpz intent.mpz $(OFFER_IDS:%=uplift-%.mpz) cf.mpz)
$(S)/scored: $(S)/users $(MODEL_FILES) $(P)/cf.txt $(BIN)/promo-score
	$(call each_part,'set -o pipefail; $(BIN)/promo-score -q --threads 1 -m $(M)/kmeans.mpz --level 0 $(S)/users/part-{}.mpz \
	  | $(BIN)/promo-score -q --threads 1 -m $(M)/intent.mpz --level 0 \
	  $(foreach o,$(OFFER_IDS),| $(BIN)/promo-score -q --threads 1 -m $(M)/uplift-$(o).mpz --level 0) \
	  | $(BIN)/promo-score -q --threads 1 -m $(M)/cf.mpz --recommend $(RECOMMEND) -o $@.tmp/part-{}.mpz')

# ---- the parts together ---------------------------------------------------------

$(OUT)/clean.mpz: $(S)/clean ; $(call concat,clean)
$(OUT)/users.mpz: $(S)/users ; $(call concat,users)
$(OUT)/users-train.mpz: $(S)/users-train ; $(call concat,users-train)
$(OUT)/examples.mpz: $(S)/examples ; $(call concat,examples)
$(OUT)/interactions.mpz: $(S)/interactions ; $(call concat,interactions)
$(OUT)/scored.mpz: $(S)/scored ; $(call concat,scored)
$(OUT)/rejects.mpz: $(S)/clean
	cat $(foreach p,$(PARTS),$(S)/clean/rejects-$(p).mpz) > $@.tmp
	mv $@.tmp $@

# The cleaning counts summed over the parts.  All are sums of per-user
# counts but "reordered", which counts within each part's input order.
$(OUT)/clean-report.mpz: $(S)/clean $(BIN)/promo-cat $(BIN)/promo-import $(LOOP_DIR)sum-metrics.awk
	$(BIN)/promo-cat --fields task,metric,group,value $(foreach p,$(PARTS),$(S)/clean/report-$(p).mpz) \
	  | awk -F, -f $(LOOP_DIR)sum-metrics.awk \
	  | $(BIN)/promo-import -q --kind metrics --types task=string,metric=string,group=string,value=int -o $@

# ---- reduce: models from all users (unless MODELS) ----------------------------

# The loop's models, trained once on the concatenated features.
$(OUT)/models/kmeans.mpz: $(OUT)/users.mpz $(P)/kmeans.txt $(BIN)/promo-kmeans | $(OUT)/models
	$(BIN)/promo-kmeans -q --fields $(KMEANS_FIELDS) -k $(K) --seed 1 -o $@ $<
# An uplift forest per offer, on its campaigns' rows weighted as the loop
# weighs them (examples.sh; no loop campaigns here).
$(OFFER_IDS:%=$(OUT)/models/examples-%.mpz) &: $(OUT)/examples.mpz $(LOOP_DIR)examples.sh \
    $(BIN)/promo-cat $(BIN)/promo-import | $(OUT)/models
	bash $(LOOP_DIR)examples.sh $(BIN) $(PAST_CAMPAIGNS) $< $(OUT)/models/examples \
	  $(subst $(space),$(comma),$(strip $(OFFER_IDS)))
$(OUT)/models/uplift-%.mpz: $(OUT)/models/examples-%.mpz $(P)/uplift.txt $(BIN)/promo-dtree
	$(BIN)/promo-dtree -q --treatment treatment --outcome converted --weight weight \
	  $(if $(UPLIFT_FIELDS),--fields $(UPLIFT_FIELDS),--exclude user,campaign,revenue) \
	  --trees $(UPLIFT_TREES) --max-depth $(UPLIFT_DEPTH) --min-leaf $(UPLIFT_MIN_LEAF) $(UPLIFT_OPTS) --seed 1 -o $@ $<
$(OUT)/models/intent.mpz: $(OUT)/users-train.mpz $(P)/intent.txt $(BIN)/promo-train-cnn | $(OUT)/models
	$(BIN)/promo-train-cnn -q --model logreg --numeric $(INTENT_FIELDS) --epochs $(INTENT_EPOCHS) \
	  --lr 0.05 --patience 5 --seed 1 -o $@ $<
$(OUT)/models/cf.mpz: $(OUT)/interactions.mpz $(P)/cf.txt $(BIN)/promo-train-cf | $(OUT)/models
	$(BIN)/promo-train-cf -q --algo $(CF_ALGO) --factors $(CF_FACTORS) --seed 1 -o $@ $<
