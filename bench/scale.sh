# Scale-out: promo-featurize on user shards under GNU parallel with 1 and
# 2 jobs, against one process on the whole log (the same records); then
# the data-parallel trainers of the MPI build (make MPI=1: promo-kmeans,
# promo-train-cf --algo als, promo-train-cnn, promo-dtree) with 1 and 2
# processes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
dir=$1/scale
mkdir -p "$dir"
USERS=${BENCH_SCALE_USERS:-40000}
SHARDS=${BENCH_SCALE_SHARDS:-4}
clean=$dir/clean-$USERS.mpz
if [ ! -s "$clean" ]; then
  promo-synth world -q --users "$USERS" --items 2000 --seed 1 -o "$dir/world.mpz"
  promo-synth events -q --world "$dir/world.mpz" --start 2024-01-01 --days 56 --campaigns 2 --seed 1 \
    | promo-clean -q --sessionize never -o "$clean"
fi
# promo-clean's output is sorted by user and time; a split keeps each
# part's order, so every part is a valid input of promo-featurize.
promo-cat --split "$SHARDS" -o "$dir/parts" "$clean"
events=$(promo-cat --count "$clean")
feat="promo-featurize -q --view users --asof 2024-02-26 --labels no"

echo "## Scale-out: featurize on $SHARDS user shards ($events events, $USERS users)"
echo
if ! command -v parallel > /dev/null; then
  echo "GNU parallel is not installed (\`tools/install-deps test\`): nothing measured."
  exit 0
fi
one=$(wall "$feat $clean > /dev/null")
j1=$(wall "parallel -j1 --halt now,fail=1 '$feat {} > /dev/null' ::: $dir/parts/*.mpz")
j2=$(wall "parallel -j2 --halt now,fail=1 '$feat {} > /dev/null' ::: $dir/parts/*.mpz")
idle=$(wall "parallel -j1 true ::: $dir/parts/*.mpz")
echo "| run | wall | speed-up over \`-j1\` |"
echo "|---|---:|---:|"
echo "| \`parallel -j1\`, $SHARDS shards | ${j1} s | 1.00 |"
echo "| \`parallel -j2\`, $SHARDS shards | ${j2} s | $(ratio "$j1" "$j2") |"
echo "| one process on the whole log, for reference | ${one} s | $(ratio "$j1" "$one") |"
echo "| GNU parallel alone: $SHARDS jobs of \`true\` | ${idle} s | |"
echo
echo "Measured on $(nproc) cores shared with other work (load average $(cut -d' ' -f1 /proc/loadavg) at the end),"
echo "so the times are noisy: compare the rows of one run. The ideal speed-up of"
echo "two jobs is 2. GNU parallel costs the last row (Perl start-up and a shell"
echo "per job), which shards of a few seconds each make small; here each shard"
echo "takes only $(echo "$j1 $SHARDS" | awk '{printf "%.2f", $1 / $2}') s."

# ---- Data-parallel training under MPI (make MPI=1): 1 and 2 ranks ----------
# The same data in 2 files; 1 process on both against mpirun -np 2 (a
# file each), one thread per process, so the 2 ranks use the 2 cores the
# threads of one process would (that row is there for reference).
root=$(cd "$(dirname "$0")/.." && pwd)
mpibin=$root/build/mpi/bin
echo
echo "## Scale-out: data-parallel training under MPI, 1 and 2 processes"
echo
if [ ! -x "$mpibin/promo-train-cnn" ] || [ ! -x "$mpibin/promo-train-cf" ] || ! command -v mpirun > /dev/null; then
  echo "Not measured: the MPI build is missing (\`tools/install-deps mpi && make MPI=1\`)."
  exit 0
fi
mpi2() { echo "mpirun --allow-run-as-root --oversubscribe -np 2 $mpibin/$1"; }

# two_parts DIR KIND SEED N PROG: DIR/p1.mpz and DIR/p2.mpz of kind KIND,
# N/2 rows each from the awk program PROG (its variables n and seed, the
# seeds SEED + 1 and SEED + 2), made once.
two_parts() {
  local out=$1 kind=$2 seed=$3 n=$4 prog=$5 p
  [ -s "$out/p2.mpz" ] && return
  for p in 1 2; do
    awk -v n=$((n / 2)) -v seed=$((seed + p)) "$prog" > "$out/p$p.csv"
    promo-import -q --kind "$kind" -o "$out/p$p.mpz" "$out/p$p.csv"
    rm -f "$out/p$p.csv"
  done
}

