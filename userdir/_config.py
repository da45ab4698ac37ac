"""Provider settings: declared as pydantic models, filled from keywords, env vars
and an optional TOML file.

A provider declares its settings by subclassing :class:`ProviderSettings`. Every
field can come from a keyword of ``load_provider``, from an environment variable
named ``<PROVIDER>_<FIELD>`` (``FREDDY_API_KEY``), or from a ``[<provider>]``
table of ``userdir.toml``; in that order of precedence. Secrets are
``pydantic.SecretStr``: they never show in a repr, a log or an error, and they
may not be written in the config file: there, ``api_key_env = "MY_VAR"`` names
the env var that holds one.

    # userdir.toml
    [freddy]
    organization_id = "org_123"
    api_key_env = "FREDDY_PROD_KEY"     # the key itself stays in the environment

    [ejento]
    base_url = "https://ejento.example.com"

**Where the config file is read.** Only from a place you chose: the ``path``
given (``Directory.from_env(config=...)``, ``userdir --config``), else the file
named by ``$USERDIR_CONFIG``, else your own config directory,
``$XDG_CONFIG_HOME/userdir/userdir.toml`` (``~/.config/userdir/userdir.toml``
when ``XDG_CONFIG_HOME`` is unset or not an absolute path). Never from the
working directory: a ``userdir.toml`` in a checked-out repository or a shared
folder is ignored, so it cannot point userdir at another server or credential.

**Which env vars ``*_env`` may name.** ``<secret>_env = "NAME"`` must name a
variable of the provider's own prefix: ``<PROVIDER>_`` followed by uppercase
letters, digits and underscores (``FREDDY_PROD_KEY``, ``EJENTO_TOKEN_STAGING``).
Anything else (``AWS_SECRET_ACCESS_KEY``, ``GITHUB_TOKEN``, ``freddy_key``) is a
:class:`~userdir._errors.ConfigurationError`: a config file must not be able to
make userdir send another tool's credential to a provider's host.

**What a secret may hold.** Printable ASCII only: a line break, tab, NUL or other
control character (say, a key file read with its trailing ``\\r\\n``) or a
non-ASCII character is refused when the settings are read, with an error naming
the setting and its env var, never the value. HTTP headers cannot carry such a
value, and the HTTP library's own error would quote it.

Every secret read into settings is registered with
:func:`userdir._errors.register_secret`, so no userdir error can show it.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from ._compat import tomllib
from ._errors import ConfigurationError, register_secret

__all__ = [
    "CONFIG_ENV_VAR",
    "CONFIG_FILE_NAME",
    "ProviderSettings",
    "default_config_path",
    "env_var_name",
    "file_settings",
    "is_loopback_host",
    "load_config_file",
    "resolve_settings",
    "secret_fields",
]

CONFIG_FILE_NAME = "userdir.toml"
#: The env var naming a config file.
CONFIG_ENV_VAR = "USERDIR_CONFIG"
#: What a secret may hold: printable ASCII (what an HTTP header can carry).
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")


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

    base_url: str
    timeout: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="Total seconds per request, from connecting to the last body byte.",
    )
    max_retries: int = Field(3, ge=0, le=20, description="Retries of a retryable failure.")
    max_retry_after: float = Field(
        60.0,
        ge=0,
        le=86_400,
        description="Longest wait a server may ask for (Retry-After, X-RateLimit-Reset); "
        "a longer one raises RateLimitError at once, saying when to retry.",
    )
    max_response_bytes: int = Field(
        64 * 2**20,
        ge=1024,
        le=1024 * 2**20,
        description="Cap on one response's decoded body; more is InvalidResponseError.",
    )
    listing_budget: float | None = Field(
        None,
        gt=0,
        description="Seconds one listing may take in all (None: no limit); past it the "
        "listing stops with a typed error and an incomplete report.",
    )
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

    @field_validator("*")
    @classmethod
    def _secrets_are_printable_ascii(cls, value: Any) -> Any:
        # Refused here, as httpx would only fail at send time, with an exception
        # quoting the header value (h11's "Illegal header value b'...'").
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            if not _PRINTABLE_ASCII.fullmatch(secret):
                if any(char < " " or char == "\x7f" for char in secret):
                    raise ValueError(
                        "holds a control character (a line break, tab or NUL, e.g. a key "
                        "file read with its newline): remove it"
                    )
                raise ValueError("holds a non-ASCII character, which no HTTP header can carry")
        return value


def env_var_name(provider: str, setting: str) -> str:
    """``("freddy", "api_key")`` -> ``"FREDDY_API_KEY"``."""
    return f"{provider}_{setting}".upper().replace("-", "_")


def resolve_settings(
    model: type[ProviderSettings],
    overrides: Mapping[str, Any],
    *,
    provider: str,
    environ: Mapping[str, str] | None = None,
    file_values: Mapping[str, Any] | None = None,
) -> ProviderSettings:
    """Build *model* from keywords, then env vars, then a config file, then defaults.

    Raises :class:`ConfigurationError` naming the setting and the env var that
    would supply it (``<PROVIDER>_<SETTING>``). The offending value is never
    echoed (it may be a secret).
    """
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
        settings = model.model_validate(values)
    except ValidationError as exc:
        raise _configuration_error(provider, exc) from None
    for _, value in settings:
        if isinstance(value, SecretStr):
            register_secret(value.get_secret_value())
    return settings


def _configuration_error(provider: str, exc: ValidationError) -> ConfigurationError:
    error = exc.errors(include_input=False, include_url=False)[0]
    setting = str(error["loc"][0]) if error["loc"] else "settings"
    env_name = env_var_name(provider, setting)
    if error["type"] == "missing":
        message = f"missing required setting {setting!r}: set {env_name} or pass {setting}=..."
    else:
        message = f"invalid setting {setting!r} (env {env_name}): {error['msg']}"
    return ConfigurationError(message, provider=provider, setting=setting, env_var=env_name)


def secret_fields(model: type[ProviderSettings]) -> set[str]:
    """Names of the settings that hold secrets (typed ``SecretStr``)."""
    secret = {SecretStr, SecretStr | None}
    return {name for name, field in model.model_fields.items() if field.annotation in secret}


def default_config_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """The user's own config file: ``$XDG_CONFIG_HOME/userdir/userdir.toml``, else
    ``$HOME/.config/userdir/userdir.toml``; None without a home directory.

    Relative paths are ignored (the XDG spec says so): they would read the file
    from wherever userdir happens to run. Only *environ* is read, so a test
    passing its own mapping never picks up the developer's file.
    """
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CONFIG_HOME", "")
    if not os.path.isabs(base):
        home = environ.get("HOME") or environ.get("USERPROFILE") or ""
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".config")
    return Path(base) / "userdir" / CONFIG_FILE_NAME


def load_config_file(
    path: str | Path | None = None,
    *,
    required: bool = False,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Read a userdir TOML file: ``path``, else ``$USERDIR_CONFIG``, else the user's
    own (:func:`default_config_path`). Never ``./userdir.toml``: a file in the
    working directory is not yours to trust.

    Returns ``{}`` when the user's own file does not exist (unless *required*);
    a named file that does not exist is an error.
    """
    environ = os.environ if environ is None else environ
    named = path if path is not None and str(path) else environ.get(CONFIG_ENV_VAR) or None
    candidate = Path(named) if named else default_config_path(environ)
    if candidate is None or not candidate.is_file():
        if named or required:
            raise ConfigurationError(f"config file {str(candidate or named)!r} does not exist")
        return {}
    try:
        data: dict[str, Any] = tomllib.loads(candidate.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"config file {str(candidate)!r} is not valid TOML: {exc}"
        ) from None
    for name, table in data.items():
        if not isinstance(table, dict):
            raise ConfigurationError(
                f"config file {str(candidate)!r}: {name!r} must be a [{name}] table"
            )
    return data


