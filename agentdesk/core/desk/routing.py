"""The routing step of the pipeline: where a change may assign work.

It runs after a change is planned and before it is committed, in the same
transaction. The desk routes nothing yet: ``NoRouting`` passes every plan on
unchanged. A router is the place for skills, preferred agent and capacity.
"""

from __future__ import annotations

from typing import Protocol

from .context import Plan, PlanContext


class Router(Protocol):
    def route(self, ctx: PlanContext, plan: Plan) -> Plan:
        """The plan with the router's assignments added (or as it was)."""
        ...


class NoRouting:
    def route(self, ctx: PlanContext, plan: Plan) -> Plan:
        return plan
