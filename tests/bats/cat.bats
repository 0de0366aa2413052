#!/usr/bin/env bats
# promo-cat: every output format, field selection, counting, headers,
# concatenation and recompression.

load helpers

setup() {
  events_csv > ev.csv
  promo-import -q --kind events -o ev.mpz ev.csv
}

@test "csv is the default off a terminal and gives back the imported text" {
  run -0 promo-cat ev.mpz
  assert_output "$(cat ev.csv)"
}

@test "tsv, jsonl and table formats" {
  run -0 promo-cat --format tsv --head 1 ev.mpz
  assert_output "$(printf 'user\titem\tevent\tts\tprice\nu1\ti1\tview\t1700000000\t9.99')"
  run -0 promo-cat --format jsonl --head 1 ev.mpz
  assert_output '{"user":"u1","item":"i1","event":"view","ts":1700000000,"price":9.99}'
  run -0 promo-cat --format table ev.mpz
  assert_output "user  item  event     ts          price
u1    i1    view      1700000000  9.99
u1    i2    cart      1700000060  19.5
u2    i1    purchase  1700000120  9.99"
}

@test "--fields picks and orders fields; absent fields are empty" {
  run -0 promo-cat --fields event,user,nosuch ev.mpz
  assert_output "event,user,nosuch
view,u1,
cart,u1,
purchase,u2,"
  run -0 promo-cat --format jsonl --fields price,user --head 1 ev.mpz
  assert_output '{"price":9.99,"user":"u1"}'
}

@test "--head, --count, --no-names" {
  run -0 promo-cat --head 2 --no-names ev.mpz
  assert_output "u1,i1,view,1700000000,9.99
u1,i2,cart,1700000060,19.5"
  run -0 promo-cat --count ev.mpz
  assert_output 3
  run -0 promo-cat --count --head 2 ev.mpz
  assert_output 2
}

@test "--header prints the stream header as JSON" {
  run -0 promo-cat --header ev.mpz
  assert_output --regexp '^\{"promoloop":1,"kind":"events","producer":"promo-import","version":"[0-9.]+","options":\{.*"types":"user=string,item=string,event=string,ts=int,price=float".*\}\}$'
}

@test "several files and concatenated streams read as one stream" {
  run -0 promo-cat --count ev.mpz ev.mpz ev.mpz
  assert_output 9
  cat ev.mpz ev.mpz > twice.mpz
  run -0 promo-cat --count twice.mpz
  assert_output 6
  promo-cat --format mpz --level 0 -o plain.mpz ev.mpz
  cat ev.mpz plain.mpz > mixed.mpz
  run -0 promo-cat --count mixed.mpz
  assert_output 6
  promo-import -q --kind metrics -o m.mpz <<< $'metric,value\nauc,0.5'
  run -1 --separate-stderr promo-cat ev.mpz m.mpz
  assert_equal "$stderr" 'promo-cat: m.mpz: a stream of kind "metrics" cannot follow one of kind "events" (ev.mpz)'
}

@test "--format mpz re-emits the same bytes at the same level, and recompresses" {
  run -0 promo-cat --format mpz -o same.mpz ev.mpz
  run -0 cmp same.mpz ev.mpz
  promo-cat --format mpz --level 0 -o plain.mpz ev.mpz
  run -0 bash -c "head -c 2 plain.mpz | od -An -tx1"
  assert_output " 85 a9"
  run -0 bash -c "head -c 2 ev.mpz | od -An -tx1"
  assert_output " 1f 8b"
  run -0 gzip -t ev.mpz
  promo-cat --format mpz --level 9 -o nine.mpz plain.mpz
  run -0 bash -c "promo-cat nine.mpz"
  assert_output "$(cat ev.csv)"
  # --fields re-packs records with only those fields.
  promo-cat --format mpz --fields user,price -o two.mpz ev.mpz
  run -0 promo-cat two.mpz
  assert_output "user,price
u1,9.99
u1,19.5
u2,9.99"
}

@test "records with fields the first record lacks need --fields or jsonl" {
  printf '{"a":1}\n{"a":2,"b":3}\n' > r.jsonl
  promo-import -q --kind things -o r.mpz r.jsonl
  run -1 --separate-stderr promo-cat r.mpz
  assert_equal "$stderr" 'promo-cat: r.mpz: record 2: field "b" is not among the columns (those of the first record); name them with --fields or use --format jsonl'
  run -0 promo-cat --fields a,b r.mpz
  assert_output "a,b
1,
2,3"
}

@test "nested values print as JSON inside CSV cells, quoted" {
  printf '{"id":1,"v":[0.5,1,"x"],"m":{"k":null}}\n' > n.jsonl
  promo-import -q --kind things -o n.mpz n.jsonl
  run -0 promo-cat n.mpz
  assert_output 'id,v,m
1,"[0.5,1,""x""]","{""k"":null}"'
}

@test "-o writes text outputs atomically too" {
  run -0 promo-cat -o out.csv ev.mpz
  assert_equal "$(cat out.csv)" "$(cat ev.csv)"
  run -1 promo-cat -o out.csv "$TESTS_DIR/bad/truncated-gzip.mpz"
  assert_equal "$(cat out.csv)" "$(cat ev.csv)"
}
