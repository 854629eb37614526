"""The columns of the frames the resolution engine reads, in a module of their own so that
light callers (the synthetic data generator) need not import Splink."""

RAW_COLUMNS = [
    "unique_id",
    "source",
    "first_name",
    "middle_name",
    "last_name",
    "email",
    "phone",
    "street",
    "postal_code",
    "city",
    "country",
    "date_of_birth",
    "identifier",
]

ORGANISATION_RAW_COLUMNS = [
    "unique_id",
    "source",
    "name",
    "domain",
    "email",
    "phone",
    "street",
    "postal_code",
    "city",
    "country",
    "identifier",
]
