"""The agent desktop and the wallboard pages: who may open them, what they carry, the admin.
The call search (the KPIs' drill-down: it lists exactly the calls a KPI counts) and a call's page."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from agents.models import AgentState
from calls.models import Call
from calls.services.cti import cti_events_ingest
from org.roles import Role
from reports.selectors import call_figures_raw
from tests.factories import make_staff

pytest_plugins = ["calls.tests.fixtures", "ivr.tests.fixtures"]
pytestmark = pytest.mark.django_db


def page_config(html: str, element_id: str) -> dict:
    start = html.index(f'id="{element_id}"')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


@pytest.mark.parametrize("role", [Role.AGENT, Role.TEAM_LEAD])
def test_the_desktop_is_the_call_takers_page(client_for, role, queues):
    response = client_for(make_staff(role)).get("/agent/desktop/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>座席工作台</h1>" in html and "desktop.js" in html
    config = page_config(html, "desk-config")
    assert config["ws"] == "/ws/agent/" and config["offer_timeout_s"] == 15
    assert [q["value"] for q in config["queues"]] == ["general", "card", "complaint"]
    assert "missed_offer" not in [r["value"] for r in config["reasons"]]
    assert config["texts"]["incoming"] == "来电"


@pytest.mark.parametrize("role", [Role.ANALYST, Role.DIRECTOR, Role.UNIT_STAFF, Role.MAINTAINER])
def test_other_roles_cannot_open_the_desktop(client_for, role):
    assert client_for(make_staff(role)).get("/agent/desktop/").status_code == 403


def test_the_wallboard_for_a_team_lead_can_change_agents(client_for, make_agent, queues):
    make_agent("agent01")
    html = client_for(make_staff(Role.TEAM_LEAD)).get("/calls/wallboard/").content.decode()
    assert "<h1>监控大屏</h1>" in html
    config, snapshot = page_config(html, "wb-config"), page_config(html, "wb-snapshot")
    assert config["can_edit"] is True and config["ws"] == "/ws/wallboard/"
    assert [q["code"] for q in snapshot["queues"]] == ["general", "card", "complaint"]
    assert {"username": "agent01", "state": "offline"}.items() <= snapshot["agents"][0].items()


def test_the_directors_wallboard_is_read_only(client_for, queues):
    html = client_for(make_staff(Role.DIRECTOR)).get("/calls/wallboard/").content.decode()
    assert page_config(html, "wb-config")["can_edit"] is False


@pytest.mark.parametrize("role", [Role.AGENT, Role.ANALYST, Role.MAINTAINER])
def test_other_roles_cannot_open_the_wallboard(client_for, role):
    assert client_for(make_staff(role)).get("/calls/wallboard/").status_code == 403


def test_the_wallboard_api_is_for_supervisors(as_user, queues):
    assert as_user(make_staff(Role.TEAM_LEAD)).get("/api/calls/wallboard/").json()["type"] == "wallboard"
    assert as_user(make_staff(Role.AGENT)).get("/api/calls/wallboard/").status_code == 403


def test_pages_in_english(client_for, queues):
    client = client_for(make_staff(Role.AGENT))
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/agent/desktop/").content.decode()
    assert "<h1>Agent desktop</h1>" in html and page_config(html, "desk-config")["texts"]["incoming"] == "Incoming call"


def test_the_maintainer_edits_queues_in_the_admin_and_calls_are_read_only(client_for, queues):
    client = client_for(make_staff(Role.MAINTAINER))
    assert client.get("/admin/calls/queue/").status_code == 200
    assert client.get(f"/admin/calls/queue/{queues['card'].pk}/change/").status_code == 200
    assert client.get("/admin/calls/call/").status_code == 200
    assert client.get("/admin/calls/call/add/").status_code == 403
    assert client.get("/admin/agents/agentstatelog/").status_code == 200
    assert client.get("/admin/agents/agentskill/").status_code == 200


# --- the call search and a call's page --------------------------------------------------------------

TZ = timezone.get_default_timezone()
DAY = datetime(2026, 3, 2, 10, 0, tzinfo=TZ)  # a Monday
D = DAY.date().isoformat()


def load(call_id, *, at=DAY, queue="general", wait=10.0, answered=True, ended=True, agent=None, ani="", **data):
    """A call through the CTI feed: offered 30 s before it is queued at ``at``, then answered by
    ``agent`` after ``wait`` seconds and ended 60 s later (or abandoned after ``wait``, or left
    waiting); ``queue=None``: never queued (it ended in the IVR)."""
    events = [("offered", at - timedelta(seconds=30), "", None, {"ani": ani} if ani else {})]
    if queue is not None:
        events.append(("queued", at, queue, None, data))
    if answered and queue is not None:
        events.append(("answered", at + timedelta(seconds=wait), "", agent.pk, {}))
        if ended:
            events.append(("ended", at + timedelta(seconds=wait + 60), "", None, {}))
    elif ended:
        events.append(("ended", at + timedelta(seconds=wait), "", None, {}))
    cti_events_ingest(
        events=[
            {
                "event_id": f"{call_id}-{n}",
                "call_id": call_id,
                "type": kind,
                "ts": ts,
                "queue": q,
                "agent_id": a,
                "data": d,
            }
            for n, (kind, ts, q, a, d) in enumerate(events)
        ]
    )
    return Call.objects.get(call_id=call_id)


@pytest.fixture
def day(queues):
    """One Monday's calls, one of each kind the search tells apart."""
    one, two = make_staff(Role.AGENT, username="agent-one"), make_staff(Role.AGENT, username="agent-two")
    minute = timedelta(minutes=1)
    load("in-t", at=DAY, wait=10, agent=one, ani="tel:+86-139-1234-5678")
    load("at-t", at=DAY + minute, wait=20, agent=two)  # exactly T: within
    load("late", at=DAY + 2 * minute, wait=45, agent=one, ani="13800000001")
    load("short", at=DAY + 3 * minute, wait=4.9, answered=False)
    load("exactly-s", at=DAY + 4 * minute, wait=5, answered=False)  # not short: wait < S only
    load("long", at=DAY + 5 * minute, wait=60, answered=False)
    load("card", at=DAY + 6 * minute, queue="card", wait=5, agent=two, verified=True, path=["main"], customer_id=77)
    load("waiting", at=DAY + 7 * minute, answered=False, ended=False)
    load("afternoon", at=DAY.replace(hour=14, minute=40), wait=8, agent=one)
    load("ivr-only", at=DAY + 8 * minute, queue=None, wait=90)
    load("tuesday", at=DAY + timedelta(days=1), wait=8, agent=one)
    load("just-before-midnight", at=DAY.replace(hour=23, minute=59, second=50), wait=15, agent=one)
    load("simulated", at=DAY + 9 * minute, wait=3, agent=one)
    Call.objects.filter(call_id="simulated").update(is_test=True)
    return {"one": one, "two": two}


