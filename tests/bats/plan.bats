#!/usr/bin/env bats
# promo-plan: a plan never exceeds its budget, never sends to a held-out
# user, never sends an offer of non-positive expected increment; the
# holdout is a seeded binomial draw; the fallback on segment-level effects;
# and on the simulated shop, the plan made with the true uplifts, played
# out by promo-synth respond, earns more than random targeting with the
# same number of sends (and than promo-plan --random with the same budget).  The Lagrangian against the exact optimum on small
# random problems is in tests/unit/test_plan.c.

load helpers

OFFERS=$TESTS_DIR/../data/offers.csv

# users_csv N SEED: N scored users (p_buy, aov, segment 0-3, an uplift per
# offer); one in five is do-not-disturb: a negative uplift for every offer.
users_csv() {
  awk -v n="$1" -v seed="$2" 'BEGIN {
    srand(seed)
    print "user,p_buy,aov,segment,uplift_pct10,uplift_pct20,uplift_pct30,uplift_ship5"
    for (i = 1; i <= n; i++) {
      s = rand() < 0.2 ? -1 : 1
      printf "%d,%.4f,%.2f,%d", i, rand() * 0.3, 10 + rand() * 40, int(rand() * 4)
      for (o = 1; o <= 4; o++) printf ",%.4f", s * rand() * 0.12 * (0.6 + 0.2 * o)
      printf "\n"
    }
  }'
}

users_mpz() {   # users_mpz N SEED OUT
  users_csv "$1" "$2" > "$3.csv"
  promo-import -q --kind users --types user=int,segment=int -o "$3" "$3.csv"
}

# The objective computed independently from the input CSV: for each user
# and offer "user,offer,profit,spend" (offers with no uplift left out).
objective_awk() {   # objective_awk USERS_CSV MARGIN
  awk -F, -v M="$2" '
    NR == FNR { if (FNR > 1) { type[$1] = $2; val[$1] = $3; cost[$1] = $4 } next }
    FNR == 1 { for (k = 1; k <= NF; k++) col[$k] = k; next }
    {
      p = $col["p_buy"]; a = $col["aov"]
      for (o in type) {
        k = col["uplift_" o]; if (!k || $k == "") continue
        u = $k; d = type[o] == "percent" ? val[o] * a : (val[o] < a ? val[o] : a)
        b = p + u; if (b < 0) b = 0
        printf "%s,%s,%.9f,%.9f\n", $col["user"], o, u * a * M - b * d - cost[o], cost[o] + b * d
      }
    }' "$OFFERS" "$1"
}

# ---- the interface ------------------------------------------------------------

@test "help: the house format and the options of issue 10" {
  run -0 --separate-stderr promo-plan --help
  assert_equal "$stderr" ""
  assert_line --index 0 "promo-plan: choose who gets which offer under a budget, for the most expected incremental profit"
  assert_line "Usage: promo-plan --offers FILE [OPTIONS] [FILE...]"
  assert_line --regexp '^  --budget B +total expected spend: send costs plus discounts +\[default: no limit\]$'
  assert_line --regexp '^  --holdout H +share of users held out as a control group, 0 to 0.9 +\[default: 0.1\]$'
  assert_line --regexp '^  --max-per-user K +offers per user at most +\[default: 1\]$'
  assert_line --regexp '^  --margin M +profit as a share of revenue +\[default: the margin field, else 0.3\]$'
  assert_line --regexp '^  --truth FILE +evaluation only: '
  assert_line 'Exit status: 0 success, 1 data or runtime error, 2 usage error.'
}

