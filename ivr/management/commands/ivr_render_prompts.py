"""``python manage.py ivr_render_prompts [--menu-version N]``: render the WAVs of a menu version's fixed
prompts, information texts and active announcements ahead of the first caller.

Prompts with ``{placeholders}`` carry call data and are rendered per call, so they are skipped.
"""

from django.core.management.base import BaseCommand, CommandError

from ivr import tts
from ivr.models import MenuVersion
from ivr.selectors import active_announcements, menu_for_version, published_version


class Command(BaseCommand):
    help = "Render and cache the prompt audio of the published (or given) IVR menu version."

    def add_arguments(self, parser):
        parser.add_argument("--menu-version", type=int, help="menu version number (default: the published one)")

    def handle(self, *args, **options):
        if options["menu_version"]:
            version = MenuVersion.objects.filter(number=options["menu_version"]).first()
        else:
            version = published_version()
        if version is None:
            raise CommandError("No such menu version.")
        if not tts.available():
            raise CommandError("espeak-ng or sox is not installed; prompts are sent as text only.")
        menu = menu_for_version(version)
        texts = {text for text in menu.prompts.values() if "{" not in text}
        texts |= {node.text.strip() for node in menu.nodes.values() if node.text.strip()}
        texts |= {
            item.text for position in ("after_welcome", "while_waiting") for item in active_announcements(position)
        }
        rendered = 0
        for text in sorted(texts):
            if not tts.cache_path(text).exists():
                tts.cached_audio(text)
                rendered += 1
        self.stdout.write(f"menu v{version.number}: {len(texts)} prompts, {rendered} rendered now")
