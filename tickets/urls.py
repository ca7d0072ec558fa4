from django.urls import path

from .views import actions, calendar, detail, export, lists

app_name = "tickets"

urlpatterns = [
    path("inbox/", lists.inbox, name="inbox"),
    path("", lists.ticket_list, name="list"),
    path("new/", lists.ticket_create, name="create"),
    path("export.csv", export.export_csv, name="export"),
    path("calendar/", calendar.calendar_page, name="calendar"),
    path("<int:pk>/", detail.ticket_detail, name="detail"),
    path("<int:pk>/do/<slug:action>/", actions.ticket_action, name="action"),
    path("<int:pk>/attachments/<int:attachment_id>/", detail.attachment_download, name="attachment"),
]
