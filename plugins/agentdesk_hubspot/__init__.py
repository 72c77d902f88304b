"""agentdesk's HubSpot enricher.

``hubspot``: looks a customer up in HubSpot's CRM by email or phone through a
private app's token, and gives the customer pane their company, plan,
lifetime value, open deals, owner and a link to the contact. Registered in the
``agentdesk.enrichers`` entry-point group. See docs/enrichers.md.
"""

from .enricher import HubSpotEnricher

#: What the desk loads when it finds this package in a plugin folder.
ENRICHERS = [HubSpotEnricher]

__all__ = ["ENRICHERS", "HubSpotEnricher"]
