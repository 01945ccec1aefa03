"""Credentials (the Twilio auth token, the central store's key) live in the OS keyring.

They are never written to the settings files or the journal, which get copied around, printed
and attached to bug reports. Keyring failures are translated into ``ConfigError`` whose message
tells the desk administrator what to install or unlock, because that is who can fix it.
"""

from __future__ import annotations

import keyring
from keyring.errors import KeyringError, NoKeyringError, PasswordDeleteError

from app.errors import ConfigError

DEFAULT_SERVICE = "dispatch-desk"

_NO_KEYRING_HELP = (
    "No OS keyring is available to hold Dispatch Desk's credentials. "
    "On Windows and macOS the system keychain is used automatically; on Linux install and "
    "start a Secret Service provider (for example: apt-get install gnome-keyring, and log in "
    "to a desktop session that unlocks it), or configure another backend in keyringrc.cfg "
    "(see https://pypi.org/project/keyring)."
)


class SecretStore:
    """Named secrets for one service in the OS keyring (``keyring`` picks the backend).

    ``name`` is the keyring "username" slot, e.g. ``"twilio_auth_token"``.
    """

    def __init__(self, service: str = DEFAULT_SERVICE) -> None:
        if not service:
            raise ConfigError("The keyring service name must not be empty.", field="service")
        self.service = service

    def get(self, name: str) -> str | None:
        """The stored secret, or None if it was never set (not an error: callers decide)."""
        _check_name(name)
        try:
            return keyring.get_password(self.service, name)
        except KeyringError as exc:
            raise _config_error("read", self.service, name, exc) from exc

    def set(self, name: str, value: str) -> None:
        """Store or replace a secret. Empty values are refused: use ``delete`` to remove one."""
        _check_name(name)
        if not value:
            raise ConfigError(f"Refusing to store an empty secret for {name!r}.", field=name)
        try:
            keyring.set_password(self.service, name, value)
        except KeyringError as exc:
            raise _config_error("store", self.service, name, exc) from exc

    def delete(self, name: str) -> None:
        """Remove a secret. Deleting one that is not there is fine, so clean-up can be repeated."""
        _check_name(name)
        try:
            keyring.delete_password(self.service, name)
        except PasswordDeleteError:
            if self._exists(name):
                raise ConfigError(
                    f"The OS keyring would not delete {self.service}/{name}; "
                    "unlock the keyring and try again.",
                    field=name,
                ) from None
        except KeyringError as exc:
            raise _config_error("delete", self.service, name, exc) from exc

    def _exists(self, name: str) -> bool:
        try:
            return keyring.get_password(self.service, name) is not None
        except KeyringError:
            return True


def _check_name(name: str) -> None:
    if not name:
        raise ConfigError("A secret needs a name.", field="name")


def _config_error(verb: str, service: str, name: str, exc: KeyringError) -> ConfigError:
    if isinstance(exc, NoKeyringError):
        return ConfigError(f"Cannot {verb} {service}/{name}. {_NO_KEYRING_HELP}", field=name)
    return ConfigError(
        f"The OS keyring refused to {verb} {service}/{name}: {exc}. "
        "If it is locked, unlock it (log in to the desktop session or run the keyring's unlock "
        "tool) and try again.",
        field=name,
    )


#: A script's token (app/protocol/tokens.py) is kept under "token:NAME" for the scripts that
#: run on this machine (`dispatch-desk ... --token-name NAME`).
TOKEN_SECRET_PREFIX = "token:"


def token_secret_name(name: str) -> str:
    return TOKEN_SECRET_PREFIX + name.strip().lower()
