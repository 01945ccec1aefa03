"""Delivering the outbound webhooks: a thread of its own that posts each subscription's card
events in journal order, signed, and moves the subscription's cursor only after a 2xx.

Never lost, at least once: the outbox is the journal after the cursor (app/models/
outbound.py), so a receiver that is down, a desk that is killed mid-delivery or a power cut
only means the event is sent again, with the same `Idempotency-Key` (the event's id), for the
receiver to de-duplicate. Retryable failures (no answer, a timeout, 408, 429, 5xx) back off
exponentially up to a cap and never give up; a permanent one (another 4xx, a redirect) holds
the subscription at that event, listed with the error by `webhook list`, until an admin says
`webhook retry` (or `--skip`). Every request has a connect and a read timeout, and the thread
never holds the journal's write lock while it waits, so the ladder and sync never wait on it.

`Webhooks` is what the command line (and later the window) does with subscriptions.
"""

from __future__ import annotations

import logging
import re
import secrets as tokens
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

import requests

from app import __version__
from app.adapters.secrets import SecretStore
from app.clock import Clock
from app.errors import ConfigError, DeskError, ValidationError
from app.models.entry import Entry
from app.models.journal import Journal
from app.models.outbound import OutboundLedger
from app.runtime.step_loop import StepLoop
from app.services import outbound as ob
from app.services.outbound import Delivery, Subscription, WebhookView

log = logging.getLogger(__name__)

USER_AGENT = f"dispatch-desk/{__version__} (webhook)"
#: Seconds to connect, and to wait for each read of the answer.
TIMEOUT_S = (5.0, 10.0)
#: How often an idle worker looks at the journal anyway (a nudge wakes it at once).
IDLE_S = 2.0
#: Events sent for one subscription before the next subscription gets its turn.
BATCH = 20
_ANSWER_BYTES = 300  # of the receiver's body, kept with an error


@dataclass(frozen=True)
class Answer:
    status: int | None          # None: no answer (refused, timed out, reset)
    error: str | None = None    # what went wrong, for people
    retry_after_s: float | None = None
    elapsed_ms: float = 0.0

    @property
    def outcome(self) -> str:
        return ob.outcome_of(self.status)


def _retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max((parsedate_to_datetime(value) - now).total_seconds(), 0.0)
    except (TypeError, ValueError):
        return None


class HttpPoster:
    """POSTs one body; every failure becomes an `Answer`, never an exception."""

    def __init__(self, timeout: tuple[float, float] = TIMEOUT_S) -> None:
        self.timeout = timeout
        self._session = requests.Session()

    def post(self, url: str, body: bytes, headers: Mapping[str, str], now: datetime) -> Answer:
        try:
            resp = self._session.post(url, data=body, headers=dict(headers),
                                      timeout=self.timeout, allow_redirects=False, stream=True)
        except requests.Timeout:
            return Answer(None, f"no answer within {self.timeout[0]:g}+{self.timeout[1]:g} s")
        except requests.ConnectionError as exc:
            return Answer(None, f"could not connect: {_short(exc)}")
        except requests.RequestException as exc:
            return Answer(None, f"request failed: {_short(exc)}")
        try:
            try:
                snippet = resp.raw.read(_ANSWER_BYTES, decode_content=True) or b""
            except (requests.RequestException, OSError, ValueError):
                snippet = b""
            elapsed = resp.elapsed.total_seconds() * 1000
            status = resp.status_code
            if 200 <= status < 300:
                return Answer(status, None, None, elapsed)
            words = f"{status} {resp.reason or ''}".strip()
            text = snippet.decode("utf-8", "replace").strip()
            if 300 <= status < 400:
                text = f"redirected to {resp.headers.get('Location', '?')}; give that address"
            return Answer(status, f"{words}: {text}" if text else words,
                          _retry_after(resp.headers.get("Retry-After"), now), elapsed)
        finally:
            resp.close()

    def close(self) -> None:
        self._session.close()


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    errno = re.search(r"\[Errno -?\d+\] [^'\")\]]+", text)  # urllib3 wraps it thrice
    return (errno.group(0) if errno else text)[:200]


