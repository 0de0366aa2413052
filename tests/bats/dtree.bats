#!/usr/bin/env bats
# promo-dtree and its scorer: the seed's rules, SQL that agrees with
# promo-score, exports, pruning, weights, forests, determinism, uplift on the
# simulated shop, the real coupon data, and the errors.

load helpers

D=$TESTS_DIR/dtree

# A mixed table (numbers, levels, missing values; targets for every task).
mix() {
  python3 "$D/mkdata.py" "${1:-1500}" "${2:-7}" > mix.csv
  promo-import -q --kind examples -o mix.mpz mix.csv
}

@test "the seed's promotion conditions are learnt exactly and read as if / else-if rules" {
  promo-import -q --kind examples -o cond.mpz "$D/conditions.csv"
  run -0 --separate-stderr promo-dtree --label effect --rules cond.mpz
  assert_output "$(cat "$D/conditions.rules")"
  assert_equal "$stderr" "promo-dtree: classification tree on 16 rows x 4 features: 4 leaves, depth 3"
  # The same rules from the saved model, and every row predicted right.
  promo-dtree -q --label effect -o cond-model.mpz cond.mpz
  run -0 promo-dtree -m cond-model.mpz --rules
  assert_output "$(cat "$D/conditions.rules")"
  run -0 bash -c 'promo-score -m cond-model.mpz cond.mpz | promo-cat --fields effect,pred | awk -F, "NR > 1 && \$1 != \$2" | wc -l'
  assert_output 0
}

@test "promo-score adds p and pred, and keeps the record and its kind" {
  mix
  promo-dtree -q --label y --fields x1,x2,n,c,rate --max-depth 4 -o m.mpz mix.mpz
  run -0 promo-cat --header m.mpz
  assert_output --partial '"kind":"model/dtree","producer":"promo-dtree"'
  assert_output --partial '"model_version":1,"task":"classification","criterion":"gini","label":"y","fields":"x1,x2,n,c,rate","max_depth":4'
  promo-score -m m.mpz -o scored.mpz mix.mpz
  run -0 promo-cat --header scored.mpz
  assert_output --partial '"kind":"examples"'
  run -0 promo-cat --head 1 --format jsonl scored.mpz
  assert_output --regexp '^\{"x1":-0.25588,"x2":6.509,"n":0,"c":"blue","rate":0.094,"y":0,"label":"mid","value":1.7438,"arm":"control","bought":1,"p":[0-9.e-]+,"pred":[01]\}$'
  # Multi-class: p is a map over the classes, which sum to 1.
  promo-dtree -q --label label --fields x1,x2,n,c,rate --max-depth 4 -o m3.mpz mix.mpz
  run -0 bash -c 'promo-score -m m3.mpz mix.mpz | promo-cat --format jsonl --head 1 --fields p,pred'
  assert_output --regexp '^\{"p":\{"high":[0-9.e-]+,"low":[0-9.e-]+,"mid":[0-9.e-]+\},"pred":"(high|low|mid)"\}$'
  # Accuracy on the training rows is well above the majority class.
  run -0 bash -c 'promo-score -m m.mpz mix.mpz | promo-cat --fields y,pred | awk -F, "NR > 1 { n++; ok += \$1 == \$2; one += \$1 } END { print (ok / n > 0.75 && ok / n > one / n + 0.1) }"'
  assert_output 1
}

