#!/usr/bin/python3
"""Write small seeded sample inputs for every promo-evaluate task, as CSV and
JSON lines, into DIR (used by tests/bats/evaluate.bats and for the sample
report docs/report-sample.png).  Python's random module with a fixed seed
gives the same files on every machine.

Usage: make_sample.py DIR [SEED]
  scores.csv   user, arm (control/email/sms), bought (0/1), p (score),
               revenue: a campaign with a real lift and an informative score
  segments.csv recency, frequency, monetary, segment: three customer groups
  sales.csv    units, depth, display, feature, category: promotion response
  recs.jsonl   user, items (a ranked list of 20);  truth.csv  user, item
"""
import json
import math
import os
import random
import sys

d = sys.argv[1]
rnd = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 7)
os.makedirs(d, exist_ok=True)

with open(os.path.join(d, "scores.csv"), "w") as f:
    f.write("user,arm,bought,p,revenue\n")
    for i in range(3000):
        arm = rnd.choice(["control", "email", "sms"])
        taste = rnd.random()
        lift = {"control": 0.0, "email": 0.06, "sms": 0.03}[arm] * (2 * taste)
        prob = 0.05 + 0.25 * taste + lift
        bought = 1 if rnd.random() < prob else 0
        p = min(0.99, max(0.01, 0.08 + 0.3 * taste + rnd.gauss(0, 0.08)))
        rev = round(rnd.expovariate(1 / 30), 2) if bought else 0
        f.write(f"u{i},{arm},{bought},{p:.4f},{rev}\n")

with open(os.path.join(d, "segments.csv"), "w") as f:
    f.write("recency,frequency,monetary,segment\n")
    centres = {"loyal": (5, 12, 400), "new": (10, 2, 60), "lapsed": (90, 4, 150)}
    for i in range(600):
        seg = rnd.choice(list(centres))
        r, q, m = centres[seg]
        f.write(f"{max(0, rnd.gauss(r, r / 3)):.2f},{max(0, rnd.gauss(q, q / 3)):.2f},"
                f"{max(0, rnd.gauss(m, m / 4)):.2f},{seg}\n")

with open(os.path.join(d, "sales.csv"), "w") as f:
    f.write("units,depth,display,feature,category\n")
    for cat, (base, b_depth, b_disp, b_feat) in {"cereal": (20, 40, 6, 9),
                                                 "pizza": (12, 25, 4, 12),
                                                 "pretzels": (8, 15, 3, 2)}.items():
        for i in range(400):
            depth = max(0.0, rnd.gauss(0.08, 0.1)) if rnd.random() < 0.5 else 0.0
            disp = 1 if rnd.random() < 0.15 else 0
            feat = 1 if rnd.random() < 0.12 else 0
            units = base + b_depth * depth + b_disp * disp + b_feat * feat + rnd.gauss(0, 4)
            f.write(f"{units:.1f},{depth:.4f},{disp},{feat},{cat}\n")

items = [f"i{j}" for j in range(60)]
with open(os.path.join(d, "recs.jsonl"), "w") as fr, open(os.path.join(d, "truth.csv"), "w") as ft:
    ft.write("user,item\n")
    for u in range(200):
        liked = set(rnd.sample(items[:30], 3))
        # A model that puts liked items near the top more often than not.
        score = {i: rnd.random() + (0.6 if i in liked else 0) for i in items}
        ranked = sorted(items, key=lambda i: -score[i])[:20]
        fr.write(json.dumps({"user": f"c{u}", "items": ranked}) + "\n")
        for i in sorted(liked):
            ft.write(f"c{u},{i}\n")
