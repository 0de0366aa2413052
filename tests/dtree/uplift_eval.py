#!/usr/bin/env python3
"""Score an uplift ranking on a held-out set: the Qini coefficient on the
observed outcomes, and the mean true uplift of the top 30%.

Usage: uplift_eval.py SCORED.csv TRUTH.csv
SCORED.csv: user,arm,converted,score (arm "control" or anything else for
treated; converted 0/1).  TRUTH.csv: user,uplift (the true uplift of
treating the user).  Prints "qini Q top30 T all A tqini R": Q as scikit-uplift's
qini_auc_score normalises it ((model area - random) / (perfect - random),
the perfect ranking putting treated responders first and control
responders last; rows with tied scores are taken together), T the mean
true uplift of the 30% of users with the highest scores (a tied group cut
by the 30% line counts with its mean), A the mean true uplift of all, R
the Qini coefficient of the true uplifts: the area between the ranking's
cumulative true uplift and the random line, over that of the ranking by
true uplift itself (free of the outcomes' noise; only the ranking's)."""
import csv
import sys


def qini_area(rows):
    """rows: (score, treated, y), best first; tied scores form one step."""
    n = len(rows)
    nt = nc = yt = yc = 0.0
    area = px = py = 0.0
    i = 0
    while i < n:
        j = i
        while j < n and rows[j][0] == rows[i][0]:
            _, t, y = rows[j]
            if t:
                nt += 1
                yt += y
            else:
                nc += 1
                yc += y
            j += 1
        x = (nt + nc) / n
        q = (yt - (yc * nt / nc if nc else 0.0)) / n
        area += (x - px) * (q + py) / 2
        px, py = x, q
        i = j
    return area, py


def true_area(groups):
    """groups: lists of true uplifts, best first; a group is one step."""
    n = sum(len(g) for g in groups)
    total = sum(sum(g) for g in groups)
    area = px = py = 0.0
    for g in groups:
        x = px + len(g) / n
        q = py + sum(g) / n
        area += (x - px) * (q + py) / 2
        px, py = x, q
    return area - total / n / 2


def true_qini(rows):
    """rows sorted best first; tied scores form one step."""
    groups = []
    for i, r in enumerate(rows):
        if i and r[0] == rows[i - 1][0]:
            groups[-1].append(r[3])
        else:
            groups.append([r[3]])
    best = true_area([[u] for u in sorted((r[3] for r in rows), reverse=True)])
    return true_area(groups) / best


def main():
    with open(sys.argv[2]) as f:
        truth = {r["user"]: float(r["uplift"]) for r in csv.DictReader(f)}
    with open(sys.argv[1]) as f:
        rows = [(float(r["score"]), r["arm"] != "control", float(r["converted"]), truth[r["user"]])
                for r in csv.DictReader(f)]
    rows.sort(key=lambda r: -r[0])
    model, last = qini_area([r[:3] for r in rows])
    rank = {(True, True): 0, (False, False): 1, (True, False): 1, (False, True): 2}
    perfect = sorted(rows, key=lambda r: rank[(r[1], r[2] > 0)])
    best, _ = qini_area([(-k, r[1], r[2]) for k, r in enumerate(perfect)])
    random_area = last / 2
    qini = (model - random_area) / (best - random_area)
    k = 0.3 * len(rows)
    taken = total = 0.0
    i = 0
    while i < len(rows) and taken < k:
        j = i
        while j < len(rows) and rows[j][0] == rows[i][0]:
            j += 1
        group = [r[3] for r in rows[i:j]]
        use = min(len(group), k - taken)
        total += sum(group) / len(group) * use
        taken += use
        i = j
    print("qini %.4f top30 %.4f all %.4f tqini %.4f"
          % (qini, total / k, sum(r[3] for r in rows) / len(rows), true_qini(rows)))


main()
