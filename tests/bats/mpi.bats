#!/usr/bin/env bats
# Data-parallel training under MPI (docs/scale.md): k-means, ALS, the CNN and trees
# of the make MPI=1 build (build/mpi/bin) run by mpirun with 2 (or 3) ranks
# on shards, against the ordinary 1-process build on the concatenated
# input; usage, errors and cleanup under mpirun.  Small data made here;
# every run takes well under a second of CPU.

load helpers

MPI_BIN=${PROMO_MPI_BIN:-$TESTS_DIR/../build/mpi/bin}

setup() {
  [ -x "$MPI_BIN/promo-train-cnn" ] && [ -x "$MPI_BIN/promo-train-cf" ] &&
    [ -x "$MPI_BIN/promo-kmeans" ] ||
    skip "the MPI build is not in $MPI_BIN (make MPI=1)"
  command -v mpirun > /dev/null || skip "mpirun is not installed (tools/install-deps mpi)"
}

# mpi NP PROGRAM ARGS...: PROGRAM of the MPI build on NP local ranks.
mpi() {
  mpirun --allow-run-as-root --oversubscribe -np "$1" "$MPI_BIN/$2" "${@:3}"
}

# seq_jsonl N SEED: sequences whose label is the bigram 3 4 (tests/cnn/seq-jsonl.sh).
seq_jsonl() { "$TESTS_DIR/cnn/seq-jsonl.sh" "$1" "$2"; }

# The CNN's shards: the first has random labels (nothing to learn), the
# second the planted bigram; so a model that learns it must have used the
# second rank's gradients.  valid.mpz is clean.
cnn_data() {
  seq_jsonl 1500 1 | awk 'BEGIN { srand(7) } { sub(/"label":[01]/, "\"label\":" (rand() < 0.5)); print }' > a.jsonl
  seq_jsonl 1500 2 > b.jsonl
  seq_jsonl 600 3 > v.jsonl
  for f in a b v; do promo-import -q --format jsonl --kind sequences -o $f.mpz $f.jsonl; done
}

cnn=(--tokens ev:4 --widths 2,3 --filters 8 --hidden 8 --lr 0.01 --epochs 4 --valid v.mpz -q)

# auc_logloss MODEL: "AUC LOGLOSS" of the model on v.mpz, by promo-evaluate.
auc_logloss() {
  promo-score -q -m "$1" v.mpz | promo-evaluate --task classify --label label --score p_buy |
    awk '$1 == "auc" { a = $2 } $1 == "logloss" { l = $2 } END { print a, l }'
}

# Tolerances: AUC within 0.01; log loss within 0.15, the spread of the
# 1-process run itself over seeds 1 to 5 (0.31 to 0.48: half the training
# labels are noise, which the calibration follows).
@test "cnn: 2 ranks on 2 shards (batch 32 each) match 1 process on both (batch 64) within 0.01 AUC and 0.15 log loss" {
  cnn_data
  promo-train-cnn "${cnn[@]}" --batch 64 -o one.mpz a.mpz b.mpz
  run -0 --separate-stderr mpi 2 promo-train-cnn "${cnn[@]}" --batch 32 -o two.mpz a.mpz b.mpz
  assert_output ""
  promo-train-cnn "${cnn[@]}" --batch 32 -o half.mpz a.mpz
  read -r a1 l1 <<< "$(auc_logloss one.mpz)"
  read -r a2 l2 <<< "$(auc_logloss two.mpz)"
  read -r ah lh <<< "$(auc_logloss half.mpz)"
  # the first shard alone learns nothing; both shards learn the bigram
  awk -v a="$ah" 'BEGIN { exit !(a < 0.6) }' || fail "the noise shard alone has AUC $ah"
  awk -v a="$a1" 'BEGIN { exit !(a > 0.95) }' || fail "1 process: AUC $a1"
  awk -v a1="$a1" -v a2="$a2" -v l1="$l1" -v l2="$l2" \
    'BEGIN { d = a1 - a2; e = l1 - l2; exit !(d * d <= 0.01 ^ 2 && e * e <= 0.15 ^ 2) }' ||
    fail "2 ranks: AUC $a2, log loss $l2; 1 process: AUC $a1, log loss $l1"
  # the model's training summary counts every rank's rows
  run -0 bash -c 'promo-cat --format jsonl --fields training two.mpz | grep -o "\"train_rows\":[0-9]*,\"valid_rows\":[0-9]*"'
  assert_output '"train_rows":3000,"valid_rows":600'
}

