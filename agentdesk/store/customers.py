"""``hot/customers.json``: customers, read on first use, decoded one by one.

The file starts with an ``index`` table (customer ids in document order, and
which customer owns each identity), then the customers. Reading it keeps each
customer's text; a customer is decoded when it is asked for. Customers
changed in memory are newer than the file, and memory answers first.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from agentdesk.domain import Customer, Identity, codec

from .batch_codec import cached_text
from .state import StoreState
from .tinyfile import read_tables


def _compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"))


def _ids_match(ids: list[str], texts: list[str]) -> bool:
    """Whether ``ids`` are still the ids of ``texts``, in order (not after an edit)."""
    return len(ids) == len(texts) and all(
        text.startswith(f'{{"id":"{doc_id}"') or text.startswith('{"id":' + json.dumps(doc_id))
        for doc_id, text in zip(ids, texts, strict=True)
    )


class CustomerFile:
    """The customers of a ``StoreState`` and the file they come from."""

    def __init__(self, path: Path, state: StoreState) -> None:
        self.path = path
        self.state = state
        self.text: dict[str, str] = {}  # the document text of customers in memory
        self.dirty = False
        # Customers on file not decoded yet (id -> text), and the file's index.
        self._raw: dict[str, str] | None = None
        self._index: dict = {}
        self._pending_index: dict | None = None

    def _read(self) -> dict[str, str]:
        if self._raw is None:
            raw: dict[str, str] = {}
            index: dict = {"ids": [], "identities": {}}
            if self.path.exists():
                tables = read_tables(self.path)
                texts = tables.get("customers", [])
                found = json.loads(tables["index"][0]) if tables.get("index") else {}
                if found and _ids_match(found["ids"], texts):
                    index = found
                    raw = dict(zip(found["ids"], texts, strict=True))
                else:  # edited by another tool: decode to rebuild the index
                    for text in texts:
                        customer = codec.customer_from_dict(json.loads(text))
                        raw[customer.id] = text
                        index["ids"].append(customer.id)
                        if customer.merged_into is None:
                            for identity in customer.identities:
                                index["identities"][str(identity)] = customer.id
            self._index = index
            self._raw = raw
        return self._raw

    def _decode(self, customer_id: str) -> None:
        text = self._read().pop(customer_id, None)
        if text is not None and customer_id not in self.state.customers:
            self.state.put_customer(codec.customer_from_dict(json.loads(text)))
            self.text[customer_id] = text

    def get(self, customer_id: str) -> Customer | None:
        customer = self.state.customers.get(customer_id)
        if customer is None:
            self._decode(customer_id)
            customer = self.state.customers.get(customer_id)
        return customer

    def by_identity(self, identity: Identity) -> Customer | None:
        customer = self.state.customer_by_identity(identity)
        if customer is not None:
            return customer
        self._read()
        owner = self._index["identities"].get(str(identity))
        if owner is None or owner in self.state.customers:
            return None  # memory holds that customer, and its identities
        self._decode(owner)
        return self.state.customer_by_identity(identity)

    def all(self) -> list[Customer]:
        for customer_id in list(self._read()):
            self._decode(customer_id)
        return list(self.state.customers.values())

    def count(self) -> int:
        known = self.state.customers
        return len(known) + sum(1 for c in self._read() if c not in known)

    def changed(self, customers: Iterable[Customer], texts: list[str] | None) -> None:
        """Customers were committed (with their texts when known)."""
        customers = list(customers)
        if not customers:
            return
        self.dirty = True
        if texts is None:
            for customer in customers:
                self.text.pop(customer.id, None)
        else:
            self.text.update(zip((c.id for c in customers), texts, strict=True))

    def tables(self) -> dict[str, Iterable[str]]:
        """The file's new content (call ``written`` once it is on disk)."""
        raw = self._read()
        known = self.state.customers
        kept = [c for c in raw if c not in known]
        kept_set = set(kept)
        identities = {
            identity: owner
            for identity, owner in self._index["identities"].items()
            if owner in kept_set
        }
        texts = [raw[c] for c in kept]
        for customer in known.values():
            texts.append(cached_text(self.text, customer))
            if customer.merged_into is None:
                for identity in customer.identities:
                    identities[str(identity)] = customer.id
        self._pending_index = {"ids": kept + list(known), "identities": identities}
        return {"index": [_compact(self._pending_index)], "customers": texts}

    def written(self) -> None:
        if self._pending_index is not None:
            self._index = self._pending_index
            self._pending_index = None
        self.dirty = False
