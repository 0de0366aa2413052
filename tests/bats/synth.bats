#!/usr/bin/env bats
# promo-synth: the simulated shop.  Its streams are deterministic, the
# truths built into it can be recovered from what it generates (a past
# randomized campaign, archetype shares, dirt by kind), and a campaign plan
# played by respond behaves as the hidden model says.  The model itself is
# checked against many simulations in tests/unit/test_synth.c.

load helpers

START=1704067200      # 2024-01-01, the default --start
END=1706486400        # 28 days later: the default log's end

# A world of 20000 users and its clean 28-day log, shared by the tests that
# need a large sample (they only read them).
setup_file() {
  cd "$BATS_FILE_TMPDIR" || return 1
  promo-synth world --users 20000 --seed 11 -o big.mpz
  promo-synth events --world big.mpz --dirt 0 -o big-clean.mpz
  promo-cat --fields type,user,archetype,group --no-names big.mpz > big-users.csv
  promo-cat --fields type,name,share,persuadable,sure_thing,lost_cause,do_not_disturb --no-names big.mpz |
    grep '^archetype,' > big-archetypes.csv
}

F=${BATS_FILE_TMPDIR:-}

# Make a plan stream from CSV lines "user,offer,holdout" on stdin.
plan_from_csv() {
  { echo user,offer,holdout; cat; } > "$1.csv"
  promo-import -q --kind plan --types user=int,offer=string,holdout=bool -o "$1" "$1.csv"
}

# ---- the interface ------------------------------------------------------------

@test "help: the program and each command, in the house format" {
  run -0 --separate-stderr promo-synth --help
  assert_equal "$stderr" ""
  assert_line --index 0 "promo-synth: a simulated shop with known ground truth, and its answer to a campaign"
  assert_line "Usage: promo-synth COMMAND [OPTIONS]"
  for cmd in world events respond truth; do
    run -0 --separate-stderr promo-synth $cmd --help
    assert_equal "$stderr" ""
    assert_line --index 0 --regexp "^promo-synth $cmd: [a-z]"
    assert_line --regexp "^Usage: promo-synth $cmd "
    assert_line --regexp '^  -o, --output FILE +write to FILE, atomically +\[default: stdout\]$'
    assert_line 'Exit status: 0 success, 1 data or runtime error, 2 usage error.'
    assert_line --regexp "^  promo-synth $cmd "
  done
  run -0 promo-synth events --help
  assert_line --regexp '^  --dirt RATE +share of output records that are dirt, 0 to 0.5 +\[default: 0.02\]$'
  assert_line --regexp '^  --campaigns K +past randomized campaigns, ids 1 to K +\[default: 2\]$'
  run -0 promo-synth world --help
  assert_line --regexp '^  --users N +customers +\[default: 5000\]$'
  assert_line --regexp '^  --items M +items +\[default: 1000\]$'
}

@test "usage errors: exit 2, the message and a hint on stderr" {
  run -2 --separate-stderr promo-synth
  assert_equal "$stderr" "promo-synth: expected a command: world, events, respond or truth
Try 'promo-synth --help' for more information."
  run -2 --separate-stderr promo-synth planet
  assert_equal "${stderr%%$'\n'*}" 'promo-synth: unknown command "planet" (expected world, events, respond or truth)'
  run -2 --separate-stderr promo-synth world --users 0
  assert_equal "${stderr%%$'\n'*}" 'promo-synth: --users: expected 1 to 100000000, got 0'
  run -2 --separate-stderr promo-synth world --deal-signal -1
  assert_equal "${stderr%%$'\n'*}" 'promo-synth: --deal-signal: expected 0 to 1000, got -1'
  run -2 --separate-stderr promo-synth world --wish-rate 0.6
  assert_equal "${stderr%%$'\n'*}" 'promo-synth: --wish-rate: expected 0 to 0.5, got 0.6'
  run -2 --separate-stderr promo-synth world --items 10 --categories 20
  assert_equal "${stderr%%$'\n'*}" 'promo-synth: --categories: expected at most --items (10), got 20'
  run -2 --separate-stderr promo-synth events
  assert_equal "${stderr%%$'\n'*}" 'promo-synth: --world: required (make one with promo-synth world)'
  run -2 --separate-stderr promo-synth events --world w.mpz --dirt 0.6
  assert_equal "${stderr%%$'\n'*}" 'promo-synth: --dirt: expected 0 to 0.5, got 0.6'
  run -2 --separate-stderr promo-synth events --world w.mpz --start 2024-02-30
  assert_equal "${stderr%%$'\n'*}" 'promo-synth: --start: no such date "2024-02-30"'
  run -2 --separate-stderr promo-synth events --world w.mpz --start 1704067201
  assert_equal "${stderr%%$'\n'*}" 'promo-synth: --start: expected a UTC midnight (unix seconds divisible by 86400) or YYYY-MM-DD, got "1704067201"'
  run -2 --separate-stderr promo-synth events --world w.mpz --days 10 --campaigns 2
  assert_equal "${stderr%%$'\n'*}" 'promo-synth: --campaigns: 2 campaigns of 7 days need --days of at least 14, got 10'
  run -2 --separate-stderr promo-synth respond --world w.mpz --plan p.mpz --campaign 3
  assert_equal "${stderr%%$'\n'*}" 'promo-synth: --start: required (the day after the log ends)'
  run -2 --separate-stderr promo-synth truth --world w.mpz stray
  assert_equal "${stderr%%$'\n'*}" 'promo-synth: unexpected argument "stray"'
}

