-- Agents' presence and focus changes (domain/activity.py), appended in the
-- batch that recorded them: what online, focus and engaged time are measured
-- from. Read by time.
CREATE TABLE activity(
    rid INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    at REAL NOT NULL,
    agent TEXT NOT NULL,
    doc BLOB NOT NULL
);
CREATE INDEX activity_at ON activity(at);
