#!/usr/bin/env bats
# The real data sets in ../shared/datasets (or $PROMO_DATASETS): every CSV,
# TSV and JSON-lines file imports with the row count its SOURCE.md states,
# and comes back from promo-cat with the same values, checked by Python's
# own csv and json parsers (tests/datasets/compare.py).  Skipped, saying
# so, when the files are absent.

load helpers

# roundtrip FILE ROWS [IMPORT_OPTIONS...] -- [COMPARE_OPTIONS...]
roundtrip() {
  local file=$DATASETS/$1 rows=$2; shift 2
  [ -f "$file" ] || skip "data set not present: $file"
  local imp=() cmp=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do imp+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  cmp=("$@")
  run -0 promo-import -q "${imp[@]}" -o data.mpz "$file"
  run -0 promo-cat --count data.mpz
  assert_output "$rows"
  run -0 promo-cat --format jsonl -o data.jsonl data.mpz
  run -0 python3 "$TESTS_DIR/datasets/compare.py" "$file" data.jsonl "${cmp[@]}"
  assert_output "$rows"
}

ML_ITEM_COLS=id,title,release,video_release,url,unknown,action,adventure,animation,children,comedy,crime,documentary,drama,fantasy,noir,horror,musical,mystery,romance,scifi,thriller,war,western
RATING_COLS=user,item,rating,ts

@test "taobao user behaviour: 84,287 rows" {
  roundtrip taobao-userbehavior-head/UserBehavior_head_814users.csv.gz 84287 \
    --kind events --no-header --columns user,item,category,behavior,ts -- --no-header --columns user,item,category,behavior,ts
}

@test "uci online retail: 541,909 rows, quoted commas and missing ids" {
  roundtrip uci-online-retail/online_retail.csv.gz 541909 --kind events
}

@test "uci in-vehicle coupon: 12,684 rows, CRLF" {
  roundtrip uci-in-vehicle-coupon/in-vehicle-coupon-recommendation.csv 12684 --kind examples
}

@test "movielens u.data: 100,000 ratings, TSV without header" {
  roundtrip movielens-100k/u.data 100000 --kind ratings --format tsv --no-header --columns $RATING_COLS \
    -- --tsv --no-header --columns $RATING_COLS
}

@test "movielens u.item: 1,682 items, ISO-8859-1 with | separators" {
  roundtrip movielens-100k/u.item 1682 --kind items --delimiter '|' --no-quote --encoding latin1 \
    --no-header --columns $ML_ITEM_COLS -- --delimiter '|' --no-quote --latin1 --no-header --columns $ML_ITEM_COLS
}

@test "movielens u.user, u.genre, u.occupation" {
  roundtrip movielens-100k/u.user 943 --kind users --delimiter '|' --no-header --columns user,age,gender,occupation,zip \
    -- --delimiter '|' --no-header --columns user,age,gender,occupation,zip
  roundtrip movielens-100k/u.genre 19 --kind genres --delimiter '|' --no-header --columns genre,id \
    -- --delimiter '|' --no-header --columns genre,id
  roundtrip movielens-100k/u.occupation 21 --kind occupations --no-header --columns occupation \
    -- --no-header --columns occupation
}

@test "movielens splits u1-u5, ua, ub (gzip TSV)" {
  for k in 1 2 3 4 5; do
    roundtrip movielens-100k/u$k.base.gz 80000 --kind ratings --format tsv --no-header --columns $RATING_COLS \
      -- --tsv --no-header --columns $RATING_COLS
    roundtrip movielens-100k/u$k.test.gz 20000 --kind ratings --format tsv --no-header --columns $RATING_COLS \
      -- --tsv --no-header --columns $RATING_COLS
  done
  for k in a b; do
    roundtrip movielens-100k/u$k.base.gz 90570 --kind ratings --format tsv --no-header --columns $RATING_COLS \
      -- --tsv --no-header --columns $RATING_COLS
    roundtrip movielens-100k/u$k.test.gz 9430 --kind ratings --format tsv --no-header --columns $RATING_COLS \
      -- --tsv --no-header --columns $RATING_COLS
  done
}

@test "dunnhumby breakfast at the frat: 524,950 transactions, stores, products" {
  roundtrip dunnhumby-breakfast-at-the-frat/transactions.csv.gz 524950 --kind sales
  roundtrip dunnhumby-breakfast-at-the-frat/stores.csv 79 --kind stores
  roundtrip dunnhumby-breakfast-at-the-frat/products.csv 58 --kind products
}

@test "dunnhumby glossary: a raw sheet export read without a header" {
  cols=c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12,c13,c14,c15
  roundtrip dunnhumby-breakfast-at-the-frat/glossary.csv 28 --kind glossary --no-header --columns $cols \
    -- --no-header --columns $cols
}

@test "diginetica item views: 12,391 rows, ; separated" {
  roundtrip diginetica-srgnn-sample/sample_train-item-views.csv 12391 --kind events --delimiter ';' -- --delimiter ';'
}

@test "yoochoose clicks: four gzip TSV files" {
  roundtrip yoochoose-rsc15-sessionrec-sample/yoochoose-clicks-100k_train_full.txt.gz 70278 --kind events --format tsv -- --tsv
  roundtrip yoochoose-rsc15-sessionrec-sample/yoochoose-clicks-100k_test.txt.gz 13568 --kind events --format tsv -- --tsv
  roundtrip yoochoose-rsc15-sessionrec-sample/yoochoose-clicks-100k_train_tr.txt.gz 53254 --kind events --format tsv -- --tsv
  roundtrip yoochoose-rsc15-sessionrec-sample/yoochoose-clicks-100k_train_valid.txt.gz 16539 --kind events --format tsv -- --tsv
}

@test "otto sessions: JSON lines with nested events, byte-identical back" {
  roundtrip otto-recsys-tiny/train_first20sessions.jsonl 20 --kind sessions -- --jsonl
  run -0 cmp data.jsonl "$DATASETS/otto-recsys-tiny/train_first20sessions.jsonl"
  run -0 promo-cat --format jsonl data.mpz
  run -0 bash -c 'promo-cat --format jsonl data.mpz | grep -o "\"type\":\"[a-z]*\"" | sort | uniq -c | tr -s " "'
  assert_output " 52 \"type\":\"carts\"
 800 \"type\":\"clicks\"
 10 \"type\":\"orders\""
}

@test "complete journey: eight tables" {
  d=completejourney-8451
  roundtrip $d/campaign_descriptions.csv 27 --kind campaigns
  roundtrip $d/campaigns.csv 6589 --kind campaigns
  roundtrip $d/coupon_redemptions.csv 2102 --kind redemptions
  roundtrip $d/coupons.csv.gz 116204 --kind coupons
  roundtrip $d/demographics.csv 801 --kind users
  roundtrip $d/products.csv.gz 92331 --kind products
  roundtrip $d/transactions_sample.csv.gz 75000 --kind events
  # Location codes look numeric for 8,000 rows, then "A": say they are text.
  roundtrip $d/promotions_sample.csv.gz 360535 --kind promotions --types display_location=string,mailer_location=string
}

@test "complete journey promotions: inference meets text and says what to do" {
  f=$DATASETS/completejourney-8451/promotions_sample.csv.gz
  [ -f "$f" ] || skip "data set not present: $f"
  run -1 --separate-stderr promo-import --kind promotions -o p.mpz "$f"
  assert_equal "$stderr" "promo-import: $f: line 8034, column 3: field \"display_location\": expected a number (inferred from the first 1000 rows), got \"A\"; use --types display_location=string"
  assert [ ! -e p.mpz ]
}
