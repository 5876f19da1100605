"""Hypothesis strategies: structure-aware mutations of valid seed files, and URL-shaped text."""

from __future__ import annotations

import struct

from hypothesis import strategies as st

_INTERESTING_32 = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    """A seed file after 1-8 mutations: bit flips, interesting integers (sizes, dimensions, counts),
    truncation, insertion, duplication of a slice, or a splice with another seed."""
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 8))):
        if not data:
            data += draw(st.binary(min_size=1, max_size=64))
            continue
        kind = draw(st.sampled_from(["flip", "byte", "int32", "int16", "truncate", "insert", "dup", "splice"]))
        # mutations cluster in headers, where the parsers make their decisions
        i = draw(st.one_of(st.integers(0, min(len(data) - 1, 256)), st.integers(0, len(data) - 1)))
        if kind == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte":
            data[i] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFE, 0xFF]))
        elif kind in ("int32", "int16"):
            value = draw(st.sampled_from(_INTERESTING_32))
            fmt = draw(st.sampled_from([">I", "<I"])) if kind == "int32" else draw(st.sampled_from([">H", "<H"]))
            packed = struct.pack(fmt, value & (0xFFFFFFFF if kind == "int32" else 0xFFFF))
            data[i : i + len(packed)] = packed
        elif kind == "truncate":
            del data[i:]
        elif kind == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=32))
        elif kind == "dup":
            j = draw(st.integers(i, min(len(data), i + 4096)))
            data[j:j] = data[i:j] * draw(st.integers(1, 16))
        else:
            other = draw(st.sampled_from(seeds))
            k = draw(st.integers(0, len(other)))
            data[i:] = other[k:]
    return bytes(data)


_HOSTS = [
    "media.example.com",
    "93.184.216.34",
    "127.0.0.1",
    "127.1",
    "0x7f000001",
    "2130706433",
    "017700000001",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[64:ff9b::a9fe:a9fe]",
    "[2002:a9fe:a9fe::]",
    "[fd00:ec2::254]",
    "[fe80::1%25eth0]",
    "169.254.169.254",
    "0.0.0.0",
    "localhost",
    "localhost.",
    "ⓛocalhost",
    "１２７.0.0.1",
    "127。0。0。1",
    "xn--lcalhost-8ya",
    "[::]",
    "0",
    "10.1",
    "[2606:2800:220:1::1]",
]


@st.composite
def url_like(draw: st.DrawFn) -> bytes:
    """URL-shaped text: real SSRF spellings glued together with random separators and junk."""
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "hTtPs", "file", "gopher", "ftp", "data", "", "http:"]))
    sep = draw(st.sampled_from(["://", ":/", ":", ":///", "://\\", "//"]))
    userinfo = draw(st.sampled_from(["", "user@", "user:pw@", "media.example.com@", "a@b@", "%40@", "@"]))
    host = draw(st.sampled_from(_HOSTS))
    port = draw(st.sampled_from(["", ":80", ":9001", ":0", ":65536", ":-1", ":8080:80", ": 80", ":0x50"]))
    path = draw(st.sampled_from(["", "/", "/a.jpg", "?x=1", "#@127.0.0.1", "/\\@127.0.0.1", "/%2e%2e/"]))
    junk = draw(st.text(max_size=8))
    where = draw(st.integers(0, 5))
    parts = [scheme, sep, userinfo, host, port, path]
    parts.insert(where, junk)
    return "".join(parts).encode("utf-8", "surrogatepass")


@st.composite
def json_body_like(draw: st.DrawFn) -> bytes:
    """JSON-shaped request bodies built to break parsers: deep nesting (past the recursion limit), numbers
    past Python's 4,300-digit int limit, NaN/Infinity, broken escapes, brackets inside strings."""
    depth = draw(st.sampled_from([0, 1, 31, 32, 33, 100, 999, 1001, 3000, 20000]))
    opener = draw(st.sampled_from(["[", '{"a":', '{"source_url":[', '"[",[']))
    digits = draw(st.sampled_from([1, 20, 64, 65, 4300, 4301, 5000, 20000]))
    number = draw(st.sampled_from(["", "-", "0.", "1e", "-0.0"])) + "9" * digits
    leaf = draw(
        st.sampled_from(
            [number, "NaN", "Infinity", "-Infinity", '"\\ud800"', '"\\u12"', '"\\', '"[[[["', "true", "null", ""]
        )
    )
    field = draw(st.sampled_from(["source_url", "target_url", "details", "extra", ""]))
    closer = draw(st.sampled_from(["]", "}", ""]))
    core = opener * depth + leaf + closer * draw(st.sampled_from([0, depth]))
    shape = draw(st.integers(0, 2))
    if shape == 0:
        text = core
    elif shape == 1:
        text = '{"source_url": "http://x/a", "target_url": "http://x/b", "' + field + '": ' + core + "}"
    else:
        text = '{"' + field + '": ' + number + ', "source_url": ' + core + "}"
    return text.encode("utf-8", "surrogatepass")


def for_target(name: str, seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    if name == "body":
        return st.one_of(json_body_like(), mutated(seeds), st.binary(max_size=300))
    if name == "url":
        return st.one_of(url_like(), st.binary(max_size=300), mutated(seeds))
    return st.one_of(mutated(seeds), st.binary(max_size=512))
