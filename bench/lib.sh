# Shared by bench/*.sh: timing and peer detection.  Timings are the median
# wall time of RUNS runs (default 3), in seconds.
RUNS=${RUNS:-3}

# wall CMD...: the median wall time of running CMD (a shell string) RUNS times.
wall() {
  local times=() t0 t1 i
  for ((i = 0; i < RUNS; i++)); do
    t0=$(date +%s.%N)
    bash -o pipefail -c "$1" > /dev/null || { echo "bench: failed: $1" >&2; return 1; }
    t1=$(date +%s.%N)
    times+=("$(echo "$t1 - $t0" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {printf "%.3f", a[int((NR+1)/2)]}'
}

# peak_kb CMD: the peak resident memory of CMD in KiB (GNU time).
peak_kb() {
  /usr/bin/time -f %M bash -o pipefail -c "$1" 2>&1 > /dev/null | tail -1
}

ratio() { echo "$1 $2" | awk '{ if ($2 > 0) printf "%.2f", $1 / $2; else print "n/a" }'; }

# The Python that has Debian's pandas, numpy and scikit-learn.
PEER_PY=${PEER_PY:-/usr/bin/python3}
have_py_module() { "$PEER_PY" -c "import $1" 2> /dev/null; }
