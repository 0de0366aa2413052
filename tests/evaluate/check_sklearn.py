#!/usr/bin/python3
"""Check promo-evaluate against scikit-learn and statsmodels on random inputs.

Usage: check_sklearn.py [--seed N] [--dir DIR]   (promo-import and
promo-evaluate on PATH).  Every figure is compared with the library's own
computation; each check prints "ok NAME" or "FAIL NAME: ...", and the exit
status is 1 when any check failed.  Exit status 3 means a library is
missing (the bats test skips then, saying which).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    from sklearn import metrics as skm
    import statsmodels.api as sm
    from statsmodels.stats.proportion import (confint_proportions_2indep, proportion_confint,
                                              proportions_ztest)
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW
except ImportError as e:  # the test tier says so and skips
    print(f"missing: {e.name}")
    sys.exit(3)

failed = 0


def check(name, got, want, tol=1e-9):
    """|got - want| <= tol * max(1, |want|), element by element."""
    global failed
    got, want = np.atleast_1d(np.asarray(got, float)), np.atleast_1d(np.asarray(want, float))
    err = np.max(np.abs(got - want) / np.maximum(1, np.abs(want))) if got.shape == want.shape else np.inf
    if err <= tol:
        print(f"ok {name}")
    else:
        failed += 1
        print(f"FAIL {name}: got {got.tolist()}, want {want.tolist()} (relative error {err:.3g})")


def run_eval(args, path):
    out = subprocess.run(["promo-evaluate", *args, "--json", path], check=True,
                         capture_output=True, text=True).stdout
    recs = json.loads(out)["metrics"]
    return {(r["metric"], r.get("group")): r for r in recs}


def write_stream(path, rows):
    with open(path + ".jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    subprocess.run(["promo-import", "-q", "--kind", "rows", "-o", path, path + ".jsonl"], check=True)


def classify(rng, d):
    n = 5000
    y = rng.random(n) < 0.3
    # Scores with many ties (two decimals), informative but noisy.
    s = np.clip(np.round(0.3 * y + rng.random(n) * 0.7, 2), 0.01, 0.99)
    p = os.path.join(d, "cls.mpz")
    write_stream(p, [{"y": int(a), "s": float(b)} for a, b in zip(y, s)])
    m = run_eval(["--task", "classify", "--label", "y", "--score", "s"], p)
    check("classify auc = roc_auc_score (ties)", m["auc", None]["value"], skm.roc_auc_score(y, s), 1e-12)
    check("classify logloss = log_loss", m["logloss", None]["value"], skm.log_loss(y, s), 1e-12)
    check("classify brier = brier_score_loss", m["brier", None]["value"], skm.brier_score_loss(y, s), 1e-12)
    pred = s >= 0.5
    check("classify accuracy", m["accuracy", None]["value"], skm.accuracy_score(y, pred), 1e-12)
    check("classify precision", m["precision", None]["value"], skm.precision_score(y, pred), 1e-12)
    check("classify recall", m["recall", None]["value"], skm.recall_score(y, pred), 1e-12)
    check("classify f1", m["f1", None]["value"], skm.f1_score(y, pred), 1e-12)


def rank(rng, d):
    users, items, k = 300, 40, 10
    rel = rng.random((users, items)) < 0.12
    rel[np.arange(users), rng.integers(0, items, users)] = True  # at least one each
    score = rng.random((users, items))
    recs, truth = [], []
    for u in range(users):
        order = np.argsort(-score[u])
        recs.append({"user": f"u{u}", "items": [f"i{j}" for j in order]})
        truth += [{"user": f"u{u}", "item": f"i{j}"} for j in np.flatnonzero(rel[u])]
    pr, pt = os.path.join(d, "recs.mpz"), os.path.join(d, "truth.mpz")
    write_stream(pr, recs)
    write_stream(pt, truth)
    m = run_eval(["--task", "rank", "--truth", pt, "--k", f"5,{k}"], pr)
    check("rank ndcg@10 = ndcg_score(k=10)", m[f"ndcg@{k}", None]["value"],
          skm.ndcg_score(rel.astype(float), score, k=k), 1e-12)
    check("rank ndcg@5 = ndcg_score(k=5)", m["ndcg@5", None]["value"],
          skm.ndcg_score(rel.astype(float), score, k=5), 1e-12)
    # The others by direct numpy computation from their definitions.
    top = np.argsort(-score, axis=1)[:, :k]
    hits = np.take_along_axis(rel, top, axis=1)
    nrel = rel.sum(axis=1)
    check("rank precision@10", m["precision@10", None]["value"], (hits.sum(1) / k).mean(), 1e-12)
    check("rank recall@10", m["recall@10", None]["value"], (hits.sum(1) / nrel).mean(), 1e-12)
    check("rank hr@10", m["hr@10", None]["value"], (hits.sum(1) > 0).mean(), 1e-12)
    prec_at = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    ap = (prec_at * hits).sum(1) / np.minimum(nrel, k)
    check("rank map@10", m["map@10", None]["value"], ap.mean(), 1e-12)
    full = np.take_along_axis(rel, np.argsort(-score, axis=1), axis=1)
    check("rank mrr", m["mrr", None]["value"], (1 / (full.argmax(1) + 1)).mean(), 1e-12)


def regress(rng, d):
    n = 2000
    y = rng.normal(10, 3, n)
    pred = y + rng.normal(0, 1.5, n)
    p = os.path.join(d, "reg.mpz")
    write_stream(p, [{"y": float(a), "f": float(b)} for a, b in zip(y, pred)])
    m = run_eval(["--task", "regress", "--label", "y", "--score", "f"], p)
    check("regress rmse", m["rmse", None]["value"], np.sqrt(skm.mean_squared_error(y, pred)), 1e-12)
    check("regress mae", m["mae", None]["value"], skm.mean_absolute_error(y, pred), 1e-12)
    check("regress r2 = r2_score", m["r2", None]["value"], skm.r2_score(y, pred), 1e-12)


def cluster(rng, d):
    centres = np.array([[0, 0, 0], [4, 1, 0], [1, 5, 2]])
    lab = rng.integers(0, 3, 900)
    X = centres[lab] + rng.normal(0, 1.2, (900, 3))
    p = os.path.join(d, "clu.mpz")
    write_stream(p, [{"a": float(r[0]), "b": float(r[1]), "c": float(r[2]), "seg": int(s)}
                     for r, s in zip(X, lab)])
    m = run_eval(["--task", "cluster", "--fields", "a,b,c", "--segment", "seg"], p)
    check("cluster silhouette = silhouette_score", m["silhouette", None]["value"],
          skm.silhouette_score(X, lab), 1e-12)
    check("cluster davies_bouldin = davies_bouldin_score", m["davies_bouldin", None]["value"],
          skm.davies_bouldin_score(X, lab), 1e-12)
    inertia = sum(((X[lab == c] - X[lab == c].mean(0)) ** 2).sum() for c in range(3))
    check("cluster inertia", m["inertia", None]["value"], inertia, 1e-12)


def ols(rng, d):
    n = 400
    X = np.column_stack([rng.normal(0, 1, n), rng.random(n) < 0.3, rng.normal(5, 2, n)])
    y = 3 + 1.5 * X[:, 0] - 2 * X[:, 1] + 0.2 * X[:, 2] + rng.normal(0, 2, n)
    p = os.path.join(d, "ols.mpz")
    write_stream(p, [{"y": float(t), "depth": float(r[0]), "display": bool(r[1]), "z": float(r[2])}
                     for t, r in zip(y, X)])
    m = run_eval(["--task", "ols", "--y", "y", "--x", "depth,display,z", "--predict",
                  "depth=0.5,display=1,z=4"], p)
    fit = sm.OLS(y, sm.add_constant(X.astype(float))).fit()
    names = ["intercept", "depth", "display", "z"]
    ci = fit.conf_int(0.05)
    for j, nm in enumerate(names):
        r = m[f"coef:{nm}", None]
        check(f"ols {nm}: coefficient, se, t, p = statsmodels OLS",
              [r["value"], r["se"], r["stat"], r["p"]],
              [fit.params[j], fit.bse[j], fit.tvalues[j], fit.pvalues[j]], 1e-9)
        check(f"ols {nm}: 95% interval = conf_int", [r["lo"], r["hi"]], ci[j], 1e-9)
    check("ols r2, adj_r2", [m["r2", None]["value"], m["adj_r2", None]["value"]],
          [fit.rsquared, fit.rsquared_adj], 1e-9)
    pred = fit.get_prediction(np.array([[1, 0.5, 1, 4]])).summary_frame(alpha=0.05)
    r = m["predict", None]
    check("ols predict and mean interval = get_prediction",
          [r["value"], r["lo"], r["hi"]],
          [pred["mean"][0], pred["mean_ci_lower"][0], pred["mean_ci_upper"][0]], 1e-9)


def effect(rng, d):
    n_c, n_t = 1800, 2100
    arm = np.array(["control"] * n_c + ["offer"] * n_t)
    conv = np.concatenate([rng.random(n_c) < 0.08, rng.random(n_t) < 0.105])
    rev = conv * rng.gamma(2.0, 20.0, n_c + n_t)
    p = os.path.join(d, "ab.mpz")
    write_stream(p, [{"arm": a, "bought": int(c), "rev": float(v)} for a, c, v in zip(arm, conv, rev)])
    m = run_eval(["--task", "effect", "--arm", "arm", "--outcome", "bought", "--revenue", "rev"], p)
    xt, xc = conv[n_c:].sum(), conv[:n_c].sum()
    r = m["rate", "offer"]
    check("effect rate: Wilson = proportion_confint(method='wilson')", [r["lo"], r["hi"]],
          proportion_confint(xt, n_t, alpha=0.05, method="wilson"), 1e-12)
    r = m["abs_lift", "offer"]
    lo, hi = confint_proportions_2indep(xt, n_t, xc, n_c, method="newcomb", compare="diff")
    check("effect abs_lift: Newcombe = confint_proportions_2indep(method='newcomb')",
          [r["value"], r["lo"], r["hi"]], [xt / n_t - xc / n_c, lo, hi], 1e-12)
    check("effect abs_lift p = proportions_ztest (pooled)", r["p"],
          proportions_ztest([xt, xc], [n_t, n_c])[1], 1e-9)
    r = m["rev_lift", "offer"]
    cm = CompareMeans(DescrStatsW(rev[n_c:]), DescrStatsW(rev[:n_c]))
    lo, hi = cm.tconfint_diff(alpha=0.05, usevar="unequal")
    _, pval, _ = cm.ttest_ind(usevar="unequal")
    check("effect rev_lift: Welch interval and p = CompareMeans(usevar='unequal')",
          [r["value"], r["lo"], r["hi"], r["p"]],
          [rev[n_c:].mean() - rev[:n_c].mean(), lo, hi, pval], 1e-9)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dir")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    with tempfile.TemporaryDirectory(dir=a.dir) as d:
        for f in (classify, rank, regress, cluster, ols, effect):
            f(rng, d)
    print(f"{failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
