"""SMS templates (issue 15): the registry, exact rendering, the maintainer's edits (validated,
versioned, audited) that the next message follows on the Python path and inside PostgreSQL (the
transfer function's notice), reset, the pages (list, edit, live preview, history; maintainer
edits, director reads, others refused), and the outbox's guard against a full number whatever a
template renders."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import DataError, connection, transaction
from django.utils import timezone

from audit.models import AuditEvent
from banking import sms_texts
from banking.errors import RegistrationLocked
from banking.services import transfers
from banking.services.loss_reports import loss_report_cancel, loss_report_register
from banking.services.passwords import password_verify
from core.errors import DomainError
from notifications import texts
from notifications.errors import InvalidTemplate, UnknownTemplate
from notifications.models import SmsOutbox, SmsTemplate, SmsTemplateVersion
from notifications.services import sms_template_reset, sms_template_update
from org.navigation import display_name
from org.roles import Role
from tests.factories import make_staff
from tests.factories_banking import PHONE_PIN, phone_banking

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOTICE = sms_texts.TRANSACTION_NOTICE_SPEC.key


@pytest.fixture(autouse=True)
def no_task(monkeypatch):
    """Rows stay pending: these tests read what was queued, not what delivery did with it."""
    from notifications import delivery

    monkeypatch.setattr(delivery, "schedule", lambda ids: None)


@pytest.fixture
def maintainer():
    return make_staff(Role.MAINTAINER, username="maint")


@pytest.fixture
def director():
    return make_staff(Role.DIRECTOR, username="director")


@pytest.fixture
def agent():
    return make_staff(Role.AGENT, username="agent")


def notice_values(**overrides: str) -> dict[str, str]:
    return {**sms_texts.TRANSACTION_NOTICE_SPEC.samples, **overrides}


# --- the registry ------------------------------------------------------------------------------------


def test_every_message_the_code_sends_is_a_registered_template():
    kinds = {spec.key: spec.kind for spec in texts.specs()}
    assert kinds == {
        "banking.loss_cancelled": "loss_report",
        "banking.loss_reminder": "loss_report",
        "banking.loss_reported": "loss_report",
        "banking.registration_locked": "service",
        "banking.transaction_notice": "transaction_notice",
        "tickets.closed": "service",
        "tickets.extension": "service",
        "tickets.staff_overdue_director": "staff_notice",
        "tickets.staff_overdue_head": "staff_notice",
        "tickets.staff_reminder": "staff_notice",
    }
    for spec in texts.specs():
        assert texts.check_text(spec, spec.default) == [], spec.key
        assert spec.default.startswith("{signature}"), spec.key


@pytest.mark.parametrize("name", ["password", "card_number", "account_number", "pin", "new_password", "number"])
def test_no_placeholder_may_carry_a_secret_or_a_whole_number(name):
    spec = texts.TemplateSpec(
        key="tests.secret", kind="service", label="x", default=f"您的{{{name}}}", placeholders={name: ("x", "1")}
    )
    with pytest.raises(ValueError, match="may not carry"):
        texts.register(spec)
    with pytest.raises(LookupError):
        texts.spec("tests.secret")


def test_a_sample_that_looks_like_a_full_number_and_a_broken_default_are_refused():
    with pytest.raises(ValueError, match="full number"):
        texts.register(
            texts.TemplateSpec(
                key="tests.sample",
                kind="service",
                label="x",
                default="{tail}",
                placeholders={"tail": ("x", "6228480012345678")},
            )
        )
    with pytest.raises(ValueError, match="unknown_placeholder"):
        texts.register(
            texts.TemplateSpec(key="tests.default", kind="service", label="x", default="{other}", placeholders={})
        )


def test_a_key_is_registered_once():
    texts.register(sms_texts.TRANSACTION_NOTICE_SPEC)  # the same spec again: nothing happens
    other = texts.TemplateSpec(key=NOTICE, kind="service", label="x", default="hi", placeholders={})
    with pytest.raises(ValueError, match="registered twice"):
        texts.register(other)
    assert texts.spec(NOTICE) is sms_texts.TRANSACTION_NOTICE_SPEC


# --- rendering ---------------------------------------------------------------------------------------


def test_the_default_renders_with_the_values():
    text = texts.render(
        NOTICE,
        notice_values(signature="【农合银行】", last4="0001", time="12月1日09:05", verb="转出", amount="1,234.56"),
    )
    assert text == "【农合银行】您尾号0001的借记卡于12月1日09:05转出人民币1,234.56元，余额12,345.67元。"


def test_substitution_is_one_pass_and_exact():
    spec = texts.spec(NOTICE)
    # A value that looks like a placeholder is not expanded again; format specs are not a thing.
    assert texts.substitute("{last4}|{time}", {"last4": "{time}", "time": "9:05"}) == "{time}|9:05"
    assert texts.substitute("{last4}{last4}", {"last4": "0001"}) == "00010001"
    with pytest.raises(KeyError, match="no value"):
        texts.substitute("{last4}{time}", {"last4": "0001"})
    with pytest.raises(KeyError, match="no placeholder"):
        texts.render(NOTICE, {**spec.samples, "card_number": "x"})
    # Every placeholder of the template, used by the text in force or not: a caller cannot
    # break when the maintainer starts using one.
    with pytest.raises(KeyError, match="'balance' has no value"):
        texts.render(NOTICE, {name: value for name, value in spec.samples.items() if name != "balance"})
    with pytest.raises(LookupError):
        texts.render("banking.nothing", {})


def test_the_legacy_helper_renders_the_same_notice():
    pb = phone_banking(sms_notice=True)
    at = datetime(2026, 12, 1, 9, 5, tzinfo=SHANGHAI)
    text = sms_texts.transaction_notice(account=pb.card, transfer=True, amount_fen=-123_456, balance_fen=99, at=at)
    assert text == f"【农合银行】您尾号{pb.card.number[-4:]}的借记卡于12月1日09:05转出人民币1,234.56元，余额0.99元。"


def test_segments_count_as_an_sms_gateway_does():
    assert texts.segments("短" * 70) == 1
    assert texts.segments("短" * 71) == 2  # 67 + 4
    assert texts.segments("短" * 134) == 2
    assert texts.segments("短" * 135) == 3
    assert texts.ucs2_length("😀") == 2  # beyond the BMP: a surrogate pair


# --- validation --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("   ", "empty"),
        ("{signature}尾号{last4}于{time}{verb}{amount}元{", "stray_brace"),
        ("{signature}尾号{last4}于{time}{verb}{amount}元 {{balance}}", "stray_brace"),
        ("{signature}尾号{last4}于{time}{verb}{amount}元{balance:>10}", "stray_brace"),
        ("{signature}尾号{last4}于{time}{verb}{amount}元，卡号{card_number}", "unknown_placeholder"),
        ("{signature}于{time}{verb}{amount}元", "missing_placeholder"),
        ("{signature}尾号{last4}于{time}{verb}{amount}元，卡号6228480012345678", "full_number"),
        ("{signature}尾号{last4}{last4}{last4}于{time}{verb}{amount}元", "full_number"),  # 12 digits rendered
        ("{signature}尾号{last4}于{time}{verb}{amount}元" + "。" * 500, "too_long"),
    ],
)
def test_a_text_that_cannot_be_sent_is_refused_with_its_code(maintainer, text, code):
    with pytest.raises(InvalidTemplate) as refused:
        sms_template_update(key=NOTICE, text=text, actor=maintainer)
    assert refused.value.code == code
    assert refused.value.status == 422
    assert code in [item["code"] for item in refused.value.details]
    assert not SmsTemplate.objects.exists() and not SmsTemplateVersion.objects.exists()
    assert texts.current_text(NOTICE) == sms_texts.TRANSACTION_NOTICE


def test_an_unknown_template_is_refused(maintainer):
    with pytest.raises(UnknownTemplate):
        sms_template_update(key="banking.nothing", text="hi", actor=maintainer)
    with pytest.raises(UnknownTemplate):
        sms_template_reset(key="banking.nothing", actor=maintainer)


# --- edit, reset, history ----------------------------------------------------------------------------

EDITED_CANCEL = "{signature}尾号{last4}{kind_name}的口头挂失已于{time}撤销，可正常使用。"


def test_an_edit_is_what_the_next_message_says(maintainer):
    pb = phone_banking()
    report = loss_report_register(account=pb.card, verification="id_document", channel="agent")
    before = SmsOutbox.objects.get()
    assert "办理口头挂失" in before.text
    sms_template_update(key=sms_texts.LOSS_CANCELLED_SPEC.key, text=EDITED_CANCEL, actor=maintainer)
    loss_report_cancel(loss_report=report, actor=maintainer, channel="agent")
    sms = SmsOutbox.objects.exclude(pk=before.pk).get()
    assert sms.kind == SmsOutbox.Kind.LOSS_REPORT and sms.phone == pb.customer.mobile
    assert sms.text.startswith(f"【农合银行】尾号{pb.card.number[-4:]}借记卡的口头挂失已于")
    assert sms.text.endswith("撤销，可正常使用。")


def test_the_transaction_notice_follows_an_edit_on_this_databases_path(maintainer, monkeypatch):
    """On SQLite the Python path, on PostgreSQL the transfer function: the same edited text."""
    now = datetime(2026, 12, 1, 9, 5, 30, tzinfo=SHANGHAI)
    monkeypatch.setattr(timezone, "now", lambda: now)
    pb = phone_banking(card_fen=5_000_000, sms_notice=True)
    edited = "{signature}{kind_name}尾号{last4}：{time}{verb}{amount}元，余额{balance}元"
    sms_template_update(key=NOTICE, text=edited, actor=maintainer)
    transfers.transfer_execute(
        registration=pb.registration,
        from_account=pb.card,
        to_account=pb.linked[0],
        amount="1234.56",
        idempotency_key="edited-notice",
        channel="ivr",
    )
    sms = SmsOutbox.objects.get()
    assert sms.text == f"【农合银行】借记卡尾号{pb.card.number[-4:]}：12月1日09:05转出1,234.56元，余额48,765.44元"


def test_reset_brings_the_default_back_and_every_change_is_a_version_and_an_audit_event(maintainer):
    key = sms_texts.LOSS_CANCELLED_SPEC.key
    first = sms_template_update(key=key, text=EDITED_CANCEL, actor=maintainer)
    assert texts.current_text(key) == EDITED_CANCEL
    override = SmsTemplate.objects.get(key=key)
    assert override.updated_by == maintainer
    second = sms_template_update(key=key, text=EDITED_CANCEL + "谢谢。", actor=maintainer)
    reset = sms_template_reset(key=key, actor=maintainer)
    assert texts.current_text(key) == sms_texts.LOSS_CANCELLED
    assert not SmsTemplate.objects.exists()
    assert [(v.pk, v.note, v.text) for v in texts.history(key)] == [
        (reset.pk, "reset", sms_texts.LOSS_CANCELLED),
        (second.pk, "edited", EDITED_CANCEL + "谢谢。"),
        (first.pk, "edited", EDITED_CANCEL),
    ]
    events = list(AuditEvent.objects.filter(object_type="smstemplate").order_by("pk"))
    assert [(e.action, e.object_id, e.actor_username) for e in events] == [
        ("sms.template_update", key, "maint"),
        ("sms.template_update", key, "maint"),
        ("sms.template_reset", key, "maint"),
    ]
    assert events[0].details["before"] == sms_texts.LOSS_CANCELLED and events[0].details["after"] == EDITED_CANCEL
    with pytest.raises(Exception, match="append-only"):
        first.delete()


def test_saving_the_default_text_removes_the_override(maintainer):
    key = sms_texts.LOSS_CANCELLED_SPEC.key
    sms_template_update(key=key, text=EDITED_CANCEL, actor=maintainer)
    sms_template_update(key=key, text=sms_texts.LOSS_CANCELLED + "\r\n", actor=maintainer)
    assert not SmsTemplate.objects.exists() and SmsTemplateVersion.objects.count() == 2


def test_the_work_order_notices_are_templates_too(maintainer, staff, branches):
    from tests.factories_banking import AccountFactory
    from tickets.models import Category, ContactKind
    from tickets.services.contacts import ticket_create
    from tickets.services.workflow import close_notice

    customer = AccountFactory().customer
    ticket = ticket_create(
        actor=staff[Role.AGENT],
        kind=ContactKind.COMPLAINT,
        category=Category.SERVICE_ATTITUDE,
        description="客户反映问题",
        customer=customer,
    )
    ticket.first_dispatched_at = timezone.now()
    sms_template_update(
        key="tickets.closed", text="{signature}工单{ticket_number}（{received}受理）已办结。", actor=maintainer
    )
    close_notice(ticket)
    sms = SmsOutbox.objects.get()
    received = timezone.localtime(ticket.received_at)
    assert sms.text == f"【农合银行】工单{ticket.number}（{received.month}月{received.day}日受理）已办结。"
    assert sms.kind == "service" and sms.phone == customer.mobile


# --- the registration locked after wrong passwords ---------------------------------------------------


def test_a_locked_registration_is_texted_to_the_customers_mobile(settings):
    settings.BANKING_PASSWORD_MAX_ATTEMPTS = 3
    pb = phone_banking()
    wrong = "000000" if PHONE_PIN != "000000" else "111111"
    for _ in range(2):
        assert password_verify(registration=pb.registration, password=wrong, channel="ivr") is False
    assert not SmsOutbox.objects.exists()
    with pytest.raises(RegistrationLocked):
        password_verify(registration=pb.registration, password=wrong, channel="ivr")
    sms = SmsOutbox.objects.get()
    assert (sms.phone, sms.kind) == (pb.customer.mobile, SmsOutbox.Kind.SERVICE)
    locked_at = timezone.localtime(pb.registration.locked_at, SHANGHAI)
    assert sms.text.startswith(f"【农合银行】您尾号{pb.card.number[-4:]}的借记卡电话银行已于{locked_at.month}月")
    assert "因密码连续输错被锁定" in sms.text
    assert wrong not in sms.text and PHONE_PIN not in sms.text and pb.card.number not in sms.text
    # Locked already: a further attempt texts nobody again.
    with pytest.raises(RegistrationLocked):
        password_verify(registration=pb.registration, password=PHONE_PIN, channel="ivr")
    assert SmsOutbox.objects.count() == 1


def test_no_mobile_on_record_no_lock_message(settings):
    settings.BANKING_PASSWORD_MAX_ATTEMPTS = 1
    pb = phone_banking()
    pb.customer.mobile = ""
    pb.customer.save()
    with pytest.raises(RegistrationLocked):
        password_verify(registration=pb.registration, password="999999", channel="ivr")
    assert not SmsOutbox.objects.exists()


# --- the guard stays ---------------------------------------------------------------------------------


def test_the_outbox_refuses_a_full_number_whatever_a_stored_template_renders():
    """A text that got past validation (written to the table directly) still cannot send a whole
    card number: the outbox's guard refuses the rendered text and nothing is queued."""
    SmsTemplate.objects.create(key=NOTICE, text="{signature}{last4}{last4}{last4}{last4}")
    with pytest.raises(ValueError, match="full card or account number"):
        texts.enqueue(key=NOTICE, phone="13900000000", values=notice_values(last4="1234"))
    assert not SmsOutbox.objects.exists()