@test "data errors: exit 1 naming the file, record and field; no partial output" {
  promo-synth world --users 50 --items 30 --categories 5 -o w.mpz
  promo-synth events --world w.mpz --days 14 -o ev.mpz
  run -1 --separate-stderr promo-synth events --world ev.mpz -o out.mpz
  assert_equal "$stderr" 'promo-synth: ev.mpz: expected a stream of kind "world" (made by promo-synth world), got "events"'
  [ ! -e out.mpz ] || fail "a failed run left out.mpz"

  printf '0,pct10,false\n' | plan_from_csv p.mpz
  run -1 --separate-stderr promo-synth respond --world w.mpz --plan p.mpz --start 2024-01-15 --campaign 3 -o out.mpz
  assert_equal "$stderr" 'promo-synth: p.mpz: record 1: field "user": no user 0 in the world (users are 1 to 50)'
  [ ! -e out.mpz ] || fail "a failed run left out.mpz"
  # Ids past the world's users are the log's bots: no customers, no events.
  printf '51,pct10,false\n' | plan_from_csv p.mpz
  run -0 --separate-stderr promo-synth respond --world w.mpz --plan p.mpz --start 2024-01-15 --campaign 3 -o out.mpz
  assert_equal "$stderr" "promo-synth: warning: p.mpz: 1 users of the plan are not in the world (bots of the log's dirt): they make no events"
  rm out.mpz
  printf '1,pct10,false\n2,pct15,false\n' | plan_from_csv p.mpz
  run -1 --separate-stderr promo-synth respond --world w.mpz --plan p.mpz --start 2024-01-15 --campaign 3
  assert_equal "$stderr" 'promo-synth: p.mpz: record 2: field "offer": unknown offer "pct15" (not in the offer table)'
  printf '1,pct10,false\n1,pct20,false\n' | plan_from_csv p.mpz
  run -1 --separate-stderr promo-synth respond --world w.mpz --plan p.mpz --start 2024-01-15 --campaign 3
  assert_equal "$stderr" 'promo-synth: p.mpz: record 2: field "user": user 1 is in the plan twice'
  printf 'user,offer,holdout\n1,pct10,maybe\n' > h.csv
  promo-import -q --kind plan -o p.mpz h.csv
  run -1 --separate-stderr promo-synth respond --world w.mpz --plan p.mpz --start 2024-01-15 --campaign 3
  assert_equal "$stderr" 'promo-synth: p.mpz: record 1: field "holdout": expected a boolean, got a string'

  # An existing output survives a failed run.
  echo keep > out.mpz
  run -1 promo-synth respond --world w.mpz --plan p.mpz --start 2024-01-15 --campaign 3 -o out.mpz
  assert_equal "$(cat out.mpz)" keep

  printf 'name,share,visit_rate\nx,1,fast\n' > a.csv
  run -1 --separate-stderr promo-synth world --archetypes a.csv -o w2.mpz
  assert_equal "$stderr" 'promo-synth: a.csv: line 1: missing column "views_per_session"'
  sed 's/^loyal,0.10,0.50,/loyal,0.10,fast,/' "$TESTS_DIR/../data/archetypes.csv" > a.csv
  run -1 --separate-stderr promo-synth world --archetypes a.csv -o w2.mpz
  assert_equal "$stderr" 'promo-synth: a.csv: line 2, column 3: "visit_rate": expected a number, got "fast"'
  printf 'id,type,value,cost\nbogo,bogus,1,0\n' > o.csv
  run -1 --separate-stderr promo-synth truth --world w.mpz --offers o.csv
  assert_equal "$stderr" 'promo-synth: o.csv: line 2, column 2: "type": expected percent or fixed, got "bogus"'
  [ ! -e w2.mpz ] || fail "a failed run left w2.mpz"
}

