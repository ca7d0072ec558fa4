from django.urls import path

from . import views

app_name = "calls"

urlpatterns = [
    path("", views.call_search, name="search"),
    path("<int:pk>/", views.call_detail, name="detail"),
    path("wallboard/", views.wallboard, name="wallboard"),
]
