"""An in-memory Google Sheets (values API) behind ``responses``, for gspread.

with responses.RequestsMock() as mock:
    sheet = FakeSheets(mock, key="abc", title="Reservas", rows=[[...header...]])
    ... gspread opens "abc", reads, appends and updates ``sheet.rows`` ...
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

import responses

BASE = "https://sheets.googleapis.com/v4/spreadsheets"


class FakeSheets:
    def __init__(
        self,
        mock: responses.RequestsMock,
        *,
        key: str,
        title: str,
        rows: list[list[str]] | None = None,
    ) -> None:
        self.key = key
        self.title = title
        self.rows: list[list[str]] = [list(r) for r in rows or []]
        self.calls: list[tuple[str, str]] = []
        k = re.escape(key)
        mock.add_callback(responses.GET, re.compile(rf"{BASE}/{k}(\?.*)?$"), self._metadata)
        mock.add_callback(
            responses.POST, re.compile(rf"{BASE}/{k}/values/.+:append.*"), self._append
        )
        mock.add_callback(responses.GET, re.compile(rf"{BASE}/{k}/values/.+"), self._get)
        mock.add_callback(responses.PUT, re.compile(rf"{BASE}/{k}/values/.+"), self._update)

    def _record(self, request: Any) -> None:
        self.calls.append((request.method, unquote(request.url)))

    def _metadata(self, request: Any) -> tuple[int, dict, str]:
        self._record(request)
        body = {
            "spreadsheetId": self.key,
            "properties": {"title": "Reservas da loja", "locale": "pt_BR"},
            "sheets": [
                {
                    "properties": {
                        "sheetId": 0,
                        "title": self.title,
                        "index": 0,
                        "sheetType": "GRID",
                        "gridProperties": {"rowCount": 1000, "columnCount": 26},
                    }
                }
            ],
        }
        return 200, {}, json.dumps(body)

    def _get(self, request: Any) -> tuple[int, dict, str]:
        self._record(request)
        body: dict[str, Any] = {"range": f"'{self.title}'!A1:Z1000", "majorDimension": "ROWS"}
        if self.rows:
            body["values"] = self.rows
        return 200, {}, json.dumps(body)

    def _append(self, request: Any) -> tuple[int, dict, str]:
        self._record(request)
        values = json.loads(request.body)["values"]
        self.rows.extend([str(v) for v in row] for row in values)
        return (
            200,
            {},
            json.dumps({"spreadsheetId": self.key, "updates": {"updatedRows": len(values)}}),
        )

    def _update(self, request: Any) -> tuple[int, dict, str]:
        self._record(request)
        match = re.search(r"!A(\d+):", unquote(request.url))
        if match is None:
            return (
                400,
                {},
                json.dumps(
                    {"error": {"code": 400, "message": "bad range", "status": "INVALID_ARGUMENT"}}
                ),
            )
        row_number = int(match.group(1))
        values = json.loads(request.body)["values"][0]
        while len(self.rows) < row_number:
            self.rows.append([])
        self.rows[row_number - 1] = [str(v) for v in values]
        return 200, {}, json.dumps({"spreadsheetId": self.key, "updatedRows": 1})

    def records(self) -> list[dict[str, str]]:
        header, *rows = self.rows
        return [dict(zip(header, row, strict=False)) for row in rows]
