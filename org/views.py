"""Pages of the org app: home redirect, login page, the maintainer's configuration page, errors."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core.api.exceptions import api_bad_request, api_not_found, api_server_error
from core.health import health_panels, system_health

from .models import Outlet, Unit
from .navigation import home_url_for
from .permissions import role_required
from .roles import Role


@login_required
def home(request):
    url = home_url_for(request.user)
    if url is None:
        return render(
            request,
            "org/no_home.html",
            {"message": _("This account is a service account and has no pages. Use the API.")},
            status=403,
        )
    return redirect(url)


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


@role_required(Role.MAINTAINER, Role.DIRECTOR)
def config(request):
    units = Unit.objects.visible_to(request.user).order_by("kind", "code")
    outlet_counts = {row["unit"]: row["n"] for row in Outlet.objects.values("unit").order_by().annotate(n=Count("id"))}
    return render(
        request,
        "org/config.html",
        {
            "health": system_health(),
            "health_panels": health_panels(),
            "units": [(unit, outlet_counts.get(unit.pk, 0)) for unit in units],
            "outlet_total": sum(outlet_counts.values()),
        },
    )


def page_not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return api_not_found(request)
    return render(request, "errors/404.html", status=404)


def permission_denied(request, exception=None):
    if request.path.startswith("/api/"):
        from django.http import JsonResponse

        from core.api.exceptions import error_body

        return JsonResponse(error_body("permission_denied", _("Permission denied.")), status=403)
    return render(request, "errors/403.html", status=403)


def bad_request(request, exception=None):
    if request.path.startswith("/api/"):
        return api_bad_request(request, exception)
    from django.views.defaults import bad_request as django_bad_request

    return django_bad_request(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return api_server_error(request)
    return render(request, "errors/500.html", status=500)
