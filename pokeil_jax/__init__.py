"""pokeil-jax: imitation learning for Pokémon-like GBA games in JAX.

Importing the package registers the Gymnasium envs `pokeil/MiniMon-v0` and
`pokeil/MiniMonQuest-v0` (the long-horizon quest, pokeil_jax/games/minimon/README.md).
"""

import gymnasium

__version__ = "0.1.0"

if "pokeil/MiniMon-v0" not in gymnasium.registry:
    gymnasium.register(id="pokeil/MiniMon-v0", entry_point="pokeil_jax.env:PokemonEnv")
if "pokeil/MiniMonQuest-v0" not in gymnasium.registry:
    gymnasium.register(id="pokeil/MiniMonQuest-v0", entry_point="pokeil_jax.games.minimon.quest:make_env")