# ALS: interactions of users in 20 taste clusters over ITEMS items (awk,
# fixed seed), the lines shuffled so that a user's records are in both files.
CF_USERS=${BENCH_SCALE_CF_USERS:-20000}
cfdir=$dir/cf-$CF_USERS
mkdir -p "$cfdir"
if [ ! -s "$cfdir/p2.mpz" ]; then
  awk -v n="$CF_USERS" 'BEGIN { srand(3); C = 20; I = 4000;
    for (u = 1; u <= n; u++) { c = u % C; k = 10 + int(rand() * 30);
      for (j = 0; j < k; j++) {
        it = rand() < 0.8 ? c + C * int(rand() * (I / C)) : int(rand() * I);
        printf "u%d,%d\n", u, it } } }' | awk 'BEGIN { srand(4) } { print rand() "\t" $0 }' |
    sort -k1,1 | cut -f2- > "$cfdir/all.csv"
  half=$(( $(wc -l < "$cfdir/all.csv") / 2 ))
  { echo user,item; head -n "$half" "$cfdir/all.csv"; } > "$cfdir/p1.csv"
  { echo user,item; tail -n +"$((half + 1))" "$cfdir/all.csv"; } > "$cfdir/p2.csv"
  for p in p1 p2; do
    promo-import -q --format csv --kind interactions -o "$cfdir/$p.mpz" "$cfdir/$p.csv"
  done
  rm -f "$cfdir/all.csv" "$cfdir"/p?.csv
fi
ninter=$(( $(promo-cat --count "$cfdir/p1.mpz") + $(promo-cat --count "$cfdir/p2.mpz") ))
als="promo-train-cf -q --algo als --factors 64 --iters 5"
a1=$(wall "$als --threads 1 -o $cfdir/one.mpz $cfdir/p1.mpz $cfdir/p2.mpz")
a2=$(wall "$(mpi2 promo-train-cf) -q --algo als --factors 64 --iters 5 --threads 1 -o $cfdir/two.mpz $cfdir/p1.mpz $cfdir/p2.mpz")
at=$(wall "$als --threads 2 -o $cfdir/thr.mpz $cfdir/p1.mpz $cfdir/p2.mpz")
same=$(cmp -s "$cfdir/one.mpz" "$cfdir/two.mpz" && echo "the same bytes" || echo "DIFFERENT bytes")

# CNN: the sequences of bench/cnn.sh's generator, in two files.
CNN_N=${BENCH_SCALE_CNN_N:-24000}
cnndir=$dir/cnn-$CNN_N
mkdir -p "$cnndir"
lib=$root/build/rel/libpromo.a
have_cnn=0
if [ -f "$lib" ]; then
  if [ ! -s "$cnndir/valid.mpz" ]; then
    # shellcheck disable=SC2046
    cc -O2 -std=c11 -D_GNU_SOURCE -I"$root/common" $(pkg-config --cflags msgpack) -o "$cnndir/cnn_gen" \
      "$root/bench/cnn_gen.c" "$lib" $(pkg-config --libs zlib libdeflate msgpack openblas) -lm -lpthread
    "$cnndir/cnn_gen" $((CNN_N / 2)) 11 "$cnndir/p1" 2> /dev/null
    "$cnndir/cnn_gen" $((CNN_N / 2)) 12 "$cnndir/p2" 2> /dev/null
    "$cnndir/cnn_gen" 10000 13 "$cnndir/valid" 2> /dev/null
    rm -f "$cnndir"/*.npy
  fi
  have_cnn=1
  # the CPU's own kernels when OpenBLAS does not know it (see bench/cnn.sh)
  read -r _ core < <(promo-train-cnn --threads 1 --bench-gemm 64)
  if [ "$core" = Prescott ] && [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
    elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell
    fi
  fi
  cnn="-q --epochs 2 --patience 2 --valid $cnndir/valid.mpz --threads 1"
  c1=$(wall "promo-train-cnn $cnn --batch 256 -o $cnndir/one.mpz $cnndir/p1.mpz $cnndir/p2.mpz")
  c2=$(wall "$(mpi2 promo-train-cnn) $cnn --batch 128 -o $cnndir/two.mpz $cnndir/p1.mpz $cnndir/p2.mpz")
  ct=$(wall "promo-train-cnn ${cnn/--threads 1/--threads 2} --batch 256 -o $cnndir/thr.mpz $cnndir/p1.mpz $cnndir/p2.mpz")
  auc() { promo-cat --format tsv --no-names --fields training "$1" | sed -E 's/^[^[]*"valid_auc":([0-9.]+).*/\1/' | cut -c1-6; }
  auc1=$(auc "$cnndir/one.mpz") auc2=$(auc "$cnndir/two.mpz")
fi
# k-means: points in 8 blobs over 6 features (awk, fixed seed), in two files.
KM_N=${BENCH_SCALE_KM_N:-400000}
kmdir=$dir/km-$KM_N
mkdir -p "$kmdir"
two_parts "$kmdir" points 20 "$KM_N" 'BEGIN { srand(seed); print "a,b,c,d,e,f";
  for (i = 0; i < n; i++) { c = int(rand() * 8);
    printf "%.4f,%.4f,%.4f,%.4f,%.4f,%.4f\n", c + rand(), (c % 3) + rand(), (c % 2) * 2 + rand(),
      rand() * 3, (c * 7 % 5) + rand(), rand() } }'
