# Purchase intent in the simulated shop (promo-synth): who buys in the week
# after the as-of date, from the three weeks before.  The CNN over each
# user's behaviour sequence, with and without the users view's features,
# against the logistic baseline on the users view, all trained by
# promo-train-cnn the same way, on the same random validation users, once
# per seed in SEEDS.
#   make -f pipelines/shop-intent.mk BIN=$PWD/bin [OUT=out/shop-intent] [USERS=50000] [THREADS=1]
# $(OUT)/report.txt has the three AUCs; docs/train-cnn.md reads the
# training output.
include $(dir $(lastword $(MAKEFILE_LIST)))make.mk
.SECONDARY:

BIN ?= $(CURDIR)/bin
OUT ?= out/shop-intent
SEEDS ?= 1 2 3
THREADS ?= 1
# The rules from the cleaned log to each seed's models, and NUMERIC.
include $(dir $(lastword $(MAKEFILE_LIST)))intent.mk

# ---- each stage's parameters ------------------------------------------------

USERS ?= 50000
world := --users $(USERS) --seed 7
# four weeks with the default dirt and two past campaigns
events := --days 28 --start 2024-01-01 --seed 7
clean :=
ASOF := 2024-01-22
users := --view users --asof $(ASOF) --label-days 7
sequences := --view sequences --asof $(ASOF) --label-days 7 --length 50
train := --valid-frac 0.2 --patience 3 --threads $(THREADS)
logreg := --model logreg --numeric $(NUMERIC) --epochs 50 --lr 0.01 $(train)
cnn := --numeric $(NUMERIC) --epochs 15 $(train)
cnnseq := --epochs 15 $(train)

# ---- rules, in processing order ----------------------------------------------

.PHONY: all
all: $(OUT)/report.txt
	@cat $<
	@echo "shop-intent: report written to $<"

$(OUT):
	mkdir -p $@

# A stage's parameters, $(P)/STAGE.txt, rewritten only when they change
# (params: pipelines/make.mk): editing one reruns that stage and what
# follows it, and nothing else.
$(foreach s,world events clean users sequences logreg cnn cnnseq,$(call params,$(s),$($(s))))

# The hidden world: users, items, preferences.
$(OUT)/world.mpz: $(P)/world.txt $(BIN)/promo-synth | $(OUT)
	$(BIN)/promo-synth world -q $(world) -o $@.tmp
	mv $@.tmp $@

# Its behaviour log, dirt included.
$(OUT)/events.mpz: $(OUT)/world.mpz $(P)/events.txt $(BIN)/promo-synth
	$(BIN)/promo-synth events -q --world $< $(events) -o $@.tmp
	mv $@.tmp $@

# Dirt out, sorted by user and time.
$(OUT)/clean.mpz: $(OUT)/events.mpz $(P)/clean.txt $(BIN)/promo-clean
	$(BIN)/promo-clean -q $(clean) -o $@.tmp $<
	mv $@.tmp $@

# The CNN on the sequence alone.
$(OUT)/cnnseq-%.mpz: $(OUT)/sequences.mpz $(P)/cnnseq.txt $(BIN)/promo-train-cnn
	$(BIN)/promo-train-cnn -q $(cnnseq) --seed $* -o $@.tmp $<
	mv $@.tmp $@

# The validation AUCs per seed and their means.
$(OUT)/report.txt: $(foreach s,$(SEEDS),$(OUT)/logreg-$(s).mpz $(OUT)/cnn-$(s).mpz $(OUT)/cnnseq-$(s).mpz) \
                   $(BIN)/promo-cat
	{ echo "Simulated shop purchase intent: who buys in the week from $(ASOF), from the weeks before"; \
	  n=$$($(BIN)/promo-cat --count $(OUT)/users.mpz); \
	  p=$$($(BIN)/promo-cat --no-names --fields label $(OUT)/users.mpz | grep -c '^1$$'); \
	  echo "users with behaviour before $(ASOF): $$n, of whom $$p buy in the week"; \
	  echo "baseline: logistic regression on the users view's 24 features"; \
	  echo "CNN: the last 50 events (event, category, price, gap) and the same 24 features; CNN-seq: the events alone"; \
	  echo; \
	  printf '%-6s %10s %10s %8s %8s\n' seed valid_rows logreg_auc cnn_auc cnnseq_auc; \
	  for s in $(SEEDS); do \
	    printf '%-6s %10s %10.4f %8.4f %8.4f\n' $$s "$$($(call rows,$(OUT)/logreg-$$s.mpz))" \
	      "$$($(call auc,$(OUT)/logreg-$$s.mpz))" "$$($(call auc,$(OUT)/cnn-$$s.mpz))" \
	      "$$($(call auc,$(OUT)/cnnseq-$$s.mpz))"; \
	  done | tee $@.rows; \
	  awk '{ a += $$3; b += $$4; c += $$5; w += $$4 > $$3; n++ } \
	       END { printf "%-6s %10s %10.4f %8.4f %8.4f\n", "mean", "", a / n, b / n, c / n; \
	             printf "\nthe CNN has the higher validation AUC on %d of %d splits\n", w, n }' $@.rows; \
	  rm $@.rows; \
	} > $@.tmp
	mv $@.tmp $@
