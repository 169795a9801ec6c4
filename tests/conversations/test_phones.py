"""Phone normalisation and the Brazilian ninth-digit matching key (pure, no Django)."""

from __future__ import annotations

import pytest

from conversations.phones import normalize_phone, phone_key


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Twilio
        ("whatsapp:+5511900000001", "+5511900000001"),
        ("WhatsApp: +14155238886", "+14155238886"),
        # WhatsApp JIDs (Evolution / Chatwoot identifiers), with and without a device suffix
        ("5511900000001@s.whatsapp.net", "+5511900000001"),
        ("551199990000:12@s.whatsapp.net", "+551199990000"),
        ("5511900000001@c.us", "+5511900000001"),
        # national Brazilian formats
        ("(11) 99999-0000", "+5511999990000"),
        ("11 3333-4444", "+551133334444"),
        ("011 99999-0000", "+5511999990000"),
        # digits that already carry the country code (Twilio WaId, Umbler legacy numbers)
        ("5511999990000", "+5511999990000"),
        ("14155238886", "+14155238886"),
        # Evolution's group prefix format for 12-digit numbers
        ("+55 (11) 9999-9999", "+551199999999"),
        # other countries
        ("+44 20 7946 0958", "+442079460958"),
        ("  +351 912 345 678 ", "+351912345678"),
    ],
)
def test_phones_in_every_platform_format_become_e164(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "hello",
        "123",
        "99990000",  # no area code: cannot be made international
        "+55119000XXXXX",  # Twilio's masked ChannelToAddress
        "120363025246125486@g.us",  # a group, not a person
        "1234567890@lid",  # WhatsApp LID: an opaque id
        "maria@example.com",
        "whatsapp:",
        "+99 1234 5678",  # no such country code
        "1" * 30,
    ],
)
def test_things_that_are_not_phones_normalise_to_empty(raw: str) -> None:
    assert normalize_phone(raw) == ""


def test_a_non_string_is_not_a_phone() -> None:
    assert normalize_phone(None) == ""  # type: ignore[arg-type]


def test_the_default_region_reads_national_numbers() -> None:
    assert normalize_phone("(415) 523-8886", default_region="US") == "+14155238886"
    assert normalize_phone("912 345 678", default_region="PT") == "+351912345678"


def test_brazilian_old_mobiles_are_kept_as_received() -> None:
    # WhatsApp still identifies some accounts by the eight-digit form; the key merges them.
    assert normalize_phone("+558199998888") == "+558199998888"


def test_brazilian_mobile_with_and_without_the_ninth_digit_share_a_key() -> None:
    assert phone_key("+558199998888") == phone_key("+5581999998888") == "+5581999998888"
    assert phone_key("+551166667777") == phone_key("+5511966667777")


@pytest.mark.parametrize("first_digit", "6789")
def test_every_old_mobile_range_gains_the_ninth_digit(first_digit: str) -> None:
    assert phone_key(f"+5521{first_digit}1234567") == f"+55219{first_digit}1234567"


@pytest.mark.parametrize("first_digit", "2345")
def test_landlines_are_never_confused_with_mobiles(first_digit: str) -> None:
    landline = f"+5511{first_digit}3334444"
    assert phone_key(landline) == landline
    assert phone_key(landline) != phone_key(f"+55119{first_digit}3334444")


def test_a_nine_digit_number_keeps_its_key() -> None:
    assert phone_key("+5511999990000") == "+5511999990000"


def test_other_countries_are_unchanged() -> None:
    assert phone_key("+14155238886") == "+14155238886"
    assert phone_key("+351912345678") == "+351912345678"


def test_phone_key_accepts_raw_platform_formats_and_empty_input() -> None:
    assert phone_key("558199998888@s.whatsapp.net") == "+5581999998888"
    assert phone_key("whatsapp:+558199998888") == "+5581999998888"
    assert phone_key("") == ""
    assert phone_key("not a phone") == ""
