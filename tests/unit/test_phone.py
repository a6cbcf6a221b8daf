import pytest

from gateway.domain.phone import InvalidNumber, is_valid_region, normalise


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+1 (415) 555-0100", "US", "+14155550100"),
        ("415.555.0100", "US", "+14155550100"),
        ("1-415-555-0100", "US", "+14155550100"),
        ("(415) 555 0100", "US", "+14155550100"),
        ("14155550100", "US", "+14155550100"),  # the country code without a "+"
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("00 44 20 7946 0958", "DE", "+442079460958"),  # each region its own prefix
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", "US", "+442079460958"),
        ("+44 020 7946 0958", "US", "+442079460958"),  # the trunk 0 is not dialled
        ("07400 123456", "GB", "+447400123456"),
        ("  +33 1 23 45 67 89  ", "US", "+33123456789"),
        ("+1\u00a0415\u00a0555\u00a00100", "US", "+14155550100"),
        ("+39 06 6988 1234", "GB", "+390669881234"),  # Italy keeps its leading 0
        ("030 12345678", "de", "+493012345678"),  # the region in any case
        # Regressions (issue 12): what libphonenumber makes of them, not a guess.
        ("8 0152 45-09-11", "BY", "+375152450911"),  # national prefix 8 and then 0
        ("8 029 491-19-11", "BY", "+375294911911"),
        ("011 15-2345-6789", "AR", "+5491123456789"),  # 0 + area 11 + mobile 15 → 9 11
        # Not the fast path: phonenumbers itself reads these.
        ("Tel: +44 20 7946 0958", "US", "+442079460958"),
        ("1-800-FLOWERS", "US", "+18003569377"),  # letters on the keypad
        ("４１５５５５０１００", "US", "+14155550100"),  # full-width digits
        ("++1 415 555 0100", "US", "+14155550100"),
    ],
)
def test_people_write_numbers_many_ways(raw: str, region: str, e164: str) -> None:
    assert normalise(raw, region) == e164


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ("", "empty phone number"),
        ("   ", "empty phone number"),
        ("abc", "not a dialable phone number"),
        ("12", "not a valid number"),
        ("+1 415 555 010", "not a valid number"),  # too short for the US plan
        ("+999 123456", "unknown country code"),
        ("00 44 20 7946 0958", "not a valid number"),  # from the US that is 011, not 00
        ("+1 (055) 123-4567", "not a valid number"),  # no area code starts with 0 ...
        ("+1 155 123 4567", "not a valid number"),  # ... or 1
        ("+1 555 123 0000", "not a valid number"),  # nor is 555 an area code
        ("+44 7700 900123", "not a valid number"),  # Ofcom's range for drama
        ("415-555-0100 x12", "an extension cannot be dialled"),
        ("415-555-0100 ext. 12", "an extension cannot be dialled"),
        ("+1 900 234 5678", "premium-rate"),
        ("+44 7640 123456", "a pager number"),
        ("+49 177 99 1234567", "a voicemail access number"),
        ("1" * 300, "too long"),
    ],
)
def test_undialable(raw: str, why: str) -> None:
    with pytest.raises(InvalidNumber, match=why):
        normalise(raw, "US")


def test_premium_rate_only_when_allowed() -> None:
    assert normalise("+1 900 234 5678", "US", allow_premium=True) == "+19002345678"
    assert normalise("0901 234 5678", "GB", allow_premium=True) == "+449012345678"
    with pytest.raises(InvalidNumber, match="allow_premium"):
        normalise("0901 234 5678", "GB")


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+44 800 123 4567", "US", "+448001234567"),  # toll free
        ("056 1234 5678", "GB", "+445612345678"),  # VoIP
        ("+1 201 555 0123", "GB", "+12015550123"),  # fixed line or mobile (US)
    ],
)
def test_ordinary_kinds(raw: str, region: str, e164: str) -> None:
    assert normalise(raw, region) == e164


@pytest.mark.parametrize(
    ("raw", "region", "e164", "kind"),
    [
        ("0901 234 5678", "GB", "+449012345678", "a premium-rate number"),
        ("055 1234 5678", "GB", "+445512345678", "a UAN"),  # a company's single number
        ("0180 1 2345", "DE", "+4918012345", "a shared-cost number"),
        ("+44 70 1234 5678", "US", "+447012345678", "a personal"),  # UK 070: high cost
    ],
)
def test_costly_kinds_only_when_the_operator_allows_them(
    raw: str, region: str, e164: str, kind: str
) -> None:
    """Each costs the caller more than an ordinary call: refused, naming its type and the
    setting, unless `[contacts] allow_premium = true`."""
    with pytest.raises(InvalidNumber) as refused:
        normalise(raw, region)
    assert str(refused.value).startswith(kind)
    assert "[contacts] allow_premium = true" in str(refused.value)
    assert normalise(raw, region, allow_premium=True) == e164
    assert normalise(raw, region, any_type=True) == e164


@pytest.mark.parametrize(
    ("raw", "why", "e164"),
    [
        ("+44 7640 123456", "a pager number", "+447640123456"),
        ("+49 177 99 1234567", "a voicemail access number", "+49177991234567"),
    ],
)
def test_never_a_contact_but_a_do_not_call_list_takes_it(raw: str, why: str, e164: str) -> None:
    for allow in (False, True):
        with pytest.raises(InvalidNumber, match=why):
            normalise(raw, "US", allow_premium=allow)
    assert normalise(raw, "US", any_type=True) == e164


def test_any_type_still_needs_a_valid_number_without_extension() -> None:
    for raw in ("+1 155 123 4567", "415-555-0100 x12", "+999 123456", ""):
        with pytest.raises(InvalidNumber):
            normalise(raw, "US", any_type=True)


def test_text_around_the_number_and_letters_as_libphonenumber_reads_them() -> None:
    assert normalise("call 415 555 0100", "US") == "+14155550100"
    assert normalise("1-800-FLOWERS", "US") == "+18003569377"


def test_unknown_default_country() -> None:
    with pytest.raises(InvalidNumber, match="unknown default country 'XX'"):
        normalise("020 7946 0958", "XX")
    assert normalise("+44 20 7946 0958", "XX") == "+442079460958"  # not needed here


def test_regions() -> None:
    assert is_valid_region("GB") and is_valid_region("gb")
    assert not is_valid_region("XX") and not is_valid_region("001")
