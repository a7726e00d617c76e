from django.urls import include, path

from samtale.api.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("", include("samtale.web.urls")),
]
