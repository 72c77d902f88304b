-- The store: each object as its JSON document (domain/codec.py), beside the
-- columns that are filtered and sorted. `seq` on a row is the sequence number
-- of the batch that last wrote it: the change feed reads by it.
CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;

CREATE TABLE customers(
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    seq INTEGER NOT NULL,
    doc BLOB NOT NULL
);
CREATE INDEX customers_seq ON customers(seq);

-- The identities of unmerged customers: who writes from this address.
CREATE TABLE identities(
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    customer_rid INTEGER NOT NULL,
    PRIMARY KEY(kind, value)
) WITHOUT ROWID;
CREATE INDEX identities_customer ON identities(customer_rid);

CREATE TABLE tasks(
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    number INTEGER NOT NULL UNIQUE,
    version INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    status TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_at REAL NOT NULL,
    doc BLOB NOT NULL
);
CREATE INDEX tasks_status ON tasks(status);
CREATE INDEX tasks_customer ON tasks(customer_id, created_at);
CREATE INDEX tasks_seq ON tasks(seq);

-- `text` is the searchable text of the event (search/records.py), read by
-- the word index; `inbound_key` is the external id of an inbound message or
-- call, unique per channel: a channel delivering the same one twice is
-- refused by the engine itself.
CREATE TABLE events(
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    task_rid INTEGER NOT NULL REFERENCES tasks(rid),
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    channel TEXT,
    external_id TEXT,
    inbound_key TEXT,
    text TEXT NOT NULL,
    doc BLOB NOT NULL
);
CREATE INDEX events_task ON events(task_rid, at, id);
CREATE UNIQUE INDEX events_inbound ON events(channel, inbound_key) WHERE inbound_key IS NOT NULL;
CREATE INDEX events_external ON events(channel, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX events_seq ON events(seq);

CREATE TABLE outbox(
    key TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    doc BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE plugin_state(
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY(namespace, key)
) WITHOUT ROWID;