def file_settings(
    model: type[ProviderSettings],
    table: Mapping[str, Any],
    *,
    provider: str,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One provider's ``[table]`` from the config file, as setting values.

    A secret written in the file is refused; ``<secret>_env = "VAR"`` reads it
    from the environment variable ``VAR`` instead, which must be named
    ``<PROVIDER>_...`` (see the module docstring).
    """
    environ = os.environ if environ is None else environ
    secrets = secret_fields(model)
    values: dict[str, Any] = {}
    for key, value in table.items():
        setting = key.removesuffix("_env") if key.endswith("_env") else key
        if key.endswith("_env") and setting in secrets:
            _check_env_indirection(provider, setting, value)
            assert isinstance(value, str)
            if not environ.get(value):
                raise ConfigurationError(
                    f"config file names env var {value!r} for {setting!r}, but it is not set",
                    provider=provider,
                    setting=setting,
                    env_var=str(value),
                )
            values[setting] = environ[value]
        elif key in secrets:
            raise ConfigurationError(
                f"secret {key!r} must not be written in the config file: set "
                f'{env_var_name(provider, key)} or write {key}_env = "NAME_OF_AN_ENV_VAR"',
                provider=provider,
                setting=key,
                env_var=env_var_name(provider, key),
            )
        elif key not in model.model_fields:
            raise ConfigurationError(
                f"unknown setting {key!r} in the config file", provider=provider, setting=key
            )
        else:
            values[key] = value
    return values


def _check_env_indirection(provider: str, setting: str, name: object) -> None:
    """Refuse a ``<secret>_env`` that names a variable outside the provider's prefix."""
    prefix = env_var_name(provider, "")
    if isinstance(name, str) and re.fullmatch(re.escape(prefix) + r"[A-Z0-9_]+", name):
        return
    shown = repr(name) if isinstance(name, str) and len(name) <= 100 else "that value"
    raise ConfigurationError(
        f"{setting}_env = {shown} in the config file is refused: it must name an env var "
        f"{prefix} followed by uppercase letters, digits and underscores (e.g. "
        f"{prefix}PROD_KEY), so a config file cannot send another credential to {provider}",
        provider=provider,
        setting=setting,
    )
