"""Forked worker processes standing in for concurrent Lambda invocations (each its own execution
environment): the throughput benchmark and the engine tier's exactness test share this."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def in_forked_workers(parts: list[Any], work: Callable[[int, Any, Any], T], timeout: float = 600) -> list[T]:
    """``work(index, part, barrier)`` for each part, each in a forked process of its own, all
    sharing one barrier (so they can start together); what each returns, in the order they
    finish. An exception in a worker fails the caller with its repr (not lost in the child)."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(len(parts))
    results = context.Queue()

    def main(index: int, part: Any) -> None:
        try:
            results.put((work(index, part, barrier), ""))
        except BaseException as exc:  # reported to the caller, not lost in the child
            results.put((None, repr(exc)))
            raise

    processes = [context.Process(target=main, args=(i, p), daemon=True) for i, p in enumerate(parts)]
    for process in processes:
        process.start()
    collected = [results.get(timeout=timeout) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    errors = [error for _, error in collected if error]
    assert not errors, errors
    return [result for result, _ in collected]