# --- the pages ---------------------------------------------------------------------------------------

LIST = "/notifications/sms/templates/"
EDIT = f"/notifications/sms/templates/{NOTICE}/"


def test_the_list_shows_every_template_and_who_edited_it(client_for, maintainer):
    sms_template_update(key=sms_texts.LOSS_CANCELLED_SPEC.key, text=EDITED_CANCEL, actor=maintainer)
    html = client_for(maintainer).get(LIST).content.decode()
    for spec in texts.specs():
        assert f'data-template="{spec.key}"' in html
    assert html.count('class="muted tpl-default"') == len(texts.specs()) - 1
    row = html[html.index(f'data-template="{sms_texts.LOSS_CANCELLED_SPEC.key}"') :]
    row = row[: row.index("</tr>")]
    assert EDITED_CANCEL in row and display_name(maintainer) in row and "tpl-default" not in row
    outbox = client_for(maintainer).get("/notifications/sms/").content.decode()
    assert f'href="{LIST}"' in outbox


def test_the_edit_page_shows_placeholders_preview_and_history(client_for, maintainer):
    client = client_for(maintainer)
    html = client.get(EDIT).content.decode()
    assert 'id="template-text"' in html and "hx-post" in html and f"{EDIT}preview/" in html
    assert "{last4}" in html and "0001" in html
    assert "【农合银行】您尾号0001的借记卡于12月1日09:05转出人民币1,234.56元，余额12,345.67元。" in html
    response = client.post(f"{EDIT}save/", {"text": "{signature}尾号{last4}{time}{verb}{amount}元"}, follow=True)
    html = response.content.decode()
    assert response.redirect_chain and texts.current_text(NOTICE) == "{signature}尾号{last4}{time}{verb}{amount}元"
    assert html.count('data-version="') == 1 and display_name(maintainer) in html
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    long = "{signature}尾号{last4}{time}{verb}{amount}元" + "。" * 60
    html = client.post(f"{EDIT}save/", {"text": long}, follow=True).content.decode()
    assert "With the sample values it goes out as 2 SMS." in html and texts.current_text(NOTICE) == long
    response = client.post(f"{EDIT}reset/", follow=True)
    assert texts.current_text(NOTICE) == sms_texts.TRANSACTION_NOTICE
    assert SmsTemplateVersion.objects.filter(note="reset").count() == 1


