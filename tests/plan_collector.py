"""The seed plan's own data-collection loop ("Option 1: Record from Existing Code Agent" in the
plan), kept as the plan wrote it: lists of observations, actions, rewards and dones, saved with
`np.savez_compressed` under `episode_{episode:04d}.npz` from 0000. Only the env, the agent, the
folder and the episode count are filled in. `with_infos=True` also appends each step's info
dict, as the plan's format table lists (`'infos': List[dict]`), which numpy stores as a pickled
object array.
"""

import numpy as np


def collect_like_the_plan(folder, num_episodes=2, max_steps=6, with_infos=False):
    from pokeil_jax.env import PokemonEnv
    from pokeil_jax.experts import make_expert

    env = PokemonEnv(max_episode_steps=max_steps)
    agent = make_expert("scripted")
    folder.mkdir(parents=True, exist_ok=True)
    for episode in range(num_episodes):
        obs, info = env.reset()
        agent.reset()
        episode_data = {
            'observations': [],
            'actions': [],
            'rewards': [],
            'dones': []
        }
        if with_infos:
            episode_data['infos'] = []

        done = False
        while not done:
            # Get action from code agent
            action = agent.get_action(obs, info)

            # Step environment
            next_obs, reward, terminated, truncated, info = env.step(action)
            done = terminated or truncated

            # Store
            episode_data['observations'].append(obs)
            episode_data['actions'].append(action)
            episode_data['rewards'].append(reward)
            episode_data['dones'].append(done)
            if with_infos:
                episode_data['infos'].append(info)

            obs = next_obs

        # Save episode
        np.savez_compressed(
            folder / f"episode_{episode:04d}.npz",
            **episode_data,
            episode_return=sum(episode_data['rewards']),
            episode_length=len(episode_data['rewards'])
        )
    env.close()
    return folder
