"""``{% load recording_player %}{% recording_player recording_id %}``: the recording player for the
request's user, for pages of apps that may not import ``calls`` (the quality-scoring form in
``agents``). A recording the user may not hear renders a short note instead; the page must also
load ``calls/recording-player.js`` and ``.css`` (``{% recording_player_assets %}``)."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag(takes_context=True)
def recording_player(context, recording_id) -> SafeString:
    from calls.recordings.views import player_context, visible_recordings

    request = context.get("request")
    user = getattr(request, "user", None)
    try:
        pk = int(recording_id)
    except (TypeError, ValueError):
        pk = 0
    recording = visible_recordings(user).filter(pk=pk).first() if user is not None and pk else None
    if recording is None:
        return format_html('<p class="muted recording-unavailable">{}</p>', _("The recording is not available."))
    return render_to_string("calls/recordings/_player.html", {"player": player_context(recording)}, request=request)


@register.simple_tag
def recording_player_assets() -> SafeString:
    return format_html(
        '<link rel="stylesheet" href="{}"><script src="{}" defer></script>',
        static("calls/recording-player.css"),
        static("calls/recording-player.js"),
    )
