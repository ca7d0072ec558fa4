"""Settlement batches: upload and validation, maker–checker, the run exactly once (run twice, two
workers at once, a killed worker, the same file twice), reconciliation, the fast path against the
plain one, the API contract and its errors, the monthly POS prize list."""

from __future__ import annotations

import contextlib
import io
import random
import threading
from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from audit.models import AuditEvent
from banking import batch_sql
from banking.models import Account, Batch, BatchItem, LedgerTransaction, Posting
from banking.services import batches
from banking.services.accounts import internal_account
from notifications.models import SmsOutbox
from org.roles import Role
from tests.factories import make_staff
from tests.factories_banking import AccountFactory, PassbookFactory, SmsNoticeSubscriptionFactory

# --- helpers ------------------------------------------------------------------------------------


@pytest.fixture
def analyst(db):
    return make_staff(Role.ANALYST, username="analyst-batch")


@pytest.fixture
def director(db):
    return make_staff(Role.DIRECTOR, username="director-batch")


def _csv(lines, *, encoding="utf-8", header=True) -> io.BytesIO:
    text = ("account,amount,reference\n" if header else "") + "".join(f"{line}\n" for line in lines)
    return io.BytesIO(text.encode(encoding))


def _upload(actor, lines, *, kind="pos_prize", period="2026-11", corrects=None, **kwargs) -> Batch:
    return batches.batch_upload(
        kind=kind, period=period, file=_csv(lines, **kwargs), file_name="prizes.csv", actor=actor, corrects=corrects
    )


def _approved(analyst, director, lines, **kwargs) -> Batch:
    batch = _upload(analyst, lines, **kwargs)
    return batches.batch_approve(batch=batch, actor=director)


def _start(batch, actor) -> Batch:
    return batches.batch_run_start(batch=batch, actor=actor, enqueue=lambda pk: None)


def _ledger_ok() -> None:
    call_command("ledger_check", stdout=io.StringIO(), stderr=io.StringIO())  # exits 1 when not


def _items(batch) -> dict[int, BatchItem]:
    return {item.line: item for item in BatchItem.objects.filter(batch=batch)}


# --- upload and validation ----------------------------------------------------------------------


def test_upload_reports_every_problem_with_its_reason_and_the_control_total(analyst):
    good = AccountFactory(opening_fen=100)
    frozen = PassbookFactory(status=Account.Status.FROZEN)
    closed = PassbookFactory(status=Account.Status.CLOSED)
    lost = AccountFactory(status=Account.Status.VERBALLY_LOST)
    batch = _upload(
        analyst,
        [
            f"{good.number},100.50,R1",
            f"{frozen.number},1,R2",
            f"{closed.number},2,R3",
            f"{lost.number},3,R4",
            "6228480000000000999,4,R5",  # unknown
            f"{good.number},1.234,R6",  # 3 decimals
            f"{good.number},-5,R7",
            f"{good.number},5,R1",  # R1 again
            f"{good.number},6,",
            f"{good.number},7",
            "INT-SETTLEMENT,8,R9",  # an internal account is not a batch target
        ],
    )
    items = _items(batch)
    assert {line: item.reason for line, item in items.items()} == {
        2: "",
        3: "account_frozen",
        4: "account_closed",
        5: "account_lost",
        6: "unknown_account",
        7: "invalid_amount",
        8: "invalid_amount",
        9: "duplicate_reference",
        10: "missing_reference",
        11: "bad_row",
        12: "unknown_account",
    }
    assert items[2].status == "pending" and items[2].amount_fen == 10050 and items[2].account_id == good.pk
    assert batch.status == "validated" and batch.items_count == 11 and batch.valid_count == 1
    # The control total is every readable amount of the file: 100.50 + 1 + 2 + 3 + 4 + 5 + 6 + 8.
    assert batch.control_total_fen == 10050 + 100 + 200 + 300 + 400 + 500 + 600 + 800
    assert batch.valid_total_fen == 10050
    assert batch.report["reasons"]["invalid_amount"] == 2
    assert "*" in items[6].account_masked and "0999" in items[6].account_masked
    assert AuditEvent.objects.filter(action="banking.batch_upload", object_id=str(batch.pk)).exists()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings_are_detected(analyst, encoding):
    account = AccountFactory()
    raw = f"账号,金额,备注\n{account.number},12.34,奖励一月\n".encode(encoding)
    batch = batches.batch_upload(kind="refund", period="2026-11", file=io.BytesIO(raw), actor=analyst)
    item = BatchItem.objects.get(batch=batch)
    assert (item.reference, item.amount_fen, item.status) == ("奖励一月", 1234, "pending")
    assert batch.file_encoding == encoding


