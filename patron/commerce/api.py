"""Products and orders API."""

from ninja import Router

router = Router()
