"""Periodic work: the stage-conversion rollup the forecast from history reads."""

from __future__ import annotations

from . import services


def refresh_stage_conversions() -> None:
    services.stage_conversions_refresh()
