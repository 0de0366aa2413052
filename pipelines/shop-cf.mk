# The simulated shop through the recommenders: do recommendations from the
# interactions view hit what customers do in the next window?
#   world and events (promo-synth), cleaned and sorted (promo-clean), the
#   interactions view before ASOF (promo-featurize), models trained on it
#   (promo-train-cf), each customer's top 10 (promo-score --recommend 10
#   --include-seen: the shop's customers buy their favourites again), and
#   HR@10 and NDCG@10 (promo-evaluate --task rank) against
#     purchases: the purchases in [ASOF, ASOF + 14 days), for every buyer;
#     thin:      the same for customers with fewer than 3 interactions
#                (distinct items) before ASOF;
#     thin-any:  every item those thin customers viewed, carted or bought in
#                the window (a larger sample of the same customers).
# Results in $(OUT)/table.md; `make -f pipelines/shop-cf.mk doc` also
# writes the table into docs/train-cf.md.  SMALL=1 is the test tier (10,000
# customers).
#
#   make -f pipelines/shop-cf.mk [BIN=bin] [OUT=out/shop-cf] [SMALL=1]
include $(dir $(lastword $(MAKEFILE_LIST)))make.mk

BIN ?= bin
OUT ?= out/shop-cf
SEED ?= 11
SMALL ?=
ifeq ($(SMALL),1)
USERS ?= 10000
else
USERS ?= 50000
endif
ITEMS ?= 1000
DAYS ?= 28
START ?= 2024-01-01
ASOF ?= 2024-01-15
WINDOW_DAYS ?= 14
ALGOS ?= pop als bpr ease hybrid

# Training options: ALS's reg and alpha (and the hybrid's defaults) were
# chosen on another world (seed 3, docs/train-cf.md); the hybrid is that ALS
# plus content.
ATTRS := --items $(OUT)/items.mpz --attributes category,price:band
OPTS_pop := --algo pop
OPTS_als := --algo als --reg 100 --alpha 1
OPTS_bpr := --algo bpr
OPTS_ease := --algo ease
OPTS_hybrid := --algo als --reg 100 --alpha 1 --hybrid $(ATTRS)

DOC ?= docs/train-cf.md

.PHONY: all doc
.SECONDARY:
all: $(OUT)/table.md

# 0. Parameters: a file per stage, $(P)/NAME.txt, that changes only when
#    the stage's options do (params: pipelines/make.mk).
world := --users $(USERS) --items $(ITEMS) --seed $(SEED)
events := --days $(DAYS) --start $(START) --dirt 0 --seed $(SEED)
window := --asof $(ASOF) --label-days $(WINDOW_DAYS)
$(foreach s,world events window,$(call params,$(s),$($(s))))
$(foreach a,$(ALGOS),$(call params,$(a),$(OPTS_$(a)) --seed $(SEED)))

# 1. The shop: its hidden world, and its event log, cleaned and sorted.
$(OUT)/world.mpz: $(P)/world.txt $(BIN)/promo-synth | $(OUT)
	$(BIN)/promo-synth world -q $(world) -o $@.tmp && mv $@.tmp $@
$(OUT)/events.mpz: $(OUT)/world.mpz $(P)/events.txt $(BIN)/promo-synth
	$(BIN)/promo-synth events -q --world $< $(events) -o $@.tmp && mv $@.tmp $@
$(OUT)/clean.mpz: $(OUT)/events.mpz $(BIN)/promo-clean
	$(BIN)/promo-clean -q -o $@.tmp $< && mv $@.tmp $@

# 2. The interactions view before ASOF (weights view 1, cart 3, purchase 10).
$(OUT)/interactions.mpz: $(OUT)/clean.mpz $(P)/window.txt $(BIN)/promo-featurize
	$(BIN)/promo-featurize -q --view interactions $(window) -o $@.tmp $< && mv $@.tmp $@

# 3. The item attributes: the world's items (category, price).
$(OUT)/items.mpz: $(OUT)/world.mpz $(BIN)/promo-cat $(BIN)/promo-import
	$(BIN)/promo-cat --format jsonl $< | grep '"type":"item"' \
	  | $(BIN)/promo-import -q --kind items --format jsonl -o $@.tmp
	mv $@.tmp $@

# 4. The window's truth: (user, item) of the purchases, and of every view,
#    cart or purchase; the thin customers (fewer than 3 interactions).
$(OUT)/window.tsv: $(OUT)/clean.mpz $(P)/window.txt $(BIN)/promo-cat
	t0=$$(date -u -d '$(ASOF)' +%s); \
	$(BIN)/promo-cat --format tsv --no-names --fields user,item,event,ts $< \
	  | awk -F'\t' -v t0=$$t0 -v t1=$$((t0 + $(WINDOW_DAYS) * 86400)) \
	      '$$4 >= t0 && $$4 < t1 && ($$3 == "view" || $$3 == "cart" || $$3 == "purchase") { print $$1 "\t" $$2 "\t" $$3 }' > $@.tmp
	mv $@.tmp $@
