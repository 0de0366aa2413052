#!/usr/bin/env bash
# bench/cnn.sh SCRATCH_DIR: promo-train-cnn against the same network in
# PyTorch on the CPU (Debian's python3-torch), on BENCH_CNN_N (500,000)
# sequences of length 50 with a known label rule (bench/cnn_gen.c, fixed
# seed) and BENCH_CNN_VALID (50,000) validation sequences: the same
# architecture (the trainer's defaults), the same batch (256), the same
# epochs (BENCH_CNN_EPOCHS, 3), 2 threads each.  Reports seconds per epoch
# (training passes only), the best validation AUC of each, and the
# trainer's achieved GFLOP/s against the sgemm peak measured in this run.
# Run by tools/bench with bin/ on PATH; prints one Markdown section.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
scratch=${1:?usage: bench/cnn.sh SCRATCH_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$scratch/cnn
mkdir -p "$dir"
N=${BENCH_CNN_N:-500000}
NV=${BENCH_CNN_VALID:-50000}
EPOCHS=${BENCH_CNN_EPOCHS:-3}
THREADS=2
BATCH=256

echo "## promo-train-cnn: a purchase-intent CNN against PyTorch"
echo

# The generator links the library the build made.
lib=$root/build/rel/libpromo.a
if [ ! -f "$lib" ]; then
  echo "Not measured: $lib is missing (run \`make\` first)."
  exit 0
fi
gen=$dir/cnn_gen
# shellcheck disable=SC2046
cc -O2 -std=c11 -D_GNU_SOURCE -I"$root/common" $(pkg-config --cflags msgpack) -o "$gen" \
  "$root/bench/cnn_gen.c" "$lib" $(pkg-config --libs zlib libdeflate msgpack openblas) -lm -lpthread

# The data, kept between runs (the seeds fix it).
train=$dir/train-$N valid=$dir/valid-$NV
[ -s "$train.mpz" ] || "$gen" "$N" 1 "$train" 2> "$dir/gen-train.log"
[ -s "$valid.mpz" ] || "$gen" "$NV" 2 "$valid" 2> "$dir/gen-valid.log"
rule_auc=$(sed -n 's/.*rule AUC \([0-9.]*\).*/\1/p' "$dir/gen-valid.log")

# OpenBLAS 0.3.21 picks kernels by the CPU's model number and falls back
# to its slowest (Prescott) on CPUs newer than itself; both programs run
# with the kernels the CPU supports (the PyTorch peer calls OpenBLAS for
# its dense layers too).
read -r _ core < <(promo-train-cnn --threads 1 --bench-gemm 64)
coretype=""
if [ "$core" = Prescott ] && [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  if grep -qw avx512f /proc/cpuinfo; then coretype=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then coretype=Haswell
  fi
  [ -n "$coretype" ] && export OPENBLAS_CORETYPE=$coretype
fi
read -r peak core < <(promo-train-cnn --threads $THREADS --bench-gemm 2048)
read -r peak1 _ < <(promo-train-cnn --threads 1 --bench-gemm 2048)

# Ours: all epochs (the patience never stops it), the best epoch kept.
log=$dir/ours.log
promo-train-cnn --threads $THREADS --epochs "$EPOCHS" --patience "$EPOCHS" --batch $BATCH \
  --valid "$valid.mpz" -o "$dir/cnn.mpz" "$train.mpz" 2> "$log"
ours_s=$(sed -n 's/.* \([0-9.]*\) s per epoch, .*/\1/p' "$log")
ours_gflops=$(sed -n 's/.* s per epoch, \([0-9.]*\) GFLOP\/s.*/\1/p' "$log")
ours_auc=$(sed -n 's/.*kept epoch .*: valid AUC \([0-9.]*\),.*/\1/p' "$log")
params=$(sed -n 's/.* \([0-9]*\) parameters;.*/\1/p' "$log")

echo "$N training and $NV validation sequences of 50 events (\`bench/cnn_gen.c\`: a cart followed"
echo "at once by a quick view, the share of recent events in ten categories, the last price and"
echo "the length decide the logit; the label is drawn from it, so the rule's own AUC, $rule_auc,"
echo "is the ceiling). Both train the trainer's default network ($params parameters: embeddings"
echo "ev:4, cat:16, price_b:4, gap_b:4; causal convolutions of widths 2, 3, 5 with 32 filters;"
echo "max and mean pooling over the valid positions; a hidden layer of 64 with dropout 0.2) for"
echo "$EPOCHS epochs of minibatches of $BATCH with Adam (lr 0.001), on $THREADS threads. Seconds are"
echo "the mean wall time of an epoch's training passes; the AUC is the best epoch's on the"
echo "validation sequences."
echo
if [ -n "$coretype" ]; then
  echo "OpenBLAS does not know this CPU and would use its Prescott (SSE3) kernels:"
  echo "both programs ran with \`OPENBLAS_CORETYPE=$coretype\`."
  echo
fi

if ! have_py_module torch; then
  echo "| | promo-train-cnn | PyTorch |"
  echo "|---|---:|---|"
  echo "| seconds per epoch | $ours_s | not installed ($PEER_PY has no torch; \`tools/install-deps bench\` installs python3-torch) |"
  echo "| best validation AUC | $ours_auc | |"
  echo
  echo "Achieved: $ours_gflops GFLOP/s; sgemm peak of this machine ($core, 2048³): $peak GFLOP/s"
  echo "on $THREADS threads, $peak1 on one."
  exit 0
fi

plog=$dir/torch.log
"$PEER_PY" "$root/bench/cnn_torch.py" "$train" "$valid" "$EPOCHS" $THREADS $BATCH > "$plog"
read -r peer_s peer_auc < <(awk -F'[:,} ]+' '{ for (i = 1; i < NF; i++) { if ($i == "\"seconds\"") s += $(i + 1);
    if ($i == "\"valid_auc\"" && $(i + 1) > best) best = $(i + 1) } } END { printf "%.2f %.4f\n", s / NR, best }' "$plog")
flops=$(awk -v g="$ours_gflops" -v s="$ours_s" 'BEGIN { printf "%.1f", g * s }')
peer_gflops=$(awk -v f="$flops" -v s="$peer_s" 'BEGIN { printf "%.1f", f / s }')
torch_version=$("$PEER_PY" -c 'import torch; print(torch.__version__)')

echo "| | promo-train-cnn | PyTorch $torch_version (CPU) | ratio or difference |"
echo "|---|---:|---:|---:|"
echo "| seconds per epoch | $ours_s | $peer_s | $(ratio "$ours_s" "$peer_s") |"
echo "| best validation AUC | $ours_auc | $peer_auc | $(awk -v a="$ours_auc" -v b="$peer_auc" 'BEGIN { printf "%+.4f", a - b }') |"
echo "| achieved GFLOP/s (the network's $flops GFLOP per epoch) | $ours_gflops | $peer_gflops | |"
echo
echo "sgemm peak of this machine in this run (OpenBLAS $core, 2048³): $peak GFLOP/s on $THREADS"
echo "threads ($peak1 on one); promo-train-cnn reached $(awk -v a="$ours_gflops" -v p="$peak" 'BEGIN { printf "%.0f%%", 100 * a / p }')"
echo "of it. The network's products are thin (32 filters, windows of 56 to 140 values), so they"
echo "cannot reach the square product's rate."
echo
echo "Targets (issue 9): validation AUC within 0.005 of PyTorch's; seconds per epoch at most 0.7"
echo "times PyTorch's."
