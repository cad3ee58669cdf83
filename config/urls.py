from django.contrib import admin
from django.urls import include, path

from canvas.api import api
from canvas.views.workspaces import home
from config.health import healthz

admin.site.site_header = "Pinsync operations"
admin.site.site_title = "Pinsync operations"

urlpatterns = [
    path("", home, name="home"),
    # Answered by config.health.HealthzMiddleware before the host check; listed for reverse().
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", api.urls),
    path("", include("canvas.urls")),
    path("", include("partners.urls")),
    path("", include("audiences.urls")),
]
