"""Reservations in Google Sheets through gspread, against mocked Sheets HTTP."""

from __future__ import annotations

import json
import re

import google.oauth2.credentials
import gspread
import pytest
import requests
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from integrations.ai import sheets
from integrations.ai.client import AIError
from tests.fakes.google_sheets import FakeSheets

KEY = "1AbCdEfGhIjKlMnOp"


def plain_client() -> gspread.Client:
    return gspread.Client(
        auth=google.oauth2.credentials.Credentials("dummy-token"), session=requests.Session()
    )


def open_plain(title: str = "Reservas") -> sheets.SheetReservations:
    return sheets.open_store(
        service_account_json="", spreadsheet_key=KEY, worksheet=title, client=plain_client()
    )


def test_creating_on_an_empty_sheet_writes_the_header_then_the_row() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeSheets(mock, key=KEY, title="Reservas")
        store = open_plain()
        row = store.create(
            reservation_id="R1-10-1",
            data={
                "name": "Maria",
                "phone": "+5511999990001",
                "date": "2026-12-01",
                "time": "20:00",
                "people": 4,
            },
        )
    assert fake.rows[0] == sheets.COLUMNS
    [record] = fake.records()
    assert record["id"] == "R1-10-1" and record["people"] == "4"
    assert record["status"] == "confirmed" and row["name"] == "Maria"


def test_creating_the_same_reservation_twice_writes_one_row() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeSheets(mock, key=KEY, title="Reservas")
        store = open_plain()
        store.create(reservation_id="R1", data={"name": "A"})
        store.create(reservation_id="R1", data={"name": "A"})
    assert [r["id"] for r in fake.records()] == ["R1"]


def test_list_update_and_cancel_find_the_row_by_id() -> None:
    rows = [
        sheets.COLUMNS,
        ["R1", "Ana", "+551111", "2026-12-01", "19:00", "2", "", "confirmed", ""],
        ["R2", "Bia", "+552222", "2026-12-02", "20:00", "3", "", "confirmed", ""],
    ]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeSheets(mock, key=KEY, title="Reservas", rows=rows)
        store = open_plain()
        assert [r["id"] for r in store.list(phone="+552222")] == ["R2"]
        assert store.list(date="2026-12-01")[0]["name"] == "Ana"
        store.update(reservation_id="R2", data={"time": "21:00", "people": 5, "id": "hack"})
        store.cancel(reservation_id="R1")
        assert store.update(reservation_id="nope", data={"time": "1"}) is None
    by_id = {r["id"]: r for r in fake.records()}
    assert by_id["R2"]["time"] == "21:00" and by_id["R2"]["people"] == "5"
    assert by_id["R1"]["status"] == "cancelled" and by_id["R2"]["status"] == "confirmed"
    assert any(m == "PUT" and "'Reservas'!A3:I3" in url for m, url in fake.calls)


def test_a_missing_spreadsheet_is_an_ai_error() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(
            responses.GET,
            f"{sheets_base()}/{KEY}",
            status=404,
            json={"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}},
        )
        with pytest.raises(AIError):
            open_plain()


def sheets_base() -> str:
    return "https://sheets.googleapis.com/v4/spreadsheets"


def throwaway_service_account() -> dict[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "type": "service_account",
        "project_id": "atende-test",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "bot@atende-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }


def test_the_service_account_json_authenticates_through_the_token_endpoint() -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        token = mock.add(
            responses.POST,
            "https://oauth2.googleapis.com/token",
            json={"access_token": "ya29.fake", "expires_in": 3600, "token_type": "Bearer"},
        )
        # google-auth looks up the account's regional access boundary in the background.
        mock.add(
            responses.GET,
            re.compile(r"https://iamcredentials\.googleapis\.com/.*"),
            json={"encodedLocations": "0x0", "locations": []},
        )
        fake = FakeSheets(mock, key=KEY, title="Reservas")
        store = sheets.open_store(
            service_account_json=json.dumps(throwaway_service_account()),
            spreadsheet_key=KEY,
            worksheet="Reservas",
        )
        store.create(reservation_id="R9", data={"name": "Caio"})
        assert token.call_count == 1
        sheet_calls = [c for c in mock.calls if "sheets.googleapis.com" in c.request.url]
        assert all(c.request.headers["Authorization"] == "Bearer ya29.fake" for c in sheet_calls)
    assert fake.records()[0]["name"] == "Caio"


def test_bad_service_account_json_is_an_ai_error() -> None:
    with pytest.raises(AIError):
        sheets.open_store(service_account_json="{not json", spreadsheet_key=KEY, worksheet="x")
