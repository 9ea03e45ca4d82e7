"""Process settings: flags, then ``CM_*`` environment variables, then these defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from detectors.policy import MAX_RETENTION_DAYS
from detectors.privacy import Pseudonymizer
from streams.kafka_client import KafkaClient


class Topics(BaseModel):
    """Topic names (events.md defaults); override e.g. with ``CM_TOPICS__CALLS=pbx.calls``."""

    hr: str = "hr.events"
    reimbursements: str = "finance.reimbursements"
    calls: str = "telephony.calls"
    mail: str = "mail.messages"
    alerts: str = "compliance.alerts"
    actions: str = "compliance.actions"
    actions_deadletter: str = "compliance.actions.deadletter"
    deadletter: str = "compliance.deadletter"
    triage: str = "compliance.triage"

    def inputs(self) -> list[str]:
        """The four input topics."""
        return [self.hr, self.reimbursements, self.calls, self.mail]

    def for_event(self, event_type: str) -> str:
        """The input topic of an event type (events.md): ``telephony.sms.delivered`` -> calls."""
        family = event_type.split(".", 1)[0]
        return {"hr": self.hr, "finance": self.reimbursements, "telephony": self.calls, "mail": self.mail}[
            family
        ]


class Settings(BaseSettings):
    """Everything a worker, ``demo`` or ``bench`` needs to know about its surroundings."""

    model_config = SettingsConfigDict(env_prefix="CM_", env_nested_delimiter="__", extra="ignore")

    kafka_broker: str = Field("kafka://localhost:9092", description="Faust broker URL(s)")
    kafka: KafkaClient = Field(default_factory=KafkaClient)
    """Security protocol and credentials of every Kafka client (``CM_KAFKA__PROTOCOL`` …)."""
    topic_replication_factor: int = Field(
        1, ge=1, description="replication factor of the topics the worker creates; 3 on a production cluster"
    )
    clickhouse_url: SecretStr | None = Field(
        None,
        description="chdb:///path (embedded) or http(s)://user:pass@host:8123/db; default under data_dir",
    )
    policy: Path | None = Field(None, description="policy YAML; built-in cn defaults when unset")
    data_dir: Path = Field(Path("./data"), description="RocksDB tables and embedded ClickHouse")
    web_port: int = Field(6066, ge=0, le=65535, description="metrics, alerts API and live feed")
    web_host: str = "127.0.0.1"
    phone_region: str = Field("CN", description="region for phone numbers written without +country")
    partitions: int = Field(4, ge=1, description="partitions of the internal keyed topics")
    app_id: str = "compliance-monitor"
    role: Literal["all", "detect", "store"] = Field(
        "all", description="agents this process runs: detect (both hops), store (the alert store) or all"
    )
    alert_ttl_days: int = Field(
        730, ge=1, le=MAX_RETENTION_DAYS, description="how long alerts stay in ClickHouse"
    )
    flush_interval: float = Field(0.5, gt=0, description="seconds between ClickHouse flushes")
    flush_rows: int = Field(2000, ge=1, description="rows that trigger an early flush")
    fetch_max_wait_ms: int = Field(100, ge=1, le=5000, description="longest a consumer fetch waits for data")
    state_sweep_interval: float = Field(
        60.0, gt=0, description="seconds between sweeps that delete the state of idle keys"
    )
    pseudonym_key: SecretStr | None = Field(
        None, description="HMAC key for distress pseudonyms; required by the worker while distress rules run"
    )
    topics: Topics = Field(default_factory=Topics)
    event_ttl_days: int = Field(
        180, ge=1, le=MAX_RETENTION_DAYS, description="how long input events stay in ClickHouse (evidence)"
    )
    users: Path | None = Field(None, description="users file of the console; unset: only /healthz, /metrics")
    console_secret: SecretStr | None = Field(
        None, description="signs session cookies; set the same in every console process (random otherwise)"
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="text (for a terminal) or json: one JSON object per line, for log collectors"
    )
    trusted_proxy_header: str | None = Field(None, description="header a trusted proxy names the user in")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses of reverse proxies trusted for that header and for X-Forwarded-Proto",
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError as error:
                raise ValueError(f"{entry!r} is not an address or network") from error
        return value

    @field_validator("pseudonym_key")
    @classmethod
    def _key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (use e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("phone_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        import phonenumbers

        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                f"{value!r} is not a region phone numbers know; use an ISO 3166 code such as CN or US"
            )
        return region

    @field_validator("kafka_broker")
    @classmethod
    def _broker_scheme(cls, value: str) -> str:
        return value if "://" in value else f"kafka://{value}"

    @property
    def clickhouse_dsn(self) -> str:
        """The ClickHouse URL, the embedded store under ``data_dir`` unless one is set."""
        if self.clickhouse_url is not None:
            return self.clickhouse_url.get_secret_value()
        return f"chdb://{(self.data_dir / 'clickhouse').resolve()}"

    def pseudonymizer(self) -> Pseudonymizer | None:
        """The pseudonymiser of ``pseudonym_key``, if one is set."""
        if self.pseudonym_key is None:
            return None
        return Pseudonymizer(self.pseudonym_key.get_secret_value().encode())

    @property
    def group_id(self) -> str:
        """The Faust app id (consumer group) of this process: store processes form a group of their own."""
        return f"{self.app_id}-store" if self.role == "store" else self.app_id

    @property
    def broker_servers(self) -> str:
        """The broker as aiokafka's ``bootstrap_servers`` (``host:port[,host:port]``)."""
        return ",".join(part.split("://", 1)[-1] for part in self.kafka_broker.split(";"))
