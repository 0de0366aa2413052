#!/usr/bin/env bash
# seq-jsonl.sh N SEED [x1]: N JSON lines of kind sequences for the CNN
# tests.  ev holds the bigram 3 4 exactly when label is 1 (negatives hold
# 4 3), left-padded with 0 to 12 tokens; len is the unpadded length.  With
# "x1", each line also has x1, a noisy copy of the label (a numeric feature).
set -euo pipefail
awk -v n="$1" -v seed="$2" -v x1="${3:-}" 'BEGIN {
  srand(seed); L = 12;
  for (u = 1; u <= n; u++) {
    len = 4 + int(rand() * 9); pos = rand() < 0.5;
    for (;;) {
      for (t = 0; t < L; t++) ev[t] = t < L - len ? 0 : 2 + int(rand() * 8);
      p = L - len + int(rand() * (len - 1));
      if (pos) { ev[p] = 3; ev[p + 1] = 4 } else { ev[p] = 4; ev[p + 1] = 3 }
      has = 0; for (t = L - len; t < L - 1; t++) if (ev[t] == 3 && ev[t + 1] == 4) has = 1;
      if (has == pos) break;
    }
    s = ""; for (t = 0; t < L; t++) s = s (t ? "," : "") ev[t];
    if (x1 == "x1")
      printf "{\"user\":%d,\"ev\":[%s],\"len\":%d,\"x1\":%.3f,\"label\":%d}\n", u, s, len, pos + rand() * 2, pos
    else
      printf "{\"user\":%d,\"ev\":[%s],\"len\":%d,\"label\":%d}\n", u, s, len, pos
  } }'
