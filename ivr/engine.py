"""The call-flow engine: given a call's persisted state and one event, say what to do next.

Pure flow logic over a compiled ``Menu`` and an ``IvrCall`` row (changed in memory; the caller,
``services.call_event``, saves it in the same transaction as the event). Banking goes through
``banking_port``. The engine never keeps a password: digits typed at a password step are
passed to the banking service and dropped.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.utils import timezone

from core.errors import DomainError

from . import banking_port as bank
from .menu import Menu, Node
from .models import IvrCall
from .speech import PASSWORD_NAMES, fill, reason_text, transactions_text, valid_until_text

logger = logging.getLogger(__name__)

NUMBER_MAX_DIGITS = 32
AMOUNT_MAX_DIGITS = 14
# Steps whose digits are a secret: never stored (IvrEvent keeps a marker) and never logged.
SECRET_STEPS = frozenset({"password"})
# The recording is paused while a secret step waits for keys (docs/ivr-switch.md "Recording"):
# ``pause`` comes before the prompt of every gather of a secret step, ``resume`` first in the
# answer that leaves it (keys, timeout, hang-up, transfer, goodbye). A wrong password asked again
# stays paused (the pause is repeated before the prompt: a switch may act on each answer alone).
RECORDING_PAUSE = "pause"
RECORDING_RESUME = "resume"
MAX_ENTERS_PER_TURN = 64  # validation refuses endless loops; this guards drafts in preview


class Turn:
    """The engine working on one event of one call; ``actions`` is the response."""

    def __init__(
        self, call: IvrCall, menu: Menu, *, seq: int, announcements=lambda position: [], account=None, login=None
    ):
        self.call = call
        self.menu = menu
        self.seq = seq
        self.actions: list[dict[str, Any]] = []
        # ``announcements(position)`` → the active announcements there, asked for only when said.
        self.announcements = announcements
        # The verified caller's account as read with the call in this step, used once (after a
        # transfer the engine reads it again).
        self.account_read = account
        # While a password is asked: (the account logging in, its registration) read with the call.
        self.login_read = login
        self.enters = 0
        # The switch's recording is paused as this turn starts (the last answer asked a secret).
        self.paused = call.step in SECRET_STEPS
        self.paused_in_turn = False

    # --- actions --------------------------------------------------------------------------------

    def say(self, key: str, data: dict | None = None, *, text: str | None = None, **values) -> None:
        if text is None:
            text = fill(self.menu.prompts.get(key, ""), values)
        self.actions.append({"type": "say", "prompt": key, "text": text, "data": data or {}})

    def gather(self, max_digits: int) -> None:
        self.actions.append(
            {
                "type": "gather",
                "max_digits": max_digits,
                "terminator": "#",
                "timeout_s": settings.IVR_GATHER_TIMEOUT_S,
            }
        )

    def recording(self, state: str) -> dict[str, Any]:
        return {"type": "recording", "state": state}

    def set_step(self, step: str) -> None:
        """Move to sub-step ``step``; leaving a secret step resumes the recording."""
        self.call.step = step
        if step not in SECRET_STEPS:
            self.resume_recording()

    def pause_recording(self) -> None:
        self.actions.append(self.recording(RECORDING_PAUSE))
        self.paused = self.paused_in_turn = True

    def resume_recording(self) -> None:
        if not self.paused:
            return
        self.paused = False
        if self.paused_in_turn:  # paused earlier in this very answer: resume from here on
            self.actions.append(self.recording(RECORDING_RESUME))
        else:  # paused by an earlier answer: resume before anything else is said or done
            self.actions.insert(0, self.recording(RECORDING_RESUME))

    def transfer(self, queue: str) -> None:
        self.set_step("")  # never to an agent with the recording paused
        action: dict[str, Any] = {"type": "transfer", "queue": queue}
        waiting = self.announcements("while_waiting")
        if waiting:
            # Said to the caller while queued (VoiceXML: the transfer's transferaudio).
            action["hold"] = [
                {"type": "say", "prompt": "announcement", "text": item.text, "data": {"id": item.pk}}
                for item in waiting
            ]
        self.actions.append(action)
        self.end(IvrCall.Outcome.AGENT, queue=queue)

    def hangup(self, outcome: str = IvrCall.Outcome.GOODBYE) -> None:
        self.set_step("")
        self.actions.append({"type": "hangup"})
        self.end(outcome)

    def end(self, outcome: str, *, queue: str = "") -> None:
        call = self.call
        call.ended = True
        call.ended_at = timezone.now()
        call.outcome = outcome
        call.queue = queue
        self.set_step("")
        call.login_account_id = None
        call.data.pop("transfer", None)
        call.data.pop("loss", None)

    # --- entering nodes -------------------------------------------------------------------------

    def start(self) -> None:
        self.say("welcome")
        for item in self.announcements("after_welcome"):
            self.say("announcement", {"id": item.pk}, text=item.text)
        self.enter(self.menu.root)

    def enter(self, key: str) -> None:
        self.enters += 1
        if self.enters > MAX_ENTERS_PER_TURN or key not in self.menu.nodes:
            logger.error("IVR menu v%s loops or lacks node %s; giving up on the call", self.menu.version_id, key)
            self.give_up()
            return
        call = self.call
        call.node = key
        self.set_step("")
        call.data["fails"] = 0
        call.path = [*call.path, key]
        node = self.menu.node(key)
        getattr(self, f"enter_{node.kind}")(node)

    def enter_menu(self, node: Node) -> None:
        self.ask(node, "choose")

    def enter_info(self, node: Node) -> None:
        self.say(node.prompt_key, text=node.text.strip() or fill(self.menu.prompts.get(node.prompt_key, ""), {}))
        self.enter(node.next)

    def enter_agent(self, node: Node) -> None:
        self.say(node.prompt_key)
        self.transfer(node.queue or settings.IVR_AGENT_QUEUE)

    def enter_hangup(self, node: Node) -> None:
        self.say(node.prompt_key)
        self.hangup()

    def enter_auth(self, node: Node) -> None:
        if self.call.verified:  # back in account services after "*": no second login
            self.enter(node.next)
        else:
            self.ask(node, "number")

    def enter_balance(self, node: Node) -> None:
        account = self.authenticated_account()
        balance = bank.balance_yuan(account)
        self.say("balance", {"balance": balance}, balance=balance, number=bank.mask(account))
        self.enter(node.next)

    def enter_today_transactions(self, node: Node) -> None:
        self.say_transactions(node, today=True)

    def enter_recent_transactions(self, node: Node) -> None:
        self.say_transactions(node, today=False)

    def say_transactions(self, node: Node, *, today: bool) -> None:
        limit = settings.IVR_RECENT_TRANSACTIONS
        rows = bank.transactions(self.authenticated_account(), today=today, limit=limit)
        self.say("transactions", {"transactions": rows}, count=len(rows), items=transactions_text(rows))
        self.enter(node.next)

    def enter_transfer(self, node: Node) -> None:
        account = self.authenticated_account()
        registration = bank.registration_for_account(account)
        refusal = bank.transfer_refusal(registration=registration, from_account=account)
        if refusal is not None:
            self.transfer_refused(node, refusal)
        else:
            self.ask(node, "target")

    def enter_loss_report(self, node: Node) -> None:
        self.ask(node, "number")

    # --- prompting and failures -----------------------------------------------------------------

    def ask(self, node: Node, step: str) -> None:
        """Say the prompt of ``step`` and wait for keys (a secret step: recording paused first)."""
        self.set_step(step)
        if step in SECRET_STEPS:
            self.pause_recording()
        if node.kind == "menu":
            self.say(node.prompt_key)
            self.gather(1)
        elif step == "number":
            self.say("enter_number")
            self.gather(NUMBER_MAX_DIGITS)
        elif step == "password":
            kind = "phone_banking" if node.kind == "auth" else "withdrawal"
            self.say("enter_password", {"password": kind}, password_name=PASSWORD_NAMES[kind])
            self.gather(NUMBER_MAX_DIGITS)
        elif step == "target":
            self.say("enter_target")
            self.gather(NUMBER_MAX_DIGITS)
        elif step == "amount":
            self.say("enter_amount")
            self.gather(AMOUNT_MAX_DIGITS)
        elif step == "confirm":
            transfer = self.call.data["transfer"]
            self.say(
                "transfer_confirm",
                {"target": transfer["target"], "amount": transfer["amount"]},
                target=transfer["target"],
                amount=transfer["amount"],
            )
            self.gather(1)
        else:  # pragma: no cover - every step above is listed
            raise ValueError(step)

    def failed(self, node: Node, *, say_invalid: bool) -> bool:
        """Count a failure in this menu; ``False`` when it was the last allowed (caller sent on)."""
        fails = int(self.call.data.get("fails", 0)) + 1
        self.call.data["fails"] = fails
        if fails >= settings.IVR_MAX_FAILURES:
            self.give_up()
            return False
        if say_invalid:
            self.say("invalid")
        return True

    def give_up(self) -> None:
        """Too many invalid inputs or timeouts: to an agent (default) or goodbye."""
        if settings.IVR_FAILURE_ACTION == "goodbye":
            self.say("goodbye")
            self.hangup()
        else:
            self.say("to_agent")
            self.transfer(settings.IVR_AGENT_QUEUE)

    # --- events ---------------------------------------------------------------------------------

    def on_timeout(self) -> None:
        node = self.menu.node(self.call.node)
        if self.failed(node, say_invalid=False):
            self.ask(node, self.call.step)

    def on_hangup(self) -> None:
        self.end(IvrCall.Outcome.HANGUP)

    def on_digits(self, digits: str) -> None:
        node = self.menu.node(self.call.node)
        getattr(self, f"input_{node.kind}")(node, self.call.step, digits)

    def invalid(self, node: Node) -> None:
        if self.failed(node, say_invalid=True):
            self.ask(node, self.call.step)

    def input_menu(self, node: Node, step: str, digits: str) -> None:
        target = node.options.get(digits)
        if target is None:
            self.invalid(node)
        else:
            self.enter(target)

    def input_auth(self, node: Node, step: str, digits: str) -> None:
        call = self.call
        if step == "number":
            account, registration = (
                bank.account_with_registration_by_number(digits) if digits.isdigit() else (None, None)
            )
            if account is None:
                call.auth_failures += 1
                if self.failed(node, say_invalid=False):
                    self.say("auth_failed", {"reason": "account_not_found"})
                    self.ask(node, "number")
                return
            if registration is None:
                self.say("not_registered", {"reason": "not_registered"})
                self.enter(self.menu.root)
            elif getattr(registration, "locked", False):
                call.locked_out = True
                self.say("locked", {"reason": "locked"})
                self.enter(self.menu.root)
            else:
                call.login_account_id = account.pk
                self.ask(node, "password")
            return

        account, registration = self.login_account()
        if registration is None:  # deregistered between the two steps
            call.login_account_id = None
            self.say("not_registered", {"reason": "not_registered"})
            self.enter(self.menu.root)
            return
        try:
            ok = bank.password_verify(registration=registration, password=digits, call_id=call.call_id)
        except DomainError as error:
            if error.code != "locked":
                raise
            call.auth_failures += 1
            call.locked_out = True
            call.login_account_id = None
            self.say("locked", {"reason": "locked"})
            self.enter(self.menu.root)
            return
        if not ok:
            call.auth_failures += 1
            if self.failed(node, say_invalid=False):
                self.say("auth_failed", {"reason": "wrong_password"})
                self.ask(node, "password")
            return
        call.login_account_id = None
        call.verified = True
        call.account_id = account.pk
        call.customer_id = bank.customer_id_of(account)
        self.enter(node.next)

    def input_transfer(self, node: Node, step: str, digits: str) -> None:
        call = self.call
        account = self.authenticated_account()
        registration = bank.registration_for_account(account)
        if registration is None:
            self.transfer_refused(node, "not_registered")
            return
        if step == "target":
            if not digits.isdigit():
                self.invalid(node)
                return
            if len(digits) == 2:
                target = bank.linked_account_by_code(registration, digits)
            else:
                target = bank.account_by_number(digits)
            # Banking's verdict on what is known before the amount (its rules, in its order).
            refusal = (
                bank.transfer_refusal(registration=registration, from_account=account, to_account=target)
                if target is not None
                else "not_linked"
            )
            if refusal is not None:
                self.transfer_refused(node, refusal)
            else:
                call.data["transfer"] = {"to": target.pk, "target": bank.mask(target)}
                self.ask(node, "amount")
        elif step == "amount":
            try:
                fen = bank.parse_amount(digits.replace("*", "."))
            except DomainError:
                self.transfer_refused(node, "invalid_amount")
                return
            call.data["transfer"]["amount"] = bank.fen_to_yuan(fen)
            self.ask(node, "confirm")
        elif step == "confirm":
            if digits == "2":
                call.data.pop("transfer", None)
                self.enter(node.next)
            elif digits == "1":
                self.transfer_confirmed(node, account, registration)
            else:
                self.invalid(node)

    def transfer_confirmed(self, node: Node, account, registration) -> None:
        call = self.call
        transfer = call.data.pop("transfer")
        target = bank.account_by_id(transfer["to"])
        try:
            txn = bank.transfer_execute(
                registration=registration,
                from_account=account,
                to_account=target,
                amount=transfer["amount"],
                idempotency_key=bank.transfer_key(call.call_id, self.seq),
                call_id=call.call_id,
            )
        except DomainError as error:
            self.transfer_refused(node, error.code)
            return
        balance = bank.balance_after_transfer(account, txn)
        data = {"amount": transfer["amount"], "target": transfer["target"], "balance": balance}
        self.say("transfer_done", data, **data)
        self.enter(node.next)

    def transfer_refused(self, node: Node, reason: str) -> None:
        self.call.data.pop("transfer", None)
        self.say("transfer_refused", {"reason": reason}, reason_text=reason_text(reason))
        self.enter(node.next)

    def input_loss_report(self, node: Node, step: str, digits: str) -> None:
        call = self.call
        if step == "number":
            account = bank.account_by_number(digits) if digits.isdigit() else None
            if account is None:
                self.say("loss_refused", {"reason": "account_not_found"}, reason_text=reason_text("account_not_found"))
                self.enter(node.next)
            else:
                call.data["loss"] = {"account_id": account.pk}
                self.ask(node, "password")
            return
        account = bank.account_by_id(call.data.pop("loss", {}).get("account_id"))
        if account is None:
            self.say("loss_refused", {"reason": "account_not_found"}, reason_text=reason_text("account_not_found"))
            self.enter(node.next)
            return
        try:
            report = bank.loss_report_register(account=account, password=digits, call_id=call.call_id)
        except DomainError as error:
            self.say("loss_refused", {"reason": error.code}, reason_text=reason_text(error.code))
        else:
            valid_until = report.valid_until
            data = {"valid_until": valid_until.isoformat(), "number": bank.mask(account)}
            self.say("loss_done", data, number=data["number"], valid_until=valid_until_text(valid_until))
        self.enter(node.next)

    def input_info(self, node: Node, step: str, digits: str) -> None:  # pragma: no cover - never waits
        self.enter(node.next)

    input_balance = input_today_transactions = input_recent_transactions = input_info

    # --- helpers --------------------------------------------------------------------------------

    def login_account(self):
        """(The account logging in, its registration): as read with the call in this step, else
        read now (a linked account's registration is not read along); ``(None, None)``."""
        read, self.login_read = self.login_read, None
        account_id = self.call.login_account_id
        if read is not None and read[0] is not None and read[0].pk == account_id and read[1] is not None:
            return read
        return bank.account_with_registration_by_id(account_id)

    def authenticated_account(self):
        account, self.account_read = self.account_read, None
        if not self.call.verified:
            raise NotVerified
        if account is None or account.pk != self.call.account_id:
            account = bank.account_by_id(self.call.account_id)
        if account is None:
            raise NotVerified
        return account


class NotVerified(Exception):
    """An account node was reached without a login (validation prevents it in published menus)."""


def is_secret_step(call: IvrCall) -> bool:
    return call.step in SECRET_STEPS
