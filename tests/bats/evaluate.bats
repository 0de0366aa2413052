#!/usr/bin/env bats
# promo-evaluate: every task on small cases worked by hand (the arithmetic
# is in tests/unit/test_metrics.c and docs/evaluate.md), the outputs, the
# comparison with an earlier run, bad input; then the tiers that need more:
# scikit-learn and statsmodels, headless Chromium, the dunnhumby data set.

load helpers

imp() {   # imp NAME.csv|NAME.jsonl: a stream NAME.mpz of kind rows
  promo-import -q --kind rows -o "${1%.*}.mpz" "$1"
}

seed_table() {
  printf 'x,y\n10,1000\n20,1500\n30,2000\n40,2500\n' > seed.csv
  imp seed.csv
}

@test "the seed's table: intercept 500 and slope 50 exactly, 1500 at x = 20" {
  seed_table
  run -0 promo-evaluate --task ols --y y --x x --predict x=20 seed.mpz
  assert_output "ols
  metric          group  value  interval      p  n
  coef:intercept         500    500 to 500    0  4
  coef:x                 50     50 to 50      0  4
  r2                     1                       4
  adj_r2                 1                       4
  sigma                  0                       4
  predict                1500   1500 to 1500     4

note: ols: y on an intercept, x; 95% intervals and two-sided p-values from t with n - 2 degrees of freedom
note: ols: predict is the fitted mean at x=20, with its confidence interval"
  # Exactly: the shortest round-trip text of the stored doubles.
  run -0 bash -c 'promo-evaluate --task ols --y y --x x --predict x=20 --json seed.mpz | grep -o "\"metric\":\"[a-z0-9_:]*\",\"value\":[0-9.e+-]*"'
  assert_output '"metric":"coef:intercept","value":500
"metric":"coef:x","value":50
"metric":"r2","value":1
"metric":"adj_r2","value":1
"metric":"sigma","value":0
"metric":"predict","value":1500'
}

@test "classify: AUC with ties, log loss, Brier, threshold metrics, deciles" {
  # Positives 0.9 0.8 0.4, negatives 0.8 0.3 0.1: AUC 7.5 / 9.
  printf 'y,s\n1,0.9\n0,0.8\n1,0.8\n0,0.3\n1,0.4\n0,0.1\n' > c.csv
  imp c.csv
  run -0 promo-evaluate --task classify --label y --score s -o m.mpz c.mpz
  assert_output ""
  # log loss -(ln .9 + ln .8 + ln .4 + ln .2 + ln .7 + ln .9) / 6; Brier
  # (.01 + .04 + .36 + .64 + .09 + .01) / 6; at 0.5: TP 2, FP 1, FN 1.
  run -0 promo-cat --fields metric,group,value,n --head 13 m.mpz
  assert_output "metric,group,value,n
auc,,0.8333333333333334,6
logloss,,0.5527113618128084,6
brier,,0.19166666666666668,6
ece,,0.24999999999999997,6
accuracy,,0.6666666666666666,6
precision,,0.6666666666666666,3
recall,,0.6666666666666666,3
f1,,0.6666666666666666,
base_rate,,0.5,6
roc,,0.8333333333333334,
gains,,0.6633333333333333,
lift,1,2,
lift,2,1.6666666666666667,"
  # The ROC curve runs through the tie as one step.
  run -0 bash -c 'promo-evaluate --task classify --label y --score s --json c.mpz | grep -o "\"metric\":\"roc\"[^}]*"'
  assert_output '"metric":"roc","value":0.8333333333333334,"x":[0,0,0.3333333333333333,0.3333333333333333,0.6666666666666666,1],"y":[0,0.3333333333333333,0.6666666666666666,1,1,1]'
}

