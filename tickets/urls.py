from django.urls import path

from . import views

app_name = "tickets"

urlpatterns = [
    path("inbox/", views.inbox, name="inbox"),
    path("", views.ticket_list, name="list"),
    path("new/", views.ticket_create, name="create"),
    path("export.csv", views.export_csv, name="export"),
    path("calendar/", views.calendar_page, name="calendar"),
    path("<int:pk>/", views.ticket_detail, name="detail"),
    path("<int:pk>/do/<slug:action>/", views.ticket_action, name="action"),
    path("<int:pk>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
]
