"""SecretStore against an in-memory keyring, and against keyring's always-failing backend."""

from __future__ import annotations

import keyring
import keyring.core
import pytest
from keyring.backends import fail
from keyring.errors import KeyringLocked

from app.adapters.secrets import SecretStore
from app.errors import ConfigError
from tests.memory_keyring import MemoryKeyring


@pytest.fixture
def memory(memory_keyring: MemoryKeyring) -> MemoryKeyring:
    return memory_keyring


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    keyring.set_keyring(fail.Keyring())


def test_set_get_delete_round_trip(memory: MemoryKeyring) -> None:
    store = SecretStore()
    assert store.get("twilio_auth_token") is None

    store.set("twilio_auth_token", "s3cret")
    assert store.get("twilio_auth_token") == "s3cret"
    assert memory.entries == {("dispatch-desk", "twilio_auth_token"): "s3cret"}

    store.delete("twilio_auth_token")
    assert store.get("twilio_auth_token") is None


def test_services_are_kept_apart(memory: MemoryKeyring) -> None:
    SecretStore("dispatch-desk").set("token", "a")
    SecretStore("dispatch-desk-training").set("token", "b")
    assert SecretStore().get("token") == "a"
    assert SecretStore("dispatch-desk-training").get("token") == "b"


def test_set_replaces_and_delete_is_idempotent(memory: MemoryKeyring) -> None:
    store = SecretStore()
    store.set("token", "old")
    store.set("token", "new")
    assert store.get("token") == "new"
    store.delete("token")
    store.delete("token")  # already gone: not an error
    assert store.get("token") is None


@pytest.mark.parametrize(("name", "value"), [("", "x"), ("token", "")])
def test_empty_names_and_values_are_refused(memory: MemoryKeyring, name: str, value: str) -> None:
    with pytest.raises(ConfigError):
        SecretStore().set(name, value)
    assert memory.entries == {}


@pytest.mark.parametrize("operation", ["get", "set", "delete"])
def test_missing_keyring_is_a_config_error_saying_what_to_install(no_keyring, operation) -> None:
    store = SecretStore()
    with pytest.raises(ConfigError) as caught:
        if operation == "set":
            store.set("twilio_auth_token", "s3cret")
        else:
            getattr(store, operation)("twilio_auth_token")
    message = str(caught.value)
    assert "No OS keyring" in message
    assert "gnome-keyring" in message
    assert caught.value.field == "twilio_auth_token"
    assert isinstance(caught.value.__cause__, keyring.errors.NoKeyringError)


def test_a_locked_keyring_is_a_config_error_saying_to_unlock(memory, monkeypatch) -> None:
    def locked(*args: object) -> None:
        raise KeyringLocked("collection is locked")

    monkeypatch.setattr(memory, "get_password", locked)
    with pytest.raises(ConfigError, match="unlock"):
        SecretStore().get("twilio_auth_token")
