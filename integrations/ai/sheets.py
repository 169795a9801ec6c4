"""Reservations in a company's Google Sheet, behind a small interface.

One worksheet, one reservation per row, a header row naming the columns (``COLUMNS``);
the ``id`` column identifies a row. gspread does the HTTP; nothing else in Atende imports
it, so tests fake Google at the HTTP layer and the rest of the code sees this interface.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import gspread
import requests
from django.utils import timezone

from .client import AIError

COLUMNS = ["id", "name", "phone", "date", "time", "people", "notes", "status", "updated_at"]
EDITABLE = ("name", "date", "time", "people", "notes")


class ReservationStore(Protocol):
    def list(self, *, phone: str = "", date: str = "") -> list[dict[str, str]]: ...
    def create(self, *, reservation_id: str, data: dict[str, Any]) -> dict[str, str]: ...
    def update(self, *, reservation_id: str, data: dict[str, Any]) -> dict[str, str] | None: ...
    def cancel(self, *, reservation_id: str) -> dict[str, str] | None: ...


class SheetReservations:
    """ReservationStore on a gspread Worksheet."""

    def __init__(self, worksheet: gspread.Worksheet) -> None:
        self.ws = worksheet

    def _rows(self) -> list[list[str]]:
        rows = self.ws.get_all_values()
        while rows and not any(rows[-1]):
            rows.pop()  # an empty sheet reads as [[]]
        return rows

    @staticmethod
    def _as_dict(row: list[str]) -> dict[str, str]:
        padded = list(row) + [""] * (len(COLUMNS) - len(row))
        return dict(zip(COLUMNS, padded, strict=False))

    def _find(self, reservation_id: str) -> tuple[int, dict[str, str]] | None:
        for index, row in enumerate(self._rows(), start=1):
            if index == 1:
                continue  # header
            if row and row[0] == reservation_id:
                return index, self._as_dict(row)
        return None

    def _write_row(self, row_number: int, values: dict[str, str]) -> None:
        last_col = chr(ord("A") + len(COLUMNS) - 1)
        self.ws.update(
            [[values.get(c, "") for c in COLUMNS]], f"A{row_number}:{last_col}{row_number}"
        )

    def list(self, *, phone: str = "", date: str = "") -> list[dict[str, str]]:
        rows = [self._as_dict(r) for r in self._rows()[1:] if r and r[0]]
        if phone:
            rows = [r for r in rows if r["phone"] == phone]
        if date:
            rows = [r for r in rows if r["date"] == date]
        return rows

    def create(self, *, reservation_id: str, data: dict[str, Any]) -> dict[str, str]:
        rows = self._rows()
        for row in rows[1:]:
            if row and row[0] == reservation_id:
                return self._as_dict(row)  # a retried task already wrote it
        if not rows:
            self.ws.append_row(COLUMNS)
        values = {c: str(data.get(c, "") or "") for c in COLUMNS}
        values.update(id=reservation_id, status="confirmed", updated_at=_now())
        self.ws.append_row([values[c] for c in COLUMNS])
        return values

    def update(self, *, reservation_id: str, data: dict[str, Any]) -> dict[str, str] | None:
        found = self._find(reservation_id)
        if found is None:
            return None
        row_number, values = found
        for key in EDITABLE:
            if data.get(key) not in (None, ""):
                values[key] = str(data[key])
        values["updated_at"] = _now()
        self._write_row(row_number, values)
        return values

    def cancel(self, *, reservation_id: str) -> dict[str, str] | None:
        found = self._find(reservation_id)
        if found is None:
            return None
        row_number, values = found
        values.update(status="cancelled", updated_at=_now())
        self._write_row(row_number, values)
        return values


def _now() -> str:
    return timezone.now().replace(microsecond=0).isoformat()


def open_store(
    *,
    service_account_json: str,
    spreadsheet_key: str,
    worksheet: str,
    client: gspread.Client | None = None,
) -> SheetReservations:
    """Open the company's worksheet. ``client`` lets tests pass a gspread client with a
    plain requests session; production builds one from the service-account JSON."""
    try:
        if client is None:
            info = json.loads(service_account_json)
            client = gspread.service_account_from_dict(info)
        sheet = client.open_by_key(spreadsheet_key)
        return SheetReservations(sheet.worksheet(worksheet))
    except (ValueError, gspread.exceptions.GSpreadException, requests.RequestException) as exc:
        raise AIError(f"Google Sheets unavailable: {exc.__class__.__name__}: {exc}") from exc


def guarded(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a store call, turning Google/HTTP errors into AIError (retried by the task)."""
    try:
        return call(*args, **kwargs)
    except (gspread.exceptions.GSpreadException, requests.RequestException) as exc:
        raise AIError(f"Google Sheets error: {exc.__class__.__name__}: {exc}") from exc
