"""A plugin module that cannot be imported."""

import agentdesk_module_that_does_not_exist  # noqa: F401
