#!/usr/bin/env bats
# promo-featurize: the four views, scaling, sorted input, and no leakage:
# events at or after --asof change labels, never features.

load helpers

T=2024-01-15            # --asof for the simulated shop (its log: January 2024)

setup_file() {
  cd "$BATS_FILE_TMPDIR" || return 1
  promo-synth world --seed 3 -o world.mpz
  promo-synth events --world world.mpz -o events.mpz
  promo-clean -q --since 2024-01-01 --until 2024-01-29 -o clean.mpz events.mpz
}

F=${BATS_FILE_TMPDIR:-}

# The hand-worked history of docs/featurize.md (and tests/unit/test_userfeat.c).
example_csv() {
  cat <<'EOF'
user,item,category,event,ts,session,price,quantity,discount,campaign,offer
1,1,10,view,1699920000,100,5,,,,
1,2,10,view,1699920060,100,20,,,,
1,2,10,cart,1699920120,100,20,2,,,
1,2,10,purchase,1699920300,100,20,2,0,,
1,,,treat,1700006400,,,,,1,pct10
1,3,20,view,1700010000,101,100,,,,
1,3,20,purchase,1700010100,101,100,1,10,1,pct10
1,1,10,view,1700352000,102,5,,,,
1,1,10,purchase,1700784000,103,5,3,0,,
1,1,10,purchase,1701648000,104,5,1,0,,
EOF
}

@test "--help: the views and options in the house format" {
  run -0 --separate-stderr promo-featurize --help
  assert_equal "$stderr" ""
  assert_equal "$output" "$(cat "$TESTS_DIR/bats/golden/promo-featurize.help")"
  assert_line --index 0 "promo-featurize: per-user features, sequences, interactions or uplift examples from a cleaned log"
  assert_line "Usage: promo-featurize --view V --asof T [OPTIONS] [FILE...]"
  assert_line --regexp '^  --label-days D +labels use the window \[T, T \+ D days\) +\[default: 7\]$'
  assert_line --regexp '^  --weights E=W,... +.*\[default: view=1,wish=2,cart=3,purchase=10\]$'
}

@test "usage errors: exit 2 and a message naming the option" {
  run -2 --separate-stderr promo-featurize --asof 2024-01-01
  assert_equal "${stderr%%$'\n'*}" 'promo-featurize: --view is required (users, sequences, interactions or examples)'
  run -2 --separate-stderr promo-featurize --view users
  assert_equal "${stderr%%$'\n'*}" 'promo-featurize: --asof is required: features use the events before it'
  run -2 --separate-stderr promo-featurize --view items --asof 0
  assert_equal "${stderr%%$'\n'*}" 'promo-featurize: --view: expected users, sequences, interactions or examples, got "items"'
  run -2 --separate-stderr promo-featurize --view users --asof 0 --length 5
  assert_equal "${stderr%%$'\n'*}" 'promo-featurize: --length, --item-buckets and --category-buckets apply to --view sequences, not users'
  run -2 --separate-stderr promo-featurize --view interactions --asof 0 --holdout last
  assert_equal "${stderr%%$'\n'*}" 'promo-featurize: --holdout needs --holdout-out FILE'
  run -2 --separate-stderr promo-featurize --view users --asof 0 --fit-stats a.mpz --stats b.mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-featurize: --fit-stats and --stats cannot be used together: fit on training rows, then apply'
  run -2 --separate-stderr promo-featurize --view interactions --asof 0 --weights view=1,click=2
  assert_equal "${stderr%%$'\n'*}" 'promo-featurize: --weights: expected view, wish, cart or purchase, got "click"'
  run -2 --separate-stderr promo-featurize --view users --asof 0 --label-days 0
  assert_equal "${stderr%%$'\n'*}" 'promo-featurize: --label-days: expected 1 second to 36500 days, got "0"'
  run -2 --separate-stderr promo-featurize --view users --asof 0 --offer-days -2
  assert_equal "${stderr%%$'\n'*}" 'promo-featurize: --offer-days: expected a number of days or a duration such as 12h, got "-2"'
}

