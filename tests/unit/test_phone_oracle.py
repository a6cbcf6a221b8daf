"""gateway.domain.phone against libphonenumber (the phonenumbers package) as the oracle.

The oracle's answer for (text, region): phonenumbers.parse(text, region) in E.164 when it
parses, has no extension, is_valid_number() says valid and its type is one the README says
a contact may have (mobile, fixed-line, toll-free, VoIP; premium-rate, shared-cost,
personal and UAN numbers only when allowed; for a do-not-call list, any type); otherwise a
refusal. The types are written out here, not taken from the code under test."""

from __future__ import annotations

import hashlib
import inspect
import random

import phonenumbers
import phonenumbers.timezone
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType, phonenumberutil
from phonenumbers.timezone import time_zones_for_number

from gateway.domain import numberplan, phone
from gateway.domain.phone import InvalidNumber, classify, normalise
from gateway.domain.zones import usable, zones_for

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
ALL_TYPES = [t for t in PhoneNumberType.values() if t != PhoneNumberType.UNKNOWN]
T = PhoneNumberType
ORDINARY = {T.FIXED_LINE, T.MOBILE, T.FIXED_LINE_OR_MOBILE, T.TOLL_FREE, T.VOIP}
COSTLY = {T.PREMIUM_RATE, T.SHARED_COST, T.PERSONAL_NUMBER, T.UAN}
NEVER = {T.PAGER, T.VOICEMAIL}  # a contact never; a do-not-call list takes them
assert set(ALL_TYPES) == ORDINARY | COSTLY | NEVER  # a new type must be placed here


def oracle(
    text: str, region: str, allow_premium: bool = False, any_type: bool = False
) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if number.extension or not phonenumbers.is_valid_number(number):
        return None
    kind = phonenumbers.number_type(number)
    if kind in ORDINARY or (allow_premium and kind in COSTLY) or any_type:
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return None


def gateway(
    text: str, region: str, allow_premium: bool = False, any_type: bool = False
) -> str | None:
    try:
        return normalise(text, region, allow_premium=allow_premium, any_type=any_type)
    except InvalidNumber:
        return None


def corpus() -> list[tuple[str, str]]:
    """Issue 12's corpus: every region's example fixed-line, mobile and toll-free number,
    written five ways."""
    written = []
    for region in REGIONS:
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.TOLL_FREE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is None:
                continue
            written += [
                (phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL), region),
                (phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL), region),
                (phonenumbers.format_number(number, PhoneNumberFormat.E164), region),
                (phonenumbers.format_out_of_country_calling_number(number, "US"), "US"),
                (phonenumbers.format_out_of_country_calling_number(number, "DE"), "DE"),
            ]
    return written


def test_corpus_matches_libphonenumber() -> None:
    different, refused, accepted_invalid = [], [], []
    written = corpus()
    for text, region in written:
        number = phonenumbers.parse(text, region)
        valid = phonenumbers.is_valid_number(number)
        want = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        got = gateway(text, region)
        if got is None and valid:
            refused.append((text, region, want))
        elif got is not None and not valid:
            accepted_invalid.append((text, region, got))
        elif got is not None and got != want:
            different.append((text, region, got, want))
    assert len(written) > 3000  # 3,365 with phonenumbers 9.0
    assert different == []
    assert refused == []
    assert accepted_invalid == []


def example_numbers() -> list[tuple[str, phonenumbers.PhoneNumber]]:
    found = [(r, phonenumbers.example_number_for_type(r, t)) for r in REGIONS for t in ALL_TYPES]
    for code in phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS:
        found += [("001", phonenumbers.example_number_for_non_geo_entity(code))]
    return [(region, number) for region, number in found if number is not None]


def test_every_example_number_of_every_type_and_nongeographic_code() -> None:
    """Written in E.164 and nationally; costly types both refused and allowed, and any
    type as a do-not-call list takes it; and the type the compiled plans give is
    number_type()'s."""
    wrong = []
    for region, number in example_numbers():
        e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        cases = [(e164, "US"), (national, region if region != "001" else "US")]
        for text, home in cases:
            for allow, any_type in ((False, False), (True, False), (False, True)):
                if gateway(text, home, allow, any_type) != oracle(text, home, allow, any_type):
                    wrong.append((text, home, allow, any_type))
        nsn = phonenumbers.national_significant_number(number)
        found, kind = numberplan.calling_code(number.country_code).region_and_kind(nsn)
        assert found == phonenumbers.region_code_for_number(number), e164
        if phonenumbers.is_valid_number(number):
            plan = numberplan.for_region_or_calling_code(number.country_code, found)  # type: ignore[arg-type]
            assert plan is not None
            assert plan.number_type(nsn) == phonenumbers.number_type(number), e164
        else:
            assert kind == numberplan.UNKNOWN, e164
    assert wrong == []


