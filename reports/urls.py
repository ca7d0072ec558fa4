from .views import dashboard, tables

app_name = "reports"

urlpatterns = dashboard.urlpatterns + tables.urlpatterns
