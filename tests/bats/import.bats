#!/usr/bin/env bats
# promo-import: text to a record stream.  Outputs are decoded with promo-cat
# and compared with what is expected; failures are asserted by status and
# exact message.

load helpers

# The records of a stream as JSON lines (types visible: 1, "1", null).
jsonl() { promo-cat --format jsonl "$@"; }

@test "types are inferred: int, float, string; leading zeros stay text; empty is nil" {
  printf 'id,price,name,zip,note\n1,9.99,a,007,\n2,10,b,012,x\n-3,1e3,,100,\n' > in.csv
  run -0 promo-import -q --kind things -o out.mpz in.csv
  run -0 jsonl out.mpz
  assert_output '{"id":1,"price":9.99,"name":"a","zip":"007","note":null}
{"id":2,"price":10,"name":"b","zip":"012","note":"x"}
{"id":-3,"price":1000,"name":null,"zip":"100","note":null}'
  run -0 bash -c 'promo-cat --header out.mpz | grep -o "\"types\":\"[^\"]*\""'
  assert_output '"types":"id=int,price=float,name=string,zip=string,note=string"'
}

@test "the header records the kind, producer and effective options" {
  events_csv > events.csv
  run -0 promo-import -q --kind events -o out.mpz events.csv
  run -0 promo-cat --header out.mpz
  assert_output '{"promoloop":1,"kind":"events","producer":"promo-import","version":"0.1.0","options":{"format":"csv","delimiter":",","quote":true,"encoding":"utf8","columns":"user,item,event,ts,price","types":"user=string,item=string,event=string,ts=int,price=float","infer_rows":1000}}'
  run -0 promo-cat --format csv out.mpz
  assert_output "$(events_csv)"
}

@test "an empty column is all nil and a string column" {
  printf 'a,b\n1,\n2,\n' > in.csv
  run -0 promo-import -q --kind x -o out.mpz in.csv
  run -0 jsonl out.mpz
  assert_output '{"a":1,"b":null}
{"a":2,"b":null}'
}

@test "an int column meeting a fraction after the sample keeps the value as a float" {
  printf 'n\n1\n2\n2.5\n' > in.csv
  run -0 promo-import -q --kind x --infer-rows 2 -o out.mpz in.csv
  run -0 jsonl out.mpz
  assert_output '{"n":1}
{"n":2}
{"n":2.5}'
}

@test "explicit --types: string, int, float, bool" {
  printf 'code,n,x,ok\n12,5,3,TRUE\n13,1e2,4,0\n14,,,false\n' > in.csv
  run -0 promo-import -q --kind x --types code=string,n=int,x=float,ok=bool -o out.mpz in.csv
  run -0 jsonl out.mpz
  assert_output '{"code":"12","n":5,"x":3,"ok":true}
{"code":"13","n":100,"x":4,"ok":false}
{"code":"14","n":null,"x":null,"ok":false}'
}

@test "a number column meeting text: the exact message, and no output" {
  { printf 'id,qty\n'; printf '536365,6\n536366,2\n'; printf 'C536379,1\n'; } > in.csv
  run -1 --separate-stderr promo-import --kind x --infer-rows 2 -o out.mpz in.csv
  assert_equal "$stderr" 'promo-import: in.csv: line 4, column 1: field "id": expected a number (inferred from the first 2 rows), got "C536379"; use --types id=string'
  assert [ ! -e out.mpz ]
  run -0 promo-import -q --kind x --infer-rows 2 --types id=string -o out.mpz in.csv
  run -0 jsonl out.mpz
  assert_line --index 2 '{"id":"C536379","qty":1}'
}

@test "a value that does not fit an explicit type" {
  printf 'a,b\n1,yes\n' > in.csv
  run -1 --separate-stderr promo-import --kind x --types b=bool -o out.mpz in.csv
  assert_equal "$stderr" 'promo-import: in.csv: line 2, column 2: field "b": expected a boolean (true, false, 1 or 0), got "yes"'
  printf 'a,b\n1,2.5\n' > in.csv
  run -1 --separate-stderr promo-import --kind x --types b=int -o out.mpz in.csv
  assert_equal "$stderr" 'promo-import: in.csv: line 2, column 2: field "b": expected an integer, got "2.5"'
}

@test "--map renames columns, and the old name must exist" {
  events_csv > events.csv
  run -0 promo-import -q --kind events --map user_id=user,when=ts --types user_id=string -o out.mpz events.csv
  run -0 bash -c 'promo-cat --format csv out.mpz | head -1'
  assert_output 'user_id,item,event,when,price'
  run -1 --separate-stderr promo-import --kind events --map a=nope -o out.mpz events.csv
  assert_equal "$stderr" 'promo-import: events.csv: line 1: --map: no column "nope"'
  run -1 --separate-stderr promo-import --kind events --types nope=int -o out.mpz events.csv
  assert_equal "$stderr" 'promo-import: events.csv: line 1: --types: no column "nope"'
}