def test_a_refused_save_comes_back_with_the_reasons_and_keeps_the_text(client_for, maintainer):
    response = client_for(maintainer).post(f"{EDIT}save/", {"text": "{signature}{last4}{time}{verb}{amount}{pin}"})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'id="save-errors"' in html and "{pin}" in html
    assert not SmsTemplate.objects.exists()


def test_the_preview_renders_the_samples_with_length_and_segments(client_for, director):
    client = client_for(director)  # reading (and previewing) is the director's too
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    response = client.post(f"{EDIT}preview/", {"text": "{signature}尾号{last4}{time}{verb}{amount}元"})
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "【农合银行】尾号000112月1日09:05转出1,234.56元" in html
    assert "33 characters" in html and ">1 SMS<" in html
    assert 'id="preview-segment-warning"' not in html
    long = "{signature}尾号{last4}{time}{verb}{amount}元" + "。" * 60
    html = client.post(f"{EDIT}preview/", {"text": long}).content.decode()
    assert "93 characters" in html and ">2 SMS<" in html and 'id="preview-segment-warning"' in html
    html = client.post(f"{EDIT}preview/", {"text": "{signature}{last4}{time}{verb}{amount}{oops"}).content.decode()
    assert 'id="preview-problems"' in html and "A brace that is not part of a placeholder" in html
    html = client.post(
        f"{EDIT}preview/", {"text": "{signature}{last4}{last4}{last4}{time}{verb}{amount}"}
    ).content.decode()
    assert "looks like a full card or account number" in html
    assert not SmsTemplate.objects.exists()


