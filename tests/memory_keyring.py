"""An in-memory keyring backend so tests never touch (or need) the machine's real keyring.

Select it with ``keyring.set_keyring(MemoryKeyring())``. It behaves like a real backend in the
one way that matters to ``SecretStore``: deleting a missing entry raises PasswordDeleteError.
"""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise PasswordDeleteError(f"{service}/{username} is not stored") from None
