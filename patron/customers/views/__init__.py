"""The htmx web UI of contacts and accounts. Views parse input, call selectors and services,
and render; they never query customer tables except through the permission chokepoint."""
