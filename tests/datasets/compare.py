#!/usr/bin/env python3
"""Check that a text file and promo-cat's JSON lines of its import hold the
same records, with Python's own csv and json parsers as the independent
reading.  Strings must be equal byte for byte; numbers equal as values
(the import stores 2.50 as the number 2.5); empty fields are null.

Usage: compare.py ORIGINAL CAT_JSONL [--delimiter C] [--no-quote] [--tsv]
                  [--latin1] [--no-header --columns a,b,c] [--jsonl]
Prints the record count; exits 1 at the first difference."""
import argparse, csv, gzip, io, json, sys

ap = argparse.ArgumentParser()
ap.add_argument('original'); ap.add_argument('jsonl')
ap.add_argument('--delimiter', default=','); ap.add_argument('--no-quote', action='store_true')
ap.add_argument('--tsv', action='store_true'); ap.add_argument('--latin1', action='store_true')
ap.add_argument('--no-header', action='store_true'); ap.add_argument('--columns')
ap.add_argument('--jsonl', dest='is_jsonl', action='store_true')
a = ap.parse_args()

raw = open(a.original, 'rb').read()
if raw[:2] == b'\x1f\x8b':
    raw = gzip.decompress(raw)
text = raw.decode('latin-1' if a.latin1 else 'utf-8-sig')

def fail(msg):
    print(f'compare.py: {a.original}: {msg}', file=sys.stderr); sys.exit(1)

got = [json.loads(l) for l in open(a.jsonl, encoding='utf-8')]

if a.is_jsonl:
    want = [json.loads(l) for l in text.splitlines() if l.strip()]
    if want != got:
        fail('JSON records differ')
    print(len(got)); sys.exit(0)

if a.tsv:
    rows = [l.split('\t') for l in text.split('\n')]
    if rows and rows[-1] == ['']: rows.pop()
    rows = [[f.rstrip('\r') if i == len(r) - 1 else f for i, f in enumerate(r)] for r in rows]
else:
    rd = csv.reader(io.StringIO(text, newline=''), delimiter=a.delimiter,
                    quoting=csv.QUOTE_NONE if a.no_quote else csv.QUOTE_MINIMAL)
    rows = [r for r in rd if r]   # blank lines are not records
names = a.columns.split(',') if a.columns else None
if not a.no_header:
    header = rows.pop(0)
    names = names or header
if len(rows) != len(got):
    fail(f'{len(rows)} rows but {len(got)} records')
for n, (row, rec) in enumerate(zip(rows, got), 1):
    if list(rec.keys()) != names:
        fail(f'record {n}: fields {list(rec.keys())} != {names}')
    for name, text_value in zip(names, row):
        v = rec[name]
        if text_value == '':
            ok = v is None
        elif isinstance(v, bool):
            ok = text_value.lower() in (('true', '1') if v else ('false', '0'))
        elif isinstance(v, (int, float)):
            ok = float(text_value) == v
        else:
            ok = v == text_value
        if not ok:
            fail(f'record {n}: field "{name}": text {text_value!r} came back as {v!r}')
print(len(got))
