"""Frame tokenizers: encode/decode stability, the token cache (round trip, counts, corruption),
action tokens, sequence layout and masks, resumable training, the CLI."""

import json
import warnings

import numpy as np
import pytest
import torch

from agentscaling import presets
from agentscaling.errors import DataIntegrityError, UserError
from agentscaling.tokenize import (
    VQVAE,
    ActionTokenizer,
    CacheInvalid,
    SequenceBuilder,
    VQConfig,
    encode_dataset,
    load_tokenizer,
    open_cache,
    train_tokenizer,
)
from agentscaling.tokenize.synthetic import SyntheticDataset

SMOKE_TOKENIZER = presets.SMOKE.tokenizer

# A smoke-preset tokenizer, on 32×32 frames to keep the suite fast, trained a little longer than the
# preset so its codes mean something.
STABLE_STEPS = 100
# Stability of encode → decode → encode, on held-out frames:
# * at least REENCODE_MIN of the codes come back (chance, for codes drawn from the same histogram,
#   is sum p² ≈ 1/perplexity, about 0.03 here; this model gives ≈ 0.65),
# * and the round trip contracts: re-encoding a reconstruction moves the image at least
#   CONTRACTION_DB less (in PSNR) than encoding the original did (≈ 17 dB here).
REENCODE_MIN = 0.4
CONTRACTION_DB = 5.0


@pytest.fixture(scope="module")
def ds():
    return SyntheticDataset(n_episodes=10, episode_len=40, seed=1, size=32)


@pytest.fixture(scope="module")
def tok(ds, tmp_path_factory):
    store = tmp_path_factory.mktemp("store")
    return train_tokenizer(
        ds, 16, settings=SMOKE_TOKENIZER, store=store, steps=STABLE_STEPS, batch_size=32, codebook_size=64
    )


# -- model ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("grid", [4, 6, 8, 10, 16])
def test_any_square_grid_gives_grid_squared_tokens(grid):
    m = VQVAE(VQConfig(grid=grid, codebook_size=32)).eval()
    frames = np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    codes = m.encode(frames)
    assert codes.shape == (3, grid * grid)
    assert int(codes.min()) >= 0 and int(codes.max()) < 32
    assert m.decode(codes).shape == (3, 64, 64, 3)


def test_bad_grid_and_tokens_are_refused(ds, tmp_path):
    with pytest.raises(UserError, match="square"):
        train_tokenizer(ds, 15, settings=SMOKE_TOKENIZER, store=tmp_path)
    with pytest.raises(UserError, match="grid"):
        VQConfig(grid=40).validate()
    with pytest.raises(UserError, match="codebook_size"):
        VQConfig(codebook_size=70000).validate()


def test_encode_decode_encode_is_stable(tok, ds):
    from agentscaling.tokenize import psnr_uint8

    frames = np.concatenate([ds.frames(e) for e in ds.split_ids("val")])
    c1 = tok.encode(frames)
    r1 = tok.decode(c1)
    c2 = tok.encode(r1)
    r2 = tok.decode(c2)
    agree = (c1 == c2).mean()
    p = np.bincount(c1.ravel(), minlength=tok.codebook_size) / c1.size
    chance = float((p**2).sum())
    assert agree >= REENCODE_MIN, f"only {agree:.2f} of codes survive encode→decode→encode"
    assert agree >= 4 * chance, (agree, chance)
    assert psnr_uint8(r2, r1) >= psnr_uint8(r1, frames) + CONTRACTION_DB
    # decoding is deterministic and encoding a batch equals encoding frame by frame
    assert np.array_equal(tok.decode(c1[:5]), tok.decode(c1[:5]))
    assert np.array_equal(tok.encode(frames[:7], batch_size=3), tok.encode(frames[:7]))
    assert c1.dtype == np.uint16 and c1.shape == (len(frames), 16)


