"""A few plausible alerts for the seeded demo (``seed_demo``), so the risk officer's page is not
empty: raised by the real rules over a little made-up activity on the documented customers that
changes no balance and no registration state (wrong passwords two hours ago, IVR observations),
plus one agent's report, in the states a working page shows (open, assigned with a comment,
closed as a false positive). Idempotent: a second run adds nothing."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record

from ..masking import mask_query
from ..models import Account, AccountEvent
from . import rules, services
from .models import Alert, AlertEvidence, IvrObservation

DEMO_CALL = "demo-risk-{}"


def _observations(kind: str, specs, *, account: Account | None, start) -> list[IvrObservation]:
    """IVR observations with negative ids (real IVR events have positive ones), ascending as
    the rules read them."""
    made = []
    for n, (source_id, phone, number) in enumerate(specs):
        made.append(
            IvrObservation.objects.create(
                source_id=source_id,
                kind=kind,
                at=start + timedelta(minutes=4 * n),
                call_id=DEMO_CALL.format(abs(source_id)),
                ani_key=services._digest(phone),
                ani_masked=mask_query(phone),
                number_key=services._digest(number) if number else "",
                number_masked=mask_query(number) if number else "",
                account=account,
                customer_id=account.customer_id if account is not None else None,
            )
        )
    return made


@transaction.atomic
def seed_alerts() -> int:
    """Create the demo alerts (none if any alert exists); returns how many were created."""
    if Alert.objects.exists():
        return 0
    User = get_user_model()
    officer = User.objects.filter(username="risk").first()
    agent = User.objects.filter(username="agent03").first()
    zhao = Account.objects.filter(number="6228480100000004").first()
    zhang = Account.objects.filter(number="6228480100000001").first()
    if zhao is None or zhang is None:
        return 0
    now = timezone.now()
    created = 0

    # 1. Five wrong phone-banking passwords on 赵敏's card within the hour (unlocked in between).
    failed = [
        AccountEvent.objects.create(
            account=zhao,
            kind=AccountEvent.Kind.PASSWORD_FAILED,
            after={"failed_attempts": 1 + n % 2, "demo": True},
            channel="ivr",
            call_id=DEMO_CALL.format(100 + n // 2),
            created_at=now - timedelta(hours=2) + timedelta(minutes=6 * n),
        )
        for n in range(5)
    ]
    for finding in rules.account_event_findings(failed[-1], zhao.customer_id):
        alert = services.alert_record(finding)
        created += 1
        if officer is not None:
            services.alert_assign(alert=alert, actor=officer, assignee=officer)
            services.alert_comment(
                alert=alert, actor=officer, note="已致电客户核实：客户称忘记密码，待网点确认身份后解锁。"
            )

    # 2. One phone keying three different card numbers at the IVR login within half an hour.
    probes = _observations(
        IvrObservation.Kind.NUMBER_ENTERED,
        [
            (-13, "15912340001", "6228480100009911"),
            (-12, "15912340001", "6228480100009912"),
            (-11, "15912340001", "6228480100009913"),
        ],
        account=None,
        start=now - timedelta(minutes=50),
    )
    for finding in rules.ivr_findings(probes[-1]):
        services.alert_record(finding)
        created += 1

    # 3. 张伟's balance asked from three phones: his family, as it turned out.
    balances = _observations(
        IvrObservation.Kind.BALANCE_QUERY,
        [(-23, "13800000001", ""), (-22, "13611112222", ""), (-21, "13733334444", "")],
        account=zhang,
        start=now - timedelta(days=3),  # outside the window: the live IVR traffic starts afresh
    )
    for finding in rules.ivr_findings(balances[-1]):
        alert = services.alert_record(finding)
        created += 1
        if officer is not None:
            services.alert_close(
                alert=alert, actor=officer, outcome=Alert.Outcome.FALSE_POSITIVE, note="客户确认为家人代查余额。"
            )

    # 4. An agent's report from a call: a caller reading card numbers off a list.
    if agent is not None:
        call_id = DEMO_CALL.format(200)
        note = "来电人照着纸条念卡号，背景有人提示。"
        record = audit_record(actor=agent, action="risk.agent_report", object_type="call", object_id=call_id)
        services.alert_record(
            rules.Finding(
                rule=Alert.Rule.AGENT_REPORT,
                dedupe_key=f"{Alert.Rule.AGENT_REPORT}:call:{call_id}",
                customer_id=zhao.customer_id,
                call_id=call_id,
                details={"note": note, "agent": agent.get_username(), "call_id": call_id, "test_call": False},
                evidence=(
                    rules.Evidence(
                        source=AlertEvidence.Source.AGENT,
                        source_id=record.pk,
                        kind="agent_report",
                        at=record.created_at,
                        call_id=call_id,
                        customer_id=zhao.customer_id,
                        summary={"agent": agent.get_username(), "note": note},
                    ),
                ),
            ),
            actor=agent,
        )
        created += 1
    return created
