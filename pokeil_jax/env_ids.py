"""The Gymnasium env ids this package registers, and the bundled ROM each one plays.

Scripts take cleanrl's `--env-id`; `rom_path_for` turns it (or an explicit --rom-path) into the
ROM the env loads, with one clear error naming the valid ids.
"""

from __future__ import annotations

import importlib
from pathlib import Path

DEFAULT_ENV_ID = "pokeil/MiniMon-v0"
# env id -> "module:ROM_PATH attribute" of the bundled game it plays
ENV_IDS = {
    "pokeil/MiniMon-v0": "pokeil_jax.games.minimon:ROM_PATH",
    "pokeil/MiniMonQuest-v0": "pokeil_jax.games.minimon.quest:ROM_PATH",
}


class UnknownEnvIdError(ValueError):
    """An --env-id this package does not register."""


def check_env_id(env_id: str) -> str:
    if env_id not in ENV_IDS:
        raise UnknownEnvIdError(f"unknown --env-id {env_id!r}; valid ids: {', '.join(ENV_IDS)}")
    return env_id


def rom_path_for(env_id: str, rom_path: str | None = None) -> str:
    """`rom_path` when given (any GBA ROM), else the bundled ROM of `env_id`."""
    check_env_id(env_id)
    if rom_path is not None:
        return str(rom_path)
    module, attr = ENV_IDS[env_id].split(":")
    return str(Path(getattr(importlib.import_module(module), attr)))
