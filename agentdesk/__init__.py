"""agentdesk: a keyboard-driven terminal workstation for customer-support agents."""

__version__ = "0.1.0"
