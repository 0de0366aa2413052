#!/usr/bin/env bash
# One offer's uplift training set: the rows of every campaign that sent the
# offer, its treated users and its control arm, weighted so that within each
# campaign the two arms weigh the same.
# Usage: examples.sh BIN PAST_CAMPAIGNS EXAMPLES OFFER PLAN... > examples.mpz
#
# EXAMPLES is promo-featurize --view examples (every campaign of the log);
# PLAN... are the plans of the loop's earlier cycles, in order, so cycle j's
# campaign has id PAST_CAMPAIGNS + j.
#
# Why the cuts and the weights:
# - A loop campaign treated the users its plan chose and held out a random
#   share of everyone; its held-out users the plan would have sent nothing
#   are not comparable with its treated users (they are the users the plan
#   judged unprofitable), so only held-out users the plan would have sent
#   this offer stay in its control arm.  Without the cut, the treated-against-control
#   difference would mix the offer's effect with the difference between
#   chosen and unchosen users.
# - Campaigns differ in whom they reached and in their weeks, and they give
#   an offer to different shares of their users (a past campaign splits
#   everyone over five arms, a loop campaign treats 80% of its chosen
#   users).  Pooled unweighted, a leaf's treated rows would come mostly from
#   one campaign and its control rows from another, and the difference
#   would be the campaigns' difference.  Weighting each arm of a campaign to
#   half the campaign's rows, and keeping only campaigns that sent the
#   offer, makes the two arms' mix of campaigns the same in every leaf.
set -euo pipefail
bin=$1 past=$2 examples=$3 offer=$4
shift 4
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
j=0
{
  for plan in "$@"; do
    j=$((j + 1))
    "$bin/promo-cat" --no-names --fields user,offer,holdout "$plan" |
      awk -F, -v c=$((past + j)) '$3 == "true" && $2 != "" { print c "," $1 "," $2 }'
  done
  echo "end"
} | awk -F, -v past="$past" -v offer="$offer" '
  !body { if ($0 == "end") { body = 1; next } would[$1 "," $2] = $3; next }
  !names++ { for (i = 1; i <= NF; i++) col[$i] = i; print; next }
  { u = $col["user"]; c = $col["campaign"]; t = $col["treatment"] }
  t == offer || (t == "control" && (c + 0 <= past || would[c "," u] == offer))
' - <("$bin/promo-cat" --format csv "$examples") > "$tmp"
awk -F, -v offer="$offer" '
  NR == FNR { if (FNR == 1) { for (i = 1; i <= NF; i++) col[$i] = i; next }
              c = $col["campaign"]; n[c, $col["treatment"] == offer]++; next }
  FNR == 1 { print $0 ",weight"; next }
  { c = $col["campaign"]; if (!n[c, 1] || !n[c, 0]) next
    printf "%s,%.17g\n", $0, (n[c, 0] + n[c, 1]) / (2 * n[c, $col["treatment"] == offer]) }
' "$tmp" "$tmp" |
  "$bin/promo-import" -q --kind examples --types treatment=string --infer-rows 100000000
