# The exact incremental profit of a plan on the simulated shop: the same
# week replayed without any offer gives each user's profit had nothing
# been sent (promo-synth draws each user-day from its own seed, so only
# the offer differs).  Reads, in this order:
#   1. items:  item,price,margin     2. plan: user,offer,holdout
#   3. offers: id,type,value,cost    4. events with the plan  5. events without
# (events: user,event,item,price,quantity,discount)
# Prints: sends,incremental profit,incremental purchases
BEGIN { FS = "," }
FNR == 1 { file++; next }
file == 1 { margin[$1] = $3; next }
file == 2 { if ($2 != "" && $3 != "true") { sent[$1] = $2; sends++ } next }
file == 3 { cost[$1] = $4; next }
file >= 4 {
  if (!($1 in sent) || $2 != "purchase") next
  s = (file == 4) ? 1 : -1
  profit += s * ($4 * $5 * margin[$3] - $6); buys += s
}
END {
  for (u in sent) profit -= cost[sent[u]]
  printf "%d,%.2f,%d\n", sends, profit, buys
}
