"""Reference codes: format, tolerance, and typo detection by the check symbol."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streetlink.errors import InvalidReferenceError
from streetlink.references import (
    ALPHABET,
    check_symbol,
    generate_reference,
    is_valid_reference,
    parse_reference,
)

CANONICAL = re.compile(rf"^ESX-[{ALPHABET}]{{4}}-[{ALPHABET}]{{2}}$")
SAMPLES = 500


def _symbols(reference: str) -> str:
    return reference.replace("ESX-", "").replace("-", "")


def _format(symbols: str) -> str:
    return f"ESX-{symbols[:4]}-{symbols[4:]}"


def _samples() -> list[str]:
    rng = random.Random(20241121)
    bodies = ["".join(rng.choice(ALPHABET) for _ in range(5)) for _ in range(SAMPLES)]
    return [_format(body + check_symbol(body)) for body in bodies]


def test_alphabet_is_unambiguous_and_prime_sized() -> None:
    assert not set("0O1ILU") & set(ALPHABET)
    assert len(set(ALPHABET)) == len(ALPHABET) == 29
    assert all(len(ALPHABET) % d for d in range(2, len(ALPHABET)))


def test_generated_references_are_canonical_valid_and_varied() -> None:
    references = [generate_reference() for _ in range(2000)]
    assert all(CANONICAL.match(r) for r in references)
    assert all(is_valid_reference(r) and parse_reference(r) == r for r in references)
    assert len(set(references)) > 1990


def test_every_single_symbol_substitution_is_detected() -> None:
    for reference in _samples():
        symbols = _symbols(reference)
        for position, original in enumerate(symbols):
            for replacement in ALPHABET.replace(original, ""):
                typo = symbols[:position] + replacement + symbols[position + 1 :]
                assert not is_valid_reference(_format(typo)), (reference, typo)


def test_every_adjacent_transposition_is_detected() -> None:
    checked = 0
    for reference in _samples():
        symbols = _symbols(reference)
        for i in range(len(symbols) - 1):
            if symbols[i] == symbols[i + 1]:
                continue
            swapped = symbols[:i] + symbols[i + 1] + symbols[i] + symbols[i + 2 :]
            assert not is_valid_reference(_format(swapped)), (reference, swapped)
            checked += 1
    assert checked > SAMPLES * 4


@pytest.mark.parametrize(
    "typed",
    [
        "ESX-7K2M-QR",
        "esx-7k2m-qr",
        "ESX7K2MQR",
        "esx 7k2m qr",
        " 7K2M-QR ",
        "7k2mqr",
        "ESX-7KZM-QR",
    ],
)
def test_parse_is_tolerant(typed: str) -> None:
    assert parse_reference(typed) == "ESX-7K2M-QR"


def test_u_is_read_as_v() -> None:
    body = "VVVVV"
    reference = _format(body + check_symbol(body))
    assert parse_reference(reference.replace("V", "u")) == reference


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "ESX-",
        "ESX-7K2M-Q",
        "ESX-7K2M-QRR",
        "ESX-7K0M-QR",
        "ESX-7K1M-QR",
        "ESX-7K2M-QP",
        "X" * 40,
    ],
)
def test_parse_rejects(typed: str) -> None:
    with pytest.raises(InvalidReferenceError):
        parse_reference(typed)
    assert not is_valid_reference(typed)


def test_body_starting_with_prefix_letters_is_not_mangled() -> None:
    body = "EXY23"
    reference = _format(body + check_symbol(body))
    assert parse_reference(reference.replace("-", "").removeprefix("ESX")) == reference


@given(st.text(alphabet=ALPHABET, min_size=5, max_size=5))
def test_check_symbol_completes_any_body(body: str) -> None:
    assert is_valid_reference(_format(body + check_symbol(body)))