@test "classify: a label that is not 0/1, a missing field, one class only" {
  printf 'y,s\n1,0.9\n2,0.8\n' > c.csv
  imp c.csv
  run -1 --separate-stderr promo-evaluate --task classify --label y --score s c.mpz
  assert_equal "$stderr" 'promo-evaluate: c.mpz: record 2: field "y": expected 0 or 1 (or a boolean), got 2'
  run -1 --separate-stderr promo-evaluate --task classify --label y --score p c.mpz
  assert_equal "$stderr" 'promo-evaluate: c.mpz: record 1: field "p": missing'
  printf 'y,s\n1,0.9\n1,0.8\n' > one.csv
  imp one.csv
  run -1 --separate-stderr promo-evaluate --task classify --label y --score s one.mpz
  assert_equal "$stderr" 'promo-evaluate: one.mpz: classify needs both labels, got 2 positive and 0 negative records'
}

@test "rank: HR, precision, recall, NDCG, MAP, MRR, coverage by hand" {
  # a: miss hit miss hit miss, 3 held out; b: hit first; c: no list (a
  # miss); z: not held out (ignored).
  printf '{"user":"a","items":["i1","i2","i3","i4","i5"]}\n{"user":"b","items":["i3","i1"]}\n{"user":"z","items":["i1"]}\n' > r.jsonl
  printf 'user,item\na,i2\na,i4\na,i9\nb,i3\nc,i1\n' > t.csv
  imp r.jsonl
  imp t.csv
  run -0 promo-evaluate --task rank --truth t.mpz --k 1,5 r.mpz
  assert_output "rank
  metric       group  value     interval  p  n
  hr@1                0.333333               3
  precision@1         0.333333               3
  recall@1            0.333333               3
  ndcg@1              0.333333               3
  map@1               0.333333               3
  arp@1               1                      2
  coverage@1          0.333333               6
  hr@5                0.666667               3
  precision@5         0.2                    3
  recall@5            0.555556               3
  ndcg@5              0.499396               3
  map@5               0.444444               3
  arp@5               0.9                    2
  coverage@5          0.833333               6
  mrr                 0.5                    3

note: rank: full ranking over 3 users of the holdout; 1 had no list (counted as misses); 1 lists for users not in the holdout were ignored"
  # A user with two lists is an error.
  printf '{"user":"a","items":["i1"]}\n{"user":"a","items":["i2"]}\n' > dup.jsonl
  imp dup.jsonl
  run -1 --separate-stderr promo-evaluate --task rank --truth t.mpz dup.mpz
  assert_equal "$stderr" 'promo-evaluate: dup.mpz: record 2: user "a" has a second list'
}

@test "rank: the sampled protocol is seeded and labelled" {
  printf '{"user":"a","items":["i1","i2","i3","i4","i5"]}\n{"user":"b","items":["i3","i1"]}\n' > r.jsonl
  { printf 'user,item\na,i2\na,i4\nb,i3\nc,i6\nc,i7\nc,i8\n'; for i in $(seq 10 29); do echo "d,i$i"; done; } > t.csv
  imp r.jsonl
  imp t.csv
  # 5 negatives drawn from 26 catalogue items (those held out): the draw
  # matters, and the seed fixes it.
  run -0 promo-evaluate --task rank --truth t.mpz --k 2 --sampled 5 --seed 3 --json r.mpz
  a=$output
  run -0 promo-evaluate --task rank --truth t.mpz --k 2 --sampled 5 --seed 3 --json r.mpz
  assert_equal "$output" "$a"
  [[ "$a" == *'"metric":"hr@2","group":"sampled:5"'* ]] || fail "no sampled record: $a"
  [[ "$a" == *'the sampled protocol: each held-out item ranked against 5 negatives'* ]] || fail "no label: $a"
  # With no more candidates than N, every candidate is used: a holds out
  # i2 (rank 1) and i4 (behind i3: rank 2), b's i3 is first, c has no list
  # so its 3 items rank last (ties count against them): 2 hits in 6 at 1.
  printf 'user,item\na,i2\na,i4\nb,i3\nc,i6\nc,i7\nc,i8\n' > t2.csv
  imp t2.csv
  run -0 bash -c "promo-evaluate --task rank --truth t2.mpz --k 1 --sampled 7 --json r.mpz | grep -o '\"metric\":\"hr@1\",\"group\":\"sampled:7\",\"value\":[0-9.]*,\"n\":[0-9]*'"
  assert_output '"metric":"hr@1","group":"sampled:7","value":0.3333333333333333,"n":6'
}