@test "the SQL export evaluated by SQLite gives promo-score's predictions on the training rows" {
  mix 1500 3
  check() {   # name, training options, fields to compare
    promo-dtree -q $2 -o "$1.mpz" mix.mpz
    promo-dtree -m "$1.mpz" --export sql > "$1.sql"
    promo-score -m "$1.mpz" mix.mpz | promo-cat > "$1.csv"
    python3 "$D/sqlcheck.py" mix.csv "$1.sql" "$1.csv" $3
  }
  f="--fields x1,x2,n,c,rate"
  run -0 check binary "--label y $f --max-depth 6" "p pred"
  assert_output "3000 values agree, 3000 bit for bit"
  run -0 check classes "--label label $f --max-depth 5" "pred"
  assert_output "1500 values agree, 1500 bit for bit"
  run -0 check regression "--label value $f --max-depth 7" "pred"
  assert_output --regexp '^1500 values agree, 1[0-9]{3} bit for bit$'
  run -0 check uplift "--treatment arm --outcome bought $f --max-depth 4 --min-leaf 20" "uplift_gift uplift_discount uplift best_offer"
  assert_output --regexp '^6000 values agree, [0-9]+ bit for bit$'
  run -0 check forest "--label y $f --max-depth 5 --trees 6 --seed 4" "p pred"
  assert_output --regexp '^3000 values agree, [0-9]+ bit for bit$'
  run -0 check uplift-forest "--treatment arm --outcome bought $f --max-depth 3 --min-leaf 20 --trees 4" "uplift_gift uplift_discount"
  assert_output --regexp '^3000 values agree, [0-9]+ bit for bit$'
  # Missing values are NULL and an unlisted level takes the pooled side.
  run -0 grep -c 'IS NULL' binary.sql
  run -0 grep -q "\"c\" IN ('" binary.sql
}

@test "--export dot draws every node and edge" {
  promo-import -q --kind examples -o cond.mpz "$D/conditions.csv"
  run -0 promo-dtree -q --label effect --export dot cond.mpz
  assert_line --index 0 'digraph dtree {'
  assert_line '  t0n0 [label="A = \"no\"?\nhigh  (16 rows, high 50.0%)"];'
  assert_line '  t0n0 -> t0n1 [label="yes"];'
  assert_line '  t0n6 [label="none  (2 rows, none 100.0%)", style=rounded];'
  assert_equal "$(grep -c ' -> ' <<< "$output")" 6
  assert_equal "${lines[-1]}" '}'
}

