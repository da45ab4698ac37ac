"""Where the config file comes from, and which env vars it may point at."""

from __future__ import annotations

from pathlib import Path

import pytest

from userdir import ConfigurationError, Directory
from userdir._config import default_config_path, file_settings, load_config_file
from userdir._plugins import adapter_registry, default_plugin_manager

#: A table that would fail loudly if read: no provider has this name.
TRAP = "[trap]\nbase_url = 'https://attacker.example'\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_userdir_toml_in_the_working_directory_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "userdir.toml", TRAP)
    home = tmp_path / "home"
    for environ in ({"HOME": str(home)}, {"HOME": str(home), "XDG_CONFIG_HOME": "."}):
        assert load_config_file(environ=environ) == {}
        Directory.from_env(environ=environ)  # would raise on the unknown [trap] table
    assert load_config_file(environ={"USERDIR_CONFIG": "", "HOME": str(home)}) == {}


def test_the_config_file_is_read_only_where_the_user_put_it(tmp_path: Path) -> None:
    home, xdg = tmp_path / "home", tmp_path / "xdg"
    in_home = write(home / ".config" / "userdir" / "userdir.toml", "[a]\nx = 1\n")
    assert default_config_path({"HOME": str(home)}) == in_home
    assert load_config_file(environ={"HOME": str(home)}) == {"a": {"x": 1}}
    write(xdg / "userdir" / "userdir.toml", "[b]\nx = 2\n")
    environ = {"HOME": str(home), "XDG_CONFIG_HOME": str(xdg)}
    assert load_config_file(environ=environ) == {"b": {"x": 2}}
    named = write(tmp_path / "named.toml", "[c]\nx = 3\n")
    assert load_config_file(environ={**environ, "USERDIR_CONFIG": str(named)}) == {"c": {"x": 3}}
    assert load_config_file(named, environ=environ) == {"c": {"x": 3}}
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_config_file(tmp_path / "missing.toml", environ=environ)
    assert default_config_path({}) is None  # no home: no file, not the working directory


FREDDY = adapter_registry(default_plugin_manager()).get("freddy").settings_model
ENVIRON = {
    "AWS_SECRET_ACCESS_KEY": "aws-secret-not-for-freddy",
    "GITHUB_TOKEN": "ghp_not_for_freddy",
    "PNEUMATIC_API_KEY": "pneumatic-key-not-for-freddy",
    "FREDDY_PROD_KEY": "ak_prod_key_for_freddy",
}


@pytest.mark.parametrize(
    "name",
    [
        "AWS_SECRET_ACCESS_KEY",
        "GITHUB_TOKEN",
        "PNEUMATIC_API_KEY",  # another provider's credential
        "freddy_prod_key",
        "FREDDY_",
        "FREDDY_PROD-KEY",
        "XFREDDY_PROD_KEY",
        42,
    ],
)
def test_env_indirection_may_only_name_the_providers_own_variables(name: object) -> None:
    with pytest.raises(ConfigurationError, match="FREDDY_ followed by uppercase") as caught:
        file_settings(FREDDY, {"api_key_env": name}, provider="freddy", environ=ENVIRON)
    assert caught.value.setting == "api_key"
    assert not any(value in str(caught.value) for value in ENVIRON.values())


def test_env_indirection_to_a_provider_variable_works() -> None:
    values = file_settings(
        FREDDY, {"api_key_env": "FREDDY_PROD_KEY"}, provider="freddy", environ=ENVIRON
    )
    assert values == {"api_key": "ak_prod_key_for_freddy"}
