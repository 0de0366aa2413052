# Shared set-up for every bats test: the built programs first on PATH, the
# C locale, and a fresh temporary directory as the working directory.
PROMO_BIN=${PROMO_BIN:-$(cd "$BATS_TEST_DIRNAME/../../bin" && pwd)}
PATH="$PROMO_BIN:$PATH"
export LC_ALL=C
TESTS_DIR=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
BATS_LIB_PATH=${BATS_LIB_PATH:-/usr/lib/bats}
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert
cd "$BATS_TEST_TMPDIR" || exit 1

# The shared real data sets, when present (tests on them skip otherwise).
DATASETS=${PROMO_DATASETS:-$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)/shared/datasets}

# A small events CSV used by many tests.
events_csv() {
  printf 'user,item,event,ts,price\n'
  printf 'u1,i1,view,1700000000,9.99\n'
  printf 'u1,i2,cart,1700000060,19.5\n'
  printf 'u2,i1,purchase,1700000120,9.99\n'
}
