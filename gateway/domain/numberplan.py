"""libphonenumber's numbering plans, compiled once per region, for phone.py.

Each method is a line-for-line transcription of the `phonenumbers.phonenumberutil` function
named in its docstring, for national numbers of ASCII digits (what phone.py's fast path
hands it). Same metadata, same regular expressions, same order of checks, so the same
answers; tests/unit/test_phone_oracle.py holds them to phonenumbers itself.

The one change is speed: `phonenumbers` tries a number against each type's pattern in turn
(premium rate, toll free, ..., fixed line, mobile), each after a length check. Here, per
region and per length of number, the patterns that admit that length are joined into one
expression, in the same order, a named group each: a regex alternation tries its branches
in order, so the first group to match in full is the first type phonenumbers would find.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberType

# phonenumberutil.ValidationResult, as _test_number_length returns them
IS_POSSIBLE: Final = 0
LOCAL_ONLY: Final = 1
INVALID_LENGTH: Final = 2
TOO_SHORT: Final = 3
TOO_LONG: Final = 4
UNKNOWN: Final = PhoneNumberType.UNKNOWN

# _number_type_helper's order. Fixed line and mobile come last, after the special types.
_SPECIAL_TYPES = (
    ("premium_rate", PhoneNumberType.PREMIUM_RATE),
    ("toll_free", PhoneNumberType.TOLL_FREE),
    ("shared_cost", PhoneNumberType.SHARED_COST),
    ("voip", PhoneNumberType.VOIP),
    ("personal_number", PhoneNumberType.PERSONAL_NUMBER),
    ("pager", PhoneNumberType.PAGER),
    ("uan", PhoneNumberType.UAN),
    ("voicemail", PhoneNumberType.VOICEMAIL),
)


def _pattern(desc) -> str | None:  # type: ignore[no-untyped-def]
    """_match_national_number's guard: no desc, or an empty pattern, matches nothing."""
    if desc is None or not desc.national_number_pattern:
        return None
    return desc.national_number_pattern


