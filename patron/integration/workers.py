"""Rows in, prepared batches out: normalisation on every core while the main process writes.

Mapping and normalising a row (names split by nameparser, phones parsed by phonenumbers,
emails validated, dates read, the search document built) is pure Python and costs more
than writing it, so a large import hands whole batches of raw rows to worker processes and
writes the prepared batches as they come back, in file order. At most a few batches are in
flight at any time, so memory stays flat however large the file is; the checkpoint of each
batch (`rows_consumed`, `bytes_done`) is taken when the main process read it, so resuming
after a crash is exactly as in a single process.

Workers are started by a fork server, never forked from the importing process (which may run
other threads): each sets Django up and rebuilds the run's normaliser (`worker_boot`), and
never touches the database. Small imports, previews and API batches stay in one process
(`workers=0`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from . import worker_boot
from .fields import RowNormaliser
from .prepared import Prepared, precompute, prepare
from .readers import BadRow

PARALLEL_FROM = 20_000  # rows; below this, starting processes costs more than it saves

Raw = tuple[int, dict[str, Any]] | BadRow


@dataclass
class Batch:
    """Prepared rows, and where the file stood once they were read (the checkpoint)."""

    items: list[Prepared | BadRow]
    rows_consumed: int
    bytes_done: int


def default_workers() -> int:
    """`PATRON_IMPORT_WORKERS`, or one worker per core."""
    configured = os.environ.get("PATRON_IMPORT_WORKERS", "")
    if configured.strip():
        return max(0, int(configured))
    return os.cpu_count() or 1


def prepared_batches(
    rows: Iterator[Raw],
    *,
    normaliser: RowNormaliser,
    key_column: str,
    batch_size: int,
    consumed: int,
    position: Callable[[], int],
    workers: int = 0,
) -> Generator[Batch, None, None]:
    """Read `rows` (counting from `consumed`) and yield prepared batches in order.

    `position()` tells how many bytes of the file have been read, for the progress bar."""
    raw_batches = _raw_batches(rows, batch_size=batch_size, consumed=consumed, position=position)
    if workers <= 0:
        job = _Job(normaliser, key_column, ahead=False)
        for items, done, read in raw_batches:
            yield Batch(job.prepare(items), done, read)
        return
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["patron.integration.worker_boot"])
    executor = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=worker_boot.start,
        initargs=(worker_boot.spec_of(normaliser, key_column),),
    )
    in_flight: deque[tuple[Future[list[Prepared | BadRow]], int, int]] = deque()
    try:
        for items, done, read in raw_batches:
            in_flight.append((executor.submit(worker_boot.prepare, items), done, read))
            if len(in_flight) > workers:
                future, done, read = in_flight.popleft()
                yield Batch(future.result(), done, read)
        while in_flight:
            future, done, read = in_flight.popleft()
            yield Batch(future.result(), done, read)
    finally:
        # Also on cancel, failure or the caller stopping early: drop what is queued.
        executor.shutdown(wait=True, cancel_futures=True)


def _raw_batches(
    rows: Iterator[Raw], *, batch_size: int, consumed: int, position: Callable[[], int]
) -> Iterator[tuple[list[Raw], int, int]]:
    batch: list[Raw] = []
    for item in rows:
        consumed += 1
        batch.append(item)
        if len(batch) >= batch_size:
            yield batch, consumed, position()
            batch = []
    yield batch, consumed, -1  # the last batch: the caller knows the file was read to its end


class _Job:
    """What a worker needs to prepare rows of one run."""

    def __init__(self, normaliser: RowNormaliser, key_column: str, *, ahead: bool) -> None:
        self.normaliser = normaliser
        self.key_column = key_column
        self.ahead = ahead  # precompute what the writer needs (in a worker)

    def prepare(self, items: list[Raw]) -> list[Prepared | BadRow]:
        out: list[Prepared | BadRow] = []
        entity = self.normaliser.entity
        for item in items:
            if isinstance(item, BadRow):
                out.append(item)
                continue
            line, row = item
            prepared = prepare(line, row, self.normaliser, self.key_column)
            out.append(precompute(prepared, entity) if self.ahead else prepared)
        return out
