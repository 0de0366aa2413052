# Streams: promo-cat rewriting a stream against gzip, and promo-import of
# CSV against pandas read_csv, on 1,000,000 event records.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
dir=$1
N=${BENCH_EVENTS:-1000000}
csv=$dir/events-$N.csv
if [ ! -s "$csv" ]; then
  awk -v n="$N" 'BEGIN {
    srand(42); split("view view view view view view cart cart purchase", ev, " ");
    print "user,item,category,event,ts,session,price,quantity";
    t = 1700000000;
    for (i = 0; i < n; i++) {
      u = int(rand() * 50000) + 1; it = int(rand() * rand() * 20000) + 1; e = ev[int(rand() * 9) + 1];
      t += int(rand() * 3);
      printf "%d,%d,%d,%s,%d,%d,%.2f,%d\n", u, it, it % 97, e, t, u * 7 + int(t / 1800), 1 + (it * 37 % 9900) / 100, (e == "view") ? 0 : 1 + int(rand() * 3)
    } }' > "$csv.tmp"
  mv "$csv.tmp" "$csv"
fi
mpz=$dir/events-$N.mpz
raw=$dir/events-$N.raw.mpz
promo-import -q --kind events -o "$mpz" "$csv"
promo-import -q --kind events --level 0 -o "$raw" "$csv"

echo "## Streams: promo-cat and promo-import ($N event records)"
echo
echo "| task | promoloop | peer | peer time | ratio |"
echo "|---|---:|---|---:|---:|"

ours=$(wall "promo-cat --format mpz $mpz > /dev/null")
peer=$(wall "gzip -dc $mpz | gzip -1 > /dev/null")
echo "| rewrite a gzip stream (\`promo-cat --format mpz\`) | ${ours} s | \`gzip -dc \| gzip -1\` | ${peer} s | $(ratio "$ours" "$peer") |"

ours0=$(wall "promo-cat --format mpz --level 0 $raw > /dev/null")
rate=$(echo "$N $ours0" | awk '{printf "%.2f", $1 / $2 / 1e6}')
peer0=$(wall "cat $raw > /dev/null")
echo "| rewrite a plain stream (\`--level 0\` both ends) | ${ours0} s (${rate} M records/s) | \`cat\` | ${peer0} s | $(ratio "$ours0" "$peer0") |"

ourscsv=$(wall "promo-cat $mpz > /dev/null")
echo "| stream to CSV (\`promo-cat\`) | ${ourscsv} s | | | |"

ours_imp=$(wall "promo-import -q --kind events $csv > /dev/null")
if have_py_module pandas; then
  peer_imp=$(wall "$PEER_PY -c 'import pandas; pandas.read_csv(\"$csv\")'")
  echo "| CSV to records (\`promo-import\`, gzip level 1) | ${ours_imp} s | pandas \`read_csv\` | ${peer_imp} s | $(ratio "$ours_imp" "$peer_imp") |"
  ours_imp0=$(wall "promo-import -q --kind events --level 0 $csv > /dev/null")
  echo "| CSV to records (\`promo-import --level 0\`) | ${ours_imp0} s | pandas \`read_csv\` | ${peer_imp} s | $(ratio "$ours_imp0" "$peer_imp") |"
else
  echo "| CSV to records (\`promo-import\`) | ${ours_imp} s | pandas: not installed ($PEER_PY has no pandas; \`apt-get install python3-pandas\`) | | |"
fi
echo
echo "Targets (foundation issue): rewrite ratio at most 1.5; plain rewrite at least"
echo "1.5 M records/s; import ratio against pandas at most 0.5."
