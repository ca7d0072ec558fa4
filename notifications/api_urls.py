"""``/api/notifications/``."""

from django.urls import path

from . import apis

app_name = "notifications-api"

urlpatterns = [
    path("sms/", apis.SmsListApi.as_view(), name="sms-list"),
    path("sms/receipts/", apis.SmsReceiptApi.as_view(), name="sms-receipts"),
]
