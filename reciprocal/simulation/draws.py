"""Draws fixed by a key, shared by the simulations so that policies and modes stay paired."""
from __future__ import annotations

import hashlib


def uniform(*key: object) -> float:
    """A uniform number in [0, 1) fixed by `key`: the same for every policy and every run."""
    digest = hashlib.blake2b("/".join(map(str, key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2 ** 64
