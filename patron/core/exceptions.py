"""Domain errors raised by services and turned into HTTP answers by the API and views."""

from django.core.exceptions import ValidationError  # noqa: F401  (re-exported for services)


class ConflictError(Exception):
    """An update was based on a stale version of a record: reload and try again."""

    def __init__(self, *, current_version: int, message: str | None = None):
        self.current_version = current_version
        super().__init__(
            message
            or "This record was changed by someone else since you opened it. "
            "Reload it to see the latest version, then make your change again."
        )


class PermissionDeniedError(Exception):
    """The user may see the record but their role does not allow this action."""
