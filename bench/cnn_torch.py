"""The PyTorch peer of bench/cnn.sh: the architecture of promo-train-cnn's
defaults (docs/train-cnn.md), trained the same way on the same data.

Embeddings ev:4, cat:16, price_b:4, gap_b:4 (index 0 = padding, kept at
zero), concatenated; causal 1-D convolutions of widths 2, 3 and 5 (zeros
before the start, an output at every position) with 32 filters each and
ReLU; max and mean pooling over the valid positions (t >= L - len); the
pooled values into a dense layer of 64 (ReLU, dropout 0.2) and a sigmoid
output; binary cross-entropy, Adam (lr 0.001), minibatches of 256 in a
shuffled order, PyTorch's default initialisation.

Usage: cnn_torch.py TRAIN_PREFIX VALID_PREFIX EPOCHS THREADS BATCH
Prints one JSON line per epoch: epoch, seconds (training passes only),
valid_auc, valid_loss.
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

VOCAB = (6, 100, 17, 11)      # ev, cat, price_b, gap_b sizes of bench/cnn_gen.c
DIMS = (4, 16, 4, 4)
WIDTHS = (2, 3, 5)
FILTERS = 32
HIDDEN = 64
DROPOUT = 0.2


class Net(nn.Module):
    def __init__(self, L):
        super().__init__()
        self.L = L
        self.emb = nn.ModuleList(nn.Embedding(v, d, padding_idx=0) for v, d in zip(VOCAB, DIMS))
        E = sum(DIMS)
        self.convs = nn.ModuleList(nn.Conv1d(E, FILTERS, w) for w in WIDTHS)
        self.hidden = nn.Linear(2 * FILTERS * len(WIDTHS), HIDDEN)
        self.out = nn.Linear(HIDDEN, 1)
        self.drop = nn.Dropout(DROPOUT)

    def forward(self, tok, lens):
        # tok [B][4][L] long, lens [B]
        x = torch.cat([e(tok[:, i]) for i, e in enumerate(self.emb)], 2)   # B, L, E
        x = x.transpose(1, 2)                                                # B, E, L
        pos = torch.arange(self.L, device=tok.device)
        invalid = (pos[None, :] < (self.L - lens)[:, None])[:, None, :]     # B, 1, L
        count = lens.clamp(min=1).to(x.dtype)[:, None]
        pooled = []
        for w, conv in zip(WIDTHS, self.convs):
            z = F.relu(conv(F.pad(x, (w - 1, 0))))                          # B, F, L
            pooled.append(z.masked_fill(invalid, float("-inf")).max(2).values)
            pooled.append(z.masked_fill(invalid, 0.0).sum(2) / count)
        h = self.drop(F.relu(self.hidden(torch.cat(pooled, 1))))
        return self.out(h).squeeze(1)


def auc(score, label):
    """ROC AUC with ties counted one half (the rank-sum formula)."""
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(s))
    r[order] = ranks
    pos = label == 1
    npos, nneg = pos.sum(), (~pos).sum()
    return (r[pos].sum() - npos * (npos + 1) / 2) / (npos * nneg)


def load(prefix):
    tok = torch.from_numpy(np.load(prefix + ".tok.npy"))
    lens = torch.from_numpy(np.load(prefix + ".len.npy")).long()
    y = torch.from_numpy(np.load(prefix + ".label.npy"))
    return tok, lens, y


def main():
    train, valid, epochs, threads, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
        int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    tok, lens, y = load(train)
    vtok, vlens, vy = load(valid)
    model = Net(tok.shape[2])
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = tok.shape[0]
    for epoch in range(1, epochs + 1):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        for s in range(0, n, batch):
            idx = perm[s:s + batch]
            opt.zero_grad()
            logit = model(tok[idx].long(), lens[idx])
            loss = F.binary_cross_entropy_with_logits(logit, y[idx])
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            logits = torch.cat([model(vtok[s:s + 4096].long(), vlens[s:s + 4096])
                                for s in range(0, vtok.shape[0], 4096)])
            vloss = F.binary_cross_entropy_with_logits(logits, vy).item()
        p = torch.sigmoid(logits).numpy().astype(np.float64)
        print(json.dumps({"epoch": epoch, "seconds": round(seconds, 3),
                          "valid_auc": round(float(auc(p, vy.numpy())), 5),
                          "valid_loss": round(vloss, 5)}), flush=True)


if __name__ == "__main__":
    main()