@test "usage errors: exit 2 with the message and a hint" {
  run -2 --separate-stderr promo-plan
  assert_equal "${stderr%%$'\n'*}" 'promo-plan: --offers: required (an id,type,value,cost table such as data/offers.csv)'
  run -2 --separate-stderr promo-plan --offers "$OFFERS" --holdout 0.95
  assert_equal "${stderr%%$'\n'*}" 'promo-plan: --holdout: expected 0 to 0.9, got 0.95'
  run -2 --separate-stderr promo-plan --offers "$OFFERS" --budget -1
  assert_equal "${stderr%%$'\n'*}" 'promo-plan: --budget: expected 0 to 1e+300, got -1'
  run -2 --separate-stderr promo-plan --offers "$OFFERS" --method best
  assert_equal "${stderr%%$'\n'*}" 'promo-plan: --method: expected auto, uplift or segment-effects, got "best"'
  run -2 --separate-stderr promo-plan --offers "$OFFERS" --cap-segment 2
  assert_equal "${stderr%%$'\n'*}" 'promo-plan: --cap-segment: expected SEGMENT=USERS, got "2"'
  run -2 --separate-stderr promo-plan --offers "$OFFERS" --cap-segment 2=x
  assert_equal "${stderr%%$'\n'*}" 'promo-plan: --cap-segment: expected a whole number, got "x"'
  run -2 --separate-stderr promo-plan --offers "$OFFERS" --truth t.mpz --effects e.csv
  assert_equal "${stderr%%$'\n'*}" 'promo-plan: --truth: plans with the true effects; it excludes --method and --effects'
  run -2 --separate-stderr promo-plan --offers "$OFFERS" --method segment-effects
  assert_equal "${stderr%%$'\n'*}" 'promo-plan: --method segment-effects: needs --effects FILE'
  run -2 --separate-stderr promo-plan --offers "$OFFERS" --solver exact --cap-segment 1=3
  assert_equal "${stderr%%$'\n'*}" 'promo-plan: --solver exact: does not take --cap-segment; use --solver lagrange'
  run -2 --separate-stderr promo-plan --offers "$OFFERS" --random
  assert_equal "${stderr%%$'\n'*}" 'promo-plan: --random: needs --budget B (the spend to match)'
  run -2 --separate-stderr promo-plan --offers "$OFFERS" --max-per-user 0
  assert_equal "${stderr%%$'\n'*}" 'promo-plan: --max-per-user: expected 1 to 64, got 0'
}

@test "data errors: exit 1 naming the file and record; nothing written" {
  printf 'user,uplift_pct10,p_buy,aov\n1,0.1,0.2,30\n2,0.1,0.2,30\n1,0.2,0.1,20\n' > dup.csv
  promo-import -q --kind users --types user=int -o dup.mpz dup.csv
  run -1 --separate-stderr promo-plan --offers "$OFFERS" -o out.mpz dup.mpz
  assert_equal "$stderr" 'promo-plan: dup.mpz: record 3: field "user": user "1" is in the input twice (first at dup.mpz: record 1)'
  [ ! -e out.mpz ] || fail "a plan was written"
  # The same on stdin, which is spooled: the spool is removed too.
  mkdir tmp
  run -1 --separate-stderr bash -c 'TMPDIR=$PWD/tmp promo-plan --offers "$0" -o out.mpz < dup.mpz' "$OFFERS"
  assert_equal "$stderr" 'promo-plan: stdin: record 3: field "user": user "1" is in the input twice (first at stdin: record 1)'
  assert_equal "$(ls -A tmp)" ""
  [ ! -e out.mpz ] || fail "a plan was written"

  printf 'id,uplift_pct10\n1,0.1\n' > nouser.csv
  promo-import -q --kind users -o nouser.mpz nouser.csv
  run -1 --separate-stderr promo-plan --offers "$OFFERS" nouser.mpz
  assert_equal "$stderr" 'promo-plan: nouser.mpz: record 1: field "user": missing'
  printf 'user,uplift_pct10,p_buy\n1,0.1,-0.2\n' > neg.csv
  promo-import -q --kind users -o neg.mpz neg.csv
  run -1 --separate-stderr promo-plan --offers "$OFFERS" neg.mpz
  assert_equal "$stderr" 'promo-plan: neg.mpz: record 1: field "p_buy": expected a number >= 0, got -0.2'
  printf 'user,uplift_pct10,p_buy\n1,0.1,0.2\n' > noaov.csv
  promo-import -q --kind users -o noaov.mpz noaov.csv
  run -1 --separate-stderr promo-plan --offers "$OFFERS" noaov.mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-plan: warning: no record has "uplift_pct20": offer "pct20" is never sent'
  assert_equal "${stderr##*$'\n'}" 'promo-plan: no record has an "aov" field: give --aov X (the expected value of an order)'
  printf 'user,ts\n1,5\n' > ev.csv
  promo-import -q --kind events -o ev.mpz ev.csv
  run -1 --separate-stderr promo-plan --offers "$OFFERS" ev.mpz
  assert_equal "$stderr" 'promo-plan: ev.mpz: expected a stream of kind "users" (made by promo-featurize --view users, scored by promo-score), got "events"'
  printf 'id,type,value,cost\npct10,percentage,0.1,0.05\n' > bad-offers.csv
  run -1 --separate-stderr promo-plan --offers bad-offers.csv noaov.mpz
  assert_equal "$stderr" 'promo-plan: bad-offers.csv: line 2, column 2: "type": expected percent or fixed, got "percentage"'
  printf 'id,type,value\npct10,percent,0.1\n' > bad-offers.csv
  run -1 --separate-stderr promo-plan --offers bad-offers.csv noaov.mpz
  assert_equal "$stderr" 'promo-plan: bad-offers.csv: line 1: missing column "cost"'
  run -1 --separate-stderr promo-plan --offers "$OFFERS" --truth ev.mpz noaov.mpz
  assert_equal "$stderr" 'promo-plan: ev.mpz: expected a stream of kind "truth" (made by promo-synth truth), got "events"'
}

