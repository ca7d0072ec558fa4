"""Request and response shapes of the banking API (DESIGN.md §6 Banking)."""

from rest_framework import serializers

from core.api.serializers import InputSerializer

from .masking import mask_number
from .models import Account, Customer, LossReport, Posting
from .money import fen_to_yuan


class AccountSummarySerializer(serializers.ModelSerializer):
    number_masked = serializers.SerializerMethodField()
    balance = serializers.SerializerMethodField()

    class Meta:
        model = Account
        fields = ["id", "number_masked", "kind", "status", "balance"]

    def get_number_masked(self, account: Account) -> str:
        return mask_number(account.number, account.kind)

    def get_balance(self, account: Account) -> str:
        return fen_to_yuan(account.balance_fen)


class CustomerListSerializer(serializers.ModelSerializer):
    id_last4 = serializers.SerializerMethodField()
    mobile_masked = serializers.SerializerMethodField()
    home_unit = serializers.CharField(source="home_unit.code")
    accounts = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = ["id", "name", "mobile_masked", "id_last4", "home_unit", "accounts"]

    def get_id_last4(self, customer: Customer) -> str:
        return customer.id_last6[-4:]

    def get_mobile_masked(self, customer: Customer) -> str:
        mobile = customer.mobile
        return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) >= 7 else mobile

    def get_accounts(self, customer: Customer) -> list[dict]:
        return [
            {"id": a.id, "number_masked": mask_number(a.number, a.kind), "kind": a.kind, "status": a.status}
            for a in customer.accounts.all()
        ]


class CustomerDetailSerializer(CustomerListSerializer):
    # Replaces the list's method field by the full nested summaries (DRF allows it; mypy cannot know).
    accounts = AccountSummarySerializer(many=True, read_only=True)  # type: ignore[assignment]
    registration = serializers.SerializerMethodField()
    sms_notice = serializers.SerializerMethodField()

    class Meta(CustomerListSerializer.Meta):
        fields = ["id", "name", "mobile", "id_last4", "home_unit", "accounts", "registration", "sms_notice"]

    def get_registration(self, customer: Customer) -> dict:
        registration = self.context.get("registration")
        if registration is None:
            return {"registered": False, "locked": False, "linked": []}
        return {
            "registered": True,
            "id": registration.id,
            "account_id": registration.account_id,
            "number_masked": mask_number(registration.account.number, registration.account.kind),
            "locked": registration.locked,
            "failed_attempts": registration.failed_attempts,
            "linked": [
                {
                    "code": link.code,
                    "account_id": link.account_id,
                    "number_masked": mask_number(link.account.number, link.account.kind),
                    "kind": link.account.kind,
                }
                for link in registration.linked.all()
            ],
        }

    def get_sms_notice(self, customer: Customer) -> list[dict]:
        return [
            {"account_id": sub.account_id, "active": sub.active}
            for account in customer.accounts.all()
            if (sub := getattr(account, "sms_notice", None)) is not None
        ]


class PostingSerializer(serializers.ModelSerializer):
    ts = serializers.DateTimeField(source="created_at")
    amount = serializers.SerializerMethodField()
    balance = serializers.SerializerMethodField()
    memo = serializers.CharField(source="transaction.memo")
    kind = serializers.CharField(source="transaction.kind")
    channel = serializers.CharField(source="transaction.channel")

    class Meta:
        model = Posting
        fields = ["id", "ts", "amount", "balance", "memo", "kind", "channel"]

    def get_amount(self, posting: Posting) -> str:
        return fen_to_yuan(posting.amount_fen)

    def get_balance(self, posting: Posting) -> str:
        return fen_to_yuan(posting.balance_after_fen)


class TransactionQuerySerializer(InputSerializer):
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)
    call_id = serializers.CharField(required=False, max_length=128, allow_blank=True)

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError(
                {"date_to": [serializers.ErrorDetail("date_to is before date_from.", code="invalid_date_range")]}
            )
        return attrs


class CustomerSearchSerializer(InputSerializer):
    """The body of ``POST /api/banking/customers/search/`` (paging stays in the query string)."""

    q = serializers.CharField(min_length=4, max_length=32)
    call_id = serializers.CharField(required=False, max_length=128, allow_blank=True)


