"""agentdesk's HTTP JSON enricher.

``http-json``: looks a customer up in an in-house back office with one GET to
a URL template (``https://crm.example/api/customers?email={email}``) and
reads the fields out of its JSON answer by dotted paths. Registered in the
``agentdesk.enrichers`` entry-point group. See docs/enrichers.md.
"""

from .enricher import HttpJsonEnricher

#: What the desk loads when it finds this package in a plugin folder.
ENRICHERS = [HttpJsonEnricher]

__all__ = ["ENRICHERS", "HttpJsonEnricher"]