@test "cnn: the same seed gives the same model bytes under 2 ranks; 1 rank is the plain build" {
  cnn_data
  mpi 2 promo-train-cnn "${cnn[@]}" --epochs 2 --batch 32 -o x.mpz a.mpz b.mpz
  mpi 2 promo-train-cnn "${cnn[@]}" --epochs 2 --batch 32 -o y.mpz a.mpz b.mpz
  cmp x.mpz y.mpz
  mpi 1 promo-train-cnn "${cnn[@]}" --epochs 2 --batch 32 -o m1.mpz a.mpz b.mpz
  promo-train-cnn "${cnn[@]}" --epochs 2 --batch 32 -o p1.mpz a.mpz b.mpz
  cmp m1.mpz p1.mpz
}

# Interactions of 400 users in 5 taste clusters over 100 items, one item per
# user held out; the lines shuffled, so a user's records are in both shards.
cf_data() {
  awk 'BEGIN { srand(1); C = 5; I = 100;
    for (u = 1; u <= 400; u++) {
      c = u % C; k = 8 + int(rand() * 10); delete seen;
      for (j = 0; j <= k; j++) {
        do { it = rand() < 0.8 ? c + C * int(rand() * (I / C)) : int(rand() * I) } while (it in seen);
        seen[it] = 1;
        if (j == k) printf "{\"user\":\"u%d\",\"item\":%d}\n", u, it > "holdout.jsonl";
        else printf "{\"user\":\"u%d\",\"item\":%d,\"weight\":%d}\n", u, it, 1 + int(rand() * 3);
      } } }' | awk 'BEGIN { srand(2) } { print rand() "\t" $0 }' | sort -k1,1 | cut -f2- > all.jsonl
  head -n 2000 all.jsonl > p1.jsonl
  tail -n +2001 all.jsonl > p2.jsonl
  sed -E 's/^\{"user":"([^"]*)".*/{"user":"\1"}/' holdout.jsonl > users.jsonl
  for f in p1 p2 holdout; do promo-import -q --format jsonl --kind interactions -o $f.mpz $f.jsonl; done
  promo-import -q --format jsonl --kind users -o users.mpz users.jsonl
  cat p1.mpz p2.mpz > both.mpz
}

als=(--algo als --factors 16 --iters 8 --threads 2 -q)

# hr_ndcg MODEL: "HR@10 NDCG@10" on the holdout, by promo-evaluate.
hr_ndcg() {
  promo-score -q -m "$1" --recommend 10 users.mpz | promo-evaluate --task rank --truth holdout.mpz --k 10 |
    awk '$1 == "hr@10" { h = $2 } $1 == "ndcg@10" { n = $2 } END { print h, n }'
}

@test "als: 2 ranks on 2 shards make the model of 1 process on both: the same bytes, HR@10 and NDCG@10" {
  cf_data
  promo-train-cf "${als[@]}" -o one.mpz both.mpz
  run -0 --separate-stderr mpi 2 promo-train-cf "${als[@]}" -o two.mpz p1.mpz p2.mpz
  assert_output ""
  # the factors are exchanged, not approximated: tolerance zero
  cmp one.mpz two.mpz
  read -r h1 n1 <<< "$(hr_ndcg one.mpz)"
  read -r h2 n2 <<< "$(hr_ndcg two.mpz)"
  assert_equal "$h2 $n2" "$h1 $n1"
  # and it learnt the clusters: far above popularity
  promo-train-cf --algo pop -q -o pop.mpz both.mpz
  read -r hp np <<< "$(hr_ndcg pop.mpz)"
  awk -v a="$h1" -v p="$hp" 'BEGIN { exit !(a > 0.5 && a > 2 * p) }' || fail "als HR@10 $h1, pop $hp"
}

