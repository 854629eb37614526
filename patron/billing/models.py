"""Billing: invoices, their numbering series and payments."""
