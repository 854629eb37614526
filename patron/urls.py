from django.contrib import admin
from django.urls import include, path

from patron.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("patron.core.urls")),
    path("imports/", include("patron.integration.urls")),
    path("webhooks/", include("patron.webhooks.urls")),
    path("quality/", include("patron.quality.urls")),
    path("sales/", include("patron.sales.urls")),
    path("leads/", include("patron.leads.urls")),
    path("commerce/", include("patron.commerce.urls")),
    path("billing/", include("patron.billing.urls")),
    path("performance/", include("patron.performance.urls")),
    path("", include("patron.customers.urls")),
]
