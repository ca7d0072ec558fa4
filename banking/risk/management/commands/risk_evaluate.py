"""``python manage.py risk_evaluate [--every S]``: run the risk rules over the new events once
(or every S seconds) — what beat's ``risk.evaluate`` does, for the embedded default without beat."""

import json
import time

from django.core.management.base import BaseCommand

from banking.risk.services import risk_evaluate


class Command(BaseCommand):
    help = "Evaluate the risk rules over the events since the last run."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0.0, help="repeat every this many seconds (0: once)")

    def handle(self, *args, every: float, **options):
        while True:
            self.stdout.write(json.dumps(risk_evaluate()))
            if every <= 0:
                return
            time.sleep(every)
