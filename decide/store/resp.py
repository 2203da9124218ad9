"""Redis commands as the bytes on the wire (RESP), packed once for a whole pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.exceptions import DataError


def pack_commands(names: Sequence[str], ops: Sequence[tuple[str, tuple[Any, ...]]]) -> bytes:
    """RESP arrays of bulk strings, encoded as redis-py's Encoder does (bytes as they are, str
    as UTF-8, int and float by repr, anything else refused). Exact types first: this runs for
    every argument of the hot path."""
    out: list[bytes] = []
    append = out.append
    for name, (_, args) in zip(names, ops, strict=True):
        append(b"*%d\r\n$%d\r\n%s\r\n" % (len(args) + 1, len(name), name.encode()))
        for arg in args:
            kind = type(arg)
            if kind is str:
                data = arg.encode()
            elif kind is bytes:
                data = arg
            elif kind is int or kind is float:
                data = repr(arg).encode()
            else:
                data = _encode_other(arg)
            append(b"$%d\r\n" % len(data))
            append(data)
            append(b"\r\n")
    return b"".join(out)


def _encode_other(arg: Any) -> bytes:
    if isinstance(arg, str):
        return arg.encode()
    if isinstance(arg, (bytes, bytearray, memoryview)):
        return bytes(arg)
    if isinstance(arg, (int, float)) and not isinstance(arg, bool):
        return repr(arg).encode()
    raise DataError(f"Invalid input of type: {type(arg).__name__!r}")
