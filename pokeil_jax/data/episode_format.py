"""The episode format: its keys, dtypes and shapes, what each absent key costs, and its error.

Episode format (version 1): one compressed NPZ per episode, `episode_0001.npz`, `episode_0002.npz`, ...

    observations      uint8   (T, 160, 240, 3)  the observation action t was chosen on
    actions           int32   (T,)              the expert's intended action, 0..9 (the label)
    executed_actions  int32   (T,)              what was pressed (differs with epsilon-noise)
    rewards           float32 (T,)
    dones             bool    (T,)              only the last step can be True
    infos             unicode (T,)              one JSON object per step (the env's info after step t)
    final_observation uint8   (160, 240, 3)     the observation after the last step
    episode_return    float32 ()
    episode_length    int64   ()                == T
    metadata          unicode ()                JSON object, keys in REQUIRED_METADATA

Only observations, actions, rewards and dones are required (REQUIRED_KEYS): episodes written by
the seed plan's collector loop hold just those (int64 actions, float64 rewards) and train; what
each absent key costs is in ABSENT_KEY_COSTS. Other integer and float dtypes are converted to
the ones above after a range check. Files holding pickled object arrays are refused; `python -m
pokeil_jax.data migrate --allow-pickle` rewrites the ones a user made.

Actions index `pokeil_jax.actions.BUTTONS` (A, B, START, SELECT, UP, DOWN, LEFT, RIGHT, L, R).
Checked by `validation.py`; read and written by `episodes.py`.
"""

from __future__ import annotations

import re

from pokeil_jax import preprocessing

EPISODE_FORMAT_VERSION = 1
FRAME_SHAPE = preprocessing.FRAME_SHAPE
NETWORK_INPUT_SHAPE = preprocessing.NETWORK_INPUT_SHAPE

#: What collect_expert_data.py writes in `metadata`; only format_version is required, the rest is
#: type-checked when present (an episode converted from elsewhere may not know its seed).
REQUIRED_METADATA = (
    "format_version", "game", "rom_sha1", "frames_per_step", "expert", "seed", "epsilon",
    "milestone_names", "terminated", "truncated",
)
#: The keys training cannot do without; the others are optional (see ABSENT_KEY_COSTS).
REQUIRED_KEYS = ("observations", "actions", "rewards", "dones")
#: What an absent optional key costs (printed by `inspect`).
ABSENT_KEY_COSTS = {
    "executed_actions": "what was pressed is taken to be the label, so epsilon-noise cannot be told apart",
    "infos": "no per-step info: milestone rates are unknown",
    "final_observation": "no frame after the last step: each episode's last transition has no successor "
                         "(left out of DQN-BC's TD targets; BC is unaffected)",
    "episode_return": "computed from rewards",
    "episode_length": "computed from the arrays",
    "metadata": "no seeds known, so evaluation cannot avoid the demonstrations' seeds (pass --eval-seeds); "
                "game, ROM and expert unknown; whether the last step ended the game is unknown, so the "
                "last transition has no successor",
}
#: What a metadata key that collect_expert_data.py writes costs when an episode's metadata lacks it.
ABSENT_METADATA_COSTS = {
    "seed": "no seed known, so evaluation cannot avoid it (pass --eval-seeds)",
    "terminated": "whether the last step ended the game is unknown, so the last transition has no successor",
}
HOW_TO_MIGRATE = "python -m pokeil_jax.data migrate --allow-pickle {source} NEW_FOLDER"
HOW_TO_COLLECT = "python collect_expert_data.py --expert-data-dir {directory} --num-episodes 20"

EPISODE_NAME = re.compile(r"^episode_(\d+)\.npz$")
NPZ_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
NPY_MAGIC = b"\x93NUMPY"

# key -> (dtype, shape after the leading step axis); per-step arrays all have length T.
STEP_ARRAYS: dict[str, tuple[str, tuple[int, ...]]] = {
    "observations": ("uint8", FRAME_SHAPE),
    "actions": ("int32", ()),
    "executed_actions": ("int32", ()),
    "rewards": ("float32", ()),
    "dones": ("bool", ()),
    "infos": ("unicode", ()),
}
FIXED_ARRAYS: dict[str, tuple[str, tuple[int, ...]]] = {
    "final_observation": ("uint8", FRAME_SHAPE),
    "episode_return": ("float32", ()),
    "episode_length": ("int64", ()),
    "metadata": ("unicode", ()),
}
EPISODE_KEYS = tuple(STEP_ARRAYS) + tuple(FIXED_ARRAYS)
FRAME_KEYS = ("observations", "final_observation")
SMALL_KEYS = tuple(k for k in EPISODE_KEYS if k not in FRAME_KEYS)
HOW_TO_STORE = {
    "uint8": "np.asarray(value, np.uint8)",
    "int32": "np.asarray(value, np.int32)",
    "int64": "np.int64(value)",
    "float32": "np.asarray(value, np.float32)",
    "bool": "np.asarray(value, bool)",
    "unicode": "np.asarray(json_strings, dtype=np.str_)",
}
# Other dtypes read (and written) after a range check: any integer for the int keys, any real
# number for the float keys, 0/1 integers for dones.
CONVERTIBLE_KINDS = {"int32": "iu", "int64": "iu", "float32": "fiu", "bool": "iu"}


class EpisodeFormatError(ValueError):
    """An episode file or folder that does not follow the format; the message names the file,
    the problem and the fix."""


def how_to_collect(directory, env_id: str | None = None) -> str:
    """The command that records demonstrations into `directory`, for `env_id` when one is named
    (so a user training on another game is not told to record the default one)."""
    command = HOW_TO_COLLECT.format(directory=directory)
    return command + (f" --env-id {env_id}" if env_id else "")
