#!/usr/bin/env bash
# bench/synth.sh SCRATCH_DIR: promo-synth events' speed at --level 0 and the
# default level, and its peak memory at two log sizes (about 2M and 10M
# events, by --days), to show that memory does not grow with the events.
# Run by tools/bench with bin/ on PATH; prints one Markdown section.
set -euo pipefail
scratch=${1:?usage: bench/synth.sh SCRATCH_DIR}
dir=$scratch/synth
mkdir -p "$dir"
trap 'rm -rf "$dir"' EXIT
runs=3

echo "## promo-synth: generating the behaviour log"
echo
if [ ! -x /usr/bin/time ]; then
  echo "Not measured: /usr/bin/time (Debian package \`time\`) is not installed."
  exit 0
fi

promo-synth world -o "$dir/world.mpz"
# The default shop's events per day, from its default 28-day log.
promo-synth events --world "$dir/world.mpz" --level 0 -o "$dir/ev.mpz"
per_day=$(( $(promo-cat --count "$dir/ev.mpz") / 28 ))

# One configuration: the median wall time of $runs runs and the largest
# peak resident set; prints a table row.
measure() {
  local days=$1 level=$2 events times=() mem=0 t m
  for _ in $(seq $runs); do
    /usr/bin/time -f '%e %M' -o "$dir/time" \
      promo-synth events --world "$dir/world.mpz" --days "$days" --level "$level" -o "$dir/ev.mpz"
    read -r t m < "$dir/time"
    times+=("$t")
    [ "$m" -gt "$mem" ] && mem=$m
  done
  events=$(promo-cat --count "$dir/ev.mpz")
  t=$(printf '%s\n' "${times[@]}" | sort -g | sed -n "$(( (runs + 1) / 2 ))p")
  awk -v e="$events" -v d="$days" -v l="$level" -v t="$t" -v m="$mem" -v all="${times[*]}" 'BEGIN {
    printf "| %.1fM | %d | %d | %.2f (%s) | %.2fM | %.1f MiB |\n", e / 1e6, d, l, t, all, e / t / 1e6, m / 1024 }'
  echo "$mem $events" > "$dir/mem-$days-$level"
}

# (campaign events do not grow with the days: aim a little high)
small=$(( 2050000 / per_day + 1 ))
large=$(( 10300000 / per_day + 1 ))
echo "The default shop (\`promo-synth world\`: 5000 users, 1000 items), \`promo-synth events --days D\`"
echo "with the default dirt (0.02) and 2 past campaigns, written to a file. Wall time is the median"
echo "of $runs runs (all runs in brackets); peak memory is the largest resident set of the runs"
echo "(\`/usr/bin/time -f %M\`). Level 1 is the default (gzip); level 0 writes plain MessagePack."
echo
echo "| events | days | --level | seconds | events/s | peak memory |"
echo "|---:|---:|---:|---:|---:|---:|"
for days in $small $large; do
  for level in 0 1; do
    measure "$days" "$level"
  done
done
echo
cat "$dir/mem-$small-1" "$dir/mem-$large-1" | awk '
  { m[NR] = $1; e[NR] = $2 }
  END {
    printf "Peak memory at the default level: %.1f MiB for %.1fM events, %.1f MiB for %.1fM (%.1f times as many):\n",
      m[1] / 1024, e[1] / 1e6, m[2] / 1024, e[2] / 1e6, e[2] / e[1]
    printf "the program holds the world and one day of events, never the log (memory ratio %.2f).\n", m[2] / m[1] }'
