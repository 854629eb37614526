"""Periodic work for `patron worker`: apps register a function and how often it runs.

Registration happens in each app's `AppConfig.ready()`; the worker calls every registered
function on a timer in a thread beside the task worker (decision 0010).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections

from . import context

logger = logging.getLogger(__name__)


@dataclass
class Periodic:
    name: str
    every_seconds: float
    function: Callable[[], object]
    last_run: float = 0.0


_registry: dict[str, Periodic] = {}


def register_periodic(name: str, every_seconds: float, function: Callable[[], object]) -> None:
    _registry[name] = Periodic(name, every_seconds, function)


def run_due(now: float | None = None) -> list[str]:
    """Run every periodic function whose time has come; returns their names."""
    now = time.monotonic() if now is None else now
    ran = []
    for item in list(_registry.values()):
        if item.last_run and now - item.last_run < item.every_seconds:
            continue
        item.last_run = now
        try:
            with context.bind(origin="job"):
                item.function()
            ran.append(item.name)
        except Exception:
            logger.exception("Periodic job %s failed", item.name)
        finally:
            close_old_connections()
    return ran


def start_scheduler(stop: threading.Event, tick: float = 5.0) -> threading.Thread:
    def loop() -> None:
        while not stop.is_set():
            run_due()
            stop.wait(tick)

    thread = threading.Thread(target=loop, name="patron-scheduler", daemon=True)
    thread.start()
    return thread