def listed(client, **params) -> list[str]:
    response = client.get("/calls/", params)
    assert response.status_code == 200
    html = response.content.decode()
    ids = re.findall(r'data-call="([^"]+)"', html)
    count = re.search(r'id="calls-count">(\d+)', html)
    assert count is not None and int(count.group(1)) == len(ids), "the total counts the rows listed"
    return ids


@pytest.fixture
def lead(client_for, queues):
    return client_for(make_staff(Role.TEAM_LEAD))


def test_the_search_lists_a_days_queued_calls_newest_first(lead, day):
    assert listed(lead, date_from=D, date_to=D) == [
        "just-before-midnight",
        "afternoon",
        "waiting",
        "card",
        "long",
        "exactly-s",
        "short",
        "late",
        "at-t",
        "in-t",
    ]
    assert listed(lead, date_from=D) == listed(lead, date_to=D) == listed(lead, date_from=D, date_to=D)
    assert "tuesday" in listed(lead, date_from=D, date_to=(DAY + timedelta(days=1)).date().isoformat())


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"queue": "card"}, {"card"}),
        ({"agent": "agent-one"}, {"in-t", "late", "afternoon", "just-before-midnight"}),
        ({"caller": "1234"}, {"in-t"}),  # the digits of a tel: URI, in part
        ({"caller": "139-1234-5678"}, {"in-t"}),
        ({"customer": "77"}, {"card"}),
        ({"outcome": "answered"}, {"in-t", "at-t", "late", "card", "afternoon", "just-before-midnight"}),
        ({"outcome": "answered_in_t"}, {"in-t", "at-t", "card", "afternoon", "just-before-midnight"}),
        ({"outcome": "answered_late"}, {"late"}),
        ({"outcome": "abandoned"}, {"short", "exactly-s", "long"}),
        ({"outcome": "short_abandoned"}, {"short"}),
        ({"outcome": "in_progress"}, {"waiting"}),
        ({"outcome": "in_progress", "queue": "general"}, {"waiting"}),  # no service queue yet: its home queue
        ({"outcome": "ivr_only"}, {"ivr-only"}),
        ({"wait_over": "20"}, {"late", "long"}),
        (
            {"weekday": "1"},
            {
                "in-t",
                "at-t",
                "late",
                "short",
                "exactly-s",
                "long",
                "card",
                "waiting",
                "afternoon",
                "just-before-midnight",
            },
        ),
        ({"weekday": "2"}, set()),
        ({"hour": "14"}, {"afternoon"}),
        ({"interval": "2026-03-02T14:30"}, {"afternoon"}),
        ({"interval": "2026-03-02T10:00", "outcome": "abandoned"}, {"short", "exactly-s", "long"}),
        ({"include_test": "1", "agent": "agent-one", "hour": "10"}, {"in-t", "late", "simulated"}),
    ],
)
def test_each_filter(lead, day, params, expected):
    query = {"date_from": D, "date_to": D, **params}
    if "interval" in params:
        query = params  # an interval alone names its day
    assert set(listed(lead, **query)) == expected


