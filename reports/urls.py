from .views import dashboard, me, tables

app_name = "reports"

urlpatterns = dashboard.urlpatterns + tables.urlpatterns + me.urlpatterns
