"""pokeil-jax: imitation learning for Pokémon-like GBA games in JAX.

Importing the package registers the Gymnasium env `pokeil/MiniMon-v0`.
"""

import gymnasium

__version__ = "0.1.0"

if "pokeil/MiniMon-v0" not in gymnasium.registry:
    gymnasium.register(id="pokeil/MiniMon-v0", entry_point="pokeil_jax.env:PokemonEnv")