def test_training_beats_an_untrained_model_and_reports_health(tok, ds):
    info = json.loads((tok.path / "tokenizer.json").read_text())
    assert info["hash"] == tok.hash
    fresh = VQVAE(tok.config)  # same architecture, untrained (codebook uniformly random)
    frames = np.concatenate([ds.frames(e) for e in ds.split_ids("val")])
    from agentscaling.tokenize import psnr_uint8

    assert info["psnr"] > psnr_uint8(fresh.reconstruct(frames).numpy(), frames) + 3
    assert 0 < info["usage"] <= 1 and 1 <= info["perplexity"] <= tok.codebook_size
    assert info["tokens_per_frame"] == 16 and info["bits_per_frame"] == 16 * 6


def test_tokenizer_checkpoint_loads_weights_only_and_hash_is_of_the_file(tok, tmp_path):
    from agentscaling.io import sha256_file

    path = tok.path / "tokenizer.pt"
    assert sha256_file(path) == tok.hash
    obj = torch.load(path, weights_only=True)
    assert obj["format"] == "agentscaling.vqvae/1"
    again = load_tokenizer(tok.path)
    frames = np.random.default_rng(3).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    assert np.array_equal(again.encode(frames), tok.encode(frames))
    with pytest.raises(ValueError, match="32×32"):
        tok.encode(np.zeros((1, 64, 64, 3), np.uint8))
    bad = tmp_path / "tokenizer.pt"
    bad.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataIntegrityError):
        load_tokenizer(bad)


def test_done_run_is_loaded_not_retrained(tok, ds):
    again = train_tokenizer(
        ds,
        16,
        settings=SMOKE_TOKENIZER,
        store=tok.path.parent.parent,
        steps=STABLE_STEPS,
        batch_size=32,
        codebook_size=64,
    )
    assert again.hash == tok.hash and again.path == tok.path


# -- cache ------------------------------------------------------------------------------------------
def test_cache_round_trip_and_counts(tok, ds, tmp_path):
    cache = encode_dataset(ds, tok, cache_dir=tmp_path)
    assert cache.array.dtype == np.uint16
    assert cache.array.shape == (ds.manifest["n_frames"], 16)
    for eid, length in zip(ds.episodes["episode_id"], ds.episodes["length"]):
        z = cache.tokens(eid)
        assert z.shape == (length, 16)
        assert np.array_equal(z, tok.encode(ds.frames(eid)))
    # decoding the cached codes gives the tokenizer's reconstructions
    assert np.array_equal(tok.decode(cache.tokens(0)[:4]), tok.decode(tok.encode(ds.frames(0)[:4])))
    # reopening uses the verified cache without rebuilding
    mtime = (cache.path / "tokens.npy").stat().st_mtime_ns
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = encode_dataset(ds, tok.path, cache_dir=tmp_path)
    assert again.path == cache.path and (cache.path / "tokens.npy").stat().st_mtime_ns == mtime


def test_cache_is_keyed_by_dataset_and_tokenizer(tok, tmp_path):
    a = encode_dataset(SyntheticDataset(n_episodes=10, episode_len=20, seed=5, size=32), tok, cache_dir=tmp_path)
    b = encode_dataset(SyntheticDataset(n_episodes=10, episode_len=20, seed=6, size=32), tok, cache_dir=tmp_path)
    assert a.path != b.path and a.dataset_hash != b.dataset_hash
    with pytest.raises(CacheInvalid, match="another tokenizer"):
        open_cache(a.path, tokenizer_hash="0" * 64)


