"""The peer of bench/cf.sh: data for the ALS benchmark, and a straightforward
numpy implementation of the same implicit-feedback ALS (Hu, Koren and
Volinsky 2008) with the same conjugate-gradient update (Takacs et al. 2011)
that promo-train-cf --algo als runs, plus full-ranking HR@10.

  cf_numpy.py gen DIR USERS ITEMS N SEED   write DIR/train.tsv, DIR/test.tsv
  cf_numpy.py als DIR FACTORS ITERS REG ALPHA CG_STEPS
      train on DIR/train.tsv; print "seconds_per_iter S" and "hr10 H"
  cf_numpy.py pop DIR    print "hr10 H" of the popularity ranking

The data is low-rank with noise: each user mixes a few of 32 latent tastes
(Dirichlet 0.1), each taste prefers its own items on top of a log-normal
item popularity, and 10% of the interactions are drawn by popularity alone.
Leave-one-out: one random interaction per user (users with at least 2) is
the holdout; the rest is the training set.  Everything is seeded.
"""
import os
import sys
import time

import numpy as np


def gen(d, nu, ni, n, seed):
    rng = np.random.default_rng(seed)
    k = 32
    pop = rng.lognormal(0, 1.0, ni)
    taste = rng.normal(0, 3.0, (k, ni))
    phi = pop[None, :] * np.exp(taste)
    cdf = np.cumsum(phi, 1)
    cdf /= cdf[:, -1:]
    pcdf = np.cumsum(pop) / pop.sum()
    theta = rng.dirichlet(np.full(k, 0.1), nu)
    tcdf = np.cumsum(theta, 1)
    # each user's number of draws: geometric around the mean, at least 5;
    # more draws until the distinct pairs reach n
    per = n / nu * 1.12
    while True:
        cnt = np.maximum(5, rng.geometric(1 / per, nu))
        users = np.repeat(np.arange(nu), cnt)
        m = users.size
        r = rng.random(m)
        topic = np.empty(m, np.int64)
        for lo in range(0, m, 1 << 19):   # in chunks: m x k would be large
            hi = min(m, lo + (1 << 19))
            topic[lo:hi] = (tcdf[users[lo:hi]] < r[lo:hi, None]).sum(1)
        topic = np.minimum(topic, k - 1)
        items = np.empty(m, np.int64)
        u01 = rng.random(m)
        for t in range(k):
            sel = topic == t
            items[sel] = np.searchsorted(cdf[t], u01[sel])
        noise = rng.random(m) < 0.10
        items[noise] = np.searchsorted(pcdf, rng.random(noise.sum()))
        items = np.minimum(items, ni - 1)
        pairs = np.unique(users * ni + items)
        if pairs.size >= n:
            break
        per *= n / pairs.size * 1.05
    rng.shuffle(pairs)
    pairs = np.sort(pairs[:n])
    u = pairs // ni
    i = pairs % ni
    # leave one out: a random entry of each user with at least 2
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    ends = np.r_[starts[1:], u.size]
    size = ends - starts
    ok = size >= 2
    pick = starts[ok] + (rng.random(ok.sum()) * size[ok]).astype(np.int64)
    test = np.zeros(u.size, bool)
    test[pick] = True
    with open(os.path.join(d, "train.tsv"), "w") as f:
        np.savetxt(f, np.c_[u[~test] + 1, i[~test] + 1], fmt="%d", delimiter="\t")
    with open(os.path.join(d, "test.tsv"), "w") as f:
        np.savetxt(f, np.c_[u[test] + 1, i[test] + 1], fmt="%d", delimiter="\t")


def load(d):
    tr = np.loadtxt(os.path.join(d, "train.tsv"), dtype=np.int64, delimiter="\t")
    te = np.loadtxt(os.path.join(d, "test.tsv"), dtype=np.int64, delimiter="\t")
    nu = int(max(tr[:, 0].max(), te[:, 0].max()))
    ni = int(max(tr[:, 1].max(), te[:, 1].max()))
    return tr - 1, te - 1, nu, ni


def csr(rows, cols, n):
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    indptr = np.zeros(n + 1, np.int64)
    np.add.at(indptr, rows + 1, 1)
    return np.cumsum(indptr), cols


