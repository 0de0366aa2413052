#!/usr/bin/env bash
# The loop's shell when TIMING=FILE is set (pipelines/loop.mk): runs one
# recipe line with bash as make would, then appends "TARGET SECONDS STATUS"
# to FILE.  make expands .SHELLFLAGS for each recipe line with $@ set, so
# the target comes first: timing.sh FILE TARGET -eu -o pipefail -c LINE.
# The line's exit status is passed on unchanged.
file=$1 target=$2
shift 2
t0=$(date +%s.%N)
status=0
bash "$@" || status=$?
t1=$(date +%s.%N)
# $(shell ...) calls have no target: not a stage.
if [ -n "$target" ]; then
  printf '%s %.3f %d\n' "$target" "$(echo "$t1 - $t0" | bc -l)" "$status" >> "$file"
fi
exit "$status"
