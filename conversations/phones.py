"""Phone numbers: normalise what platforms send to E.164 and match people across formats.

Platforms hand us phones in many shapes: ``whatsapp:+5511999990000`` (Twilio),
``5511999990000@s.whatsapp.net`` (WhatsApp JIDs through Evolution/Chatwoot),
``+55 (11) 9999-9999`` (Evolution group prefixes), ``+5511999990000`` (Umbler). This module
is pure (no Django) so adapters and services can both use it.

Brazil added a ninth digit to mobile numbers (2012-2016), but WhatsApp still identifies many
older accounts by the eight-digit form, so the same person can show up as
``+55 81 9 9999-8888`` and ``+55 81 9999-8888``. :func:`phone_key` folds both into one key.
"""

from __future__ import annotations

import re

import phonenumbers

__all__ = ["normalize_phone", "phone_key"]

_WHATSAPP_PREFIX = re.compile(r"^\s*whatsapp:\s*", re.IGNORECASE)
# A JID is "<user>[:<device>]@<server>"; only these servers carry a phone number as user.
_PHONE_JID_SERVERS = ("s.whatsapp.net", "c.us")
_BR = 55
# Old (pre-ninth-digit) mobile numbers had eight local digits starting 6-9; eight-digit
# numbers starting 2-5 are landlines and never got a ninth digit.
_OLD_MOBILE_FIRST_DIGITS = frozenset("6789")


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _is_br_old_mobile(number: phonenumbers.PhoneNumber) -> bool:
    """True for +55 DD XXXXXXXX where the mobile became valid with a leading 9 added.

    phonenumbers (rightly) calls these invalid today, yet WhatsApp still uses them as ids.
    """
    if number.country_code != _BR:
        return False
    national = str(number.national_number)
    if len(national) != 10 or national[2] not in _OLD_MOBILE_FIRST_DIGITS:
        return False
    modern = _parse(f"+55{national[:2]}9{national[2:]}", None)
    return modern is not None and phonenumbers.is_valid_number(modern)


def _acceptable(number: phonenumbers.PhoneNumber) -> bool:
    if phonenumbers.is_valid_number(number):
        return True
    if number.country_code == _BR:
        # Brazilian data is our main case and phonenumbers' metadata for it is complete, so
        # only the legacy mobile shape is forgiven (a bare "99990000" must not become +55...).
        return _is_br_old_mobile(number)
    # Elsewhere metadata can lag behind newly allocated ranges; a number of a possible
    # length is more likely real than not when a messaging platform sends it.
    reason = phonenumbers.is_possible_number_with_reason(number)
    return bool(reason == phonenumbers.ValidationResult.IS_POSSIBLE)


def normalize_phone(raw: str, default_region: str = "BR") -> str:
    """Return ``raw`` as an E.164 string (``+5511999990000``), or ``""`` if it is no phone.

    Accepts ``whatsapp:`` prefixes, WhatsApp JIDs (``<digits>[:device]@s.whatsapp.net`` or
    ``@c.us``) and national formats of ``default_region``. Group JIDs (``@g.us``), LIDs and
    other non-phone ids give ``""``. Brazilian eight-digit mobiles are kept as received; use
    :func:`phone_key` to match them with their nine-digit form.
    """
    if not isinstance(raw, str):
        return ""
    text = _WHATSAPP_PREFIX.sub("", raw).strip()
    if not text:
        return ""
    force_international = False
    if "@" in text:
        user, _, server = text.partition("@")
        if server.strip().lower() not in _PHONE_JID_SERVERS:
            return ""  # groups (@g.us), LIDs (@lid), e-mail addresses...
        text = user.split(":", 1)[0].strip()
        # JID users are always the full international number without "+".
        force_international = True
    digits = re.sub(r"\D", "", text)
    if not 3 <= len(digits) <= 17:
        return ""
    if text.startswith("+") or force_international:
        candidates = [f"+{digits}"]
    else:
        # National format first (the tenant's country), then digits that already start with
        # a country code, as Twilio's WaId and Umbler's legacy numbers do.
        candidates = [text, f"+{digits}"]
    for candidate in candidates:
        number = _parse(candidate, default_region if not candidate.startswith("+") else None)
        if number is not None and _acceptable(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return ""


def phone_key(e164: str) -> str:
    """A matching key: equal keys mean the same phone line.

    Brazilian old-format mobiles (``+55 DD XXXXXXXX`` with ``X`` starting 6-9) get the ninth
    digit inserted, so ``+558199998888`` and ``+5581999998888`` share the key
    ``+5581999998888``. Landlines (local numbers starting 2-5) and every other country are
    returned unchanged. Input that is not E.164 is normalised first; ``""`` stays ``""``.
    """
    if not isinstance(e164, str) or not e164:
        return ""
    if not re.fullmatch(r"\+\d{3,17}", e164):
        e164 = normalize_phone(e164)
        if not e164:
            return ""
    # E.164 country codes are prefix-free, so "+55" can only mean Brazil.
    if e164.startswith("+55"):
        national = e164[3:]
        if (
            len(national) == 10
            and national[0] != "0"
            and national[1] != "0"
            and national[2] in _OLD_MOBILE_FIRST_DIGITS
        ):
            return f"+55{national[:2]}9{national[2:]}"
    return e164