def test_the_director_reads_but_does_not_edit(client_for, director):
    client = client_for(director)
    assert client.get(LIST).status_code == 200
    html = client.get(EDIT).content.decode()
    assert 'id="template-form"' not in html and f"{EDIT}save/" not in html
    assert client.post(f"{EDIT}save/", {"text": "{signature}{last4}{time}{verb}{amount}"}).status_code == 403
    assert client.post(f"{EDIT}reset/").status_code == 403
    assert not SmsTemplateVersion.objects.exists()


@pytest.mark.parametrize("url", [LIST, EDIT])
def test_an_agent_is_refused_and_an_anonymous_user_sent_to_log_in(client, client_for, agent, url):
    assert client.get(url).status_code == 302
    assert client_for(agent).get(url).status_code == 403
    assert client_for(agent).post(f"{EDIT}preview/", {"text": "x"}).status_code == 403
    assert client_for(agent).post(f"{EDIT}save/", {"text": "x"}).status_code == 403
    assert AuditEvent.objects.filter(action="auth.permission_denied").exists()


def test_an_unknown_key_is_404(client_for, maintainer):
    assert client_for(maintainer).get("/notifications/sms/templates/banking.nothing/").status_code == 404


def test_the_pages_in_english(client_for, maintainer):
    client = client_for(maintainer)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get(LIST).content.decode()
    assert "<h1>SMS templates</h1>" in html and "Transaction notice (SMS notice service)" in html
    html = client.get(EDIT).content.decode()
    assert "Preview with sample values" in html and "The last 4 digits of the card or passbook number" in html
    html = client.post(f"{EDIT}preview/", {"text": "{signature}{last4}{time}{verb}"}).content.decode()
    assert "The text must keep {amount}." in html