@test "the data/ tables load and give the built-in world" {
  promo-synth world --users 300 --seed 5 -o builtin.mpz
  promo-synth world --users 300 --seed 5 --archetypes "$TESTS_DIR/../data/archetypes.csv" -o file.mpz
  # Only the header's "archetypes" option differs.
  run -0 cmp <(promo-cat --format jsonl builtin.mpz) <(promo-cat --format jsonl file.mpz)
  promo-synth truth --world builtin.mpz -o t1.mpz
  promo-synth truth --world builtin.mpz --offers "$TESTS_DIR/../data/offers.csv" -o t2.mpz
  run -0 cmp t1.mpz t2.mpz
}

@test "schemas: world record types, the 11 event fields, truth fields" {
  promo-synth world --users 20 --items 30 --categories 5 --rank 3 -o w.mpz
  run -0 bash -c "promo-cat --fields type --no-names w.mpz | uniq -c | awk '{print \$2, \$1}'"
  assert_output "archetype 5
category 5
item 30
user 20"
  run -0 promo-cat --format jsonl --head 1 --fields type,name,share w.mpz
  assert_output '{"type":"archetype","name":"loyal","share":0.1}'
  run -0 bash -c "promo-cat --format jsonl w.mpz | grep -m1 '\"type\":\"user\"' | grep -o '\"[a-z_]*\":' | tr -d '\":' | paste -sd,"
  assert_output "type,user,archetype,group,propensity,price_sensitivity,visit_rate,lift_percent,lift_fixed,drop,wish_rate,favorites,pref"
  promo-synth events --world w.mpz --days 14 --campaigns 1 -o ev.mpz
  run -0 bash -c "promo-cat ev.mpz | head -1"
  assert_output "user,item,category,event,ts,session,price,quantity,discount,campaign,offer"
  run -0 bash -c "promo-cat --fields event,item,campaign --no-names ev.mpz | grep -m1 -E '^(treat|control),'"
  assert_output --regexp '^(treat|control),,1$'
  promo-synth truth --world w.mpz -o t.mpz
  run -0 bash -c "promo-cat t.mpz | head -2"
  assert_line --index 0 "user,offer,base_purchases,base_conversion,base_revenue,base_profit,uplift_purchases,uplift_conversion,uplift_revenue,uplift_profit"
  assert_line --index 1 --regexp '^1,pct10,'
  run -0 promo-cat --count t.mpz
  assert_output 80
}

# ---- Must show 1: determinism ------------------------------------------------------

@test "same seed, same bytes; another seed, other bytes" {
  for i in 1 2; do
    promo-synth world --users 2000 --items 300 --seed 3 -o w$i.mpz
    promo-synth events --world w1.mpz --days 14 --dirt 0.05 --dirt-log d$i.mpz -o e$i.mpz
    promo-synth truth --world w1.mpz -o t$i.mpz
  done
  printf '1,pct10,false\n2,ship5,true\n3,pct30,false\n' | plan_from_csv plan.mpz
  for i in 1 2; do
    promo-synth respond --world w1.mpz --plan plan.mpz --start 2024-01-15 --campaign 3 -o r$i.mpz
  done
  for f in w e d t r; do
    run -0 cmp ${f}1.mpz ${f}2.mpz
  done
  # Every gzip level and plain MessagePack decode to the same records.
  promo-synth events --world w1.mpz --days 14 --dirt 0.05 --level 0 -o e0.mpz
  run -0 cmp <(promo-cat e0.mpz) <(promo-cat e1.mpz)

  promo-synth world --users 2000 --items 300 --seed 4 -o w3.mpz
  run -1 cmp -s w1.mpz w3.mpz
  promo-synth events --world w1.mpz --days 14 --dirt 0.05 --seed 2 -o e3.mpz
  run -1 cmp -s <(promo-cat e1.mpz) <(promo-cat e3.mpz)
  promo-synth respond --world w1.mpz --plan plan.mpz --start 2024-01-15 --campaign 3 --seed 2 -o r3.mpz
  run -1 cmp -s <(promo-cat r1.mpz) <(promo-cat r3.mpz)
}

