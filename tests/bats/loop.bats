#!/usr/bin/env bats
# The loop under make (pipelines/loop.mk) on a small simulated shop: it
# runs end to end, and reruns exactly what a change affects.

load helpers

LOOP=$BATS_TEST_DIRNAME/../../pipelines/loop.mk
SMALL=(USERS=1500 ITEMS=200 HISTORY_DAYS=28 CYCLES=1 BUDGET=100 UPLIFT_TREES=10
       INTENT_EPOCHS=5 CF_FACTORS=8 OFFERS=$BATS_TEST_DIRNAME/../../data/offers.csv)

loop() { make --no-print-directory -f "$LOOP" BIN="$PROMO_BIN" OUT=out "${SMALL[@]}" "$@"; }
# The programs a dry run would start, one name per line.
would_run() { loop -n "$@" | grep -o 'promo-[a-z-]*\( world\| events\| respond\| truth\)\?' | sort -u; }

setup_file() {
  cd "$BATS_FILE_TMPDIR"
  make --no-print-directory -f "$LOOP" BIN="$PROMO_BIN" OUT=out "${SMALL[@]}" > run.log 2>&1
}

setup() { cd "$BATS_FILE_TMPDIR"; }

@test "one cycle runs end to end and reports plan, random and oracle" {
  run -0 cat out/report.txt
  assert_line --regexp '^cycle +sends +plan +random +oracle'
  assert_line --regexp '^1 +[0-9]+ +-?[0-9.]+ +-?[0-9.]+ +-?[0-9.]+ '
  run -0 grep -c '<svg' out/report.html
  for f in world history cycle1/clean cycle1/users cycle1/kmeans cycle1/uplift-pct10 cycle1/intent \
           cycle1/cf cycle1/scored cycle1/plan cycle1/week-plan cycle1/summary; do
    [ -s "out/$f.mpz" ] || fail "out/$f.mpz missing"
  done
  run -0 promo-cat --kind plan --count out/cycle1/plan.mpz
}

@test "no change: nothing reruns" {
  run -0 would_run
  assert_output ""
}

@test "TIMING=FILE records each recipe's target, wall time and status" {
  loop TIMING="$PWD/times.txt" -W out/cycle1/shop.txt > /dev/null 2>&1
  run -0 awk '$1 == "out/cycle1/plan.mpz" && $2 >= 0 && $3 == 0 { n++ } END { print n + 0 }' times.txt
  assert_output 1
  run -0 awk '$1 ~ /clean|kmeans|uplift/ { n++ } END { print n + 0 }' times.txt
  assert_output 0
  run -0 would_run
  assert_output ""
}

@test "examples.sh: an offer's campaigns, comparable controls, arms weighted alike in each campaign" {
  printf 'user,campaign,treatment,x,converted\n1,1,control,0.5,0\n2,1,pct10,0.1,1\n9,1,pct20,0.9,0\n10,1,control,0.2,1\n3,3,pct10,0.2,0\n4,3,control,0.3,1\n5,3,control,0.4,0\n6,4,control,0.6,0\n7,4,control,0.7,1\n8,4,pct20,0.8,1\n' > ex.csv
  promo-import -q --kind examples -o ex.mpz ex.csv
  printf 'user,offer,holdout\n3,pct10,false\n4,pct10,true\n5,,true\n' > p1.csv
  printf 'user,offer,holdout\n6,pct20,true\n7,,true\n8,pct20,false\n' > p2.csv
  promo-import -q --kind plan --types user=int,offer=string,holdout=bool -o p1.mpz p1.csv
  promo-import -q --kind plan --types user=int,offer=string,holdout=bool -o p2.mpz p2.csv
  bash "$BATS_TEST_DIRNAME/../../pipelines/examples.sh" "$PROMO_BIN" 2 ex.mpz cut pct10,pct20 p1.mpz p2.mpz
  # pct10: campaign 1 without its pct20 arm; campaign 3's held-out user 4 (its
  # plan would have sent pct10) but not user 5 (nothing); campaign 4 sent no pct10.
  run -0 promo-cat --kind examples --fields user,campaign,treatment,weight cut-pct10.mpz
  assert_output "$(printf 'user,campaign,treatment,weight\n1,1,control,0.75\n2,1,pct10,1.5\n10,1,control,0.75\n3,3,pct10,1\n4,3,control,1')"
  run -0 promo-cat --kind examples --fields user,campaign,treatment,weight cut-pct20.mpz
  assert_output "$(printf 'user,campaign,treatment,weight\n1,1,control,0.75\n9,1,pct20,1.5\n10,1,control,0.75\n6,4,control,1\n8,4,pct20,1')"
  # A failure leaves no set: a plan that is not a stream.
  rm cut-*.mpz
  echo 'not a stream' > bad.mpz
  run -1 bash "$BATS_TEST_DIRNAME/../../pipelines/examples.sh" "$PROMO_BIN" 2 ex.mpz cut pct10,pct20 p1.mpz bad.mpz
  assert_output --partial "promo-cat: bad.mpz"
  run -0 bash -c 'ls cut-* 2> /dev/null | wc -l'
  assert_output 0
}

