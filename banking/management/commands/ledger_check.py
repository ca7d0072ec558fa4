"""``python manage.py ledger_check``: prove the ledger is consistent, exit 1 if it is not.

Checks, all in the database: every account's ``balance_fen`` equals the sum of its postings and
its last posting's ``balance_after_fen``; every transaction has at least two postings that sum
to zero and match its ``amount_fen``; no customer account is below zero.
"""

import sys

from django.core.management.base import BaseCommand
from django.db.models import Count, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from banking.models import Account, LedgerTransaction, Posting


class Command(BaseCommand):
    help = "Check that balances equal the sum of postings and that every transaction balances."

    def handle(self, *args, **options):
        problems = []
        latest_balance = Subquery(
            # The last one inserted (not the latest by time: history may be loaded backdated).
            Posting.objects.filter(account_id=OuterRef("pk")).order_by("-id").values("balance_after_fen")[:1]
        )
        accounts = Account.objects.annotate(
            posted=Coalesce(Sum("postings__amount_fen"), Value(0), output_field=IntegerField()),
        )
        for pk, balance, posted in accounts.exclude(balance_fen=F("posted")).values_list("pk", "balance_fen", "posted"):
            problems.append(f"account {pk}: balance {balance} fen, sum of postings {posted} fen")
        for pk, balance in Account.objects.filter(is_internal=False, balance_fen__lt=0).values_list(
            "pk", "balance_fen"
        ):
            problems.append(f"account {pk}: negative balance {balance} fen")
        account_count = Account.objects.count()
        stale = (
            Account.objects.annotate(latest=latest_balance)
            .filter(latest__isnull=False)
            .exclude(latest=F("balance_fen"))
            .values_list("pk", "balance_fen", "latest")
        )
        for pk, balance, latest in stale:
            problems.append(f"account {pk}: balance {balance} fen, latest posting says {latest} fen")
        transactions = LedgerTransaction.objects.annotate(
            total=Coalesce(Sum("postings__amount_fen"), Value(0), output_field=IntegerField()),
            credits=Coalesce(
                Sum("postings__amount_fen", filter=Q(postings__amount_fen__gt=0)), Value(0), output_field=IntegerField()
            ),
            lines=Count("postings"),
        )
        bad = transactions.filter(~Q(total=0) | Q(lines__lt=2) | ~Q(credits=F("amount_fen")))
        for pk, total, lines, credits, amount in bad.values_list("pk", "total", "lines", "credits", "amount_fen"):
            problems.append(
                f"transaction {pk}: {lines} postings summing to {total} fen, credits {credits} fen, amount {amount} fen"
            )
        transaction_count = LedgerTransaction.objects.count()
        if problems:
            for line in problems:
                self.stderr.write(line)
            self.stderr.write(f"ledger NOT OK: {len(problems)} differences")
            sys.exit(1)
        self.stdout.write(f"ledger OK: {account_count} accounts, {transaction_count} transactions")
