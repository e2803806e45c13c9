"""Many Salesforce-style ids at once: :func:`crm_core.org.ids.make_id` vectorized with numpy.

Bulk generation makes millions of ids; this computes the same ids as ``make_id`` (the tests
compare them) about fifty times faster.
"""

from __future__ import annotations

import numpy as np

from crm_core.org.ids import (
    _BASE62,
    _BODY_LEN,
    _INSTANCE,
    _SCATTER,
    _SPACE,
    _SUFFIX_CHARS,
    KEY_PREFIXES,
    OBJECT_OFFSETS,
)

_BASE62_BYTES = np.frombuffer(_BASE62.encode(), dtype=np.uint8)
_SUFFIX_BYTES = np.frombuffer(_SUFFIX_CHARS.encode(), dtype=np.uint8)


def make_ids(object_name: str, sequences: np.ndarray | range) -> list[str]:
    """The 18-character ids of the given 0-based sequence numbers (below 2**31) of an object."""
    seq = np.asarray(sequences, dtype=np.int64)
    if n_bad := int(((seq < 0) | (seq >= 2**31)).sum()):
        raise ValueError(f"{n_bad} sequence numbers outside 0..2**31-1")
    n = len(seq)
    head = (KEY_PREFIXES[object_name] + _INSTANCE).encode()
    chars = np.empty((n, 18), dtype=np.uint8)
    chars[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    number = (seq * _SCATTER + OBJECT_OFFSETS[object_name]) % _SPACE
    for position in range(14, 14 - _BODY_LEN, -1):
        number, digit = np.divmod(number, 62)
        chars[:, position] = _BASE62_BYTES[digit]
    upper = (chars[:, :15] >= ord("A")) & (chars[:, :15] <= ord("Z"))
    weights = 1 << np.arange(5)
    for block in range(3):
        bits = (upper[:, block * 5 : block * 5 + 5] * weights).sum(axis=1)
        chars[:, 15 + block] = _SUFFIX_BYTES[bits]
    flat = chars.tobytes().decode("ascii")
    return [flat[i : i + 18] for i in range(0, 18 * n, 18)]
