"""The self-service and callback KPIs (DESIGN.md §5): callbacks made and reached, verbal loss
reports, transfers customers made in the IVR and their refusals by reason — reports' one entry
point for them, combining the owning apps' raw selectors (volumes are small: hundreds a day, no
rollup).

- **callbacks** (``agents.selectors.callback_statistics``): created in the period, by where they
  stand now — reached, not reached (failed after the last try), cancelled, open; the calls made on
  them (``attempts``); reach rate = reached ÷ (reached + not reached); per agent (who closed them,
  or to whom an open one is assigned);
- **verbal loss reports** (``banking.selectors.loss_report_statistics``): made in the period, per
  channel (IVR, agent, counter), and of those how many are cancelled, expired, formalized and
  still in force;
- **IVR transfers**: executed = the ledger's transfers of channel ``ivr``
  (``banking.selectors.ivr_transfer_statistics``: count and amount, integer fen); refused = the
  IVR's ``transfer_refused`` answers (``ivr.selectors.ivr_transfer_refusals``: banking writes
  nothing for a refusal), per reason code with its label
  (``banking.selectors.transfer_refusal_labels``); refusal rate = refused ÷ (executed + refused).

Local dates (Asia/Shanghai), inclusive. Ratios with a zero denominator are ``None``. Test calls
(the simulator's) are never counted: their banking writes are rolled back, their IVR events and
callbacks are left out, and so is anything staff recorded on them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from agents.selectors import callback_statistics
from banking.selectors import ivr_transfer_statistics, loss_report_statistics, transfer_refusal_labels
from ivr.selectors import ivr_test_call_ids, ivr_transfer_refusals

from .kpi import ratio


def callback_figures(date_from: date, date_to: date) -> dict[str, Any]:
    return callback_statistics(date_from, date_to)


def loss_report_figures(date_from: date, date_to: date, *, now: datetime | None = None) -> dict[str, Any]:
    return loss_report_statistics(date_from, date_to, now=now, exclude_call_ids=ivr_test_call_ids(date_from, date_to))


def ivr_transfer_figures(date_from: date, date_to: date) -> dict[str, Any]:
    """``{"executed", "amount_fen", "refused", "attempts", "refusal_rate", "refused_calls",
    "by_reason": [{"code", "label", "refused", "share"}]}`` — reasons by count, then code; a code
    without a label (an answer of an older release) is shown as its code."""
    executed = ivr_transfer_statistics(date_from, date_to)
    refusals = ivr_transfer_refusals(date_from, date_to)
    labels = transfer_refusal_labels()
    refused = refusals["refused"]
    attempts = executed["executed"] + refused
    return {
        "executed": executed["executed"],
        "amount_fen": executed["amount_fen"],
        "refused": refused,
        "attempts": attempts,
        "refusal_rate": ratio(refused, attempts),
        "refused_calls": refusals["calls"],
        "by_reason": [
            {"code": code, "label": labels.get(code, code or "—"), "refused": count, "share": ratio(count, refused)}
            for code, count in refusals["by_reason"].items()
        ],
    }


def service_figures(date_from: date, date_to: date, *, now: datetime | None = None) -> dict[str, Any]:
    """``{"callbacks", "loss_reports", "ivr_transfers"}`` of the period (see the module)."""
    return {
        "date_from": date_from.isoformat(),
        "date_to": date_to.isoformat(),
        "callbacks": callback_figures(date_from, date_to),
        "loss_reports": loss_report_figures(date_from, date_to, now=now),
        "ivr_transfers": ivr_transfer_figures(date_from, date_to),
    }
