"""``/notifications/``: the maintainer's SMS page."""

from django.urls import path

from . import template_views, views

app_name = "notifications"

urlpatterns = [
    path("sms/", views.outbox, name="outbox"),
    path("sms/dead-letters/", views.dead_letters, name="dead-letters"),
    path("sms/<int:pk>/", views.message, name="message"),
    path("sms/<int:pk>/requeue/", views.requeue, name="requeue"),
    path("sms/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("sms/templates/", template_views.template_list, name="templates"),
    path("sms/templates/<str:key>/", template_views.template_edit, name="template"),
    path("sms/templates/<str:key>/save/", template_views.template_save, name="template-save"),
    path("sms/templates/<str:key>/reset/", template_views.template_reset, name="template-reset"),
    path("sms/templates/<str:key>/preview/", template_views.template_preview, name="template-preview"),
]
