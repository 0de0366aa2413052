#!/usr/bin/env bats
# Shards: promo-cat --shard and --split (a stable hash partition by a key),
# and the sharded data stages (pipelines/sharded.mk) against one process.
# docs/scale.md specifies the hash; tests/bats/shards-ref.py computes it
# again, independently, in Python.

load helpers

setup_file() {
  cd "$BATS_FILE_TMPDIR"
  # A small simulated shop; its log has dirt, including records without a user.
  promo-synth world -q --users 150 --items 60 --seed 3 -o world.mpz
  promo-synth events -q --world world.mpz --start 2024-01-01 --days 14 --campaigns 1 \
    --dirt 0.03 --seed 3 -o events.mpz
}

setup() {
  ev=$BATS_FILE_TMPDIR/events.mpz
}

# The users of a stream, one per line, sorted and unique.
users_of() { promo-cat --fields user --no-names "$@" | sort -u; }

@test "--split: every record in exactly one part, each user in one part, the concatenation valid" {
  run -0 --separate-stderr promo-cat --split 4 --missing-to 0 -o parts "$ev"
  assert_equal "$(ls parts)" "$(printf 'part-%05d.mpz\n' 0 1 2 3)"
  total=0
  for i in 0 1 2 3; do
    n=$(promo-cat --count "parts/part-0000$i.mpz")
    [ "$n" -gt 100 ] || fail "part $i has only $n records"
    total=$((total + n))
    # the header is the input's
    assert_equal "$(promo-cat --header "parts/part-0000$i.mpz")" "$(promo-cat --header "$ev")"
  done
  assert_equal "$total" "$(promo-cat --count "$ev")"
  # the byte concatenation is one stream with the input's records
  cat parts/*.mpz > all.mpz
  promo-cat all.mpz | sort > got.csv
  promo-cat "$ev" | sort > want.csv
  cmp got.csv want.csv
  # no user (a non-empty one) is in two parts
  for i in 0 1 2 3; do users_of "parts/part-0000$i.mpz"; done | grep -v '^$' | sort | uniq -d > twice.txt
  [ ! -s twice.txt ] || fail "users in two parts: $(head -3 twice.txt)"
  # records without a user (nil) all went to part 0
  [ "$(promo-cat --where user --count parts/part-00000.mpz)" -lt "$(promo-cat --count parts/part-00000.mpz)" ] \
    || fail "part 0 has no records without a user"
  for p in 1 2 3; do
    assert_equal "$(promo-cat --where user --count "parts/part-0000$p.mpz")" "$(promo-cat --count "parts/part-0000$p.mpz")"
  done
}

@test "--shard I/N writes exactly part I of --split N, byte for byte" {
  promo-cat --split 3 --missing-to 2 -o parts "$ev"
  for i in 0 1 2; do
    promo-cat --format mpz --shard "$i/3" --missing-to 2 -o "one-$i.mpz" "$ev"
    cmp "one-$i.mpz" "parts/part-0000$i.mpz"
  done
  # --split 1 is the input again (same level: same bytes)
  promo-cat --split 1 --missing-to 0 -o whole "$ev"
  promo-cat --format mpz -o copy.mpz "$ev"
  cmp copy.mpz whole/part-00000.mpz
}

@test "the hash: the documented examples, and an independent SipHash-2-4 on 295 keys" {
  # docs/scale.md: u1 -> 0, u2 -> 2, alice -> 3, bob -> 0 of 4; 12 -> 0 of 4
  printf 'user\nu1\nu2\nalice\nbob\n12\n' > keys.csv
  promo-import -q --kind events --types user=string -o keys.mpz keys.csv
  run -0 promo-cat --shard 0/4 --no-names keys.mpz
  assert_output "$(printf 'u1\nbob\n12')"
  run -0 promo-cat --shard 2/4 --no-names keys.mpz
  assert_output u2
  run -0 promo-cat --shard 3/4 --no-names keys.mpz
  assert_output alice
  run -0 promo-cat --shard 1/4 --no-names keys.mpz
  assert_output ""
  # 295 keys: ids, negative ids, words, UTF-8; each part against Python's answer
  { echo user; seq 1 150; seq -40 -1; for i in $(seq 1 100); do echo "cust-$i"; done;
    printf '%s\n' 'ü' 'été' '日本' 'a b' 'x;y'; } > many.csv
  promo-import -q --kind events --types user=string -o many.csv.mpz many.csv
  promo-cat --split 7 -o parts many.csv.mpz
  tail -n +2 many.csv | python3 "$TESTS_DIR/bats/shards-ref.py" 7 > ref.csv
  [ "$(wc -l < ref.csv)" -eq 295 ] || fail "reference: $(wc -l < ref.csv) keys"
  for i in $(seq 0 6); do
    awk -F, -v i="$i" '$NF == i { sub(/,[0-9]+,[0-9]+$/, ""); print }' ref.csv | sort > want.txt
    promo-cat --fields user --no-names "parts/part-0000$i.mpz" | sed 's/^"\(.*\)"$/\1/' | sort > got.txt
    diff want.txt got.txt || fail "part $i differs from the reference"
  done
}

@test "\"12\", 12 and 12.0 are one key; \"12.0\" is another" {
  printf 'user\n12\n' | promo-import -q --kind events --types user=string -o s.mpz
  printf 'user\n12\n' | promo-import -q --kind events --types user=int -o i.mpz
  printf 'user\n12\n' | promo-import -q --kind events --types user=float -o f.mpz
  printf 'user\n12.0\n' | promo-import -q --kind events --types user=string -o t.mpz
  for f in s i f; do
    run -0 promo-cat --shard 0/4 --count $f.mpz
    assert_output 1
  done
  # "12.0" as text hashes its own bytes: shard 2 of 4 (shards-ref.py)
  run -0 bash -c "printf '12.0\n' | python3 '$TESTS_DIR/bats/shards-ref.py' 4"
  assert_output "12.0,8351048400196242554,2"
  run -0 promo-cat --shard 2/4 --count t.mpz
  assert_output 1
}

@test "--by another field, and --fields while splitting" {
  promo-cat --split 2 --by item --missing-to 1 --fields item,event -o parts "$ev"
  run -0 promo-cat --format jsonl --head 1 parts/part-00000.mpz
  assert_output --regexp '^\{"item":[0-9]+,"event":"[a-z]+"\}$'
  for i in 0 1; do users_of --fields item "parts/part-0000$i.mpz" > "items-$i.txt"; done
  run -0 comm -12 items-0.txt items-1.txt
  assert_output ""
  assert_equal "$(( $(promo-cat --count parts/part-00000.mpz) + $(promo-cat --count parts/part-00001.mpz) ))" \
    "$(promo-cat --count "$ev")"
}

@test "bad --shard, --split, --by and --missing-to values are usage errors" {
  mkdir w && cd w
  hint="Try 'promo-cat --help' for more information."
  for v in 4/4 x 1/0 -1/2 1/ 0/4/ +1/2 '0/4 ' 2/1048577; do
    run -2 --separate-stderr promo-cat --shard "$v" "$ev"
    assert_equal "$stderr" "promo-cat: --shard: expected I/N, shard I of N counting from 0 (0 <= I < N <= 1048576), got \"$v\"
$hint"
  done
  run -2 --separate-stderr promo-cat --split 0 -o d "$ev"
  assert_equal "$stderr" "promo-cat: --split: expected 1 to 1024, got 0
$hint"
  run -2 --separate-stderr promo-cat --split 2 "$ev"
  assert_equal "$stderr" "promo-cat: --split: name the directory of the parts with -o DIR
$hint"
  run -2 --separate-stderr promo-cat --split 2 --format csv -o d "$ev"
  assert_equal "$stderr" "promo-cat: --split writes streams: it goes with --format mpz only, without --count or --header
$hint"
  run -2 --separate-stderr promo-cat --split 2 --shard 0/2 -o d "$ev"
  assert_equal "$stderr" "promo-cat: --shard and --split: give one (--split writes every shard)
$hint"
  run -2 --separate-stderr promo-cat --by item "$ev"
  assert_equal "$stderr" "promo-cat: --by and --missing-to need --shard I/N or --split N
$hint"
  run -2 --separate-stderr promo-cat --shard 0/2 --missing-to 2 "$ev"
  assert_equal "$stderr" "promo-cat: --missing-to: expected a shard below 2, got 2
$hint"
  run -2 --separate-stderr promo-cat --split 2 -o . "$ev"
  assert_equal "$stderr" "promo-cat: --split: -o needs a directory name to create or replace, got \".\"
$hint"
  [ -z "$(ls)" ] || fail "files written: $(ls)"
}

@test "a record without the key is an error naming it, and nothing is written" {
  mkdir w && cd w
  printf 'user,item\nu1,i1\n,i2\nu3,i3\n' | promo-import -q --kind events -o ev.mpz
  run -1 --separate-stderr promo-cat --split 2 -o parts ev.mpz
  assert_equal "$stderr" 'promo-cat: ev.mpz: record 2: field "user": missing, so the record has no shard (--missing-to I puts such records in shard I)'
  run -1 --separate-stderr promo-cat --format mpz --shard 0/2 -o one.mpz ev.mpz
  assert_equal "$stderr" 'promo-cat: ev.mpz: record 2: field "user": missing, so the record has no shard (--missing-to I puts such records in shard I)'
  printf '{"user":[1,2]}\n' | promo-import -q --kind events --format jsonl -o arr.mpz
  run -1 --separate-stderr promo-cat --shard 0/2 arr.mpz
  assert_equal "$stderr" 'promo-cat: arr.mpz: record 1: field "user": expected a string or a number to shard by, got an array'
  assert_equal "$(ls)" "$(printf 'arr.mpz\nev.mpz')"
}

@test "--split leaves nothing partial: a bad input keeps the old parts; other files are never replaced" {
  mkdir w && cd w
  promo-cat --split 3 --missing-to 0 -o parts "$ev"
  sums=$(md5sum parts/*)
  # a truncated input: the run fails, the old directory is as it was, no temporary is left
  head -c 20000 "$ev" > cut.mpz
  run -1 --separate-stderr promo-cat --split 2 --missing-to 0 -o parts cut.mpz
  assert_output ""
  assert_regex "$stderr" '^promo-cat: cut\.mpz: record [0-9]+: truncated gzip stream$'
  assert_equal "$(md5sum parts/*)" "$sums"
  assert_equal "$(ls)" "$(printf 'cut.mpz\nparts')"
  # a good run replaces the directory whole: 2 parts now, not 3
  promo-cat --split 2 --missing-to 0 -o parts/ "$ev"
  assert_equal "$(ls parts)" "$(printf 'part-00000.mpz\npart-00001.mpz')"
  # a directory holding anything else is refused before any work
  mkdir keep && echo precious > keep/notes.txt
  run -1 --separate-stderr promo-cat --split 2 --missing-to 0 -o keep "$ev"
  assert_equal "$stderr" 'promo-cat: keep: holds "notes.txt", not only part-NNNNN.mpz files; not replacing it'
  assert_equal "$(cat keep/notes.txt)" precious
  touch afile
  run -1 --separate-stderr promo-cat --split 2 -o afile "$ev"
  assert_equal "$stderr" 'promo-cat: afile: exists and is not a directory; --split writes a directory of parts'
  assert_equal "$(ls)" "$(printf 'afile\ncut.mpz\nkeep\nparts')"
}

@test "an empty stream splits into parts that hold just the header" {
  printf 'user,item\n' | promo-import -q --kind events --types user=string,item=string -o empty.mpz
  promo-cat --split 3 -o parts empty.mpz
  for i in 0 1 2; do
    run -0 promo-cat --count "parts/part-0000$i.mpz"
    assert_output 0
    run -0 promo-cat --header --kind events "parts/part-0000$i.mpz"
  done
}

# Must show: the sharded data stages equal one process.
@test "make -f pipelines/sharded.mk SHARDS=4 gives the records of SHARDS=1 (sorted)" {
  command -v parallel > /dev/null || skip "GNU parallel is not installed (tools/install-deps test)"
  mk=(make -s -f "$TESTS_DIR/../pipelines/sharded.mk" BIN="$PROMO_BIN" JOBS=2 USERS=300 ITEMS=120
      HISTORY_DAYS=28 PAST_CAMPAIGNS=1 UPLIFT_TREES=10 CF_FACTORS=8 INTENT_EPOCHS=5)
  "${mk[@]}" OUT=one SHARDS=1
  # the same models score both runs (trained once, on one process's features)
  "${mk[@]}" OUT=four SHARDS=4 MODELS=one/models
  [ "$(ls four/shards/clean | grep -c '^part-')" -eq 4 ] || fail "not 4 parts: $(ls four/shards/clean)"
  for f in clean rejects users users-train examples interactions; do
    promo-cat --format jsonl "one/$f.mpz" | sort > "one-$f.jsonl"
    promo-cat --format jsonl "four/$f.mpz" | sort > "four-$f.jsonl"
    [ "$(wc -l < "one-$f.jsonl")" -gt 20 ] || fail "$f: only $(wc -l < "one-$f.jsonl") records"
    cmp "one-$f.jsonl" "four-$f.jsonl" || fail "$f differs"
  done
  # the cleaning counts add up, but for "reordered" (counted in each part's input order)
  promo-cat --where 'metric!=reordered' one/clean-report.mpz > one-report.csv
  promo-cat --where 'metric!=reordered' four/clean-report.mpz > four-report.csv
  cmp one-report.csv four-report.csv
  # scored: every field equal, the recommenders' float32 scores too (promo-score
  # multiplies whole blocks of users, so a score does not depend on the cut)
  promo-cat --format jsonl "one/scored.mpz" | sort > one-scored.jsonl
  promo-cat --format jsonl "four/scored.mpz" | sort > four-scored.jsonl
  [ "$(grep -c '"scores":\[' one-scored.jsonl)" -gt 20 ] || fail "few scored rows"
  cmp one-scored.jsonl four-scored.jsonl
  # nothing to redo
  run -0 "${mk[@]}" OUT=four SHARDS=4 MODELS=one/models --question
}
