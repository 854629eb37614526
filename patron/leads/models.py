"""Leads: captured from web forms, the API and imports; scored, routed and converted into
customers."""