class Plan:
    """One region's (or non-geographic calling code's) metadata, compiled."""

    def __init__(self, meta: PhoneMetadata) -> None:
        self.country_code: int = meta.country_code
        self.cc = str(meta.country_code)
        self.idd = re.compile(meta.international_prefix) if meta.international_prefix else None
        npfp = meta.national_prefix_for_parsing
        self.national_prefix = re.compile(npfp) if npfp else None
        self.transform = meta.national_prefix_transform_rule or None
        # A prefix that is only digits, with nothing to transform, matches as startswith.
        self.literal_prefix = npfp if npfp and npfp.isdigit() and not self.transform else None
        # phonenumbers would index an empty tuple here (never so in its metadata): leave
        # such a region to phonenumbers itself rather than guess.
        self.exact = not (
            self.transform and self.national_prefix and not self.national_prefix.groups
        )
        general = meta.general_desc
        source = _pattern(general)
        self.general = re.compile(source) if source else None
        self._general_source = source
        self.lengths: tuple[int, ...] = tuple(general.possible_length)
        self.local_lengths = frozenset(general.possible_length_local_only)
        self.leading_digits = re.compile(meta.leading_digits) if meta.leading_digits else None
        self._types: list[tuple[str, PhoneNumberType, frozenset[int], str]] = []
        for attr, kind in _SPECIAL_TYPES:
            self._add(getattr(meta, attr), attr, kind)
        self._add(meta.fixed_line, "fixed_line", PhoneNumberType.FIXED_LINE)
        self._same_fixed_and_mobile = bool(meta.same_mobile_and_fixed_line_pattern)
        if not self._same_fixed_and_mobile:
            self._add(meta.mobile, "mobile", PhoneNumberType.MOBILE)
        mobile = _pattern(meta.mobile)
        self._mobile = re.compile(mobile) if mobile else None
        self._mobile_lengths = frozenset(meta.mobile.possible_length) if mobile else frozenset()
        self._by_length: dict[int, tuple[Callable[[str], re.Match[str] | None], list[int]]] = {}

    def _add(self, desc, attr: str, kind: PhoneNumberType) -> None:  # type: ignore[no-untyped-def]
        source = _pattern(desc)
        if source is not None:
            self._types.append((attr, kind, frozenset(desc.possible_length), source))

    def matches_general(self, number: str) -> bool:
        """_match_national_number(number, general_desc, False)."""
        return self.general is not None and self.general.fullmatch(number) is not None

    def strip_national_prefix(self, number: str) -> str:
        """_maybe_strip_national_prefix_carrier_code, without the carrier code."""
        literal = self.literal_prefix
        if literal is not None:
            if not number.startswith(literal):
                return number
            rest = number[len(literal) :]
            if self.matches_general(number) and not self.matches_general(rest):
                return number
            return rest
        prefix = self.national_prefix
        if not number or prefix is None:
            return number
        match = prefix.match(number)
        if not match:
            return number
        viable = self.matches_general(number)
        if not self.transform or match.groups()[-1] is None:
            rest = number[match.end() :]
            if viable and not self.matches_general(rest):
                return number
            return rest
        transformed = prefix.sub(self.transform, number, count=1)
        if viable and not self.matches_general(transformed):
            return number
        return transformed

    def test_length(self, number: str) -> int:
        """_test_number_length(number, metadata) for PhoneNumberType.UNKNOWN."""
        length = len(number)
        if length in self.local_lengths:
            return LOCAL_ONLY
        lengths = self.lengths
        if lengths[0] == length:
            return IS_POSSIBLE
        if lengths[0] > length:
            return TOO_SHORT
        if lengths[-1] < length:
            return TOO_LONG
        return IS_POSSIBLE if length in lengths[1:] else INVALID_LENGTH

    def kind(self, nsn: str) -> PhoneNumberType:
        """_number_type_helper, except that FIXED_LINE stands for FIXED_LINE_OR_MOBILE too
        (number_type() below tells them apart)."""
        entry = self._by_length.get(len(nsn)) or self._entry(len(nsn))
        match = entry[0](nsn)
        return UNKNOWN if match is None else entry[1][match.lastindex]  # type: ignore[index]

    def _entry(self, length: int) -> tuple[Callable[[str], re.Match[str] | None], list[int]]:
        entry = self._by_length[length] = self._compile(length)
        return entry

    def number_type(self, nsn: str) -> PhoneNumberType:
        """_number_type_helper exactly."""
        kind = self.kind(nsn)
        if kind == PhoneNumberType.FIXED_LINE and (
            self._same_fixed_and_mobile or self._is_mobile(nsn)
        ):
            return PhoneNumberType.FIXED_LINE_OR_MOBILE
        return kind

    def _is_mobile(self, nsn: str) -> bool:
        if self._mobile is None:
            return False
        if self._mobile_lengths and len(nsn) not in self._mobile_lengths:
            return False
        return self._mobile.fullmatch(nsn) is not None

    def _compile(self, length: int) -> tuple[Callable[[str], re.Match[str] | None], list[int]]:
        """_number_type_helper for numbers of one length, as one expression: the general
        pattern as a lookahead, then each type whose possible lengths admit `length`.
        Returns its fullmatch and the type of each group, by group number (the named
        group of a branch is the last to close, whatever groups a pattern has inside)."""
        if self._general_source is None or (self.lengths and length not in self.lengths):
            return _no_match, []
        branches, kinds = [], {}
        for index, (_, kind, lengths, source) in enumerate(self._types):
            if lengths and length not in lengths:
                continue
            name = f"t{index}"
            branches.append(f"(?P<{name}>{source})")
            kinds[name] = kind
        if not branches:
            return _no_match, []
        regex = re.compile(f"(?=(?:{self._general_source})\\Z)(?:{'|'.join(branches)})")
        by_group = [UNKNOWN] * (regex.groups + 1)
        for name, kind in kinds.items():
            by_group[regex.groupindex[name]] = kind
        return regex.fullmatch, by_group


