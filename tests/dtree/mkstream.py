#!/usr/bin/env python3
"""Write a plain (uncompressed) promoloop stream from JSON, for hand-made
bad models: the first line of stdin is the header, each further line a
record, as promo-cat --header and --format jsonl print them.

Usage: mkstream.py < lines.jsonl > stream.mpz"""
import json
import struct
import sys


def pack(o, out):
    if o is None:
        out += b"\xc0"
    elif o is True or o is False:
        out += b"\xc3" if o else b"\xc2"
    elif isinstance(o, int):
        if 0 <= o < 128:
            out += bytes([o])
        elif -32 <= o < 0:
            out += struct.pack("b", o)
        elif o >= 0:
            out += b"\xcf" + struct.pack(">Q", o)
        else:
            out += b"\xd3" + struct.pack(">q", o)
    elif isinstance(o, float):
        out += b"\xcb" + struct.pack(">d", o)
    elif isinstance(o, str):
        b = o.encode()
        if len(b) < 32:
            out += bytes([0xa0 | len(b)]) + b
        else:
            out += b"\xdb" + struct.pack(">I", len(b)) + b
    elif isinstance(o, list):
        if len(o) < 16:
            out += bytes([0x90 | len(o)])
        else:
            out += b"\xdd" + struct.pack(">I", len(o))
        for e in o:
            pack(e, out)
    elif isinstance(o, dict):
        if len(o) < 16:
            out += bytes([0x80 | len(o)])
        else:
            out += b"\xdf" + struct.pack(">I", len(o))
        for k, v in o.items():
            pack(k, out)
            pack(v, out)
    else:
        raise TypeError(type(o))


out = bytearray()
for line in sys.stdin:
    if line.strip():
        pack(json.loads(line), out)
sys.stdout.buffer.write(out)
