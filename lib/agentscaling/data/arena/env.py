"""The arena as a Gymnasium environment: you control player 0 (team 0), bots play the other 7.

    import gymnasium as gym
    import agentscaling.data.arena.env  # registers "agentscaling/Arena-v0"
    env = gym.make("agentscaling/Arena-v0", map_id="canyon", size=64)

Observation: the player's egocentric RGB view, uint8 (size, size, 3), exactly what the dataset
records. Action: MultiDiscrete([2]*12 + [11]*4), the dataset's controller layout. Reward: damage
dealt minus damage taken (per 100 hp), +1 per kill, -1 per death. An episode is one match and ends
by truncation after `episode_steps` steps. `info["bot_action"]` is what the bot that would
otherwise play this slot chose (an expert label for imitation, e.g. DAgger).
"""

from __future__ import annotations

from typing import Any, Sequence

import gymnasium as gym
import numpy as np

from ...action_space import ACTION_NVEC
from . import bots as arena_bots
from . import game as rules
from . import maps as arena_maps
from .generate import DEFAULT_EPISODE_STEPS, get_renderer

ENV_ID = "agentscaling/Arena-v0"


class ArenaEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": rules.HZ}

    def __init__(
        self,
        map_id: int | str | None = None,
        size: int = 64,
        seed: int | None = None,
        persona_of_others: str | Sequence[str] | None = None,
        episode_steps: int = DEFAULT_EPISODE_STEPS,
        render_mode: str | None = None,
    ):
        self.map_id = None if map_id is None else arena_maps.map_id_of(map_id)
        if self.map_id is not None and not 0 <= self.map_id < arena_maps.N_MAPS:
            raise ValueError(f"map_id must be in 0..{arena_maps.N_MAPS - 1} or a map name, got {map_id!r}")
        self.size = int(size)
        self.episode_steps = int(episode_steps)
        self.others = self._personas(persona_of_others)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0, 255, (self.size, self.size, 3), np.uint8)
        self.action_space = gym.spaces.MultiDiscrete(np.array(ACTION_NVEC, np.int64))
        self._renderer = get_renderer(self.size)
        self._seed = seed
        self._game: rules.Game | None = None
        self._obs: np.ndarray | None = None

    @staticmethod
    def _personas(spec) -> np.ndarray | None:
        """None -> random per match; a name -> all 7 others; a list of 7 names -> players 1..7."""
        if spec is None:
            return None
        names = [spec] * (rules.N_PLAYERS - 1) if isinstance(spec, str) else list(spec)
        if len(names) != rules.N_PLAYERS - 1:
            raise ValueError(f"persona_of_others needs one name or {rules.N_PLAYERS - 1}, got {len(names)}")
        bad = [n for n in names if n not in arena_bots.PERSONAS]
        if bad:
            raise ValueError(f"unknown persona(s) {bad}; choose from {', '.join(arena_bots.PERSONAS)}")
        return np.array([0] + [arena_bots.PERSONAS.index(n) for n in names])

    def _observe(self) -> np.ndarray:
        return self._renderer.render(self._game, viewers=np.array([[0, 0]]))[0].copy()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is None and self._seed is not None and self._game is None:
            seed = self._seed
        super().reset(seed=seed)
        rng = np.random.default_rng(int(self.np_random.integers(2**63)))
        pers = None
        if self.others is not None:
            pers = self.others.copy()
            pers[0] = rng.integers(len(arena_bots.PERSONAS))
        setup = arena_bots.sample_match(rng, map_id=self.map_id, personas=pers)
        self._setup = setup
        self._game = rules.Game(np.array([setup["map_id"]]), setup["classes"][None], self.episode_steps)
        self._bots = arena_bots.Bots(self._game, [setup["styles"]], [rng])
        self._obs = self._observe()
        return self._obs, self._info(None)

    def _info(self, bot_action) -> dict:
        g = self._game
        info = {
            "map": arena_maps.MAP_NAMES[int(g.map_id[0])],
            "personas": [arena_bots.PERSONAS[int(p)] for p in self._setup["personas"]],
            "classes": [rules.CLASSES[int(c)].name for c in self._setup["classes"]],
            "t": g.t,
            "hp": float(g.hp[0, 0]),
            "alive": bool(g.alive[0, 0]),
            "kills": int(g.kills[0, 0]),
            "deaths": int(g.deaths[0, 0]),
            "score": g.score[0].tolist(),
        }
        if bot_action is not None:
            info["bot_action"] = bot_action
        return info

    def step(self, action):
        if self._game is None:
            raise RuntimeError("call reset() before step()")
        a = np.asarray(action).reshape(-1)
        if a.shape != (len(ACTION_NVEC),) or np.any(a < 0) or np.any(a >= np.asarray(ACTION_NVEC)):
            raise ValueError(f"action must be {len(ACTION_NVEC)} ints within {list(ACTION_NVEC)}, got {action!r}")
        acts = self._bots.act()
        bot_action = acts[0, 0].copy()
        acts[0, 0] = a.astype(np.uint8)
        g = self._game
        g.step(acts)
        reward = float((g.dmg_out[0, 0] - g.dmg_in[0, 0]) / 100.0 + g.got_kill[0, 0] - g.died[0, 0])
        truncated = g.t >= self.episode_steps
        self._obs = self._observe()
        return self._obs, reward, False, truncated, self._info(bot_action)

    def render(self):
        if self.render_mode == "rgb_array":
            return None if self._obs is None else self._obs.copy()
        return None


def register() -> None:
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point="agentscaling.data.arena.env:ArenaEnv", disable_env_checker=False)


register()
