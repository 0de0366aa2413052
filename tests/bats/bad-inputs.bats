#!/usr/bin/env bats
# The corpus of bad inputs in tests/bad: each gives its exact message,
# exit status 1, no output file, and leaves an existing output untouched.

load helpers

# check_case FILE PROGRAM_AND_OPTIONS MESSAGE
check_case() {
  local file=$TESTS_DIR/bad/$1 args=$2 want=${3//FILE/$TESTS_DIR/bad/$1}
  rm -rf o && mkdir o
  # shellcheck disable=SC2086
  run -1 --separate-stderr $args -o o/out.mpz "$file"
  assert_equal "$stderr" "$want"
  assert_output ""
  [ -z "$(ls -A o)" ] || fail "$1: files left behind: $(ls -A o)"
  # A previous good output survives the failed run.
  echo previous > o/out.mpz
  # shellcheck disable=SC2086
  run -1 $args -o o/out.mpz "$file"
  assert_equal "$(cat o/out.mpz)" previous
  assert_equal "$(ls -A o)" out.mpz
}

@test "every bad input in tests/bad has its exact message, status 1, no output" {
  local n=0
  while IFS=$'\t' read -r file args msg; do
    case "$file" in ''|'#'*) continue ;; esac
    check_case "$file" "$args" "$msg"
    n=$((n + 1))
  done < "$TESTS_DIR/bad/EXPECTED"
  [ "$n" -ge 20 ] || fail "only $n cases"
}

@test "every file in tests/bad is listed in EXPECTED" {
  for f in "$TESTS_DIR"/bad/*.mpz "$TESTS_DIR"/bad/*.csv "$TESTS_DIR"/bad/*.jsonl; do
    grep -q "^$(basename "$f")	" "$TESTS_DIR/bad/EXPECTED" || fail "$(basename "$f") has no expected message"
  done
}

@test "hostile lengths fail without a large allocation (under a 300 MB limit)" {
  # Under AddressSanitizer the limit is its allocator's, not the address space's.
  limit="ulimit -v 300000;"
  [ "${PROMO_SANITIZE:-}" = 1 ] && limit="export ASAN_OPTIONS=max_allocation_size_mb=300:allocator_may_return_null=1;"
  for f in hostile-length hostile-array; do
    run -1 --separate-stderr bash -c "$limit promo-cat '$TESTS_DIR/bad/$f.mpz'"
    assert_equal "$stderr" "promo-cat: $TESTS_DIR/bad/$f.mpz: record 1: truncated: the input ends inside a record"
  done
}

@test "a gzip member claiming a huge length is streamed, not read whole (under a 300 MB limit)" {
  limit="ulimit -v 300000;"
  [ "${PROMO_SANITIZE:-}" = 1 ] && limit="export ASAN_OPTIONS=max_allocation_size_mb=300:allocator_may_return_null=1;"
  promo-import -q --kind events -o good.mpz "$TESTS_DIR/../data/sample-events.csv"
  # The first member's "PL" field (docs/FORMAT.md, bytes 16-19) says 4 GiB.
  cp good.mpz huge.mpz
  printf '\xf0\xff\xff\xff' | dd of=huge.mpz bs=1 seek=16 conv=notrunc status=none
  run -0 --separate-stderr bash -c "$limit promo-cat --format csv huge.mpz"
  assert_equal "$stderr" ""
  assert_equal "$output" "$(promo-cat --format csv good.mpz)"
}

@test "the bad inputs also fail the same way on stdin" {
  run -1 --separate-stderr bash -c "promo-cat < '$TESTS_DIR/bad/truncated-gzip.mpz'"
  assert_equal "$stderr" "promo-cat: stdin: record 3: truncated gzip stream"
  run -1 --separate-stderr bash -c "promo-import --kind events < '$TESTS_DIR/bad/ragged.csv'"
  assert_equal "$stderr" "promo-import: stdin: line 3: expected 3 fields, got 2"
}

# Our writer's gzip members carry their length (docs/FORMAT.md), so readers
# decode several at once; damage in a later member must still be reported
# exactly, after every record before it.
@test "members decoded in parallel: the same records, and damage found where it is" {
  seq 1 300000 | awk 'BEGIN { print "id,name" } { printf "%d,name-%d\n", $1, $1 * 7 }' > big.csv
  promo-import -q --kind t --level 0 -o plain.mpz big.csv
  promo-cat --format mpz -o gz.mpz plain.mpz
  gzip -t gz.mpz
  # several members, each with its length: "PL" at offset 12 of every header
  members=$(grep -c -a -o $'\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x08\x00PL' gz.mpz)
  [ "$members" -ge 4 ] || fail "only $members members"
  promo-cat --format mpz --level 0 -o back.mpz gz.mpz
  cmp back.mpz plain.mpz
  # gzip's own members (no length) and ours, concatenated: one stream
  gzip -c -1 plain.mpz > theirs.mpz
  cat gz.mpz theirs.mpz | promo-cat --count > n.txt
  [ "$(cat n.txt)" = 600000 ]
  # cut inside the third member: every record before it, then the message
  size=$(stat -c %s gz.mpz)
  head -c $((size * 5 / 8)) gz.mpz > cut.mpz
  run -1 --separate-stderr promo-cat --no-names --fields id cut.mpz
  [[ "$stderr" =~ ^promo-cat:\ cut.mpz:\ record\ ([0-9]+):\ truncated\ gzip\ stream$ ]] || fail "$stderr"
  [ "${BASH_REMATCH[1]}" -gt 100000 ] && [ "${#lines[@]}" -eq $((BASH_REMATCH[1] - 1)) ] || fail "record ${BASH_REMATCH[1]}, ${#lines[@]} lines"
  # a wrong checksum in a middle member
  python3 - gz.mpz bad.mpz <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
starts = [i for i in range(len(b) - 14) if b[i:i + 14] == b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x08\x00PL"]
s = starts[len(starts) // 2]
end = s + int.from_bytes(b[s + 16:s + 20], "little")
b[end - 8] ^= 0xff
open(sys.argv[2], "wb").write(b)
PY
  run -1 --separate-stderr promo-cat --count bad.mpz
  [[ "$stderr" =~ ^promo-cat:\ bad.mpz:\ record\ [0-9]+:\ corrupt\ gzip\ stream:\ incorrect\ data\ check$ ]] || fail "$stderr"
}
