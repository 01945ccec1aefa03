"""Issue 12, "exactly one fact per event, on every desk": several desks share one Twilio
account (the stand-in) and one store (real, on loopback, taking Twilio's webhooks). Replies
arrive by webhook or only by polling, desks lose their link and restart; in the end every
desk holds the very same entries, byte for byte, and each reply is one fact (one
acknowledgement per acknowledging reply). A refusal by the store stays listed in `sync
status` until the store's copy replaces the desk's."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.clock import FakeClock
from app.models.entry import fact_id
from app.models.quarantine import REFUSED
from app.store.twilio_webhook import PATH, WebhookConfig
from app.sync.engine import SyncEngine
from app.sync.enroll import enroll_desk
from app.sync.status import with_journal_counts
from tests.escalation.conftest import T0
from tests.escalation.harness import ALICE, BOB, DESK_NUMBER, LadderDesk, build
from tests.sync.conftest import open_engine
from tests.sync.loopback import LoopbackStore
from tests.twilio_standin import TwilioStandIn

BODIES = ("{code} a", "{code} a 35", "1", "{code} e", "{code} d off sick", "9999 a",
          "on my way", "{code}")


@dataclass
class Site:
    """N desks, one store, one Twilio account, one fake clock."""

    root: Path
    clock: FakeClock
    twilio: TwilioStandIn
    store: LoopbackStore
    desks: list[LadderDesk] = field(default_factory=list)
    engines: list[SyncEngine] = field(default_factory=list)
    online: list[bool] = field(default_factory=list)
    replies: list[tuple[str, str]] = field(default_factory=list)  # (sid, body)

    def add_desk(self, n: int) -> None:
        path = self.root / f"desk{n}.sqlite"
        desk = build(path, self.clock, self.twilio.base_url, self.twilio.account_sid,
                     self.twilio.auth_token)
        enroll_desk(desk.journal, self.store.url, self.store.add_desk(f"d{n}"), f"desk {n}")
        self.desks.append(desk)
        self.engines.append(open_engine(desk.journal, self.clock))
        self.online.append(True)

    def restart(self, i: int) -> None:
        self.engines[i].client.close()
        path = self.desks[i].journal.path
        self.desks[i].close()
        self.desks[i] = build(path, self.clock, self.twilio.base_url, self.twilio.account_sid,
                              self.twilio.auth_token)
        self.engines[i] = open_engine(self.desks[i].journal, self.clock)

    def sync(self, i: int) -> None:
        if self.online[i]:
            self.engines[i].round(wait=0)

    def reply(self, who: str, body: str, webhook: bool) -> None:
        code = next((s.code for d in self.desks for st_ in d.service.states()
                     for s in st_.steps if s.code and s.who and who == _number(s.who)), "0000")
        text = body.format(code=code)
        sid, _ = self.twilio.receive_sms(who, text, webhook=self.store.url + PATH
                                         if webhook else None)
        self.replies.append((sid, text))

    def settle(self) -> None:
        """Links back, every desk polls and syncs until nothing moves."""
        self.online = [True] * len(self.desks)
        for _ in range(4):
            for i, desk in enumerate(self.desks):
                desk.service.poll({})
                desk.service.run_due({})
                self.sync(i)
        for i in range(len(self.desks)):
            self.sync(i)

    def close(self) -> None:
        for engine in self.engines:
            engine.client.close()
        for desk in self.desks:
            desk.close()


def _number(who: str) -> str:
    return {"Alice Primary": ALICE, "Bob Backup": BOB}.get(who, "")


def _content(desk: LadderDesk) -> set[tuple[Any, ...]]:
    return {(e.id, e.card_id, e.kind, e.payload_json(), e.hlc, e.desk_id, e.operator)
            for e in desk.journal.all_entries()}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    clock = FakeClock(T0)
    with TwilioStandIn(number=DESK_NUMBER, clock=clock.now) as twilio:
        store = LoopbackStore(tmp_path / "store.sqlite", clock,
                              twilio=WebhookConfig(twilio.auth_token))
        made = Site(tmp_path, clock, twilio, store)
        try:
            yield made
        finally:
            made.close()
            store.stop()


def _check(site: Site) -> None:
    site.settle()
    first = _content(site.desks[0])
    for desk in site.desks[1:]:
        assert _content(desk) == first
    for desk in site.desks:
        entries = list(desk.journal.all_entries())
        for sid, body in site.replies:
            facts = [e for e in entries if e.payload.get("sid") == sid
                     and e.kind in ("card.ack", "ladder.escalate", "ladder.declined",
                                    "ladder.reply")]
            assert len(facts) <= 1, (body, facts)
            assert len({e.id for e in entries if e.id == fact_id(f"inbound:{sid}")}) <= 1
        # Nothing left refused: every refused copy was replaced by the store's.
        assert [a for a in desk.journal.set_aside() if a.direction == REFUSED] == []


def test_two_desks_one_reply_by_webhook_and_by_poll_agree(site: Site) -> None:
    for n in range(3):
        site.add_desk(n)
    owner = site.desks[0]
    card_id = owner.register("P1")
    owner.service.run_due({})
    for i in range(3):
        site.sync(i)
    site.clock.advance(5)
    site.reply(ALICE, "{code} a 35", webhook=True)
    owner.service.poll({})  # before its pull: the owner writes its own copy too
    site.sync(0)  # refused (the store kept the webhook's), then replaced by the store's copy
    assert with_journal_counts(site.engines[0].status, owner.journal).refused_open == 0
    _check(site)
    acks = [e for e in owner.journal.entries(card_id) if e.kind == "card.ack"]
    assert len(acks) == 1 and acks[0].payload["eta_minutes"] == 35
    for desk in site.desks:
        card = desk.journal.card(card_id)
        assert (card["assignee"], card["status"]) == ("Alice Primary", "in_progress")


def test_a_refusal_stays_in_sync_status_until_the_stores_copy_replaces_it(site: Site) -> None:
    for n in range(2):
        site.add_desk(n)
    owner = site.desks[0]
    owner.register("P1")
    owner.service.run_due({})
    site.sync(0)
    site.clock.advance(5)
    site.reply(ALICE, "{code} a", webhook=True)
    owner.service.poll({})
    engine = site.engines[0]
    engine.push_outbox()  # the store has the webhook's copy: ours is refused
    status = with_journal_counts(engine.status, owner.journal)
    assert status.refused_open >= 1
    assert "refused by the store" in status.summary()
    engine.round(wait=0)  # the pull brings the store's copy: the refusal is dealt with
    assert with_journal_counts(engine.status, owner.journal).refused_open == 0


OPS = st.lists(st.one_of(
    st.tuples(st.just("reply"), st.sampled_from((ALICE, BOB)), st.sampled_from(BODIES),
              st.booleans()),
    st.tuples(st.just("poll"), st.integers(0, 2)),
    st.tuples(st.just("sync"), st.integers(0, 2)),
    st.tuples(st.just("run"), st.integers(0, 2)),
    st.tuples(st.just("offline"), st.integers(0, 2)),
    st.tuples(st.just("online"), st.integers(0, 2)),
    st.tuples(st.just("restart"), st.integers(0, 2)),
    st.tuples(st.just("wait"), st.integers(1, 45)),
), min_size=4, max_size=18)


@pytest.mark.slow
@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=OPS)
def test_n_desks_with_random_replies_outages_and_restarts_agree(tmp_path: Path,
                                                                ops: list[tuple]) -> None:
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    clock = FakeClock(T0)
    with TwilioStandIn(number=DESK_NUMBER, clock=clock.now) as twilio:
        store = LoopbackStore(root / "store.sqlite", clock,
                              twilio=WebhookConfig(twilio.auth_token))
        site = Site(root, clock, twilio, store)
        try:
            for n in range(3):
                site.add_desk(n)
            owner = site.desks[0]
            owner.register("P1")
            owner.service.run_due({})
            site.sync(0)
            for op in ops:
                _do(site, op)
            _check(site)
        finally:
            site.close()
            store.stop()


def _do(site: Site, op: tuple) -> None:
    kind = op[0]
    if kind == "reply":
        site.clock.advance(1)
        site.reply(op[1], op[2], webhook=op[3])
    elif kind == "poll":
        site.desks[op[1]].service.poll({})
    elif kind == "sync":
        site.sync(op[1])
    elif kind == "run":
        site.desks[op[1]].service.run_due({})
    elif kind == "offline":
        site.online[op[1]] = False
    elif kind == "online":
        site.online[op[1]] = True
    elif kind == "restart":
        site.restart(op[1])
    elif kind == "wait":
        site.clock.advance(op[1])
