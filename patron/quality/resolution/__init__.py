"""Entity resolution: matching people and organisations across source systems."""
