"""The store admin's side of operator accounts: `dispatch-desk server operator ...`.

The admin with the store's database is trusted like `server integration add`: the changes are
the store's own entries (desk `store-<store_id>`, operator "store admin"), judged by the same
`app.protocol.accounts.plan_*` checks a desk's admin meets, and pulled by every desk like an
entry written on a desk -- which is how sign-in works on a desk with no link: against the
accounts it last pulled. The PIN arrives already hashed (the command line hashes it), so the
store never holds one.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.models.entry import SCHEMA_VERSION, Entry, HybridClock, uuid7
from app.protocol import accounts as acc
from app.protocol.accounts import Account
from app.protocol.catalogue import OPERATORS_CARD, check_payload
from app.protocol.rights import RoleRights
from app.store.database import reading
from app.store.enrol import DeskRecord
from app.store.storage import Store

#: Who the store's account entries name as their author.
OPERATOR = "store admin"


class StoreOperators:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.author = DeskRecord(f"store-{store.position().store_id}"[:40], "central store", "")
        self.hlc = HybridClock(store.clock, self.author.desk_id)

    @property
    def table(self) -> RoleRights:
        return self.store.authoriser.table

    def accounts(self) -> dict[str, Account]:
        with reading(self.store.engine, self.store.url) as conn:
            return self.store.authoriser.begin(conn).accounts

    def _write(self, planned: acc.Planned) -> Account:
        kind, payload = planned
        now = self.store.clock.now()
        entry = Entry(uuid7(int(now.timestamp() * 1000)), OPERATORS_CARD, kind, payload,
                      self.hlc.tick(), self.author.desk_id, OPERATOR, SCHEMA_VERSION)
        check_payload(kind, entry.card_id, payload, entry.hlc)  # ValidationError naming it
        self.store.append_own([entry], self.author)
        return self.accounts()[str(payload["id"])]

    def add(self, *, login: str, name: str, roles: Sequence[str], pin_hash: str,
            id: str | None = None, note: str = "") -> Account:
        return self._write(acc.plan_add(self.accounts(), self.table, login=login, name=name,
                                        roles=roles, pin_hash=pin_hash, id=id, note=note))

    def set_roles(self, who: str, roles: Sequence[str], reason: str = "") -> Account:
        return self._write(acc.plan_roles(self.accounts(), self.table, who, roles, reason))

    def disable(self, who: str, reason: str = "") -> Account:
        return self._write(acc.plan_disable(self.accounts(), self.table, who, reason))

    def enable(self, who: str, reason: str = "") -> Account:
        return self._write(acc.plan_enable(self.accounts(), who, reason))

    def reset_pin(self, who: str, pin_hash: str, reason: str = "") -> Account:
        return self._write(acc.plan_pin(self.accounts(), who, pin_hash, reason))
