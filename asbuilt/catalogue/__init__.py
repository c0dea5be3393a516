"""The control catalogue and the profiles, as data, and their loader.

``controls.yaml`` holds every control of the reference architecture (one entry per ID);
``profiles/*.yaml`` hold each profile's thresholds. A user's profile file may ``extends:`` a
built-in profile and override thresholds; every override is kept so reports can show it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from asbuilt.errors import InputError
from asbuilt.validation import load_yaml_file, one_line

HERE = Path(__file__).parent
SUITE_PROFILE = "suite"  # SUITE-* controls check the suite itself and apply to every profile

Severity = Literal["must", "should", "info"]
Where = Literal["live", "static"]


class Control(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    profile: str
    area: str
    severity: Severity
    where: tuple[Where, ...]
    seed: str | None = None
    requirement: str
    remediation: str
    references: tuple[str, ...] = ()

    @property
    def marker(self) -> str:
        """The pytest marker / Gherkin tag form of the ID: HA-01 -> HA_01."""
        return marker_for(self.id)

    @property
    def live(self) -> bool:
        return "live" in self.where

    @property
    def static(self) -> bool:
        return "static" in self.where


def marker_for(control_id: str) -> str:
    return control_id.replace("-", "_")


class _ProfileFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    title: str | None = None
    seed: str | None = None
    description: str | None = None
    extends: str | None = None
    thresholds: dict[str, dict[str, Any]] = {}


@dataclass
class Override:
    control: str
    key: str
    reference: Any
    value: Any


@dataclass
class Profile:
    name: str
    base: str  # the built-in profile whose controls it selects
    title: str
    thresholds: dict[str, dict[str, Any]]
    overrides: list[Override] = field(default_factory=list)
    source: str = "built-in"

    def params(self, control_id: str) -> dict[str, Any]:
        return dict(self.thresholds.get(control_id, {}))


class Catalogue:
    def __init__(self, controls: list[Control]):
        self.controls = controls
        self.by_id = {c.id: c for c in controls}
        self.by_marker = {c.marker: c for c in controls}

    def get(self, control_id: str) -> Control:
        try:
            return self.by_id[control_id.upper()]
        except KeyError:
            raise InputError(f"unknown control ID {control_id!r} (see `asbuilt controls`)") from None

    def for_profile(self, profile: str) -> list[Control]:
        return [c for c in self.controls if c.profile in (profile, SUITE_PROFILE)]

    def profiles(self) -> list[str]:
        return sorted({c.profile for c in self.controls if c.profile != SUITE_PROFILE})


@cache
def load_catalogue() -> Catalogue:
    raw = yaml.safe_load((HERE / "controls.yaml").read_text())
    controls = [Control.model_validate(entry) for entry in raw]
    ids = [c.id for c in controls]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:  # a packaging defect, not user input: fail loudly
        raise RuntimeError(f"duplicate control IDs in catalogue: {sorted(dupes)}")
    return Catalogue(controls)


def builtin_profiles() -> list[str]:
    return sorted(p.stem for p in (HERE / "profiles").glob("*.yaml"))


def _read_profile_file(path: Path) -> _ProfileFile:
    data = load_yaml_file(path, what="profile")
    try:
        return _ProfileFile.model_validate(data)
    except ValidationError as exc:
        raise InputError(one_line(path, exc, data)) from None


def load_profile(name_or_path: str) -> Profile:
    """A built-in profile by name, or a user's profile file (which may extend a built-in one)."""
    builtin = builtin_profiles()
    if name_or_path in builtin:
        pf = _read_profile_file(HERE / "profiles" / f"{name_or_path}.yaml")
        return Profile(name=pf.name, base=pf.name, title=pf.title or pf.name, thresholds=pf.thresholds)
    path = Path(name_or_path)
    if not (path.suffix in (".yaml", ".yml") or path.exists()):
        raise InputError(f"unknown profile {name_or_path!r}: expected one of {', '.join(builtin)} or a profile file")
    user = _read_profile_file(path)
    if not user.extends:
        raise InputError(f"{path}: extends: a user profile must extend one of {', '.join(builtin)}")
    if user.extends not in builtin:
        raise InputError(f"{path}: extends: unknown profile {user.extends!r}; expected one of {', '.join(builtin)}")
    base = load_profile(user.extends)
    catalogue = load_catalogue()
    thresholds = {k: dict(v) for k, v in base.thresholds.items()}
    overrides: list[Override] = []
    for control_id, values in user.thresholds.items():
        if control_id not in catalogue.by_id:
            raise InputError(f"{path}: thresholds.{control_id}: unknown control ID")
        known = base.thresholds.get(control_id, {})
        for key, value in values.items():
            if key not in known:
                expected = ", ".join(known) or "none (this control has no thresholds)"
                raise InputError(f"{path}: thresholds.{control_id}.{key}: unknown threshold; expected {expected}")
            if type(value) is not type(known[key]) and not (
                isinstance(value, (int, float)) and isinstance(known[key], (int, float))
            ):
                raise InputError(
                    f"{path}: thresholds.{control_id}.{key}: expected {type(known[key]).__name__}"
                    f" like {known[key]!r}, got {type(value).__name__}"
                )
            if value != known[key]:
                overrides.append(Override(control_id, key, known[key], value))
            thresholds.setdefault(control_id, {})[key] = value
    return Profile(
        name=user.name,
        base=base.base,
        title=user.title or f"{user.name} (extends {base.name})",
        thresholds=thresholds,
        overrides=overrides,
        source=str(path),
    )


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def requirement_text(control: Control, profile: Profile) -> str:
    """The requirement with the profile's thresholds filled in."""
    params = profile.params(control.id)
    return _PLACEHOLDER.sub(lambda m: str(params.get(m.group(1), m.group(0))), control.requirement)
