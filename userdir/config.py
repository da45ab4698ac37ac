"""Provider settings: declared as pydantic models, filled from keywords and env vars.

A provider declares its settings by subclassing :class:`ProviderSettings`. Every
field can come from a keyword of ``load_provider`` or from an environment
variable named ``<PROVIDER>_<FIELD>`` (``FREDDY_API_KEY``); keywords win. Secrets
are ``pydantic.SecretStr``: they never show in a repr, a log or an error.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import ConfigurationError

__all__ = ["ProviderSettings", "env_var_name", "is_loopback_host", "resolve_settings"]


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ProviderSettings(BaseModel):
    """Settings every provider has. Subclass it to add your own fields.

    ``base_url`` has no default here: give it one in the subclass, or leave it
    required when a provider has no public default (Ejento).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Provider name; set by the subclass, used for env var names and errors.
    provider_name: ClassVar[str] = ""

    base_url: str
    timeout: float = Field(30.0, gt=0, description="Seconds per request (connect and read).")
    max_retries: int = Field(3, ge=0, le=20, description="Retries of a retryable failure.")
    rate_limit_per_minute: float | None = Field(
        None, gt=0, description="Client-side pace; None lets the provider's headers pace us."
    )
    page_size: int | None = Field(None, ge=1, description="Users per page; None = provider max.")
    max_pages: int = Field(100_000, ge=1, description="Runaway-paging guard for one listing.")
    verify_tls: bool = Field(
        True, description="Turn off only for a test proxy, never in production."
    )

    @field_validator("base_url")
    @classmethod
    def _https_unless_loopback(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an absolute http(s) URL")
        if parts.scheme == "http" and not is_loopback_host(parts.hostname):
            # Credentials must not cross the network in clear text.
            raise ValueError("plain http is only allowed for localhost / 127.0.0.1")
        return value.rstrip("/")


def env_var_name(provider: str, setting: str) -> str:
    """``("freddy", "api_key")`` -> ``"FREDDY_API_KEY"``."""
    return f"{provider}_{setting}".upper().replace("-", "_")


def resolve_settings(
    model: type[ProviderSettings],
    overrides: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    file_values: Mapping[str, Any] | None = None,
) -> ProviderSettings:
    """Build *model* from keywords, then env vars, then a config file, then defaults.

    Raises :class:`ConfigurationError` naming the setting and the env var that
    would supply it. The offending value is never echoed (it may be a secret).
    """
    provider = model.provider_name
    environ = os.environ if environ is None else environ
    unknown = sorted(set(overrides) - set(model.model_fields))
    if unknown:
        known = ", ".join(sorted(model.model_fields))
        raise ConfigurationError(
            f"unknown setting {unknown[0]!r}; known settings: {known}",
            provider=provider,
            setting=unknown[0],
        )
    values: dict[str, Any] = {}
    for name in model.model_fields:
        env_name = env_var_name(provider, name)
        if overrides.get(name) is not None:
            values[name] = overrides[name]
        elif environ.get(env_name):
            values[name] = environ[env_name]
        elif file_values and file_values.get(name) is not None:
            values[name] = file_values[name]
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise _configuration_error(provider, exc) from None


def _configuration_error(provider: str, exc: ValidationError) -> ConfigurationError:
    error = exc.errors(include_input=False, include_url=False)[0]
    setting = str(error["loc"][0]) if error["loc"] else "settings"
    env_name = env_var_name(provider, setting)
    if error["type"] == "missing":
        message = f"missing required setting {setting!r}: set {env_name} or pass {setting}=..."
    else:
        message = f"invalid setting {setting!r} (env {env_name}): {error['msg']}"
    return ConfigurationError(message, provider=provider, setting=setting, env_var=env_name)
