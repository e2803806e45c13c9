"""Ids: key prefixes, length, alphabet and Salesforce's case-safe suffix."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_core.org.ids import KEY_PREFIXES, case_safe_suffix, is_valid_id, make_id, object_of, to_18

SALESFORCE_PREFIXES = {
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


def test_prefixes_match_the_spec() -> None:
    assert KEY_PREFIXES == SALESFORCE_PREFIXES


@pytest.mark.parametrize(
    ("id15", "suffix"),
    [
        # Worked by hand from the algorithm: bit i of each 5-character block is set when
        # character i is an upper-case letter; 0..31 maps to A..Z then 0..5.
        ("000000000000000", "AAA"),
        ("A0000000000000A", "BAQ"),  # 'A0000' -> bit 0 -> 'B'; '0000A' -> bit 4 -> 16 -> 'Q'
        ("ZZZZZZZZZZZZZZZ", "555"),
        ("a0000B0000c0000", "ABA"),
    ],
)
def test_case_safe_suffix_worked_examples(id15: str, suffix: str) -> None:
    assert case_safe_suffix(id15) == suffix


@given(st.text(min_size=15, max_size=15) | st.text(alphabet=st.characters(codec="ascii"), min_size=15, max_size=15))
def test_case_safe_suffix_follows_the_rule_for_any_text(id15: str) -> None:
    """Any 15 characters: each block's character is the sum of 2**i over its A-Z positions i."""
    rule = ""
    for block in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, char in enumerate(block) if "A" <= char <= "Z")
        rule += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    assert case_safe_suffix(id15) == rule


def test_known_salesforce_id() -> None:
    # A documented pair: the 15-character id 001D000000IqhSL is 001D000000IqhSLIAZ in 18 characters.
    assert to_18("001D000000IqhSL") == "001D000000IqhSLIAZ"


@given(st.sampled_from(sorted(KEY_PREFIXES)), st.integers(min_value=0, max_value=10_000_000))
def test_made_ids_are_valid(object_name: str, sequence: int) -> None:
    record_id = make_id(object_name, sequence)
    assert len(record_id) == 18
    assert record_id.startswith(KEY_PREFIXES[object_name])
    assert is_valid_id(record_id)
    assert object_of(record_id) == object_name
    assert to_18(record_id[:15]) == record_id


def test_ids_are_unique_per_sequence() -> None:
    ids = {make_id("Case", i) for i in range(50_000)}
    assert len(ids) == 50_000


def test_invalid_ids_rejected() -> None:
    good = make_id("Case", 7)
    assert not is_valid_id(good[:17])
    assert not is_valid_id(good[:15] + "ZZZ" if good[15:] != "ZZZ" else good[:15] + "AAA")
    assert not is_valid_id("500'; DROP TABLE")
    with pytest.raises(ValueError):
        to_18("nope")


@given(st.integers(min_value=0, max_value=10_000_000))
def test_an_account_and_its_contact_do_not_share_an_id_body(sequence: int) -> None:
    account, contact = make_id("Account", sequence), make_id("Contact", sequence)
    assert account[3:15] != contact[3:15]
