# Scale-out: promo-featurize on user shards under GNU parallel with 1 and
# 2 jobs, against one process on the whole log (the same records).  The
# k-means part comes with the MPI build (issue 11).
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