km="-q --fields a,b,c,d,e,f -k 8 --threads 1"
k1=$(wall "promo-kmeans $km -o $kmdir/one.mpz $kmdir/p1.mpz $kmdir/p2.mpz")
k2=$(wall "$(mpi2 promo-kmeans) $km -o $kmdir/two.mpz $kmdir/p1.mpz $kmdir/p2.mpz")
kt=$(wall "promo-kmeans ${km/--threads 1/--threads 2} -o $kmdir/thr.mpz $kmdir/p1.mpz $kmdir/p2.mpz")
ksame=$(promo-cat --format jsonl --fields sizes,iterations "$kmdir/one.mpz")
[ "$ksame" = "$(promo-cat --format jsonl --fields sizes,iterations "$kmdir/two.mpz")" ] &&
  ksame="the same cluster sizes and iterations" || ksame="DIFFERENT cluster sizes or iterations"

# promo-dtree: rows of 6 numbers and a 40-level field with a 0/1 label
# (awk, fixed seed), in two files; a tree of depth 10 and a forest of 8.
DT_N=${BENCH_SCALE_DT_N:-2000000}
dtdir=$dir/dt-$DT_N
mkdir -p "$dtdir"
two_parts "$dtdir" examples 30 "$DT_N" 'BEGIN { srand(seed); print "a,b,c,d,e,f,g,y";
  for (i = 0; i < n; i++) { a = rand(); b = rand() * 10; c = rand(); g = int(rand() * 40);
    s = 2 * a + (b > 6) - 1.5 * c + (g % 5 == 0) - 0.8 + rand() - rand();
    printf "%.4f,%.3f,%.4f,%.4f,%d,%.4f,L%d,%d\n", a, b, c, rand(), int(rand() * 9), rand(), g, (s > 0) } }'
dt="-q --label y --threads 1"
d1=$(wall "promo-dtree $dt --max-depth 10 -o $dtdir/one.mpz $dtdir/p1.mpz $dtdir/p2.mpz")
d2=$(wall "$(mpi2 promo-dtree) $dt --max-depth 10 -o $dtdir/two.mpz $dtdir/p1.mpz $dtdir/p2.mpz")
f1=$(wall "promo-dtree $dt --trees 8 -o $dtdir/fone.mpz $dtdir/p1.mpz $dtdir/p2.mpz")
f2=$(wall "$(mpi2 promo-dtree) $dt --trees 8 -o $dtdir/ftwo.mpz $dtdir/p1.mpz $dtdir/p2.mpz")
ft=$(wall "promo-dtree ${dt/--threads 1/--threads 2} --trees 8 -o $dtdir/fthr.mpz $dtdir/p1.mpz $dtdir/p2.mpz")
dsame=$(cmp -s "$dtdir/one.mpz" "$dtdir/two.mpz" && cmp -s "$dtdir/fone.mpz" "$dtdir/ftwo.mpz" &&
  echo "the same bytes" || echo "DIFFERENT bytes")

mpistart=$(wall "mpirun --allow-run-as-root --oversubscribe -np 2 true")

echo "| trainer | data | 1 process, 1 thread | \`mpirun -np 2\`, 1 thread each | speed-up | 1 process, 2 threads |"
echo "|---|---|---:|---:|---:|---:|"
echo "| promo-train-cf --algo als (64 factors, 5 iterations) | $ninter interactions, $CF_USERS users | ${a1} s | ${a2} s | $(ratio "$a1" "$a2") | ${at} s |"
if [ "$have_cnn" = 1 ]; then
  echo "| promo-train-cnn (defaults, 2 epochs) | $CNN_N sequences of 50 | ${c1} s | ${c2} s | $(ratio "$c1" "$c2") | ${ct} s |"
fi
echo "| promo-kmeans -k 8 (in memory, 3 restarts) | $KM_N points of 6 features | ${k1} s | ${k2} s | $(ratio "$k1" "$k2") | ${kt} s |"
echo "| promo-dtree, one tree of depth 10 | $DT_N rows of 7 features | ${d1} s | ${d2} s | $(ratio "$d1" "$d2") | |"
echo "| promo-dtree --trees 8 | $DT_N rows of 7 features | ${f1} s | ${f2} s | $(ratio "$f1" "$f2") | ${ft} s |"
echo "| \`mpirun -np 2 true\`: starting a job | | | ${mpistart} s | | |"
echo
echo "ALS under 2 ranks wrote $same as 1 process (each rank solves its block of users,"
echo "then of items, and the blocks are exchanged; docs/scale.md)."
echo "k-means under 2 ranks found $ksame as 1 process (sums and counts"
echo "summed over the ranks each iteration)."
echo "promo-dtree under 2 ranks wrote $dsame as 1 process, for the tree and the forest"
echo "(each node's histograms summed over the ranks; a forest's trees grown one at a"
echo "time under MPI, where one process grows them on its threads: last column)."
if [ "$have_cnn" = 1 ]; then
  echo "The CNN's 1-process run takes minibatches of 256, the 2 ranks 128 each (an effective"
  echo "batch of 256 whose gradients are averaged every step): validation AUC $auc1 and $auc2."
fi
echo "Measured on $(nproc) cores shared with other work (load average $(cut -d' ' -f1 /proc/loadavg)"
echo "at the end): compare the rows of one run. The ideal speed-up of 2 ranks is 2; the"
echo "job start (last row) and, for ALS, reading and merging the interactions on every"
echo "rank are not divided."