def test_xlsx_input_is_read_streamed_with_number_cells(analyst):
    account = AccountFactory()
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["account", "amount", "reference"])
    sheet.append([account.number, 12.34, "X1"])
    sheet.append([account.number, 5, "X2"])
    sheet.append([account.number, 12.345, "X3"])  # not a whole number of fen
    sheet.append([None, None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    batch = batches.batch_upload(kind="atm_adjustment", period="2026-11-03", file=buffer, actor=analyst)
    items = {item.reference: item for item in BatchItem.objects.filter(batch=batch)}
    assert items["X1"].amount_fen == 1234 and items["X2"].amount_fen == 500
    assert items["X3"].reason == "invalid_amount"
    assert batch.file_format == "xlsx" and batch.items_count == 3


def test_one_batch_per_kind_and_period_unless_a_correction(analyst):
    account = AccountFactory()
    first = _upload(analyst, [f"{account.number},1,A1"])
    with pytest.raises(batches.BatchExists):
        _upload(analyst, [f"{account.number},2,A2"])
    other_kind = _upload(analyst, [f"{account.number},2,A2"], kind="refund")
    correction = _upload(analyst, [f"{account.number},3,A3"], corrects=first)
    assert correction.corrects_id == first.pk and other_kind.kind == "refund"
    with pytest.raises(batches.errors.InvalidInput):
        _upload(analyst, [f"{account.number},4,A4"], corrects=first, period="2026-10")


def test_the_same_file_uploaded_twice_is_refused(analyst):
    account = AccountFactory()
    lines = [f"{account.number},1,S1"]
    first = _upload(analyst, lines)
    with pytest.raises(batches.FileAlreadyUploaded):
        _upload(analyst, lines, corrects=first)
    with pytest.raises(batches.FileAlreadyUploaded):
        _upload(analyst, lines, period="2026-12")
    assert BatchItem.objects.count() == 1


def test_references_of_earlier_batches_are_refused_but_a_failed_one_may_be_corrected(analyst):
    account = AccountFactory()
    first = _upload(analyst, [f"{account.number},1,P1", "6228480000000000999,2,P2"])
    correction = _upload(analyst, [f"{account.number},1,P1", f"{account.number},2,P2"], corrects=first)
    reasons = {item.reference: item.reason for item in BatchItem.objects.filter(batch=correction)}
    assert reasons == {"P1": "reference_used", "P2": ""}


@pytest.mark.parametrize(
    "raw",
    [b"", b"account,amount,reference\n", b"\x00\x01\x02\xff\xfe\x00garbage", b"PK\x03\x04broken zip"],
)
def test_unreadable_or_empty_files_are_refused_with_a_code(analyst, raw):
    with pytest.raises(batches.DomainError) as refused:
        batches.batch_upload(kind="refund", period="2026-11", file=io.BytesIO(raw), actor=analyst)
    assert refused.value.code in {"empty_file", "invalid_file"} and refused.value.status == 400
    assert not Batch.objects.exists()


# --- maker–checker ------------------------------------------------------------------------------


def test_the_uploader_cannot_approve_and_only_the_director_approves(analyst, director):
    account = AccountFactory()
    own = _upload(director, [f"{account.number},1,M1"])
    with pytest.raises(batches.Forbidden) as refused:
        batches.batch_approve(batch=own, actor=director)
    assert refused.value.code == "maker_checker"
    batch = _upload(analyst, [f"{account.number},1,M2"], kind="refund")
    with pytest.raises(batches.Forbidden):
        batches.batch_approve(batch=batch, actor=analyst)
    with pytest.raises(batches.BatchStateConflict):
        _start(batch, analyst)  # not approved yet
    approved = batches.batch_approve(batch=batch, actor=director, note="checked")
    assert approved.status == "approved" and approved.decided_by == director
    assert AuditEvent.objects.filter(action="banking.batch_approve", actor=director).count() == 1
    with pytest.raises(batches.BatchStateConflict):
        batches.batch_approve(batch=batch, actor=director)


def test_a_rejected_batch_posts_nothing_and_frees_its_period(analyst, director):
    account = AccountFactory()
    batch = _upload(analyst, [f"{account.number},1,J1"])
    with pytest.raises(batches.errors.InvalidInput):
        batches.batch_reject(batch=batch, actor=director, note="")
    rejected = batches.batch_reject(batch=batch, actor=director, note="wrong month")
    assert rejected.status == "rejected" and BatchItem.objects.get(batch=batch).reason == "batch_rejected"
    again = _upload(analyst, [f"{account.number},1,J1", f"{account.number},2,J2"])
    assert again.valid_count == 2


# --- the run ------------------------------------------------------------------------------------


def test_run_posts_each_item_once_balanced_with_notices_and_reconciles(analyst, director):
    card = AccountFactory(opening_fen=1000)
    SmsNoticeSubscriptionFactory(account=card)
    book = PassbookFactory()
    batch = _approved(
        analyst, director, [f"{card.number},10,N1", f"{book.number},20.05,N2", f"{card.number},1,N3", "x,1,N4"]
    )
    batch = batches.batch_run_process(batch_id=_start(batch, analyst).pk, fast=False, limit=2)
    assert batch.status == "done"
    assert (batch.posted_count, batch.failed_count) == (3, 1)
    assert batch.posted_total_fen == 1000 + 2005 + 100
    assert batch.posted_total_fen + batch.failed_total_fen == batch.control_total_fen
    card.refresh_from_db()
    assert card.balance_fen == 1000 + 1000 + 100
    settlement = internal_account(batches.settlement_account_code())
    assert settlement.balance_fen == -(1000 + 2005 + 100)
    txns = LedgerTransaction.objects.filter(idempotency_key__startswith="batch-item:")
    assert txns.count() == 3 and {t.kind for t in txns} == {"batch_credit"}
    assert {t.initiated_by_id for t in txns} == {director.pk} and all(t.memo.startswith("POS奖励 N") for t in txns)
    notices = SmsOutbox.objects.filter(kind="transaction_notice", phone=card.customer.mobile)
    assert notices.count() == 2 and all("存入人民币" in n.text for n in notices)
    _ledger_ok()


def test_run_twice_posts_nothing_more(analyst, director):
    account = AccountFactory()
    batch = _approved(analyst, director, [f"{account.number},{n},T{n}" for n in range(1, 6)])
    _start(batch, analyst)
    first = batches.batch_run_process(batch_id=batch.pk, fast=False)
    batches.batch_run_start(batch=first, actor=analyst, enqueue=lambda pk: pytest.fail("a done batch is not queued"))
    second = batches.batch_run_process(batch_id=batch.pk, fast=False)
    assert first.status == second.status == "done"
    assert LedgerTransaction.objects.filter(idempotency_key__startswith="batch-item:").count() == 5
    account.refresh_from_db()
    assert account.balance_fen == 1500


def test_a_worker_killed_mid_chunk_leaves_its_items_pending_and_the_rerun_posts_them_once(
    analyst, director, monkeypatch
):
    account = AccountFactory()
    batch = _approved(analyst, director, [f"{account.number},1,K{n}" for n in range(10)])
    _start(batch, analyst)
    real_post, calls = batches.batch_item_post, []

    def dies_on_the_seventh(**kwargs):
        calls.append(1)
        if len(calls) == 7:
            raise KeyboardInterrupt  # the worker process dying (not a domain refusal)
        return real_post(**kwargs)

    monkeypatch.setattr(batches, "batch_item_post", dies_on_the_seventh)
    with pytest.raises(KeyboardInterrupt):
        batches.batch_run_process(batch_id=batch.pk, fast=False, limit=5)
    # The first chunk (5 items) committed; the second rolled back whole.
    assert BatchItem.objects.filter(batch=batch, status="posted").count() == 5
    assert LedgerTransaction.objects.filter(idempotency_key__startswith="batch-item:").count() == 5
    assert Batch.objects.get(pk=batch.pk).status == "running"
    monkeypatch.setattr(batches, "batch_item_post", real_post)
    done = batches.batch_run_process(batch_id=batch.pk, fast=False, limit=5)
    assert done.status == "done" and done.posted_count == 10
    assert LedgerTransaction.objects.filter(idempotency_key__startswith="batch-item:").count() == 10
    _ledger_ok()


def test_an_account_frozen_after_validation_fails_its_item_and_the_batch_still_reconciles(analyst, director):
    ok, later_frozen = AccountFactory(), AccountFactory()
    batch = _approved(analyst, director, [f"{ok.number},1,F1", f"{later_frozen.number},2,F2"])
    Account.objects.filter(pk=later_frozen.pk).update(status="frozen")
    done = batches.batch_run_process(batch_id=_start(batch, analyst).pk, fast=False)
    assert done.status == "done" and (done.posted_count, done.failed_count) == (1, 1)
    assert BatchItem.objects.get(batch=batch, reference="F2").reason == "account_blocked"
    assert done.posted_total_fen == 100 and done.failed_total_fen == 200 == done.control_total_fen - 100


def test_progress_has_items_done_rate_and_eta(analyst, director):
    account = AccountFactory()
    batch = _approved(analyst, director, [f"{account.number},1,G{n}" for n in range(4)])
    seen = []
    batches.batch_run_process(
        batch_id=_start(batch, analyst).pk, fast=False, limit=1, progress=seen.append, progress_every_s=0
    )
    figures = [batches.batch_progress(b) for b in seen]
    assert figures[-1]["done"] == 4 and figures[-1]["status"] == "done" and figures[-1]["eta_s"] == 0
    assert [f["done"] for f in figures] == sorted(f["done"] for f in figures)


# --- the monthly POS prize list -----------------------------------------------------------------


def test_the_monthly_job_picks_the_previous_months_list_once(db, settings, tmp_path):
    account = AccountFactory()
    settings.BANKING_PRIZE_DROP_DIR = str(tmp_path)
    assert batches.pos_prize_batch_from_drop(today=date(2026, 12, 3)) is None  # not dropped yet
    (tmp_path / "pos_prize_2026-11.csv").write_bytes(f"{account.number},88,PZ1\n".encode("gb18030"))
    batch = batches.pos_prize_batch_from_drop(today=date(2026, 12, 3))
    assert batch is not None and batch.period == "2026-11" and batch.status == "validated"
    assert batch.uploaded_by is None and batch.source == "drop_folder"
    assert batches.pos_prize_batch_from_drop(today=date(2026, 12, 4)) is None
    assert batches.previous_month(date(2027, 1, 15)) == "2026-12"
    director = make_staff(Role.DIRECTOR)
    assert batches.batch_approve(batch=batch, actor=director).status == "approved"


# --- the API ------------------------------------------------------------------------------------


def _post_file(client, raw: bytes, **fields):
    upload = io.BytesIO(raw)
    upload.name = "batch.csv"
    return client.post(reverse("api-batches"), {"file": upload, **fields}, format="multipart")


def test_api_contract_upload_decide_run_and_read(
    api_client, analyst, director, django_capture_on_commit_callbacks, monkeypatch
):
    from banking import tasks

    # The worker, in process: the task itself (acks_late etc. aside) on the queued id.
    monkeypatch.setattr(tasks, "batch_run_enqueue", lambda pk: tasks.batch_run.apply(args=[pk]).get())
    account = AccountFactory()
    api_client.force_authenticate(analyst)
    response = _post_file(api_client, f"{account.number},12.30,AP1\n".encode(), kind="refund", period="2026-11")
    assert response.status_code == 201, response.content
    body = response.json()
    assert {"id", "status", "items", "control_total"} <= set(body)
    assert (body["status"], body["items"], body["control_total"]) == ("validated", 1, "12.30")
    batch_id = body["id"]
    assert api_client.post(reverse("api-batch-run", args=[batch_id])).json()["error"]["code"] == "batch_not_approved"
    assert api_client.post(reverse("api-batch-decision", args=[batch_id]), {"approve": True}).status_code == 403
    api_client.force_authenticate(director)
    assert (
        api_client.post(reverse("api-batch-decision", args=[batch_id]), {"approve": True}, format="json").status_code
        == 200
    )
    api_client.force_authenticate(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(reverse("api-batch-run", args=[batch_id]))
    assert response.status_code == 202
    detail = api_client.get(reverse("api-batch-detail", args=[batch_id])).json()
    assert {"status", "posted", "failed", "control_total", "posted_total"} <= set(detail)
    assert (detail["status"], detail["posted"], detail["posted_total"]) == ("done", 1, "12.30")
    assert api_client.post(reverse("api-batch-run", args=[batch_id])).status_code == 202
    assert LedgerTransaction.objects.filter(idempotency_key__startswith="batch-item:").count() == 1


@pytest.mark.parametrize(
    ("fields", "raw", "code"),
    [
        ({"kind": "lottery", "period": "2026-11"}, b"1,1,1\n", "invalid_choice"),
        ({"kind": "refund", "period": "2026-13"}, b"1,1,1\n", "invalid_period"),
        ({"kind": "refund", "period": "November"}, b"1,1,1\n", "invalid_period"),
        ({"kind": "refund", "period": "2026-11"}, b"", "empty"),  # DRF's FileField refuses it
        ({"kind": "refund", "period": "2026-11"}, b"account,amount,reference\n\n", "empty_file"),
        ({"kind": "refund", "period": "2026-11"}, b"\xff\xfe\x00\x00\x80\x81garbage\x00", "invalid_file"),
        ({"kind": "refund", "period": "2026-11"}, b"PK\x03\x04not a workbook", "invalid_file"),
        ({"kind": "refund", "period": "2026-11", "corrects": 999999}, b"1,1,1\n", "batch_not_found"),
    ],
)
def test_api_bad_input_is_a_400_or_404_with_a_code_never_a_500(api_client, analyst, fields, raw, code):
    api_client.force_authenticate(analyst)
    response = (
        _post_file(api_client, raw, **fields)
        if raw
        else api_client.post(reverse("api-batches"), {**fields, "file": _named(b"")}, format="multipart")
    )
    assert response.status_code in (400, 404), response.content
    text = response.content.decode()
    assert code in text


def _named(raw: bytes) -> io.BytesIO:
    upload = io.BytesIO(raw)
    upload.name = "empty.csv"
    return upload


def test_api_upload_without_a_file_is_a_400(api_client, analyst):
    api_client.force_authenticate(analyst)
    response = api_client.post(reverse("api-batches"), {"kind": "refund", "period": "2026-11"}, format="multipart")
    assert response.status_code == 400 and "file" in response.content.decode()


def test_api_second_upload_of_a_period_is_a_409(api_client, analyst):
    account = AccountFactory()
    api_client.force_authenticate(analyst)
    assert (
        _post_file(api_client, f"{account.number},1,Q1\n".encode(), kind="refund", period="2026-11").status_code == 201
    )
    response = _post_file(api_client, f"{account.number},2,Q2\n".encode(), kind="refund", period="2026-11")
    assert response.status_code == 409 and response.json()["error"]["code"] == "batch_exists"


def test_api_agents_cannot_see_batches(api_client, db):
    api_client.force_authenticate(make_staff(Role.AGENT))
    assert api_client.get(reverse("api-batches")).status_code == 403


# --- PostgreSQL: the fast path, two workers, a killed connection ------------------------------------


def test_the_latest_migration_holds_the_generated_batch_function():
    from banking.tests.test_transfer_rules import _latest

    assert _latest("banking.migrations", "BATCH_POST_FUNCTION").strip() == batch_sql.batch_post_function_sql().strip()


@pytest.mark.postgres
def test_the_function_in_the_database_is_the_generated_one(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = 'banking_batch_post_chunk'")
        (source,) = cursor.fetchone()
    generated = batch_sql.batch_post_function_sql()
    assert source.strip() in generated


def _random_batch(rng: random.Random, analyst, director, *, tag: str, period: str, n: int):
    accounts = [AccountFactory(opening_fen=rng.choice([0, 500])) for _ in range(4)] + [PassbookFactory()]
    SmsNoticeSubscriptionFactory(account=accounts[0])
    lines = []
    for i in range(n):
        number = rng.choice(accounts).number if rng.random() < 0.95 else "6228480000000000999"
        lines.append(f"{number},{rng.randint(1, 500)}.{rng.randint(0, 99):02d},{tag}{i % (n - 3)}")
    batch = _approved(analyst, director, lines, kind="refund", period=period)
    Account.objects.filter(pk=accounts[3].pk).update(status=rng.choice(["frozen", "verbally_lost", "active"]))
    return batch, accounts


def _written(batch: Batch, accounts: list[Account], tag: str) -> list[tuple]:
    """What a run wrote, without ids, times and numbers: per item its state, reason, transaction,
    postings (account by its place in ``accounts``, the settlement account as "S") and notices."""
    place = {account.pk: index for index, account in enumerate(accounts)}
    rows = []
    for item in BatchItem.objects.filter(batch=batch).order_by("line").select_related("transaction"):
        txn, postings, notices = item.transaction, [], []
        if txn is not None:
            for posting in Posting.objects.filter(transaction=txn).order_by("amount_fen"):
                who = place.get(posting.account_id, "S")
                postings.append((who, posting.amount_fen, None if who == "S" else posting.balance_after_fen))
                notices += [
                    text.split("于", 1)[1][len("12月1日09:05") :].lstrip("0123456789:")
                    for text in SmsOutbox.objects.filter(related_posting_id=posting.pk).values_list("text", flat=True)
                ]
            txn = (
                txn.kind,
                txn.amount_fen,
                txn.channel,
                txn.initiated_by_id,
                txn.memo.replace(tag, "#"),
                txn.idempotency_key == f"batch-item:{item.pk}",
            )
        rows.append((item.line, item.status, item.reason, txn, postings, sorted(notices)))
    return rows


@pytest.mark.postgres
@pytest.mark.parametrize("seed", range(4))
def test_fast_path_writes_what_the_plain_path_writes(analyst, director, seed):
    """The same random batch (accounts of the same shapes, an account frozen or lost after
    validation, an unknown one, repeated references) run by each path in chunks: the same states,
    reasons, transactions, postings with their running balances, notices and final balances; the
    fingerprint the function writes is the one ``ledger_post`` computes (a replay through it
    answers with the function's transaction instead of refusing the key)."""
    rng = random.Random(seed)
    plain, plain_accounts = _random_batch(rng, analyst, director, tag="P", period="2026-10", n=60)
    rng = random.Random(seed)
    fast, fast_accounts = _random_batch(rng, analyst, director, tag="F", period="2026-11", n=60)
    batches.batch_run_process(batch_id=_start(plain, analyst).pk, fast=False, limit=7)
    batches.batch_run_process(batch_id=_start(fast, analyst).pk, fast=True, limit=7)
    assert _written(plain, plain_accounts, "P") == _written(fast, fast_accounts, "F")
    for account_a, account_b in zip(plain_accounts, fast_accounts, strict=True):
        account_a.refresh_from_db()
        account_b.refresh_from_db()
        assert account_a.balance_fen == account_b.balance_fen
    assert Batch.objects.get(pk=plain.pk).status == Batch.objects.get(pk=fast.pk).status == "done"
    settlement = internal_account(batches.settlement_account_code())
    for item in BatchItem.objects.filter(batch=fast, status="posted").select_related("account"):
        again = batches.ledger_post(
            kind="batch_credit",
            lines=[(item.account, item.amount_fen), (settlement, -item.amount_fen)],
            idempotency_key=f"batch-item:{item.pk}",
            channel="batch",
        )
        assert again.replayed and again.pk == item.transaction_id
    assert SmsOutbox.objects.filter(kind="transaction_notice", text__contains="存入人民币").exists()
    _ledger_ok()


def _in_thread(target, *args):
    seen = []

    def run():
        try:
            target(*args)
        except BaseException as exc:  # reported to the test thread
            seen.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, seen


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fast", [True, False])
def test_two_workers_on_one_batch_post_every_item_exactly_once(fast):
    analyst, director = make_staff(Role.ANALYST), make_staff(Role.DIRECTOR)
    accounts = [AccountFactory() for _ in range(6)]
    batch = _approved(analyst, director, [f"{accounts[n % 6].number},1,W{n}" for n in range(300)])
    _start(batch, analyst)
    start = threading.Barrier(2)

    def worker():
        start.wait(5)
        batches.batch_run_process(batch_id=batch.pk, fast=fast, limit=20)

    threads = [_in_thread(worker) for _ in range(2)]
    for thread, _seen in threads:
        thread.join(60)
    assert [seen for _t, seen in threads] == [[], []]
    done = Batch.objects.get(pk=batch.pk)
    assert done.status == "done" and done.posted_count == 300
    assert LedgerTransaction.objects.filter(idempotency_key__startswith="batch-item:").count() == 300
    assert sum(Account.objects.filter(pk__in=[a.pk for a in accounts]).values_list("balance_fen", flat=True)) == 30000
    _ledger_ok()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_connection_killed_inside_a_chunk_loses_nothing_and_the_rerun_posts_once():
    """A worker's connection dies between its posting statements and its commit (what a SIGKILL
    does): PostgreSQL rolls the chunk back; the rerun posts every item once."""
    analyst, director = make_staff(Role.ANALYST), make_staff(Role.DIRECTOR)
    account = AccountFactory()
    batch = _approved(analyst, director, [f"{account.number},1,X{n}" for n in range(50)])
    _start(batch, analyst)
    settlement = internal_account(batches.settlement_account_code())
    posted_uncommitted = threading.Event()

    def dying_worker():
        connection.ensure_connection()
        with transaction.atomic():
            result = batches._chunk_post_fast(batches.Batch.objects.get(pk=batch.pk), settlement, 30)
            assert result.posted == 30
            posted_uncommitted.set()
            connection.connection.close()  # the process dies: no COMMIT ever reaches the server
            raise SystemExit

    thread, seen = _in_thread(dying_worker)
    thread.join(30)
    assert posted_uncommitted.is_set() and seen and isinstance(seen[0], SystemExit | Exception)
    assert BatchItem.objects.filter(batch=batch, status="pending").count() == 50
    done = batches.batch_run_process(batch_id=batch.pk, fast=True, limit=30)
    assert done.status == "done" and done.posted_count == 50
    assert LedgerTransaction.objects.filter(idempotency_key__startswith="batch-item:").count() == 50
    _ledger_ok()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_file_uploaded_twice_at_once_makes_one_batch():
    analyst = make_staff(Role.ANALYST)
    account = AccountFactory()
    raw = f"{account.number},1,U1\n{account.number},2,U2\n".encode()
    start = threading.Barrier(2)

    def upload():
        start.wait(5)
        batches.batch_upload(kind="refund", period="2026-11", file=io.BytesIO(raw), actor=analyst)

    threads = [_in_thread(upload) for _ in range(2)]
    for thread, _seen in threads:
        thread.join(30)
    outcomes = sorted(type(seen[0]).__name__ if seen else "ok" for _t, seen in threads)
    assert outcomes[0] in {"BatchExists", "FileAlreadyUploaded", "ReferenceConflict"} and outcomes[1] == "ok"
    assert Batch.objects.count() == 1 and BatchItem.objects.count() == 2


# --- pages --------------------------------------------------------------------------------------


def test_pages_list_upload_report_and_reconciliation_download(
    client, analyst, director, django_capture_on_commit_callbacks, monkeypatch
):
    from banking import tasks

    monkeypatch.setattr(tasks, "batch_run_enqueue", lambda pk: tasks.batch_run.apply(args=[pk]).get())
    account = AccountFactory()
    client.force_login(analyst)
    assert client.get(reverse("banking:batches")).status_code == 200
    upload = io.BytesIO(f"{account.number},5,PG1\nbad,1,PG2\n".encode())
    upload.name = "p.csv"
    response = client.post(reverse("banking:batch-upload"), {"kind": "refund", "period": "2026-11", "file": upload})
    assert response.status_code == 302
    batch = Batch.objects.get()
    page = client.get(reverse("banking:batch-detail", args=[batch.pk]))
    assert page.status_code == 200 and "PG2" in page.content.decode()
    report = client.get(reverse("banking:batch-report", args=[batch.pk]))
    assert report.status_code == 200 and "PG2" in b"".join(report.streaming_content).decode("utf-8-sig")
    assert client.post(reverse("banking:batch-decide", args=[batch.pk]), {"approve": "1"}).status_code == 403
    client.force_login(director)
    assert client.post(reverse("banking:batch-decide", args=[batch.pk]), {"approve": "1"}).status_code == 302
    client.force_login(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("banking:batch-run", args=[batch.pk])).status_code == 302
    assert Batch.objects.get().status == "done"
    recon = client.get(reverse("banking:batch-reconciliation", args=[batch.pk]))
    assert recon.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(recon.streaming_content)), read_only=True)
    summary, items = (list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets)
    assert (items[1][3], items[1][4]) == ("PG1", "posted") and (items[2][3], items[2][5]) == ("PG2", "unknown_account")
    assert [row[1] for row in summary if row[0] in ("Posted", "已入账")] == [1]


# --- the progress websocket ---------------------------------------------------------------------


async def _release_stuck_receivers(*sockets) -> None:
    """Let the sockets' consumers finish, and free any whose channel-layer receive outlived its
    cancellation. channels_redis 4.3 on redis-py 8 (Python 3.11) now and then loses the
    cancellation of a consumer's receive (which consumer's was not established), and the receive
    goes on polling Redis (``BZPOPMIN``) for good; the consumer waits for it, and so would the end
    of the test's event loop (a 300 s hang in one run in three to eight of this test alone). A
    message on its channel ends that receive; a consumer that has stopped reads it no further. A
    consumer that failed still fails the test (only a wait that timed out is let go)."""
    import asyncio

    from channels.layers import get_channel_layer

    for socket in sockets:
        with contextlib.suppress(TimeoutError):
            await socket.wait(timeout=0.5)
    layer = get_channel_layer()
    for _ in range(50):
        stuck = [channel for channel in list(getattr(layer, "receive_buffer", {})) if "!" in channel]
        if not stuck:
            return
        for channel in stuck:
            await layer.send(channel, {"type": "test.released"})
        await asyncio.sleep(0.1)


@pytest.mark.django_db(transaction=True)
def test_the_progress_socket_sends_the_figures_then_relays_pushes_and_refuses_other_roles():
    import asyncio

    from asgiref.sync import async_to_sync
    from channels.layers import channel_layers
    from channels.routing import URLRouter
    from rest_framework.authtoken.models import Token

    from banking import realtime, ws_routes
    from calls.tests.helpers import websocket_communicator_class
    from contactcenter.ws_auth import SessionOrTokenAuthMiddleware

    channel_layers.backends.clear()
    communicator_class = websocket_communicator_class()
    application = SessionOrTokenAuthMiddleware(URLRouter(ws_routes.websocket_urlpatterns))
    analyst, director, agent = make_staff(Role.ANALYST), make_staff(Role.DIRECTOR), make_staff(Role.AGENT)
    batch = _upload(analyst, [f"{AccountFactory().number},1,WS1"])

    def comm(user):
        token, _created = Token.objects.get_or_create(user=user)
        return communicator_class(application, f"/ws/banking/batches/{batch.pk}/?token={token.key}")

    director_socket, agent_socket = comm(director), comm(agent)

    async def scenario():
        assert (await director_socket.connect())[0]
        first = await director_socket.receive_json_from(timeout=3)
        assert (first["type"], first["id"], first["items"], first["status"]) == (
            "batch.progress",
            batch.pk,
            1,
            "validated",
        )
        await asyncio.get_running_loop().run_in_executor(
            None, realtime.push, realtime.batch_group(batch.pk), {"type": "batch.progress", "posted": 1}
        )
        assert (await director_socket.receive_json_from(timeout=3))["posted"] == 1
        await director_socket.disconnect()
        connected, _code = await agent_socket.connect()
        message = await agent_socket.receive_output(timeout=3)
        assert message["type"] == "websocket.close" and message["code"] == 4403
        await _release_stuck_receivers(director_socket, agent_socket)

    async_to_sync(scenario)()
    channel_layers.backends.clear()


@pytest.mark.parametrize("name", ["banking:batch-detail", "banking:batch-report", "banking:batch-reconciliation"])
def test_a_batch_page_for_a_batch_that_does_not_exist_is_404_not_500(client, analyst, name):
    client.force_login(analyst)
    client.raise_request_exception = False  # a server error is a 500 answer here, not a raise
    response = client.get(reverse(name, args=[999999]))
    assert response.status_code == 404
    assert "批次不存在" in response.content.decode()  # the service's message, on the site's page


def test_the_reconciliation_workbook_of_a_file_with_control_characters_downloads(client, analyst):
    # A reference with a control character (a settlement system's export): openpyxl refuses the
    # cell, and the reconciliation workbook was a 500 for that batch, for good.
    client.force_login(analyst)
    upload = io.BytesIO(b"bad,1,PG\x0b7\n")
    upload.name = "p.csv"
    response = client.post(reverse("banking:batch-upload"), {"kind": "refund", "period": "2026-11", "file": upload})
    assert response.status_code == 302
    batch = Batch.objects.get()
    assert BatchItem.objects.get(batch=batch).reference == "PG\x0b7"  # stored as received
    recon = client.get(reverse("banking:batch-reconciliation", args=[batch.pk]))
    assert recon.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(recon.streaming_content)), read_only=True)
    items = list(workbook.worksheets[1].iter_rows(values_only=True))
    assert items[1][3] == "PG7"
