#!/usr/bin/env bash
# The uplift forest's training set: every past campaign's members, with
# each loop campaign's control arm cut to its comparable users.
# Usage: examples.sh BIN PAST_CAMPAIGNS EXAMPLES PLAN... > examples.mpz
#
# EXAMPLES is promo-featurize --view examples (every campaign of the log);
# PLAN... are the plans of the loop's earlier cycles, in order, so cycle j's
# campaign has id PAST_CAMPAIGNS + j.  The past campaigns are randomized over
# everyone and are kept whole.  A loop campaign treated the users its plan
# chose and held out a random share of everyone: its held-out users that the
# plan would not have sent anything are not comparable with its treated
# users (they are the users the plan judged unprofitable), so only held-out
# users with a would-be offer stay as its control arm.  Without the cut, a
# loop campaign's treated-against-control difference would mix the effect of
# the offer with the difference between chosen and unchosen users.
set -euo pipefail
bin=$1 past=$2 examples=$3
shift 3
j=0
{
  for plan in "$@"; do
    j=$((j + 1))
    "$bin/promo-cat" --no-names --fields user,offer,holdout "$plan" |
      awk -F, -v c=$((past + j)) '$3 == "true" && $2 != "" { print c "," $1 }'
  done
  echo "end"
} | awk -F, -v past="$past" '
  !body { if ($0 == "end") { body = 1; next } would[$1 "," $2] = 1; next }
  !names++ { for (i = 1; i <= NF; i++) col[$i] = i; print; next }
  { u = $col["user"]; c = $col["campaign"]; t = $col["treatment"] }
  c + 0 <= past || t != "control" || ((c "," u) in would)
' - <("$bin/promo-cat" --format csv "$examples") |
  "$bin/promo-import" -q --kind examples --types treatment=string --infer-rows 100000000
