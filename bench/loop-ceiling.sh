# Where the loop's profit is lost: each cycle's plans scored by their
# expected profit from promo-synth truth (the oracle's own objective), next
# to what the same planner (the loop's p_buy, order value, margin, budget
# and holdout) earns when given (a) the true conversion uplifts and (b) a
# model of the users view fitted to them.  (b) bounds any model of what the
# shop can see; (a) bounds the planner's objective.  The peer here is
# scikit-learn's gradient boosting, taught by the truth, not a rival tool.
# It does so for several simulated shops (SEEDS, default "1 2 3": the
# world's and the behaviour's seed), since one shop's figures are one draw.
# LOOP_ARGS passes loop parameters (e.g. "DEAL_SIGNAL=4").
set -euo pipefail
. "$(dirname "$0")/lib.sh"
dir=$1
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(dirname "$(command -v promo-synth)")
SEEDS=${SEEDS:-1 2 3}
have_py_module sklearn || { echo "bench: loop-ceiling needs $PEER_PY with scikit-learn" >&2; exit 1; }
# The loop's parameters the planner needs: loop.conf, then LOOP_ARGS.
for v in CYCLES BUDGET HOLDOUT PLAN_SEED OFFERS; do
  val=$(awk -F' *= *' -v k=$v '$1 == k { x = $2 } END { print x }' "$root/pipelines/loop.conf")
  for a in ${LOOP_ARGS:-}; do [[ $a == "$v="* ]] && val=${a#*=}; done
  printf -v "$v" '%s' "$val"
done
offers=${OFFERS//'$(LOOP_DIR)'/$root/pipelines/}
case $offers in /*) ;; *) offers=$root/$offers ;; esac

# expected PLAN TRUTH: the sum of uplift_profit over a plan's sends.
expected() {
  awk -F, -f "$root/pipelines/expected.awk" \
    <("$bin/promo-cat" --format csv --fields user,offer,uplift_profit "$2") \
    <("$bin/promo-cat" --format csv --fields user,offer,holdout "$1")
}
share() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }

# measure SEED: run the loop on that shop and print "SEED CYCLE PLAN PROFIT"
# for each cycle and each plan.
measure() {
  local seed=$1 out=$dir/loop-ceiling-$1 c d name p
  rm -rf "$out"
  mkdir -p "$out"
  make --no-print-directory -C "$root" -f pipelines/loop.mk BIN="$bin" OUT="$out" \
    WORLD_SEED="$seed" EVENTS_SEED="$seed" ${LOOP_ARGS:-} all \
    > "$out.log" 2>&1 || { echo "bench: the loop failed; see $out.log" >&2; exit 1; }
  for c in $(seq 1 "$CYCLES"); do
    d=$out/cycle$c
    "$bin/promo-cat" --format csv "$d/truth.mpz" > "$d/truth.csv"
    "$bin/promo-cat" --format csv "$d/users.mpz" > "$d/users.csv"
    "$bin/promo-cat" --format csv --fields user,p_buy "$d/scored.mpz" > "$d/pbuy.csv"
    # (a) the true uplifts; (b) a 2-fold cross-fitted model of them.
    "$PEER_PY" - "$d" <<'EOF'
import sys
import numpy as np, pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
d = sys.argv[1]
truth = pd.read_csv(f"{d}/truth.csv")
users = pd.read_csv(f"{d}/users.csv").set_index("user")
users = users[users.index.isin(truth.user)]
pbuy = pd.read_csv(f"{d}/pbuy.csv").set_index("user").p_buy
up = truth.pivot(index="user", columns="offer", values="uplift_conversion").reindex(users.index)
feats = [f for f in users.columns if not f.startswith("cat_")]
X = users[feats].to_numpy()
fold = np.random.RandomState(0).randint(0, 2, len(users))
model = pd.DataFrame(index=users.index)
for o in up.columns:
    y = up[o].to_numpy()
    pred = np.zeros(len(y))
    for k in (0, 1):
        m = HistGradientBoostingRegressor(max_iter=300, learning_rate=0.05, random_state=0)
        pred[fold == k] = m.fit(X[fold != k], y[fold != k]).predict(X[fold == k])
    model["uplift_" + o] = pred
for name, frame in (("true", up.add_prefix("uplift_")), ("model", model)):
    frame = frame.copy()
    frame.insert(0, "p_buy", pbuy.reindex(frame.index))
    frame.reset_index().to_csv(f"{d}/ceiling-{name}.csv", index=False)
EOF
    read -r aov margin < "$d/shop.txt"
    for name in true model; do
      "$bin/promo-import" -q --kind users "$d/ceiling-$name.csv" |
        "$bin/promo-plan" -q --offers "$offers" --budget "$BUDGET" --holdout "$HOLDOUT" --aov "$aov" \
          --margin "$margin" --seed "$PLAN_SEED$c" -o "$d/ceiling-$name.mpz"
    done
    for p in oracle plan random ceiling-true ceiling-model; do
      printf "%s %s %s %.1f\n" "$seed" "$c" "$p" "$(expected "$d/$p.mpz" "$d/truth.mpz")"
    done
  done
}
table=$dir/loop-ceiling.table
for seed in $SEEDS; do measure "$seed"; done > "$table"

# row SEED PLAN TEXT: the plan's expected profit per cycle, and its share
# of the oracle's.
row() {
  printf '| %s | %s |' "$1" "$3"
  for c in $(seq 1 "$CYCLES"); do
    v=$(awk -v s="$1" -v c="$c" -v p="$2" '$1 == s && $2 == c && $3 == p { print $4 }' "$table")
    o=$(awk -v s="$1" -v c="$c" '$1 == s && $2 == c && $3 == "oracle" { print $4 }' "$table")
    printf ' %s (%s) |' "$v" "$(share "$v" "$o")"
  done
  echo
}
echo "## The promotion loop: where the profit is lost"
echo
echo "\`make run\`'s loop (pipelines/loop.conf${LOOP_ARGS:+, $LOOP_ARGS}); each plan's expected"
echo "profit from \`promo-synth truth\` (the sum of \`uplift_profit\` over its sends),"
echo "as a share of the oracle's. The last two rows give the loop's planner the"
echo "true conversion uplifts, then a 2-fold cross-fitted gradient boosting model"
echo "(scikit-learn HistGradientBoostingRegressor, 300 iterations) of them on the"
echo "users view's behaviour features: the most a model of what the shop can"
echo "see would reach, were it taught by the truth instead of by campaigns."
echo "Shop 1 is \`make run\`'s; the others are the same settings with another"
echo "seed (WORLD_SEED and EVENTS_SEED)."
echo
printf '| shop (seed) | plan |'; for c in $(seq 1 "$CYCLES"); do printf ' cycle %d |' "$c"; done; echo
printf '|---|---|'; for c in $(seq 1 "$CYCLES"); do printf -- '---:|'; done; echo
for seed in $SEEDS; do
  row "$seed" oracle "oracle (true increments of each user and offer)"
  row "$seed" plan "the loop's plan (uplift forests from the campaigns)"
  row "$seed" random "random targeting, same budget"
  row "$seed" ceiling-true "the planner given the true conversion uplifts"
  row "$seed" ceiling-model "the planner given a model of the users view fitted to the true uplifts"
done
