"""Is pre-training loss a proxy for how well an agent plays? (paper §2.2, notebook 09)

The paper could support it only indirectly; our game runs, so we test it directly on every finished
checkpoint of the BC and WM ladders:
- each BC checkpoint plays player 0 of the same seeded arena matches (evaluate.arena_play), and its
  playing strength is set against its held-out loss;
- each WM checkpoint imagines held-out clips from their first frame and real actions
  (evaluate.rollouts), and its error against the real frames is set against its loss.

The claim is an ordering ("lower loss, better agent"), judged by the project's one rule: the Spearman
correlation's bootstrap probability of the paper's sign. The bootstrap is hierarchical: it resamples
checkpoints, and within each drawn checkpoint its matches (or clips), so the interval carries both the
spread between checkpoints and the noise of a finite number of matches.

Evaluations are cached in each run's directory (eval-<kind>-<hash>.parquet, the hash of the settings
and the evaluation code's version), so re-running the notebook only evaluates new checkpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from .. import presets
from ..charts.images import image_grid, save_gif, save_png, side_by_side
from ..data.dataset import TrajectoryDataset
from ..errors import UserError
from ..evaluate import (
    MarginalPolicy,
    RandomPolicy,
    held_out_clips,
    load_checkpoint,
    open_loop_agreement,
    play,
    policy_for,
    rollout,
    rollout_metrics,
)
from ..evaluate.rollouts import psnr_of_mse
from ..io import atomic_write_parquet, config_hash
from ..prepare import locate
from ..store import summarize
from ..studies import get_study
from ..sweep.core import existing_runs
from .runs import resolve_store
from .verdicts import ClaimRow, ordering_verdict

NOTEBOOK = "09_loss_as_proxy"
BC_STUDIES = ("bc-token-64", "bc-cnn")
WM_STUDY = "wm-token-64"
PLAY_METRIC = "damage_dealt"  # playing strength: the agent's own contribution (the team's score is shared)
ROLLOUT_METRIC = "psnr"  # rollout fidelity: PSNR of the mean squared error over clips and horizons
EVAL_VERSION = 1  # bump when the evaluation code changes what it measures: cached results are then redone
PAPER_DIRECTION = "< 0: lower loss, better agent (§2.2)"


def bootstrap_replicates(bootstrap: int | None, preset: str | presets.Preset) -> int:
    """Replicates per correlation: 5x the preset's fits' (a correlation's bootstrap is cheap)."""
    return 5 * presets.get(preset).bootstrap if bootstrap is None else int(bootstrap)


def checkpoints(store, preset: str | presets.Preset, names: Sequence[str]) -> pd.DataFrame:
    """The finished runs (with model.pt) of the studies' current configs on their current data."""
    p = presets.get(preset)
    store = resolve_store(store, p)
    rows = []
    for name in names:
        study = get_study(name, p)
        prepared = locate(study)
        if prepared is None:
            continue
        for z, run in existing_runs(study, store, prepared):
            s = summarize(run)
            if s["status"] != "done" or not (run.path / "model.pt").exists():
                continue
            rows.append(
                {
                    "study": name,
                    "size": z.label,
                    "seed": int(run.read_config()["config"].get("seed", 0)),
                    "N": float(s["N"]),
                    "loss": float(s["final_loss"]),
                    "run_dir": str(run.path),
                }
            )
    cols = ["study", "size", "seed", "N", "loss", "run_dir"]
    return pd.DataFrame(rows, columns=cols).sort_values(["study", "N", "seed"]).reset_index(drop=True)


def _cached(run_dir: str | Path, kind: str, settings: dict[str, Any], compute: Callable[[], pd.DataFrame]):
    path = Path(run_dir) / f"eval-{kind}-{config_hash({**settings, 'version': EVAL_VERSION})}.parquet"
    if path.exists():
        return pd.read_parquet(path)
    df = compute()
    atomic_write_parquet(path, df)
    return df


def _play_settings(p: presets.Preset) -> dict[str, Any]:
    s = p.proxy
    return {
        "matches": s.matches,
        "steps": s.match_steps,
        "seed": s.seed,
        "greedy": s.greedy,
        "episode_steps": p.data.arena.episode_steps,
    }


def _frame(result, **labels) -> pd.DataFrame:
    m = result.matches.assign(**labels)
    for col, v in result.summary().items():
        if col.startswith("action_"):
            m[col] = v
    return m


def _open_loop(policy, ds: TrajectoryDataset, s: presets.ProxySettings) -> float:
    return float(open_loop_agreement(policy, ds, s.open_loop_episodes, s.open_loop_steps)["agreement"].mean())


def play_table(ckpts: pd.DataFrame, preset: str | presets.Preset, progress: bool = True) -> pd.DataFrame:
    """One row per (checkpoint, match), with the checkpoint's open-loop agreement (open_loop_agreement:
    on recorded test play with the real history), and the same matches played by three references: a
    uniform-random policy, a policy drawing from the demonstrators' marginal action distribution (blind to
    the frames), and the demonstrators themselves (the bots)."""
    if ckpts.empty:
        raise UserError("no finished BC checkpoint to put in the arena: train the BC studies first")
    p = presets.get(preset)
    s = p.proxy
    st = _play_settings(p)
    play_args = dict(matches=st["matches"], steps=st["steps"], seed=st["seed"], episode_steps=st["episode_steps"])
    ds = TrajectoryDataset(load_checkpoint(ckpts["run_dir"].iloc[0]).config["data"]["dataset"])
    train_actions = np.concatenate([np.asarray(ds.actions(e)) for e in ds.split_ids("train")])
    references = {"random": RandomPolicy(st["seed"]), "marginal": MarginalPolicy(train_actions, st["seed"])}
    frames = []
    for name, pol in references.items():
        ref = _frame(play(pol, **play_args), study=name, size="", seed=0, N=np.nan, loss=np.nan)
        frames.append(ref.assign(open_loop_agreement=_open_loop(pol, ds, s)))
    demo = _frame(play(None, **play_args), study="demonstrators", size="", seed=0, N=np.nan, loss=np.nan)
    frames.append(demo.assign(open_loop_agreement=np.nan))
    open_st = {"episodes": s.open_loop_episodes, "steps": s.open_loop_steps, "greedy": s.greedy, "seed": s.seed}
    for r in tqdm(list(ckpts.itertuples()), desc="BC agents in the arena", disable=not progress):

        def run(r=r) -> pd.DataFrame:
            pol = policy_for(load_checkpoint(r.run_dir), greedy=st["greedy"], seed=st["seed"])
            return _frame(play(pol, **play_args))

        def run_open(r=r) -> pd.DataFrame:
            ckpt = load_checkpoint(r.run_dir)
            pol = policy_for(ckpt, greedy=s.greedy, seed=s.seed)
            ds_r = TrajectoryDataset(ckpt.config["data"]["dataset"])
            return pd.DataFrame({"open_loop_agreement": [_open_loop(pol, ds_r, s)]})

        df = _cached(r.run_dir, "play", st, run)
        agreement = float(_cached(r.run_dir, "openloop", open_st, run_open)["open_loop_agreement"].iloc[0])
        frames.append(
            df.assign(study=r.study, size=r.size, seed=r.seed, N=r.N, loss=r.loss, open_loop_agreement=agreement)
        )
    return pd.concat(frames, ignore_index=True)


def play_summary(matches: pd.DataFrame) -> pd.DataFrame:
    """One row per checkpoint (and reference): mean playing statistics over its matches."""
    g = matches.groupby(["study", "size", "seed"], sort=False, dropna=False)
    out = g.agg(
        N=("N", "first"),
        loss=("loss", "first"),
        matches=("match", "size"),
        damage_dealt=("damage_dealt", "mean"),
        damage_dealt_se=("damage_dealt", lambda x: x.std(ddof=1) / np.sqrt(len(x))),
        kills=("kills", "mean"),
        deaths=("deaths", "mean"),
        score_margin=("score_margin", "mean"),
        win_rate=("win", "mean"),
        ret=("return", "mean"),
        action_tv=("action_tv", "first"),
        action_agreement=("action_agreement", "first"),
        open_loop_agreement=("open_loop_agreement", "first"),
    )
    return out.rename(columns={"ret": "return"}).reset_index()


def _clips(ckpt, s: presets.ProxySettings):
    """The held-out clips of the checkpoint's dataset: frames, actions and their codes [C, H+1, k]."""
    ds = TrajectoryDataset(ckpt.config["data"]["dataset"])
    f, a = held_out_clips(ds, s.clips, s.horizon, seed=s.seed)
    codes = ckpt.tokenizer.encode(f.reshape(-1, *f.shape[2:])).reshape(*f.shape[:2], -1)
    return f, a, codes


def _imagine(ckpt, a: np.ndarray, codes: np.ndarray, s: presets.ProxySettings) -> tuple[np.ndarray, np.ndarray]:
    """The checkpoint's rollout of the clips (from their first frame's codes and real actions): imagined
    codes [C, H, k] and their decoded frames [C, H, S, S, 3]."""
    gen = rollout(ckpt, codes[:, 0], a, greedy=s.greedy, seed=s.seed)
    frames = ckpt.tokenizer.decode(gen.reshape(-1, gen.shape[-1]))
    return gen, frames.reshape(*gen.shape[:2], *frames.shape[1:])


def rollout_references(ckpt, s: presets.ProxySettings) -> pd.DataFrame:
    """On the same clips: the tokenizer's reconstruction of the real frames (the best any world model can
    do through this tokenizer) and a model of no motion (the first frame, copied)."""
    f, _, codes = _clips(ckpt, s)
    recon = ckpt.tokenizer.decode(codes.reshape(-1, codes.shape[-1])).reshape(f.shape)
    copy_codes, copy_frames = np.repeat(codes[:, :1], s.horizon, 1), np.repeat(recon[:, :1], s.horizon, 1)
    refs = {
        "tokenizer": rollout_metrics(f[:, 1:], recon[:, 1:], codes[:, 1:], codes[:, 1:]),
        "copy first frame": rollout_metrics(f[:, 1:], copy_frames, codes[:, 1:], copy_codes),
    }
    return pd.concat([r.assign(study=k, size="", seed=0, N=np.nan, loss=np.nan) for k, r in refs.items()])


def rollout_table(ckpts: pd.DataFrame, preset: str | presets.Preset, progress: bool = True) -> pd.DataFrame:
    """One row per (checkpoint, clip, horizon) of imagined against real frames, plus the references of
    rollout_references on the same clips."""
    s = presets.get(preset).proxy
    settings = {"clips": s.clips, "horizon": s.horizon, "seed": s.seed, "greedy": s.greedy}
    frames: list[pd.DataFrame] = []
    for r in tqdm(list(ckpts.itertuples()), desc="world-model rollouts", disable=not progress):

        def run(r=r) -> pd.DataFrame:
            ckpt = load_checkpoint(r.run_dir)
            f, a, codes = _clips(ckpt, s)
            imagined, decoded = _imagine(ckpt, a, codes, s)
            return rollout_metrics(f[:, 1:], decoded, codes[:, 1:], imagined)

        df = _cached(r.run_dir, "rollout", settings, run)
        frames.append(df.assign(study=r.study, size=r.size, seed=r.seed, N=r.N, loss=r.loss))
    if not frames:
        return pd.DataFrame()
    frames.append(rollout_references(load_checkpoint(ckpts["run_dir"].iloc[0]), s))
    return pd.concat(frames, ignore_index=True)


def rollout_summary(rows: pd.DataFrame, by_horizon: bool = False) -> pd.DataFrame:
    """Per checkpoint (and reference), or per (checkpoint, horizon): PSNR of the mean MSE, mean SSIM and
    token accuracy."""
    keys = ["study", "size", "seed"] + (["horizon"] if by_horizon else [])
    g = rows.groupby(keys, sort=False, dropna=False)
    out = g.agg(
        N=("N", "first"),
        loss=("loss", "first"),
        mse=("mse", "mean"),
        ssim=("ssim", "mean"),
        token_accuracy=("token_accuracy", "mean"),
    ).reset_index()
    out.insert(len(keys) + 2, "psnr", psnr_of_mse(out["mse"].to_numpy()))
    return out


def correlation(
    units: pd.DataFrame,
    y: str,
    unit: str,
    bootstrap: int = 1000,
    seed: int = 0,
    aggregate: Callable[[np.ndarray], float] = np.mean,
) -> dict[str, Any]:
    """Spearman and Pearson correlation between checkpoints' loss and a statistic of their units (matches
    or clip-horizons: `aggregate` of column `y` over a checkpoint's units), with hierarchical bootstrap
    95 % intervals and P(ρ < 0), the paper's direction when `y` is better when higher."""
    groups = [(float(g["loss"].iloc[0]), g[y].to_numpy(float)) for _, g in units.groupby("run_key", sort=True)]
    n = len(groups)
    out: dict[str, Any] = {"y": y, "checkpoints": n, "units_per_checkpoint": unit}
    if n < 3:
        return {**out, "spearman": None, "pearson": None, "p_negative": None, "note": f"{n} checkpoint(s) (< 3)"}
    loss = np.array([g[0] for g in groups])
    val = np.array([aggregate(g[1]) for g in groups])
    if np.ptp(val) == 0 or not np.all(np.isfinite(val)):
        why = "the measure is the same for every checkpoint" if np.ptp(val) == 0 else "the measure is not finite"
        return {**out, "spearman": None, "pearson": None, "p_negative": None, "note": why}
    out["spearman"] = float(stats.spearmanr(loss, val).statistic)
    out["pearson"] = float(stats.pearsonr(loss, val).statistic)
    rng = np.random.default_rng(seed)
    rs, rp = [], []
    for _ in range(bootstrap):
        pick = rng.integers(0, n, n)
        lb = loss[pick]
        if np.ptp(lb) == 0:
            continue
        vb = np.array([aggregate(groups[i][1][rng.integers(0, len(groups[i][1]), len(groups[i][1]))]) for i in pick])
        if np.ptp(vb) == 0:
            continue
        rs.append(stats.spearmanr(lb, vb).statistic)
        rp.append(stats.pearsonr(lb, vb).statistic)
    rs, rp = np.array(rs, float), np.array(rp, float)
    rs, rp = rs[np.isfinite(rs)], rp[np.isfinite(rp)]
    out.update(
        spearman_lo=float(np.quantile(rs, 0.025)) if len(rs) else None,
        spearman_hi=float(np.quantile(rs, 0.975)) if len(rs) else None,
        pearson_lo=float(np.quantile(rp, 0.025)) if len(rp) else None,
        pearson_hi=float(np.quantile(rp, 0.975)) if len(rp) else None,
        p_negative=float(np.mean(rs < 0)) if len(rs) else None,
        replicates=int(len(rs)),
    )
    return out


def _units(rows: pd.DataFrame, study: str) -> pd.DataFrame:
    u = rows[rows["study"] == study].copy()
    u["run_key"] = u["size"].astype(str) + "/" + u["seed"].astype(str)
    return u


def _mse_to_psnr(mse: np.ndarray) -> float:
    return float(psnr_of_mse(np.mean(mse)))


def correlations(
    matches: pd.DataFrame | None, rollouts: pd.DataFrame | None, bootstrap: int = 1000, seed: int = 0
) -> list[dict[str, Any]]:
    """Loss against playing strength per BC study (damage dealt, the team's score margin; and, marked
    diagnostic, the open-loop agreement with the recorded actions, which the loss measures almost by
    construction), and against rollout fidelity (PSNR; SSIM) for the WM study. Each is oriented so that
    "better" is higher: the paper's direction is ρ < 0."""
    out = []
    for study in BC_STUDIES:
        if matches is None or not (matches["study"] == study).any():
            continue
        u = _units(matches, study)
        for y in (PLAY_METRIC, "score_margin"):
            c = {"study": study, **correlation(u, y, "match", bootstrap, seed)}
            best, floor = u.groupby("run_key")[y].mean().max(), matches.loc[matches["study"] == "random", y].mean()
            if best <= floor:  # the correlation then ranks agents that all play worse than chance
                c["floor"] = f"no checkpoint beats the random policy (best {best:.3g}, random {floor:.3g})"
            out.append(c)
        # teacher-forced, as the loss itself: a diagnostic of the checkpoints, not the paper's claim
        ol = u.groupby("run_key", as_index=False).first()
        out.append(
            {"study": study, "diagnostic": True, **correlation(ol, "open_loop_agreement", "none", bootstrap, seed)}
        )
    if rollouts is not None and (rollouts["study"] == WM_STUDY).any():
        u = _units(rollouts, WM_STUDY)
        out.append({"study": WM_STUDY, **correlation(u, "mse", "clip x horizon", bootstrap, seed, _mse_to_psnr)})
        out[-1]["y"] = ROLLOUT_METRIC
        out.append({"study": WM_STUDY, **correlation(u, "ssim", "clip x horizon", bootstrap, seed)})
    return out


def proxy_claims(corrs: Sequence[dict[str, Any]], preset: str | presets.Preset) -> list[ClaimRow]:
    """One claim row per correlation: the paper's direction (lower loss, better agent) judged by the
    ordering rule on P(ρ < 0); rows that cannot be judged say why."""
    p = presets.get(preset)
    rows = []
    for c in corrs:
        if c.get("diagnostic"):
            continue
        not_identified = [c["note"]] if c.get("note") else []
        verdict = ordering_verdict(c.get("p_negative"), not_identified)
        note = f"{c['checkpoints']} checkpoints, {c['units_per_checkpoint']} resampled within each"
        if c.get("pearson_lo") is not None:
            note += f"; Pearson r = {c['pearson']:.2f} [{c['pearson_lo']:.2f}, {c['pearson_hi']:.2f}]"
        if c.get("floor"):
            note += "; " + c["floor"]
        study = get_study(c["study"], p)
        if getattr(study, "not_measurable", ""):
            note += "; this ladder's losses barely depend on size at this preset"
        rows.append(
            ClaimRow(
                study=c["study"],
                method="spearman",
                quantity=f"ρ(loss, {c['y'].replace('_', ' ')})",
                ours=c.get("spearman"),
                ci_low=c.get("spearman_lo"),
                ci_high=c.get("spearman_hi"),
                paper=PAPER_DIRECTION,
                verdict=str(verdict),
                note=note,
                notebook=NOTEBOOK,
            )
        )
    return rows


def best_vs_references(matches: pd.DataFrame, metric: str = PLAY_METRIC) -> pd.DataFrame:
    """Each study's lowest-loss checkpoint against the references on the same matches: the paired
    (match-by-match) difference in `metric` with its standard error, and its closed- and open-loop
    agreement with the demonstrators beside theirs."""
    refs = ("random", "marginal", "demonstrators")
    by_ref = {r: matches[matches["study"] == r].set_index("match") for r in refs}
    rows = []
    for study in BC_STUDIES:
        m = matches[matches["study"] == study]
        if m.empty:
            continue
        best = m.loc[m["loss"].idxmin()]
        b = m[(m["size"] == best["size"]) & (m["seed"] == best["seed"])].set_index("match")
        row = {
            "study": study,
            "checkpoint": f"{best['size']} seed {best['seed']}",
            "loss": float(best["loss"]),
            metric: float(b[metric].mean()),
            "closed-loop agreement": float(b["action_agreement"].iloc[0]),
            "open-loop agreement": float(b["open_loop_agreement"].iloc[0]),
        }
        for r in refs:
            ref = by_ref[r]
            if ref.empty:
                continue
            diff = b[metric] - ref[metric].reindex(b.index)
            se = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else np.nan
            row[f"{metric} − {r}"] = f"{diff.mean():+.2f} ± {se:.2f}"
            row[f"{r}: closed-loop agreement"] = float(ref["action_agreement"].iloc[0])
        rows.append(row)
    return pd.DataFrame(rows)


def match_video(ckpts: pd.DataFrame, preset: str | presets.Preset, path: str | Path, steps: int = 150) -> Path:
    """An animated GIF of one match as player 0 sees it, played by the smallest and the largest checkpoint
    of the first BC study present in BC_STUDIES order (BC-Token first; seed 0 where there is one) and by
    the demonstrator bot, side by side."""
    p = presets.get(preset)
    st = _play_settings(p)
    study = next(s for s in [*BC_STUDIES, *ckpts["study"]] if (ckpts["study"] == s).any())
    t = ckpts[ckpts["study"] == study].sort_values(["N", "seed"])
    picks = [t.iloc[0], t[t["N"] == t["N"].max()].iloc[0]]
    steps = min(steps, st["steps"])
    args = dict(matches=1, steps=steps, seed=st["seed"], episode_steps=st["episode_steps"], record=1)
    videos, labels = [], []
    for r in picks:
        pol = policy_for(load_checkpoint(r["run_dir"]), greedy=st["greedy"], seed=st["seed"])
        videos.append(play(pol, **args).frames[:, 0])
        labels.append(f"{r['size']} loss {r['loss']:.3f}")
    size = videos[0].shape[1]
    videos.append(play(None, size=size, **args).frames[:, 0])
    labels.append("demonstrator bot")
    return save_gif(side_by_side(videos, labels), path)


def rollout_pictures(ckpts: pd.DataFrame, preset: str | presets.Preset, png: str | Path, gif: str | Path):
    """The largest WM checkpoint's imagined frames beside the real ones for the first held-out clips: a
    PNG strip (rows: real, imagined, per clip) and a GIF of the first clip (real | imagined | smallest
    checkpoint's imagined)."""
    s = presets.get(preset).proxy
    t = ckpts.sort_values(["N", "seed"])
    picks = [t.iloc[0], t[t["N"] == t["N"].max()].iloc[0]]  # smallest, largest
    imagined = []
    for r in picks:
        ckpt = load_checkpoint(r["run_dir"])
        f, a, codes = _clips(ckpt, s)
        imagined.append(_imagine(ckpt, a, codes, s)[1])
    small, large = imagined
    rows = []
    for c in range(min(3, len(f))):
        rows += [f[c, 1:], large[c]]
    save_png(image_grid(rows, scale=2), png)
    labels = ["real", f"wm {picks[1]['size']}", f"wm {picks[0]['size']}"]
    video = side_by_side([f[0, 1:], large[0], small[0]], labels)
    save_gif(video, gif, fps=2.0)
    return Path(png), Path(gif)


def correlation_table(corrs: Sequence[dict[str, Any]]) -> pd.DataFrame:
    cols = ["study", "y", "checkpoints", "spearman", "spearman_lo", "spearman_hi", "pearson", "pearson_lo"]
    cols += ["pearson_hi", "p_negative", "diagnostic", "note"]
    t = pd.DataFrame(list(corrs))
    return t.reindex(columns=cols).assign(diagnostic=lambda d: d["diagnostic"].eq(True))
