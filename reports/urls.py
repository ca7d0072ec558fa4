from .views import dashboard, me, monthly, tables

app_name = "reports"

urlpatterns = dashboard.urlpatterns + tables.urlpatterns + monthly.urlpatterns + me.urlpatterns
