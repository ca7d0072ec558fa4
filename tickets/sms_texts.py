"""The service SMS work orders send the customer: defaults and placeholders of the templates
``tickets.extension`` and ``tickets.closed`` (``notifications.texts``, registered by
``TicketsConfig.ready``; the maintainer may edit them). Chinese literal text, not translated."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from notifications import texts
from notifications.models import SmsOutbox

EXTENSION = (
    "{signature}您{received}反映的问题（工单号{ticket_number}）情况较为复杂，"
    "办理时限延长至{due}，给您带来不便，敬请谅解。"
)
CLOSED = "{signature}您{received}反映的问题（工单号{ticket_number}）已办结，感谢您对我行工作的支持。"

_COMMON = {
    "signature": (_("The bank's SMS signature"), "【农合银行】"),
    "received": (_("The day the work order was received, local date"), "12月1日"),
    "ticket_number": (_("The work order's number"), "000123"),
}

EXTENSION_SPEC = texts.TemplateSpec(
    key="tickets.extension",
    kind=SmsOutbox.Kind.SERVICE,
    label=_("Work order deadline extended"),
    default=EXTENSION,
    placeholders={**_COMMON, "due": (_("The new deadline, local date"), "12月31日")},
    required=("signature", "ticket_number", "due"),
)
CLOSED_SPEC = texts.TemplateSpec(
    key="tickets.closed",
    kind=SmsOutbox.Kind.SERVICE,
    label=_("Work order closed"),
    default=CLOSED,
    placeholders=dict(_COMMON),
    required=("signature", "ticket_number"),
)
SPECS = (EXTENSION_SPEC, CLOSED_SPEC)


def register_templates() -> None:
    texts.register(*SPECS)
