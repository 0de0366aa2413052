# The whole promotion loop (pipelines/loop.mk, make run's parameters): its
# wall time by stage, summed over the cycles.  Runs the loop once, from
# nothing, in a scratch OUT with TIMING set, so each recipe line's wall
# time is recorded (pipelines/timing.sh); no peer: the table says where
# the loop's time goes.  LOOP_ARGS passes parameters (e.g. "USERS=5000").
set -euo pipefail
. "$(dirname "$0")/lib.sh"
dir=$1
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(dirname "$(command -v promo-synth)")
out=$dir/loop
rm -rf "$out"
mkdir -p "$out"
times=$out.timings
rm -f "$times"

t0=$(date +%s.%N)
make --no-print-directory -C "$root" -f pipelines/loop.mk BIN="$bin" OUT="$out" TIMING="$times" \
  ${LOOP_ARGS:-} all > "$out.log" 2>&1 || { echo "bench: the loop failed; see $out.log" >&2; exit 1; }
t1=$(date +%s.%N)
total=$(echo "$t1 - $t0" | bc -l)

echo "## The promotion loop: wall time by stage"
echo
echo "\`make run\`'s loop (pipelines/loop.mk, pipelines/loop.conf${LOOP_ARGS:+, $LOOP_ARGS}), run once from"
echo "nothing with \`TIMING=FILE\` and one job (\`-j1\`): each recipe's wall time,"
echo "summed per stage over the cycles."
echo
echo "| stage | program | targets | wall | share |"
echo "|---|---|---:|---:|---:|"
# A target's stage is its file name without the cycle directory, the
# extension and the plan a week or a measure belongs to.
awk -v total="$total" '
  function stage(t,   b) {
    b = t; sub(/.*\//, "", b); sub(/\.[a-z]+$/, "", b)
    if (b ~ /^cycle[0-9]+$/ || b == "loop") return "directories|mkdir"
    if (b == "world") return "world|promo-synth world"
    if (b == "items") return "items|promo-cat"
    if (b == "history") return "history|promo-synth events"
    if (b == "log") return "log (history + earlier weeks)|promo-cat"
    if (b == "clean") return "clean|promo-clean"
    if (b == "users" || b == "users-train" || b == "examples" || b == "interactions") return "featurize: " b "|promo-featurize"
    if (b ~ /^examples-/) return "uplift training sets, one per offer|examples.sh (promo-cat, awk, promo-import)"
    if (b == "shop") return "shop (order value, margin)|promo-cat, awk"
    if (b == "kmeans") return "segments|promo-kmeans"
    if (b ~ /^uplift-/) return "uplift forests, one per offer|promo-dtree"
    if (b == "intent") return "intent|promo-train-cnn"
    if (b == "cf") return "recommender|promo-train-cf"
    if (b == "scored") return "score|promo-score x7"
    if (b == "plan") return "plan|promo-plan"
    if (b == "random" || b == "oracle" || b == "none") return "random, oracle, no-offer plans|promo-plan"
    if (b == "truth") return "truth|promo-synth truth"
    if (b ~ /^week-/) return "campaign weeks|promo-synth respond"
    if (b ~ /^(outcome|effect|exact)-/) return "measure|awk, promo-evaluate"
    if (b == "intent-eval") return "intent on the next week|promo-featurize, promo-evaluate"
    if (b == "summary") return "cycle summary|promo-import"
    if (b == "report") return "report|promo-evaluate"
    return b "|"
  }
  { s = stage($1); if (!(s in sum)) order[++n] = s; sum[s] += $2; all += $2
    if (!($1 in seen)) { seen[$1] = 1; cnt[s]++; targets++ } }
  END {
    for (i = 1; i <= n; i++) {
      split(order[i], f, "|")
      printf "| %s | %s | %d | %.2f s | %.0f%% |\n", f[1], f[2], cnt[order[i]], sum[order[i]], 100 * sum[order[i]] / total
    }
    printf "| **all recipes** | | %d | %.2f s | %.0f%% |\n", targets, all, 100 * all / total
    printf "| **the loop, end to end** (make included) | | | %.2f s | 100%% |\n", total
  }' "$times"
echo
echo "Times from one run on a shared machine (other jobs may run at once):"
echo "compare shares rather than seconds across runs."
