"""Which package index `uv` uses: its own UV_* variables when any is set, else the machine's pip
configuration (PIP_* variables and pip.conf files) translated into uv's flags.

pip reads its files in this order, later values winning: the global files (each folder of
XDG_CONFIG_DIRS, default /etc/xdg, then /etc/pip.conf), the user files (~/.pip/pip.conf, then
~/.config/pip/pip.conf), the site file (<sys.prefix>/pip.conf), then PIP_CONFIG_FILE; in each
file the [install] section overrides [global]; PIP_* variables override every file.
PIP_CONFIG_FILE=/dev/null (os.devnull) turns the files off, as it does for pip.
"""

import configparser
import os
import sys
from pathlib import Path

# uv reads these itself: when one is set, the pip configuration is not consulted.
UV_INDEX_VARIABLES = (
    "UV_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_INDEX",
    "UV_FIND_LINKS",
    "UV_NO_INDEX",
)
PIP_KEYS = ("index-url", "extra-index-url", "find-links", "no-index", "cert")


def pip_config_files(environ=os.environ) -> list[Path]:
    """pip's configuration files in the order pip reads them (missing ones included)."""
    config_file = environ.get("PIP_CONFIG_FILE", "")
    if config_file == os.devnull:
        return []
    xdg_dirs = environ.get("XDG_CONFIG_DIRS", "") or "/etc/xdg"
    files = [Path(folder) / "pip" / "pip.conf" for folder in xdg_dirs.split(":") if folder]
    files.append(Path("/etc/pip.conf"))
    home = Path(environ.get("HOME", "") or Path.home())
    xdg_home = Path(environ.get("XDG_CONFIG_HOME", "") or home / ".config")
    files += [home / ".pip" / "pip.conf", xdg_home / "pip" / "pip.conf"]
    files.append(Path(sys.prefix) / "pip.conf")
    if config_file:
        files.append(Path(config_file))
    return files


def pip_settings(environ=os.environ, files: list[Path] | None = None) -> dict[str, str]:
    """The index settings pip would use: PIP_KEYS to their values (as written)."""
    found: dict[str, str] = {}
    for path in pip_config_files(environ) if files is None else files:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue  # pip itself stops on a broken file; uv then gets no index from it
        for section in ("global", "install"):
            if parser.has_section(section):
                for key in PIP_KEYS:
                    if parser.has_option(section, key):
                        found[key] = parser.get(section, key)
    for key in PIP_KEYS:
        variable = "PIP_" + key.upper().replace("-", "_")
        if environ.get(variable):
            found[key] = environ[variable]
    return found


def _truthy(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


def uv_index_args(environ=os.environ, files: list[Path] | None = None) -> list[str]:
    """uv flags that make it use pip's index configuration; none when a UV_* index variable is
    set (uv reads those itself)."""
    if any(environ.get(name) for name in UV_INDEX_VARIABLES):
        return []
    pip = pip_settings(environ, files)
    args: list[str] = []
    if _truthy(pip.get("no-index", "")):
        args.append("--no-index")
    elif pip.get("index-url", "").strip():
        args += ["--index-url", pip["index-url"].split()[0]]
    extras = pip.get("extra-index-url", "").split()
    for url in extras:
        args += ["--extra-index-url", url]
    for place in pip.get("find-links", "").split():
        args += ["--find-links", place]
    if extras:
        # pip picks the best version across all its indexes; uv by default takes the first
        # index that has the package. Following pip's configuration means following its rule.
        args += ["--index-strategy", "unsafe-best-match"]
    return args


def uv_certificate(environ=os.environ, files: list[Path] | None = None) -> str:
    """The CA bundle pip is told to trust (`cert`), for uv's SSL_CERT_FILE; "" for none."""
    if environ.get("SSL_CERT_FILE"):
        return environ["SSL_CERT_FILE"]
    return pip_settings(environ, files).get("cert", "").strip()