@test "unsorted input is an error that says to run promo-clean first; nothing is written" {
  example_csv | promo-import -q --kind events -o raw.mpz
  run -1 --separate-stderr promo-featurize --view users --asof 2023-11-24 -o out.mpz raw.mpz
  assert_equal "$stderr" 'promo-featurize: raw.mpz: header: the input is not sorted by user and time (its header has no "sorted": "user,ts"); run promo-clean first'
  [ ! -e out.mpz ]
  # Two cleaned shards one after the other are not sorted as a whole.
  promo-clean -q -o a.mpz raw.mpz
  printf 'user,item,event,ts\n0,5,view,1699920000\n' | promo-import -q --kind events | promo-clean -q -o b.mpz
  run -1 --separate-stderr bash -c 'cat a.mpz b.mpz | promo-featurize --view users --asof 2023-11-24 -o out.mpz'
  assert_equal "$stderr" 'promo-featurize: stdin: record 11: field "user": the input is not sorted by user and time; run promo-clean first'
  [ ! -e out.mpz ]
}

@test "users view: the hand-worked history gives the documented values" {
  example_csv | promo-import -q --kind events | promo-clean -q -o clean.mpz
  run -0 promo-featurize -q --view users --asof 2023-11-24 --labels yes --categories 20 -o users.mpz clean.mpz
  run -0 promo-cat --format jsonl users.mpz
  assert_output '{"user":1,"recency_days":5,"frequency":2,"monetary":130,"n_view":4,"n_wish":0,"n_cart":1,"n_purchase":2,"view_to_cart":0.25,"view_to_wish":0,"cart_to_purchase":2,"sessions":3,"mean_session_length":2.3333333333333335,"mean_session_minutes":2.2222222222222223,"distinct_items":3,"distinct_categories":2,"top1_category_share":0.7142857142857143,"top2_category_share":0.2857142857142857,"top3_category_share":0,"discount_share":0.5,"mean_purchase_value":65,"purchase_rate_offer":0.14285714285714285,"purchase_rate_no_offer":0.3333333333333333,"n_offers":1,"days_active":3,"tenure_days":10,"cat_20_share":0.2857142857142857,"label":1,"revenue":15}'
  run -0 bash -c "promo-cat --header users.mpz | grep -o '\"features\":\"[^\"]*\"'"
  assert_output '"features":"recency_days,frequency,monetary,n_view,n_wish,n_cart,n_purchase,view_to_cart,view_to_wish,cart_to_purchase,sessions,mean_session_length,mean_session_minutes,distinct_items,distinct_categories,top1_category_share,top2_category_share,top3_category_share,discount_share,mean_purchase_value,purchase_rate_offer,purchase_rate_no_offer,n_offers,days_active,tenure_days,cat_20_share"'
  # Before the first event the user is cold: no row, counted.
  run -0 --separate-stderr promo-featurize --view users --asof 2023-11-14 -o users.mpz clean.mpz
  assert_equal "$stderr" 'promo-featurize: 1 user: 0 rows, 1 cold (no behaviour before 2023-11-14T00:00:00Z)'
}

# ---- Must show 3: no leakage ------------------------------------------------------

@test "leakage: changing or deleting events at or after T changes no feature, only labels" {
  cd "$F"
  # Every event at or after T: a third deleted, the rest made purchases of
  # another item at another price; then cleaned again.
  promo-cat --format jsonl clean.mpz | python3 -c '
import json, sys, random
random.seed(1)
T = 1705276800
for line in sys.stdin:
    r = json.loads(line)
    if r["ts"] >= T:
        if random.random() < 1 / 3:
            continue
        if r["event"] in ("view", "cart", "purchase"):
            r.update(event="purchase", item=999, price=123.0, quantity=2, discount=0.0)
    print(json.dumps(r))' > changed.jsonl
  promo-import -q --kind events changed.jsonl | promo-clean -q -o changed.mpz
  for v in users sequences; do
    promo-featurize -q --view $v --asof $T --labels yes -o a.mpz clean.mpz
    promo-featurize -q --view $v --asof $T --labels yes -o b.mpz changed.mpz
    fields=$(promo-cat --header a.mpz | python3 -c 'import json,sys; h=json.load(sys.stdin)["options"]; print(h.get("features", "ev,cat,price_b,gap_b,item,len"))')
    run -0 cmp <(promo-cat --fields user,$fields a.mpz) <(promo-cat --fields user,$fields b.mpz)
    run -1 cmp <(promo-cat --fields user,label,revenue a.mpz) <(promo-cat --fields user,label,revenue b.mpz)
  done
  promo-featurize -q --view interactions --asof $T --half-life 3 -o a.mpz clean.mpz
  promo-featurize -q --view interactions --asof $T --half-life 3 -o b.mpz changed.mpz
  run -0 cmp a.mpz b.mpz
  promo-featurize -q --view examples --asof $T -o a.mpz clean.mpz
  promo-featurize -q --view examples --asof $T -o b.mpz changed.mpz
  run -0 cmp a.mpz b.mpz
}