class OutboundWorker(StepLoop):
    """Delivers this desk's subscriptions (those it added: it holds their secrets)."""

    def __init__(self, journal: Journal, secrets: SecretStore, clock: Clock, *,
                 poster: HttpPoster | None = None, idle_s: float = IDLE_S, batch: int = BATCH,
                 on_error: Callable[[str], None] | None = None) -> None:
        super().__init__("webhooks", idle_s,
                         on_error or (lambda text: log.warning("webhooks: %s", text)))
        self.journal, self.clock = journal, clock
        self.ledger = OutboundLedger(journal)
        self.poster = poster or HttpPoster()
        self.batch = batch
        self._secrets = secrets
        self._known: dict[str, str] = {}    # subscription id -> secret (keyring reads are slow)

    # -- one pass -------------------------------------------------------------------------

    def step(self) -> float | None:
        """Deliver what is due now; the seconds until something is due again (0: more is
        waiting at once), or None when nothing is scheduled."""
        waits: list[float] = []
        for sub in self._mine():
            wait = self._deliver(sub)
            if wait is not None:
                waits.append(wait)
        return min(waits) if waits else None

    def _mine(self) -> list[Subscription]:
        subs = ob.subscriptions(self.ledger.subscription_entries())
        return [s for s in subs if s.desk == self.journal.desk_id]

    def _secret(self, sub: Subscription) -> str | None:
        if sub.id not in self._known:
            found = self._secrets.get(sub.secret_name)
            if found is None:
                self._say_once(sub.id, f"{sub.name}: its secret is not in this desk's keyring; "
                               "nothing is sent (remove it and add it again)")
                return None
            self._known[sub.id] = found
        return self._known[sub.id]

    def _deliver(self, sub: Subscription) -> float | None:
        state = Delivery.from_json(self.ledger.delivery(sub.id), sub.since_seq)
        now = self.clock.now()
        if state.held is not None:
            return None
        if not state.due(now):
            return (datetime.fromisoformat(state.next_at or now.isoformat()) - now
                    ).total_seconds()
        secret = self._secret(sub)
        if secret is None:
            return None
        found, scanned = self.ledger.events_after(state.cursor, self.batch)
        start = state
        for seq, entry in found:
            event = ob.event_of(entry)
            if event is None or not sub.wants(event):
                state = state.moved_past(seq)
                continue
            answer = self.send(sub, secret, event, entry, state.attempt + 1)
            now = self.clock.now()
            if answer.outcome == ob.DELIVERED:
                state = state.succeeded(seq, now)
                self.ledger.record(sub.id, state.to_json())
                continue
            if answer.outcome == ob.RETRY:
                state = state.failed(now, answer.error or "no answer", answer.retry_after_s)
                self.ledger.record(sub.id, state.to_json())
                if state.attempt == 1:  # the first of a run of failures is said, not each
                    self._on_error(f"{sub.name}: {state.last_error}; retrying (webhook list)")
                wait = datetime.fromisoformat(state.next_at or now.isoformat()) - now
                return wait.total_seconds()
            state = state.refused(entry.id, answer.error or f"{answer.status}")
            self.ledger.record(sub.id, state.to_json())
            self._on_error(f"{sub.name}: {self.describe(entry)} refused for good "
                           f"({state.last_error}); held until `dispatch-desk webhook retry "
                           f"{sub.name}`")
            return None
        if len(found) == self.batch:
            if state != start:
                self.ledger.record(sub.id, state.to_json())
            return 0.0
        state = state.moved_past(scanned)
        if state.cursor != start.cursor:  # entries that were no events: look past them
            self.ledger.record(sub.id, state.to_json())
        return None

    def send(self, sub: Subscription, secret: str, event: str, entry: Entry,
             attempt: int) -> Answer:
        card = ob.state_at(self.ledger.card_entries(entry.card_id), entry)
        body = ob.body_of(ob.event_payload(event, entry, card))
        return self._post(sub, secret, event, entry.id, body, attempt)

    def _post(self, sub: Subscription, secret: str, event: str, event_id: str, body: bytes,
              attempt: int) -> Answer:
        now = self.clock.now()
        hdrs = ob.headers(secret, event, event_id, int(now.timestamp()), body, attempt,
                          USER_AGENT)
        return self.poster.post(sub.url, body, hdrs, now)

    def describe(self, entry: Entry) -> str:
        """An event in words: "B-0042 registered"."""
        try:
            number = str(self.journal.card(entry.card_id)["number"])
        except DeskError:
            number = entry.card_id[:8]
        return f"{number} {ob.event_of(entry) or entry.kind}"

    def stop(self, timeout_s: float = 2.0) -> None:
        """A delivery in flight is abandoned after `timeout_s` (its cursor has not moved, so
        it is sent again at the next start)."""
        self._join(timeout_s)
        self.ledger.close()
        self.poster.close()


