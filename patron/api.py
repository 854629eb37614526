"""The JSON API root: authentication, the one error format, and every app's router."""

from ninja import NinjaAPI

api = NinjaAPI(
    title="Patron API",
    version="1",
    description="Customer data, integration and CRM operations. Authenticate with a personal "
    "API token (`Authorization: Bearer <token>`) or a browser session.",
    urls_namespace="api",
)
