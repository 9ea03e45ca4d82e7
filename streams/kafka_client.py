"""How every client of the project reaches Kafka: security protocol, SASL, TLS.

One model, read from ``CM_KAFKA__*`` settings, gives the same options to the Faust app, the
topic creation, the simulator and bench, so a cluster that needs credentials gets them
everywhere.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, SecretStr, model_validator

SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")
TLS_PROTOCOLS = ("SSL", "SASL_SSL")


class KafkaClient(BaseModel):
    """``CM_KAFKA__PROTOCOL``, ``…__SASL_MECHANISM``, ``…__USERNAME``, ``…__PASSWORD``,
    ``…__CA_FILE``, ``…__CERT_FILE``, ``…__KEY_FILE``."""

    protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    """Security protocol of the brokers' listener."""
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    """With a SASL protocol: how the user authenticates."""
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = None
    """CA bundle that signed the brokers' certificates (TLS); the system's when unset."""
    cert_file: Path | None = None
    """Client certificate (PEM), when the brokers ask for one."""
    key_file: Path | None = None
    """Its private key (PEM)."""

    @model_validator(mode="after")
    def _complete(self) -> KafkaClient:
        if self.protocol in SASL_PROTOCOLS and not (self.username and self.password):
            raise ValueError(f"protocol {self.protocol} needs username and password")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        for name in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"{name} {path} is not a readable file")
        return self

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of a TLS protocol (verifying the brokers), else None."""
        if self.protocol not in TLS_PROTOCOLS:
            return None
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.cert_file and self.key_file:
            context.load_cert_chain(str(self.cert_file), str(self.key_file))
        return context

    def faust_credentials(self) -> Any:
        """``broker_credentials`` for the Faust app (None: plaintext)."""
        import faust

        if self.protocol in SASL_PROTOCOLS:
            return faust.SASLCredentials(
                username=self.username,
                password=self.password.get_secret_value() if self.password else None,
                ssl_context=self.ssl_context(),
                mechanism=self.sasl_mechanism,
            )
        if self.protocol == "SSL":
            return faust.SSLCredentials(self.ssl_context())
        return None

    def aiokafka_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producer, consumer and admin client."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.protocol in TLS_PROTOCOLS:
            options["ssl_context"] = self.ssl_context()
        if self.protocol in SASL_PROTOCOLS:
            options |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password.get_secret_value() if self.password else None,
            }
        return options