# ---- the objective and the choice ----------------------------------------------

@test "a small plan worked by hand: the budget picks the best profit per spend" {
  # margin 0.5.  User 1: pct10 profit 0.1*40*0.5 - 0.3*4 - 0.05 = 0.75 for
  # spend 1.25 (pct20 gives 0.75 too, for 3.25).  User 2: pct10 0.15 for
  # 0.35.  User 3 is do-not-disturb.  User 4: ship5 2.2 for 0.3.  A budget
  # of 1.7 cannot pay all three (1.9): it drops user 2, the worst ratio.
  cat > u.jsonl <<'EOF'
{"user":1,"p_buy":0.2,"aov":40,"uplift_pct10":0.1,"uplift_pct20":0.2,"uplift_pct30":0.25,"uplift_ship5":0.1,"items":[7,8]}
{"user":2,"p_buy":0.1,"aov":20,"uplift_pct10":0.05}
{"user":3,"p_buy":0.3,"aov":30,"uplift_pct10":-0.1,"uplift_pct20":-0.1,"uplift_pct30":-0.1,"uplift_ship5":-0.1}
{"user":4,"p_buy":0,"aov":100,"uplift_pct10":0.05,"uplift_ship5":0.05}
EOF
  promo-import -q --kind users -o u.mpz u.jsonl
  run -0 --separate-stderr promo-plan --offers "$OFFERS" --margin 0.5 --holdout 0 --budget 1.7 -o plan.mpz u.mpz
  run -0 bash -c "promo-cat --format jsonl plan.mpz | sed -E 's/([0-9]\.[0-9]{6})[0-9]+/\1/g'"
  assert_output '{"user":1,"offer":"pct10","holdout":false,"expected":0.749999,"spend":1.250000,"items":[7,8]}
{"user":2,"offer":null,"holdout":false,"expected":0,"spend":0}
{"user":3,"offer":null,"holdout":false,"expected":0,"spend":0}
{"user":4,"offer":"ship5","holdout":false,"expected":2.2,"spend":0.3}'
  run -0 promo-cat --header plan.mpz
  assert_output --partial '"kind":"plan","producer":"promo-plan"'
  assert_output --partial '"method":"uplift"'
  # No budget: every user with a positive increment gets its best offer.
  promo-plan -q --offers "$OFFERS" --margin 0.5 --holdout 0 -o all.mpz u.mpz
  run -0 promo-cat --fields user,offer --no-names all.mpz
  assert_output '1,pct10
2,pct10
3,
4,ship5'
}

@test "the plan's expected increments are the objective of the issue, computed independently" {
  users_mpz 400 3 users.mpz
  promo-plan -q --offers "$OFFERS" --margin 0.5 --budget 60 --holdout 0.2 -o plan.mpz users.mpz
  objective_awk users.mpz.csv 0.5 > obj.csv
  promo-cat --fields user,offer,holdout,expected,spend --no-names plan.mpz > plan.csv
  # Every sent offer: the plan's expected and spend equal the formula's.
  run -0 awk -F, 'NR == FNR { p[$1 "," $2] = $3; s[$1 "," $2] = $4; next }
    $2 != "" && $3 == "false" { n++; k = $1 "," $2
      if ((p[k] - $4)^2 > 1e-14 || (s[k] - $5)^2 > 1e-14) { print "differs: " $0 " vs " p[k] "," s[k]; bad++ } }
    END { print n " sends checked"; exit bad > 0 || n < 20 }' obj.csv plan.csv
  assert_output --regexp '^[0-9]+ sends checked$'
}

# ---- what a plan never does ------------------------------------------------------

