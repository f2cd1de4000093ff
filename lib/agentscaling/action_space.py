"""The action space of the gameplay data: the paper's Bleeding Edge controller layout (paper §3.1).

Twelve binary buttons, then the x and y axes of the two sticks, each discretised into 11 buckets:
16 dimensions. Every component that reads or predicts actions (the arena game, the datasets, the
action tokens of BC-Token, the heads of BC-CNN) takes its sizes from here."""

from __future__ import annotations

from typing import Sequence

BUTTONS = (
    "attack",
    "heavy",
    "ability1",
    "ability2",
    "ultimate",
    "dash",
    "jump",
    "block",
    "interact",
    "lock_on",
    "ping",
    "emote",
)
AXES = ("move_x", "move_y", "aim_x", "aim_y")
ACTION_NAMES = BUTTONS + AXES
N_BUTTONS = len(BUTTONS)
N_AXES = len(AXES)
AXIS_BUCKETS = 11
AXIS_CENTER = AXIS_BUCKETS // 2  # the resting stick
ACTION_DIMS = N_BUTTONS + N_AXES
ACTION_NVEC: tuple[int, ...] = (2,) * N_BUTTONS + (AXIS_BUCKETS,) * N_AXES
ACTION_LOGITS = sum(ACTION_NVEC)  # one id (or logit) per value of each dimension: 68


def action_dim_names(nvec: Sequence[int]) -> list[str]:
    """Names of the action dimensions: the controller's when the layout matches, else a0, a1, ..."""
    if tuple(int(n) for n in nvec) == ACTION_NVEC:
        return list(ACTION_NAMES)
    return [f"a{i}" for i in range(len(nvec))]
