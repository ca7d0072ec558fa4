"""``/api/outbound/``: campaigns, lists, the do-not-call list (docs/outbound.md, "API")."""

from django.urls import path

from . import apis

app_name = "outbound-api"

urlpatterns = [
    path("campaigns/", apis.CampaignListApi.as_view(), name="campaigns"),
    path("campaigns/<int:pk>/", apis.CampaignDetailApi.as_view(), name="campaign"),
    path("campaigns/<int:pk>/start/", apis.CampaignMoveApi.as_view(move="start"), name="campaign-start"),
    path("campaigns/<int:pk>/pause/", apis.CampaignMoveApi.as_view(move="pause"), name="campaign-pause"),
    path("campaigns/<int:pk>/finish/", apis.CampaignMoveApi.as_view(move="finish"), name="campaign-finish"),
    path("campaigns/<int:pk>/figures/", apis.CampaignFiguresApi.as_view(), name="campaign-figures"),
    path("campaigns/<int:pk>/contacts/", apis.CampaignContactsApi.as_view(), name="campaign-contacts"),
    path("campaigns/<int:pk>/imports/", apis.CampaignImportsApi.as_view(), name="campaign-imports"),
    path("campaigns/<int:pk>/segments/", apis.CampaignSegmentApi.as_view(), name="campaign-segments"),
    path("imports/<int:pk>/", apis.ImportJobApi.as_view(), name="import"),
    path("dnc/", apis.DncListApi.as_view(), name="dnc"),
    path("dnc/<int:pk>/remove/", apis.DncRemoveApi.as_view(), name="dnc-remove"),
]