@test "--no-header --columns names the columns; --columns alone renames the header's" {
  printf 'u1,5\nu2,6\n' > in.csv
  run -0 promo-import -q --kind x --no-header --columns user,n -o out.mpz in.csv
  run -0 jsonl out.mpz
  assert_output '{"user":"u1","n":5}
{"user":"u2","n":6}'
  printf 'a,b\nu1,5\n' > h.csv
  run -0 promo-import -q --kind x --columns user,n -o out.mpz h.csv
  run -0 jsonl out.mpz
  assert_output '{"user":"u1","n":5}'
  run -1 --separate-stderr promo-import --kind x --columns user -o out.mpz h.csv
  assert_equal "$stderr" 'promo-import: h.csv: line 1: --columns gives 1 name but the header has 2 columns'
  run -2 --separate-stderr promo-import --kind x --no-header -o out.mpz in.csv
  assert_equal "$stderr" "promo-import: --no-header needs --columns
Try 'promo-import --help' for more information."
}

@test "bad column names: empty, duplicate, reserved" {
  printf 'a,,c\n1,2,3\n' > in.csv
  run -1 --separate-stderr promo-import --kind x -o out.mpz in.csv
  assert_equal "$stderr" 'promo-import: in.csv: line 1, column 2: empty column name'
  printf 'a,b,a\n1,2,3\n' > in.csv
  run -1 --separate-stderr promo-import --kind x -o out.mpz in.csv
  assert_equal "$stderr" 'promo-import: in.csv: line 1, column 3: duplicate column name "a"'
  printf 'promoloop,b\n1,2\n' > in.csv
  run -1 --separate-stderr promo-import --kind x -o out.mpz in.csv
  assert_equal "$stderr" 'promo-import: in.csv: line 1, column 1: column name "promoloop" is reserved'
}

@test "ragged rows, an unterminated quote, text after a closing quote" {
  printf 'a,b,c\n1,2,3\n4,5\n' > ragged.csv
  run -1 --separate-stderr promo-import --kind x -o out.mpz ragged.csv
  assert_equal "$stderr" 'promo-import: ragged.csv: line 3: expected 3 fields, got 2'
  printf 'a,b\n1,2\n3,"open\nstill open\n' > quote.csv
  run -1 --separate-stderr promo-import --kind x -o out.mpz quote.csv
  assert_equal "$stderr" 'promo-import: quote.csv: line 3, column 3: unterminated quoted field'
  printf 'a,b\n1,"x"y\n' > after.csv
  run -1 --separate-stderr promo-import --kind x -o out.mpz after.csv
  assert_equal "$stderr" 'promo-import: after.csv: line 2, column 6: text after a closing quote'
  assert [ ! -e out.mpz ]
}

@test "quoted fields with delimiters, quotes and newlines come back the same" {
  printf 'id,text\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n4,ab"c\n' > in.csv
  run -0 promo-import -q --kind x -o out.mpz in.csv
  run -0 jsonl out.mpz
  assert_output '{"id":1,"text":"a, b"}
{"id":2,"text":"say \"hi\""}
{"id":3,"text":"two\nlines"}
{"id":4,"text":"ab\"c"}'
  run -0 promo-cat --format csv -o back.csv out.mpz
  printf 'id,text\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n4,"ab""c"\n' > want.csv
  run -0 cmp back.csv want.csv
}

@test "TSV: linear-TSV escapes and format from the suffix, lossless through promo-cat" {
  printf 'k\tv\n1\ta\\tb\\nc\\\\d\n2\t"q"\n' > in.tsv
  run -0 promo-import -q --kind x -o out.mpz in.tsv
  run -0 jsonl out.mpz
  assert_output '{"k":1,"v":"a\tb\nc\\d"}
{"k":2,"v":"\"q\""}'
  run -0 promo-cat --format tsv -o back.tsv out.mpz
  run -0 cmp back.tsv in.tsv
}

@test "--delimiter and --no-quote" {
  printf 'a;b\n1;"x;y"\n' > in.txt
  run -0 promo-import -q --kind x --format csv --delimiter ';' -o out.mpz in.txt
  run -0 jsonl out.mpz
  assert_output '{"a":1,"b":"x;y"}'
  printf 'a|b\n1|"x\n' > in.csv
  run -0 promo-import -q --kind x --delimiter '|' --no-quote -o out.mpz in.csv
  run -0 jsonl out.mpz
  assert_output '{"a":1,"b":"\"x"}'
}