# check_plan PLAN USERS_CSV MARGIN BUDGET: the invariants of issue 10, item 3.
check_plan() {
  objective_awk "$2" "$3" > obj.csv
  promo-cat --fields user,offer,holdout,expected,spend --no-names "$1" > plan.csv
  awk -F, -v B="$4" '
    NR == FNR { if ($3 > best[$1] || !($1 in best)) best[$1] = $3; next }
    { spend += $5 }
    $3 == "true" && ($4 != 0 || $5 != 0) { print "held-out user " $1 " is sent something"; bad++ }
    $2 != "" && $3 == "false" && !($4 > 0) { print "user " $1 " sent an offer of expected " $4; bad++ }
    $2 != "" && !(best[$1] > 0) { print "user " $1 " has no positive increment but offer " $2; bad++ }
    $2 == "" && ($4 != 0 || $5 != 0) { print "user " $1 " without offer has " $4 "," $5; bad++ }
    $2 != "" && $3 == "false" { sends++ }
    END {
      if (spend > B) { print "spend " spend " exceeds the budget " B; bad++ }
      printf "%d sends, spend %.4f of %s\n", sends, spend, B
      exit bad > 0
    }' obj.csv plan.csv
}

@test "never over budget, never a held-out user, never a non-positive increment" {
  users_mpz 2000 5 users.mpz
  for budget in 0 3 25 100 400; do
    for k in 1 2; do
      for seed in 1 2; do
        promo-plan -q --offers "$OFFERS" --margin 0.5 --budget $budget --max-per-user $k \
          --holdout 0.15 --seed $seed -o plan.mpz users.mpz
        run -0 check_plan plan.mpz users.mpz.csv 0.5 $budget
        echo "budget $budget, K $k, seed $seed: $output" >&3
      done
    done
  done
  # The do-not-disturb users (every uplift negative) are never sent
  # anything, not even as the held-out users' would-be offer.
  promo-plan -q --offers "$OFFERS" --margin 0.5 --holdout 0.15 -o plan.mpz users.mpz
  run -0 bash -c "awk -F, 'NR > 1 && \$5 < 0 && \$6 < 0 && \$7 < 0 && \$8 < 0 { print \$1 }' users.mpz.csv | sort > dnd
    promo-cat --fields user,offer --no-names plan.mpz | awk -F, '\$2 != \"\" { print \$1 }' | sort > sent
    echo \$(wc -l < dnd) do-not-disturb, \$(comm -12 dnd sent | wc -l) sent"
  assert_output --regexp '^[0-9]{3} do-not-disturb, 0 sent$'
}

@test "with a binding budget the plan spends it nearly all and beats a plain sort" {
  users_mpz 3000 8 users.mpz
  promo-plan -q --offers "$OFFERS" --margin 0.5 --budget 150 --holdout 0 --summary s.mpz -o plan.mpz users.mpz
  run -0 bash -c "promo-cat --fields metric,group,value --no-names s.mpz | grep -E '^(spend|expected|gap_bound),,'"
  spend=$(echo "$output" | awk -F, '$1 == "spend" { print $3 }')
  plan=$(echo "$output" | awk -F, '$1 == "expected" { print $3 }')
  gap=$(echo "$output" | awk -F, '$1 == "gap_bound" { print $3 }')
  # A plain sort: users by their best expected increment, each with that
  # offer, while the budget lasts.
  objective_awk users.mpz.csv 0.5 > obj.csv
  sorted=$(awk -F, '$3 > 0 && $3 > best[$1] { best[$1] = $3; sp[$1] = $4 }
      END { for (u in best) print best[u] "," sp[u] }' obj.csv | sort -t, -k1,1gr |
    awk -F, -v B=150 '{ if (s + $2 <= B) { s += $2; v += $1 } } END { printf "%.6f", v }')
  echo "lagrangian: spend $spend, expected $plan (dual gap $gap); plain sort by increment: $sorted" >&3
  awk -v s="$spend" 'BEGIN { exit !(s > 149 && s <= 150) }' || fail "spend $spend"
  awk -v a="$plan" -v b="$sorted" 'BEGIN { exit !(a > b) }' || fail "plan $plan is not above the sort's $sorted"
  awk -v g="$gap" -v a="$plan" 'BEGIN { exit !(g < 0.01 * a) }' || fail "dual gap $gap"
}

# ---- the holdout -----------------------------------------------------------------

