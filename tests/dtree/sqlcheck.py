#!/usr/bin/env python3
"""Evaluate promo-dtree's SQL export on a CSV table with SQLite and compare
the result with promo-score's fields.

Usage: sqlcheck.py DATA.csv EXPORT.sql SCORED.csv FIELD...

DATA.csv is loaded into a table t (empty cells are NULL, cells that parse
as numbers are REAL, others TEXT); the export is run as
SELECT <export> FROM t ORDER BY rowid; each FIELD of the result must equal
the same column of SCORED.csv (promo-cat's CSV of promo-score's output):
text as text, numbers as doubles to within 1e-15 relative.  The export
writes every number so that it reads back as the same double; SQLite's
decimal parser is not correctly rounded (about 1 literal in 10,000 with
17 digits comes out one unit in the last place off), hence the tolerance.
Prints how many values agreed and how many of the numbers were
bit-identical; exits 1 at the first disagreement."""
import csv
import sqlite3
import sys


def value(cell):
    if cell == "":
        return None
    try:
        return float(cell)
    except ValueError:
        return cell


def same(a, b):
    """0: different, 1: equal within 1e-15, 2: identical."""
    if a is None or b is None:
        return 2 if a is None and b is None else 0
    try:
        x, y = float(a), float(b)
    except (TypeError, ValueError):
        return 2 if str(a) == str(b) else 0
    if x == y:
        return 2
    return 1 if abs(x - y) <= 1e-15 * max(abs(x), abs(y)) else 0


def main():
    data, export, scored, fields = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    with open(data, newline="") as f:
        rows = list(csv.reader(f))
    names, body = rows[0], rows[1:]
    db = sqlite3.connect(":memory:")
    cols = ", ".join('"%s"' % n.replace('"', '""') for n in names)
    db.execute("CREATE TABLE t (%s)" % cols)
    db.executemany("INSERT INTO t VALUES (%s)" % ", ".join("?" * len(names)),
                   [[value(c) for c in r] for r in body])
    with open(export) as f:
        select = f.read()
    out = db.execute("SELECT %s FROM t ORDER BY rowid" % select)
    got_names = [d[0] for d in out.description]
    got = out.fetchall()
    with open(scored, newline="") as f:
        want = list(csv.DictReader(f))
    if len(got) != len(want):
        sys.exit("sqlcheck: %d rows from SQL, %d scored" % (len(got), len(want)))
    n = exact = 0
    for i, (g, w) in enumerate(zip(got, want)):
        for field in fields:
            a = g[got_names.index(field)]
            b = value(w[field])
            s = same(a, b)
            if not s:
                sys.exit("sqlcheck: row %d, field %s: SQL gives %r, promo-score %r"
                         % (i + 1, field, a, b))
            n += 1
            exact += s == 2
    print("%d values agree, %d bit for bit" % (n, exact))


main()