def _no_match(nsn: str) -> None:
    return None


_REGION_PLANS: dict[str, Plan | None] = {}
_NONGEO_PLANS: dict[int, Plan | None] = {}


def for_region(region: str) -> Plan | None:
    """PhoneMetadata.metadata_for_region(region), compiled; None for an unknown region."""
    plan = _REGION_PLANS.get(region, False)
    if plan is False:
        meta = PhoneMetadata.metadata_for_region(region, None)
        plan = _REGION_PLANS[region] = Plan(meta) if meta is not None else None
    return plan  # type: ignore[return-value]


def for_nongeo(country_code: int) -> Plan | None:
    plan = _NONGEO_PLANS.get(country_code, False)
    if plan is False:
        meta = PhoneMetadata.metadata_for_nongeo_region(country_code, None)
        plan = _NONGEO_PLANS[country_code] = Plan(meta) if meta is not None else None
    return plan  # type: ignore[return-value]


def for_region_or_calling_code(country_code: int, region: str) -> Plan | None:
    """PhoneMetadata.metadata_for_region_or_calling_code."""
    return for_nongeo(country_code) if region == "001" else for_region(region)


class CallingCode:
    """A country calling code: the plan parse() reads its numbers with, and
    region_code_for_number's search for the region whose plan then validates them.
    Cheap to make: the plans are looked up at the first use of an attribute that needs them."""

    plan: Plan
    _regions: list[tuple[str, Plan]]
    _first: Plan | None
    _single: bool

    def __init__(self, country_code: int) -> None:
        self.country_code = country_code
        self.text = str(country_code)

    def __getattr__(self, name: str) -> object:  # only for attributes not yet set
        if name not in ("plan", "_regions", "_first", "_single"):
            raise AttributeError(name)
        regions = COUNTRY_CODE_TO_REGION_CODE[self.country_code]
        plan = for_region_or_calling_code(self.country_code, regions[0])
        assert plan is not None  # the calling code is in phonenumbers' own table
        self._regions = []
        for region in regions:
            found = for_region_or_calling_code(self.country_code, region)
            if found is not None:
                self._regions.append((region, found))
        # One region, or a first region with no leading digits (US for +1, GB for +44):
        # a number valid in its plan is that region's, whatever the others say.
        first = self._regions[0][1]
        self._first = first if first.leading_digits is None else None
        self._single = len(regions) == 1
        self.plan = plan
        return getattr(self, name)

    def kind(self, nsn: str) -> PhoneNumberType:
        """number_type(), UNKNOWN when not is_valid_number(), FIXED_LINE standing for
        FIXED_LINE_OR_MOBILE too (see Plan.kind)."""
        first = self._first
        if first is not None:  # Plan.kind, inlined: this is most numbers of an upload
            entry = first._by_length.get(len(nsn)) or first._entry(len(nsn))
            match = entry[0](nsn)
            if match is not None:
                return entry[1][match.lastindex]  # type: ignore[index]
            if self._single:
                return UNKNOWN
        elif self._single:
            return self._regions[0][1].kind(nsn)
        return self.region_and_kind(nsn, 1 if first is not None else 0)[1]

    def region_and_kind(self, nsn: str, start: int = 0) -> tuple[str | None, PhoneNumberType]:
        """region_code_for_number, and the number's kind in that region's plan (from the
        `start`th region on, when the ones before are known not to be it)."""
        if self._single:
            if not self._regions:
                return None, UNKNOWN
            region, plan = self._regions[0]
            return region, plan.kind(nsn)
        for region, plan in self._regions[start:]:
            if plan.leading_digits is not None:
                if plan.leading_digits.match(nsn):
                    return region, plan.kind(nsn)
            else:
                kind = plan.kind(nsn)
                if kind != UNKNOWN:
                    return region, kind
        return None, UNKNOWN


BY_PREFIX = {str(code): CallingCode(code) for code in COUNTRY_CODE_TO_REGION_CODE}


def calling_code(country_code: int) -> CallingCode:
    return BY_PREFIX[str(country_code)]
