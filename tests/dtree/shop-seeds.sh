#!/usr/bin/env bash
# The uplift model against the two-model approach over several seeds.
#
# Usage: shop-seeds.sh USERS DIR DEPTH MIN_LEAF CRITERION SEED...
#
# Runs tests/dtree/shop-uplift.sh once per seed (a new world, campaign and
# split each time; the data of a seed are kept in DIR/SEED and reused), two
# seeds at a time (JOBS), with UPLIFT_OPTS, TWO_OPTS and BOTH_OPTS passed on.
# Prints a Markdown table: one row per seed, then for each measure the mean
# and standard deviation of the uplift model's and the two-model
# approach's figures, the mean and standard deviation of their paired
# difference, and how many seeds the uplift model won:
#   Qini      the Qini coefficient on the held-out half's observed outcomes
#   true Qini the same area with promo-synth's true uplifts in place of the
#             outcomes (the ranking's own quality, free of outcome noise)
#   top 30%   the mean true uplift of the 30% each model ranks highest
# and the last line, for scripts:
#   summary seeds=N qini_diff=M qini_diff_sd=S qini_wins=W tqini_diff=...
#   tqini_wins=... top30_diff=... top30_wins=... random=...
set -euo pipefail
[ $# -ge 6 ] || { echo "usage: shop-seeds.sh USERS DIR DEPTH MIN_LEAF CRITERION SEED..." >&2; exit 2; }
users=$1 dir=$2 depth=$3 leaf=$4 crit=$5
shift 5
here=$(cd "$(dirname "$0")" && pwd)
jobs=${JOBS:-2}
mkdir -p "$dir"
pids=() running=0
for seed in "$@"; do
  "$here/shop-uplift.sh" "$users" "$seed" "$dir/$seed" "$depth" "$leaf" "$crit" > "$dir/$seed.out" &
  pids+=($!)
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait "${pids[0]}"
    pids=("${pids[@]:1}")
    running=$((running - 1))
  fi
done
for p in "${pids[@]}"; do
  wait "$p"
done
echo "| seed | rows | uplift Qini | two-model Qini | uplift true Qini | two-model true Qini | uplift top 30% | two-model top 30% | random |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for seed in "$@"; do
  printf 'seed=%s %s\n' "$seed" "$(cat "$dir/$seed.out")"
done | awk '
  { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", v["seed"], v["rows"],
      v["uplift_qini"], v["two_qini"], v["uplift_tqini"], v["two_tqini"],
      v["uplift_top30"], v["two_top30"], v["random"]
    n++; rnd += v["random"]
    add("q", v["uplift_qini"], v["two_qini"])
    add("t", v["uplift_tqini"], v["two_tqini"])
    add("p", v["uplift_top30"], v["two_top30"]) }
  function add(k, a, b) { s[k "u"] += a; ss[k "u"] += a * a; s[k "w"] += b; ss[k "w"] += b * b
                          s[k "d"] += a - b; ss[k "d"] += (a - b) * (a - b); win[k] += a > b }
  function mean(k) { return s[k] / n }
  function sd(k) { return n > 1 ? sqrt((ss[k] - s[k] * s[k] / n) / (n - 1)) : 0 }
  function row(name, k) {
    printf "| %s | %.4f (sd %.4f) | %.4f (sd %.4f) | %+.4f (sd %.4f) | %d of %d |\n",
      name, mean(k "u"), sd(k "u"), mean(k "w"), sd(k "w"), mean(k "d"), sd(k "d"), win[k], n }
  END {
    print ""
    print "| measure | uplift model, mean (sd) | two-model, mean (sd) | paired difference, mean (sd) | uplift model ahead |"
    print "|---|---:|---:|---:|---:|"
    row("Qini", "q"); row("true Qini", "t"); row("top 30% true uplift", "p")
    printf "\nsummary seeds=%d qini_diff=%.4f qini_diff_sd=%.4f qini_wins=%d tqini_diff=%.4f tqini_diff_sd=%.4f tqini_wins=%d top30_diff=%.4f top30_wins=%d random=%.4f\n",
      n, mean("qd"), sd("qd"), win["q"], mean("td"), sd("td"), win["t"], mean("pd"), win["p"], rnd / n }'