# ---- the views ---------------------------------------------------------------------

@test "sequences: the last L events as left-padded tokens, vocabularies in the header" {
  cd "$F"
  run -0 promo-featurize -q --view sequences --asof $T --length 6 --item-buckets 1000 -o seq.mpz clean.mpz
  run -0 promo-cat --header seq.mpz
  assert_output --partial '"length":6,"ev_vocab":"pad,unknown,view,wish,cart,purchase","ev_size":6,"price_b_bounds":"1,2,4,8,16,32,64,128,256,512,1024,2048,4096,8192","price_b_size":17,"gap_b_bounds":"60,300,1800,7200,86400,259200,604800,2592000","gap_b_size":11'
  assert_output --partial '"item_size":1000,"cat_size":1024'
  # Every array has L tokens below its vocabulary's size, padding first.
  run -0 bash -c "promo-cat --format jsonl seq.mpz | python3 -c '
import json, sys
size = dict(ev=6, cat=1024, price_b=17, gap_b=11, item=1000)
n = 0
for line in sys.stdin:
    r = json.loads(line); n += 1
    L = r[\"len\"]
    assert 1 <= L <= 6, r
    for k, s in size.items():
        a = r[k]
        assert len(a) == 6 and all(0 <= t < s for t in a), (k, r)
        assert a[:6 - L] == [0] * (6 - L) and 0 not in a[6 - L:], (k, r)
    assert r[\"label\"] in (0, 1)
print(n)'"
  [ "$output" -gt 1000 ] || fail "$output sequences"
}

@test "interactions: weights per item, the last purchase or the label window held out" {
  example_csv | promo-import -q --kind events | promo-clean -q -o clean.mpz
  run -0 promo-featurize -q --view interactions --asof 2023-11-24 -o i.mpz clean.mpz
  run -0 promo-cat --no-names i.mpz
  assert_output '1,1,2
1,2,14
1,3,11'
  run -0 promo-featurize -q --view interactions --asof 2023-11-24 --holdout last --holdout-out h.mpz -o i.mpz clean.mpz
  run -0 promo-cat --no-names i.mpz
  assert_output '1,1,2
1,2,14'
  run -0 promo-cat --no-names h.mpz
  assert_output '1,3,11'
  run -0 promo-featurize -q --view interactions --asof 2023-11-24 --holdout time --holdout-out h.mpz -o i.mpz clean.mpz
  run -0 promo-cat --no-names h.mpz
  assert_output '1,1,10'
  run -0 promo-cat --header h.mpz
  assert_output --partial '"holdout":"time","part":"holdout"'
  run -0 promo-featurize -q --view interactions --asof 2023-11-24 --weights view=1 --half-life 5 -o i.mpz clean.mpz
  run -0 promo-cat --no-names i.mpz
  # Views only, halved every 5 days before T: item 1 seen 10 and 5 days before.
  assert_output '1,1,0.75
1,2,0.25002406876897304
1,3,0.28883817421806823'
}

@test "examples: campaign members with features at the campaign start and the outcome" {
  cd "$F"
  run -0 --separate-stderr promo-featurize --view examples --asof 2024-01-29 -o ex.mpz clean.mpz
  [[ "$stderr" =~ ^promo-featurize:\ [0-9]+\ users,\ ([0-9]+)\ campaign\ memberships:\ ([0-9]+)\ examples\;\ ([0-9]+)\ cold ]] || fail "$stderr"
  members=${BASH_REMATCH[1]} rows=${BASH_REMATCH[2]} cold=${BASH_REMATCH[3]}
  # Every membership event is an example or a cold customer.
  assert_equal "$members" "$(promo-cat --no-names --fields event clean.mpz | grep -cE '^(treat|control)$')"
  assert_equal "$((rows + cold))" "$members"
  run -0 bash -c "promo-cat --no-names --fields treatment ex.mpz | sort -u | paste -sd,"
  assert_output 'control,pct10,pct20,pct30,ship5'
  # Campaign 1 starts with the log: its members have no history, all cold.
  run -0 bash -c "promo-cat --no-names --fields campaign ex.mpz | sort -u | paste -sd,"
  assert_output '2'
  # --campaign keeps one; a window not over by --asof is left out.
  run -0 --separate-stderr promo-featurize --view examples --campaign 2 --asof 2024-01-29 -o ex2.mpz clean.mpz
  run -0 bash -c "promo-cat --no-names --fields campaign ex2.mpz | sort -u"
  assert_output 2
  run -0 bash -c "promo-cat --no-names --fields treatment,converted ex.mpz | awk -F, '\$2 != 0 && \$2 != 1' | wc -l"
  assert_output 0
}

@test "--fit-stats learns the scaling on training rows, --stats applies the same transform" {
  cd "$F"
  promo-featurize -q --view users --asof $T --fit-stats stats.mpz -o raw.mpz clean.mpz
  promo-featurize -q --view users --asof $T --stats stats.mpz -o scaled.mpz clean.mpz
  run -0 promo-cat --no-names --fields feature,centre stats.mpz
  assert_line --index 0 --regexp '^recency_days,[0-9.]+$'
  # On the training rows each scaled feature has mean 0 and sd 1 (or is constant 0).
  run -0 bash -c "promo-cat --format jsonl scaled.mpz | python3 -c '
import json, sys, statistics
rows = [json.loads(l) for l in sys.stdin]
for k in (\"recency_days\", \"monetary\", \"n_view\", \"sessions\"):
    x = [r[k] for r in rows]
    m, s = statistics.fmean(x), statistics.pstdev(x)
    assert abs(m) < 1e-9 and abs(s - 1) < 1e-9, (k, m, s)
print(\"ok\")'"
  assert_output ok
  # Later rows get the training transform, so their means are not 0.
  promo-featurize -q --view users --asof 2024-01-22 --stats stats.mpz -o later.mpz clean.mpz
  run -0 bash -c "promo-cat --no-names --fields recency_days later.mpz | awk '{s += \$1} END {print (s / NR > 0.1 || s / NR < -0.1) ? \"shifted\" : \"centred\"}'"
  assert_output shifted
  promo-featurize -q --view users --asof $T --fit-stats robust.mpz --scaling robust -o /dev/null clean.mpz
  run -0 bash -c "promo-cat --header robust.mpz | grep -o '\"method\":\"[a-z]*\"'"
  assert_output '"method":"robust"'
  # Stats fitted without --categories do not fit rows with them.
  run -1 --separate-stderr promo-featurize --view users --asof $T --categories 3 --stats stats.mpz -o x.mpz clean.mpz
  assert_equal "$stderr" 'promo-featurize: stats.mpz: no statistics for feature "cat_3_share" (fitted on view users; use the same view and --categories for --fit-stats and --stats)'
  [ ! -e x.mpz ]
}

@test "memory: one user at a time, so four times the users need no more" {
  [ -x /usr/bin/time ] || skip "GNU time not installed (tools/install-deps test)"
  cd "$F"
  promo-synth world --users 20000 --seed 3 -o big-world.mpz
  promo-synth events --world big-world.mpz --dirt 0 -o big.mpz
  # Plain inputs: a gzip input adds the reader's read-ahead (up to three
  # members of about 1 MiB), the same for any input of more than three.
  promo-clean -q --level 0 -o big-clean.mpz big.mpz
  promo-cat --format mpz --level 0 -o small-clean.mpz clean.mpz
  /usr/bin/time -f %M -o small.kb promo-featurize -q --view users --asof $T -o /dev/null small-clean.mpz
  /usr/bin/time -f %M -o big.kb promo-featurize -q --view users --asof $T -o /dev/null big-clean.mpz
  small=$(tail -1 small.kb) big=$(tail -1 big.kb)
  echo "# peak $small KiB for 5000 users, $big KiB for 20000" >&3
  [ "$big" -le $((small + 1024)) ] || fail "$big KiB for 20000 users against $small KiB for 5000"
}