# --- PostgreSQL: notifications_sms_render --------------------------------------------------------------


def _latest(attribute: str) -> str:
    import importlib
    import pkgutil

    import notifications.migrations as package

    found = None
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"notifications.migrations.{info.name}")
        found = getattr(module, attribute, found)
    assert found is not None
    return found


def test_the_latest_migration_holds_the_generated_render_function():
    assert _latest("SMS_RENDER_FUNCTION").strip() == texts.sms_render_function_sql().strip()


def _sql_render(key: str, default: str, values: dict[str, str | None]) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT notifications_sms_render(%s, %s, %s::text[], %s::text[])",
            [key, default, list(values), list(values.values())],
        )
        return cursor.fetchone()[0]


RENDER_CASES = [
    ("{signature}您尾号{last4}的{kind_name}", {"signature": "【银行】", "last4": "0001", "kind_name": "借记卡"}),
    ("{last4}|{time}", {"last4": "{time}", "time": "9:05"}),  # a value is not scanned again
    ("{a}{a}{a}", {"a": "x"}),
    ("无占位符 {Upper} {1x} {a-b} }{", {}),  # not placeholders: kept as they are
    ("{a_1}末尾", {"a_1": "'引号' \\ 反斜杠 % _"}),
    ("", {}),
]


@pytest.mark.postgres
def test_the_database_runs_the_generated_render_function():
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'notifications_sms_render'")
        (source,) = cursor.fetchone()
    sql = texts.sms_render_function_sql()
    first = sql.index("$$") + 2
    assert source == sql[first : sql.index("$$", first)]


