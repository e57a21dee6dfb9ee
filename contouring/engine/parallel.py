"""Work items of one process computed on a few threads, their results in the given order.

The comparison's pairs spend their time in KD-tree queries, sorts and array arithmetic,
which release the GIL: on a few threads one worker process uses several cores. A caller
keeps everything that touches the database (the progress of a job) in its own thread, as
the results come back in order.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Threads:
    """``with Threads(n) as threads: threads.map(f, items)``: in order, on ``n`` threads
    (``n`` ≤ 1: in the caller's thread, nothing started). On leaving, the pool stops and
    the memory its threads freed is given back to the system."""

    def __init__(self, count: int) -> None:
        self._pool = ThreadPoolExecutor(count) if count > 1 else None

    def map(self, function: Callable[[Item], Result], items: Iterable[Item]) -> Iterator[Result]:
        if self._pool is None:
            return map(function, items)
        return self._pool.map(function, items)

    def __enter__(self) -> Threads:
        return self

    def __exit__(self, *exc_info) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            return_freed_memory()


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


def return_freed_memory() -> None:
    """Give the memory freed by finished threads back to the system: glibc gives each
    thread a heap of its own and keeps what they freed, so the process would stay that
    large for whatever it does next (in one process, the report and the DVHs)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
