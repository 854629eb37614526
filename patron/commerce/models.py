"""Products and price lists, quotes and orders: electronic ordering from the catalogue."""
