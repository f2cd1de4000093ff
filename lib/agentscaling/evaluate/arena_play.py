"""Play player 0 of a batch of arena matches with a policy; the other 7 players are the scripted bots.

Matches are seeded (generate.match_rng(seed, m)), so every policy meets the same maps, classes, personas
and bot draws: differences between policies are paired. All matches advance together (the game, bots
and renderer are vectorised over matches), one policy call per step for the whole batch.

Per match: return (the env's reward summed: damage dealt minus taken per 100 hp, +1 per elimination,
-1 per death), damage dealt and taken, eliminations, deaths, team and enemy score (zone points + kills),
win (team ahead when play stops). Per policy: how its actions compare with the demonstrators' — the bot
that would play slot 0 chooses an action on the agent's own frames at every step (an expert label, as
ArenaEnv's info["bot_action"]): the total-variation distance between the two marginal action
distributions per dimension, and how often the two agree."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..action_space import ACTION_NAMES, ACTION_NVEC
from ..data.arena import maps as arena_maps
from ..data.arena.generate import get_renderer, setup_matches

MAX_CLASSES = max(ACTION_NVEC)


@dataclass
class MatchResult:
    matches: pd.DataFrame  # one row per match
    actions: pd.DataFrame  # one row per action dimension: tv, agreement
    frames: np.ndarray | None = field(default=None, repr=False)  # [steps, recorded matches, S, S, 3]

    def summary(self) -> dict[str, float]:
        m = self.matches
        return {
            "return": float(m["return"].mean()),
            "return_se": float(m["return"].std(ddof=1) / np.sqrt(len(m))) if len(m) > 1 else float("nan"),
            "damage_dealt": float(m["damage_dealt"].mean()),
            "kills": float(m["kills"].mean()),
            "deaths": float(m["deaths"].mean()),
            "score_margin": float(m["score_margin"].mean()),
            "win_rate": float(m["win"].mean()),
            "action_tv": float(self.actions["tv"].mean()),
            "action_agreement": float(self.actions["agreement"].mean()),
        }


def _counts(a: np.ndarray) -> np.ndarray:
    """[n_dims, MAX_CLASSES] value counts of actions [B, n_dims]."""
    out = np.zeros((len(ACTION_NVEC), MAX_CLASSES), np.int64)
    for d in range(len(ACTION_NVEC)):
        out[d] += np.bincount(a[:, d], minlength=MAX_CLASSES)[:MAX_CLASSES]
    return out


def play(
    policy,
    matches: int,
    steps: int,
    seed: int,
    episode_steps: int,
    size: int | None = None,
    record: int = 0,
    progress: bool = False,
) -> MatchResult:
    """Play `matches` matches of `steps` steps with `policy` as player 0 (None: the demonstrator bot
    plays it). `episode_steps` is the match length the clock and HUD count down (the dataset's), even when
    play stops earlier; `size` the frame size (default the policy's); `record` matches keep their frames."""
    if matches < 1 or steps < 1:
        raise ValueError(f"need at least one match and one step, got {matches} matches of {steps} steps")
    if steps > episode_steps:
        raise ValueError(f"steps ({steps}) exceeds the match length ({episode_steps})")
    size = int(size or getattr(policy, "frame_size", 64))
    game, bots, setups = setup_matches(seed, list(range(matches)), episode_steps)
    renderer = get_renderer(size)
    viewers = np.stack([np.arange(matches), np.zeros(matches, np.int64)], 1)
    if policy is not None:
        policy.reset(matches)
    dealt = np.zeros(matches)
    taken = np.zeros(matches)
    kills = np.zeros(matches, np.int64)
    deaths = np.zeros(matches, np.int64)
    agent_counts = np.zeros((len(ACTION_NVEC), MAX_CLASSES), np.int64)
    expert_counts = np.zeros_like(agent_counts)
    agree = np.zeros(len(ACTION_NVEC), np.int64)
    frames = np.zeros((steps, min(record, matches), size, size, 3), np.uint8) if record else None
    for t in tqdm(range(steps), desc=getattr(policy, "name", "demonstrators"), leave=False, disable=not progress):
        obs = renderer.render(game, viewers=viewers)
        if frames is not None:
            frames[t] = obs[: frames.shape[1]]
        acts = bots.act()
        expert = acts[:, 0].copy()
        if policy is not None:
            acts[:, 0] = policy.act(obs)
        agent_counts += _counts(acts[:, 0])
        expert_counts += _counts(expert)
        agree += (acts[:, 0] == expert).sum(0)
        game.step(acts)
        dealt += game.dmg_out[:, 0]
        taken += game.dmg_in[:, 0]
        kills += game.got_kill[:, 0]
        deaths += game.died[:, 0]
    score = game.score.astype(float)
    rows = pd.DataFrame(
        {
            "match": np.arange(matches),
            "map": [arena_maps.MAP_NAMES[int(s["map_id"])] for s in setups],
            "return": (dealt - taken) / 100.0 + kills - deaths,
            "damage_dealt": dealt,
            "damage_taken": taken,
            "kills": kills,
            "deaths": deaths,
            "team_score": score[:, 0],
            "enemy_score": score[:, 1],
            "score_margin": score[:, 0] - score[:, 1],
            "win": score[:, 0] > score[:, 1],
        }
    )
    n = steps * matches
    p_agent, p_expert = agent_counts / n, expert_counts / n
    actions = pd.DataFrame(
        {
            "dimension": list(ACTION_NAMES),
            "tv": 0.5 * np.abs(p_agent - p_expert).sum(1),
            "agreement": agree / n,
        }
    )
    return MatchResult(rows, actions, frames)


def open_loop_agreement(policy, ds, episodes: int, steps: int, split: str = "test") -> pd.DataFrame:
    """The policy on recorded play: at every step it sees the recorded frames and (teacher-forced) the
    demonstrators' previous actions, as in training; per action dimension, how often its action equals
    the recorded one. Set beside the closed-loop agreement of play(), the gap is the compounding of the
    agent's own mistakes once it acts."""
    lengths = ds.episodes.set_index("episode_id")["length"]
    ids = [e for e in ds.split_ids(split) if int(lengths.loc[e]) >= steps][:episodes]
    if not ids:
        raise ValueError(f"no {split} episode has {steps} steps")
    frames = np.stack([np.asarray(ds.frames(e)[:steps]) for e in ids], 1)  # [T, B, S, S, 3]
    actions = np.stack([np.asarray(ds.actions(e)[:steps]) for e in ids], 1)
    policy.reset(len(ids))
    agree = np.zeros(len(ACTION_NVEC))
    for t in range(steps):
        a = policy.act(frames[t])
        agree += (a == actions[t]).mean(0)
        policy.teacher_force(actions[t])
    return pd.DataFrame({"dimension": list(ACTION_NAMES), "agreement": agree / steps})