@test "non-UTF-8 text is refused; --encoding latin1 converts it" {
  printf 'name,city\nJos\xe9,M\xfcnchen\n' > in.csv
  run -1 --separate-stderr promo-import --kind x -o out.mpz in.csv
  assert_equal "$stderr" 'promo-import: in.csv: line 2, column 4: invalid UTF-8 (use --encoding latin1 for ISO-8859-1 text)'
  run -0 promo-import -q --kind x --encoding latin1 -o out.mpz in.csv
  run -0 jsonl out.mpz
  assert_output $'{"name":"Jos\xc3\xa9","city":"M\xc3\xbcnchen"}'
}

@test "CRLF line ends and a byte order mark" {
  printf '\xef\xbb\xbfid,name\r\n1,"a"\r\n2,b\r\n' > in.csv
  run -0 promo-import -q --kind x -o out.mpz in.csv
  run -0 jsonl out.mpz
  assert_output '{"id":1,"name":"a"}
{"id":2,"name":"b"}'
}

@test "gzip text is read transparently, from a file and from stdin" {
  events_csv | gzip > events.csv.gz
  run -0 promo-import -q --kind events -o out.mpz events.csv.gz
  run -0 promo-cat --format csv out.mpz
  assert_output "$(events_csv)"
  run -0 bash -c 'promo-import -q --kind events < events.csv.gz | promo-cat --count'
  assert_output 3
}

@test "several files, each with its header, columns in any order" {
  printf 'a,b\n1,x\n' > one.csv
  printf 'b,a\ny,2\n' > two.csv
  run -0 promo-import -q --kind x -o out.mpz one.csv two.csv
  run -0 jsonl out.mpz
  assert_output '{"a":1,"b":"x"}
{"a":2,"b":"y"}'
  printf 'a,c\n1,x\n' > three.csv
  run -1 --separate-stderr promo-import --kind x -o out.mpz one.csv three.csv
  assert_equal "$stderr" 'promo-import: three.csv: line 1: no column "b" (one.csv has one)'
}

@test "JSON lines: objects packed as they are, blank lines skipped" {
  printf '{"user":"u1","n":1,"x":1.5,"tags":["a","b"],"m":{"k":null}}\n\n{"user":"u2","ok":true}\n' > in.jsonl
  run -0 promo-import -q --kind x -o out.mpz in.jsonl
  run -0 promo-cat --count out.mpz
  assert_output 2
  run -0 jsonl -o back.jsonl out.mpz
  printf '{"user":"u1","n":1,"x":1.5,"tags":["a","b"],"m":{"k":null}}\n{"user":"u2","ok":true}\n' > want.jsonl
  run -0 cmp back.jsonl want.jsonl
}

@test "JSON lines: --map and --types act on top-level fields" {
  printf '{"id":"12","p":"2.5","b":1}\n{"id":7,"p":3,"b":"false"}\n' > in.jsonl
  run -0 promo-import -q --kind x --map item=id --types item=int,p=float,b=bool -o out.mpz in.jsonl
  run -0 jsonl out.mpz
  assert_output '{"item":12,"p":2.5,"b":true}
{"item":7,"p":3,"b":false}'
  printf '{"id":"x1"}\n' > bad.jsonl
  run -1 --separate-stderr promo-import --kind x --types id=int -o out.mpz bad.jsonl
  assert_equal "$stderr" 'promo-import: bad.jsonl: line 1: field "id": expected an integer, got "x1"'
}

@test "JSON lines: invalid JSON and a top level that is not an object" {
  printf '{"a":1}\n{"a":[1,}\n' > bad.jsonl
  run -1 --separate-stderr promo-import --kind x -o out.mpz bad.jsonl
  assert_equal "$stderr" 'promo-import: bad.jsonl: line 2, column 9: invalid JSON: expected a value'
  printf '[1,2]\n' > arr.jsonl
  run -1 --separate-stderr promo-import --kind x -o out.mpz arr.jsonl
  assert_equal "$stderr" 'promo-import: arr.jsonl: line 1, column 1: expected a JSON object, got an array'
  printf '{"promoloop":1}\n' > res.jsonl
  run -1 --separate-stderr promo-import --kind x -o out.mpz res.jsonl
  assert_equal "$stderr" 'promo-import: res.jsonl: line 1: field name "promoloop" is reserved'
}

