"""Rows in, prepared batches out: normalisation on every core while the main process writes.

Mapping and normalising a row (names split by nameparser, phones parsed by phonenumbers,
emails validated, dates read, the search document built) is pure Python and costs more
than writing it, so a large import hands whole batches of raw rows to worker processes and
writes the prepared batches as they come back, in file order. At most a few batches are in
flight at any time, so memory stays flat however large the file is; the checkpoint of each
batch (`rows_consumed`, `bytes_done`) is taken when the main process read it, so resuming
after a crash is exactly as in a single process.

Workers are forked: they inherit Django's setup and the run's normaliser, and never touch
the database. The database connections they inherit belong to the parent; a worker drops
its references to them without closing them (closing would end the parent's session).
Small imports, previews and API batches stay in one process (`workers=0`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from .fields import RowNormaliser
from .prepared import Prepared, prepare, with_document
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
        job = _Job(normaliser, key_column, documents=False)
        for items, done, read in raw_batches:
            yield Batch(job.prepare(items), done, read)
        return
    job = _Job(normaliser, key_column, documents=True)
    context = multiprocessing.get_context("fork")
    executor = ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(job,)
    )
    in_flight: deque[tuple[Future[list[Prepared | BadRow]], int, int]] = deque()
    try:
        for items, done, read in raw_batches:
            in_flight.append((executor.submit(_prepare_in_worker, items), done, read))
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

    def __init__(self, normaliser: RowNormaliser, key_column: str, *, documents: bool) -> None:
        self.normaliser = normaliser
        self.key_column = key_column
        self.documents = documents

    def prepare(self, items: list[Raw]) -> list[Prepared | BadRow]:
        out: list[Prepared | BadRow] = []
        entity = self.normaliser.entity
        for item in items:
            if isinstance(item, BadRow):
                out.append(item)
                continue
            line, row = item
            prepared = prepare(line, row, self.normaliser, self.key_column)
            out.append(with_document(prepared, entity) if self.documents else prepared)
        return out


_job: _Job | None = None
_inherited: list[Any] = []


def _start_worker(job: _Job) -> None:
    """In a fresh worker: keep the run's job, and let go of the parent's connections."""
    global _job
    _job = job
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            # Keep the object alive (its finaliser would close the parent's session) and
            # make sure this process never writes through it.
            _inherited.append(conn.connection)
            conn.connection = None


def _prepare_in_worker(items: list[Raw]) -> list[Prepared | BadRow]:
    assert _job is not None
    return _job.prepare(items)
