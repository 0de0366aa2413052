#!/usr/bin/env python3
"""The shard of a key, computed independently of promoloop's C code.

Reads one key per line on stdin (the key's text: a string's bytes, a
number's decimal digits) and prints "KEY,HASH,SHARD" for N shards (argv[1]).
SipHash-2-4 (Aumasson and Bernstein) under the key 00 01 02 ... 0f, as
docs/scale.md specifies."""
import sys

M = (1 << 64) - 1


def rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & M


def siphash24(k0, k1, data):
    v0 = 0x736F6D6570736575 ^ k0
    v1 = 0x646F72616E646F6D ^ k1
    v2 = 0x6C7967656E657261 ^ k0
    v3 = 0x7465646279746573 ^ k1

    def rounds(n):
        nonlocal v0, v1, v2, v3
        for _ in range(n):
            v0 = (v0 + v1) & M; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
            v2 = (v2 + v3) & M; v3 = rotl(v3, 16); v3 ^= v2
            v0 = (v0 + v3) & M; v3 = rotl(v3, 21); v3 ^= v0
            v2 = (v2 + v1) & M; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)

    n = len(data)
    tail = data[n - n % 8:] + bytes(7 - n % 8) + bytes([n & 0xFF])
    blocks = data[:n - n % 8] + tail
    for i in range(0, len(blocks), 8):
        m = int.from_bytes(blocks[i:i + 8], "little")
        v3 ^= m
        rounds(2)
        v0 ^= m
    v2 ^= 0xFF
    rounds(4)
    return v0 ^ v1 ^ v2 ^ v3


KEY = (0x0706050403020100, 0x0F0E0D0C0B0A0908)
# The reference test vector: 15 bytes 00..0e under this key.
assert siphash24(*KEY, bytes(range(15))) == 0xA129CA6149BE45E5

n = int(sys.argv[1])
for line in sys.stdin.buffer:
    key = line.rstrip(b"\n")
    h = siphash24(*KEY, key)
    sys.stdout.write("%s,%d,%d\n" % (key.decode("utf-8"), h, h % n))