@test "respond with an empty plan is the clean log of those days" {
  promo-synth world --users 1000 --items 200 -o w.mpz
  : | plan_from_csv empty.mpz
  promo-synth respond --world w.mpz --plan empty.mpz --start 2024-01-08 --days 7 --campaign 9 -o r.mpz
  promo-synth events --world w.mpz --start 2024-01-08 --days 7 --campaigns 0 --dirt 0 -o e.mpz
  run -0 cmp <(promo-cat r.mpz) <(promo-cat e.mpz)
  run -0 promo-cat --count r.mpz
  [ "$output" -gt 1000 ] || fail "only $output events"
}

# ---- Must show 2: known truths recovered ------------------------------------------

@test "archetype and uplift group shares match the parameters (within 3.5 binomial sd)" {
  # The parameters are the world's archetype records (data/archetypes.csv).
  run -0 awk -F, '
    FNR == NR { arch[$2] = $3; for (k = 4; k <= 7; k++) share[$2, k - 3] = $k; next }
    $1 == "user" { n++; a[$3]++; g[$3 "," $4]++ }
    END {
      split("persuadable sure_thing lost_cause do_not_disturb", gn, " ")
      worst = 0
      for (x in arch) {
        p = arch[x]; z = (a[x] / n - p) / sqrt(p * (1 - p) / n); if (z < 0) z = -z; if (z > worst) worst = z
        printf "%s %.4f (%.2f)\n", x, a[x] / n, p
        for (k = 1; k <= 4; k++) {
          p = share[x, k]; m = a[x]
          z = (g[x "," gn[k]] / m - p) / sqrt(p * (1 - p) / m); if (z < 0) z = -z; if (z > worst) worst = z
        }
      }
      printf "%d users, worst |z| of 25 shares %.2f\n", n, worst
      exit worst > 3.5
    }' "$F/big-archetypes.csv" "$F/big-users.csv"
  echo "# synth: archetype shares (parameter): $(echo "$output" | tr '\n' ';')" >&3
}

@test "a past randomized campaign: treated minus control conversion matches the truth (95% CI)" {
  promo-cat --fields user,event,ts,campaign,offer --no-names "$F/big-clean.mpz" > ev.csv
  promo-synth truth --world "$F/big.mpz" --days 7 -o truth.mpz
  promo-cat --fields user,offer,uplift_conversion --no-names truth.mpz > truth.csv
  # For each campaign: users converted within the 7-day window, by arm;
  # the truth is the mean uplift of the treated users for the offer they got.
  run -0 awk -F, -v days=7 '
    FNR == NR { up[$1 "," $2] = $3; next }
    $2 == "treat" || $2 == "control" {
      c = $4; start[c] = $3; arm[c, $1] = $2; n[c, $2]++
      if ($2 == "treat") truth[c] += up[$1 "," $5]
      next
    }
    $2 == "purchase" {
      for (c in start)
        if ($3 >= start[c] && $3 < start[c] + days * 86400 && ((c, $1) in arm) && !((c, $1) in done)) {
          done[c, $1] = 1; conv[c, arm[c, $1]]++
        }
    }
    END {
      bad = 0
      for (c = 1; c in start; c++) {
        pt = conv[c, "treat"] / n[c, "treat"]; pc = conv[c, "control"] / n[c, "control"]
        se = sqrt(pt * (1 - pt) / n[c, "treat"] + pc * (1 - pc) / n[c, "control"])
        t = truth[c] / n[c, "treat"]; d = pt - pc
        printf "campaign %d: %d treated, %d control, measured %.4f +- %.4f (95%%), truth %.4f\n", c, n[c, "treat"], n[c, "control"], d, 1.96 * se, t
        if (d - t > 1.96 * se || t - d > 1.96 * se) bad++
      }
      exit bad || c != 3
    }' truth.csv ev.csv
  echo "# synth: $(echo "$output" | tr '\n' ';')" >&3
}

