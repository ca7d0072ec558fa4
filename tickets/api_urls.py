from django.urls import path

from . import apis

urlpatterns = [
    path("", apis.TicketListCreateApi.as_view(), name="api-ticket-list"),
    path("<int:ticket_id>/", apis.TicketDetailApi.as_view(), name="api-ticket-detail"),
    path("<int:ticket_id>/history/", apis.TicketHistoryApi.as_view(), name="api-ticket-history"),
    path("<int:ticket_id>/dispatch/", apis.DispatchApi.as_view(), name="api-ticket-dispatch"),
    path("<int:ticket_id>/accept/", apis.AcceptApi.as_view(), name="api-ticket-accept"),
    path("<int:ticket_id>/reply/", apis.ReplyApi.as_view(), name="api-ticket-reply"),
    path("<int:ticket_id>/review/", apis.ReviewApi.as_view(), name="api-ticket-review"),
    path("<int:ticket_id>/extend/", apis.ExtendApi.as_view(), name="api-ticket-extend"),
    path(
        "<int:ticket_id>/extensions/<int:extension_id>/approve/",
        apis.ExtensionDecisionApi.as_view(approve=True),
        name="api-ticket-extension-approve",
    ),
    path(
        "<int:ticket_id>/extensions/<int:extension_id>/reject/",
        apis.ExtensionDecisionApi.as_view(approve=False),
        name="api-ticket-extension-reject",
    ),
    path("<int:ticket_id>/pause/", apis.PauseApi.as_view(), name="api-ticket-pause"),
    path("<int:ticket_id>/resume/", apis.ResumeApi.as_view(), name="api-ticket-resume"),
    path("<int:ticket_id>/callback/", apis.CallbackApi.as_view(), name="api-ticket-callback"),
    path("<int:ticket_id>/close/", apis.CloseApi.as_view(), name="api-ticket-close"),
    path("<int:ticket_id>/withdraw/", apis.WithdrawApi.as_view(), name="api-ticket-withdraw"),
    path("<int:ticket_id>/merge/", apis.MergeApi.as_view(), name="api-ticket-merge"),
    path("<int:ticket_id>/chase/", apis.ChaseApi.as_view(), name="api-ticket-chase"),
    path("<int:ticket_id>/adjustment/", apis.AdjustmentApi.as_view(), name="api-ticket-adjustment"),
    path("<int:ticket_id>/adjustment/waive/", apis.AdjustmentWaiveApi.as_view(), name="api-ticket-adjustment-waive"),
    path(
        "<int:ticket_id>/adjustment/decide/", apis.AdjustmentDecisionApi.as_view(), name="api-ticket-adjustment-decide"
    ),
    path("<int:ticket_id>/customer/", apis.CustomerLinkApi.as_view(), name="api-ticket-customer"),
    path("<int:ticket_id>/attachments/", apis.AttachmentListApi.as_view(), name="api-ticket-attachments"),
    path(
        "<int:ticket_id>/attachments/<int:attachment_id>/",
        apis.AttachmentDownloadApi.as_view(),
        name="api-ticket-attachment",
    ),
]
