from django.urls import path

from . import apis

urlpatterns = [
    path("me/", apis.MeApi.as_view(), name="api-me"),
    path("units/", apis.UnitListApi.as_view(), name="api-unit-list"),
    path("outlets/", apis.OutletListApi.as_view(), name="api-outlet-list"),
    path("outlets/<str:code>/", apis.OutletDetailApi.as_view(), name="api-outlet-detail"),
]