@test "dirt: the requested rate, each kind its share, counted in the log itself" {
  promo-synth world --seed 2 -o w.mpz
  promo-synth events --world w.mpz --dirt 0.05 --dirt-log dirt.mpz -o dirty.mpz
  promo-cat --no-names dirty.mpz > dirty.csv
  promo-cat --fields kind,position --no-names dirt.mpz > dirt.csv
  # The dirt log: 5% of the output, each kind at its documented share.
  run -0 awk -F, -v total="$(wc -l < dirty.csv)" -v rate=0.05 '
    { n++; k[$1]++ }
    END {
      split("duplicate:0.15 near_duplicate:0.10 missing_field:0.15 bad_price:0.10 unknown_event:0.10 future_ts:0.05 out_of_order:0.10 bot:0.25", w, " ")
      z = (n / total - rate) / sqrt(rate * (1 - rate) / total)
      printf "dirt %d of %d records: %.4f (z %.2f);", n, total, n / total, z
      bad = z > 3.5 || z < -3.5
      for (i in w) {
        split(w[i], f, ":"); p = f[2]; s = sqrt(p * (1 - p) / n)
        # bad_price is never drawn for treat/control events: 3% fewer
        lo = f[1] == "bad_price" ? p * 0.95 : p
        if (k[f[1]] / n < lo - 3.5 * s || k[f[1]] / n > p + 3.5 * s) bad++
        printf " %s %.3f", f[1], k[f[1]] / n
      }
      exit bad
    }' dirt.csv
  echo "# synth: $output" >&3

  # Counting the defects in the log finds exactly the dirt log's records.
  awk -F, -v end=$END -v users=5000 '
    {
      user = $1; item = $2; ev = $4; ts = $5; price = $7
      behaviour = ev == "view" || ev == "wish" || ev == "cart" || ev == "purchase"
      if (user == "" || ev == "" || ts == "" || (behaviour && item == "")) { print "missing_field"; next }
      if (!behaviour && ev != "treat" && ev != "control") { print "unknown_event"; next }
      if (behaviour && price + 0 <= 0) { print "bad_price"; next }
      if (ts + 0 >= end) { print "future_ts"; next }
      if (user + 0 > users) { print "bot"; next }
      if ($0 in seen) { print "duplicate"; next }
      seen[$0] = 1
      key = user "," item "," ev "," $6 "," $7 "," $8 "," $9 "," $10 "," $11
      if ((key in last) && ts - last[key] >= 1 && ts - last[key] <= 4) { print "near_duplicate"; next }
      last[key] = ts
      if (ts + 0 < maxts) print "out_of_order"; else maxts = ts + 0
    }' dirty.csv | sort | uniq -c > counted.txt
  cut -d, -f1 dirt.csv | sort | uniq -c > logged.txt
  run -0 diff counted.txt logged.txt

  # Bots: many views, no purchases.
  run -0 awk -F, '$1 > 5000 { v[$1]++; if ($4 != "view") p++ } END { for (b in v) printf "bot %d: %d views\n", b, v[b]; exit p > 0 || length(v) < 1 }' dirty.csv
  echo "# synth: $output" >&3
}

@test "dirt: the clean part is the --dirt 0 log, whatever the rate" {
  promo-synth world --users 2000 --items 300 -o w.mpz
  promo-synth events --world w.mpz --dirt 0 -o clean.mpz
  promo-cat --no-names clean.mpz > clean.csv
  for rate in 0.02 0.2; do
    promo-synth events --world w.mpz --dirt $rate --dirt-log dirt.mpz -o dirty.mpz
    promo-cat --no-names dirty.mpz > dirty.csv
    promo-cat --fields kind,position --no-names dirt.mpz > dirt.csv
    # Without the added records, and with moved events put back in time
    # order, the dirty log is the clean one ...
    awk -F, 'FNR == NR { if ($1 != "out_of_order") drop[$2] = 1; next } !(FNR in drop)' dirt.csv dirty.csv > kept.csv
    run -0 cmp <(sort kept.csv) <(sort clean.csv)
    # ... and without the moved ones too, it is the clean log in its order.
    awk -F, 'FNR == NR { drop[$2] = 1; next } !(FNR in drop)' dirt.csv dirty.csv > inorder.csv
    awk -F, 'FNR == NR { if ($1 == "out_of_order") moved[$2] = 1; next } (FNR in moved)' dirt.csv dirty.csv > moved.csv
    run -0 cmp inorder.csv <(grep -v -x -F -f moved.csv clean.csv)
  done
}

