"""``/notifications/``: the maintainer's SMS page."""

from django.urls import path

from . import views

app_name = "notifications"

urlpatterns = [
    path("sms/", views.outbox, name="outbox"),
    path("sms/dead-letters/", views.dead_letters, name="dead-letters"),
    path("sms/<int:pk>/", views.message, name="message"),
    path("sms/<int:pk>/requeue/", views.requeue, name="requeue"),
    path("sms/<int:pk>/cancel/", views.cancel, name="cancel"),
]