def cg_half(X, Y, indptr, idx, reg, alpha, steps, block=400000):
    """One half-step: every row of X by `steps` CG steps from its value,
    for the system (Y'Y + reg I + sum (c-1) y y') x = sum c y, c = 1 + alpha."""
    f = X.shape[1]
    G = (Y.T @ Y + reg * np.eye(f, dtype=np.float32)).astype(np.float32)
    n = X.shape[0]
    c1 = np.float32(alpha)          # c - 1 for weight 1
    lo = 0
    while lo < n:
        # rows holding about `block` interactions (at least one row)
        hi = int(np.searchsorted(indptr, indptr[lo] + block, side="right")) - 1
        hi = min(n, max(hi, lo + 1))
        a, b = indptr[lo], indptr[hi]
        cols = idx[a:b]
        seg = np.repeat(np.arange(hi - lo), np.diff(indptr[lo:hi + 1]))
        starts = indptr[lo:hi] - a
        nonempty = np.diff(indptr[lo:hi + 1]) > 0
        Yc = Y[cols]                                  # one row per interaction

        def rowsum(v):
            out = np.zeros((hi - lo, f), np.float32)
            if v.shape[0]:
                out[nonempty] = np.add.reduceat(v, starts[nonempty], axis=0)
            return out

        x = X[lo:hi]
        s = np.einsum("ij,ij->i", Yc, x[seg])
        r = rowsum(Yc * ((1 + c1) - c1 * s)[:, None]) - x @ G
        p = r.copy()
        rs = np.einsum("ij,ij->i", r, r)
        for _ in range(steps):
            sp = np.einsum("ij,ij->i", Yc, p[seg])
            Ap = p @ G + rowsum(Yc * (c1 * sp)[:, None])
            pAp = np.einsum("ij,ij->i", p, Ap)
            a_ = np.where(pAp > 0, rs / np.where(pAp > 0, pAp, 1), 0).astype(np.float32)
            x += a_[:, None] * p
            r -= a_[:, None] * Ap
            rsn = np.einsum("ij,ij->i", r, r)
            beta = np.where(rs > 0, rsn / np.where(rs > 0, rs, 1), 0).astype(np.float32)
            p = r + beta[:, None] * p
            rs = rsn
        X[lo:hi] = x
        lo = hi


def hr10(score_block, tr_indptr, tr_idx, te, nu, block=2048):
    truth = np.full(nu, -1, np.int64)
    truth[te[:, 0]] = te[:, 1]
    hits = users = 0
    for lo in range(0, nu, block):
        hi = min(nu, lo + block)
        S = score_block(lo, hi)
        rows = np.repeat(np.arange(hi - lo), np.diff(tr_indptr[lo:hi + 1]))
        S[rows, tr_idx[tr_indptr[lo]:tr_indptr[hi]]] = -np.inf
        top = np.argpartition(-S, 10, axis=1)[:, :10]
        t = truth[lo:hi]
        has = t >= 0
        hits += int((top[has] == t[has][:, None]).any(1).sum())
        users += int(has.sum())
    return hits / users


def main():
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == "gen":
        gen(d, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
        return
    tr, te, nu, ni = load(d)
    uptr, uidx = csr(tr[:, 0], tr[:, 1], nu)
    if cmd == "pop":
        pop = np.bincount(tr[:, 1], minlength=ni).astype(np.float32)
        print("hr10 %.4f" % hr10(lambda lo, hi: np.tile(pop, (hi - lo, 1)), uptr, uidx, te, nu))
        return
    f, iters, reg, alpha, steps = (int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]),
                                   float(sys.argv[6]), int(sys.argv[7]))
    iptr, iidx = csr(tr[:, 1], tr[:, 0], ni)
    rng = np.random.default_rng(1)
    X = (rng.normal(0, 0.01, (nu, f))).astype(np.float32)
    Y = (rng.normal(0, 0.01, (ni, f))).astype(np.float32)
    t0 = time.perf_counter()
    for _ in range(iters):
        cg_half(X, Y, uptr, uidx, reg, alpha, steps)
        cg_half(Y, X, iptr, iidx, reg, alpha, steps)
    t = time.perf_counter() - t0
    print("seconds_per_iter %.3f" % (t / iters))
    print("hr10 %.4f" % hr10(lambda lo, hi: X[lo:hi] @ Y.T, uptr, uidx, te, nu))


if __name__ == "__main__":
    main()
