"""Reading a provider's settings from environment variables.

A provider is configured when its first variable is set. Then every other required variable
must be set too, so that a half-finished configuration fails at start-up, not at payment time.
"""

from collections.abc import Mapping
from pathlib import Path


def env_text(environ: Mapping[str, str], name: str, enabled_by: str) -> str:
    """Return the stripped value of ``name``, or raise ValueError when it is unset or empty."""
    value = environ.get(name, "").strip()
    if not value:
        raise ValueError(f"{name} is not set, but it is required when {enabled_by} is set")
    return value


def env_file_text(environ: Mapping[str, str], name: str, enabled_by: str) -> str:
    """Return the text of the file that ``name`` gives the path of, such as a PEM key file."""
    path = Path(env_text(environ, name, enabled_by))
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"{name}: cannot read {path}: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise ValueError(f"{name}: {path} is not UTF-8 text (expected a PEM file)") from error


def env_flag(environ: Mapping[str, str], name: str) -> bool:
    """Parse an optional yes/no variable: 1/true/yes/on or 0/false/no/off, unset means no."""
    value = environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(
        f"invalid {name} {value!r}: expected one of 1, true, yes, on, 0, false, no, off"
    )