@test "als: 3 ranks and the Cholesky solve give the 1-process model too" {
  cf_data
  promo-train-cf "${als[@]}" --cholesky -o one.mpz p1.mpz p2.mpz holdout.mpz
  mpi 3 promo-train-cf "${als[@]}" --cholesky -o three.mpz p1.mpz p2.mpz holdout.mpz
  cmp one.mpz three.mpz
}

# Points in 4 blobs over x, y, z (seeded awk), and the same rows cut in
# 2 (and 3) files; one file holds an invalid record.
km_data() {
  awk 'BEGIN { srand(5); print "user,x,y,z";
    for (i = 1; i <= 3000; i++) { c = i % 4;
      printf "u%d,%.4f,%.4f,%.4f\n", i, c * 3 + rand() * 2, (c % 2) * 4 + rand() * 2, rand() * 10 + c }
    print "bad,1,,2" }' > pts.csv
  { head -n 1 pts.csv; sed -n 2,1400p pts.csv; } > p1.csv
  { head -n 1 pts.csv; sed -n '1401,2300p' pts.csv; } > p2.csv
  { head -n 1 pts.csv; sed -n '2301,$p' pts.csv; } > p3.csv
  for f in pts p1 p2 p3; do promo-import -q --kind users --types x=float,y=float,z=float -o $f.mpz $f.csv; done
  cat p2.mpz p3.mpz > p23.mpz
}

# same_model A B: the k-means models agree: sizes, n, skipped and
# iterations exactly; scaling, centroids and inertia within 1e-9
# relative (the sums are added per rank, then across ranks).
same_model() {
  run -0 promo-cat --format jsonl --fields k,sizes,n,skipped,iterations "$2"
  assert_output "$(promo-cat --format jsonl --fields k,sizes,n,skipped,iterations "$1")"
  for f in scaling centroids centroids_original inertia; do
    paste <(promo-cat --format jsonl --fields "$f" "$1" | tr -c '0-9eE.+-' '\n' | grep .) \
          <(promo-cat --format jsonl --fields "$f" "$2" | tr -c '0-9eE.+-' '\n' | grep .) > "$f.pairs"
    [ -s "$f.pairs" ] || fail "no $f in the models"
    run -0 awk '{ d = $1 - $2; s = ($1 < 0 ? -$1 : $1); if (s < 1) s = 1; if (d < 0) d = -d;
                  if (d > 1e-9 * s) { print "differ: " $0; exit 1 } } END { print NR }' "$f.pairs"
  done
}

@test "kmeans: 2 ranks on 2 shards give the 1-process model of the concatenation within 1e-9" {
  km_data
  for k in 3 5; do
    promo-kmeans -q --fields x,y,z -k $k --skip-invalid --threads 2 -o one.mpz pts.mpz
    run -0 --separate-stderr mpi 2 promo-kmeans -q --fields x,y,z -k $k --skip-invalid --threads 1 -o two.mpz p1.mpz p23.mpz
    assert_output ""
    same_model one.mpz two.mpz
  done
  run -0 promo-cat --format jsonl --fields n,skipped two.mpz
  assert_output '{"n":3000,"skipped":1}'
}