# ---- Must show 3: respond ----------------------------------------------------------

@test "respond: targeting the true persuadables beats random targeting" {
  awk -F, '$1 == "user" && $4 == "persuadable" { print $2 ",pct20,false" }' "$F/big-users.csv" | plan_from_csv persuadable.mpz
  n=$(wc -l < persuadable.mpz.csv); n=$((n - 1))
  awk -F, 'BEGIN { srand(7) } $1 == "user" { print rand() "," $2 }' "$F/big-users.csv" | sort -t, -k1,1 |
    head -n "$n" | awk -F, '{ print $2 ",pct20,false" }' | plan_from_csv random.mpz
  : | plan_from_csv empty.mpz
  for p in persuadable random empty; do
    promo-synth respond --world "$F/big.mpz" --plan $p.mpz --start 2024-01-29 --days 14 --campaign 3 -o $p-ev.mpz
    promo-cat --fields event --no-names $p-ev.mpz | grep -c '^purchase$' > $p.n
  done
  # The same seed gives every plan the same untreated behaviour, so the
  # difference from the empty plan is each plan's incremental purchases.
  run -0 awk -v n=$n -v p="$(cat persuadable.n)" -v r="$(cat random.n)" -v e="$(cat empty.n)" 'BEGIN {
    printf "%d users treated: persuadables +%d purchases, random +%d (no plan: %d)\n", n, p - e, r - e, e
    exit !(p - e > r - e && r - e >= 0) }'
  echo "# synth: $output" >&3
}

@test "wish lists: deal-prone users wish-list more, offers never change it, --deal-signal 0 hides it" {
  # The world's rates: persuadables several times the others' (mean 0.02).
  rates() {
    promo-cat --where type=user --fields group,wish_rate --no-names "$1" | awk -F, '
      { g = $1 == "persuadable"; s[g] += $2; n[g]++ }
      END { printf "%.4f %.4f\n", s[1] / n[1], s[0] / n[0] }'
  }
  read -r p o <<< "$(rates "$F/big.mpz")"
  echo "# synth: mean wish rate: persuadables $p, others $o" >&3
  awk -v p="$p" -v o="$o" 'BEGIN { exit !(o > 0.018 && o < 0.022 && p > 2 * o) }' || fail "rates $p $o"
  promo-synth world --users 20000 --seed 11 --deal-signal 0 -o flat.mpz
  read -r p o <<< "$(rates flat.mpz)"
  awk -v p="$p" -v o="$o" 'BEGIN { exit !(p / o > 0.95 && p / o < 1.05) }' || fail "deal-signal 0: $p $o"
  # The log: wish events per view as the rates say (views-weighted).
  run -0 awk -F, '
    FNR == NR { if ($1 == "user") r[$2] = $3; next }
    $2 == "view" { v++; e += r[$1] } $2 == "wish" { w++ }
    END { printf "%d wishes, expected %.0f\n", w, e; exit !(w > 0 && (w - e) ^ 2 < 16 * e) }
  ' <(promo-cat --fields type,user,wish_rate --no-names "$F/big.mpz") \
    <(promo-cat --fields user,event --no-names "$F/big-clean.mpz")
  echo "# synth: $output" >&3
  # An offer to everyone changes purchases, never which items are wish-listed
  # (their times move with the purchases before them, as views do).
  awk -F, '$1 == "user" { print $2 ",pct20,false" }' "$F/big-users.csv" | plan_from_csv all.mpz
  : | plan_from_csv none.mpz
  for p in all none; do
    promo-synth respond --world "$F/big.mpz" --plan $p.mpz --start 2024-01-29 --days 3 --campaign 3 -o $p-ev.mpz
    promo-cat --where event=wish --fields user,item --no-names $p-ev.mpz | sort > $p-wish.csv
  done
  [ -s none-wish.csv ] || fail "no wish events"
  run -0 cmp all-wish.csv none-wish.csv
  run -1 cmp -s <(promo-cat --where event=purchase --no-names all-ev.mpz) <(promo-cat --where event=purchase --no-names none-ev.mpz)
}