@test "regression, entropy, exact mode and weights" {
  mix
  run -0 --separate-stderr promo-dtree --label value --fields x1,c --max-depth 3 --rules mix.mpz
  assert_line --index 0 --regexp '^if x1 (<=|>) -?[0-9.]+ (or x1 is missing )?then$'
  assert_equal "$stderr" "promo-dtree: regression tree on 1500 rows x 2 features: 8 leaves, depth 3"
  run -0 promo-dtree -q --label y --criterion entropy --fields x1,x2 --max-depth 2 --rules mix.mpz
  assert_line --index 0 --regexp '^if x1 '
  # Exact mode: the same partition when every value has its own bin.
  promo-dtree -q --label y --fields n,c --max-depth 4 -o binned.mpz mix.mpz
  promo-dtree -q --label y --fields n,c --max-depth 4 --exact -o exact.mpz mix.mpz
  run -0 bash -c 'diff <(promo-score -m binned.mpz mix.mpz | promo-cat --fields p) <(promo-score -m exact.mpz mix.mpz | promo-cat --fields p)'
  # One level against the rest: every categorical split has one level left.
  promo-dtree -q --label y --fields c,x1 --max-depth 3 --cat-split single -o single.mpz mix.mpz
  run -0 bash -c 'promo-cat --format jsonl single.mpz | python3 -c "import json, sys
t = json.load(sys.stdin)[\"trees\"][0]; o = t[\"cat_off\"]
print(sorted(set(o[i + 1] - o[i] for i in range(len(t[\"feature\"])) if t[\"feature\"][i] == 0)))"'
  assert_output "[1]"
  # Rows of weight 0 are not learnt from: a contradicting half is ignored.
  printf 'x,y,w\n' > w.csv
  for i in $(seq 1 40); do echo "$((i % 4)),$(( i % 4 >= 2 )),1"; echo "$((i % 4)),$(( i % 4 < 2 )),0"; done >> w.csv
  promo-import -q --kind examples -o w.mpz w.csv
  run -0 promo-dtree -q --label y --weight w --rules w.mpz
  assert_line --index 0 'if x > 1.5 then 1  (40 rows, 1 100.0%)'
  # Balanced class weights predict the rare class more often.
  awk -F, 'NR == 1 || $6 == 0 || NR % 4 == 0' mix.csv > rare.csv
  promo-import -q --kind examples -o rare.mpz rare.csv
  promo-dtree -q --label y --fields x1,x2,c --max-depth 3 -o plain.mpz rare.mpz
  promo-dtree -q --label y --fields x1,x2,c --max-depth 3 --class-weight balanced -o bal.mpz rare.mpz
  plain=$(promo-score -m plain.mpz rare.mpz | promo-cat --fields pred | grep -c '^1$' || true)
  bal=$(promo-score -m bal.mpz rare.mpz | promo-cat --fields pred | grep -c '^1$')
  [ "$bal" -gt $((plain + 50)) ] || fail "balanced: $bal positive predictions, plain: $plain"
}

@test "pruning against a validation set removes the branches that fit noise" {
  mix 3000 5
  promo-dtree -q --label y --fields x1,x2,n,c,rate --max-depth 10 -o full.mpz mix.mpz
  run -0 --separate-stderr promo-dtree --label y --fields x1,x2,n,c,rate --max-depth 10 --valid-frac 0.3 -o pruned.mpz mix.mpz
  [[ "$stderr" =~ ^promo-dtree:\ classification\ tree\ on\ 2100\ rows\ x\ 5\ features:\ ([0-9]+)\ leaves,\ depth\ [0-9]+\ \(pruned\ on\ the\ validation\ set\)$ ]] || fail "$stderr"
  pruned=${BASH_REMATCH[1]}
  full=$(promo-dtree -m full.mpz --rules | grep -c ' rows, ')
  [ "$pruned" -lt $((full / 3)) ] || fail "pruned $pruned leaves of $full"
  # A separate validation file, and a held-out check: pruning does not hurt.
  python3 "$D/mkdata.py" 2000 6 > valid.csv
  promo-import -q --kind examples -o valid.mpz valid.csv
  promo-dtree -q --label y --fields x1,x2,n,c,rate --max-depth 10 --valid valid.mpz -o pv.mpz mix.mpz
  python3 "$D/mkdata.py" 3000 8 > test.csv
  promo-import -q --kind examples -o test.mpz test.csv
  acc() { promo-score -m "$1" test.mpz | promo-cat --fields y,pred | awk -F, 'NR > 1 { n++; ok += $1 == $2 } END { printf "%d", 1000 * ok / n }'; }
  [ "$(acc pv.mpz)" -ge "$(acc full.mpz)" ] || fail "pruned $(acc pv.mpz), unpruned $(acc full.mpz) per mille"
}

@test "uplift trees: per-arm leaves, uplift per offer, best offer, honest estimates" {
  mix 3000 9
  run -0 promo-dtree -q --treatment arm --outcome bought --fields x1,x2,c --max-depth 1 --min-leaf 50 --rules mix.mpz
  assert_line --index 0 --regexp '^if x2 > [45]\.[0-9]+ (or x2 is missing )?then discount \+0\.[0-9]+  \(control [0-9.]+% of [0-9]+, discount [0-9.]+% of [0-9]+, gift [0-9.]+% of [0-9]+\)$'
  promo-dtree -q --treatment arm --outcome bought --fields x1,x2,c --max-depth 3 --honest -o up.mpz mix.mpz
  run -0 promo-cat --header up.mpz
  assert_output --partial '"task":"uplift","criterion":"kl","treatment":"arm","control":"control","outcome":"bought"'
  run -0 bash -c 'promo-score -m up.mpz mix.mpz | promo-cat --head 1 --format jsonl --fields uplift_discount,uplift_gift,uplift,best_offer'
  assert_output --regexp '^\{"uplift_discount":-?[0-9.e-]+,"uplift_gift":-?[0-9.e-]+,"uplift":-?[0-9.e-]+,"best_offer":"(discount|gift)"\}$'
  # Honest: the root's counts are the estimation half's, about half the rows.
  run -0 bash -c 'promo-cat --format jsonl up.mpz | grep -o "\"count\":\[[0-9]*"'
  [[ "$output" =~ ([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -gt 1350 ] && [ "${BASH_REMATCH[1]}" -lt 1650 ] || fail "$output"
  # A numeric outcome (revenue-like) takes the squared distance of means.
  run -0 promo-dtree -q --treatment arm --outcome value --fields x1,c --max-depth 1 --rules mix.mpz
  assert_line --index 0 --regexp ' (discount|gift) [-+][0-9.]+  \(control -?[0-9.]+ of [0-9]+, discount -?[0-9.]+ of [0-9]+, gift -?[0-9.]+ of [0-9]+\)$'
}

# Two campaigns of one offer, each adding exactly 0.05 to conversion, but
# with different base rates and different shares treated: pooled, the offer
# looks harmful; compared within each campaign, it adds 0.05.
strata_csv() {
  echo "campaign,arm,bought,x"
  awk 'BEGIN {
    # campaign, arm, rows, of which bought
    split("A offer 800 120|A control 200 20|B offer 200 110|B control 800 400", c, "|")
    for (k = 1; k <= 4; k++) {
      split(c[k], f, " ")
      for (i = 0; i < f[3]; i++) printf "%s,%s,%d,%d\n", f[1], f[2], i < f[4], i % 7
    }
  }'
}

@test "uplift --stratum: each offer is compared with the control within each campaign" {
  promo-import -q --kind examples -o st.mpz <(strata_csv)
  up() { promo-dtree -q --treatment arm --outcome bought --fields x --max-depth 1 --min-leaf 1000 "$@" -o m.mpz st.mpz
         promo-score -m m.mpz st.mpz | promo-cat --head 1 --no-names --fields uplift_offer | awk '{ printf "%.6f\n", $1 }'; }
  # Pooled: 230 of 1000 treated bought against 420 of 1000 controls.
  assert_equal "$(up)" "-0.190000"
  # Within A 0.15 - 0.10, within B 0.55 - 0.50.
  assert_equal "$(up --stratum campaign)" "0.050000"
  # Strata weigh n_offer n_control / (n_offer + n_control): A and B alike
  # (160 each), so B's difference of 0.15 and A's of 0.05 average to 0.10
  # (weighted by the offer's rows it would be 0.07).
  strata_csv | sed 's/^B,offer,[01],/B,offer,X,/' | awk -F, -v OFS=, '$3 == "X" { $3 = ++k <= 130 } 1' \
    | promo-import -q --kind examples -o st3.mpz
  promo-dtree -q --treatment arm --outcome bought --fields x --max-depth 1 --min-leaf 1000 --stratum campaign -o m3.mpz st3.mpz
  assert_equal "$(promo-score -m m3.mpz st3.mpz | promo-cat --head 1 --no-names --fields uplift_offer | awk '{ printf "%.6f", $1 }')" "0.100000"
  run -0 promo-cat --header m.mpz
  assert_output --partial '"stratum":"campaign"'
  # A campaign without controls says nothing about the offer: its rows are left out.
  { strata_csv; for i in $(seq 1 300); do echo "C,offer,0,1"; done; } > st2.csv
  promo-import -q --kind examples -o st2.mpz st2.csv
  promo-dtree -q --treatment arm --outcome bought --fields x --max-depth 1 --min-leaf 1000 --stratum campaign -o m2.mpz st2.mpz
  assert_equal "$(promo-score -m m2.mpz st2.mpz | promo-cat --head 1 --no-names --fields uplift_offer | awk '{ printf "%.6f", $1 }')" "0.050000"
  # One stratum is no stratum: the same model as without.
  awk -F, 'NR == 1 || $1 == "A"' <(strata_csv) | promo-import -q --kind examples -o a.mpz
  promo-dtree -q --treatment arm --outcome bought --fields x --max-depth 2 --min-leaf 20 -o a1.mpz a.mpz
  promo-dtree -q --treatment arm --outcome bought --fields x --max-depth 2 --min-leaf 20 --stratum campaign -o a2.mpz a.mpz
  cmp <(promo-cat --format jsonl a1.mpz) <(promo-cat --format jsonl a2.mpz)
}

@test "uplift on the simulated shop: the uplift tree beats two classification trees on held-out Qini" {
  # Three seeds of 60,000 customers (about 39,000 examples, half held out),
  # at once; an uplift tree (ed, depth 8, 400 rows per arm per leaf)
  # against the two-model approach with trees of the same depth and leaf
  # size on the same training rows.  The figures over the seeds go to the
  # test output; docs/dtree.md has 8 seeds at two sizes (there the uplift
  # tree is ahead on held-out Qini for 7 of 8 at 150,000 customers, 6 of 8
  # at 60,000, and on true Qini for 8 of 8 at 150,000).  Asserted on all
  # three seeds run here, not the best one: the uplift tree's held-out Qini
  # beats the two trees' on each, its true Qini on average, and its top 30%
  # beats random on each.
  JOBS=3 run -0 "$D/shop-seeds.sh" 60000 shop 8 400 ed 1 2 3
  printf '# %s\n' "${lines[@]}" >&3
  [[ "${lines[-1]}" =~ ^summary\ seeds=3\ .*\ qini_wins=([0-9]+)\ tqini_diff=(-?[0-9.]+)\  ]] || fail "${lines[-1]}"
  [ "${BASH_REMATCH[1]}" -eq 3 ] && awk -v d="${BASH_REMATCH[2]}" 'BEGIN { exit !(d > 0) }' || fail "${lines[-1]}"
  for seed in 1 2 3; do
    out=$(cat "shop/$seed.out")
    [[ "$out" =~ uplift_top30=([0-9.]+)\ .*random=([0-9.]+) ]] || fail "$out"
    awk -v ut="${BASH_REMATCH[1]}" -v r="${BASH_REMATCH[2]}" 'BEGIN { exit !(ut > 1.3 * r) }' || fail "seed $seed: $out"
  done
}

@test "forests: the same bytes for a seed on any number of threads; another seed differs" {
  mix
  for t in 1 2; do
    promo-dtree -q --label y --fields x1,x2,n,c,rate --trees 8 --threads $t --seed 3 -o f$t.mpz mix.mpz
  done
  cmp f1.mpz f2.mpz
  promo-dtree -q --label y --fields x1,x2,n,c,rate --trees 8 --seed 4 -o f4.mpz mix.mpz
  ! cmp -s f1.mpz f4.mpz
  promo-dtree -q --label y --fields x1,x2,n,c,rate -o t1.mpz mix.mpz
  promo-dtree -q --label y --fields x1,x2,n,c,rate -o t2.mpz mix.mpz
  cmp t1.mpz t2.mpz
  run -0 --separate-stderr promo-dtree --label y --exclude label,value,arm,bought --trees 8 --max-depth 4 -o f.mpz mix.mpz
  assert_equal "$stderr" "promo-dtree: forest of 8 classification trees on 1500 rows x 5 features: 15.5 leaves a tree, depth up to 4"
  run -0 bash -c 'promo-dtree -m f.mpz --rules | grep -c "^tree [0-9] of 8:"'
  assert_output 8
}

@test "scoring: missing fields and unseen levels are fine, a wrong type is not" {
  mix
  promo-dtree -q --label y --fields x1,c --max-depth 4 -o m.mpz mix.mpz
  printf '{"x1":0.5,"c":"never-seen"}\n{"c":null}\n{}\n{"x1":"high"}\n' | promo-import -q --kind examples --format jsonl -o odd.mpz
  run -1 --separate-stderr promo-score -m m.mpz odd.mpz
  assert_equal "$stderr" 'promo-score: odd.mpz: record 4: field "x1": expected a number (a numeric feature of the model), got a string'
  printf '{"x1":0.5,"c":"never-seen"}\n{"c":null}\n{}\n' | promo-import -q --kind examples --format jsonl -o ok.mpz
  run -0 bash -c 'promo-score -m m.mpz ok.mpz | promo-cat --fields pred | wc -l'
  assert_output 4
}

@test "usage errors: exit 2 with the reason" {
  mix 50
  promo-dtree -q --label y -o m.mpz mix.mpz
  u() { run -2 --separate-stderr promo-dtree "$@"; assert_output ""; assert_equal "${stderr%%$'\n'*}" "$msg"; }
  msg='promo-dtree: nothing to learn: give --label F, or --treatment F --outcome F'; u mix.mpz
  msg='promo-dtree: an uplift tree needs both --treatment and --outcome'; u --treatment arm mix.mpz
  msg='promo-dtree: --label or --treatment/--outcome: a tree predicts a label or an uplift, not both'; u --label y --treatment arm --outcome bought mix.mpz
  msg='promo-dtree: --criterion kl: a tree with --label takes gini, entropy or mse'; u --label y --criterion kl mix.mpz
  msg='promo-dtree: --criterion: expected gini, entropy, mse, kl, ed or chi, got "gain"'; u --label y --criterion gain mix.mpz
  msg='promo-dtree: --valid and --valid-frac prune a single tree, not a forest'; u --label y --trees 3 --valid-frac 0.2 mix.mpz
  msg='promo-dtree: -m MODEL needs --rules or --export'; u -m m.mpz
  msg='promo-dtree: -m MODEL prints a model; it takes no training options or FILEs'; u -m m.mpz --rules mix.mpz
  msg='promo-dtree: --export: expected sql or dot, got "svg"'; u -m m.mpz --export svg
  msg='promo-dtree: --max-depth: expected 1 to 64, got 0'; u --label y --max-depth 0 mix.mpz
  msg='promo-dtree: --bins: expected 2 to 255, got 300'; u --label y --bins 300 mix.mpz
  msg='promo-dtree: --fields: empty field name in "x1,,x2"'; u --label y --fields x1,,x2 mix.mpz
  msg='promo-dtree: --fields: "y" is the label, treatment, outcome, weight or stratum'; u --label y --fields x1,y mix.mpz
  msg='promo-dtree: --class-weight: expected balanced, got "equal"'; u --label y --class-weight equal mix.mpz
  msg='promo-dtree: --max-features: expected a whole number, got "half"'; u --label y --max-features half mix.mpz
  msg='promo-dtree: --task applies to --label (an uplift tree is its own task)'; u --treatment arm --outcome bought --task regression mix.mpz
  msg='promo-dtree: --rules and --export: choose one'; u -m m.mpz --rules --export sql
  msg='promo-dtree: -m MODEL prints to stdout; -o names the model a training writes'; u -m m.mpz --rules -o rules.txt
  msg='promo-dtree: --cat-split: expected ordered or single, got "onehot"'; u --label y --cat-split onehot mix.mpz
  msg='promo-dtree: --stratum applies to uplift trees (--treatment, --outcome)'; u --label y --stratum c mix.mpz
}

@test "data errors: exit 1 with where and what, and no model written" {
  mix 300
  d() { run -1 --separate-stderr promo-dtree "$@" -o out.mpz; assert_output ""; assert_equal "$stderr" "$msg"; [ ! -e out.mpz ] || fail "out.mpz written"; }
  msg='promo-dtree: mix.mpz: record 1: field "nope": missing (the label)'; d --label nope mix.mpz
  msg='promo-dtree: mix.mpz: record 6: field "c": missing (the label)'; d --label c mix.mpz
  msg='promo-dtree: mix.mpz: --exclude: no field "zz" in the first record'; d --label y --exclude zz mix.mpz
  msg='promo-dtree: mix.mpz: --fields: field "x3" has no values'; d --label y --fields x1,x3 mix.mpz
  msg='promo-dtree: mix.mpz: --criterion kl needs a 0/1 outcome; "value" has other values (use ed)'; d --treatment arm --outcome value --criterion kl mix.mpz
  msg='promo-dtree: mix.mpz: field "arm": no rows with the control value "none" (see --control)'; d --treatment arm --outcome bought --control none mix.mpz
  msg='promo-dtree: mix.mpz: record 1: field "nope": missing (the stratum)'; d --treatment arm --outcome bought --stratum nope mix.mpz
  msg='promo-dtree: mix.mpz: field "value": more than 64 strata'; d --treatment arm --outcome bought --fields x2 --stratum value mix.mpz
  msg='promo-dtree: mix.mpz: label "value": more than 256 classes (a numeric label can be learnt with --task regression)'; d --label value --task classification mix.mpz
  : > empty.mpz
  msg='promo-dtree: empty.mpz: empty input (no stream header)'; d --label y empty.mpz
  promo-import -q --kind examples -o header-only.mpz <(echo "y")
  msg='promo-dtree: header-only.mpz: no records to learn from'; d --label y header-only.mpz
  promo-import -q --kind events -o ev.mpz <(events_csv)
  msg='promo-dtree: ev.mpz: expected a stream of kind "model/dtree" (made by promo-dtree), got "events"'
  run -1 --separate-stderr promo-dtree -m ev.mpz --rules
  assert_equal "$stderr" "$msg"
}

@test "a damaged or newer model is refused, naming the field" {
  promo-import -q --kind examples -o cond.mpz "$D/conditions.csv"
  promo-dtree -q --label effect -o m.mpz cond.mpz
  edit() {   # a python expression on h (header) and r (record)
    { promo-cat --header m.mpz; promo-cat --format jsonl m.mpz; } |
      python3 -c "import sys, json
h = json.loads(sys.stdin.readline()); r = json.loads(sys.stdin.readline())
$1
print(json.dumps(h)); print(json.dumps(r))" | python3 "$D/mkstream.py" > bad.mpz
  }
  edit "r['trees'][0]['left'][0] = 0"
  run -1 --separate-stderr promo-score -m bad.mpz cond.mpz
  assert_equal "$stderr" 'promo-score: bad.mpz: record 1: field "left": element 0: expected a whole number from 1 to 6, got 0'
  edit "r['trees'][0]['value'].pop()"
  run -1 --separate-stderr promo-dtree -m bad.mpz --rules
  assert_equal "$stderr" 'promo-dtree: bad.mpz: record 1: field "value": expected 28 elements, got 27'
  edit "r['trees'][0]['feature'][0] = 9"
  run -1 --separate-stderr promo-dtree -m bad.mpz --rules
  assert_equal "$stderr" 'promo-dtree: bad.mpz: record 1: field "feature": element 0: expected a whole number from -1 to 3, got 9'
  edit "del r['classes']"
  run -1 --separate-stderr promo-dtree -m bad.mpz --export sql
  assert_equal "$stderr" 'promo-dtree: bad.mpz: record 1: field "classes": missing'
  edit "h['options']['model_version'] = 2"
  run -1 --separate-stderr promo-dtree -m bad.mpz --rules
  assert_equal "$stderr" 'promo-dtree: bad.mpz: header: model version 2 is newer than this program reads (1)'
}

@test "the in-vehicle coupon data: a seeded 80/20 split, accuracy well above the majority" {
  csv=$DATASETS/uci-in-vehicle-coupon/in-vehicle-coupon-recommendation.csv
  [ -f "$csv" ] || skip "no $csv (PROMO_DATASETS)"
  tr -d '\r' < "$csv" | awk 'NR == 1 { print > "train.csv"; print > "test.csv"; next }
    { print > (NR % 5 == 0 ? "test.csv" : "train.csv") }'
  promo-import -q --kind examples --types Y=int -o train.mpz train.csv
  promo-import -q --kind examples --types Y=int -o test.mpz test.csv
  promo-dtree -q --label Y --max-depth 8 --min-leaf 5 -o m.mpz train.mpz
  run -0 bash -c 'promo-score -m m.mpz test.mpz | promo-cat --fields Y,pred | awk -F, "NR > 1 { n++; ok += \$1 == \$2 } END { printf \"%.3f\", ok / n }"'
  echo "# coupon test accuracy (every 5th row held out): $output" >&3
  awk -v a="$output" 'BEGIN { exit !(a > 0.68) }' || fail "accuracy $output"
}
