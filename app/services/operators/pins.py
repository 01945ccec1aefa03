"""PINs and passphrases: judged when set, stored only as Argon2id hashes (argon2-cffi).

The hash goes into the `operator.added` / `operator.pin_set` entry and so to every desk, which
is what lets a desk with no link sign people in. That also means a stolen journal can be
attacked offline: the hash is slow on purpose, and a PIN must be at least PIN_MIN characters
(a passphrase is better; README "Operators and rights").

Parameters: RFC 9106's second recommended option (argon2-cffi's default profile), t=3,
m=64 MiB, p=4. Each hash records its own parameters, so raising them later re-hashes nobody:
old hashes still verify, and `needs_rehash` says which to renew at the next PIN change.
`bench/operators.py` measures the verify time (target <= 0.3 s on a desk).
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.errors import ValidationError
from app.protocol.text import text_problem

PIN_MIN = 6
PIN_MAX = 128
TIME_COST = 3
MEMORY_KIB = 64 * 1024
PARALLELISM = 4


def check_pin(pin: str, login: str = "") -> str:
    """The PIN as given, or a ValidationError saying what a PIN must be."""
    if not isinstance(pin, str) or not PIN_MIN <= len(pin) <= PIN_MAX:
        raise ValidationError(f"PIN: use {PIN_MIN} to {PIN_MAX} characters (digits, or a "
                              "passphrase)", field="pin")
    if text_problem(pin):
        raise ValidationError("PIN: no control characters or line breaks", field="pin")
    if len(set(pin)) == 1 or pin in ("123456", "1234567", "12345678", "654321"):
        raise ValidationError("PIN: too easy to guess; pick another", field="pin")
    if login and pin.strip().lower() == login.strip().lower():
        raise ValidationError("PIN: must not be the login", field="pin")
    return pin


class PinHasher:
    """Hashes and checks PINs. Tests pass smaller costs: the hashes are real Argon2id."""

    def __init__(self, time_cost: int = TIME_COST, memory_kib: int = MEMORY_KIB,
                 parallelism: int = PARALLELISM) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib,
                                      parallelism=parallelism, type=Type.ID)

    def hash(self, pin: str, login: str = "") -> str:
        return self._hasher.hash(check_pin(pin, login))

    def verify(self, pin_hash: str, pin: str) -> bool:
        """Whether `pin` is the one hashed; False for a wrong PIN or an unreadable hash."""
        try:
            return bool(self._hasher.verify(pin_hash, pin))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, pin_hash: str) -> bool:
        try:
            return bool(self._hasher.check_needs_rehash(pin_hash))
        except InvalidHashError:
            return True