class LossReportCreateSerializer(InputSerializer):
    account = serializers.IntegerField(min_value=1)
    verification = serializers.ChoiceField(choices=LossReport.Verification.choices)
    call_id = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")
    password = serializers.CharField(required=False, write_only=True, min_length=6, max_length=6, trim_whitespace=False)

    def validate(self, attrs):
        if attrs["verification"] == LossReport.Verification.PASSWORD and not attrs.get("password"):
            raise serializers.ValidationError(
                {"password": [serializers.ErrorDetail("Required for password verification.", code="required")]}
            )
        return attrs


class LossReportSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="account.status")
    account = serializers.IntegerField(source="account_id")
    report_status = serializers.CharField(source="status")

    class Meta:
        model = LossReport
        fields = ["id", "account", "status", "report_status", "valid_until", "verification", "channel", "call_id"]


class UnlockSerializer(InputSerializer):
    call_id = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class SmsNoticeChangeSerializer(InputSerializer):
    """``POST /api/banking/accounts/{id}/sms-notice/``: 短信通 on or off — by the agent on their
    call (``call_id`` required), or by the branch's staff at the customer's request at an outlet
    (no call)."""

    enabled = serializers.BooleanField()
    call_id = serializers.CharField(max_length=128, required=False)


class SmsNoticeStateSerializer(serializers.Serializer):
    """The account's 短信通 after the request: ``changed`` is false when it already was so."""

    account = serializers.IntegerField()
    enabled = serializers.BooleanField()
    phone_masked = serializers.CharField(allow_blank=True)
    changed = serializers.BooleanField()


# --- settlement batches (DESIGN.md §6 Banking) ---------------------------------------------------


class BatchUploadSerializer(InputSerializer):
    kind = serializers.ChoiceField(choices=["pos_prize", "atm_adjustment", "refund"])
    period = serializers.CharField(max_length=10)
    file = serializers.FileField()
    corrects = serializers.IntegerField(required=False, min_value=1, help_text="the batch this one corrects")


class BatchDecisionSerializer(InputSerializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class BatchCreatedSerializer(serializers.Serializer):
    """``201`` of ``POST /api/banking/batches/``: the batch and its validation figures."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    items = serializers.IntegerField(source="items_count")
    control_total = serializers.SerializerMethodField()
    valid = serializers.IntegerField(source="valid_count")
    invalid = serializers.SerializerMethodField()
    reasons = serializers.SerializerMethodField()

    def get_control_total(self, batch) -> str:
        return fen_to_yuan(batch.control_total_fen)

    def get_invalid(self, batch) -> int:
        return batch.items_count - batch.valid_count

    def get_reasons(self, batch) -> dict[str, int]:
        return dict(batch.report.get("reasons", {}))


class BatchProgressSerializer(serializers.Serializer):
    """The batch's state and figures: ``GET /api/banking/batches/{id}/`` and the pushed progress."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    period = serializers.CharField()
    status = serializers.CharField()
    items = serializers.IntegerField(source="items_count")
    posted = serializers.IntegerField(source="posted_count")
    failed = serializers.IntegerField(source="failed_count")
    control_total = serializers.SerializerMethodField()
    posted_total = serializers.SerializerMethodField()
    failed_total = serializers.SerializerMethodField()
    corrects = serializers.IntegerField(source="corrects_id", allow_null=True)
    rate = serializers.SerializerMethodField()
    eta_s = serializers.SerializerMethodField()

    def get_control_total(self, batch) -> str:
        return fen_to_yuan(batch.control_total_fen)

    def get_posted_total(self, batch) -> str:
        return fen_to_yuan(batch.posted_total_fen)

    def get_failed_total(self, batch) -> str:
        return fen_to_yuan(batch.failed_total_fen)

    def _progress(self, batch) -> dict:
        from .services.batches import batch_progress

        return batch_progress(batch)

    def get_rate(self, batch) -> float:
        return self._progress(batch)["rate"]

    def get_eta_s(self, batch) -> int | None:
        return self._progress(batch)["eta_s"]
