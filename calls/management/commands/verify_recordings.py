"""``python manage.py verify_recordings``: re-hash every recording file and check the rows' hash
chain; list altered, missing and extra files and broken chain links; exit 1 on any problem.

Prints one summary line (rows, files, MB, seconds, MB/s) and stores an ``IntegrityCheck`` row,
as the nightly job does (the maintainer's health page shows the last one).
"""

from django.core.management.base import BaseCommand, CommandError

from calls.recordings import integrity


class Command(BaseCommand):
    help = "Re-hash recording files and check the recordings' hash chain; exit non-zero on a mismatch."

    def add_arguments(self, parser):
        parser.add_argument("--rows-only", action="store_true", help="Check the hash chain only, not the files.")

    def handle(self, *args, **options):
        check = integrity.verify(trigger="command", check_files=not options["rows_only"])
        for problem in check.problems:
            facts = ", ".join(f"{key}={value}" for key, value in problem.items() if key != "kind")
            self.stdout.write(f"{problem['kind'].upper()}: {facts}")
        line = integrity.summary(check)
        if not check.ok:
            raise CommandError(line)
        self.stdout.write(self.style.SUCCESS(line))
