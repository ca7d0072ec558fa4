"""Request and response shapes of the work-order API (DESIGN.md §6 "Work orders")."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from core.api.serializers import InputSerializer, QuerySerializer

from .models import Category, ContactKind, State, Ticket, TicketAttachment, TicketEvent, TicketExtension


def _yuan(fen: int | None) -> str | None:
    if fen is None:
        return None
    from banking.money import fen_to_yuan

    return fen_to_yuan(fen)


def _mask_mobile(mobile: str) -> str:
    from banking.masking import mask_mobile

    return mask_mobile(mobile)


# --- input ----------------------------------------------------------------------------------------


class ChoiceCodeField(serializers.CharField):
    """A choice whose unknown value is refused with its own code (``unknown_category``...)."""

    def __init__(self, *, choices, code: str, **kwargs):
        self.allowed, self.unknown_code = frozenset(choices), code
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value not in self.allowed:
            raise serializers.ValidationError(_("Unknown value."), code=self.unknown_code)
        return value


class TicketCreateInput(InputSerializer):
    kind = ChoiceCodeField(choices=ContactKind.values, code="unknown_kind")
    category = ChoiceCodeField(choices=Category.values, code="unknown_category")
    description = serializers.CharField(max_length=4000)
    customer = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    account = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    call_id = serializers.CharField(required=False, allow_blank=True, max_length=128, default="")
    # For a contact without a recorded call (a letter, an outlet); a known call's own number wins.
    caller_number = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
    received_at = serializers.DateTimeField(required=False, allow_null=True)

    def validate_received_at(self, value):
        # Checked here too so the code is the field's own (the service checks again, atomically).
        if value is not None and value > timezone.now() + timedelta(minutes=2):
            raise serializers.ValidationError(
                _("The time the complaint was received cannot be in the future."), code="received_in_future"
            )
        return value


class DispatchInput(InputSerializer):
    unit = serializers.CharField(max_length=16)


class ReplyInput(InputSerializer):
    result = serializers.CharField(max_length=4000)
    resolved = serializers.BooleanField()
    # Not trimmed: the amount is parsed strictly (banking.money.parse_amount), whitespace refused.
    adjustment_amount = serializers.CharField(required=False, allow_null=True, max_length=20, trim_whitespace=False)


class ReviewInput(InputSerializer):
    accepted = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


class ExtendInput(InputSerializer):
    days = serializers.IntegerField(min_value=1, max_value=60)
    reason = serializers.CharField(max_length=4000)


class ExtensionDecisionInput(InputSerializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


class CallbackInput(InputSerializer):
    satisfied = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


class NoteInput(InputSerializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


class ReasonInput(InputSerializer):
    reason = serializers.CharField(max_length=4000)


class MergeInput(InputSerializer):
    into = serializers.IntegerField(min_value=1)


class EmptyInput(InputSerializer):
    pass


class AdjustmentInput(InputSerializer):
    account = serializers.IntegerField(required=False, allow_null=True, min_value=1)


class AdjustmentDecisionInput(InputSerializer):
    approve = serializers.BooleanField()
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")


class CustomerLinkInput(InputSerializer):
    customer = serializers.IntegerField(min_value=1)


class AttachmentInput(InputSerializer):
    file = serializers.FileField(allow_empty_file=True)


class TicketListQuery(QuerySerializer):
    state = serializers.CharField(required=False, allow_blank=True)
    unit = serializers.CharField(required=False, allow_blank=True, max_length=16)
    category = serializers.ChoiceField(choices=Category.values, required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=ContactKind.values, required=False, allow_blank=True)
    overdue = serializers.BooleanField(required=False, allow_null=True, default=None)
    q = serializers.CharField(required=False, allow_blank=True, max_length=100)
    date_from = serializers.DateField(required=False, allow_null=True)
    date_to = serializers.DateField(required=False, allow_null=True)
    dispatched_from = serializers.DateField(required=False, allow_null=True)
    dispatched_to = serializers.DateField(required=False, allow_null=True)
    closed_from = serializers.DateField(required=False, allow_null=True)
    closed_to = serializers.DateField(required=False, allow_null=True)
    customer = serializers.IntegerField(required=False, min_value=1)
    ordering = serializers.ChoiceField(choices=["received", "due"], required=False, default="received")

    def validate_state(self, value: str) -> tuple[str, ...]:
        states = tuple(part.strip() for part in value.split(",") if part.strip())
        unknown = [state for state in states if state not in State.values]
        if unknown:
            raise serializers.ValidationError(_("Unknown state."), code="invalid_choice")
        return states


# --- output ---------------------------------------------------------------------------------------


class TicketListSerializer(serializers.ModelSerializer):
    unit = serializers.SerializerMethodField()
    customer_name = serializers.SerializerMethodField()
    customer_mobile = serializers.SerializerMethodField()
    caller_number = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()
    paused = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id",
            "number",
            "kind",
            "category",
            "state",
            "unit",
            "customer",
            "customer_name",
            "customer_mobile",
            "caller_number",
            "call_id",
            "received_at",
            "dispatched_at",
            "due_at",
            "due_estimated",
            "overdue",
            "paused",
            "replied_at",
            "satisfied",
            "closed_at",
        ]

    def get_unit(self, ticket: Ticket) -> str | None:
        return ticket.unit.code if ticket.unit is not None else None

    def get_customer_name(self, ticket: Ticket) -> str | None:
        return ticket.customer.name if ticket.customer is not None else None

    def get_customer_mobile(self, ticket: Ticket) -> str | None:
        return _mask_mobile(ticket.customer.mobile) if ticket.customer is not None else None

    def get_caller_number(self, ticket: Ticket) -> str:
        # Lists mask it like a customer's mobile; the work order itself has it whole.
        return _mask_mobile(ticket.caller_number) if ticket.caller_number else ""

    def get_overdue(self, ticket: Ticket) -> bool:
        return ticket.is_overdue(self.context.get("now"))

    def get_paused(self, ticket: Ticket) -> bool:
        return ticket.paused_at is not None


class ExtensionSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.SerializerMethodField()

    class Meta:
        model = TicketExtension
        fields = [
            "id",
            "stage",
            "days",
            "reason",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "due_before",
            "due_after",
        ]

    def get_decided_by(self, extension: TicketExtension) -> str | None:
        return extension.decided_by.username if extension.decided_by is not None else None


class AttachmentSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.username")
    url = serializers.SerializerMethodField()

    class Meta:
        model = TicketAttachment
        fields = ["id", "original_name", "content_type", "size", "sha256", "uploaded_by", "uploaded_at", "url"]

    def get_url(self, attachment: TicketAttachment) -> str:
        return f"/api/tickets/{attachment.ticket_id}/attachments/{attachment.pk}/"


class TicketDetailSerializer(TicketListSerializer):
    customer_mobile = serializers.SerializerMethodField()
    caller_number = serializers.CharField()  # type: ignore[assignment]  # the detail shows it whole, not masked
    account_masked = serializers.SerializerMethodField()
    adjustment_confirmed = serializers.SerializerMethodField()
    adjustment_status = serializers.SerializerMethodField()
    adjustment_needs_approval = serializers.SerializerMethodField()
    adjustment_waived = serializers.SerializerMethodField()
    adjustment = serializers.SerializerMethodField()
    extensions = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()
    merged_into: serializers.PrimaryKeyRelatedField[Ticket] = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta(TicketListSerializer.Meta):
        fields = [
            *TicketListSerializer.Meta.fields,
            "description",
            "account",
            "account_masked",
            "created_at",
            "original_due_at",
            "extension_days",
            "paused_at",
            "paused_days",
            "accepted_at",
            "reply_result",
            "reply_resolved",
            "replied_on_time",
            "reply_count",
            "adjustment_confirmed",
            "adjustment_status",
            "adjustment_needs_approval",
            "adjustment_waived",
            "adjustment",
            "satisfaction_note",
            "merged_into",
            "extensions",
            "attachments",
        ]

    def get_customer_mobile(self, ticket: Ticket) -> str | None:
        # The unit handling the complaint may need to call the customer: the whole number here.
        return ticket.customer.mobile if ticket.customer is not None else None

    def get_account_masked(self, ticket: Ticket) -> str | None:
        return str(ticket.account) if ticket.account_id else None

    def get_adjustment_confirmed(self, ticket: Ticket) -> str | None:
        return _yuan(ticket.adjustment_confirmed_fen)

    def get_adjustment_status(self, ticket: Ticket) -> str:
        """``none``, ``owed``, ``pending_approval``, ``posted`` or ``waived`` (tickets.policy)."""
        from .policy import adjustment_status

        return adjustment_status(ticket)

    def get_adjustment_needs_approval(self, ticket: Ticket) -> bool:
        from .policy import needs_director_approval

        return needs_director_approval(ticket.adjustment_confirmed_fen)

    def get_adjustment_waived(self, ticket: Ticket) -> dict | None:
        if ticket.adjustment_waived_at is None:
            return None
        return {
            "at": serializers.DateTimeField().to_representation(ticket.adjustment_waived_at),
            "by": ticket.adjustment_waived_by.username if ticket.adjustment_waived_by is not None else None,
            "reason": ticket.adjustment_waiver_reason,
        }

    def get_adjustment(self, ticket: Ticket) -> dict | None:
        adjustment = getattr(ticket, "adjustment", None)  # reverse one-to-one: None when absent
        if adjustment is None:
            return None
        return AdjustmentSerializer(adjustment).data

    def get_extensions(self, ticket: Ticket) -> list[dict]:
        return cast("list[dict]", ExtensionSerializer(ticket.extensions.all(), many=True).data)

    def get_attachments(self, ticket: Ticket) -> list[dict]:
        return cast("list[dict]", AttachmentSerializer(ticket.attachments.all(), many=True).data)


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()

    class Meta:
        model = TicketEvent
        fields = ["id", "action", "actor", "actor_role", "created_at", "before", "after", "note"]

    def get_actor(self, event: TicketEvent) -> str | None:
        return event.actor_username or None


class AdjustmentSerializer(serializers.Serializer):
    ticket = serializers.IntegerField(source="ticket_id")
    status = serializers.CharField()
    amount = serializers.SerializerMethodField()
    account = serializers.IntegerField(source="account_id")
    account_masked = serializers.SerializerMethodField()
    transaction = serializers.IntegerField(source="transaction_id", allow_null=True)
    requested_by = serializers.SerializerMethodField()
    requested_at = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.SerializerMethodField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_note = serializers.CharField()
    posted_at = serializers.DateTimeField(allow_null=True)
    posted_by = serializers.SerializerMethodField()

    def get_amount(self, adjustment) -> str:
        return cast(str, _yuan(adjustment.amount_fen))  # amount_fen is never null

    def get_account_masked(self, adjustment) -> str:
        return str(adjustment.account)

    def get_requested_by(self, adjustment) -> str | None:
        return adjustment.requested_by.username if adjustment.requested_by_id else None

    def get_decided_by(self, adjustment) -> str | None:
        return adjustment.decided_by.username if adjustment.decided_by_id else None

    def get_posted_by(self, adjustment) -> str | None:
        return adjustment.posted_by.username if adjustment.posted_by_id else None
