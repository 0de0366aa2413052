# dunnhumby "Breakfast at the Frat": weekly unit sales regressed on price
# reduction depth, in-store display and circular feature, one least-squares
# fit per product category; the report is docs/dunnhumby-ols.md.
# Usage: make -f pipelines/dunnhumby.mk BIN=/abs/path/to/bin
#        [DUNNHUMBY=/path/to/dunnhumby-breakfast-at-the-frat] [OUT=out/dunnhumby]
include $(dir $(lastword $(MAKEFILE_LIST)))make.mk

BIN ?= $(CURDIR)/bin
PROMO_DATASETS ?= $(CURDIR)/../shared/datasets
DUNNHUMBY ?= $(PROMO_DATASETS)/dunnhumby-breakfast-at-the-frat
OUT ?= out/dunnhumby

# The fit: outcome, regressors, one fit per category; records with a field
# missing (no price or base price, so no depth) are skipped and counted.
OLS_OPTIONS := --y units --x depth,display,feature --by category --skip-missing

.PHONY: all
all: $(OUT)/report.md
	@echo "dunnhumby: report written to $<"

$(OUT):
	mkdir -p $@

# Transactions joined with their product's CATEGORY (products.csv, by UPC),
# plus depth = (base_price - price) / base_price, empty when either price is
# missing or the base price is not positive.
$(OUT)/sales.csv: $(DUNNHUMBY)/transactions.csv.gz $(DUNNHUMBY)/products.csv | $(OUT)
	gzip -dc $(DUNNHUMBY)/transactions.csv.gz | awk -F, -v OFS=, ' \
	  FNR == NR { if (FNR > 1) cat[$$1] = $$4; next } \
	  FNR == 1 { print "week_end_date,store_num,upc,category,units,price,base_price,depth,display,feature,tpr_only"; next } \
	  { depth = ($$8 == "" || $$9 == "" || $$9 + 0 <= 0) ? "" : ($$9 - $$8) / $$9; \
	    print $$1, $$2, $$3, cat[$$3], $$4, $$8, $$9, depth, $$11, $$10, $$12 }' \
	  $(DUNNHUMBY)/products.csv - > $@.tmp
	mv $@.tmp $@

# Text -> a sales stream (ids as text, depth a number even where empty first).
$(OUT)/sales.mpz: $(OUT)/sales.csv $(BIN)/promo-import
	$(BIN)/promo-import -q --kind sales \
	  --types week_end_date=string,store_num=string,upc=string,category=string,units=float,price=float,base_price=float,depth=float,display=int,feature=int,tpr_only=int \
	  -o $@ $<

# The fit's parameters, rewritten only when they change, so an edit reruns
# the fit and the report and nothing else.
$(call params,ols,$(OLS_OPTIONS))

# The least-squares fits: a metrics stream with every coefficient.
$(OUT)/ols.mpz: $(OUT)/sales.mpz $(P)/ols.txt $(BIN)/promo-evaluate
	$(BIN)/promo-evaluate -q --task ols $(OLS_OPTIONS) -o $@ $<

# The report: what was fitted, and the table of coefficients and intervals.
$(OUT)/report.md: $(OUT)/ols.mpz $(BIN)/promo-evaluate
	{ echo '```'; $(BIN)/promo-evaluate --task report $<; echo '```'; } > $@.tmp
	mv $@.tmp $@
