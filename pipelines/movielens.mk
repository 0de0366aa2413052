# MovieLens 100K through promo-train-cf and promo-score, two protocols:
#   explicit: mf's RMSE on each official fold u1..u5 (train uN.base, test
#             uN.test) and their mean;
#   top-N:    a seeded 75/25 split of each user's ratings; every algorithm
#             ranks all the items the user has not rated in training;
#             NDCG@10, Precision@10, Recall@10 and MAP@10 by promo-evaluate.
# The results go to $(OUT)/table.md; `make -f pipelines/movielens.mk doc`
# also writes the table into docs/train-cf.md.  QUICK=1 is the test tier:
# fold u1 only, and the algorithms pop and ease.
#
#   make -f pipelines/movielens.mk [BIN=bin] [OUT=out/movielens] [QUICK=1]
#
# The data set is read from $(ML) (never copied into the repository).
include $(dir $(lastword $(MAKEFILE_LIST)))make.mk

BIN ?= bin
DATASETS ?= $(or $(PROMO_DATASETS),$(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../../shared/datasets))
ML ?= $(DATASETS)/movielens-100k
OUT ?= out/movielens
DOC ?= docs/train-cf.md
SEED ?= 42
QUICK ?=

ifeq ($(QUICK),1)
FOLDS := 1
ALGOS := pop ease
else
FOLDS := 1 2 3 4 5
ALGOS := pop als bpr ease itemknn content hybrid mf
endif

# Each algorithm's training options (the defaults of promo-train-cf, which
# were chosen on a validation split of the training part: docs/train-cf.md).
ITEMS_OPTS := --items $(OUT)/items.mpz --attributes genres,year:band
OPTS_pop := --algo pop
OPTS_als := --algo als
OPTS_bpr := --algo bpr
OPTS_ease := --algo ease
OPTS_itemknn := --algo itemknn
OPTS_content := --algo content $(ITEMS_OPTS)
OPTS_hybrid := --algo als --hybrid $(ITEMS_OPTS)
OPTS_mf := --algo mf --rating rating
MF_OPTS := --algo mf --rating rating
IMPORT := $(BIN)/promo-import -q --kind ratings --format tsv --no-header --columns user,item,rating,ts

.PHONY: all doc
.SECONDARY:
all: $(OUT)/table.md

# 0. Parameters: a file per stage, $(P)/NAME.txt, that changes only when
#    its options do (params: pipelines/make.mk), so an option edit retrains
#    that stage and what follows, nothing else.
$(foreach a,$(ALGOS),$(call params,$(a),$(OPTS_$(a)) --seed $(SEED)))
$(call params,mf-folds,$(MF_OPTS) --seed $(SEED))
$(call params,split,seed=$(SEED) train=0.75)

# 1. The ratings, as record streams (u.data and the official folds).
$(OUT)/ratings.mpz: $(ML)/u.data $(BIN)/promo-import | $(OUT)
	$(IMPORT) -o $@.tmp $< && mv $@.tmp $@
$(OUT)/u%.base.mpz: $(ML)/u%.base.gz $(BIN)/promo-import | $(OUT)
	$(IMPORT) -o $@.tmp $< && mv $@.tmp $@
$(OUT)/u%.test.mpz: $(ML)/u%.test.gz $(BIN)/promo-import | $(OUT)
	$(IMPORT) -o $@.tmp $< && mv $@.tmp $@

# 2. Explicit: mf on each fold, its predictions scored against the ratings.
$(OUT)/fold/u%.model: $(OUT)/u%.base.mpz $(P)/mf-folds.txt $(BIN)/promo-train-cf | $(OUT)/fold
	$(BIN)/promo-train-cf -q $(MF_OPTS) --seed $(SEED) -o $@.tmp $< && mv $@.tmp $@
$(OUT)/fold/u%.metrics.mpz: $(OUT)/fold/u%.model $(OUT)/u%.test.mpz $(BIN)/promo-score $(BIN)/promo-evaluate
	$(BIN)/promo-score -m $< $(OUT)/u$*.test.mpz \
	  | $(BIN)/promo-evaluate -q --task regress --label rating --score score -o $@.tmp
	mv $@.tmp $@
# One line per fold: fold, RMSE.
$(OUT)/rmse.tsv: $(FOLDS:%=$(OUT)/fold/u%.metrics.mpz) $(BIN)/promo-cat
	for k in $(FOLDS); do \
	  printf 'u%s\t' $$k; \
	  $(BIN)/promo-cat --format tsv --no-names --fields metric,value $(OUT)/fold/u$$k.metrics.mpz \
	    | awk -F'\t' '$$1 == "rmse" { print $$2 }'; \
	done > $@.tmp
	mv $@.tmp $@

# 3. Top-N split: each (user, item) gets a key from a seeded integer hash
#    (quadratic steps modulo the prime 2^26 - 5, exact in awk's doubles);
#    each user's ratings sorted by key, the first round(0.75 n) train.
$(OUT)/split/train.tsv: $(OUT)/ratings.mpz $(P)/split.txt $(BIN)/promo-cat | $(OUT)/split
	$(BIN)/promo-cat --format tsv --no-names --fields user,item,rating $< \
	  | awk -F'\t' -v seed=$(SEED) 'function q(h, x) { return (h * h + x) % 67108859 } \
	      { print $$1 "\t" q(q(q(q(q(seed + 12345, $$1), $$2), 7), 11), 13) "\t" $$2 "\t" $$3 }' \
	  | sort -t$$'\t' -k1,1n -k2,2n -k3,3n \
	  | awk -F'\t' -v train=$@.tmp -v test=$(OUT)/split/test.tsv.tmp \
	      'function out() { nt = int(0.75 * n + 0.5); for (j = 1; j <= n; j++) print L[j] > (j <= nt ? train : test); n = 0 } \
	       $$1 != u && n { out() } { u = $$1; L[++n] = $$1 "\t" $$3 "\t" $$4 } END { out() }'
	mv $(OUT)/split/test.tsv.tmp $(OUT)/split/test.tsv
	mv $@.tmp $@