@test "regress and cluster by hand" {
  printf 'y,f\n1,1\n2,2\n3,4\n' > g.csv
  imp g.csv
  run -0 promo-evaluate --task regress --label y --score f g.mpz
  assert_output "regress
  metric  group  value     interval  p  n
  rmse           0.57735                3
  mae            0.333333               3
  r2             0.5                    3"
  # 0, 1 | 10, 11: inertia 1, Davies-Bouldin 0.1, silhouette (2 x 9.5/10.5 + 2 x 8.5/9.5) / 4.
  printf 'seg,a\nx,0\nx,1\ny,10\ny,11\n' > k.csv
  imp k.csv
  run -0 promo-evaluate --task cluster --fields a --segment seg k.mpz
  assert_output "cluster
  metric          group  value     interval  p  n
  segments               2                      4
  inertia                1                      4
  davies_bouldin         0.1                    4
  silhouette             0.899749               4
  size            x      2                      4
  size            y      2                      4
  profile of segment x: 2 rows (share 0.5)
    feature  mean  z
    a        0.5   -0.995037
  profile of segment y: 2 rows (share 0.5)
    feature  mean  z
    a        10.5  0.995037"
}

@test "cluster: the silhouette sample is seeded" {
  awk 'BEGIN { print "seg,a,b"; for (i = 0; i < 300; i++) print (i % 3) "," (i % 3) * 4 + (i * 37 % 11) / 5 "," (i * 17 % 13) / 4 }' > k.csv
  imp k.csv
  promo-evaluate --task cluster --fields a,b --segment seg --sample 50 --seed 1 -o a.mpz k.mpz
  promo-evaluate --task cluster --fields a,b --segment seg --sample 50 --seed 1 -o b.mpz k.mpz
  promo-evaluate --task cluster --fields a,b --segment seg --sample 50 --seed 2 -o c.mpz k.mpz
  run -0 cmp a.mpz b.mpz
  run -1 cmp -s a.mpz c.mpz
  run -0 bash -c 'promo-cat --fields metric,n a.mpz | grep silhouette'
  assert_output "silhouette,50"
}

@test "uplift: Qini and uplift curves, both normalisations, uplift at the top" {
  printf 'arm,y,s\noffer,1,0.9\ncontrol,0,0.8\noffer,1,0.7\ncontrol,1,0.6\noffer,0,0.5\ncontrol,0,0.4\n' > u.csv
  imp u.csv
  run -0 bash -c 'promo-evaluate --task uplift --treatment arm --outcome y --score s --top 50 u.mpz | head -8'
  assert_output "uplift
  metric               group  value      interval  p  n
  qini_area            offer  0.0833333               6
  auuc                 offer  0.273148                6
  qini_coef            offer  0.461538                6
  auuc_coef            offer  0.46                    6
  uplift@50%           offer  1                       6
  uplift_by_group@50%  offer  1                       6"
  run -1 --separate-stderr promo-evaluate --task uplift --treatment arm --outcome y --score s --control holdout u.mpz
  assert_equal "$stderr" 'promo-evaluate: u.mpz: no record has the control value "holdout" in field "arm" (set it with --control)'
}