@test "kmeans: 3 ranks, --scale none and one restart agree too; the segments score alike" {
  km_data
  promo-kmeans -q --fields x,y,z -k 4 --skip-invalid --scale none --n-init 1 --seed 7 -o one.mpz pts.mpz
  mpi 3 promo-kmeans -q --fields x,y,z -k 4 --skip-invalid --scale none --n-init 1 --seed 7 -o three.mpz p1.mpz p2.mpz p3.mpz
  same_model one.mpz three.mpz
  promo-score -q -m one.mpz -o s1.mpz p1.mpz
  promo-score -q -m three.mpz -o s3.mpz p1.mpz
  cmp <(promo-cat --fields user,segment s1.mpz) <(promo-cat --fields user,segment s3.mpz)
}

@test "kmeans under mpirun: what does not train across ranks is a usage error" {
  km_data
  run -2 --separate-stderr mpi 2 promo-kmeans --fields x,y,z -k 2..4 -o m.mpz p1.mpz p23.mpz
  [[ "$stderr" == *"promo-kmeans: rank "[01]": a range of k (its silhouette sample) does not train across ranks: give one k without it, or run without mpirun"* ]] ||
    fail "stderr: $stderr"
  run -2 --separate-stderr mpi 2 promo-kmeans --fields x,y,z -k 3 --minibatch 100 -o m.mpz p1.mpz p23.mpz
  [[ "$stderr" == *"promo-kmeans: rank "[01]": --minibatch does not train across ranks"* ]] || fail "stderr: $stderr"
  run -2 --separate-stderr mpi 2 promo-kmeans --fields x,y,z -k 3 --scale robust -o m.mpz p1.mpz p23.mpz
  [[ "$stderr" == *"--scale robust (its quantiles) does not train across ranks"* ]] || fail "stderr: $stderr"
  [ ! -e m.mpz ]
}

@test "usage under mpirun: fewer files than ranks, and algorithms that do not train across ranks" {
  cf_data
  run -2 --separate-stderr mpi 2 promo-train-cf "${als[@]}" -o m.mpz p1.mpz
  assert_output ""
  [[ "$stderr" == *"promo-train-cf: rank "[01]": 2 ranks need at least 2 input files (one block of files per rank), got 1"* ]] ||
    fail "stderr: $stderr"
  run -2 --separate-stderr mpi 2 promo-train-cf --algo bpr -o m.mpz p1.mpz p2.mpz
  [[ "$stderr" == *"promo-train-cf: rank "[01]": --algo bpr does not train across ranks (only --algo als does): run it without mpirun"* ]] ||
    fail "stderr: $stderr"
  [ ! -e m.mpz ]
}

@test "a rank that fails ends the job: its rank in the message, exit 1, no model and no temporary file" {
  cnn_data
  printf '{"user":1,"ev":[2,3],"len":2,"label":0}\n{"user":2,"ev":[2,3,4],"len":3,"label":1}\n' > bad.jsonl
  promo-import -q --format jsonl --kind sequences -o bad.mpz bad.jsonl
  echo old > model.mpz
  # rank 1 reads bad.mpz (its second record is longer than its first)
  run -1 --separate-stderr mpi 2 promo-train-cnn "${cnn[@]}" --batch 32 -o model.mpz a.mpz bad.mpz
  [[ "$stderr" == *'promo-train-cnn: rank 1: bad.mpz: record 2: field "ev": '* ]] || fail "stderr: $stderr"
  [[ "$stderr" != *"rank 0: "*"record"* ]] || fail "rank 0 failed too: $stderr"
  assert_equal "$(cat model.mpz)" old
  run -0 bash -c 'ls -a | grep -c "\.tmp\." || true'
  assert_output 0
  # the other way round: rank 0 fails while rank 1 waits for it
  rm model.mpz
  run -1 --separate-stderr mpi 2 promo-train-cnn "${cnn[@]}" --batch 32 -o model.mpz bad.mpz b.mpz
  [[ "$stderr" == *'promo-train-cnn: rank 0: bad.mpz: record 2: field "ev": '* ]] || fail "stderr: $stderr"
  run -0 bash -c 'ls -a | grep -c "model\.mpz" || true'
  assert_output 0
}

