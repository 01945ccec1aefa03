import os
from collections.abc import Iterator
from typing import Any

import keyring
import pytest

from tests.memory_keyring import MemoryKeyring
from tests.twilio_standin import TwilioStandIn

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Windows the tests open sound their notices on ALSA's null device: heard by nobody, still
# played by the real player (tests/alerts check it plays).
os.environ.setdefault("DD_SOUND_DEVICE", "null")


@pytest.fixture(autouse=True)
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """Every test gets an empty in-memory keyring: none touches (or needs) the machine's.
    Child processes get a file keyring instead (tests/file_keyring.py)."""
    # monkeypatch restores whatever backend was selected before, so no test leaks its choice.
    monkeypatch.setattr(keyring.core, "_keyring_backend", None)
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend


@pytest.fixture(autouse=True)
def _quit_without_asking(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window closed at teardown with P1 cards open would ask "quit anyway?" and wait for
    a person; tests/ui/test_quit.py keeps the real question for itself."""
    from app.ui.quit_guard import QuitGuard

    monkeypatch.setattr(QuitGuard, "ask", classmethod(lambda _cls, _parent, _why: True))


@pytest.fixture
def twilio(clock: Any) -> Iterator[TwilioStandIn]:
    """The loopback stand-in for Twilio's REST API, on the area's own fake `clock` (each test
    folder defines its `clock`), answering as the desk's number."""
    with TwilioStandIn(clock=clock.now) as standin:
        yield standin


@pytest.fixture
def ladder_desk(tmp_path: Any, clock: Any, twilio: TwilioStandIn) -> Iterator[Any]:
    """A desk whose ladder pages through the stand-in (tests/escalation/harness.py)."""
    from tests.escalation.harness import build

    made = build(tmp_path / "journal.sqlite", clock, twilio.base_url, twilio.account_sid,
                 twilio.auth_token)
    yield made
    made.close()


@pytest.fixture
def webhook_store(tmp_path: Any, clock: Any, twilio: TwilioStandIn) -> Iterator[Any]:
    """The real store on a loopback port, taking the stand-in's signed webhooks."""
    from app.store.twilio_webhook import WebhookConfig
    from tests.sync.loopback import LoopbackStore

    running = LoopbackStore(tmp_path / "store.sqlite", clock,
                            twilio=WebhookConfig(twilio.auth_token))
    yield running
    running.stop()


@pytest.fixture
def webhook_engine(ladder_desk: Any, webhook_store: Any, clock: Any) -> Iterator[Any]:
    """The ladder desk enrolled with `webhook_store`, and its sync engine."""
    from app.sync.enroll import enroll_desk
    from tests.sync.conftest import open_engine

    enroll_desk(ladder_desk.journal, webhook_store.url, webhook_store.add_desk("front"),
                "front desk")
    made = open_engine(ladder_desk.journal, clock)
    yield made
    made.client.close()
