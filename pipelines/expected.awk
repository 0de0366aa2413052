# A plan's expected incremental profit in the simulated shop: the sum of
# promo-synth truth's uplift_profit over the users it sends an offer (held-out
# users get nothing).  Input: two CSV files with their header lines, the
# truth's user,offer,uplift_profit and the plan's user,offer,holdout.
#   awk -F, -f expected.awk truth.csv plan.csv
FNR == 1 { f++; next }
f == 1 { t[$1 "," $2] = $3; next }
$2 != "" && $3 == "false" { s += t[$1 "," $2] }
END { printf "%.4f\n", s }
