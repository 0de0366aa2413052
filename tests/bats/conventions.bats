#!/usr/bin/env bats
# The conventions every program follows (README "The programs"): help and
# version, usage errors, stdin/stdout, quiet pipes, no binary on a
# terminal, progress and -q, atomic outputs, determinism.

load helpers

programs() { for p in "$PROMO_BIN"/promo-*; do basename "$p"; done; }
# Programs with subcommands take options after the command.
command_of() { case "$1" in promo-synth) echo world ;; esac; }

@test "--help: stdout, exit 0, in the house format, for every program" {
  for p in $(programs); do
    run -0 --separate-stderr "$p" --help
    assert_equal "$stderr" ""
    assert_line --index 0 --regexp "^$p: [a-z]"
    assert_line --regexp "^Usage: $p "
    assert_line --regexp '^Options:$'
    assert_line --regexp '^  --help +show this help'
    assert_line 'Exit status: 0 success, 1 data or runtime error, 2 usage error.'
    assert_line --regexp '^Example'
  done
}

@test "--help text of promo-cat and promo-import matches the golden files" {
  for p in promo-cat promo-import; do
    run -0 "$p" --help
    assert_equal "$output" "$(cat "$TESTS_DIR/bats/golden/$p.help")"
  done
}

@test "--version prints the name and version" {
  for p in $(programs); do
    run -0 "$p" --version
    assert_output --regexp "^$p [0-9]+\.[0-9]+\.[0-9]+$"
  done
}

@test "an unknown option is a usage error: exit 2, message and hint on stderr" {
  for p in $(programs); do
    # shellcheck disable=SC2046
    run -2 --separate-stderr "$p" $(command_of "$p") --no-such-option
    assert_output ""
    assert_equal "$stderr" "$p: unknown option '--no-such-option'
Try '$p --help' for more information."
  done
}

@test "a bad option value is a usage error naming the option" {
  run -2 --separate-stderr promo-cat --head ten
  assert_equal "${stderr%%$'\n'*}" 'promo-cat: --head: expected a whole number, got "ten"'
  run -2 --separate-stderr promo-cat --head 0
  assert_equal "${stderr%%$'\n'*}" 'promo-cat: --head: expected 1 to 9223372036854775807, got 0'
  run -2 --separate-stderr promo-cat --level 12 --format mpz
  assert_equal "${stderr%%$'\n'*}" 'promo-cat: --level: expected 0 to 9, got 12'
  run -2 --separate-stderr promo-cat --format xml
  assert_equal "${stderr%%$'\n'*}" 'promo-cat: --format: expected csv, tsv, jsonl, table or mpz, got "xml"'
  run -2 --separate-stderr promo-cat --head
  assert_equal "${stderr%%$'\n'*}" "promo-cat: option '--head' needs a value"
}

@test "stdin to stdout by default, and - is stdin" {
  events_csv > ev.csv
  run -0 bash -c 'promo-import -q --kind events < ev.csv | promo-cat'
  assert_output "$(cat ev.csv)"
  run -0 bash -c 'promo-import -q --kind events - < ev.csv | promo-cat -'
  assert_output "$(cat ev.csv)"
}

@test "a closed downstream pipe ends quietly" {
  seq 1 200000 | awk 'BEGIN{print "n,sq"} {print $1 "," $1*$1}' > big.csv
  promo-import -q --kind numbers -o big.mpz big.csv
  run -0 bash -c 'promo-cat big.mpz 2> err | head -2; cat err'
  assert_output "n,sq
1,1"
  run -0 bash -c 'promo-cat --format mpz big.mpz 2> err | head -c 10 > /dev/null; cat err'
  assert_output ""
}

@test "compressed binary is never written to a terminal" {
  command -v script > /dev/null || skip "script (util-linux) not installed"
  events_csv > ev.csv
  run -0 script -qec "promo-import --kind events ev.csv; echo status=\$?" /dev/null
  assert_output --partial "promo-import: refusing to write binary data to a terminal; use -o FILE or a pipe"
  assert_output --partial "status=2"
  promo-import -q --kind events -o ev.mpz ev.csv
  run -0 script -qec "promo-cat --format mpz ev.mpz; echo status=\$?" /dev/null
  assert_output --partial "status=2"
  # Text to a terminal is fine, and a table by default.
  run -0 script -qec "promo-cat ev.mpz" /dev/null
  assert_output --partial "u2    i1    purchase"
}

@test "progress goes to stderr only with --progress; -q silences summaries" {
  events_csv > ev.csv
  run -0 --separate-stderr promo-import --progress --kind events -o ev.mpz ev.csv
  assert_output ""
  [[ "$stderr" == "promo-import: "*"3 records"* ]] || fail "no progress line: $stderr"
  run -0 --separate-stderr promo-import --kind events -o ev.mpz ev.csv
  assert_equal "$stderr" "promo-import: imported 3 records"
  run -0 --separate-stderr promo-import -q --kind events -o ev.mpz ev.csv
  assert_equal "$stderr" ""
}

@test "-o is atomic: an interrupted run leaves no file and keeps the old one" {
  events_csv > ev.csv
  promo-import -q --kind events -o out.mpz ev.csv
  cp out.mpz before.mpz
  # A slow producer: the importer is killed while it waits for input.
  mkfifo slow
  (events_csv; sleep 5) > slow &
  promo-import -q --kind events -o out.mpz slow &
  pid=$!
  sleep 1
  ls -A | grep -q 'out.mpz.tmp' || fail "no temporary file while running: $(ls -A)"
  kill -TERM $pid
  wait $pid || true
  run -0 cmp out.mpz before.mpz
  run -0 bash -c 'ls -A | grep -c tmp || true'
  assert_output 0
}

@test "same input and options give byte-identical output" {
  events_csv > ev.csv
  for level in 0 1 6 9; do
    promo-import -q --kind events --level $level -o a.mpz ev.csv
    promo-import -q --kind events --level $level -o b.mpz ev.csv
    run -0 cmp a.mpz b.mpz
  done
}
