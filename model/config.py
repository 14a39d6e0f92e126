"""Typed configs for every stage: a dataclass schema, a YAML file, `key=value` overrides.

Unknown keys (in the file or an override) are errors that name the key and the file; the resolved
config is saved next to every output (`save_config`). OmegaConf does the merging and type checks.
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any, TypeVar

import yaml
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    pass


def load_config(schema: type[T], path: str | Path | None = None, overrides: list[str] | None = None) -> T:
    """Builds a `schema` instance from defaults <- YAML file <- overrides (`a.b=1`)."""
    base = OmegaConf.structured(schema)
    layers = [base]
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"config file not found: {path}")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark else str(path)
            raise ConfigError(f"{where}: invalid YAML: {getattr(e, 'problem', None) or e}") from None
        except UnicodeDecodeError as e:
            raise ConfigError(f"{path}: not UTF-8 (byte offset {e.start})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: top level must be a mapping")
        data.pop("_schema", None)
        try:
            layers.append(OmegaConf.merge(base, OmegaConf.create(data)))
        except OmegaConfBaseException as e:
            raise ConfigError(f"{path}: {_describe(e)}") from None
    bad = [o for o in overrides or [] if "=" not in o]
    if bad:
        raise ConfigError(f"overrides must look like key=value, got {bad}")
    try:
        merged = OmegaConf.merge(*layers, OmegaConf.from_dotlist(list(overrides or [])))
        return OmegaConf.to_object(merged)  # type: ignore[return-value]
    except OmegaConfBaseException as e:
        where = f" (config {path})" if path else ""
        raise ConfigError(f"override error{where}: {_describe(e)}") from None


def _describe(e: OmegaConfBaseException) -> str:
    key = getattr(e, "full_key", None)
    msg = str(e).splitlines()[0]
    return f"key '{key}': {msg}" if key else msg


def to_dict(cfg: Any) -> dict[str, Any]:
    return dataclasses.asdict(cfg) if dataclasses.is_dataclass(cfg) else dict(cfg)


def save_config(cfg: Any, out_dir: str | Path, name: str = "config.yaml") -> Path:
    """Writes the resolved config next to an output."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    path.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def config_arg_parser(description: str, prog: str | None = None) -> argparse.ArgumentParser:
    """The CLI shape shared by the stages: `--config FILE [key=value ...]`."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--config", help="YAML config file (see configs/)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. output_dir=out/x")
    return p


def resolve_path(path: str | Path) -> Path:
    """Relative paths in configs are relative to the current directory, else to the repo root."""
    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    alt = REPO_ROOT / p
    return alt if alt.exists() else p
