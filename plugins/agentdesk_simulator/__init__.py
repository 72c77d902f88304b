"""Simulated customers on every kind of channel, for demos and benchmarks.

Registered as the ``simulator`` channel plugin; see ``channel.py`` for the
options and plugins/README.md for a demo configuration.
"""

from .channel import SimulatorChannel

__all__ = ["SimulatorChannel"]
