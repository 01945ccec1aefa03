"""Enrolling a desk with the central store: trade the admin's one-time code for a credential.

The desk brings the id its journal already uses (its entries carry it, and the store accepts
only entries whose author is the caller). The secret goes to the OS keyring, the store's
address to the journal meta; neither goes to the settings file, which gets copied around.
"""

from __future__ import annotations

import logging
import random

import requests

from app.adapters.secrets import SecretStore
from app.clock import Clock
from app.errors import SyncError, ValidationError
from app.models.journal import Journal
from app.sync.client import StoreClient, check_store_url, secret_name
from app.sync.engine import SyncEngine
from app.sync.protocol import Enrollment
from app.sync.status import CURSOR_KEY, STORE_URL_KEY

log = logging.getLogger(__name__)
STORE_ID_KEY = "sync.store_id"


def enroll_desk(
    journal: Journal,
    url: str,
    code: str,
    name: str | None,
    *,
    secrets: SecretStore | None = None,
    session: requests.Session | None = None,
) -> Enrollment:
    """Enrol this desk; afterwards `sync now` and the window's sync worker can run."""
    base = check_store_url(url)
    if not code or not code.strip() or len(code) > 40:
        raise ValidationError(
            "code: give the one-time code the store's admin printed", field="code"
        )
    if name is not None and (not name.strip() or len(name.strip()) > 120):
        raise ValidationError("name: give the desk a name of 1 to 120 characters", field="name")
    store = secrets or SecretStore()
    # Ask the keyring before spending the one-time code: a desk with no keyring must learn
    # that first, not after the code is used up.
    store.get(secret_name(journal.desk_id))
    client = StoreClient(base, session=session)
    try:
        result = client.enroll(code.strip(), journal.desk_code,
                               name.strip() if name else None, journal.desk_id)
    finally:
        client.close()
    if result.desk_id != journal.desk_id:
        raise SyncError(
            f"the store enrolled this desk as {result.desk_id}, but its journal is "
            f"{journal.desk_id}; ask the admin to revoke it and enrol again"
        )
    store.set(secret_name(result.desk_id), result.secret)
    journal.set_meta(STORE_URL_KEY, base)
    if journal.get_meta(STORE_ID_KEY) not in (None, result.store_id):
        # Another store than before: start its sequence from the beginning.
        journal.requeue_own(CURSOR_KEY)
    journal.set_meta(STORE_ID_KEY, result.store_id)
    log.info("enrolled desk %s with store %s at %s", result.desk_id, result.store_id, base)
    return result


def store_url(journal: Journal, configured: str = "") -> str:
    """The store to sync with: the setting if given, else the one the desk enrolled with."""
    url = configured or journal.get_meta(STORE_URL_KEY) or ""
    if not url:
        raise SyncError("no central store configured; run `dispatch-desk enroll URL CODE` first")
    return check_store_url(url)


def open_sync(
    journal: Journal, clock: Clock, configured_url: str = "", secrets: SecretStore | None = None
) -> SyncEngine:
    """The sync engine for this journal, its credential from the keyring (the window's worker
    and `sync now` both start here); SyncError if the desk is not enrolled."""
    client = StoreClient.from_keyring(store_url(journal, configured_url), journal.desk_id, secrets,
                                      clock)
    return SyncEngine(journal, client, clock, random.Random())


def enrolled(journal: Journal, secrets: SecretStore | None = None) -> bool:
    return bool((secrets or SecretStore()).get(secret_name(journal.desk_id)))
