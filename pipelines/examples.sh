#!/usr/bin/env bash
# Each offer's uplift training set: the rows of every campaign that sent the
# offer, its treated users and its control arm, weighted so that within each
# campaign the two arms weigh the same.
# Usage: examples.sh BIN PAST_CAMPAIGNS EXAMPLES PREFIX OFFER,... PLAN...
# writes PREFIX-OFFER.mpz for each offer, all or none of them.
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
bin=$1 past=$2 examples=$3 prefix=$4
IFS=, read -r -a offers <<< "$5"
shift 5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
j=0
# One pass over the examples: each row to the set of every offer it serves.
{
  for plan in "$@"; do
    j=$((j + 1))
    "$bin/promo-cat" --no-names --fields user,offer,holdout "$plan" |
      awk -F, -v c=$((past + j)) '$3 == "true" && $2 != "" { print c "," $1 "," $2 }'
  done
  echo "end"
} | awk -F, -v past="$past" -v offers="${offers[*]}" -v dir="$tmp" '
  BEGIN { m = split(offers, o, " ") }
  !body { if ($0 == "end") { body = 1; next } would[$1 "," $2] = $3; next }
  !names++ { for (i = 1; i <= NF; i++) col[$i] = i; for (k = 1; k <= m; k++) print > (dir "/" o[k]); next }
  { u = $col["user"]; c = $col["campaign"]; t = $col["treatment"]
    for (k = 1; k <= m; k++)
      if (t == o[k] || (t == "control" && (c + 0 <= past || would[c "," u] == o[k]))) print > (dir "/" o[k]) }
' - <("$bin/promo-cat" --format csv "$examples")
for offer in "${offers[@]}"; do
  awk -F, -v offer="$offer" '
    NR == FNR { if (FNR == 1) { for (i = 1; i <= NF; i++) col[$i] = i; next }
                c = $col["campaign"]; n[c, $col["treatment"] == offer]++; next }
    FNR == 1 { print $0 ",weight"; next }
    { c = $col["campaign"]; if (!n[c, 1] || !n[c, 0]) next
      printf "%s,%.17g\n", $0, (n[c, 0] + n[c, 1]) / (2 * n[c, $col["treatment"] == offer]) }
  ' "$tmp/$offer" "$tmp/$offer" |
    "$bin/promo-import" -q --kind examples --types treatment=string --infer-rows 100000000 -o "$tmp/$offer.mpz"
done
for offer in "${offers[@]}"; do
  mv "$tmp/$offer.mpz" "$prefix-$offer.mpz"
done