@test "the holdout is a seeded binomial draw: share, determinism, another seed" {
  awk 'BEGIN { print "user,p_buy,aov,uplift_pct10"; for (i = 1; i <= 20000; i++) print "u" i ",0.1,30,0.05" }' > u.csv
  promo-import -q --kind users -o u.mpz u.csv
  promo-plan -q --offers "$OFFERS" --seed 4 -o a.mpz u.mpz
  promo-plan -q --offers "$OFFERS" --seed 4 -o b.mpz u.mpz
  promo-plan -q --offers "$OFFERS" --seed 5 -o c.mpz u.mpz
  run -0 cmp a.mpz b.mpz
  held=$(promo-cat --fields holdout --no-names a.mpz | grep -c true)
  # 20000 x 0.1 = 2000, sd sqrt(20000 x 0.1 x 0.9) = 42.4: within 4 sd.
  echo "held out: $held of 20000" >&3
  [ "$held" -ge 1830 ] && [ "$held" -le 2170 ] || fail "held out $held"
  both=$(paste -d, <(promo-cat --fields holdout --no-names a.mpz) <(promo-cat --fields holdout --no-names c.mpz) |
    grep -c 'true,true')
  # Another seed draws an independent group: overlap 200 +- 4 x 14.
  [ "$both" -ge 144 ] && [ "$both" -le 256 ] || fail "overlap $both"
  # The holdout does not depend on the order of the users.
  { head -1 u.csv; tail -n +2 u.csv | tac; } > r.csv
  promo-import -q --kind users -o r.mpz r.csv
  promo-plan -q --offers "$OFFERS" --seed 4 -o r-plan.mpz r.mpz
  run -0 bash -c "diff <(promo-cat --fields user,holdout a.mpz | sort) <(promo-cat --fields user,holdout r-plan.mpz | sort)"
  run -0 bash -c "promo-plan -q --offers '$OFFERS' --holdout 0 u.mpz | promo-cat --fields holdout --no-names | grep -c true || true"
  assert_output 0
}

@test "stdin is spooled and removed: the same plan as from a file" {
  users_mpz 500 2 users.mpz
  mkdir tmp
  promo-plan -q --offers "$OFFERS" --margin 0.5 --budget 30 -o file.mpz users.mpz
  TMPDIR=$PWD/tmp promo-plan -q --offers "$OFFERS" --margin 0.5 --budget 30 -o stdin.mpz < users.mpz
  run -0 cmp file.mpz stdin.mpz
  run -0 bash -c "cat users.mpz | TMPDIR=$PWD/tmp promo-plan -q --offers '$OFFERS' --margin 0.5 --budget 30 | cmp - file.mpz"
  assert_equal "$(ls -A tmp)" ""
}

# ---- segments, several offers, the summary, the exact solver ----------------------

@test "segment rules: an excluded segment gets nothing, a capped one at most its cap" {
  users_mpz 2000 6 users.mpz
  promo-plan -q --offers "$OFFERS" --margin 0.5 --exclude-segment 3 --cap-segment 1=25,2=0 \
    --holdout 0.1 -o plan.mpz users.mpz
  run -0 bash -c "promo-cat --fields segment,offer,holdout --no-names plan.mpz | awk -F, '\$2 != \"\" && \$3 == \"false\" { n[\$1]++ } END { for (s = 0; s < 4; s++) printf \"%d:%d \", s, n[s] }'"
  assert_output --regexp '^0:[0-9]{3} 1:25 2:0 3:0 $'
  run -0 bash -c "promo-cat --fields segment,offer --no-names plan.mpz | grep -c '^3,[a-z]' || true"
  assert_output 0
  run -1 --separate-stderr bash -c "printf 'user,uplift_pct10,p_buy,aov\n1,0.1,0.1,30\n' | promo-import -q --kind users | promo-plan --offers '$OFFERS' --exclude-segment 1"
  assert_equal "${stderr##*$'\n'}" 'promo-plan: --exclude-segment: no record has a "segment" field'
}

@test "--max-per-user 2: an offers array, the budget holds" {
  users_mpz 300 9 users.mpz
  promo-plan -q --offers "$OFFERS" --margin 0.5 --budget 40 --max-per-user 2 --holdout 0 -o plan.mpz users.mpz
  run -0 bash -c "promo-cat --format jsonl plan.mpz | grep -c '\"offers\":\[\"[a-z0-9]*\",\"[a-z0-9]*\"\]'"
  [ "$output" -gt 0 ] || fail "no user got two offers"
  run -0 check_plan plan.mpz users.mpz.csv 0.5 40
}

