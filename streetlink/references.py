"""Human-friendly referral references such as ``ESX-7K2M-QP``.

Five random symbols and one check symbol from a 29-symbol alphabet with no
``0 O 1 I L U`` (and no ``Z``, easily read as ``2``). The check symbol makes the
weighted sum ``sum((i + 1) * value_i) mod 29`` of all six symbols zero. As 29 is
prime and neighbouring weights differ by one, every single-symbol substitution
and every swap of two adjacent, different symbols is detected.

29**5 is about 20.5 million codes: the store must keep them unique and draw a
new one on a collision; references are not secrets and must not be the only
thing guarding a referral's details.

>>> ref = generate_reference()
>>> len(ref), ref.startswith("ESX-"), is_valid_reference(ref)
(11, True, True)
>>> check_symbol("7K2MQ")
'R'
>>> is_valid_reference("ESX-7K2M-QR")
True
>>> is_valid_reference("ESX-7K2M-QP")  # one symbol wrong
False
>>> is_valid_reference("ESX-K72M-QR")  # two neighbours swapped
False
>>> parse_reference(" esx 7k2mqr ")
'ESX-7K2M-QR'
>>> parse_reference("7K2M-QR")
'ESX-7K2M-QR'
>>> parse_reference("ESX-7K2M-Q7")
Traceback (most recent call last):
...
streetlink.errors.InvalidReferenceError: reference check character does not match
"""

from __future__ import annotations

import secrets

from streetlink.errors import InvalidReferenceError

__all__ = [
    "ALPHABET",
    "PREFIX",
    "check_symbol",
    "generate_reference",
    "is_valid_reference",
    "parse_reference",
]

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXY"
PREFIX = "ESX"
_BODY_LENGTH = 5
_VALUES = {symbol: value for value, symbol in enumerate(ALPHABET)}
_LOOKALIKES = str.maketrans({"Z": "2", "U": "V"})
_SEPARATORS = str.maketrans("", "", "- _.\t")


def _weighted_sum(symbols: str) -> int:
    return sum((i + 1) * _VALUES[symbol] for i, symbol in enumerate(symbols)) % len(ALPHABET)


def check_symbol(body: str) -> str:
    """The symbol that completes ``body`` (five alphabet symbols) to a valid code."""
    weight = len(body) + 1
    needed = -_weighted_sum(body) * pow(weight, -1, len(ALPHABET)) % len(ALPHABET)
    return ALPHABET[needed]


def _format(symbols: str) -> str:
    return f"{PREFIX}-{symbols[:4]}-{symbols[4:]}"


def generate_reference() -> str:
    """A fresh random reference, e.g. ``ESX-7K2M-QR``."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(_BODY_LENGTH))
    return _format(body + check_symbol(body))


def _symbols(text: str) -> str:
    compact = text.upper().translate(_SEPARATORS)
    if len(compact) == len(PREFIX) + _BODY_LENGTH + 1 and compact.startswith(PREFIX):
        compact = compact[len(PREFIX) :]
    return compact.translate(_LOOKALIKES)


def parse_reference(text: str) -> str:
    """The canonical ``ESX-XXXX-XX`` form of a typed reference, or :class:`InvalidReferenceError`.

    Lower case, spaces, missing hyphens and a missing ``ESX`` prefix are fine;
    ``Z`` is read as ``2`` and ``U`` as ``V``.
    """
    symbols = _symbols(text)
    if len(symbols) != _BODY_LENGTH + 1 or any(s not in _VALUES for s in symbols):
        raise InvalidReferenceError("not a reference: expected ESX- and six letters or digits")
    if _weighted_sum(symbols) != 0:
        raise InvalidReferenceError("reference check character does not match")
    return _format(symbols)


def is_valid_reference(text: str) -> bool:
    """True when :func:`parse_reference` accepts ``text`` (so it is as tolerant).

    For the canonical form only, compare ``parse_reference(text) == text``.
    """
    try:
        parse_reference(text)
    except InvalidReferenceError:
        return False
    return True