def test_a_test_call_is_marked_when_shown(lead, day):
    html = lead.get("/calls/", {"date_from": D, "include_test": "1", "agent": "agent-one"}).content.decode()
    assert html.count('class="flag flag-test"') == 1


@pytest.mark.parametrize("queue", [None, "general", "card"])
def test_the_list_counts_exactly_what_the_kpis_count(lead, day, queue):
    figures = call_figures_raw(DAY.date(), DAY.date(), queue=queue)
    base = {"date_from": D, "date_to": D, **({"queue": queue} if queue else {})}
    assert len(listed(lead, **base)) == figures["offered"]
    for outcome in ("answered", "abandoned", "short_abandoned"):
        assert len(listed(lead, **base, outcome=outcome)) == figures[outcome], outcome
    answered_in_t = len(listed(lead, **base, outcome="answered_in_t"))
    short = figures["short_abandoned"]
    if figures["offered"] - short:
        assert round(answered_in_t / (figures["offered"] - short), 4) == figures["service_level"]


def test_an_agents_figures_drill_down_to_the_agents_calls(lead, day):
    figures = call_figures_raw(DAY.date(), DAY.date(), agent="agent-one")
    assert len(listed(lead, date_from=D, date_to=D, agent="agent-one")) == figures["offered"]


def test_a_call_queued_just_before_midnight_belongs_to_that_day(lead, day):
    assert "just-before-midnight" in listed(lead, date_from=D, date_to=D, hour="23")
    assert "just-before-midnight" not in listed(lead, date_from="2026-03-03", date_to="2026-03-03")


def test_bad_parameters_are_said_on_the_page_not_a_500(lead, day):
    for params in (
        {"date_from": "2026-02-30"},
        {"date_from": "2026-03-05", "date_to": "2026-03-01"},
        {"date_from": "2025-01-01", "date_to": "2026-03-01"},
        {"interval": "2026-03-02T10:15"},
        {"outcome": "nonsense"},
        {"hour": "24"},
        {"caller": "abc"},
        {"customer": "-1"},
    ):
        response = lead.get("/calls/", params)
        assert response.status_code == 200, params
        assert 'id="filter-errors"' in response.content.decode() and 'id="calls-count"' not in response.content.decode()


def test_the_search_pages_in_a_fixed_number_of_queries(lead, day):
    def queries(**params) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert lead.get("/calls/", params).status_code == 200
        return len(captured)

    # One query each for the customers' names and the calls' work orders, whatever the rows: a page
    # of one call with a customer costs what a page of eleven does (9).
    assert queries(date_from=D, date_to=D, queue="card") == queries(date_from=D, date_to=D) == 9
    # No row names a customer: no look-up of names (8).
    assert queries(date_from=D, date_to=D, outcome="answered_late") == 8


def _row_of(html: str, call_id: str) -> str:
    return re.search(rf'<tr [^>]*data-call="{call_id}">(.*?)</tr>', html, re.S).group(1)


