"""Banking in the admin: read-only. Money and states change only through ``banking.services`` (locks,
ledger, events); password hashes and full numbers are not shown."""

from typing import Any, ClassVar

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyMixin
from org.admin import UnitScopedAdmin

from .masking import mask_id_number, mask_number
from .models import (
    Account,
    AccountEvent,
    Batch,
    BatchItem,
    Customer,
    LedgerTransaction,
    LinkedAccount,
    LossReport,
    PhoneBankingRegistration,
    Posting,
    SmsNoticeSubscription,
)


@admin.display(description=_("number"))
def masked_number(account: Account) -> str:
    return mask_number(account.number, account.kind)


@admin.register(Customer)
class CustomerAdmin(ReadOnlyMixin, UnitScopedAdmin):
    list_display = ["id", "name", "home_unit", "id_masked", "created_at"]
    list_filter = ["home_unit"]
    search_fields = ["name", "mobile", "id_last6"]
    fields: ClassVar[list[Any]] = ["name", "mobile", "id_masked", "home_unit", "created_at"]
    readonly_fields = fields
    list_select_related = ["home_unit"]

    @admin.display(description=_("ID number"))
    def id_masked(self, customer: Customer) -> str:
        return mask_id_number(customer.id_last6)


@admin.register(Account)
class AccountAdmin(ReadOnlyMixin, UnitScopedAdmin):
    list_display = [
        "id",
        masked_number,
        "kind",
        "card_role",
        "customer",
        "unit",
        "status",
        "balance_fen",
        "is_internal",
    ]
    list_filter = ["kind", "status", "is_internal", "unit"]
    # Exact full number only: a partial search would enumerate numbers.
    search_fields = ["=number"]
    fields: ClassVar[list[Any]] = [  # a callable among the names, as Django allows
        masked_number,
        "kind",
        "card_role",
        "main_card",
        "customer",
        "unit",
        "outlet",
        "status",
        "balance_fen",
        "is_internal",
        "opened_at",
    ]
    readonly_fields = fields
    list_select_related = ["customer", "unit"]


class LinkedAccountInline(ReadOnlyMixin, admin.TabularInline):
    model = LinkedAccount
    fields: ClassVar[list[Any]] = ["code", "account", "created_at"]
    readonly_fields = fields
    extra = 0


@admin.register(PhoneBankingRegistration)
class PhoneBankingRegistrationAdmin(ReadOnlyMixin, UnitScopedAdmin):
    list_display = ["id", "account", "failed_attempts", "locked", "locked_at", "created_at"]
    list_filter = ["locked"]
    fields: ClassVar[list[Any]] = ["account", "failed_attempts", "locked", "locked_at", "created_at"]
    readonly_fields = fields
    inlines = [LinkedAccountInline]
    list_select_related = ["account"]


@admin.register(SmsNoticeSubscription)
class SmsNoticeSubscriptionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["account", "phone", "active", "created_at"]
    list_filter = ["active"]
    list_select_related = ["account"]


class PostingInline(ReadOnlyMixin, admin.TabularInline):
    model = Posting
    fields: ClassVar[list[Any]] = ["account", "amount_fen", "balance_after_fen", "created_at"]
    readonly_fields = fields
    extra = 0


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "kind", "amount_fen", "channel", "call_id", "memo"]
    list_filter = ["kind", "channel"]
    search_fields = ["=idempotency_key", "=call_id"]
    date_hierarchy = "created_at"
    inlines = [PostingInline]


@admin.register(LossReport)
class LossReportAdmin(ReadOnlyMixin, UnitScopedAdmin):
    list_display = ["id", "account", "status", "channel", "verification", "valid_until", "created_at"]
    list_filter = ["status", "channel", "verification"]
    search_fields = ["=call_id"]
    list_select_related = ["account"]


@admin.register(AccountEvent)
class AccountEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "account", "kind", "channel", "call_id", "actor"]
    list_filter = ["kind", "channel"]
    search_fields = ["=call_id"]
    date_hierarchy = "created_at"
    list_select_related = ["account", "actor"]


# Settlement batches: read-only here too (uploads, decisions and runs are the batch pages').
@admin.register(Batch)
class BatchAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "kind", "period", "status", "items_count", "control_total_fen", "posted_count", "uploaded_at"]
    list_filter = ["kind", "status"]
    search_fields = ["period", "file_name", "file_digest"]
    list_select_related = ["uploaded_by", "decided_by"]
    raw_id_fields = ["corrects", "uploaded_by", "decided_by"]


@admin.register(BatchItem)
class BatchItemAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "batch", "line", "account_masked", "amount_fen", "reference", "status", "reason"]
    list_filter = ["status", "kind"]
    search_fields = ["reference"]
    # Not the account itself: its full number would show; the masked copy is on the item.
    exclude = ["account"]
    raw_id_fields = ["batch", "transaction"]
    show_full_result_count = False  # a batch may hold a million items
