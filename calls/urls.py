from django.urls import path

from . import views

app_name = "calls"

urlpatterns = [
    path("wallboard/", views.wallboard, name="wallboard"),
]
