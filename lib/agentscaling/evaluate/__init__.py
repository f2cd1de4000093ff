"""Trained checkpoints put to work: behaviour-cloning agents playing the arena, world models rolled out
against the real game (paper §2.2: is pre-training loss a proxy for how well the agent plays?)."""

from .arena_play import MatchResult, open_loop_agreement, play
from .checkpoints import Checkpoint, load_checkpoint
from .policies import CNNPolicy, MarginalPolicy, RandomPolicy, TokenPolicy, policy_for
from .rollouts import held_out_clips, rollout, rollout_metrics

__all__ = [
    "CNNPolicy",
    "Checkpoint",
    "MarginalPolicy",
    "MatchResult",
    "RandomPolicy",
    "TokenPolicy",
    "held_out_clips",
    "load_checkpoint",
    "open_loop_agreement",
    "play",
    "policy_for",
    "rollout",
    "rollout_metrics",
]