@test "the summary: a metrics stream whose figures add up to the plan" {
  users_mpz 1000 4 users.mpz
  run -0 --separate-stderr promo-plan --offers "$OFFERS" --margin 0.5 --budget 50 --summary s.mpz -o plan.mpz users.mpz
  assert_equal "$(promo-cat --header s.mpz | grep -o '"kind":"metrics"')" '"kind":"metrics"'
  sends=$(promo-cat --fields offer,holdout --no-names plan.mpz | grep -c '^[a-z].*,false$')
  spend=$(promo-cat --fields spend --no-names plan.mpz | awk '{ s += $1 } END { printf "%.6f", s }')
  run -0 bash -c "promo-cat --fields task,metric,group,value --no-names s.mpz | awk -F, '\$1 == \"plan\" && \$3 == \"\" && (\$2 == \"sends\" || \$2 == \"spend\") { printf \"%s=%.6f \", \$2, \$4 }'"
  assert_output "sends=$sends.000000 spend=$spend "
  # Per offer, the sends add up to the total.
  run -0 bash -c "promo-cat --fields metric,group,value --no-names s.mpz | awk -F, '\$1 == \"sends\" && \$2 ~ /^offer=/ { n += \$3 } END { print n }'"
  assert_output "$sends"
  # The same figures on stderr, silenced by -q.
  [[ "${stderr}" == *"promo-plan: $sends sends to $sends users, spend "*" of 50.00, expected increment "* ]] || fail "$stderr"
  [[ "${stderr}" == *"promo-plan: segment         users    sends"* ]] || fail "$stderr"
  run -0 --separate-stderr promo-plan -q --offers "$OFFERS" --margin 0.5 --budget 50 -o plan.mpz users.mpz
  assert_equal "$stderr" ""
}

@test "--solver exact: on a small problem at least the Lagrangian's profit, within budget" {
  users_mpz 60 12 users.mpz
  for b in 2 5 11; do
    promo-plan -q --offers "$OFFERS" --margin 0.5 --budget $b --holdout 0 --summary l.mpz -o l.mpz.plan users.mpz
    promo-plan -q --offers "$OFFERS" --margin 0.5 --budget $b --holdout 0 --solver exact --summary e.mpz -o e.mpz.plan users.mpz
    lag=$(promo-cat --fields metric,group,value --no-names l.mpz | awk -F, '$1 == "expected" && $2 == "" { print $3 }')
    ex=$(promo-cat --fields metric,group,value --no-names e.mpz | awk -F, '$1 == "expected" && $2 == "" { print $3 }')
    gap=$(promo-cat --fields metric,group,value --no-names l.mpz | awk -F, '$1 == "gap_bound" { print $3 }')
    echo "budget $b: lagrange $lag, exact $ex, dual gap bound $gap" >&3
    awk -v l="$lag" -v e="$ex" -v g="$gap" 'BEGIN { exit !(e >= l - 1e-9 && e - l <= g + 1e-9) }' ||
      fail "budget $b: lagrange $lag exact $ex bound $gap"
    run -0 check_plan e.mpz.plan users.mpz.csv 0.5 $b
  done
}

# ---- the fallback: segment-level effects ---------------------------------------

