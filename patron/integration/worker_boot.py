"""Start-up of an import worker process.

Workers are started by a fork server (a clean, single-threaded process), not forked from the
importing process: that process may run other threads (the worker's scheduler, the task
worker), and forking a threaded process can leave a lock held forever in the child. So a
worker sets Django up itself and rebuilds the run's normaliser from plain data. This module
imports nothing of Django at import time, because the fork server loads it first.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

_job: Any = None


def spec_of(normaliser: Any, key_column: str) -> dict[str, Any]:
    """What a worker needs to rebuild `normaliser`: plain, picklable values."""
    return {
        "columns": normaliser.columns,
        "entity": normaliser.entity,
        "region": normaliser.region,
        "key_column": key_column,
        "vcard": normaliser.vcard,
        "custom": {
            name: {
                "name": name,
                "field_type": d.field_type,
                "label": d.label,
                "choices": list(d.choices or []),
            }
            for name, d in normaliser.custom_fields.items()
        },
    }


def start(spec: dict[str, Any]) -> None:
    """In a fresh worker: set Django up (settings from the environment) and build the job."""
    global _job
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    from .fields import RowNormaliser
    from .workers import _Job

    custom = {name: SimpleNamespace(**values) for name, values in spec["custom"].items()}
    normaliser = RowNormaliser(
        spec["columns"],
        entity=spec["entity"],
        default_region=spec["region"],
        custom_fields=custom,
        vcard=spec["vcard"],
    )
    _job = _Job(normaliser, spec["key_column"], ahead=True)


def prepare(items: list[Any]) -> list[Any]:
    return _job.prepare(items)
