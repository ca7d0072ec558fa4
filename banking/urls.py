from django.urls import path

from . import views

app_name = "banking"

# Settlement batches (back office, mounted at /banking/): list and upload, a batch's report,
# decision, run and downloads. The risk officer's pages are banking/risk/urls.py (/risk/alerts/).
urlpatterns = [
    path("batches/", views.batch_list, name="batches"),
    path("batches/upload/", views.batch_upload, name="batch-upload"),
    path("batches/<int:batch_id>/", views.batch_detail, name="batch-detail"),
    path("batches/<int:batch_id>/decide/", views.batch_decide, name="batch-decide"),
    path("batches/<int:batch_id>/run/", views.batch_run, name="batch-run"),
    path("batches/<int:batch_id>/validation.csv", views.batch_report, name="batch-report"),
    path("batches/<int:batch_id>/reconciliation.xlsx", views.batch_reconciliation, name="batch-reconciliation"),
]