def test_the_list_names_the_customer_and_links_the_calls_work_orders(client_for, day, staff):
    from tests.factories_banking import CustomerFactory
    from tickets.services.contacts import ticket_create
    from tickets.services.workflow import ticket_dispatch

    customer = CustomerFactory(name="王芳", mobile="13912345678")
    Call.objects.filter(call_id="card").update(customer_id=customer.pk)
    contact = ticket_create(
        actor=staff[Role.AGENT], kind="consultation", category="fees", description="咨询", call_id="card"
    )
    complaint = ticket_create(
        actor=staff[Role.AGENT], kind="complaint", category="fees", description="投诉", call_id="card"
    )
    ticket_dispatch(ticket=complaint, actor=staff[Role.ANALYST], unit_code="B01")
    ticket_create(actor=staff[Role.AGENT], kind="complaint", category="fees", description="另一通", call_id="late")
    html = client_for(staff[Role.TEAM_LEAD]).get("/calls/", {"date_from": D, "date_to": D}).content.decode()
    card = _row_of(html, "card")
    assert "王芳" in card and "139****5678" in card and "13912345678" not in html
    assert f'href="/tickets/{contact.pk}/">{contact.number}</a>' in card
    assert f'href="/tickets/{complaint.pk}/">{complaint.number}</a>' in card
    assert card.index(contact.number) < card.index(complaint.number)  # oldest first
    assert "已派发" in card  # the state, in the user's language
    assert complaint.number not in _row_of(html, "late") and "—" in _row_of(html, "in-t")
    # A customer id the bank does not know is shown by its number, as before.
    Call.objects.filter(call_id="in-t").update(customer_id=987654)
    html = client_for(staff[Role.TEAM_LEAD]).get("/calls/", {"date_from": D, "date_to": D}).content.decode()
    assert "#987654" in _row_of(html, "in-t")
    # The maintainer sees the calls but does not open work orders: their numbers, unlinked.
    html = client_for(staff[Role.MAINTAINER]).get("/calls/", {"date_from": D, "date_to": D}).content.decode()
    card = _row_of(html, "card")
    assert contact.number in card and f'href="/tickets/{contact.pk}/"' not in card


def test_the_list_in_english_names_the_work_order_state_in_english(client_for, day, staff):
    from tickets.services.contacts import ticket_create

    ticket = ticket_create(
        actor=staff[Role.AGENT], kind="consultation", category="fees", description="咨询", call_id="late"
    )
    client = client_for(staff[Role.DIRECTOR])
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/calls/", {"date_from": D, "date_to": D}).content.decode()
    assert "Work order" in html
    row = _row_of(html, "late")
    with translation.override("en"):
        state = str(ticket.get_state_display())
    assert ticket.number in row and state in row and state.isascii()


def test_an_agent_sees_only_the_calls_they_handled(client_for, day, queues):
    one = client_for(day["one"])
    assert set(listed(one, date_from=D, date_to=D)) == {"in-t", "late", "afternoon", "just-before-midnight"}
    assert set(listed(one, date_from=D, date_to=D, agent="agent-two")) == set()  # asking for another's
    theirs = Call.objects.get(call_id="at-t")
    assert one.get(f"/calls/{theirs.pk}/").status_code == 404
    mine = Call.objects.get(call_id="late")
    assert one.get(f"/calls/{mine.pk}/").status_code == 200


def test_an_agent_who_answered_before_a_transfer_still_sees_the_call(client_for, day):
    one, two = day["one"], day["two"]
    at = DAY + timedelta(minutes=30)
    cti_events_ingest(
        events=[
            {"event_id": "tr-1", "call_id": "tr", "type": "queued", "ts": at, "queue": "general", "data": {}},
            {
                "event_id": "tr-2",
                "call_id": "tr",
                "type": "answered",
                "ts": at + timedelta(seconds=5),
                "agent_id": one.pk,
            },
            {
                "event_id": "tr-3",
                "call_id": "tr",
                "type": "transferred",
                "ts": at + timedelta(seconds=50),
                "queue": "card",
                "agent_id": two.pk,
            },
            {
                "event_id": "tr-4",
                "call_id": "tr",
                "type": "answered",
                "ts": at + timedelta(seconds=55),
                "agent_id": two.pk,
            },
            {"event_id": "tr-5", "call_id": "tr", "type": "ended", "ts": at + timedelta(seconds=90)},
        ]
    )
    call = Call.objects.get(call_id="tr")
    assert call.agent_id == two.pk
    assert "tr" in listed(client_for(one), date_from=D, date_to=D)
    assert client_for(one).get(f"/calls/{call.pk}/").status_code == 200


@pytest.mark.parametrize("role", [Role.TEAM_LEAD, Role.DIRECTOR, Role.ANALYST, Role.MAINTAINER])
def test_the_centers_supervisors_see_every_call(client_for, day, role):
    client = client_for(make_staff(role))
    assert len(listed(client, date_from=D, date_to=D)) == 10
    assert client.get(f"/calls/{Call.objects.get(call_id='at-t').pk}/").status_code == 200


