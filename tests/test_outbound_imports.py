"""Campaign lists from files (GB18030 CSV as Excel writes it, UTF-8 with a BOM, XLSX) and from a
customer segment: counts of added, duplicate, invalid and do-not-call rows; the revisit feed."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from calls.outbound import feeds, imports, jobs, services
from calls.outbound.models import CampaignContact, CampaignKind, ContactSource, DncReason, ImportJob
from tests.factories import make_staff
from tests.outbound_helpers import make_campaign, make_contact

pytestmark = pytest.mark.django_db

ROWS = [
    ("姓名", "手机号码", "备注"),
    ("张三", "138 0013 8000", "VIP"),  # added
    ("李四", "+86 139-0013-9000", ""),  # added
    ("王五", "13800138000", ""),  # duplicate in the file (张三's number)
    ("赵六", "1380013800", ""),  # invalid: 10 digits
    ("钱七", "０１０－６２３４５６７８", ""),  # added: a full-width fixed line
    ("孙八", "13700000000", ""),  # on the do-not-call list
    ("周九", "13600000000", ""),  # already in the campaign
    ("", "", ""),  # a blank line: not a row
    ("吴十", "hello", ""),  # invalid
]


@pytest.fixture(autouse=True)
def import_dir(tmp_path, settings):
    settings.OUTBOUND_IMPORT_DIR = str(tmp_path / "imports")


@pytest.fixture
def campaign():
    lead = make_staff("team_lead", username="lead-i")
    services.dnc_add(phone="13700000000", reason=DncReason.CUSTOMER_OPTOUT, actor=lead)
    campaign = make_campaign()
    make_contact(campaign, phone="13600000000")
    return campaign


def _csv_bytes(encoding: str) -> bytes:
    return "\r\n".join(",".join(row) for row in ROWS).encode(encoding) + b"\r\n"


def _xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in ROWS:
        sheet.append(list(row))
    sheet.append(["郑十一", 13500000000, ""])  # a number cell: added
    sheet.append(["冯十二", 13500000000.0, ""])  # the same as a float: duplicate
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _run(campaign, content: bytes, name: str) -> ImportJob:
    upload = SimpleUploadedFile(name, content)
    job = jobs.import_start(campaign=campaign, upload=upload, file_name=name, actor=None)
    return imports.run_import(job.pk)


def _assert_counts(job, *, read, added, duplicate, invalid, dnc):
    assert job.status == ImportJob.Status.DONE, job.error
    assert (job.rows_read, job.rows_added, job.rows_duplicate, job.rows_invalid, job.rows_dnc) == (
        read,
        added,
        duplicate,
        invalid,
        dnc,
    )


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_csv_import_counts(campaign, encoding):
    job = _run(campaign, _csv_bytes(encoding), "名单.csv")
    _assert_counts(job, read=8, added=3, duplicate=2, invalid=2, dnc=1)
    phones = set(CampaignContact.objects.filter(campaign=campaign).values_list("phone", flat=True))
    assert phones == {"13600000000", "13800138000", "13900139000", "01062345678"}
    zhang = CampaignContact.objects.get(campaign=campaign, phone="13800138000")
    assert zhang.name == "张三"
    assert zhang.data == {"备注": "VIP"}
    assert zhang.source == ContactSource.IMPORT
    problems = {(p["row"], p["code"]) for p in job.problems}
    assert problems == {
        (4, "duplicate_in_file"),
        (5, "invalid_phone"),
        (7, "do_not_call"),
        (8, "duplicate_in_campaign"),
        (10, "invalid_phone"),
    }
    assert job.stored_path == ""  # the file is gone


def test_gb18030_file_really_is_not_utf8(campaign):
    content = _csv_bytes("gb18030")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    assert imports.detect(io.BytesIO(content)) == ("csv", "gb18030")


def test_xlsx_import_counts(campaign):
    job = _run(campaign, _xlsx_bytes(), "名单.xlsx")
    _assert_counts(job, read=10, added=4, duplicate=3, invalid=2, dnc=1)
    assert CampaignContact.objects.filter(campaign=campaign, phone="13500000000").exists()


def test_import_again_adds_nothing_twice(campaign):
    _run(campaign, _csv_bytes("gb18030"), "a.csv")
    job = _run(campaign, _csv_bytes("gb18030"), "a.csv")
    assert job.rows_added == 0
    assert CampaignContact.objects.filter(campaign=campaign).count() == 4


def test_progress_is_written_every_chunk(campaign, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    seen = []
    original = imports._Importer.save_progress

    def spy(self, **extra):
        original(self, **extra)
        seen.append(ImportJob.objects.get(pk=self.job.pk).rows_read)

    monkeypatch.setattr(imports._Importer, "save_progress", spy)
    _run(campaign, _csv_bytes("utf-8"), "a.csv")
    assert len(seen) >= 3
    assert seen == sorted(seen) and seen[0] < seen[-1]


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"name,remark\r\nx,y\r\n", "no_phone_column"),
        (b"\xff\xfe\x00\x00garbage\x81", "invalid_file"),
        (b"PK\x03\x04not a workbook", "invalid_file"),
    ],
)
def test_bad_files_fail_with_a_code(campaign, content, code):
    job = _run(campaign, content, "x.xlsx" if content.startswith(b"PK") else "x.csv")
    assert job.status == ImportJob.Status.FAILED
    assert job.error.startswith(code)


def test_empty_upload_is_refused(campaign):
    from calls.outbound import errors

    with pytest.raises(errors.InvalidFile):
        jobs.import_start(campaign=campaign, upload=SimpleUploadedFile("a.csv", b""), file_name="a.csv", actor=None)


def test_revisit_feed_is_idempotent():
    from tickets.models import State, Ticket

    campaign = make_campaign(kind=CampaignKind.REVISIT)
    now = timezone.now()
    closed = Ticket.objects.create(
        kind="complaint",
        category=Ticket._meta.get_field("category").choices[0][0],
        description="d",
        caller_number="13912345678",
        state=State.CLOSED,
        closed_at=now - timedelta(hours=2),
    )
    Ticket.objects.create(  # closed too long ago
        kind="complaint",
        category=Ticket._meta.get_field("category").choices[0][0],
        description="d",
        caller_number="13912340000",
        state=State.CLOSED,
        closed_at=now - timedelta(days=3),
    )
    first = feeds.feed_revisit_campaigns(now=now)
    second = feeds.feed_revisit_campaigns(now=now)
    assert first["added"] == 1 and second["added"] == 0
    contact = CampaignContact.objects.get(campaign=campaign)
    assert (contact.phone, contact.source, contact.source_ref) == ("13912345678", "ticket", f"ticket:{closed.pk}")


def test_segment_card_customers_with_balance_and_sms_notice(campaign):
    from decimal import Decimal

    from calls.outbound import jobs, segments
    from org.models import Unit
    from tests.factories_banking import AccountFactory, CustomerFactory, PassbookFactory, SmsNoticeSubscriptionFactory

    unit = Unit.objects.filter(code="B01").first()
    home = {"home_unit": unit} if unit else {}
    rich = AccountFactory(customer=CustomerFactory(mobile="13811110001", **home), opening_fen=600_000)
    SmsNoticeSubscriptionFactory(account=rich)
    no_sms = AccountFactory(customer=CustomerFactory(mobile="13811110002", **home), opening_fen=600_000)
    poor = AccountFactory(customer=CustomerFactory(mobile="13811110003", **home), opening_fen=10_000)
    SmsNoticeSubscriptionFactory(account=poor)
    passbook = PassbookFactory(customer=CustomerFactory(mobile="13811110004", **home), opening_fen=900_000)
    SmsNoticeSubscriptionFactory(account=passbook)
    listed = AccountFactory(customer=CustomerFactory(mobile="13700000000", **home), opening_fen=900_000)
    SmsNoticeSubscriptionFactory(account=listed)  # on the do-not-call list (the fixture)

    job = jobs.segment_build(campaign=campaign, min_balance=Decimal("5000.00"), sms_notice=True, actor=None)
    job = segments.run_segment(job.pk)
    assert job.status == ImportJob.Status.DONE
    assert (job.rows_read, job.rows_added, job.rows_dnc) == (2, 1, 1)
    contact = CampaignContact.objects.get(campaign=campaign, source=ContactSource.SEGMENT)
    assert (contact.phone, contact.customer_id) == ("13811110001", rich.customer_id)
    assert contact.source_ref == f"customer:{rich.customer_id}"
    assert no_sms.customer_id != contact.customer_id
