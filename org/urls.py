from django.contrib.auth import views as auth_views
from django.urls import path

from . import views

app_name = "org"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("config/", views.config, name="config"),
]
