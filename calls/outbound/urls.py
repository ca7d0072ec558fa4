"""Campaign pages: ``/outbound/`` (list), ``/outbound/<pk>/``, ``/outbound/dnc/``."""

from django.urls import path

from . import views

app_name = "outbound"

urlpatterns = [
    path("", views.campaign_list, name="campaigns"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("dnc/", views.dnc_page, name="dnc"),
]