@test "--rejects: bad lines go to a rejects stream, the good ones through" {
  printf 'id,n\n1,2\n2\n3,x"y\n4,"z"!\n5,6\n' > in.csv
  run -0 --separate-stderr promo-import --kind x --types n=int --rejects rej.mpz -o out.mpz in.csv
  assert_equal "$stderr" 'promo-import: in.csv: imported 2 records, rejected 3 (see rej.mpz)'
  run -0 jsonl out.mpz
  assert_output '{"id":1,"n":2}
{"id":5,"n":6}'
  run -0 promo-cat --header rej.mpz
  assert_output --partial '"kind":"rejects"'
  run -0 jsonl rej.mpz
  assert_output '{"file":"in.csv","line":3,"reason":"line 3: expected 2 fields, got 1","text":"2"}
{"file":"in.csv","line":4,"reason":"line 4, column 2: field \"n\": expected an integer, got \"x\"y\"","text":"3,x\"y"}
{"file":"in.csv","line":5,"reason":"line 5, column 6: text after a closing quote","text":"4,\"z\"!"}'
  run -0 --separate-stderr promo-import -q --kind x --types n=int --rejects rej.mpz -o out.mpz in.csv
  assert_equal "$stderr" ''
}

@test "--rejects: invalid UTF-8, invalid JSON and an unterminated quote" {
  printf '{"a":1}\n{"a":\xff}\n{"a":"\n' > in.jsonl
  run -0 --separate-stderr promo-import --kind x --rejects rej.mpz -o out.mpz in.jsonl
  assert_equal "$stderr" 'promo-import: in.jsonl: imported 1 records, rejected 2 (see rej.mpz)'
  run -0 jsonl rej.mpz
  assert_output $'{"file":"in.jsonl","line":2,"reason":"line 2, column 6: invalid UTF-8 (use --encoding latin1 for ISO-8859-1 text)","text":"{\\"a\\":\xff}"}
{"file":"in.jsonl","line":3,"reason":"line 3, column 6: invalid JSON: unterminated string","text":"{\\"a\\":\\""}'
}

@test "a failed import leaves no output, and an existing output untouched" {
  printf 'a,b\n1,2\n3\n' > bad.csv
  run -1 promo-import --kind x -o out.mpz bad.csv
  assert [ ! -e out.mpz ]
  run -0 ls -A
  assert_output 'bad.csv'
  echo previous > out.mpz
  run -1 promo-import --kind x -o out.mpz bad.csv
  assert_equal "$(cat out.mpz)" previous
  # A bad header ends the run even with --rejects: neither output appears.
  printf 'a,a\n1,2\n' > dup.csv
  run -1 promo-import --kind x -o out.mpz --rejects rej.mpz dup.csv
  assert_equal "$(cat out.mpz)" previous
  assert [ ! -e rej.mpz ]
  run -0 ls -A
  assert_output 'bad.csv
dup.csv
out.mpz'
}

@test "empty input is an error; a header alone is an empty stream" {
  : > empty.csv
  run -1 --separate-stderr promo-import --kind x -o out.mpz empty.csv
  assert_equal "$stderr" 'promo-import: empty.csv: empty input (no header line)'
  run -0 promo-import -q --kind x --no-header --columns a,b -o out.mpz empty.csv
  run -0 promo-cat --count out.mpz
  assert_output 0
  printf 'a,b\n' > header.csv
  run -0 --separate-stderr promo-import --kind x -o out.mpz header.csv
  assert_equal "$stderr" 'promo-import: imported 0 records'
  run -0 promo-cat --count out.mpz
  assert_output 0
}

@test "--help prints the golden text; bad usage exits 2" {
  run -0 promo-import --help
  assert_output "$(cat "$BATS_TEST_DIRNAME/golden/promo-import.help")"
  run -2 --separate-stderr promo-import x.csv
  assert_equal "$stderr" "promo-import: --kind is required
Try 'promo-import --help' for more information."
  run -2 --separate-stderr promo-import --kind 'a b' x.csv
  assert_equal "$stderr" "promo-import: --kind: expected a name of letters, digits, '_', '-' and '/', got \"a b\"
Try 'promo-import --help' for more information."
  run -2 --separate-stderr promo-import --kind x --types a=decimal x.csv
  assert_equal "$stderr" "promo-import: --types: expected int, float, string or bool, got \"decimal\"
Try 'promo-import --help' for more information."
  run -2 --separate-stderr promo-import --kind x --format xml x.csv
  assert_equal "$stderr" "promo-import: --format: expected csv, tsv or jsonl, got \"xml\"
Try 'promo-import --help' for more information."
  run -2 --separate-stderr promo-import --kind x --bogus
  assert_equal "$stderr" "promo-import: unknown option '--bogus'
Try 'promo-import --help' for more information."
}

@test "refuses to write binary data to a terminal" {
  command -v script >/dev/null || skip "script(1) is not installed"
  events_csv > events.csv
  # stdin from /dev/null: whatever bats was given must not reach the pty
  # (a stray ^C there would interrupt the program).
  run -2 script -qec "promo-import --kind events events.csv" /dev/null < /dev/null
  assert_output --partial "promo-import: refusing to write binary data to a terminal; use -o FILE or a pipe"
}
