# What the purchase-intent pipelines (shop-intent.mk, taobao-intent.mk)
# share: from a cleaned log, $(OUT)/clean.mpz, to each seed's logistic
# baseline and CNN, trained by promo-train-cnn the same way on the same
# validation users.  Included after BIN and OUT; the pipeline sets the
# options users, sequences, logreg and cnn, and the goal all.
.DEFAULT_GOAL := all

# The users view's features, all of them (the baseline's input, and the
# CNN's numeric side).
NUMERIC := recency_days,frequency,monetary,n_view,n_wish,n_cart,n_purchase,view_to_cart,$\
  cart_to_purchase,sessions,mean_session_length,mean_session_minutes,distinct_items,$\
  distinct_categories,top1_category_share,top2_category_share,top3_category_share,$\
  discount_share,mean_purchase_value,purchase_rate_offer,purchase_rate_no_offer,n_offers,$\
  days_active,tenure_days

# Each user's features and label.
$(OUT)/users.mpz: $(OUT)/clean.mpz $(P)/users.txt $(BIN)/promo-featurize
	$(BIN)/promo-featurize -q $(users) -o $@.tmp $<
	mv $@.tmp $@

# Each user's last behaviour events as token arrays, and the label.
$(OUT)/sequences.mpz: $(OUT)/clean.mpz $(P)/sequences.txt $(BIN)/promo-featurize
	$(BIN)/promo-featurize -q $(sequences) -o $@.tmp $<
	mv $@.tmp $@

# The baseline, one per seed (the seed draws the validation users).
$(OUT)/logreg-%.mpz: $(OUT)/users.mpz $(P)/logreg.txt $(BIN)/promo-train-cnn
	$(BIN)/promo-train-cnn -q $(logreg) --seed $* -o $@.tmp $<
	mv $@.tmp $@

# The CNN with the users view's features beside the sequence, one per seed:
# the same users validate as for the baseline.
$(OUT)/cnn-%.mpz: $(OUT)/sequences.mpz $(OUT)/users.mpz $(P)/cnn.txt $(BIN)/promo-train-cnn
	$(BIN)/promo-train-cnn -q $(cnn) --users $(OUT)/users.mpz --seed $* -o $@.tmp $<
	mv $@.tmp $@

# A model's validation AUC and rows, from its training record.
auc = $(BIN)/promo-cat --format tsv --no-names --fields training $(1) | \
  sed -E 's/^[^[]*"valid_auc":([0-9.e-]+).*/\1/'
rows = $(BIN)/promo-cat --format tsv --no-names --fields training $(1) | \
  sed -E 's/.*"valid_rows":([0-9]+).*/\1/'
