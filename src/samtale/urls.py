from django.urls import include, path

from samtale.api.api import api
from samtale.core import metrics

urlpatterns = [
    path("healthz", metrics.healthz, name="healthz"),
    path("readyz", metrics.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("api/v1/", api.urls),
    path("", include("samtale.web.urls")),
]
