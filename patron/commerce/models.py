"""Products and price lists, quotes, orders, invoices and payments: electronic ordering from
catalogue to invoice."""