@pytest.mark.parametrize("role", [Role.UNIT_STAFF, Role.RISK_OFFICER])
def test_unit_staff_and_the_risk_officer_see_no_calls(client_for, day, role):
    client = client_for(make_staff(role))
    assert client.get("/calls/").status_code == 403
    assert client.get(f"/calls/{Call.objects.get(call_id='in-t').pk}/").status_code == 403


def test_anonymous_is_sent_to_login(client, day):
    assert client.get("/calls/").status_code == 302


def test_the_search_in_english(lead, day):
    lead.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = lead.get("/calls/", {"date_from": D, "date_to": D}).content.decode()
    assert "<h1>Calls</h1>" in html and "Answered within 20 s" in html and "Short abandon (under 5 s)" in html
    assert "2026-03-02 10:00:00" in html  # local time, to the second


def test_a_calls_page_merges_its_ivr_and_cti_events(client_for, committed, caller, customer, make_agent, queues):
    from ivr.tests.helpers import PHONE_PIN

    agent = make_agent("pages-agent", state=AgentState.READY)
    ivr = caller(ani="13912345678")
    ivr.start()
    ivr.login(customer.card.number, PHONE_PIN)
    committed(ivr.press, "0")
    call = Call.objects.get(call_id=ivr.call_id)
    assert call.agent == agent
    now = timezone.now()
    cti_events_ingest(
        events=[
            {"event_id": "p-1", "call_id": ivr.call_id, "type": "answered", "ts": now, "agent_id": agent.pk},
            {"event_id": "p-2", "call_id": ivr.call_id, "type": "held", "ts": now + timedelta(seconds=20)},
            {"event_id": "p-3", "call_id": ivr.call_id, "type": "retrieved", "ts": now + timedelta(seconds=35)},
            {"event_id": "p-4", "call_id": ivr.call_id, "type": "ended", "ts": now + timedelta(seconds=80)},
            {
                "event_id": "p-5",
                "call_id": ivr.call_id,
                "type": "wrapup",
                "ts": now + timedelta(seconds=100),
                "agent_id": agent.pk,
                "data": {"disposition": "complaint", "note": "ATM 吞卡"},
            },
        ]
    )
    from tickets.services.contacts import ticket_create

    ticket = ticket_create(
        actor=agent,
        kind="complaint",
        category="atm_mispost",
        description="吞卡",
        customer=customer.customer,
        call_id=ivr.call_id,
    )
    response = client_for(agent).get(f"/calls/{call.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    timeline = html[html.index('id="call-timeline"') : html.index('id="call-ivr"')]
    # IVR steps by node name, then the switch's events, in time order.
    assert (
        timeline.index("主菜单")
        < timeline.index("账户服务登录")
        < timeline.index("进入队列")
        < timeline.index("已接通")
    )
    assert (
        timeline.index("已接通") < timeline.index("保持") < timeline.index("恢复通话") < timeline.index("话后处理完成")
    )
    assert "投诉" in timeline  # the wrap-up's disposition
    assert customer.card.number not in html and PHONE_PIN not in html
    assert f"{customer.card.number[:6]}******{customer.card.number[-4:]}" in timeline
    assert customer.customer.name in html and "ATM 吞卡" in html
    assert f'href="/tickets/{ticket.pk}/"' in html and ticket.number in html
    assert 'id="call-recording"' in html and "<audio" not in html
    link = re.search(r'href="(/calls/\?customer=[^"]+)"', html).group(1).replace("&amp;", "&")
    assert ivr.call_id in listed(client_for(agent), **dict(part.split("=") for part in link.split("?")[1].split("&")))
    holds = html[html.index('id="call-legs"') :]
    assert "0:15" in holds  # the hold, 15 s

    client = client_for(agent)
    with CaptureQueriesContext(connection) as captured:
        client.get(f"/calls/{call.pk}/")
    # The session and user (3), the call, queues, the IVR call, its menu's names and events, the
    # legs' agents, the call's events, the customer's name and mobile, the work orders, the
    # recordings: a fixed 13.
    assert len(captured) == 13


def test_a_calls_page_in_english(client_for, day):
    client = client_for(make_staff(Role.DIRECTOR))
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get(f"/calls/{Call.objects.get(call_id='late').pk}/").content.decode()
    assert "Timeline" in html and "Answered after 20 s" in html and "Recording" in html
    assert "2026-03-02 10:02:00" in html and "2026-03-02 10:02:45" in html
