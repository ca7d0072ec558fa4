from .navigation import display_name, nav_items_for
from .scoping import user_role


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "current_role": None}
    profile = getattr(user, "profile", None)
    return {
        "nav_items": nav_items_for(user),
        "current_role": user_role(user),
        "current_role_label": profile.get_role_display() if profile else "",
        "current_unit": profile.unit if profile else None,
        "current_user_name": display_name(user),
    }
