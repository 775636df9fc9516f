"""Expert demonstrations: the episode format (`episode_format`), its checks (`validation`),
episode files and folders (`episodes`), the preprocessed cache and the demos training reads
(`cache`), the seeded batch loader (`loader`), the `python -m pokeil_jax.data
inspect|cache|export-minari|migrate` command (`inspect`), Minari datasets in and out
(`minari_io`, needs the optional minari package) and the migration of pickled episode files
(`migrate`).

Host-only numpy: this package does not import JAX.
"""

from pokeil_jax.actions import NUM_ACTIONS
from pokeil_jax.data.cache import (
    BATCH_KEYS, CACHE_VERSION, CachedDemos, CachedEpisode, build_cache, default_cache_dir, load_demos, shard,
    split_episodes,
)
from pokeil_jax.data.episodes import (
    absent_keys, episode_paths, load_episode, next_episode_index_and_seed, read_metadata, validate_episode, write_episode,
)
from pokeil_jax.data.episode_format import (
    ABSENT_KEY_COSTS, EPISODE_FORMAT_VERSION, EPISODE_KEYS, FRAME_SHAPE, HOW_TO_COLLECT, NETWORK_INPUT_SHAPE,
    REQUIRED_KEYS, REQUIRED_METADATA, EpisodeFormatError,
)
from pokeil_jax.data.inspect import (
    format_summary, inspect_folder, main, plot_action_histogram, summarize_episodes,
)
from pokeil_jax.data.loader import BatchSampler

__all__ = [
    "ABSENT_KEY_COSTS", "REQUIRED_KEYS", "absent_keys", "BATCH_KEYS", "CACHE_VERSION", "EPISODE_FORMAT_VERSION", "EPISODE_KEYS", "FRAME_SHAPE", "HOW_TO_COLLECT",
    "NETWORK_INPUT_SHAPE", "NUM_ACTIONS", "REQUIRED_METADATA", "BatchSampler", "CachedDemos", "CachedEpisode",
    "EpisodeFormatError", "build_cache", "default_cache_dir", "episode_paths", "format_summary",
    "inspect_folder", "load_demos", "load_episode", "main", "next_episode_index_and_seed",
    "plot_action_histogram", "read_metadata", "shard", "split_episodes", "summarize_episodes",
    "validate_episode", "write_episode",
]
