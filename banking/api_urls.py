from django.urls import path

from . import apis

urlpatterns = [
    path("customers/search/", apis.CustomerSearchApi.as_view(), name="api-customer-search"),
    path("customers/<int:customer_id>/", apis.CustomerDetailApi.as_view(), name="api-customer-detail"),
    path(
        "accounts/<int:account_id>/transactions/",
        apis.AccountTransactionsApi.as_view(),
        name="api-account-transactions",
    ),
    path("accounts/<int:account_id>/sms-notice/", apis.SmsNoticeApi.as_view(), name="api-account-sms-notice"),
    path("loss-reports/", apis.LossReportCreateApi.as_view(), name="api-loss-report-create"),
    path(
        "registrations/<int:registration_id>/unlock/",
        apis.RegistrationUnlockApi.as_view(),
        name="api-registration-unlock",
    ),
]

urlpatterns += [
    path("batches/", apis.BatchListCreateApi.as_view(), name="api-batches"),
    path("batches/<int:batch_id>/", apis.BatchDetailApi.as_view(), name="api-batch-detail"),
    path("batches/<int:batch_id>/decision/", apis.BatchDecisionApi.as_view(), name="api-batch-decision"),
    path("batches/<int:batch_id>/run/", apis.BatchRunApi.as_view(), name="api-batch-run"),
]
