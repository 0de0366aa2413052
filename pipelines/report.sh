#!/usr/bin/env bash
# The loop's report: per cycle, the plan's incremental profit next to random
# targeting and the oracle under the same budget, and the intent model's
# AUC on the week that followed.  Usage: report.sh BIN OUT CYCLES
set -euo pipefail
bin=$1 out=$2 cycles=$3
echo "promoloop: $cycles campaign cycles on the simulated shop"
echo
echo "Incremental profit of each campaign (exact: against the same week without"
echo "offers; holdout: the plan's treated users against its held-out users, 95% interval;"
echo "expected: the plan's and the oracle's expected profit from the shop's truth)."
echo
printf '%-6s %8s %10s %10s %10s %8s %26s %7s %10s %10s %8s\n' cycle sends plan random oracle "plan/or" "plan (holdout estimate)" "AUC" \
  "expected" "oracle" "plan/or"
for c in $(seq 1 "$cycles"); do
  "$bin/promo-cat" --fields task,metric,group,value,lo,hi --no-names "$out/cycle$c/summary.mpz" |
    awk -F, -v c="$c" '
      $2 == "incr_profit" { ex[$3] = $4 }
      $2 == "incr_profit_expected" { ey[$3] = $4 }
      $2 == "sends" && $3 == "plan" { sends = $4 }
      $2 == "incr_profit_holdout" && $3 == "plan" { h = $4; lo = $5; hi = $6 }
      $1 == "intent" && $2 == "auc" { auc = $4 }
      END {
        ratio = (ex["oracle"] > 0) ? sprintf("%.0f%%", 100 * ex["plan"] / ex["oracle"]) : "n/a"
        eratio = (ey["oracle"] > 0) ? sprintf("%.0f%%", 100 * ey["plan"] / ey["oracle"]) : "n/a"
        printf "%-6s %8d %10.2f %10.2f %10.2f %8s %10.2f [%6.1f, %6.1f] %7.3f %10.2f %10.2f %8s\n",
          c, sends, ex["plan"], ex["random"], ex["oracle"], ratio, h, lo, hi, auc, ey["plan"], ey["oracle"], eratio
      }'
done
echo
echo "Segments of the last cycle (promo-kmeans --profile):"
"$bin/promo-cat" --format tsv --fields group,size,share --where metric=profile "$out/cycle$cycles/segments.mpz" 2>/dev/null ||
  "$bin/promo-evaluate" --task report "$out/cycle$cycles/segments.mpz"
