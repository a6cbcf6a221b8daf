"""Phone numbers as people write them → E.164, exactly as libphonenumber reads them.

A number is accepted when `phonenumbers.parse(raw, default_region)` reads it, with no
extension, `phonenumbers.is_valid_number` calls it valid (its own per-region patterns, not
length alone), and its type is one a campaign may call: ACCEPTED, and the types that cost
the caller more (COSTLY: premium rate, shared cost, personal, UAN) only when the operator
allows them; any type for a do-not-call list. The E.164 form returned is
`format_number(parse(...), E164)`.

`phonenumbers.parse` plus `is_valid_number` cost ~30 µs a number, too slow for a million-row
upload, so the common case takes a fast path: a number written with ASCII digits, at most
one leading "+" and the punctuation in _PUNCTUATION. For such text every step of parse()
that looks at other characters (RFC 3966 parameters, extensions, letters, non-ASCII
digits, leading text) provably does nothing, and the remaining steps are transcribed in
`_read` and numberplan.Plan over the same compiled metadata. Anything else goes through
phonenumbers itself.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from gateway.domain import numberplan
from gateway.domain.numberplan import TOO_LONG, UNKNOWN

# What a contact may be: mobile, fixed-line, toll-free and VoIP numbers.
ACCEPTED = frozenset(
    {
        PhoneNumberType.FIXED_LINE,
        PhoneNumberType.MOBILE,
        PhoneNumberType.FIXED_LINE_OR_MOBILE,
        PhoneNumberType.TOLL_FREE,
        PhoneNumberType.VOIP,
    }
)
_SETTING = "allowed only with [contacts] allow_premium = true"
# Numbers that cost the caller more than an ordinary call: only when the operator allows
# them (`allow_premium`). UAN is a company's single number, a personal number a
# follow-me number (in the UK the 070 range, known for its cost).
COSTLY = {
    PhoneNumberType.PREMIUM_RATE: "a premium-rate number",
    PhoneNumberType.SHARED_COST: "a shared-cost number",
    PhoneNumberType.PERSONAL_NUMBER: "a personal (follow-me) number",
    PhoneNumberType.UAN: "a UAN (a company's single number)",
}
WITH_PREMIUM = ACCEPTED | frozenset(COSTLY)
# Any valid number, whatever its type: what a do-not-call list takes.
ANY_TYPE = frozenset(PhoneNumberType.values()) - {PhoneNumberType.UNKNOWN}
_REFUSED_KINDS = {
    **{
        kind: f"{what}, which costs the caller more than an ordinary call ({_SETTING})"
        for kind, what in COSTLY.items()
    },
    # Never a contact: no person answers them.
    PhoneNumberType.PAGER: "a pager number, which cannot take a call",
    PhoneNumberType.VOICEMAIL: "a voicemail access number, not a person's",
}

# All in phonenumbers' _VALID_PUNCTUATION, none starts an extension or a second number.
_PUNCTUATION = " \u00a0-.()/"
_MAX_INPUT = 250  # phonenumbers' _MAX_INPUT_STRING_LENGTH
_MIN_NSN, _MAX_NSN = 2, 17  # _MIN_LENGTH_FOR_NSN, _MAX_LENGTH_FOR_NSN

_PARSE_ERRORS = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country code",
    NumberParseException.NOT_A_NUMBER: "not a dialable phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short to be a phone number",
    NumberParseException.TOO_SHORT_NSN: "too short to be a phone number",
    NumberParseException.TOO_LONG: "too long to be a phone number",
}


class InvalidNumber(ValueError):
    pass


class _Refused(Exception):
    """A NumberParseException of the fast path (its error_type)."""

    def __init__(self, error_type: int) -> None:
        super().__init__(error_type)
        self.error_type = error_type


def normalise(
    raw: str, default_region: str, *, allow_premium: bool = False, any_type: bool = False
) -> str:
    """The number in E.164 ("+14155550123"), or InvalidNumber saying why not.

    `default_region` (case-insensitive, e.g. "GB") is the country of numbers written
    without a country code. The number must be of a type in ACCEPTED, or in COSTLY too
    with `allow_premium`; with `any_type` (a do-not-call list), of any type."""
    return classify(raw, default_region, allow_premium=allow_premium, any_type=any_type)[0]


Reading = tuple[str, int, int]  # E.164, country calling code, PhoneNumberType


def classify(
    raw: str, default_region: str, *, allow_premium: bool = False, any_type: bool = False
) -> Reading:
    """As normalise(), with the number's country code and type, as phonenumbers'
    number_type() gives it except that FIXED_LINE stands for FIXED_LINE_OR_MOBILE too
    (both are geographic, which is what the time zones of a number turn on)."""
    # Deletes _PUNCTUATION's characters (faster than str.translate).
    text = raw.replace(" ", "").replace("-", "").replace("(", "").replace(")", "")
    text = text.replace(".", "").replace("/", "").replace("\u00a0", "")
    plus = text[:1] == "+"
    digits = text[1:] if plus else text
    number = None
    try:
        if len(digits) >= 3 and digits.isdigit() and digits.isascii() and len(raw) <= _MAX_INPUT:
            number = _read(plus, digits, default_region)
        if number is None:
            number = _read_slow(raw, default_region.upper())
    except _Refused as exc:
        if exc.error_type == NumberParseException.INVALID_COUNTRY_CODE and not (
            plus or is_valid_region(default_region)
        ):
            raise InvalidNumber(f"unknown default country {default_region!r}") from None
        why = _PARSE_ERRORS.get(exc.error_type, "not a dialable phone number")
        raise InvalidNumber(_explain(why, raw)) from None
    calling, nsn = number
    kind = calling.kind(nsn)
    if kind in (ANY_TYPE if any_type else WITH_PREMIUM if allow_premium else ACCEPTED):
        return f"+{calling.text}{nsn}", calling.country_code, kind
    if kind == UNKNOWN:
        why = f"not a valid number (libphonenumber knows no such +{calling.text} number)"
    else:
        why = _REFUSED_KINDS[kind]
    raise InvalidNumber(_explain(why, raw))


def dial_refusal(stored: str, *, allow_premium: bool) -> str | None:
    """Why a stored E.164 number must not be dialled, or None. It must read, as this
    version of libphonenumber reads it, as a number of a type a contact may have now (the
    operator's `allow_premium` as it is today) and as itself: one stored by an older
    reader (kept while its call was up at the upgrade), under older metadata, or before
    the operator stopped allowing premium-rate numbers may not."""
    try:  # its "+": the region is unused
        again = normalise(stored, "US", allow_premium=allow_premium)
    except InvalidNumber as exc:
        return f"its stored number is refused now: {exc}"
    if again != stored:
        return f"its stored number {stored} reads as {again} now"
    return None


def is_valid_region(region: str) -> bool:
    return region.upper() in phonenumbers.SUPPORTED_REGIONS


def _explain(why: str, raw: str) -> str:
    shown = raw.strip()
    return f"{why}: {shown[:40]!r}" if shown else "empty phone number"


Number = tuple[numberplan.CallingCode, str]  # and the national significant number


def _read_slow(raw: str, region: str) -> Number:
    """phonenumbers itself, for text the fast path does not cover."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except NumberParseException as exc:
        raise _Refused(exc.error_type) from None
    if parsed.extension:
        raise InvalidNumber(_explain("an extension cannot be dialled: give the number alone", raw))
    nsn = phonenumbers.national_significant_number(parsed)
    return numberplan.calling_code(parsed.country_code), nsn


Home = tuple[numberplan.Plan, numberplan.CallingCode]  # the default region's
_HOMES: dict[str, Home | None] = {}
_INEXACT: Home | None = (None, None)  # type: ignore[assignment]


def _home(region: str) -> Home | None:
    """The default region's plan and calling code; None for an unknown region, _INEXACT
    for one phonenumbers' own code must read."""
    upper = region.upper()
    plan = numberplan.for_region(upper) if upper in phonenumbers.SUPPORTED_REGIONS else None
    if plan is None:
        home = None
    elif not plan.exact:
        home = _INEXACT
    else:
        home = (plan, numberplan.calling_code(plan.country_code))
    _HOMES[region] = home
    return home


def _read(plus: bool, digits: str, region: str) -> Number | None:
    """phonenumbers.parse(text, region) for text of ASCII digits (at least 3) after at most
    one "+", punctuation aside. None when a plan involved is one phonenumbers' own code
    must read."""
    home = _HOMES[region] if region in _HOMES else _home(region)
    if home is _INEXACT:
        return None
    if plus:  # _maybe_extract_country_code, FROM_NUMBER_WITH_PLUS_SIGN (and > 2 digits)
        calling = (
            _BY_PREFIX.get(digits[:1]) or _BY_PREFIX.get(digits[:2]) or _BY_PREFIX.get(digits[:3])
        )
        if calling is not None:  # _extract_country_code, as _split_country_code
            national = digits[len(calling.text) :]
        else:  # parse() strips the "+" and tries again
            calling, national = _without_plus(digits, home)
            if calling is None:
                raise _Refused(NumberParseException.INVALID_COUNTRY_CODE)
    else:
        if home is None:  # _check_region_for_parsing
            raise _Refused(NumberParseException.INVALID_COUNTRY_CODE)
        calling, national = _without_plus(digits, home)
    if calling is None:
        assert home is not None
        plan, calling = home
        national = digits
    else:
        plan = calling.plan
        if not plan.exact:
            return None
    if len(national) < _MIN_NSN:
        raise _Refused(NumberParseException.TOO_SHORT_NSN)
    # A prefix of digits only cannot be stripped from a number that does not start with it.
    literal = plan.literal_prefix
    if literal is None or national.startswith(literal):
        stripped = plan.strip_national_prefix(national)
        if stripped != national and plan.test_length(stripped) not in _KEEP_PREFIX:
            national = stripped
        if len(national) < _MIN_NSN:
            raise _Refused(NumberParseException.TOO_SHORT_NSN)
    if len(national) > _MAX_NSN:
        raise _Refused(NumberParseException.TOO_LONG)
    return calling, national


_KEEP_PREFIX = frozenset({numberplan.TOO_SHORT, numberplan.LOCAL_ONLY, numberplan.INVALID_LENGTH})
_NO_CODE: tuple[None, str] = (None, "")


def _without_plus(digits: str, home: Home | None) -> tuple[numberplan.CallingCode | None, str]:
    """_maybe_extract_country_code for digits without a "+": after the home region's
    international prefix, or the home country code written without one."""
    if home is None:
        return _NO_CODE
    plan, calling = home
    idd = plan.idd.match(digits) if plan.idd is not None else None
    if idd is not None and digits[idd.end() : idd.end() + 1] != "0":  # _parse_prefix_as_idd
        full = digits[idd.end() :]
        if len(full) <= _MIN_NSN:
            raise _Refused(NumberParseException.TOO_SHORT_AFTER_IDD)
        found, national = _split_country_code(full)
        if found is None:
            raise _Refused(NumberParseException.INVALID_COUNTRY_CODE)
        return found, national
    if digits.startswith(plan.cc):
        potential = plan.strip_national_prefix(digits[len(plan.cc) :])
        if (not plan.matches_general(digits) and plan.matches_general(potential)) or (
            plan.test_length(digits) == TOO_LONG
        ):
            return calling, potential
    return _NO_CODE


_BY_PREFIX = numberplan.BY_PREFIX


def _split_country_code(digits: str) -> tuple[numberplan.CallingCode | None, str]:
    """_extract_country_code: the first 1, 2 or 3 digits that are a calling code."""
    calling = _BY_PREFIX.get(digits[:1]) or _BY_PREFIX.get(digits[:2]) or _BY_PREFIX.get(digits[:3])
    if calling is None:
        return None, digits
    return calling, digits[len(calling.text) :]