$(OUT)/thin.txt: $(OUT)/interactions.mpz $(BIN)/promo-cat
	$(BIN)/promo-cat --format tsv --no-names --fields user $< | sort | uniq -c | awk '$$1 < 3 { print $$2 }' > $@.tmp
	mv $@.tmp $@
$(OUT)/truth/purchases.tsv: $(OUT)/window.tsv | $(OUT)/truth
	awk -F'\t' '$$3 == "purchase" { print $$1 "\t" $$2 }' $< | sort -u > $@.tmp && mv $@.tmp $@
$(OUT)/truth/thin.tsv: $(OUT)/truth/purchases.tsv $(OUT)/thin.txt
	awk 'NR == FNR { t[$$1] = 1; next } ($$1 in t)' $(OUT)/thin.txt $< > $@.tmp && mv $@.tmp $@
$(OUT)/truth/thin-any.tsv: $(OUT)/window.tsv $(OUT)/thin.txt | $(OUT)/truth
	awk -F'\t' 'NR == FNR { t[$$1] = 1; next } ($$1 in t) { print $$1 "\t" $$2 }' $(OUT)/thin.txt $< | sort -u > $@.tmp
	mv $@.tmp $@
$(OUT)/truth/%.mpz: $(OUT)/truth/%.tsv $(BIN)/promo-import
	$(BIN)/promo-import -q --kind interactions --format tsv --no-header --columns user,item -o $@.tmp $< && mv $@.tmp $@
$(OUT)/truth/%.users.mpz: $(OUT)/truth/%.tsv $(BIN)/promo-import
	cut -f1 $< | sort -u | $(BIN)/promo-import -q --kind users --format tsv --no-header --columns user -o $@.tmp
	mv $@.tmp $@

# 5. Each model, and its top 10 for every group's customers, measured.
$(OUT)/models/%.model: $(OUT)/interactions.mpz $(P)/%.txt $(OUT)/items.mpz $(BIN)/promo-train-cf | $(OUT)/models
	$(BIN)/promo-train-cf -q $(OPTS_$*) --seed $(SEED) -o $@.tmp $< && mv $@.tmp $@
GROUPS := purchases thin thin-any
define group_rules
$$(OUT)/eval/%.$(1).metrics.mpz: $$(OUT)/models/%.model $$(OUT)/truth/$(1).mpz $$(OUT)/truth/$(1).users.mpz $$(BIN)/promo-score $$(BIN)/promo-evaluate | $$(OUT)/eval
	$$(BIN)/promo-score -m $$< --recommend 10 --include-seen $$(OUT)/truth/$(1).users.mpz \
	  | $$(BIN)/promo-evaluate -q --task rank --truth $$(OUT)/truth/$(1).mpz --k 10 -o $$@.tmp
	mv $$@.tmp $$@
endef
$(foreach g,$(GROUPS),$(eval $(call group_rules,$(g))))

# 6. The table: HR@10 and NDCG@10 of every model for every group.
$(OUT)/table.md: $(foreach a,$(ALGOS),$(foreach g,$(GROUPS),$(OUT)/eval/$(a).$(g).metrics.mpz)) $(BIN)/promo-cat
	{ echo "| model | options | purchases HR@10 | NDCG@10 | thin HR@10 | NDCG@10 | thin-any HR@10 | NDCG@10 |"; \
	  echo "|---|---|---:|---:|---:|---:|---:|---:|"; \
	  for a in $(ALGOS); do \
	    printf '| %s | `%s` ' $$a "$$(sed 's/ --items [^ ]* / --items items.mpz /' $(P)/$$a.txt)"; \
	    for g in $(GROUPS); do \
	      $(BIN)/promo-cat --format tsv --no-names --fields metric,value,n $(OUT)/eval/$$a.$$g.metrics.mpz \
	        | awk -F'\t' '{ v[$$1] = $$2 } END { printf "| %.4f | %.4f ", v["hr@10"], v["ndcg@10"] }'; \
	    done; \
	    echo '|'; \
	  done; \
	  echo; \
	  for g in $(GROUPS); do \
	    $(BIN)/promo-cat --format tsv --no-names --fields metric,n $(OUT)/eval/pop.$$g.metrics.mpz \
	      | awk -F'\t' -v g=$$g '$$1 == "hr@10" { printf "%s: %d customers; ", g, $$2 }'; \
	  done; \
	  echo "$(USERS) customers, $(ITEMS) items, $(DAYS) days from $(START), window of $(WINDOW_DAYS) days from $(ASOF), seed $(SEED)."; \
	} > $@.tmp
	mv $@.tmp $@

# 7. The full run's table, written between the markers of docs/train-cf.md.
doc: $(OUT)/table.md
	test "$(SMALL)" != 1 || { echo "shop-cf.mk: doc needs the full run (SMALL unset)" >&2; exit 2; }
	awk -v t=$< '/<!-- shop:begin -->/ { print; while ((getline l < t) > 0) print l; skip = 1; next } \
	  /<!-- shop:end -->/ { skip = 0 } !skip' $(DOC) > $(DOC).tmp
	mv $(DOC).tmp $(DOC)

$(OUT) $(OUT)/truth $(OUT)/models $(OUT)/eval:
	mkdir -p $@
