"""IVR pages: simulator, menu editor, announcements, statistics."""

from django.urls import path

from . import views

app_name = "ivr"

urlpatterns = [
    path("simulator/", views.simulator, name="simulator"),
    path("menus/", views.menu_list, name="menu-list"),
    path("menus/<int:pk>/", views.menu_detail, name="menu-detail"),
    path("menus/<int:pk>/copy/", views.menu_copy, name="menu-copy"),
    path("menus/<int:pk>/publish/", views.menu_publish, name="menu-publish"),
    path("menus/<int:pk>/discard/", views.menu_discard, name="menu-discard"),
    path("menus/<int:pk>/root/", views.menu_root, name="menu-root"),
    path("menus/<int:pk>/prompts/", views.prompt_save, name="prompt-save"),
    path("menus/<int:pk>/nodes/<slug:key>/", views.node_edit, name="node-edit"),
    path("menus/<int:pk>/nodes/<slug:key>/delete/", views.node_delete, name="node-delete"),
    path("announcements/", views.announcement_list, name="announcements"),
    path("announcements/<int:pk>/", views.announcement_list, name="announcement-edit"),
    path("announcements/<int:pk>/delete/", views.announcement_delete, name="announcement-delete"),
    path("statistics/", views.statistics, name="statistics"),
]
