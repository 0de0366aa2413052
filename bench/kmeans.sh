# k-means: promo-kmeans against scikit-learn's KMeans (lloyd, k-means++,
# n_init=1) on N points (default 1,000,000) in 32 dimensions drawn from 16
# Gaussian blobs.  The data is generated once (numpy, fixed seed) as one CSV
# that both use: scikit-learn reads it with pandas inside its timed process;
# promo-import converts it once to a stream that promo-kmeans reads inside
# its timed process (and a third row times promo-import | promo-kmeans from
# the CSV itself).  Both fit on the raw values (--scale none), k = 16.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
dir=$1
N=${BENCH_KMEANS_N:-1000000}
D=32
K=16
csv=$dir/blobs-$N.csv
fields=$(seq -s, -f 'x%g' 0 $((D - 1)))

echo "## k-means: promo-kmeans and scikit-learn ($N points, $D dimensions, $K blobs)"
echo
if ! have_py_module numpy; then
  echo "numpy: not installed ($PEER_PY has no numpy; \`apt-get install python3-numpy\`), so no data and no comparison."
  exit 0
fi

# The data: centres uniform in [-10, 10]^D, unit normal noise, labels uniform
# (as sklearn.datasets.make_blobs).  The inertia of the true blobs (squared
# distances to each blob's own mean) is written beside it, for reference.
if [ ! -s "$csv" ] || [ ! -s "$csv.truth" ]; then
  "$PEER_PY" - "$csv" "$N" "$D" "$K" <<'EOF'
import sys
import numpy as np
path, n, d, k = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(42)
centres = rng.uniform(-10, 10, size=(k, d))
labels = rng.integers(0, k, size=n)
x = centres[labels] + rng.normal(size=(n, d))
with open(path + ".tmp", "w") as f:
    f.write(",".join("x%d" % j for j in range(d)) + "\n")
    np.savetxt(f, x, fmt="%.6f", delimiter=",")
truth = sum(((x[labels == c] - x[labels == c].mean(axis=0)) ** 2).sum() for c in range(k))
with open(path + ".truth", "w") as f:
    f.write("%.17g\n" % truth)
import os
os.replace(path + ".tmp", path)
EOF
fi
truth=$(cat "$csv.truth")
mpz=$dir/blobs-$N.mpz
raw=$dir/blobs-$N.raw.mpz
[ -s "$mpz" ] || promo-import -q --kind points -o "$mpz" "$csv"
[ -s "$raw" ] || promo-import -q --kind points --level 0 -o "$raw" "$csv"

ours_cmd="promo-kmeans -q --scale none --fields $fields -k $K --n-init 1 --seed 1"
ours=$(wall "$ours_cmd -o $dir/km.mpz $mpz")
ours_kb=$(peak_kb "$ours_cmd -o $dir/km.mpz $mpz")
ours_in=$(promo-cat --fields inertia --no-names "$dir/km.mpz")
ours_iter=$(promo-cat --fields iterations --no-names "$dir/km.mpz")
ours0=$(wall "$ours_cmd -o $dir/km0.mpz $raw")
ours0_kb=$(peak_kb "$ours_cmd -o $dir/km0.mpz $raw")
cmp -s "$dir/km.mpz" "$dir/km0.mpz" || echo "bench: the two streams gave different models" >&2
# the reference twin: distances by OpenBLAS's dgemm instead of our kernel
oursb=$(wall "$ours_cmd --kernel blas -o $dir/kmb.mpz $raw")
oursb_kb=$(peak_kb "$ours_cmd --kernel blas -o $dir/kmb.mpz $raw")
oursb_in=$(promo-cat --fields inertia --no-names "$dir/kmb.mpz")
oursp=$(wall "promo-import -q --kind points --level 0 $csv | $ours_cmd -o $dir/kmp.mpz")
oursp_kb=$(peak_kb "promo-import -q --kind points --level 0 $csv | $ours_cmd -o $dir/kmp.mpz")

if have_py_module sklearn && have_py_module pandas; then
  cat > "$dir/sk_kmeans.py" <<'EOF'
import sys
import pandas as pd
from sklearn.cluster import KMeans
x = pd.read_csv(sys.argv[1], dtype="float64").to_numpy()
km = KMeans(n_clusters=int(sys.argv[2]), init="k-means++", n_init=1, algorithm="lloyd",
            random_state=0).fit(x)
with open(sys.argv[3], "w") as f:
    f.write("%.17g %d\n" % (km.inertia_, km.n_iter_))
EOF
  sk_cmd="$PEER_PY $dir/sk_kmeans.py $csv $K $dir/sk.out"
  peer=$(wall "$sk_cmd")
  peer_kb=$(peak_kb "$sk_cmd")
  read -r peer_in peer_iter < "$dir/sk.out"
  echo "| run | wall | peak memory | inertia | iterations | wall ratio | memory ratio | inertia ratio |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  row() {   # name wall kb [inertia]
    local in=${4:-$ours_in}
    echo "| $1 | $2 s | $(($3 / 1024)) MiB | $in | $ours_iter | $(ratio "$2" "$peer") | $(ratio "$3" "$peer_kb") | $(echo "$in $peer_in" | awk '{ printf "%.4f", $1 / $2 }') |"
  }
  row "promo-kmeans, the imported stream (gzip level 1)" "$ours" "$ours_kb"
  row "promo-kmeans, the stream imported with \`--level 0\`" "$ours0" "$ours0_kb"
  row "promo-kmeans \`--kernel blas\` (OpenBLAS dgemm), the \`--level 0\` stream" "$oursb" "$oursb_kb" "$oursb_in"
  row "\`promo-import --level 0\` of the CSV \| promo-kmeans (largest process)" "$oursp" "$oursp_kb"
  echo "| scikit-learn $("$PEER_PY" -c 'import sklearn; print(sklearn.__version__)'): pandas \`read_csv\` + \`KMeans\` | $peer s | $((peer_kb / 1024)) MiB | $peer_in | $peer_iter | | | |"
else
  echo "| run | wall | peak memory | inertia | iterations |"
  echo "|---|---:|---:|---:|---:|"
  echo "| promo-kmeans, the imported stream | $ours s | $((ours_kb / 1024)) MiB | $ours_in | $ours_iter |"
  echo "| promo-kmeans, \`--level 0\` stream | $ours0 s | $((ours0_kb / 1024)) MiB | $ours_in | $ours_iter |"
  echo "| promo-kmeans \`--kernel blas\`, \`--level 0\` stream | $oursb s | $((oursb_kb / 1024)) MiB | $oursb_in | $ours_iter |"
  echo "| promo-import --level 0 \| promo-kmeans | $oursp s | $((oursp_kb / 1024)) MiB | $ours_in | $ours_iter |"
  echo "| scikit-learn: not installed ($PEER_PY lacks sklearn or pandas; \`apt-get install python3-sklearn python3-pandas\`) | | | | |"
fi
echo
echo "The inertia of the true blobs is $truth (a good fit is close to it; a"
echo "worse local optimum merges two blobs). Each timed process reads its data:"
echo "scikit-learn the CSV, promo-kmeans the stream. Ratios are ours / scikit-learn's."
echo "Targets (issue 6): inertia ratio at most 1.01, wall ratio at most 0.5, memory"
echo "ratio at most 1. The load average when this section finished: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(on 2 processors; timings taken while other work runs are slower for both)."