@test "rank 0's temporary model is removed when another rank aborts the job" {
  # rank 0 waits on a FIFO with its temporary output open; rank 1's input
  # comes once that file is seen, and is bad
  cnn_data
  printf '{"user":1,"ev":[2,3],"len":2,"label":0}\n' > bad.jsonl
  promo-import -q --format jsonl --kind sequences -o bad.mpz bad.jsonl
  mkfifo f0 f1
  mpi 2 promo-train-cnn "${cnn[@]}" -o model.mpz f0 f1 2> err.txt &
  job=$!
  for _ in $(seq 100); do compgen -G 'model.mpz.tmp.*' > /dev/null && break; sleep 0.1; done
  compgen -G 'model.mpz.tmp.*' > /dev/null || { kill "$job"; fail "no temporary file on rank 0"; }
  cat bad.mpz > f1
  status=0
  wait "$job" || status=$?
  assert_equal "$status" 1
  # (mpirun's own banner may come before or after the rank's line)
  run -0 grep '^promo-train-cnn: ' err.txt
  assert_output 'promo-train-cnn: rank 1: f1: 1 records; training needs at least 2'
  run -0 bash -c 'ls -a | grep -c "model\.mpz" || true'
  assert_output 0
}

@test "under mpirun the model goes to -o FILE: stdout is mpirun's terminal" {
  cf_data
  run -2 --separate-stderr mpi 2 promo-train-cf "${als[@]}" p1.mpz p2.mpz
  assert_output ""
  [[ "$stderr" == *"promo-train-cf: rank "[01]": under mpirun the model is written with -o FILE, not to stdout"* ]] ||
    fail "stderr: $stderr"
  run -2 --separate-stderr mpi 2 promo-train-cnn "${cnn[@]}" -o - p1.mpz p2.mpz
  [[ "$stderr" == *"promo-train-cnn: rank "[01]": under mpirun the model is written with -o FILE, not to stdout"* ]] ||
    fail "stderr: $stderr"
}

# ---- promo-dtree ---------------------------------------------------------------

# The dtree tests' mixed table (tests/dtree/mkdata.py: numbers with missing
# values, a categorical field with a rare level, targets for every task),
# and the same rows cut in 2 and 3 files; e.mpz has a header and no record.
dt_data() {
  [ -x "$MPI_BIN/promo-dtree" ] || skip "no promo-dtree in $MPI_BIN (make MPI=1)"
  python3 "$TESTS_DIR/dtree/mkdata.py" 2000 7 > mix.csv
  { head -n 1 mix.csv; sed -n 2,801p mix.csv; } > d1.csv
  { head -n 1 mix.csv; sed -n 802,1500p mix.csv; } > d2.csv
  { head -n 1 mix.csv; sed -n '1501,$p' mix.csv; } > d3.csv
  head -n 1 mix.csv > e.csv
  for f in mix d1 d2 d3 e; do promo-import -q --kind examples -o $f.mpz $f.csv; done
  cat d2.mpz d3.mpz > d23.mpz
}