@pytest.mark.parametrize("damage", ["flip_byte", "truncate", "drop_sidecar", "edit_sidecar_counts", "garbage_sidecar"])
def test_corrupt_cache_is_detected_and_rebuilt(tok, ds, tmp_path, damage):
    cache = encode_dataset(ds, tok, cache_dir=tmp_path)
    good = np.array(cache.array)
    arr, side = cache.path / "tokens.npy", cache.path / "tokens.json"
    del cache
    if damage == "flip_byte":
        b = bytearray(arr.read_bytes())
        b[len(b) // 2] ^= 0xFF
        arr.write_bytes(bytes(b))
    elif damage == "truncate":
        arr.write_bytes(arr.read_bytes()[:-100])
    elif damage == "drop_sidecar":
        side.unlink()
    elif damage == "edit_sidecar_counts":
        meta = json.loads(side.read_text())
        meta["episodes"][0][2] -= 1
        side.write_text(json.dumps(meta))
    else:
        side.write_text("{not json")
    with pytest.raises(CacheInvalid):
        open_cache(arr.parent, ds, tok.hash)
    with pytest.warns(UserWarning, match="invalid, rebuilding"):
        rebuilt = encode_dataset(ds, tok, cache_dir=tmp_path)
    assert np.array_equal(np.asarray(rebuilt.array), good)
    open_cache(rebuilt.path, ds, tok.hash)  # valid again


# -- actions ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("per_dimension", [True, False])
def test_action_tokens_round_trip_and_do_not_overlap_image_codes(per_dimension):
    at = ActionTokenizer(image_vocab=512, per_dimension=per_dimension)
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.integers(0, 2, (500, 12)), rng.integers(0, 11, (500, 4))], axis=1).astype(np.uint8)
    t = at.encode(a)
    assert t.shape == (500, 16) and t.dtype == np.int64
    assert t.min() >= 512 and t.max() < at.vocab_size
    assert np.array_equal(at.decode(t), a)
    assert at.is_action(t).all() and not at.is_action(np.arange(512)).any()
    assert at.vocab_size == 512 + (68 if per_dimension else 11)
    if per_dimension:  # every id means one value of one dimension
        ids = [set(range(at.offsets[d], at.offsets[d] + at.nvec[d])) for d in range(16)]
        assert sum(len(s) for s in ids) == len(set().union(*ids)) == 68
        with pytest.raises(ValueError):
            at.decode(np.full((1, 16), at.offsets[1]))  # dim 1's id in dim 0's place
    with pytest.raises(ValueError):
        at.encode(np.full((1, 16), 11))  # out of range for every dim
    with pytest.raises(ValueError):
        at.encode(np.zeros((1, 15)))


# -- sequences --------------------------------------------------------------------------------------
def _labelled_episodes(k=2, lengths=(5, 3, 7)):
    """Tokens that name their episode and step: z[t, j] = 100·episode + 10·t + j (< 1000)."""
    eps = []
    for e, T in enumerate(lengths):
        z = (100 * e + 10 * np.arange(T)[:, None] + np.arange(k)[None, :]).astype(np.uint16)
        a = np.zeros((T, 16), np.uint8)
        a[:, 12] = np.arange(T) % 11  # an axis value that names the step
        a[:, 0] = e % 2
        eps.append((z, a))
    return eps


