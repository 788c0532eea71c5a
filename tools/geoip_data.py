#!/usr/bin/env python3
"""Regenerates data/geoip/countries.bin.zst, the offline address-to-country table trailscope
embeds, from the npm package @ip-location-db/geo-whois-asn-country (CSV, CC0-1.0; data from
the five RIRs via the NRO, CC BY 4.0).

Usage: tools/geoip_data.py PACKAGE   (a .tgz from `npm pack @ip-location-db/geo-whois-asn-country`
                                      or the unpacked directory holding package.json)
Prints the package version and the sizes; writes data/geoip/countries.bin.zst next to this
script's repository. Needs the `zstd` command.

The table (before zstd) is what src/country/geoip.rs decodes:
  b"TSGEO1", version length (1 byte) and version (ASCII),
  country count (1 byte) and the codes (2 ASCII bytes each; index 0 is "no country"),
  then for IPv4 and for IPv6: range count (u32 LE), the range starts as LEB128 deltas
  (IPv4 addresses; IPv6 /64 prefixes, the top 64 bits), then one country index per range.
Ranges cover the whole address space without gaps: a range holds until the next one starts,
and space no row names is a range with country index 0. Where the package's rows overlap
(a block followed by more specific blocks inside it), the row starting later wins from
its start to its end. IPv6 is
kept per /64: a /64 takes the country of its first address.
"""

import csv
import io
import json
import os
import subprocess
import sys
import tarfile

V6_BITS = 64  # /64 prefixes


def read_package(path):
    """(version, ipv4 rows, ipv6 rows) with rows as (start, end, code)."""
    files = {}
    if os.path.isdir(path):
        for name in ("package.json", "geo-whois-asn-country-ipv4-num.csv",
                     "geo-whois-asn-country-ipv6-num.csv"):
            with open(os.path.join(path, name), "rb") as f:
                files[name] = f.read()
    else:
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                name = os.path.basename(member.name)
                if name in ("package.json", "geo-whois-asn-country-ipv4-num.csv",
                            "geo-whois-asn-country-ipv6-num.csv"):
                    files[name] = tar.extractfile(member).read()
    version = json.loads(files["package.json"])["version"]

    def rows(name):
        text = io.StringIO(files[name].decode("ascii"))
        return [(int(s), int(e), c) for s, e, c in csv.reader(text)]

    return (version, rows("geo-whois-asn-country-ipv4-num.csv"),
            rows("geo-whois-asn-country-ipv6-num.csv"))


def flatten(rows):
    """Non-overlapping (start, end, code) segments; a row inside another wins over it."""
    rows = sorted(rows, key=lambda r: (r[0], -r[1]))
    out = []
    stack = []  # open rows: (end, code)
    cursor = 0

    def emit(start, end, code):
        if start <= end:
            out.append((start, end, code))

    for start, end, code in rows:
        while stack and stack[-1][0] < start:
            top_end, top_code = stack.pop()
            if cursor <= top_end:
                emit(cursor, top_end, top_code)
                cursor = top_end + 1
        if stack:
            emit(cursor, start - 1, stack[-1][1])
        cursor = max(cursor, start)
        stack.append((end, code))
    while stack:
        top_end, top_code = stack.pop()
        if cursor <= top_end:
            emit(cursor, top_end, top_code)
            cursor = top_end + 1
    return out


def ranges(segments, shift, bits):
    """(start, code) ranges covering everything from 0, gaps as None, equal neighbours merged.
    With `shift`, addresses become prefixes of (bits - shift) bits: a prefix takes the code
    of the segment holding its first address."""
    out = []

    def push(start, code):
        if out and out[-1][0] == start:
            out[-1] = (start, code) if out[-1][1] is None else out[-1]
            return
        if out and out[-1][1] == code:
            return
        out.append((start, code))

    expected = 0
    for start, end, code in segments:
        first = (start + (1 << shift) - 1) >> shift  # first prefix whose first address is in
        last = end >> shift
        if first > last:
            continue  # lies inside one prefix that starts elsewhere
        if first > expected:
            push(expected, None)
        push(first, code)
        expected = last + 1
    if expected < 1 << (bits - shift):
        push(expected, None)
    if out[0][0] != 0:
        out.insert(0, (0, None))
    return out


def leb128(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode(version, v4, v6):
    codes = sorted({c for _, c in v4 + v6 if c is not None})
    if len(codes) > 255:
        sys.exit("more than 255 countries")
    index = {c: i + 1 for i, c in enumerate(codes)}
    out = bytearray(b"TSGEO1")
    out.append(len(version))
    out += version.encode("ascii")
    out.append(len(codes))
    for c in codes:
        if len(c) != 2:
            sys.exit(f"country code {c!r} is not two letters")
        out += c.encode("ascii")
    for table in (v4, v6):
        out += len(table).to_bytes(4, "little")
        previous = 0
        for start, _ in table:
            out += leb128(start - previous)
            previous = start
        out += bytes(0 if c is None else index[c] for _, c in table)
    return bytes(out)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    version, v4_rows, v6_rows = read_package(sys.argv[1])
    v4 = ranges(flatten(v4_rows), 0, 32)
    v6 = ranges(flatten(v6_rows), 128 - V6_BITS, 128)
    raw = encode(version, v4, v6)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = os.path.join(root, "data", "geoip", "countries.bin.zst")
    packed = subprocess.run(["zstd", "-19", "-q", "-c"], input=raw,
                            capture_output=True, check=True).stdout
    with open(target, "wb") as f:
        f.write(packed)
    print(f"@ip-location-db/geo-whois-asn-country {version}")
    print(f"IPv4 ranges: {len(v4)} (from {len(v4_rows)} rows)")
    print(f"IPv6 /64 ranges: {len(v6)} (from {len(v6_rows)} rows)")
    print(f"table: {len(raw)} bytes, {target}: {len(packed)} bytes")


if __name__ == "__main__":
    main()