# Node statistics that are sums of integers (counts, bootstrap
# multiplicities, 0/1 or integer labels) are exact in any order, so the
# ranks' histograms summed in rank order are one process's bit for bit.
@test "dtree: 2 ranks on 2 shards grow the 1-process trees and forests of the concatenation, byte for byte" {
  dt_data
  while read -r cfg; do
    promo-dtree -q $cfg -o one.mpz mix.mpz
    run -0 --separate-stderr mpi 2 promo-dtree $cfg -o two.mpz d1.mpz d23.mpz < /dev/null
    assert_output ""
    [[ "$stderr" == "promo-dtree: rank 0: "*" on 2000 rows x "* ]] || fail "$cfg: stderr: $stderr"
    cmp one.mpz two.mpz || fail "$cfg: the models differ"
  done <<'CONFIGS'
--label label --fields x1,x2,n,c,rate
--label y --bins 4 --max-depth 5
--label n --task regression --fields x1,x2,c,rate
--treatment arm --outcome bought --fields x1,x2,n,c
--treatment arm --outcome bought --fields x1,x2,n,c --stratum label
--label y --trees 5 --sample-frac 0.7
--label label --valid d2.mpz --max-depth 6
CONFIGS
  # the pooled levels (--bins 4 keeps 3 of 5) and the forest's rules
  promo-dtree -q --label y --trees 5 --sample-frac 0.7 --threads 2 -o one.mpz mix.mpz
  mpi 2 promo-dtree -q --label y --trees 5 --sample-frac 0.7 -o two.mpz d1.mpz d23.mpz < /dev/null
  cmp <(promo-dtree -m one.mpz --rules) <(promo-dtree -m two.mpz --rules)
  promo-score -q -m two.mpz -o s2.mpz mix.mpz
  promo-score -q -m one.mpz -o s1.mpz mix.mpz
  cmp <(promo-cat --fields p,pred s1.mpz) <(promo-cat --fields p,pred s2.mpz)
}

@test "dtree: 3 ranks, and a rank whose shard has no records, give the 1-process model too" {
  dt_data
  for cfg in "--treatment arm --outcome bought --trees 3" "--label label --bins 16 --max-features 3"; do
    promo-dtree -q $cfg -o one.mpz mix.mpz
    mpi 3 promo-dtree -q $cfg -o three.mpz d1.mpz d2.mpz d3.mpz < /dev/null
    cmp one.mpz three.mpz || fail "$cfg: 3 ranks"
    mpi 2 promo-dtree -q $cfg -o two.mpz e.mpz mix.mpz < /dev/null
    cmp one.mpz two.mpz || fail "$cfg: an empty shard on rank 0"
  done
  run -1 --separate-stderr mpi 2 promo-dtree -q --label y -o m.mpz e.mpz e.mpz < /dev/null
  [[ "$stderr" == *"promo-dtree: rank "[01]": e.mpz: no records to learn from (on any rank)"* ]] ||
    fail "stderr: $stderr"
  [ ! -e m.mpz ]
}

@test "dtree: past 200,000 rows the bins come from a sample of global row numbers: the same model" {
  dt_data
  for p in 1 2; do
    awk -v seed=$p 'BEGIN { srand(seed); print "a,b,y";
      for (i = 0; i < 105000; i++) { a = rand(); b = rand() * 100;
        printf "%.6f,%.4f,%d\n", a, b, (a + b / 100 + rand() > 1.2) } }' > big$p.csv
    promo-import -q --kind examples -o big$p.mpz big$p.csv
  done
  promo-dtree -q --label y --max-depth 4 -o one.mpz big1.mpz big2.mpz
  mpi 2 promo-dtree -q --label y --max-depth 4 -o two.mpz big1.mpz big2.mpz < /dev/null
  cmp one.mpz two.mpz
}

