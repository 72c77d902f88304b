"""The channel host: finds plugins, runs each configured channel under
supervision, gives it its context, serves its webhooks and drains the
outbox through it. It drives the desk (``agentdesk.core.desk``) and never
the other way round."""
