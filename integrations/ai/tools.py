"""Function tools the model may call: reservations (Google Sheets) and hand-off.

Tools run outside any transaction (Sheets is HTTP). Hand-off is only *recorded* here and
applied in the reply's save transaction, so the model's last words still reach the
customer before the ticket leaves the AI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from conversations.models import Contact, Conversation
from tickets.models import Ticket

from . import sheets
from .client import AIError
from .models import AIReservation, AISettings, ReservationAction

_RESERVATION_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "description": "Name the reservation is under."},
    "date": {"type": "string", "description": "Date, YYYY-MM-DD."},
    "time": {"type": "string", "description": "Time, HH:MM (24 h)."},
    "people": {"type": "integer", "description": "Number of people."},
    "notes": {"type": "string", "description": "Anything else the customer asked for."},
}


def _fn(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


def definitions(ai: AISettings) -> list[dict]:
    tools: list[dict] = []
    if ai.tool_reservations and ai.sheets_configured:
        rid = {"reservation_id": {"type": "string", "description": "The reservation's id."}}
        tools += [
            _fn(
                "reservation_list",
                "List this customer's reservations (optionally one date).",
                {"date": _RESERVATION_FIELDS["date"]},
                [],
            ),
            _fn(
                "reservation_create",
                "Create a reservation for this customer.",
                _RESERVATION_FIELDS,
                ["name", "date", "time", "people"],
            ),
            _fn(
                "reservation_update",
                "Change one of this customer's reservations.",
                {**rid, **_RESERVATION_FIELDS},
                ["reservation_id"],
            ),
            _fn(
                "reservation_cancel",
                "Cancel one of this customer's reservations.",
                rid,
                ["reservation_id"],
            ),
        ]
    if ai.tool_handoff:
        tools.append(
            _fn(
                "handoff_to_human",
                "Hand the conversation to a human attendant (the customer asks for a person, "
                "or you cannot help). Still write a short reply telling the customer.",
                {
                    "summary": {
                        "type": "string",
                        "description": "What the customer needs, for the human.",
                    }
                },
                ["summary"],
            ),
        )
    return tools


StoreFactory = Callable[[AISettings], sheets.ReservationStore]


def default_store(ai: AISettings) -> sheets.ReservationStore:
    return sheets.open_store(
        service_account_json=ai.sheets_service_account,
        spreadsheet_key=ai.sheets_spreadsheet_key,
        worksheet=ai.sheets_worksheet,
    )


@dataclass
class ToolRunner:
    ai: AISettings
    conversation: Conversation
    ticket: Ticket
    contact: Contact
    last_message_id: int
    store_factory: StoreFactory = default_store
    handoff_summary: str | None = None
    called: list[str] = field(default_factory=list)
    _store: sheets.ReservationStore | None = None
    _created: int = 0

    def store(self) -> sheets.ReservationStore:
        if self._store is None:
            self._store = self.store_factory(self.ai)
        return self._store

    def execute(self, name: str, arguments: str) -> str:
        self.called.append(name)
        try:
            args = json.loads(arguments or "{}")
            if not isinstance(args, dict):
                raise ValueError("arguments must be an object")
        except ValueError:
            return json.dumps({"error": "arguments were not valid JSON"})
        handler = getattr(self, f"_tool_{name}", None)
        if handler is None or name not in {d["function"]["name"] for d in definitions(self.ai)}:
            return json.dumps({"error": f"unknown tool {name}"})
        return json.dumps(handler(args), ensure_ascii=False)

    # --- reservations ---------------------------------------------------------------

    @property
    def phone(self) -> str:
        return self.contact.phone or f"contact-{self.contact.pk}"

    def _owned(self, reservation_id: str) -> bool:
        rows = sheets.guarded(self.store().list, phone=self.phone)
        return any(r["id"] == reservation_id for r in rows)

    def _record(self, reservation_id: str, action: str, data: dict[str, Any]) -> None:
        try:
            with transaction.atomic():
                AIReservation.objects.create(
                    company_id=self.conversation.company_id,
                    conversation=self.conversation,
                    ticket=self.ticket,
                    reservation_id=reservation_id,
                    action=action,
                    data=data,
                )
        except IntegrityError:
            pass  # a retried task re-ran the same creation: counted once

    def _tool_reservation_list(self, args: dict[str, Any]) -> dict[str, Any]:
        rows = sheets.guarded(self.store().list, phone=self.phone, date=str(args.get("date") or ""))
        return {"reservations": rows}

    def _tool_reservation_create(self, args: dict[str, Any]) -> dict[str, Any]:
        self._created += 1
        # Deterministic id: a retry after a crash re-creates the same row, not a second one.
        reservation_id = f"R{self.conversation.pk}-{self.last_message_id}-{self._created}"
        data = {k: args.get(k, "") for k in ("name", "date", "time", "people", "notes")}
        data["phone"] = self.phone
        row = sheets.guarded(self.store().create, reservation_id=reservation_id, data=data)
        self._record(reservation_id, ReservationAction.CREATED, row)
        return {"ok": True, "reservation": row}

    def _tool_reservation_update(self, args: dict[str, Any]) -> dict[str, Any]:
        reservation_id = str(args.get("reservation_id", ""))
        if not self._owned(reservation_id):
            return {"ok": False, "error": "no reservation with this id for this customer"}
        row = sheets.guarded(self.store().update, reservation_id=reservation_id, data=args)
        if row is None:
            return {"ok": False, "error": "reservation not found"}
        self._record(reservation_id, ReservationAction.UPDATED, row)
        return {"ok": True, "reservation": row}

    def _tool_reservation_cancel(self, args: dict[str, Any]) -> dict[str, Any]:
        reservation_id = str(args.get("reservation_id", ""))
        if not self._owned(reservation_id):
            return {"ok": False, "error": "no reservation with this id for this customer"}
        row = sheets.guarded(self.store().cancel, reservation_id=reservation_id)
        if row is None:
            return {"ok": False, "error": "reservation not found"}
        self._record(reservation_id, ReservationAction.CANCELLED, row)
        return {"ok": True, "reservation": row}

    # --- hand-off -------------------------------------------------------------------

    def _tool_handoff_to_human(self, args: dict[str, Any]) -> dict[str, Any]:
        self.handoff_summary = str(args.get("summary") or "").strip() or "-"
        return {"ok": True, "note": "A human will take over after your reply."}


def raise_for_rounds() -> None:
    raise AIError("the model kept calling tools without answering")