# Fractional labels and outcomes: the ranks' sums are added in another
# order than one process's, so node values may differ in their last bits
# (6e-16 relative seen), and where two splits cut a node's rows alike (the
# same gain in exact arithmetic: x1 > 0.36 or x2 <= 3.68 for the one row
# left of a 6-row node here) the rounding may pick the other one.  Either
# way every training row reaches a leaf of the same rows, so the trees have
# the same shape and predict the training rows alike, within 1e-12
# relative (a thousand times the rounding seen).
@test "dtree: fractional labels and outcomes: the same shape, and the training rows predicted within 1e-12" {
  dt_data
  for cfg in "--label value --fields x1,x2,c" "--treatment arm --outcome value --fields x1,x2,n,c"; do
    run -0 --separate-stderr promo-dtree $cfg -o one.mpz mix.mpz
    one=${stderr#promo-dtree: }
    run -0 --separate-stderr mpi 2 promo-dtree $cfg -o two.mpz d1.mpz d23.mpz < /dev/null
    assert_equal "${stderr#promo-dtree: rank 0: }" "$one"
    promo-score -q -m one.mpz -o s1.mpz mix.mpz
    promo-score -q -m two.mpz -o s2.mpz mix.mpz
    fields=pred
    [[ $cfg != --treatment* ]] || fields=uplift_gift,uplift_discount,best_offer
    paste -d, <(promo-cat --fields $fields s1.mpz) <(promo-cat --fields $fields s2.mpz) > pairs
    run -0 awk -F, 'NR > 1 { n = NF / 2; for (i = 1; i <= n; i++) { a = $i; b = $(i + n);
                      if (a !~ /^-?[0-9]/) { if (a != b) { print "differ: " $0; exit 1 } continue }
                      d = a - b; s = (a < 0 ? -a : a); if (s < 1) s = 1; if (d < 0) d = -d;
                      if (d > 1e-12 * s) { print "differ: " $0; exit 1 } } } END { print NR - 1 }' pairs
    assert_output 2000
  done
}

@test "dtree under mpirun: what does not train across ranks is a usage error; the model goes to -o" {
  dt_data
  for opt in --exact --honest "--valid-frac 0.2"; do
    run -2 --separate-stderr mpi 2 promo-dtree --label y $opt -o m.mpz d1.mpz d23.mpz < /dev/null
    [[ "$stderr" == *"promo-dtree: rank "[01]": ${opt%% *}"*" does not train across ranks: run it without mpirun"* ]] ||
      fail "$opt: stderr: $stderr"
  done
  run -2 --separate-stderr mpi 2 promo-dtree --label y d1.mpz d23.mpz < /dev/null
  [[ "$stderr" == *"promo-dtree: rank "[01]": under mpirun the model is written with -o FILE, not to stdout"* ]] ||
    fail "stderr: $stderr"
  run -2 --separate-stderr mpi 2 promo-dtree --label y -o m.mpz mix.mpz < /dev/null
  [[ "$stderr" == *"promo-dtree: rank "[01]": 2 ranks need at least 2 input files (one block of files per rank), got 1"* ]] ||
    fail "stderr: $stderr"
  [ ! -e m.mpz ]
}

@test "dtree under mpirun: a bad shard fails the job with its rank, and no model is written" {
  dt_data
  # y holds words in the second shard, numbers in the first
  awk -F, -v OFS=, 'NR > 1 { $6 = $6 ? "yes" : "no" } { print }' d2.csv > words.csv
  promo-import -q --kind examples -o words.mpz words.csv
  echo old > m.mpz
  run -1 --separate-stderr mpi 2 promo-dtree -q --label y -o m.mpz d1.mpz words.mpz < /dev/null
  [[ "$stderr" == *"promo-dtree: rank "[01]": d"*".mpz: field \"y\": numbers in some ranks' files and strings in others'"* ]] ||
    fail "stderr: $stderr"
  assert_equal "$(cat m.mpz)" old
  # rank 1's shard has no label
  cut -d, -f1-5,7- d2.csv > nolabel.csv
  promo-import -q --kind examples -o nolabel.mpz nolabel.csv
  run -1 --separate-stderr mpi 2 promo-dtree -q --label y -o m.mpz d1.mpz nolabel.mpz < /dev/null
  [[ "$stderr" == *'promo-dtree: rank 1: nolabel.mpz: record 1: field "y": missing (the label)'* ]] ||
    fail "stderr: $stderr"
  [[ "$stderr" != *"rank 0: "*"record"* ]] || fail "rank 0 failed too: $stderr"
  assert_equal "$(cat m.mpz)" old
  run -0 bash -c 'ls -a | grep -c "\.tmp\." || true'
  assert_output 0
}