$(OUT)/split/test.tsv: $(OUT)/split/train.tsv
$(OUT)/split/%.mpz: $(OUT)/split/%.tsv $(BIN)/promo-import
	$(BIN)/promo-import -q --kind ratings --format tsv --no-header --columns user,item,rating -o $@.tmp $< && mv $@.tmp $@
# The users to rank for: every user of the test part.
$(OUT)/split/users.mpz: $(OUT)/split/test.tsv $(BIN)/promo-import
	cut -f1 $< | sort -un | $(BIN)/promo-import -q --kind users --format tsv --no-header --columns user -o $@.tmp
	mv $@.tmp $@

# 4. Item attributes for content and hybrid: genres (a list) and year.
$(OUT)/items.mpz: $(ML)/u.item $(ML)/u.genre $(BIN)/promo-import | $(OUT)
	awk -F'|' 'NR == FNR { if ($$1 != "") g[$$2] = $$1; next } \
	  { y = ""; if (match($$3, /[0-9][0-9][0-9][0-9]$$/)) y = substr($$3, RSTART, 4); \
	    s = "{\"item\":" $$1 ",\"genres\":["; n = 0; \
	    for (k = 0; k < 19; k++) if ($$(6 + k) == "1") s = s (n++ ? "," : "") "\"" g[k] "\""; \
	    s = s "]"; if (y != "") s = s ",\"year\":" y; print s "}" }' $(ML)/u.genre $(ML)/u.item \
	  | $(BIN)/promo-import -q --kind items --format jsonl -o $@.tmp
	mv $@.tmp $@

# 5. Each algorithm: train on the split, rank for every user, measure.
$(OUT)/topn/%.model: $(OUT)/split/train.mpz $(P)/%.txt $(OUT)/items.mpz $(BIN)/promo-train-cf | $(OUT)/topn
	$(BIN)/promo-train-cf -q $(OPTS_$*) --seed $(SEED) -o $@.tmp $< && mv $@.tmp $@
$(OUT)/topn/%.recs.mpz: $(OUT)/topn/%.model $(OUT)/split/users.mpz $(BIN)/promo-score
	$(BIN)/promo-score -m $< --recommend 10 -o $@.tmp $(OUT)/split/users.mpz && mv $@.tmp $@
$(OUT)/topn/%.metrics.mpz: $(OUT)/topn/%.recs.mpz $(OUT)/split/test.mpz $(BIN)/promo-evaluate
	$(BIN)/promo-evaluate -q --task rank --truth $(OUT)/split/test.mpz --k 10 -o $@.tmp $< && mv $@.tmp $@

# 6. The table (Markdown): the top-N figures, then the RMSE per fold.
$(OUT)/table.md: $(ALGOS:%=$(OUT)/topn/%.metrics.mpz) $(OUT)/rmse.tsv $(BIN)/promo-cat
	{ echo "| algorithm | options | NDCG@10 | Precision@10 | Recall@10 | MAP@10 | vs BiVAE 0.475 |"; \
	  echo "|---|---|---:|---:|---:|---:|---:|"; \
	  for a in $(ALGOS); do \
	    $(BIN)/promo-cat --format tsv --no-names --fields metric,value $(OUT)/topn/$$a.metrics.mpz \
	      | awk -F'\t' -v a=$$a -v o="$$(sed 's/ --items [^ ]* / --items items.mpz /' $(P)/$$a.txt)" \
	          '{ v[$$1] = $$2 } END { printf "| %s | `%s` | %.4f | %.4f | %.4f | %.4f | %+.3f |\n", \
	             a, o, v["ndcg@10"], v["precision@10"], v["recall@10"], v["map@10"], v["ndcg@10"] - 0.475 }'; \
	  done; \
	  echo; \
	  echo "| mf, fold | RMSE |"; \
	  echo "|---|---:|"; \
	  awk -F'\t' '{ printf "| %s | %.4f |\n", $$1, $$2; s += $$2; n++ } \
	    END { printf "| **mean of %d** | **%.4f** |\n", n, s / n }' $(OUT)/rmse.tsv; \
	} > $@.tmp
	mv $@.tmp $@

# 7. The full run's table, written between the markers of docs/train-cf.md.
doc: $(OUT)/table.md
	test "$(QUICK)" != 1 || { echo "movielens.mk: doc needs the full run (QUICK unset)" >&2; exit 2; }
	awk -v t=$< '/<!-- movielens:begin -->/ { print; while ((getline l < t) > 0) print l; skip = 1; next } \
	  /<!-- movielens:end -->/ { skip = 0 } !skip' $(DOC) > $(DOC).tmp
	mv $(DOC).tmp $(DOC)

$(OUT) $(OUT)/fold $(OUT)/split $(OUT)/topn:
	mkdir -p $@
