from django.urls import path

from .apis import AuditEventListApi

urlpatterns = [path("", AuditEventListApi.as_view(), name="api-audit-list")]
