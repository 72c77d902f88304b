"""A channel that serves pages is not up while the desk's HTTP server cannot listen."""

from __future__ import annotations

import socket

from test_plugin_runtime import FAST, until

from agentdesk.core.config import ChannelConfig, Config, HttpConfig
from agentdesk.core.desk import Desk
from agentdesk.core.host.channel_runtime import ChannelRuntime
from agentdesk.plugin import HealthState
from agentdesk.store.memory import MemoryStore


async def test_busy_port_marks_the_web_channel_degraded_and_retries(tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    config = Config(
        source="test.toml",
        store=tmp_path / "store",
        http=HttpConfig(host="127.0.0.1", port=port),
        channels=[ChannelConfig("webchat", "site-chat", {}, 0)],
    )
    desk = Desk(MemoryStore())
    runtime = ChannelRuntime(desk, config, settings=FAST, data_root=tmp_path / "channels")
    await runtime.start()
    try:
        status = lambda: desk.channel("site-chat")  # noqa: E731
        await until(lambda: status().last_error is not None, "the bind error to show")
        assert status().state != HealthState.UP
        assert f"cannot listen on 127.0.0.1:{port}" in status().last_error
        holder.close()  # the port is free again: the next restart gets it
        await until(lambda: status().state == HealthState.UP, "the channel to come up")
        assert runtime.http.running
    finally:
        holder.close()
        await runtime.stop()
