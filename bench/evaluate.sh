# promo-evaluate: AUC and the classification figures, and the ranking
# metrics, on 10 million scored rows each, with the peak memory; against
# scikit-learn's roc_auc_score, and pandas for the ranking figures.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
dir=$1
N=${BENCH_SCORED:-10000000}
USERS=$((N / 10))

# Scored rows: a label and a score with ties (4 decimals), some signal.
csv=$dir/scored-$N.csv
if [ ! -s "$csv" ]; then
  awk -v n="$N" 'BEGIN { srand(5); print "y,p";
    for (i = 0; i < n; i++) { y = rand() < 0.2; printf "%d,%.4f\n", y, 0.3 * y + 0.7 * rand() } }' > "$csv.tmp"
  mv "$csv.tmp" "$csv"
fi
mpz=$dir/scored-$N.mpz
[ -s "$mpz" ] || promo-import -q --kind scores --types y=int,p=float -o "$mpz" "$csv"

# Ranking: USERS users with a list of 10 items from 100,000 (so N scored
# rows), 2 held-out items each.
recs=$dir/recs-$N.jsonl truth=$dir/truth-$N.csv long=$dir/recs-$N.csv
if [ ! -s "$recs" ]; then
  awk -v u="$USERS" -v recs="$recs.tmp" -v truth="$truth.tmp" -v long="$long.tmp" 'BEGIN { srand(9);
    print "user,item" > truth; print "user,rank,item" > long;
    for (i = 0; i < u; i++) {
      printf "{\"user\":%d,\"items\":[", i > recs;
      for (k = 0; k < 10; k++) { it = int(rand() * rand() * 100000);
        printf "%s%d", (k ? "," : ""), it > recs; printf "%d,%d,%d\n", i, k + 1, it > long }
      print "]}" > recs;
      for (k = 0; k < 2; k++) printf "%d,%d\n", i, int(rand() * rand() * 100000) > truth } }'
  mv "$truth.tmp" "$truth"; mv "$long.tmp" "$long"; mv "$recs.tmp" "$recs"
fi
[ -s "$dir/recs-$N.mpz" ] || promo-import -q --kind recommendations -o "$dir/recs-$N.mpz" "$recs"
[ -s "$dir/truth-$N.mpz" ] || promo-import -q --kind interactions --types user=int,item=int -o "$dir/truth-$N.mpz" "$truth"

echo "## promo-evaluate: AUC and ranking metrics ($N scored rows)"
echo
echo "| task | promoloop | peak memory | peer | peer time | peer memory | ratio |"
echo "|---|---:|---:|---|---:|---:|---:|"

cls="promo-evaluate --task classify --label y --score p -o /dev/null $mpz"
ours=$(wall "$cls")
mem=$(peak_kb "$cls")
if have_py_module sklearn && have_py_module pandas; then
  peer_cmd="$PEER_PY -c 'import pandas, sklearn.metrics as m; d = pandas.read_csv(\"$csv\"); print(m.roc_auc_score(d.y, d.p), m.log_loss(d.y, d.p), m.brier_score_loss(d.y, d.p))'"
  peer=$(wall "$peer_cmd")
  pmem=$(peak_kb "$peer_cmd")
  echo "| classify: AUC, log loss, Brier, deciles, ROC (stream in) | ${ours} s | $((mem / 1024)) MiB | pandas \`read_csv\` + sklearn \`roc_auc_score\`, \`log_loss\`, \`brier_score_loss\` (CSV in) | ${peer} s | $((pmem / 1024)) MiB | $(ratio "$ours" "$peer") |"
else
  echo "| classify: AUC, log loss, Brier, deciles, ROC | ${ours} s | $((mem / 1024)) MiB | sklearn: not installed ($PEER_PY; \`apt-get install python3-sklearn python3-pandas\`) | | | |"
fi

rk="promo-evaluate --task rank --truth $dir/truth-$N.mpz --k 5,10 -o /dev/null $dir/recs-$N.mpz"
ours=$(wall "$rk")
mem=$(peak_kb "$rk")
if have_py_module pandas; then
  peer_cmd="$PEER_PY -c '
import numpy as np, pandas as pd
r = pd.read_csv(\"$long\"); t = pd.read_csv(\"$truth\").drop_duplicates()
h = r.merge(t.assign(hit=1), on=[\"user\", \"item\"], how=\"left\").fillna({\"hit\": 0})
h = h[h[\"rank\"] <= 10]; h[\"g\"] = h.hit / np.log2(h[\"rank\"] + 1)
nt = t.groupby(\"user\").size(); per = h.groupby(\"user\").agg(hits=(\"hit\", \"sum\"), dcg=(\"g\", \"sum\"))
idcg = nt.clip(upper=10).map(lambda k: (1 / np.log2(np.arange(2, k + 2))).sum())
print((per.hits > 0).mean(), (per.dcg / idcg).mean(), (per.hits / nt).mean())'"
  peer=$(wall "$peer_cmd")
  pmem=$(peak_kb "$peer_cmd")
  echo "| rank: HR, precision, recall, NDCG, MAP, coverage, ARP at 5 and 10, MRR ($USERS users x 10) | ${ours} s | $((mem / 1024)) MiB | pandas merge + groupby: HR, NDCG, recall at 10 (CSV in) | ${peer} s | $((pmem / 1024)) MiB | $(ratio "$ours" "$peer") |"
else
  echo "| rank: HR, precision, recall, NDCG, MAP, coverage, ARP at 5 and 10, MRR | ${ours} s | $((mem / 1024)) MiB | pandas: not installed | | | |"
fi
echo
echo "What promo-evaluate holds: classify keeps 8 bytes per row (each score, in one"
echo "of two arrays by label: $((N * 8 / 1048576)) MiB for $N rows) and sums; rank keeps the holdout"
echo "(4 bytes per pair and the ids) and nothing per list. The peer times include"
echo "reading CSV, ours reading the compressed stream."
