#!/usr/bin/env python3
"""Write a seeded table of mixed features for the dtree tests.

Usage: mkdata.py N SEED > data.csv
Columns: x1 x2 (numbers, some missing), n (a small integer), c (a
categorical level, some missing, one level rare), rate (a number), then the
targets: y (0/1), label (three classes), value (a number), arm (control or
one of two offers) and bought (0/1, whose rate depends on the arm)."""
import math
import random
import sys

n, seed = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
print("x1,x2,n,c,rate,y,label,value,arm,bought")
levels = ["red", "green", "blue", "amber", "violet"]
for i in range(n):
    x1 = rng.gauss(0, 1)
    x2 = rng.uniform(0, 10)
    k = rng.randrange(6)
    c = rng.choices(levels, weights=[30, 30, 25, 14, 1])[0]
    rate = round(rng.uniform(0, 1), 3)
    s = x1 + 0.4 * (x2 > 6) + (0.8 if c in ("red", "amber") else -0.3) - 0.2 * k
    y = int(rng.random() < 1 / (1 + math.exp(-2 * s)))
    label = "low" if s < -0.5 else ("mid" if s < 0.8 else "high")
    if rng.random() < 0.15:
        label = rng.choice(["low", "mid", "high"])
    value = round(3 * x1 + (2 if c == "blue" else 0) + rng.gauss(0, 1), 4)
    arm = rng.choice(["control", "control", "gift", "discount"])
    p = 0.2 + (0.25 * (x2 > 5) if arm == "discount" else 0) + (0.1 * (c == "red") if arm == "gift" else 0)
    bought = int(rng.random() < p)
    x1s = "" if rng.random() < 0.08 else "%.5f" % x1
    x2s = "" if rng.random() < 0.05 else "%.3f" % x2
    cs = "" if rng.random() < 0.06 else c
    print(",".join([x1s, x2s, str(k), cs, str(rate), str(y), label, str(value), arm, str(bought)]))
