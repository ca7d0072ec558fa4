"""``python manage.py tickets_calendar_sync``: load the installed ``chinese-calendar`` package's
holidays and make-up working days into the calendar table (after upgrading the package for a new
year). Years the maintainer edited are left alone."""

from django.core.management.base import BaseCommand

from tickets.calendar import package_years
from tickets.services.calendar import calendar_sync_from_package, tickets_due_recompute


class Command(BaseCommand):
    help = "Load holidays and make-up working days from the chinese-calendar package."

    def handle(self, *args, **options):
        changed = calendar_sync_from_package()
        moved = tickets_due_recompute()
        years = package_years()
        self.stdout.write(
            f"Calendar: package knows {years[0]}–{years[-1]}; {changed} days changed; {moved} open deadlines moved."
        )