@test "effect: Wilson, Newcombe (his worked example), lifts, revenue, profit" {
  # Newcombe (1998): 56/70 - 48/80 = 0.2, method 10 interval 0.0524 to 0.3339.
  awk 'BEGIN { print "arm,bought,rev"; for (i = 0; i < 70; i++) print "offer," (i < 56) "," (i < 56) * 10;
               for (i = 0; i < 80; i++) print "control," (i < 48) "," (i < 48) * 10 }' > ab.csv
  imp ab.csv
  run -0 promo-evaluate --task effect --arm arm --outcome bought ab.mpz
  assert_output "effect
  metric            group    value     interval               p           n
  rate              control  0.6       0.490455 to 0.700382               80
  rate              offer    0.8       0.691834 to 0.876953               70
  abs_lift          offer    0.2       0.0524315 to 0.333873  0.00804508  70
  rel_lift          offer    0.333333  0.0766264 to 0.651249  0.00804508  70
  incr_conversions  offer    14        3.6702 to 23.3711      0.00804508  70

note: effect: 95% intervals: Wilson for rates, Newcombe's hybrid score for abs_lift (two-proportion z-test p), log risk ratio for rel_lift"
  # Revenue per user: offer 560 / 70 = 8, control 480 / 80 = 6: lift 2,
  # incremental revenue 2 x 70 = 140, profit 0.5 x 140 - 0.5 x 70 = 35,
  # return 35 / 35 = 1.
  run -0 bash -c "promo-evaluate --task effect --arm arm --outcome bought --revenue rev --cost 0.5 --margin 0.5 --json ab.mpz |
    python3 -c 'import json, sys; [print(r[\"metric\"], round(r[\"value\"], 9)) for r in json.load(sys.stdin)[\"metrics\"] if r.get(\"group\") == \"offer\"]'"
  assert_output "rate 0.8
revenue_per_user 8.0
abs_lift 0.2
rel_lift 0.333333333
incr_conversions 14.0
cost 35
rev_lift 2.0
rev_rel_lift 0.333333333
incr_revenue 140.0
incr_profit 35.0
roi 1.0"
  run -1 --separate-stderr promo-evaluate --task effect --arm arm --outcome bought --cost sms=1 ab.mpz
  assert_equal "$stderr" 'promo-evaluate: --cost: no record has arm "sms"'
}

@test "ols: one fit per group, a group that cannot be fitted, --skip-missing" {
  printf 'g,x,y\na,1,3\na,2,5\na,3,7.5\nb,1,1\nb,1,2\nb,1,3\nc,1,\n' > o.csv
  promo-import -q --kind rows --types g=string,x=float,y=float -o o.mpz o.csv
  run -1 --separate-stderr promo-evaluate --task ols --y y --x x --by g o.mpz
  assert_equal "$stderr" 'promo-evaluate: o.mpz: record 7: field "y": missing (--skip-missing skips such records)'
  run -0 promo-evaluate --task ols --y y --x x --by g --skip-missing o.mpz
  assert_line --partial 'coef:x          a              2.25'
  assert_line 'note: ols: group "b" (3 records) not fitted: the regressors are collinear (or one is constant)'
  assert_line 'note: 1 of 7 records skipped for a missing field (--skip-missing)'
  run -2 --separate-stderr promo-evaluate --task ols --y y --x x --predict z=1 o.mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-evaluate: --predict: "z" is not among the --x fields'
}

@test "options: the task is required, options belong to tasks, values are checked" {
  seed_table
  run -2 --separate-stderr promo-evaluate seed.mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-evaluate: --task is required (classify, rank, regress, cluster, uplift, effect, ols or report)'
  run -2 --separate-stderr promo-evaluate --task ols --y y --x x --truth t.mpz seed.mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-evaluate: --truth is not an option of --task ols'
  run -2 --separate-stderr promo-evaluate --task classify --label y seed.mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-evaluate: --task classify needs --score'
  run -2 --separate-stderr promo-evaluate --task rank --truth t.mpz --k 0 seed.mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-evaluate: --k: expected 1 to 100000, got 0'
  run -2 --separate-stderr promo-evaluate --task ols --y y --x x --fail-on-regression r2=0.1 seed.mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-evaluate: --fail-on-regression needs --compare OLD'
  run -2 --separate-stderr promo-evaluate --task ols --y y --x x --compare a.mpz --fail-on-regression coef:x=1 seed.mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-evaluate: --fail-on-regression: "coef:x" is not a metric with a better direction'
}

