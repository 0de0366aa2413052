#!/usr/bin/env bash
# One cycle's figures as a metrics stream (task "loop"), from the files the
# loop wrote for it.  Usage: summary.sh BIN CYCLE DIR > summary.mpz
set -euo pipefail
bin=$1 cycle=$2 dir=$3
{
  echo "task,metric,group,value,lo,hi,n"
  for p in plan random oracle; do
    # Measured against the plan's own holdout: incremental profit (95% interval).
    "$bin/promo-cat" --fields metric,group,value,lo,hi,n --no-names "$dir/effect-$p.mpz" |
      awk -F, -v p="$p" '$1 == "incr_profit" || $1 == "abs_lift" {
          printf "loop,%s,%s,%s,%s,%s,%s\n", ($1 == "abs_lift" ? "conversion_lift" : "incr_profit_holdout"), p, $3, $4, $5, $6 }
        $1 == "rate" { printf "loop,conversion_%s,%s,%s,%s,%s,%s\n", $2, p, $3, $4, $5, $6 }'
    # Exactly, against the same week without offers.
    IFS=, read -r sends profit buys < "$dir/exact-$p.csv"
    echo "loop,incr_profit,$p,$profit,,,$sends"
    echo "loop,incr_purchases,$p,$buys,,,$sends"
    echo "loop,sends,$p,$sends,,,"
    # Expected, from the simulated shop's truth (the oracle's own objective).
    expected=$(awk -F, -f "$(dirname "$0")/expected.awk" \
      <("$bin/promo-cat" --format csv --fields user,offer,uplift_profit "$dir/truth.mpz") \
      <("$bin/promo-cat" --format csv --fields user,offer,holdout "$dir/$p.mpz"))
    echo "loop,incr_profit_expected,$p,$expected,,,$sends"
  done
  "$bin/promo-cat" --fields metric,value,n --no-names "$dir/intent-eval.mpz" |
    awk -F, '$1 == "auc" || $1 == "log_loss" { printf "intent,%s,,%s,,,%s\n", $1, $2, $3 }'
  echo "loop,cycle,,$cycle,,,"
} | "$bin/promo-import" -q --kind metrics --types group=string
