# Purchase intent on the Taobao user behaviour log (the first 814 users of
# Alibaba's UserBehavior.csv): who buys on the log's last day, 2017-12-03 in
# China time, from the days before.  The CNN over each user's behaviour
# sequence (with the users view's features beside it) against the logistic
# baseline on the users view, both trained by promo-train-cnn the same way,
# on the same random validation users, once per seed in SEEDS.
#   make -f pipelines/taobao-intent.mk BIN=$PWD/bin [DATASETS=../shared/datasets] [OUT=out/taobao-intent]
# The log is read where it is (TAOBAO, under DATASETS or PROMO_DATASETS),
# never copied.  $(OUT)/report.txt has both AUCs; docs/train-cnn.md reads
# the training output.
include $(dir $(lastword $(MAKEFILE_LIST)))make.mk
.SECONDARY:

BIN ?= $(CURDIR)/bin
DATASETS ?= $(if $(PROMO_DATASETS),$(PROMO_DATASETS),$(CURDIR)/../shared/datasets)
TAOBAO ?= $(DATASETS)/taobao-userbehavior-head
OUT ?= out/taobao-intent
SEEDS ?= 1 2 3 4 5 6 7 8 9 10
# The rules from the cleaned log to each seed's models, and NUMERIC.
include $(dir $(lastword $(MAKEFILE_LIST)))intent.mk
INPUT := $(TAOBAO)/UserBehavior_head_814users.csv.gz

# ---- each stage's parameters ------------------------------------------------

# No header line; behaviours pv, cart, fav, buy.
import := --kind events --no-header --columns user,item,category,event,ts
# The official window, 2017-11-25 .. 2017-12-03 in China time (35 rows fall
# outside it).
clean := --event-map pv=view,buy=purchase,fav=wish --since 2017-11-25T00:00:00+08:00 \
  --until 2017-12-04T00:00:00+08:00
# Features from everything before the last day; the label is a purchase on it.
ASOF := 2017-12-03T00:00:00+08:00
users := --view users --asof $(ASOF) --label-days 1
sequences := --view sequences --asof $(ASOF) --label-days 1 --length 50
# 814 users: 30% of them validate; small minibatches.  The log has no
# prices (price_b is always "none") and its ~10,000 categories hash into
# 1,024 buckets seen by a few users each, so the CNN embeds the events and
# the gaps between them only, with few filters and strong dropout.
train := --valid-frac 0.3 --batch 64 --patience 8
logreg := --model logreg --numeric $(NUMERIC) --epochs 100 --lr 0.01 $(train)
cnn := --numeric $(NUMERIC) --tokens ev:4,gap_b:4 --filters 16 --hidden 16 --dropout 0.5 \
  --epochs 40 --lr 0.003 $(train)

# ---- rules, in processing order ----------------------------------------------

.PHONY: all
all: $(OUT)/report.txt
	@cat $<
	@echo "taobao-intent: report written to $<"

$(OUT):
	mkdir -p $@

$(INPUT):
	@echo "taobao-intent: $@ is missing: set DATASETS (or PROMO_DATASETS) to the data sets folder" >&2
	@exit 1

# A stage's parameters, $(P)/STAGE.txt, rewritten only when they change
# (params: pipelines/make.mk): editing one reruns that stage and what
# follows it, and nothing else.
$(foreach s,import clean users sequences logreg cnn,$(call params,$(s),$($(s))))

# The CSV log to an events stream.
$(OUT)/events.mpz: $(INPUT) $(P)/import.txt $(BIN)/promo-import | $(OUT)
	$(BIN)/promo-import -q $(import) -o $@.tmp $(INPUT)
	mv $@.tmp $@

# Normalize the behaviour names, drop rows outside the window and
# duplicates, sort by user and time.
$(OUT)/clean.mpz: $(OUT)/events.mpz $(P)/clean.txt $(BIN)/promo-clean
	$(BIN)/promo-clean -q $(clean) --rejects $(OUT)/rejects.mpz.tmp -o $@.tmp $<
	mv $(OUT)/rejects.mpz.tmp $(OUT)/rejects.mpz
	mv $@.tmp $@

# Both validation AUCs per seed, their means, and how often the CNN won.
$(OUT)/report.txt: $(foreach s,$(SEEDS),$(OUT)/logreg-$(s).mpz $(OUT)/cnn-$(s).mpz) $(BIN)/promo-cat
	{ echo "Taobao purchase intent: who buys on 2017-12-03 (China time), from the days before"; \
	  n=$$($(BIN)/promo-cat --count $(OUT)/users.mpz); \
	  p=$$($(BIN)/promo-cat --no-names --fields label $(OUT)/users.mpz | grep -c '^1$$'); \
	  echo "users: $$n, of whom $$p buy on the last day"; \
	  echo "baseline: logistic regression on the users view's 24 features"; \
	  echo "CNN: the last 50 events (event type, time gap) and the same 24 features"; \
	  echo; \
	  printf '%-6s %10s %10s %8s\n' seed valid_rows logreg_auc cnn_auc; \
	  for s in $(SEEDS); do \
	    printf '%-6s %10s %10.4f %8.4f\n' $$s "$$($(call rows,$(OUT)/logreg-$$s.mpz))" \
	      "$$($(call auc,$(OUT)/logreg-$$s.mpz))" "$$($(call auc,$(OUT)/cnn-$$s.mpz))"; \
	  done | tee $@.rows; \
	  awk '{ a += $$3; b += $$4; aa += $$3 * $$3; bb += $$4 * $$4; w += $$4 > $$3; n++ } \
	       END { printf "%-6s %10s %10.4f %8.4f\n", "mean", "", a / n, b / n; \
	             printf "%-6s %10s %10.4f %8.4f\n", "sd", "", sqrt(aa / n - (a / n) ^ 2), sqrt(bb / n - (b / n) ^ 2); \
	             printf "\nthe CNN has the higher validation AUC on %d of %d splits\n", w, n }' $@.rows; \
	  rm $@.rows; \
	} > $@.tmp
	mv $@.tmp $@