@test "without uplift fields: segment-level effects, said in the header" {
  awk 'BEGIN { print "user,p_buy,aov,segment"; for (i = 1; i <= 40; i++) print i ",0.1,30," i % 2 }' > u.csv
  promo-import -q --kind users --types segment=int -o u.mpz u.csv
  run -1 --separate-stderr promo-plan --offers "$OFFERS" u.mpz
  assert_equal "$stderr" 'promo-plan: no record has an uplift field (uplift_pct10, ...) and no --effects FILE was given: nothing tells what an offer does'
  # A CSV: pct10 helps segment 0 and hurts segment 1; pct20 a little everywhere.
  printf 'segment,offer,uplift\n0,pct10,0.08\n1,pct10,-0.02\n,pct20,0.01\n' > eff.csv
  promo-plan -q --offers "$OFFERS" --margin 0.5 --holdout 0 --effects eff.csv -o plan.mpz u.mpz
  run -0 promo-cat --header plan.mpz
  assert_output --partial '"method":"segment-effects"'
  assert_output --partial '"effects":"eff.csv"'
  # Segment 0: 0.08 x 30 x 0.5 - 0.18 x 3 - 0.05 = 0.61 with pct10; segment 1 nothing.
  run -0 bash -c "promo-cat --fields segment,offer,expected --no-names plan.mpz | sort -u | awk -F, '{ printf \"%s,%s,%.4f\\n\", \$1, \$2, \$3 }'"
  assert_output '0,pct10,0.6100
1,,0.0000'

  # The metrics stream of promo-evaluate --task effect: the lift of each arm.
  awk 'BEGIN { srand(3); print "arm,converted"
    for (i = 0; i < 3000; i++) { a = i % 3; p = a == 0 ? 0.1 : (a == 1 ? 0.2 : 0.05)
      print (a == 0 ? "control" : (a == 1 ? "pct10" : "pct30")) "," (rand() < p ? 1 : 0) } }' > ex.csv
  promo-import -q --kind examples -o ex.mpz ex.csv
  promo-evaluate -q --task effect --arm arm --outcome converted -o eff.mpz ex.mpz
  lift=$(promo-cat --fields metric,group,value --no-names eff.mpz | awk -F, '$1 == "abs_lift" && $2 == "pct10" { print $3 }')
  promo-plan -q --offers "$OFFERS" --margin 0.5 --holdout 0 --p-base 0.1 --effects eff.mpz -o plan2.mpz u.mpz
  want=$(awk -v u="$lift" 'BEGIN { printf "%.6f", u * 30 * 0.5 - (0.1 + u) * 3 - 0.05 }')
  run -0 bash -c "promo-cat --fields offer,expected --no-names plan2.mpz | sort -u | awk -F, '{ printf \"%s,%.6f\n\", \$1, \$2 }'"
  assert_output "pct10,$want"
  # Uplift fields win over --effects under --method auto.
  printf 'user,uplift_pct20,p_buy,aov\n1,0.3,0.1,30\n' > up.csv
  promo-import -q --kind users -o up.mpz up.csv
  promo-plan -q --offers "$OFFERS" --holdout 0 --effects eff.csv -o plan3.mpz up.mpz
  run -0 promo-cat --header plan3.mpz
  assert_output --partial '"method":"uplift"'
}

# ---- the simulated shop: the true uplifts against random targeting --------------

# profit_by_user EVENTS: "user,profit" of the purchases (price x quantity x
# the item's margin in the world, minus the discount).
profit_by_user() {
  promo-cat --fields user,item,event,price,quantity,discount --no-names "$1" |
    awk -F, 'NR == FNR { m[$1] = $2; next }
      $3 == "purchase" { p[$1] += $4 * $5 * m[$2] - $6 } END { for (u in p) print u "," p[u] }' margins.csv -
}

# realised PLAN_CSV RESPONSE BASELINE: the incremental profit of a plan
# (user,offer,holdout lines of the users with an offer), estimated as the
# campaign's evaluation would (treated minus held-out mean profit, times
# the treated, minus the send costs) and, since the simulation gives the
# same untreated days with the same seed, exactly (treated users' profit
# minus their profit in the baseline run without the campaign).
realised() {
  profit_by_user "$2" > p1.csv
  profit_by_user "$3" > p0.csv
  awk -F, -v cost=0.05 '
    FILENAME == "p1.csv" { p1[$1] = $2; next }
    FILENAME == "p0.csv" { p0[$1] = $2; next }
    $3 == "false" { nt++; st += p1[$1]; qt += p1[$1]^2; exact += p1[$1] - p0[$1] - cost }
    $3 == "true" { nc++; sc += p1[$1]; qc += p1[$1]^2 }
    END {
      mt = st / nt; mc = sc / nc
      se = sqrt((qt / nt - mt^2) / nt + (qc / nc - mc^2) / nc) * nt
      printf "%d %d %.2f %.2f %.2f\n", nt, nc, (mt - mc) * nt - cost * nt, se, exact
    }' p1.csv p0.csv "$1"
}

