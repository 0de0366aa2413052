#!/usr/bin/env bats
# Every program has a page in docs/, and the examples in the docs run and
# print what the docs say (tests/doc-examples).

load helpers

@test "every program has a page in docs/ that shows its usage" {
  for p in "$PROMO_BIN"/promo-*; do
    name=$(basename "$p")
    page=$TESTS_DIR/../docs/$name.md
    [ -f "$page" ] || fail "no page docs/$name.md"
    grep -q "^# $name" "$page" || fail "docs/$name.md does not start with its name"
  done
}

@test "the examples in the docs run and print what the docs say" {
  n=0
  for page in "$TESTS_DIR"/../docs/*.md "$TESTS_DIR"/../README.md; do
    grep -q '^```console' "$page" || continue
    run "$TESTS_DIR/doc-examples" "$page"
    [ "$status" -eq 0 ] || fail "$output"
    n=$((n + 1))
  done
  [ "$n" -ge 2 ] || fail "only $n pages with examples"
}