@test "outputs: the stream, JSON, the table only when stdout is free, -o -" {
  seed_table
  run -0 promo-evaluate --task ols --y y --x x -o m.mpz seed.mpz
  assert_output ""
  run -0 promo-cat --header m.mpz
  assert_output --regexp '^\{"promoloop":1,"kind":"metrics","producer":"promo-evaluate",.*"options":\{"task":"ols","y":"y","x":"x","conf":0.95,"seed":0,"notes":"ols: y on an intercept, x; .*"\}\}$'
  run -0 promo-cat --fields task,metric,value,lo,hi,p,n,se m.mpz
  assert_line --index 0 'task,metric,value,lo,hi,p,n,se'
  assert_line --index 1 'ols,coef:intercept,500,500,500,0,4,0'
  run -0 bash -c 'promo-evaluate --task ols --y y --x x -o - seed.mpz | promo-cat --count'
  assert_output 5
  run -0 bash -c 'promo-evaluate --task ols --y y --x x --json seed.mpz | python3 -c "import json, sys; d = json.load(sys.stdin); print(len(d[\"metrics\"]), len(d[\"notes\"]))"'
  assert_output "5 1"
  # --task report shows a metrics stream as the run that wrote it did.
  run -0 promo-evaluate --task ols --y y --x x seed.mpz
  a=$output
  run -0 promo-evaluate --task report m.mpz
  assert_equal "$output" "$a"
}

@test "bad input writes nothing and keeps an existing output" {
  seed_table
  promo-evaluate --task ols --y y --x x -o m.mpz seed.mpz
  cp m.mpz before.mpz
  run -1 promo-evaluate --task ols --y y --x x -o m.mpz --html r.html "$TESTS_DIR/bad/truncated-gzip.mpz"
  run -0 cmp m.mpz before.mpz
  assert [ ! -e r.html ]
  run -1 --separate-stderr promo-evaluate --task report seed.mpz
  assert_equal "$stderr" 'promo-evaluate: seed.mpz: expected a stream of kind "metrics" (made by promo-evaluate, or the --report, --summary or --profile of another program), got "rows"'
}

@test "--compare shows every change; --fail-on-regression knows which way is better" {
  printf 'y,s\n1,0.9\n0,0.8\n1,0.8\n0,0.3\n1,0.4\n0,0.1\n' > c.csv
  printf 'y,s\n1,0.9\n0,0.85\n1,0.8\n0,0.3\n1,0.4\n0,0.1\n' > worse.csv
  imp c.csv
  imp worse.csv
  promo-evaluate --task classify --label y --score s -o old.mpz c.mpz
  # AUC 7.5/9 -> 7/9 (worse by 0.0556), log loss up (worse).
  run -1 --separate-stderr promo-evaluate --task classify --label y --score s --compare old.mpz \
    --fail-on-regression auc=0.05,logloss=0.5 -o new.mpz worse.mpz
  assert_equal "$stderr" 'promo-evaluate: warning: classify: auc is worse by 0.0555556 (0.833333 -> 0.777778), more than 0.05'
  assert [ -s new.mpz ]
  run -0 promo-evaluate --task classify --label y --score s --compare old.mpz --fail-on-regression auc=0.06 -o new.mpz worse.mpz
  run -0 promo-evaluate --task report --compare old.mpz new.mpz
  assert_line '  classify  auc        0.833333  0.777778  -0.0555556  worse'
  assert_line '  classify  lift[10]   0         0         0'
  run -1 --separate-stderr promo-evaluate --task report --compare old.mpz --fail-on-regression ndcg@10=0.1 new.mpz
  assert_equal "$stderr" 'promo-evaluate: --fail-on-regression: no metric "ndcg@10" in both this run and old.mpz'
}