# Text as people (and spreadsheets) write numbers: a prefix, digits, punctuation anywhere.
_PREFIXES = ["", "", "+", "+", "0", "00", "011", "8", "810", "1", "+0", "++", "(", "+ "]
_STYLES = [PhoneNumberFormat.E164, PhoneNumberFormat.INTERNATIONAL, PhoneNumberFormat.NATIONAL]
_PUNCTUATION = [" ", "-", ".", "(", ")", "/", "\u00a0", "x", "#", ";", ",", "~", "*", "[", "]"]


@st.composite
def written_numbers(draw: st.DrawFn) -> str:
    if draw(st.booleans()):  # an example number, written some way, perhaps mistyped
        _, number = draw(st.sampled_from(EXAMPLES))
        style = draw(st.sampled_from(_STYLES))
        text = phonenumbers.format_number(number, style)
        if draw(st.booleans()):
            text = phonenumbers.format_out_of_country_calling_number(
                number, draw(st.sampled_from(REGIONS))
            )
    else:
        text = draw(st.sampled_from(_PREFIXES)) + draw(st.text("0123456789", max_size=16))
    chars = list(text)
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(chars)))
        insert = draw(st.sampled_from([*"0123456789", *_PUNCTUATION, "ext", "A"]))
        if chars and draw(st.booleans()):
            chars[min(at, len(chars) - 1)] = insert
        else:
            chars.insert(at, insert)
    return "".join(chars)


EXAMPLES = example_numbers()


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=written_numbers(),
    region=st.sampled_from([*REGIONS, "US", "GB", "DE", "BY", "AR", "RU", "IT"]),
    allow_premium=st.booleans(),
    any_type=st.booleans(),
)
@example(text="8 0152 45-09-11", region="BY", allow_premium=False, any_type=False)
@example(text="011 15-2345-6789", region="AR", allow_premium=False, any_type=False)
@example(text="+0044 20 7946 0958", region="DE", allow_premium=False, any_type=False)
@example(text="+44 70 1234 5678", region="US", allow_premium=False, any_type=False)
def test_any_text_as_libphonenumber_reads_it(
    text: str, region: str, allow_premium: bool, any_type: bool
) -> None:
    want = oracle(text, region, allow_premium, any_type)
    assert gateway(text, region, allow_premium, any_type) == want


@pytest.mark.parametrize("region", ["US", "GB", "DE", "BY", "AR", "RU", "IN", "BR", "CN", "BS"])
@settings(max_examples=300, deadline=None)
@given(digits=st.text("0123456789", min_size=3, max_size=18), plus=st.booleans())
def test_random_digits_on_the_fast_path(region: str, digits: str, plus: bool) -> None:
    text = ("+" if plus else "") + digits
    assert gateway(text, region) == oracle(text, region)


def test_what_the_fast_path_relies_on() -> None:
    """The fast path transcribes phonenumbers' parse(); these are the facts about it that
    make skipping its other steps safe (checked, so an upgrade that changes them fails)."""
    assert phonenumberutil._MAX_INPUT_STRING_LENGTH == phone._MAX_INPUT
    assert phonenumberutil._MIN_LENGTH_FOR_NSN == phone._MIN_NSN
    assert phonenumberutil._MAX_LENGTH_FOR_NSN == phone._MAX_NSN
    assert phonenumberutil._MAX_LENGTH_COUNTRY_CODE == 3
    for char in phone._PUNCTUATION:
        assert char in phonenumberutil._VALID_PUNCTUATION
        assert phonenumberutil._UNWANTED_END_CHAR_PATTERN.fullmatch(char)
    # No text of digits and that punctuation holds an extension or a second number.
    sample = "1 2-3.4(5)6/7\u00a08" * 3
    assert not phonenumberutil._EXTN_PATTERN.search(sample)
    assert not phonenumberutil._SECOND_NUMBER_START_PATTERN.search(sample)
    assert not phonenumberutil._VALID_ALPHA_PHONE_PATTERN.fullmatch(sample)
    assert all(numberplan.for_region(r).exact for r in REGIONS)  # type: ignore[union-attr]