def test_sequence_layout_and_next_token_targets():
    k, n = 2, 2
    at = ActionTokenizer(1000)
    sb = SequenceBuilder(k, at, n, episodes={"train": _labelled_episodes(k)}, task="wm")
    assert sb.tokens_per_step == 18 and sb.seq_len == 36
    b = sb.batch(0, 64)
    x, y = b["x"].numpy(), b["y"].numpy()
    assert x.shape == y.shape == (64, 36) and b["x"].dtype == torch.int64 and b["mask"].dtype == torch.bool
    assert np.array_equal(y[:, :-1], x[:, 1:])
    for seq in x:
        z0, a0, z1, a1 = seq[0:2], seq[2:18], seq[18:20], seq[20:36]
        e, t = z0[0] // 100, (z0[0] % 100) // 10
        assert list(z0) == [100 * e + 10 * t, 100 * e + 10 * t + 1]
        assert list(z1) == [100 * e + 10 * (t + 1), 100 * e + 10 * (t + 1) + 1]  # same episode, next step
        assert np.array_equal(at.decode(a0)[[0, 12]], [e % 2, t % 11])
        assert np.array_equal(at.decode(a1)[[0, 12]], [e % 2, (t + 1) % 11])
    # windows never cross an episode: episode 1 has 3 steps, so its starts are t=0,1 only
    starts = {(s[0] // 100, (s[0] % 100) // 10) for s in x}
    assert starts <= {(0, t) for t in range(4)} | {(1, t) for t in range(2)} | {(2, t) for t in range(6)}


def test_wm_and_bc_masks_exact_positions():
    at = ActionTokenizer(1000)
    eps = {"train": _labelled_episodes(2)}
    wm = SequenceBuilder(2, at, 2, episodes=eps, task="wm")
    wm_later = SequenceBuilder(2, at, 2, episodes=eps, task="wm", wm_first_frame=False)
    bc = SequenceBuilder(2, at, 2, episodes=eps, task="bc")
    # targets y[i] = x[i+1]; image tokens sit at 0,1 and 18,19; the last position has no target
    assert np.nonzero(wm.mask)[0].tolist() == [0, 17, 18]
    assert np.nonzero(wm_later.mask)[0].tolist() == [17, 18]
    assert np.nonzero(bc.mask)[0].tolist() == list(range(1, 17)) + list(range(19, 35))
    assert not (wm.mask & bc.mask).any() and not wm.mask[-1] and not bc.mask[-1]
    b = bc.batch(3, 8)
    assert torch.equal(b["mask"], torch.from_numpy(bc.mask).expand(8, -1))
    assert at.is_action(b["y"][b["mask"]].numpy()).all()
    bw = wm.batch(3, 8)
    assert (bw["y"][bw["mask"]] < 1000).all()
    # the paper's fraction: with k=540 one step supervises 540 of 556 tokens for WM, 16 for BC
    big = SequenceBuilder(540, ActionTokenizer(4096), 10, task="wm")
    assert big.tokens_per_step == 556
    assert abs(big.supervised_per_sequence / big.seq_len - 540 / 556) < 1e-3


def test_batches_are_a_function_of_seed_step_and_split():
    at = ActionTokenizer(1000)
    eps = _labelled_episodes(2)
    sb = SequenceBuilder(2, at, 2, episodes={"train": eps, "val": eps}, seed=4)
    assert torch.equal(sb.batch(5, 16)["x"], sb.batch(5, 16)["x"])
    assert not torch.equal(sb.batch(5, 16)["x"], sb.batch(6, 16)["x"])
    other = SequenceBuilder(2, at, 2, episodes={"train": eps}, seed=5)
    assert not torch.equal(sb.batch(5, 16)["x"], other.batch(5, 16)["x"])
    assert not torch.equal(sb.batch(5, 16, "train")["x"], sb.batch(5, 16, "val")["x"])
    with pytest.raises(UserError, match="split"):
        sb.batch(0, 4, "test")


def test_sequences_from_cache(tok, ds, tmp_path):
    cache = encode_dataset(ds, tok, cache_dir=tmp_path)
    sb = SequenceBuilder.from_cache(cache, ds, context_steps=3, task="bc")
    assert sb.vocab_size == tok.codebook_size + 68
    b = sb.batch(0, 8, "val")
    x = b["x"].numpy()
    val_tokens = np.concatenate([cache.tokens(e) for e in ds.split_ids("val")])
    rows = {tuple(r) for r in val_tokens.astype(np.int64)}
    for seq in x:  # every frame in a val sequence is a val frame, and the actions are the dataset's
        steps = seq.reshape(3, 16 + 16)
        assert all(tuple(s[:16]) in rows for s in steps)
        assert (steps[:, 16:] >= tok.codebook_size).all()
    assert sb.epoch_inputs("train") == sum(len(ds.frames(e)) for e in ds.split_ids("train")) * 32


# -- resume -----------------------------------------------------------------------------------------
def test_resumed_training_equals_uninterrupted(ds, tmp_path, monkeypatch):
    from agentscaling.tokenize import train_vq

    # a fast-decaying EMA makes codes die and be re-seeded (randomly) after the crash too, so the
    # quantizer's randomness must be resumed exactly as well
    kw = dict(
        settings=SMOKE_TOKENIZER,
        steps=16,
        warmup_steps=2,
        batch_size=8,
        codebook_size=32,
        eval_frames=32,
        ema_decay=0.5,
    )
    full = train_tokenizer(ds, 16, store=tmp_path / "a", **kw)

    real = train_vq.make_batch_fn

    def failing(pool, batch_size, seed, device="cpu"):
        fn = real(pool, batch_size, seed, device)

        def batch_fn(step):
            if step == 8:
                raise RuntimeError("simulated crash")
            return fn(step)

        return batch_fn

    monkeypatch.setattr(train_vq, "make_batch_fn", failing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        train_tokenizer(ds, 16, store=tmp_path / "b", checkpoint_every_s=0, **kw)
    run, _ = train_vq.open_tokenizer_run(ds, 16, store=tmp_path / "b", **kw)
    assert run.status == "failed" and run.load_checkpoint()["step"] == 8
    monkeypatch.setattr(train_vq, "make_batch_fn", real)
    resumed = train_tokenizer(ds, 16, store=tmp_path / "b", **kw)
    sa, sb = full.model.state_dict(), resumed.model.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key
    ca, cb = (json.loads((t.path / "tokenizer.json").read_text()) for t in (full, resumed))
    assert ca["psnr"] == cb["psnr"]


# -- CLI --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def disk_dataset(tmp_path_factory):
    """A tiny real arena dataset (10 matches × 8 players × 10 steps at 32×32: split 8/1/1 by match)."""
    from agentscaling.data.arena.generate import generate_arena_dataset

    return generate_arena_dataset(tmp_path_factory.mktemp("arena") / "ds", 800, size=32, episode_steps=10)


def test_cli_train_eval_encode(disk_dataset, tmp_path, capsys):
    from agentscaling.cli import main

    data = str(disk_dataset.root)
    rc = main(
        [
            "tokenizer",
            "train",
            "--data",
            data,
            "--tokens-per-frame",
            "16",
            "--preset",
            "smoke",
            "--out",
            str(tmp_path / "store"),
            "--steps",
            "10",
            "--no-progress",
            "--json",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["tokens_per_frame"] == 16 and 0 < out["usage"] <= 1 and out["psnr"] > 0
    tdir = out["path"]
    assert main(["tokenizer", "eval", tdir, "--data", data, "--json", "--max-frames", "50"]) == 0
    ev = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert ev["hash"] == out["hash"] and ev["n_frames"] == 50 and ev["split"] == "val"
    assert (
        main(
            ["tokenizer", "encode", tdir, "--data", data, "--cache-dir", str(tmp_path / "c"), "--no-progress", "--json"]
        )
        == 0
    )
    enc = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert enc["frames"] == disk_dataset.manifest["n_frames"] == 800
    # bad input: one line on stderr, exit status 2
    assert main(["tokenizer", "train", "--data", data, "-k", "15", "--preset", "smoke", "--out", str(tmp_path)]) == 2
    assert main(["tokenizer", "eval", str(tmp_path / "nope"), "--data", data]) == 2
    assert main(["tokenizer", "train", "--data", data, "-k", "16", "--preset", "huge"]) == 2
    err = capsys.readouterr().err
    assert "square" in err and "no trained tokenizer" in err and "unknown preset" in err


def test_a_dataset_of_one_match_holds_out_a_trajectory(tmp_path, capsys):
    """The split is by match, so one match has no val split: the tokenizer holds out its last trajectory,
    and generation says how many frames a val split needs."""
    from agentscaling.cli import main
    from agentscaling.data.dataset import TrajectoryDataset

    out = tmp_path / "one-match"
    assert (
        main(
            [
                "data",
                "arena",
                "--frames",
                "80",
                "--out",
                str(out),
                "--size",
                "32",
                "--episode-steps",
                "10",
                "--no-progress",
            ]
        )
        == 0
    )
    assert "a val split needs 2 matches (--frames 160)" in capsys.readouterr().out
    ds = TrajectoryDataset(out)
    assert not ds.split_ids("val") and len(ds.split_ids("train")) == 8
    tok = train_tokenizer(ds, 16, SMOKE_TOKENIZER, tmp_path / "store", steps=4, batch_size=8, eval_frames=16)
    metrics = json.loads((tok.path / "tokenizer.json").read_text())
    assert metrics["split"] == "trajectory" and metrics["n_frames"] == 10
