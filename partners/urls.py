from django.urls import path

from partners.views import catalog

app_name = "partners"

urlpatterns = [
    path("w/<slug:workspace>/partners/", catalog.technology_partners, name="technology_partners"),
]