# Digests of the source of the phonenumbers functions that phone.py, numberplan.py and
# zones.py transcribe (or, for the steps the fast path skips, prove idle), as found in the
# versions against which this file's oracle tests passed: 8.13.0, 8.13.20, 8.13.55, 9.0.0,
# 9.0.20 and 9.0.43. The differences between them are cosmetic (re.compile → re_compile,
# RFC 3966 phone-context checks the fast path's text never holds).
_VERIFIED = {
    "phonenumberutil.parse": {"6e48c9961d11"},
    "phonenumberutil._check_region_for_parsing": {"f39eb174fddc"},
    "phonenumberutil._maybe_extract_country_code": {"57b28e3098d9"},
    "phonenumberutil._extract_country_code": {"c6e104d68e60"},
    "phonenumberutil._parse_prefix_as_idd": {"fe62f067f748"},
    "phonenumberutil._maybe_strip_i18n_prefix_and_normalize": {"b53e0190dd4d", "f812202d7780"},
    "phonenumberutil._maybe_strip_national_prefix_carrier_code": {"462428c53434", "bb2516fbd02f"},
    "phonenumberutil._test_number_length": {"0fae643cf4d3"},
    "phonenumberutil._number_type_helper": {"6dbc09bac296"},
    "phonenumberutil._is_number_matching_desc": {"67f60669b1e0"},
    "phonenumberutil._match_national_number": {"ad9bc2ab7ea4", "be997ae44a4b"},
    "phonenumberutil.number_type": {"fc1feb2deec7"},
    "phonenumberutil.is_valid_number": {"45d8cbd0ad21"},
    "phonenumberutil.is_valid_number_for_region": {"cbedb02b9bc0"},
    "phonenumberutil.region_code_for_number": {"3e3013961eb5"},
    "phonenumberutil._region_code_for_number_from_list": {"54b4a04a777f", "5e9c18e439c3"},
    "phonenumberutil._build_national_number_for_parsing": {"292839205342", "4fe268be2470"},
    "phonenumberutil._extract_possible_number": {"102c591aa7ba"},
    "phonenumberutil.national_significant_number": {"0c62dcf3bfa6"},
    "phonenumberutil.format_number": {"5c6f876da17c", "5ec03ebaf042", "69d6cd370f19"},
    "phonenumberutil.is_number_type_geographical": {"d6497df5db46"},
    "phonenumberutil._maybe_strip_extension": {"7a87aae1f355"},
    "phonenumberutil._is_viable_phone_number": {"2b4cb36ff0c4"},
    "phonenumberutil._set_italian_leading_zeros_for_phone_number": {"8315b5304136"},
    "phonenumberutil._normalize": {"7764d5985eaa"},
    "timezone.time_zones_for_number": {"df5c282d7fa2"},
    "timezone.time_zones_for_geographical_number": {"3bc9d4e6b4ec"},
    "timezone._country_level_time_zones_for_number": {"6ce8919d9443"},
}


def test_the_functions_the_fast_path_copies_are_ones_it_was_checked_against() -> None:
    """Fails loudly on a phonenumbers whose copied code changed, even where the oracle
    tests above happen to find no difference."""
    modules = {"phonenumberutil": phonenumberutil, "timezone": phonenumbers.timezone}
    changed = []
    for name, digests in _VERIFIED.items():
        module, function = name.split(".")
        source = inspect.getsource(getattr(modules[module], function))
        digest = hashlib.sha256(source.encode()).hexdigest()[:12]
        if digest not in digests:
            changed.append(f"{name} ({digest})")
    assert changed == [], (
        f"phonenumbers {phonenumbers.__version__} changed what gateway/domain/phone.py,"
        " numberplan.py or zones.py transcribe: compare the fast path with the new code, run"
        " these oracle tests, then add the digests: " + ", ".join(changed)
    )


def test_random_plus_one_numbers() -> None:
    """The issue's other measure: random +1 numbers, most of them invalid (area codes
    starting with 0 or 1, and the like): every one refused exactly when phonenumbers says."""
    rng = random.Random(12)
    texts = [f"+1{rng.randrange(10**10):010d}" for _ in range(2000)]
    invalid = [t for t in texts if oracle(t, "US") is None]
    assert len(invalid) > 1000
    assert [t for t in texts if gateway(t, "US") != oracle(t, "US")] == []


def zones_oracle(e164: str) -> tuple[str, ...]:
    return usable(time_zones_for_number(phonenumbers.parse(e164)))


def test_zones_of_every_example_number_as_libphonenumber_gives_them() -> None:
    """zones.zones_for, given what classify() read, against time_zones_for_number."""
    checked = 0
    for region, number in example_numbers():
        text = phonenumbers.format_number(number, PhoneNumberFormat.E164)
        try:
            reading = classify(text, region if region != "001" else "US", allow_premium=True)
        except InvalidNumber:
            continue
        assert zones_for(*reading) == zones_oracle(reading[0]), text
        checked += 1
    assert checked > 1200  # 1,345 with phonenumbers 9.0


@settings(max_examples=1000, deadline=None)
@given(text=written_numbers(), region=st.sampled_from(REGIONS))
def test_zones_of_any_accepted_number(text: str, region: str) -> None:
    try:
        reading = classify(text, region, allow_premium=True)
    except InvalidNumber:
        return
    assert zones_for(*reading) == zones_oracle(reading[0])
