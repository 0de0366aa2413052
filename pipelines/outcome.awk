# Per-user outcome of one campaign week, for measuring a plan.
# Reads, in this order (CSV without quoting, as promo-cat writes these):
#   1. offers:  id,type,value,cost                (data/offers.csv)
#   2. items:   item,price,margin                 (the world's items)
#   3. plan:    user,offer,holdout                (the plan that ran)
#   4. events:  user,event,item,price,quantity,discount  (the campaign week)
# Writes user,arm,offer,converted,gross,discount,profit for every user the
# plan would send an offer to: arm "treated" (sent) or "control" (held
# out).  profit = sum of price * quantity * item margin - discounts, minus
# the send cost for treated users.
BEGIN { FS = ","; OFS = ","; print "user,arm,offer,converted,gross,discount,profit" }
FNR == 1 { file++; next }
file == 1 { cost[$1] = $4; next }
file == 2 { margin[$1] = $3; next }
file == 3 {
  if ($2 == "") next
  arm[$1] = ($3 == "true") ? "control" : "treated"; offer[$1] = $2; n++; order[n] = $1
  next
}
file == 4 {
  if (!($1 in arm) || $2 != "purchase") next
  buys[$1]++
  g = $4 * $5
  gross[$1] += g; disc[$1] += $6; prof[$1] += g * margin[$3] - $6
  next
}
END {
  for (i = 1; i <= n; i++) {
    u = order[i]
    p = prof[u] - (arm[u] == "treated" ? cost[offer[u]] : 0)
    printf "%s,%s,%s,%d,%.4f,%.4f,%.4f\n", u, arm[u], offer[u], (buys[u] > 0 ? 1 : 0), gross[u] + 0, disc[u] + 0, p
  }
}
