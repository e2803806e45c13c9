"""Salesforce-style record ids: key prefix, 15-character body and 3-character case-safe suffix."""

from __future__ import annotations

import hashlib
import re
import secrets

KEY_PREFIXES: dict[str, str] = {
    "User": "005",
    "Account": "001",
    "Contact": "003",
    "Case": "500",
    "Knowledge__kav": "ka0",
    "Product2": "01t",
    "Pricebook2": "01s",
    "PricebookEntry": "01u",
    "Order": "801",
    "OrderItem": "802",
    "EmailMessage": "02s",
    "LiveChatTranscript": "570",
    "ProductCategory": "0ZG",
    "ProductCategoryProduct": "0ZH",
    "Issue__c": "a1M",
    "CaseHistory__c": "a0C",
}
OBJECT_BY_PREFIX: dict[str, str] = {prefix: name for name, prefix in KEY_PREFIXES.items()}

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_INSTANCE = "Hs0"  # pod and reserved characters, fixed for the simulated org
_BODY_LEN = 9
_SPACE = 62**_BODY_LEN
# A multiplier coprime with 62**9 scatters consecutive sequence numbers over the id space
# so that ids look like a real org's while staying a bijection of the sequence number.
_SCATTER = 3_404_825_447
_OFFSET = 8_167_322_911_137
# Each object starts at its own place in the id space, so that records with the same sequence
# number (an account and its contact) do not share an id body, as they never do in Salesforce.
OBJECT_OFFSETS: dict[str, int] = {
    name: (_OFFSET + int.from_bytes(hashlib.sha256(prefix.encode()).digest()[:8], "big")) % _SPACE
    for name, prefix in KEY_PREFIXES.items()
}
_ID_RE = re.compile(r"^[0-9A-Za-z]{15}([0-9A-Z]{3})?$")


_UPPERCASE_BITS = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "1" * 26 + "0" * 36)
_NOT_A_BIT = re.compile("[^01]")


def case_safe_suffix(id15: str) -> str:
    """Return the 3-character suffix Salesforce appends to a 15-character id.

    Each 5-character block gives one suffix character: bit i is set when the block's character i
    is an uppercase letter A-Z.
    """
    if len(id15) != 15:
        raise ValueError(f"expected a 15-character id, got {len(id15)} characters")
    bits = id15.translate(_UPPERCASE_BITS)
    if bits.strip("01"):  # a character that is not a letter or digit counts as lowercase
        bits = _NOT_A_BIT.sub("0", bits)
    return (
        _SUFFIX_CHARS[int(bits[4::-1], 2)] + _SUFFIX_CHARS[int(bits[9:4:-1], 2)] + _SUFFIX_CHARS[int(bits[14:9:-1], 2)]
    )


def make_id(object_name: str, sequence: int) -> str:
    """Return the 18-character id of the `sequence`-th record (0-based) of an object."""
    prefix = KEY_PREFIXES[object_name]
    number = (sequence * _SCATTER + OBJECT_OFFSETS[object_name]) % _SPACE
    body = []
    for _ in range(_BODY_LEN):
        number, digit = divmod(number, 62)
        body.append(_BASE62[digit])
    id15 = prefix + _INSTANCE + "".join(reversed(body))
    return id15 + case_safe_suffix(id15)


def is_valid_id(value: str) -> bool:
    """True when `value` is a well-formed 15- or 18-character id (suffix checked)."""
    if not _ID_RE.match(value):
        return False
    return len(value) == 15 or value[15:] == case_safe_suffix(value[:15])


def to_18(value: str) -> str:
    """Return the 18-character form of a 15- or 18-character id; raise ValueError otherwise."""
    if not is_valid_id(value):
        raise ValueError(f"invalid id: {value!r}")
    return value if len(value) == 18 else value + case_safe_suffix(value)


def object_of(value: str) -> str | None:
    """The object an id belongs to, from its key prefix, or None if the prefix is unknown."""
    return OBJECT_BY_PREFIX.get(value[:3])


def random_id(prefix: str) -> str:
    """A fresh random 18-character id with a 3-character key prefix (query locators, bulk jobs)."""
    body = prefix + "".join(secrets.choice(_BASE62) for _ in range(12))
    return body + case_safe_suffix(body)