@pytest.mark.postgres
@pytest.mark.parametrize(("template", "values"), RENDER_CASES)
def test_the_sql_render_gives_the_python_renders_text(template, values):
    assert _sql_render("tests.none", template, values) == texts.substitute(template, values)


@pytest.mark.postgres
def test_the_sql_render_reads_the_maintainers_text_and_refuses_a_missing_value(maintainer):
    values = notice_values()
    default = sms_texts.TRANSACTION_NOTICE
    assert _sql_render(NOTICE, default, values) == texts.render(NOTICE, values)
    sms_template_update(key=NOTICE, text="{signature}{last4}于{time}{verb}{amount}元", actor=maintainer)
    assert (
        _sql_render(NOTICE, default, values)
        == texts.render(NOTICE, values)
        == "【农合银行】0001于12月1日09:05转出1,234.56元"
    )
    for missing in ({**values, "amount": None}, {k: v for k, v in values.items() if k != "amount"}):
        with pytest.raises(DataError), transaction.atomic():
            _sql_render(NOTICE, default, missing)


@pytest.mark.postgres
def test_the_transfer_functions_notice_is_the_python_paths_for_an_edited_template(maintainer, monkeypatch):
    """Both paths run the same transfer from the same state (each in a savepoint rolled back
    after): with the maintainer's text both queue the same notices."""
    from banking.services.common import params_fingerprint

    now = datetime(2026, 12, 1, 9, 5, 30, tzinfo=SHANGHAI)  # seconds in: the minute cannot roll over
    monkeypatch.setattr(timezone, "now", lambda: now)
    pb = phone_banking(card_fen=5_000_000, sms_notice=True)
    edited = "{signature}{verb}{amount}元·尾号{last4}·{time}·余额{balance}·{kind_name}"
    sms_template_update(key=NOTICE, text=edited, actor=maintainer)
    kwargs = {
        "registration": pb.registration,
        "from_id": pb.card.pk,
        "to_id": pb.linked[0].pk,
        "amount_fen": 123_456,
        "key": "both-paths",
        "fingerprint": params_fingerprint({"test": 1}),
        "channel": "ivr",
        "call_id": "",
        "actor": None,
        "memo": transfers.DEFAULT_TRANSFER_MEMO,
    }
    texts_by_path = []
    for path in (transfers._transfer_in_database, transfers._transfer_in_python):
        sid = transaction.savepoint()
        try:
            path(**kwargs)
            texts_by_path.append(list(SmsOutbox.objects.order_by("pk").values_list("text", flat=True)))
        finally:
            transaction.savepoint_rollback(sid)
    in_database, in_python = texts_by_path
    assert (
        in_database
        == in_python
        == [f"【农合银行】转出1,234.56元·尾号{pb.card.number[-4:]}·12月1日09:05·余额48,765.44·借记卡"]
    )


@pytest.mark.postgres
def test_the_guard_refuses_a_full_number_a_stored_template_makes_inside_the_transfer_function():
    pb = phone_banking(card_fen=5_000_000, sms_notice=True)
    SmsTemplate.objects.create(key=NOTICE, text="{signature}{last4}{last4}{last4}{last4}{amount}")
    with pytest.raises(DataError):
        transfers.transfer_execute(
            registration=pb.registration,
            from_account=pb.card,
            to_account=pb.linked[0],
            amount="1.00",
            idempotency_key="guarded",
            channel="ivr",
        )
    assert not SmsOutbox.objects.exists()
    pb.card.refresh_from_db()
    assert pb.card.balance_fen == 5_000_000


def test_domain_errors_carry_stable_codes(maintainer):
    with pytest.raises(DomainError) as refused:
        sms_template_update(key=NOTICE, text="{signature}", actor=maintainer)
    assert refused.value.code == "missing_placeholder"
    assert [item["code"] for item in refused.value.details] == ["missing_placeholder"] * 4
