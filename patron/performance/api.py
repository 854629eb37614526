"""Forecasts, quotas and commissions API."""

from ninja import Router

router = Router()
