# Customer segments of UCI Online Retail: invoices -> RFM features ->
# k-means segments and their profile (docs/retail-segments.md).
# Usage: make -f pipelines/retail-segments.mk [BIN=/abs/bin] [OUT=out/retail]
#        [RETAIL=/path/online_retail.csv.gz] [KMEANS_OPTS='-k 2..8 --pick elbow']
include $(dir $(lastword $(MAKEFILE_LIST)))make.mk

HERE := $(dir $(lastword $(MAKEFILE_LIST)))
ROOT := $(abspath $(HERE)..)
BIN ?= $(ROOT)/bin
OUT ?= out/retail
DATASETS ?= $(or $(PROMO_DATASETS),$(ROOT)/../shared/datasets)
RETAIL ?= $(DATASETS)/uci-online-retail/online_retail.csv.gz
# Features clustered: days since the last purchase, and the logarithms of
# the number of invoices and of the money spent (both are heavy-tailed).
FEATURES ?= recency_days,log_frequency,log_monetary
KMEANS_OPTS ?= -k 2..8 --pick elbow --seed 1

.PHONY: all
all: $(OUT)/segments.txt
	@cat $<
	@echo "retail-segments: segments in $(OUT)/segments.mpz, profile in $(OUT)/profile.mpz"

$(OUT):
	mkdir -p $@

# The clustering options, in a file rewritten only when they change, so an
# edit reruns the clustering and what follows, and nothing else.
$(call params,kmeans,$(FEATURES) $(KMEANS_OPTS))

# The invoices as a stream; ids and codes are text (some start with a letter).
$(OUT)/retail.mpz: $(RETAIL) $(BIN)/promo-import | $(OUT)
	$(BIN)/promo-import -q --kind events \
	  --types InvoiceNo=string,StockCode=string,Description=string,CustomerID=int \
	  -o $@.tmp $<
	mv $@.tmp $@

# One record per customer: recency, frequency, monetary value (awk over
# promo-cat's CSV until promo-featurize --view users reads this log).
$(OUT)/rfm.mpz: $(OUT)/retail.mpz $(HERE)retail-rfm.awk $(BIN)/promo-cat $(BIN)/promo-import
	$(BIN)/promo-cat --fields InvoiceNo,InvoiceDate,Quantity,UnitPrice,CustomerID $< \
	  | awk -f $(HERE)retail-rfm.awk | { read -r h; echo "$$h"; sort -t, -k1,1n; } \
	  | $(BIN)/promo-import -q --kind users -o $@.tmp
	mv $@.tmp $@

# The segments (a model/kmeans stream) and their profile (metrics); the
# k table and the profile table are kept from stderr.
$(OUT)/segments.mpz: $(OUT)/rfm.mpz $(P)/kmeans.txt $(BIN)/promo-kmeans
	$(BIN)/promo-kmeans --fields $(FEATURES) $(KMEANS_OPTS) \
	  --profile $(OUT)/profile.mpz -o $@.tmp $< 2> $(OUT)/kmeans.log \
	  || { cat $(OUT)/kmeans.log >&2; exit 1; }
	mv $@.tmp $@
$(OUT)/profile.mpz: $(OUT)/segments.mpz

# Every customer with its segment.
$(OUT)/customers.mpz: $(OUT)/rfm.mpz $(OUT)/segments.mpz $(BIN)/promo-score
	$(BIN)/promo-score -m $(OUT)/segments.mpz -o $@.tmp $<
	mv $@.tmp $@

# The report: the k table and profile as promo-kmeans printed them, then
# each segment in plain units (mean invoices and money, share of revenue).
$(OUT)/segments.txt: $(OUT)/customers.mpz $(OUT)/segments.mpz $(BIN)/promo-cat
	{ cat $(OUT)/kmeans.log; echo; \
	  echo "segment  customers  mean_recency_days  mean_invoices  mean_spend  revenue_share"; \
	  $(BIN)/promo-cat --fields segment,recency_days,frequency,monetary --no-names $< \
	    | awk -F, '{ n[$$1]++; r[$$1] += $$2; f[$$1] += $$3; m[$$1] += $$4; t += $$4 } \
	      END { for (s in n) printf "%-7s  %9d  %17.1f  %13.1f  %10.0f  %12.1f%%\n", \
	            s, n[s], r[s] / n[s], f[s] / n[s], m[s] / n[s], 100 * m[s] / t }' | sort -n; \
	} > $@.tmp
	mv $@.tmp $@
