# Recommenders: implicit ALS on 5,000,000 interactions (100,000 users x
# 20,000 items, low rank with noise, fixed seed; bench/cf_numpy.py makes the
# data and holds the peer), against a straightforward numpy implementation
# of the same conjugate-gradient ALS, with full-ranking HR@10 on a
# leave-one-out holdout for both and for popularity; and promo-score's
# throughput for top-10 lists over the whole catalogue.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
USERS=${BENCH_CF_USERS:-100000}
ITEMS=${BENCH_CF_ITEMS:-20000}
N=${BENCH_CF_INTERACTIONS:-5000000}
SEED=42
F=64
ITERS=${BENCH_CF_ITERS:-5}
REG=30
ALPHA=3
CG=3
dir=$1/cf-$USERS-$ITEMS-$N
mkdir -p "$dir"

echo "## Recommenders: ALS on $N implicit interactions ($USERS users x $ITEMS items)"
echo
if ! have_py_module numpy; then
  echo "Not run: the data and the peer need numpy ($PEER_PY has no numpy; \`apt-get install python3-numpy\`)."
  exit 0
fi

# The data: train.tsv (user, item) and test.tsv (one held-out item per user).
if [ ! -s "$dir/test.tsv" ]; then
  "$PEER_PY" "$here/cf_numpy.py" gen "$dir" "$USERS" "$ITEMS" "$N" "$SEED"
fi
imp="promo-import -q --kind interactions --format tsv --no-header --columns user,item"
[ -s "$dir/train.mpz" ] || $imp -o "$dir/train.mpz" "$dir/train.tsv"
[ -s "$dir/test.mpz" ] || $imp -o "$dir/test.mpz" "$dir/test.tsv"
[ -s "$dir/users.mpz" ] || cut -f1 "$dir/test.tsv" \
  | promo-import -q --kind users --format tsv --no-header --columns user -o "$dir/users.mpz"
ntrain=$(promo-cat --count "$dir/train.mpz")
ntest=$(promo-cat --count "$dir/test.mpz")

hr10() {   # recommendations stream -> HR@10 against the holdout
  promo-evaluate -q --task rank --truth "$dir/test.mpz" --k 10 -o "$dir/m.mpz" "$1"
  promo-cat --format tsv --no-names --fields metric,value "$dir/m.mpz" | awk -F'\t' '$1 == "hr@10" { printf "%.4f", $2 }'
}

# promoloop: the training time (the summary line's "trained in") over the
# iterations, the peak memory of the whole run, then full-ranking HR@10.
opts="--algo als --factors $F --iters $ITERS --reg $REG --alpha $ALPHA --cg-steps $CG --seed $SEED"
# shellcheck disable=SC2086
/usr/bin/time -f 'peak_kb %M' promo-train-cf $opts -o "$dir/als.mpz" "$dir/train.mpz" 2> "$dir/train.log"
trained=$(sed -n 's/.*trained in \([0-9.]*\) s.*/\1/p' "$dir/train.log")
read_s=$(sed -n 's/.*read in \([0-9.]*\) s.*/\1/p' "$dir/train.log")
peak=$(awk '/^peak_kb/ { printf "%.0f", $2 / 1024 }' "$dir/train.log")
ours_iter=$(echo "$trained $ITERS" | awk '{ printf "%.3f", $1 / $2 }')
t0=$(date +%s.%N)
promo-score -m "$dir/als.mpz" --recommend 10 -o "$dir/als.recs.mpz" "$dir/users.mpz"
t1=$(date +%s.%N)
score_s=$(echo "$t1 - $t0" | bc -l)
nusers=$(promo-cat --count "$dir/users.mpz")
rate=$(echo "$nusers $score_s" | awk '{ printf "%.0f", $1 / $2 }')
ours_hr=$(hr10 "$dir/als.recs.mpz")
promo-train-cf -q --algo pop -o "$dir/pop.mpz" "$dir/train.mpz"
promo-score -m "$dir/pop.mpz" --recommend 10 -o "$dir/pop.recs.mpz" "$dir/users.mpz"
pop_hr=$(hr10 "$dir/pop.recs.mpz")

# The peer: the same ALS in numpy, same data, factors, iterations, reg,
# alpha and CG steps.
"$PEER_PY" "$here/cf_numpy.py" als "$dir" "$F" "$ITERS" "$REG" "$ALPHA" "$CG" > "$dir/numpy.out"
peer_iter=$(awk '$1 == "seconds_per_iter" { print $2 }' "$dir/numpy.out")
peer_hr=$(awk '$1 == "hr10" { print $2 }' "$dir/numpy.out")
peer_pop=$("$PEER_PY" "$here/cf_numpy.py" pop "$dir" | awk '$1 == "hr10" { print $2 }')

echo "$ntrain training interactions, $ntest held out (one per user); $F factors, $ITERS"
echo "iterations, reg $REG, alpha $ALPHA, $CG conjugate-gradient steps, on $(nproc) cores. One run each."
echo
echo "| | promoloop | numpy CG-ALS (\`bench/cf_numpy.py\`) | ratio |"
echo "|---|---:|---:|---:|"
echo "| seconds per ALS iteration | $ours_iter | $peer_iter | $(ratio "$ours_iter" "$peer_iter") |"
echo "| HR@10, full ranking, leave-one-out | $ours_hr | $peer_hr | |"
echo "| HR@10 of popularity (same protocol) | $pop_hr | $peer_pop | |"
echo "| top-10 lists over all $ITEMS items (\`promo-score --recommend 10\`) | $rate users/s | | |"
echo "| reading the interactions; peak memory of training | ${read_s} s; ${peak} MiB | | |"
echo
echo "Targets (issue 8): at least 5 times faster per iteration (ratio at most 0.2),"
echo "with HR@10 at least numpy's, both far above popularity."