# -- what an admin does with subscriptions ------------------------------------------------

class Webhooks:
    """Add, list, remove, test and release subscriptions; the worker's own send path."""

    def __init__(self, journal: Journal, secrets: SecretStore, clock: Clock,
                 poster: HttpPoster | None = None) -> None:
        self.journal, self.secrets, self.clock = journal, secrets, clock
        self.worker = OutboundWorker(journal, secrets, clock, poster=poster)
        self.ledger = self.worker.ledger

    def close(self) -> None:
        self.ledger.close()
        self.worker.poster.close()

    def _subs(self) -> list[Subscription]:
        return ob.subscriptions(self.ledger.subscription_entries())

    def add(self, url: str, events: str, name: str | None, operator: str,
            note: str | None = None) -> tuple[Subscription, str]:
        """A new subscription and its secret (shown once: only the keyring keeps it)."""
        subs = self._subs()
        taken = [s.name for s in subs]
        url = ob.check_url(url)
        chosen = ob.parse_events(events)
        name = ob.check_name(name if name is not None else ob.default_name(url, taken), taken)
        sub_id = str(uuid.uuid4())
        secret = tokens.token_urlsafe(32)
        slot = f"webhook:{sub_id}"
        self.secrets.set(slot, secret)  # first: without a keyring nothing is written
        try:
            self.journal.write([ob.subscribed_entry(sub_id, name, url, chosen, note)], operator)
        except BaseException:
            self.secrets.delete(slot)
            raise
        return ob.find(self._subs(), name), secret

    def remove(self, name: str, operator: str, reason: str | None = None) -> Subscription:
        sub = ob.find(self._subs(), name)
        self.journal.write([ob.removed_entry(sub, reason)], operator)
        if sub.desk == self.journal.desk_id:
            self.secrets.delete(sub.secret_name)
        return sub

    def _here(self, name: str) -> tuple[Subscription, str]:
        sub = ob.find(self._subs(), name)
        if sub.desk != self.journal.desk_id:
            raise ConfigError(f"webhook {name} is delivered by desk {sub.desk}, which holds "
                              "its secret; run this there", field="name")
        secret = self.secrets.get(sub.secret_name)
        if secret is None:
            raise ConfigError(f"webhook {name}: its secret is not in this desk's keyring; "
                              "remove it and add it again", field="name")
        return sub, secret

    def test(self, name: str) -> Answer:
        """Send one "test" event now (not from the outbox, not retried)."""
        sub, secret = self._here(name)
        event_id = str(uuid.uuid4())
        body = ob.body_of(ob.ping_payload(event_id, self.clock.now(), self.journal.desk_id))
        return self.worker._post(sub, secret, "test", event_id, body, 1)

    def retry(self, name: str, *, skip: bool = False) -> Delivery:
        """Try the held (or backing-off) event at once; `skip` passes over the held one."""
        sub, _ = self._here(name)
        state = Delivery.from_json(self.ledger.delivery(sub.id), sub.since_seq)
        if skip:
            head = self._head(sub, state)
            if state.held is None or head is None:
                raise ValidationError(f"--skip: webhook {name} holds no failed event",
                                      field="skip")
            state = state.released(skip_to=head[0])
        else:
            state = state.released()
        self.ledger.record(sub.id, state.to_json())
        return state

    def _pending(self, sub: Subscription, cursor: int) -> Iterator[tuple[int, Entry]]:
        """The events this subscription still has to deliver, in order (seq, entry)."""
        while True:
            found, scanned = self.ledger.events_after(cursor, 500)
            for seq, entry in found:
                event = ob.event_of(entry)
                if event is not None and sub.wants(event):
                    yield seq, entry
            if len(found) < 500:
                return
            cursor = scanned

    def _head(self, sub: Subscription, state: Delivery) -> tuple[int, Entry] | None:
        return next(self._pending(sub, state.cursor), None)

    def views(self) -> list[WebhookView]:
        out = []
        for sub in self._subs():
            state = Delivery.from_json(self.ledger.delivery(sub.id), sub.since_seq)
            here = sub.desk == self.journal.desk_id
            head = self._head(sub, state) if state.held else None
            out.append(WebhookView(
                sub, state, sum(1 for _ in self._pending(sub, state.cursor)), here,
                here and self.secrets.get(sub.secret_name) is not None,
                self.worker.describe(head[1]) if head else None))
        return out