@test "simulated shop: the plan on the true uplifts beats random targeting with the same sends" {
  promo-synth world --users 20000 --seed 3 -o world.mpz
  promo-synth truth --world world.mpz --offers "$OFFERS" --days 7 --start 2024-01-29 -o truth.mpz
  promo-cat --fields type,item,margin --no-names world.mpz | awk -F, '$1 == "item" { print $2 "," $3 }' > margins.csv
  promo-cat --fields type,user --no-names world.mpz | awk -F, 'BEGIN { print "user" } $1 == "user" { print $2 }' > users.csv
  promo-import -q --kind users --types user=int -o users.mpz users.csv

  # The oracle plan: half the users held out, so the holdout comparison
  # has as many would-be-treated users on each side.
  promo-plan -q --offers "$OFFERS" --truth truth.mpz --budget 400 --holdout 0.5 --seed 1 \
    --summary sum.mpz -o plan.mpz users.mpz
  run -0 promo-cat --header plan.mpz
  assert_output --partial '"method":"oracle"'
  expected=$(promo-cat --fields metric,group,value --no-names sum.mpz | awk -F, '$1 == "expected" && $2 == "" { print $3 }')
  promo-cat --fields user,offer,holdout --no-names plan.mpz | awk -F, '$2 != ""' > plan-sent.csv
  sends=$(grep -c ',false$' plan-sent.csv)

  # Random targeting: as many users sent a uniformly drawn offer, and as
  # many held out, drawn from all users.
  awk -v n=20000 -v s="$sends" 'BEGIN { srand(7); split("pct10 pct20 pct30 ship5", of, " ")
    print "user,offer,holdout"
    while (c < 2 * s) { u = 1 + int(rand() * n); if (u in seen) continue; seen[u] = 1
      print u "," of[1 + int(rand() * 4)] "," (c++ < s ? "false" : "true") } }' > rand.csv
  promo-import -q --kind plan --types user=int,offer=string,holdout=bool -o rand.mpz rand.csv
  tail -n +2 rand.csv > rand-sent.csv
  awk 'BEGIN { print "user,offer,holdout" } NR > 1 { print $1 ",,true" }' users.csv > base.csv
  promo-import -q --kind plan --types user=int,offer=string,holdout=bool -o base.mpz base.csv

  # promo-plan --random: random users and offers for the same budget.
  promo-plan -q --offers "$OFFERS" --truth truth.mpz --budget 400 --holdout 0.5 --seed 1 --random \
    --summary rsum.mpz -o rplan.mpz users.mpz
  promo-cat --fields user,offer,holdout --no-names rplan.mpz | awk -F, '$2 != ""' > rplan-sent.csv
  rspend=$(promo-cat --fields metric,group,value --no-names rsum.mpz | awk -F, '$1 == "spend" && $2 == "" { print $3 }')
  awk -v s="$rspend" 'BEGIN { exit !(s > 390 && s <= 400) }' || fail "random spend $rspend"

  for p in plan rand rplan base; do
    promo-synth respond -q --world world.mpz --plan $p.mpz --start 2024-01-29 --days 7 --campaign 3 \
      --seed 5 -o resp-$p.mpz
  done
  read -r nt nc est se exact <<< "$(realised plan-sent.csv resp-plan.mpz resp-base.mpz)"
  read -r rnt rnc rest rse rexact <<< "$(realised rand-sent.csv resp-rand.mpz resp-base.mpz)"
  read -r bnt bnc best bse bexact <<< "$(realised rplan-sent.csv resp-rplan.mpz resp-base.mpz)"
  echo "oracle plan: $nt sends (expected increment $expected); held out $nc would-be;" \
       "realised treated vs holdout $est +- $se, exactly $exact" >&3
  echo "random:      $rnt sends, $rnc held out; realised treated vs holdout $rest +- $rse, exactly $rexact" >&3
  echo "--random:    $bnt sends (spend $rspend), $bnc held out; realised treated vs holdout $best +- $bse, exactly $bexact" >&3
  [ "$nt" -eq "$rnt" ] || fail "not the same number of sends"
  awk -v a="$est" -v b="$rest" 'BEGIN { exit !(a > b) }' || fail "holdout estimate: plan $est, random $rest"
  awk -v a="$est" 'BEGIN { exit !(a > 0) }' || fail "the plan loses money: $est"
  awk -v a="$exact" -v b="$rexact" 'BEGIN { exit !(a > b && a > 0) }' || fail "exact: plan $exact, random $rexact"
  awk -v a="$est" -v b="$best" -v c="$exact" -v d="$bexact" 'BEGIN { exit !(a > b && c > d) }' ||
    fail "the same budget: plan $est ($exact), --random $best ($bexact)"
  # The realised increment is near the plan's expectation (within 4 se).
  awk -v a="$est" -v e="$expected" -v s="$se" 'BEGIN { exit !((a - e)^2 < 16 * s^2) }' ||
    fail "realised $est far from expected $expected (se $se)"
}
