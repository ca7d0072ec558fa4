"""Pages of the settlement batches (back office): the list with the upload form, a batch with its
validation report, approval, run and progress, and the downloads (validation report as CSV,
reconciliation as XLSX). Thin: the rules are ``banking.batch_policy``'s, the writes
``banking.services.batches``'."""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import spreadsheets
from core.errors import DomainError
from org.permissions import role_required, staff_user

from . import batch_policy, batch_selectors
from .models import Batch, BatchItem
from .money import fen_to_yuan, format_yuan
from .services import batches

REPORT_LINES_SHOWN = 200


def _reason_label(code: str) -> str:
    label = batches.REASONS.get(code)
    return str(label) if label else code


@role_required(*batch_policy.READERS)
def batch_list(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    page = Paginator(batch_selectors.batch_list(), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "banking/batch_list.html",
        {
            "page": page,
            "rows": [
                {
                    "batch": batch,
                    "control_total": format_yuan(batch.control_total_fen),
                    "posted_total": format_yuan(batch.posted_total_fen),
                }
                for batch in page
            ],
            "can_upload": batch_policy.can_upload(request.user),
            "kinds": Batch.Kind.choices,
            "error": error,
            "form": request.POST if error else {},
        },
        status=status,
    )


@require_POST
@role_required(*batch_policy.UPLOADERS)
def batch_upload(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        return batch_list(request, error=_("Choose the file to upload."), status=400)
    corrects = None
    try:
        if request.POST.get("corrects"):
            try:
                corrects = batch_selectors.batch_get(batch_id=int(request.POST["corrects"]))
            except ValueError:
                raise batches.BatchNotFound() from None
        batch = batches.batch_upload(
            kind=request.POST.get("kind", ""),
            period=request.POST.get("period", ""),
            file=upload,
            file_name=upload.name or "",
            actor=staff_user(request),
            corrects=corrects,
        )
    except DomainError as exc:
        return batch_list(request, error=exc.message, status=exc.status if exc.status < 500 else 400)
    messages.success(request, _("Batch uploaded and validated: check the report, then the director approves it."))
    return redirect("banking:batch-detail", batch_id=batch.pk)


@role_required(*batch_policy.READERS)
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = batch_selectors.batch_get(batch_id=batch_id)
    problems = [
        {
            "item": item,
            "reason": _reason_label(item.reason),
            "amount": fen_to_yuan(item.amount_fen) if item.amount_fen else "—",
        }
        for item in batch_selectors.batch_problems(batch=batch)[:REPORT_LINES_SHOWN]
    ]
    reasons = {**batch.report.get("reasons", {})}
    for code, count in batch.report.get("run_reasons", {}).items():
        reasons[code] = count  # after the run: every failed item, validation's and the run's
    return render(
        request,
        "banking/batch_detail.html",
        {
            "batch": batch,
            "progress": batches.batch_progress(batch),
            "figures": {
                "control_total": format_yuan(batch.control_total_fen),
                "valid_total": format_yuan(batch.valid_total_fen),
                "posted_total": format_yuan(batch.posted_total_fen),
                "failed_total": format_yuan(batch.failed_total_fen),
                "reconciled": batch.posted_total_fen + batch.failed_total_fen == batch.control_total_fen,
            },
            "reasons": [(code, _reason_label(code), count) for code, count in sorted(reasons.items())],
            "problems": problems,
            "problems_more": batch.failed_count > REPORT_LINES_SHOWN,
            "can_decide": batch.status == Batch.Status.VALIDATED
            and batch_policy.decide_refusal(request.user, batch) is None,
            "decide_refusal": batch_policy.decide_refusal(request.user, batch)
            if batch.status == Batch.Status.VALIDATED
            else None,
            "can_run": batch.status in (Batch.Status.APPROVED, Batch.Status.RUNNING)
            and batch_policy.can_run(request.user),
            "live": batch.status == Batch.Status.RUNNING,
        },
    )


@require_POST
@role_required(*batch_policy.APPROVERS)
def batch_decide(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = batch_selectors.batch_get(batch_id=batch_id)
    try:
        if request.POST.get("approve") == "1":
            batches.batch_approve(batch=batch, actor=staff_user(request), note=request.POST.get("note", ""))
            messages.success(request, _("Batch approved: it may run."))
        else:
            batches.batch_reject(batch=batch, actor=staff_user(request), note=request.POST.get("note", ""))
            messages.success(request, _("Batch rejected."))
    except batches.Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("banking:batch-detail", batch_id=batch.pk)


@require_POST
@role_required(*batch_policy.RUNNERS)
def batch_run(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = batch_selectors.batch_get(batch_id=batch_id)
    try:
        batches.batch_run_start(batch=batch, actor=staff_user(request))
        messages.success(request, _("The run has started; the progress updates on this page."))
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("banking:batch-detail", batch_id=batch.pk)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _report_rows(batch: Batch, items) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # Excel opens a UTF-8 CSV with a BOM as UTF-8
    yield writer.writerow(
        [_("line"), _("account"), _("amount"), _("reference"), _("status"), _("reason code"), _("reason")]
    )
    for item in items.iterator(chunk_size=5000):
        yield writer.writerow(
            [
                item.line,
                item.account_masked,
                fen_to_yuan(item.amount_fen) if item.amount_fen is not None else "",
                item.reference,
                item.status,
                item.reason,
                _reason_label(item.reason) if item.reason else "",
            ]
        )


@role_required(*batch_policy.READERS)
def batch_report(request: HttpRequest, batch_id: int) -> StreamingHttpResponse:
    """The validation report: the lines that will not post and why (CSV, streamed)."""
    batch = batch_selectors.batch_get(batch_id=batch_id)
    response = StreamingHttpResponse(
        _report_rows(batch, batch_selectors.batch_problems(batch=batch)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-validation.csv"'
    return response


@role_required(*batch_policy.READERS)
def batch_reconciliation(request: HttpRequest, batch_id: int) -> FileResponse:
    """The reconciliation workbook: a summary sheet (counts and totals against the control total,
    failures by reason) and every item with its state, reason and ledger transaction (written
    streamed: openpyxl's write-only mode)."""
    from openpyxl import Workbook

    batch = batch_selectors.batch_get(batch_id=batch_id)
    workbook = Workbook(write_only=True)
    summary = workbook.create_sheet(_("Summary"))
    summary.append([_("Batch"), batch.pk])
    summary.append([_("Kind"), batch.get_kind_display(), batch.kind])
    summary.append([_("Period"), batch.period])
    summary.append([_("Status"), batch.get_status_display(), batch.status])
    summary.append([_("Items"), batch.items_count])
    summary.append([_("Posted"), batch.posted_count, fen_to_yuan(batch.posted_total_fen)])
    summary.append([_("Failed"), batch.failed_count, fen_to_yuan(batch.failed_total_fen)])
    summary.append([_("Control total"), "", fen_to_yuan(batch.control_total_fen)])
    summary.append([_("Reconciled"), batch.posted_total_fen + batch.failed_total_fen == batch.control_total_fen])
    for code, count in sorted(batches._reason_counts(batch.pk).items()):
        summary.append([_reason_label(code), count, code])
    items = workbook.create_sheet(_("Items"))
    items.append(
        [_("line"), _("account"), _("amount"), _("reference"), _("status"), _("reason code"), _("transaction")]
    )
    for item in BatchItem.objects.filter(batch=batch).order_by("line").iterator(chunk_size=5000):
        items.append(
            spreadsheets.row(
                [
                    item.line,
                    item.account_masked,
                    fen_to_yuan(item.amount_fen) if item.amount_fen is not None else "",
                    item.reference,
                    item.status,
                    item.reason,
                    item.transaction_id,
                ]
            )
        )
    handle = tempfile.TemporaryFile()
    workbook.save(handle)
    handle.seek(0)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"batch-{batch.pk}-reconciliation.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
