"""Forecasts, quotas and commissions: how the sales team stands against its numbers."""
