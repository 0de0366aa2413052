#!/usr/bin/env python3
"""A fully randomized campaign plan for the uplift test: each of users 1..N
is held out (the control) with probability 1/2, else gets one of the
offers uniformly.  Seeded, so the same on every machine.

Usage: plan.py N SEED > plan.csv   (columns user,offer,holdout)"""
import random
import sys

n, seed = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(seed)
offers = ["pct10", "pct20", "pct30", "ship5"]
print("user,offer,holdout")
for u in range(1, n + 1):
    if rng.random() < 0.5:
        print("%d,,true" % u)
    else:
        print("%d,%s,false" % (u, rng.choice(offers)))