@test "respond: treating do-not-disturb users lowers their purchases against holdout" {
  awk -F, '$1 == "user" && $4 == "do_not_disturb" { print $2 ",pct20," ($2 % 2 ? "false" : "true") }' \
    "$F/big-users.csv" | plan_from_csv dnd.mpz
  promo-synth respond --world "$F/big.mpz" --plan dnd.mpz --start 2024-01-29 --days 28 --campaign 4 -o dnd-ev.mpz
  promo-cat --fields user,event --no-names dnd-ev.mpz > dnd.csv
  run -0 awk -F, '
    $2 == "treat" { arm[$1] = "t"; n["t"]++ } $2 == "control" { arm[$1] = "c"; n["c"]++ }
    $2 == "purchase" && ($1 in arm) { s[arm[$1]]++; per[$1]++ }
    END {
      for (u in per) q[arm[u]] += per[u] ^ 2
      for (a in n) { m[a] = s[a] / n[a]; v[a] = q[a] / n[a] - m[a] ^ 2 }
      z = (m["t"] - m["c"]) / sqrt(v["t"] / n["t"] + v["c"] / n["c"])
      printf "treated %d: %.3f purchases each; holdout %d: %.3f each; z %.2f\n", n["t"], m["t"], n["c"], m["c"], z
      exit !(z < -1.96) }' dnd.csv
  echo "# synth: $output" >&3
}

@test "truth: the sign of each uplift group's effect" {
  promo-synth truth --world "$F/big.mpz" --days 7 -o truth.mpz
  promo-cat --fields user,offer,uplift_purchases,uplift_profit --no-names truth.mpz > truth.csv
  run -0 awk -F, '
    FNR == NR { if ($1 == "user") g[$2] = $4; next }
    { n[g[$1]]++; if ($3 > 1e-12) pos[g[$1]]++; else if ($3 < -1e-12) neg[g[$1]]++; if ($4 < 0) loss[g[$1]]++ }
    END {
      printf "persuadable %d/%d up; do_not_disturb %d/%d down; sure_thing %d/%d unchanged, %d/%d lose money\n",
        pos["persuadable"], n["persuadable"], neg["do_not_disturb"], n["do_not_disturb"],
        n["sure_thing"] - pos["sure_thing"] - neg["sure_thing"], n["sure_thing"], loss["sure_thing"], n["sure_thing"]
      exit !(pos["persuadable"] == n["persuadable"] && neg["do_not_disturb"] == n["do_not_disturb"] &&
             pos["sure_thing"] + neg["sure_thing"] + pos["lost_cause"] + neg["lost_cause"] == 0 &&
             loss["sure_thing"] == n["sure_thing"]) }' "$F/big-users.csv" truth.csv
}

# ---- Must show 5: the default shop's statistics, as docs/synth.md quotes them ------

@test "the default shop: a few percent conversion, long-tailed items, most users with few events" {
  promo-synth world -o w.mpz
  promo-synth events --world w.mpz --dirt 0 -o ev.mpz
  promo-cat --fields user,item,event --no-names ev.mpz > ev.csv
  run -0 awk -F, '
    $3 == "view" { views++; iv[$2]++ } $3 == "purchase" { buys++ }
    $3 == "view" || $3 == "cart" || $3 == "purchase" { ue[$1]++ }
    END {
      conv = buys / views
      n = asorti_desc(iv, c)
      top = 0; for (i = 1; i <= int(n / 10); i++) top += c[i]
      few = 5000 - length(ue); for (u in ue) if (ue[u] <= 10) few++
      printf "%d events, view-to-purchase %.2f%%, top 10%% of items get %.0f%% of views, %.0f%% of users have at most 10 events\n",
        NR, 100 * conv, 100 * top / views, 100 * few / 5000
      exit !(conv > 0.01 && conv < 0.06 && top / views > 0.4 && few / 5000 > 0.5)
    }
    function asorti_desc(a, out,    k, i, j, t, m) {
      m = 0; for (k in a) out[++m] = a[k]
      for (i = 2; i <= m; i++) { t = out[i]; for (j = i - 1; j >= 1 && out[j] < t; j--) out[j + 1] = out[j]; out[j + 1] = t }
      return m
    }' ev.csv
  echo "# synth: $output" >&3
}

@test "docs/promo-synth.md: the examples run" {
  awk '/^## Examples/ { on = 1 } on && /^```sh$/ { code = 1; next } code && /^```$/ { code = 0 } code' \
    "$TESTS_DIR/../docs/promo-synth.md" > examples.sh
  [ -s examples.sh ] || fail "no examples found"
  run -0 bash -euo pipefail examples.sh
}
