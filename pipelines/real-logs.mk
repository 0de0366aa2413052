# The real public event logs, each imported, cleaned and featurized:
# Taobao user behaviour, UCI Online Retail and the YooChoose click sample.
#   make -f pipelines/real-logs.mk BIN=$PWD/bin [DATASETS=../shared/datasets] [OUT=out/real-logs]
# The data sets are read where they are (see each folder's SOURCE.md),
# never copied.  $(OUT)/report.txt shows each log's counts by reason and
# the rows of each view; docs/clean.md walks through it.
include $(dir $(lastword $(MAKEFILE_LIST)))make.mk
.SECONDARY:
.SECONDEXPANSION:

BIN ?= $(CURDIR)/bin
DATASETS ?= $(if $(PROMO_DATASETS),$(PROMO_DATASETS),$(CURDIR)/../shared/datasets)
OUT ?= out/real-logs

LOGS := taobao retail yoochoose
VIEWS := taobao/users taobao/sequences retail/users yoochoose/sequences

# ---- the logs and each stage's parameters -------------------------------------

# Taobao: no header line; pv, cart, fav, buy; the official window is
# 2017-11-25 .. 2017-12-03 in China time; features as of the window's last
# two days, which are the labels.
taobao.input := $(DATASETS)/taobao-userbehavior-head/UserBehavior_head_814users.csv.gz
taobao.import := --kind events --no-header --columns user,item,category,event,ts
taobao.clean := --event-map pv=view,buy=purchase,fav=wish --since 2017-11-25T00:00:00+08:00 \
  --until 2017-12-04T00:00:00+08:00 --max-events-per-day 500
taobao.users := --view users --asof 2017-12-02T00:00:00+08:00 --label-days 2
taobao.sequences := --view sequences --asof 2017-12-02T00:00:00+08:00 --label-days 2 --length 20

# Online Retail: the columns get the schema's names in promo-import; every
# line is a purchase; StockCode mixes digits and letters; InvoiceDate is
# text.  Lines of one invoice share a minute, so only exact duplicates go
# (--dedup-window 0).  Cancellations have negative quantities.
retail.input := $(DATASETS)/uci-online-retail/online_retail.csv.gz
retail.import := --kind events --map user=CustomerID,item=StockCode,ts=InvoiceDate,price=UnitPrice,quantity=Quantity \
  --types item=string
retail.clean := --default-event purchase --dedup-window 0
retail.users := --view users --asof 2011-11-09 --label-days 30

# YooChoose: clicks only, and the session is the only id; Time has
# fractions of a second.
yoochoose.input := $(addprefix $(DATASETS)/yoochoose-rsc15-sessionrec-sample/yoochoose-clicks-100k_,train_full.txt.gz test.txt.gz)
yoochoose.import := --kind events --format tsv --map user=SessionId,item=ItemId,ts=Time
yoochoose.clean := --default-event view
yoochoose.sequences := --view sequences --asof 2014-04-07 --label-days 1 --length 20

# ---- rules, in processing order ---------------------------------------------

.PHONY: all
all: $(OUT)/report.txt
	@echo "real-logs: report written to $<"

$(addprefix $(OUT)/,$(LOGS)):
	mkdir -p $@

# A stage's parameters, $(P)/LOG.STAGE.txt, rewritten only when they change
# (params: pipelines/make.mk): editing one reruns that stage and what
# follows it, and nothing else.
$(foreach l,$(LOGS),$(foreach s,import clean users sequences,\
  $(if $($(l).$(s)),$(call params,$(l).$(s),$($(l).$(s))))))

# Text to an events stream.
$(OUT)/%/events.mpz: $$($$*.input) $(P)/%.import.txt $(BIN)/promo-import | $$(@D)
	$(BIN)/promo-import -q $($*.import) -o $@.tmp $($*.input)
	mv $@.tmp $@

# Validate, deduplicate, sort by user and time; the rejects and the counts
# by reason beside.
$(OUT)/%/clean.mpz: $(OUT)/%/events.mpz $(P)/%.clean.txt $(BIN)/promo-clean
	$(BIN)/promo-clean -q $($*.clean) --rejects $(@D)/rejects.mpz.tmp --report $(@D)/report.mpz.tmp -o $@.tmp $<
	mv $(@D)/rejects.mpz.tmp $(@D)/rejects.mpz
	mv $(@D)/report.mpz.tmp $(@D)/report.mpz
	mv $@.tmp $@

# One view of the cleaned log.
$(OUT)/%/users.mpz: $(OUT)/%/clean.mpz $(P)/%.users.txt $(BIN)/promo-featurize
	$(BIN)/promo-featurize -q $($*.users) -o $@.tmp $<
	mv $@.tmp $@

$(OUT)/%/sequences.mpz: $(OUT)/%/clean.mpz $(P)/%.sequences.txt $(BIN)/promo-featurize
	$(BIN)/promo-featurize -q $($*.sequences) -o $@.tmp $<
	mv $@.tmp $@

# The report: each log's counts by reason, and the rows of each view.
$(OUT)/report.txt: $(VIEWS:%=$(OUT)/%.mpz) $(BIN)/promo-cat
	for log in $(LOGS); do \
	  echo "== $$log: $(OUT)/$$log (rejects.mpz has each rejected record)"; \
	  $(BIN)/promo-cat --no-names --fields metric,group,value $(OUT)/$$log/report.mpz | grep -v ',0$$'; \
	  echo; \
	done > $@.tmp
	for v in $(VIEWS); do echo "$$v: $$($(BIN)/promo-cat --count $(OUT)/$$v.mpz) rows"; done >> $@.tmp
	mv $@.tmp $@
