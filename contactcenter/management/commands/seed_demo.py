"""``python manage.py seed_demo [--history-days N] [--customers N] [--if-empty]``: the demo center,
deterministic and idempotent (a second run changes nothing): units, outlets and staff; the four
documented customers and a few thousand generated ones with card history; the default IVR menu."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from agents import demo as agents_demo
from agents.quality.demo import seed_quality
from banking import batch_demo
from banking import demo as banking_demo
from banking.risk import demo as risk_demo
from calls.demo import seed_call_history, seed_outbound, seed_queues, seed_recordings
from ivr.demo import seed_default_menu
from org import demo
from org.models import Unit
from org.roles import Role
from org.services import outlet_ensure, staff_ensure, unit_upsert
from reports import rollups
from tickets.demo import seed_tickets


class Command(BaseCommand):
    help = "Create the demo contact center: units, outlets, staff (password demo12345 unless DEMO_PASSWORD)."

    def add_arguments(self, parser):
        parser.add_argument("--history-days", type=int, default=90, help="days of call history (0 for none)")
        parser.add_argument("--if-empty", action="store_true", help="do nothing when the database has units")
        parser.add_argument("--quiet", action="store_true", help="do not print the logins")
        parser.add_argument("--customers", type=int, default=2000, help="generated customers besides the documented")

    def handle(self, *args, history_days: int, if_empty: bool, quiet: bool, customers: int, **options):
        if history_days < 0 or customers < 0:
            self.stderr.write("--history-days and --customers must be 0 or more")
            raise SystemExit(2)
        if if_empty and Unit.objects.exists():
            self.stdout.write("Database already seeded; nothing to do.")
            return
        with transaction.atomic():
            created = self.seed_org()
        with transaction.atomic():
            identities = banking_demo.seed_identities()
            generated = banking_demo.seed_generated(customers, history_days=history_days) if customers else 0
        self.stdout.write(
            f"Customers: {identities} documented and {generated} generated created"
            f" ({history_days} days of card history)."
        )
        with transaction.atomic():
            menu = seed_default_menu()
        self.stdout.write(f"IVR: default menu published as version {menu.number}.")
        with transaction.atomic():
            seed_queues()
            calls = seed_call_history(history_days)
        self.stdout.write(f"Calls: queues and agent skills ready; {calls} historical calls created.")
        with transaction.atomic():
            shifts = agents_demo.seed_published_roster(agents_demo.demo_agent_ids())
            requests = agents_demo.seed_shift_requests()
        self.stdout.write(
            f"Rosters: the demo rotation published ({shifts} shifts, four weeks back, two ahead);"
            f" {requests} shift requests for the team leads."
        )
        with transaction.atomic():
            tickets = seed_tickets(history_days)
        self.stdout.write(f"Work orders: {tickets} created ({history_days} days of history).")
        self.stdout.write(f"Settlement: {batch_demo.seed_batches(timezone.localdate())} demo batches.")
        self.stdout.write(f"Risk: {risk_demo.seed_alerts()} demo alerts.")
        self.stdout.write(f"Recordings: {seed_recordings()} demo recordings attached to recent calls.")
        outbound = seed_outbound()
        self.stdout.write(
            f"Outbound: {outbound['campaigns']} campaigns, {outbound['contacts']} contacts,"
            f" {outbound['attempts']} dials."
        )
        # Quality scoring after the recordings: demo evaluations score seeded recordings.
        with transaction.atomic():
            qa = seed_quality()
        self.stdout.write(
            f"Quality scoring: default scorecard; {qa['evaluations']} demo evaluations, {qa['proposed']} proposed."
        )
        today = timezone.localdate()
        done = rollups.rebuild(today - timedelta(days=history_days), today)
        self.stdout.write(f"Reports: rollups built for {done['days']} days ({done['call_intervals']} call rows).")
        self.stdout.write(self.style.SUCCESS(f"Demo center ready ({created} new organisation rows)."))
        if not quiet:
            self.print_logins()

    def seed_org(self) -> int:
        password = settings.DEMO_PASSWORD
        created = 0
        units = {}
        for code, district, district_en in demo.BRANCHES:
            units[code], changed = unit_upsert(
                code=code,
                name=f"{district}行社",
                name_en=f"{district_en} District Branch",
                kind=Unit.Kind.BRANCH,
            )
            created += changed
        for code, name, name_en in demo.DEPARTMENTS:
            units[code], changed = unit_upsert(code=code, name=name, name_en=name_en, kind=Unit.Kind.DEPARTMENT)
            created += changed
        for branch_code, outlet_code, outlet_name in demo.outlet_specs():
            created += outlet_ensure(unit=units[branch_code], code=outlet_code, name=outlet_name)[1]

        for username, role, last_name, first_name in demo.CENTER_STAFF:
            created += staff_ensure(
                username=username, role=role, password=password, last_name=last_name, first_name=first_name
            )[1]
        for number, (last_name, first_name) in enumerate(demo.AGENT_NAMES, start=1):
            created += staff_ensure(
                username=f"agent{number:02d}",
                role=Role.AGENT,
                password=password,
                last_name=last_name,
                first_name=first_name,
                extension=f"{8000 + number}",
            )[1]
        for number, (code, district, _en) in enumerate(demo.BRANCHES, start=1):
            created += staff_ensure(
                username=f"branch{number:02d}",
                role=Role.UNIT_STAFF,
                password=password,
                last_name=district,
                first_name="工单专员",
                unit=units[code],
            )[1]
        created += staff_ensure(
            username="risk", role=Role.RISK_OFFICER, password=password, last_name="钱", first_name="蕾"
        )[1]
        created += staff_ensure(username="switch", role=Role.SWITCH, password=password, first_name="Switch")[1]
        created += demo.seed_staff_notices()
        return created

    def print_logins(self) -> None:
        password_note = "DEMO_PASSWORD" if settings.DEMO_PASSWORD != "demo12345" else "demo12345"  # noqa: S105
        rows = [
            ("director", "中心主任 director", "/reports/dashboard/"),
            ("maintainer", "系统维护员 maintainer", "/config/"),
            ("analyst", "综合员 analyst", "/tickets/"),
            ("lead1, lead2", "座席班长 team lead", "/calls/wallboard/"),
            ("agent01 … agent15", "座席员 agent", "/agent/desktop/"),
            ("branch01 … branch10", "区县行社 B01…B10 unit staff", "/tickets/inbox/"),
            ("risk", "风险专员 risk officer", "/risk/alerts/"),
            ("switch", "交换机 service account (API only)", "—"),
        ]
        self.stdout.write(f"\nLogins (password: {password_note}):")
        for username, role, home in rows:
            self.stdout.write(f"  {username:<22} {role:<34} {home}")