@test "the HTML report is self-contained and draws every chart (headless Chromium)" {
  command -v chromium > /dev/null || skip "chromium not installed (tools/install-deps browser)"
  python3 "$TESTS_DIR/evaluate/make_sample.py" .
  for f in scores segments sales truth; do imp $f.csv; done
  imp recs.jsonl
  promo-evaluate --task classify --label bought --score p -o m1.mpz scores.mpz
  promo-evaluate --task effect --arm arm --outcome bought --revenue revenue --cost 0.4 -o m2.mpz scores.mpz
  promo-evaluate --task uplift --treatment arm --outcome bought --score p -o m3.mpz scores.mpz
  promo-evaluate --task cluster --fields recency,frequency,monetary --segment segment -o m4.mpz segments.mpz
  promo-evaluate --task ols --y units --x depth,display,feature --by category -o m5.mpz sales.mpz
  promo-evaluate --task rank --truth truth.mpz --k 5,10 -o m6.mpz recs.mpz
  promo-evaluate --task classify --label bought --score p --threshold 0.3 -o old.mpz scores.mpz
  run -0 promo-evaluate --task report --html report.html --history old.mpz,m1.mpz --compare old.mpz \
    m1.mpz m2.mpz m3.mpz m4.mpz m5.mpz m6.mpz
  # No external assets: no src, no link, no url(), no script.
  run -1 grep -Eic '<script|<link|src=|url\(|@import' report.html
  chrome=(chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
          --disable-background-networking --disable-component-update --disable-sync
          --user-data-dir="$BATS_TEST_TMPDIR/profile")
  "${chrome[@]}" --dump-dom "file://$PWD/report.html" > dom.html 2> /dev/null
  # Each chart kind is in the rendered DOM with its marks.
  for kind in roc gains calibration lift qini uplift rate abs_lift revenue_per_user profile forest rank history; do
    grep -q "data-chart=\"$kind\"\|data-metric=\"$kind\"" dom.html || fail "no $kind chart in the rendered page"
  done
  run -0 python3 - dom.html <<'EOF'
import re, sys
dom = open(sys.argv[1]).read()
charts = re.findall(r'<svg class="chart".*?</svg>', dom, re.S)
empty = [c[:80] for c in charts if not re.search(r'class="(series|bar|dot|cell)"', c)]
print(len(charts) >= 25, not empty, dom.count('class="series"') >= 8, dom.count('class="ci"') >= 30,
      dom.count('class="cell"') == 9)
EOF
  assert_output "True True True True True"
  "${chrome[@]}" --screenshot="$PWD/shot.png" --window-size=1200,2000 "file://$PWD/report.html" 2> /dev/null
  run -0 python3 "$TESTS_DIR/evaluate/png_colours.py" shot.png
  [ "$output" -ge 50 ] || fail "the screenshot has $output colours: blank?"
}

@test "independent check against scikit-learn and statsmodels on random inputs" {
  /usr/bin/python3 -c 'import numpy, sklearn, statsmodels' 2> /dev/null ||
    skip "python3-sklearn or python3-statsmodels not installed (tools/install-deps test)"
  run -0 /usr/bin/python3 "$TESTS_DIR/evaluate/check_sklearn.py" --seed 11 --dir "$BATS_TEST_TMPDIR"
  assert_line "0 failed"
  refute_line --partial FAIL
}

@test "dunnhumby Breakfast at the Frat: the pipeline reproduces docs/dunnhumby-ols.md" {
  d=$DATASETS/dunnhumby-breakfast-at-the-frat
  [ -f "$d/transactions.csv.gz" ] || skip "data set not present: $d"
  root=$TESTS_DIR/..
  run -0 make -s -f "$root/pipelines/dunnhumby.mk" BIN="$PROMO_BIN" DUNNHUMBY="$d" OUT="$PWD/dh"
  # The committed report's table is the one the pipeline prints.
  run -0 diff <(sed -n '/^<!-- report -->$/,/^<!-- end -->$/p' "$root/docs/dunnhumby-ols.md" | sed '1d;$d') dh/report.md
}