@test "expected.awk: a plan's expected profit sums the truth over its sends, not its holdout" {
  printf 'user,offer,uplift_profit\n1,pct10,0.5\n1,pct20,-1\n2,pct10,2\n3,pct10,4\n4,pct20,-0.25\n' > truth.csv
  printf 'user,offer,holdout\n1,pct20,false\n2,pct10,false\n3,pct10,true\n4,,false\n5,pct10,false\n' > plan.csv
  run -0 awk -F, -f "$BATS_TEST_DIRNAME/../../pipelines/expected.awk" truth.csv plan.csv
  assert_output 1.0000
  run -0 grep -E '^1 ' out/report.txt
  [ "$(echo "$output" | awk '{ print NF }')" -eq 14 ] || fail "no expected columns: $output"
}

@test "a k-means parameter reruns k-means and what depends on it, nothing else" {
  run -0 would_run K=6
  assert_line promo-kmeans
  assert_line promo-score
  assert_line promo-plan
  refute_line promo-dtree
  refute_line promo-train-cf
  refute_line promo-train-cnn
  refute_line 'promo-synth events'
  refute_line 'promo-synth world'
  for f in clean users uplift-pct10 intent cf; do cp -p out/cycle1/$f.mpz $f.before; done
  loop K=6 > /dev/null 2>&1
  for f in clean users uplift-pct10 intent cf; do
    [ out/cycle1/$f.mpz -ot $f.before ] || [ ! out/cycle1/$f.mpz -nt $f.before ] || fail "$f was rebuilt"
  done
  run -0 promo-cat --header out/cycle1/kmeans.mpz
  assert_output --partial '"k":"6"'
  run -0 would_run K=6
  assert_output ""
}

@test "a new day of events reruns every stage" {
  promo-cat --format mpz -o events.mpz out/history.mpz
  loop EVENTS="$PWD/events.mpz" > /dev/null 2>&1
  run -0 would_run EVENTS="$PWD/events.mpz"
  assert_output ""
  # One more day of the shop's life, appended to the log.
  printf 'user,offer,holdout\n' | promo-import -q --kind plan --types user=int,offer=string,holdout=bool -o empty.mpz
  promo-synth respond -q --world out/world.mpz --plan empty.mpz --start 2024-01-29 --days 1 --campaign 9 -o day.mpz
  promo-cat --format mpz -o events.mpz events.mpz day.mpz
  run -0 would_run EVENTS="$PWD/events.mpz" HISTORY_DAYS=29
  for p in promo-clean promo-featurize promo-kmeans promo-dtree promo-train-cnn promo-train-cf \
           promo-score promo-plan 'promo-synth respond' promo-evaluate; do
    assert_line "$p"
  done
}

@test "a corrupted input fails its stage; downstream stays as it was" {
  promo-cat --format mpz -o events.mpz out/history.mpz
  loop EVENTS="$PWD/events.mpz" > /dev/null 2>&1
  cp -p out/history.mpz history.before
  cp -p out/cycle1/plan.mpz plan.before
  head -c 5000 out/history.mpz > events.mpz
  run -2 --separate-stderr loop EVENTS="$PWD/events.mpz"
  [[ "$stderr" == *"promo-cat: $PWD/events.mpz: record "*": truncated gzip stream"* ]] || fail "$stderr"
  run -0 cmp out/history.mpz history.before
  run -0 cmp out/cycle1/plan.mpz plan.before
  [ ! out/cycle1/plan.mpz -nt plan.before ] || fail "plan was rebuilt"
}

@test "nightly: a new day each night, compared with the previous night" {
  nightly() { make --no-print-directory -f "$BATS_TEST_DIRNAME/../../pipelines/nightly.mk" \
                BIN="$PROMO_BIN" NIGHT=night "${SMALL[@]}" "$@"; }
  run -0 nightly
  run -0 cat night/days
  assert_output 29
  # A much weaker intent model (one feature) must fail the AUC threshold.
  run -2 --separate-stderr nightly FAIL_ON=auc=0.01 INTENT_FIELDS=tenure_days
  [[ "$stderr" == *"promo-evaluate: "*"auc"* ]] || fail "no regression message: $stderr"
  run -0 cat night/days
  assert_output 30
  run -0 nightly
  assert_output --partial "auc"
}
