"""Reading and checking ``config.toml``.

Every message names the file, the key and what was expected, for example
``config.toml: channels[2].poll_seconds: expected a number, got 'ten'``.
Strings may refer to environment variables as ``${NAME}`` (for secrets); a
missing variable is an error, and the value itself is never shown.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from agentdesk.domain import Priority
from agentdesk.metrics.calendar import ALWAYS, BusinessCalendar
from agentdesk.metrics.sla import SlaPolicy

from .business_hours_config import parse_business_hours
from .enrichment_config import EnricherConfig, EnrichmentConfig, parse_enrichers, parse_enrichment
from .routing_config import RoutingConfig, parse_routing
from .sla_config import parse_sla
from .survey_config import SurveyConfig, parse_surveys


class ConfigError(Exception):
    """The configuration cannot be used; the message says where and why."""


@dataclass(frozen=True, slots=True)
class ChannelConfig:
    plugin: str
    name: str
    #: The table's other keys: the plugin's options, ${VARS} substituted.
    options: dict[str, Any]
    index: int
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class HttpConfig:
    host: str = "127.0.0.1"
    port: int = 8765
    public_url: str | None = None


@dataclass(frozen=True, slots=True)
class HubConfig:
    """Team mode: where the console's hub is, and the hub's own certificate."""

    #: The hub a console connects to (``ws://`` or ``wss://``); None: embedded desk.
    url: str | None = None
    #: The agent's token (``"${AGENTDESK_TOKEN}"`` keeps it out of the file).
    token: str | None = None
    #: A CA bundle the console trusts for a hub with its own certificate.
    cafile: Path | None = None
    #: ``agentdesk serve``: certificate and key to serve ``wss://``.
    certfile: Path | None = None
    keyfile: Path | None = None
    #: Minutes without a key before the console says its agent is away (0: never).
    away_after_minutes: float = 10.0
    #: Why ``token`` is missing (an unset variable): said when a console needs it,
    #: so commands that do not connect to the hub still run.
    token_problem: str | None = None


@dataclass(frozen=True, slots=True)
class SupervisionConfig:
    restart_base_seconds: float = 1.0
    restart_cap_seconds: float = 60.0
    send_timeout_seconds: float = 30.0
    inbound_queue_size: int = 1000


@dataclass(frozen=True, slots=True)
class Config:
    source: str = "defaults"
    agent: str = "agent"
    team: str | None = None
    store: Path = field(default_factory=lambda: default_store_path())
    #: The console's own documents (drafts, preferences, recent searches).
    state: Path = field(default_factory=lambda: default_state_dir())
    theme: str = "agentdesk-dark"
    reopen_window_days: float = 7.0
    default_priority: Priority = Priority.NORMAL
    plugin_paths: list[Path] = field(default_factory=list)
    http: HttpConfig = field(default_factory=HttpConfig)
    hub: HubConfig = field(default_factory=HubConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    #: When the desk is open: what business-hours figures count (24/7 by default).
    business_hours: BusinessCalendar = ALWAYS
    #: Service-level targets per channel kind and priority (none by default).
    sla: SlaPolicy = field(default_factory=SlaPolicy)
    surveys: SurveyConfig = field(default_factory=SurveyConfig)
    supervision: SupervisionConfig = field(default_factory=SupervisionConfig)
    keymap: dict[str, str] = field(default_factory=dict)
    canned: dict[str, str] = field(default_factory=dict)
    agents: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)
    channels: list[ChannelConfig] = field(default_factory=list)
    #: CRM look-ups: the enrichers, and how long and how far ahead they are asked.
    enrichers: list[EnricherConfig] = field(default_factory=list)
    enrichment: EnrichmentConfig = field(default_factory=EnrichmentConfig)


def default_config_path() -> Path:
    return Path(platformdirs.user_config_dir("agentdesk")) / "config.toml"


def default_store_path() -> Path:
    return Path(platformdirs.user_data_dir("agentdesk")) / "store"


def default_state_dir() -> Path:
    return Path(platformdirs.user_state_dir("agentdesk"))


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Reader:
    """Walks the parsed TOML, converting values and naming keys in errors."""

    def __init__(self, source: str, env: dict[str, str]) -> None:
        self.source = source
        self.env = env

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {key}: {message}")

    def expand(self, key: str, value: Any) -> Any:
        if isinstance(value, str):

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if name not in self.env:
                    raise self.fail(key, f"environment variable {name} is not set")
                return self.env[name]

            return _ENV_REF.sub(substitute, value)
        if isinstance(value, list):
            return [self.expand(f"{key}[{i}]", v) for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {k: self.expand(f"{key}.{k}", v) for k, v in value.items()}
        return value

    def table(self, key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, got {_show(value)}")
        return value

    def text(self, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise self.fail(key, f"expected text, got {_show(value)}")
        return value

    def number(self, key: str, value: Any, minimum: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(key, f"expected a number, got {_show(value)}")
        if minimum is not None and value < minimum:
            raise self.fail(key, f"expected a number >= {minimum:g}, got {value!r}")
        return value

    def integer(self, key: str, value: Any, minimum: int, maximum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"expected a whole number, got {_show(value)}")
        if not minimum <= value <= maximum:
            raise self.fail(key, f"expected a number from {minimum} to {maximum}, got {value}")
        return value

    def flag(self, key: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, f"expected true or false, got {_show(value)}")
        return value

    def texts(self, key: str, value: Any) -> list[str]:
        if not isinstance(value, list):
            raise self.fail(key, f"expected a list of text, got {_show(value)}")
        return [self.text(f"{key}[{i}]", v) for i, v in enumerate(value)]

    def mapping(self, key: str, value: Any) -> dict[str, str]:
        table = self.table(key, value)
        return {k: self.text(f"{key}.{k}", v) for k, v in table.items()}

    def check_keys(self, key: str, table: dict[str, Any], known: set[str]) -> None:
        for name in table:
            if name not in known:
                where = f"{key}.{name}" if key else name
                raise self.fail(where, f"unknown setting (known: {', '.join(sorted(known))})")


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


_TOP_KEYS = {
    "agent",
    "team",
    "store",
    "state",
    "theme",
    "reopen_window_days",
    "default_priority",
    "plugin_paths",
    "http",
    "hub",
    "routing",
    "business_hours",
    "sla",
    "surveys",
    "supervision",
    "keymap",
    "canned",
    "agents",
    "teams",
    "channels",
    "enrichers",
    "enrichment",
}
_CHANNEL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def store_named_by(path: Path | None = None, *, env: dict[str, str] | None = None) -> Path | None:
    """The store a config file names, read on its own: what the doctor examines
    when the rest of the config is wrong. None when even that cannot be read."""
    explicit = path is not None
    path = path or default_config_path()
    if not path.exists():
        return None if explicit else default_store_path()
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    if "store" not in data:
        return default_store_path()
    r = _Reader(str(path), dict(os.environ) if env is None else env)
    try:
        return _resolve(path.parent, r.text("store", r.expand("store", data["store"])))
    except ConfigError:
        return None


def parse_config(
    data: dict[str, Any], *, source: str = "config.toml", env: dict[str, str] | None = None
) -> Config:
    """Build a Config from parsed TOML, or raise ConfigError naming the bad key."""
    r = _Reader(source, dict(os.environ) if env is None else env)
    r.check_keys("", data, _TOP_KEYS)
    base = Path(source).parent if source not in ("defaults", "") else Path.cwd()
    values: dict[str, Any] = {"source": source}
    if "agent" in data:
        values["agent"] = r.text("agent", data["agent"]).strip() or "agent"
    if "team" in data:
        values["team"] = r.text("team", data["team"])
    if "store" in data:
        values["store"] = _resolve(base, r.text("store", r.expand("store", data["store"])))
    if "state" in data:
        values["state"] = _resolve(base, r.text("state", r.expand("state", data["state"])))
    if "theme" in data:
        values["theme"] = r.text("theme", data["theme"])
    if "reopen_window_days" in data:
        values["reopen_window_days"] = r.number("reopen_window_days", data["reopen_window_days"], 0)
    if "default_priority" in data:
        text = r.text("default_priority", data["default_priority"])
        try:
            values["default_priority"] = Priority(text)
        except ValueError:
            known = ", ".join(p.value for p in Priority)
            raise r.fail("default_priority", f"expected one of {known}, got {text!r}") from None
    if "plugin_paths" in data:
        paths = r.texts("plugin_paths", data["plugin_paths"])
        values["plugin_paths"] = [_resolve(base, p) for p in paths]
    if "http" in data:
        values["http"] = _http(r, r.table("http", data["http"]))
    if "hub" in data:
        values["hub"] = _hub(r, base, r.table("hub", data["hub"]))
    if "routing" in data:
        values["routing"] = parse_routing(r, r.table("routing", data["routing"]))
    if "business_hours" in data:
        values["business_hours"] = parse_business_hours(
            r, r.table("business_hours", data["business_hours"])
        )
    if "sla" in data:
        values["sla"] = parse_sla(r, r.table("sla", data["sla"]))
    if "surveys" in data:
        values["surveys"] = parse_surveys(r, r.table("surveys", data["surveys"]))
    if "supervision" in data:
        values["supervision"] = _supervision(r, r.table("supervision", data["supervision"]))
    for key in ("keymap", "canned"):
        if key in data:
            values[key] = r.mapping(key, data[key])
    for key in ("agents", "teams"):
        if key in data:
            values[key] = r.texts(key, data[key])
    if "channels" in data:
        values["channels"] = _channels(r, data["channels"])
    if "enrichers" in data:
        values["enrichers"] = parse_enrichers(r, data["enrichers"])
    if "enrichment" in data:
        values["enrichment"] = parse_enrichment(r, r.table("enrichment", data["enrichment"]))
    return Config(**values)


def _resolve(base: Path, text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def _http(r: _Reader, table: dict[str, Any]) -> HttpConfig:
    r.check_keys("http", table, {"host", "port", "public_url"})
    return HttpConfig(
        host=r.text("http.host", table.get("host", "127.0.0.1")),
        port=r.integer("http.port", table.get("port", 8765), 0, 65535),
        public_url=r.text("http.public_url", table["public_url"]) or None
        if "public_url" in table
        else None,
    )


def _hub(r: _Reader, base: Path, table: dict[str, Any]) -> HubConfig:
    r.check_keys("hub", table, set(HubConfig.__slots__) - {"token_problem"})
    table = dict(table)
    token_problem = None
    if "token" in table:
        try:
            r.expand("hub.token", table["token"])
        except ConfigError as exc:
            token_problem = str(exc)
            table = {k: v for k, v in table.items() if k != "token"}
    away = r.number("hub.away_after_minutes", table.pop("away_after_minutes", 10.0), 0)
    texts = {k: r.text(f"hub.{k}", r.expand(f"hub.{k}", v)) for k, v in table.items()}
    url = texts.get("url") or None
    if url is not None and not url.startswith(("ws://", "wss://")):
        raise r.fail("hub.url", f"expected a ws:// or wss:// address, got {url!r}")
    paths = {k: _resolve(base, v) for k, v in texts.items() if k.endswith("file") and v}
    if ("certfile" in paths) != ("keyfile" in paths):
        raise r.fail("hub.keyfile", "certfile and keyfile go together")
    token = texts.get("token") or None
    return HubConfig(
        url=url, token=token, token_problem=token_problem, away_after_minutes=away, **paths
    )


def _supervision(r: _Reader, table: dict[str, Any]) -> SupervisionConfig:
    defaults = SupervisionConfig()
    r.check_keys("supervision", table, set(SupervisionConfig.__slots__))
    values = {}
    for name in SupervisionConfig.__slots__:
        if name in table:
            number = r.number(f"supervision.{name}", table[name], 0)
            values[name] = int(number) if name == "inbound_queue_size" else float(number)
    return SupervisionConfig(**{**{k: getattr(defaults, k) for k in defaults.__slots__}, **values})


def _channels(r: _Reader, value: Any) -> list[ChannelConfig]:
    if not isinstance(value, list):
        raise r.fail("channels", "expected an array of tables ([[channels]]), got " + _show(value))
    channels: list[ChannelConfig] = []
    seen: set[str] = set()
    for index, raw in enumerate(value):
        key = f"channels[{index}]"
        table = r.table(key, raw)
        if "plugin" not in table:
            raise r.fail(f"{key}.plugin", "missing (which plugin serves this channel?)")
        plugin = r.text(f"{key}.plugin", table["plugin"])
        name = r.text(f"{key}.name", table.get("name", plugin))
        if not _CHANNEL_NAME.match(name):
            raise r.fail(
                f"{key}.name",
                f"expected lowercase letters, digits, '-' or '_' (at most 40), got {name!r}",
            )
        if name in seen:
            raise r.fail(f"{key}.name", f"another channel is already named {name!r}")
        seen.add(name)
        enabled = r.flag(f"{key}.enabled", table.get("enabled", True))
        options = {k: v for k, v in table.items() if k not in ("plugin", "name", "enabled")}
        options = {k: r.expand(f"{key}.{k}", v) for k, v in options.items()}
        channels.append(ChannelConfig(plugin, name, options, index, enabled))
    return channels


def load_config(path: Path | None = None, *, env: dict[str, str] | None = None) -> Config:
    """Read the config at ``path`` (or the user config file; defaults when absent).

    A path given explicitly must exist.
    """
    explicit = path is not None
    path = path or default_config_path()
    if not path.exists():
        if explicit:
            raise ConfigError(f"{path}: no such config file")
        return parse_config({}, source="defaults", env=env)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, source=str(path), env=env)
