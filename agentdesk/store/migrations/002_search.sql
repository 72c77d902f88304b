-- The search index (search/fts_writer.py), written in the store's own
-- transactions: it can never be ahead of or behind the data.
--
-- Each task has one document in `docs`: its subject, the texts of its
-- messages, notes and call summaries (events.text, in time order), its
-- customer's name and identities, and its facets (one token per filterable
-- value). The document's row id follows the task's last activity
-- (search/records.py: time_rowid), so "newest first" and date ranges are row
-- id order inside FTS5. `search_tasks` holds each document's head as indexed,
-- which is what removing it from the contentless `docs` takes.
CREATE TABLE search_customers(
    rid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    people TEXT NOT NULL,
    search TEXT NOT NULL
);
CREATE VIRTUAL TABLE customer_grams USING fts5(
    search, content='search_customers', content_rowid='rid', tokenize='trigram'
);
CREATE TABLE search_tasks(
    rid INTEGER PRIMARY KEY,
    doc INTEGER NOT NULL UNIQUE,
    customer_rid INTEGER NOT NULL,
    waiting_since REAL,
    subject TEXT NOT NULL,
    people TEXT NOT NULL,
    facets TEXT NOT NULL
);
CREATE INDEX search_tasks_customer ON search_tasks(customer_rid);
CREATE VIEW texts AS SELECT rid, task_rid, at, id, text FROM events WHERE text != '';
CREATE TABLE lexicon(term TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE VIRTUAL TABLE docs USING fts5(
    subject, body, people, facets, content='', tokenize='unicode61 remove_diacritics 2'
);
