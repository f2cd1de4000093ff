"""WM/BC token tasks and BC-CNN: masks, D counting, batch determinism, parameter and FLOP counts."""

import pickle
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from agentscaling import presets
from agentscaling.errors import UserError
from agentscaling.model.bccnn import BCCNN, CNNConfig, action_loss, conv_flops, count_module
from agentscaling.model.gpt import GPT, GPTConfig
from agentscaling.model.ladder import PAPER_TABLE2, ModelShape
from agentscaling.studies import SizeSpec, Study, TokenData, get_study
from agentscaling.studies.agents import AGENT_STUDIES
from agentscaling.sweep.cost import assumed_gpu_hours
from agentscaling.tasks.bccnn import FrameWindows
from agentscaling.tasks.tokens import make_token_task, token_context
from agentscaling.tokenize.actions import ActionTokenizer
from agentscaling.tokenize.sequences import SequenceBuilder

K, V_IMG, STEPS = 4, 32, 3


def _episodes(n_eps, T, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_eps):
        z = rng.integers(0, V_IMG, size=(T, K)).astype(np.uint16)
        a = np.concatenate([rng.integers(0, 2, (T, 12)), rng.integers(0, 11, (T, 4))], 1).astype(np.uint8)
        out.append((z, a))
    return out


def _builder(task, seed=0):
    return SequenceBuilder(
        K,
        ActionTokenizer(V_IMG),
        STEPS,
        episodes={"train": _episodes(4, 20, 1), "val": _episodes(2, 20, 2)},
        task=task,
        seed=seed,
    )


def _study(task, seed=0, B=5):
    data = TokenData(dataset=presets.SMOKE.data.arena, tokens_per_frame=K, tokenizer=presets.SMOKE.tokenizer)
    return Study(
        name=f"t-{task}",
        preset="smoke",
        task=task,
        data=data,
        vocab_size=V_IMG + 68,
        context=token_context(K, STEPS),
        batch_size=B,
        sizes=(SizeSpec("s", ModelShape(1, 2, 16), 1e-3, 1e6),),
        val_sequences=6,
        seed=seed,
        task_options={"context_steps": STEPS},
    )


def test_wm_and_bc_count_every_input_but_supervise_different_targets():
    wm = make_token_task(_study("wm"), _builder("wm"))
    bc = make_token_task(_study("bc"), _builder("bc"))
    S = STEPS * (K + 16)
    # D counts all inputs, whatever the loss (the paper's rule)
    assert wm.inputs_per_batch == bc.inputs_per_batch == 5 * S
    assert bc.supervised_per_batch == 5 * 16 * STEPS  # every action token of every step
    assert wm.supervised_per_batch == 5 * (STEPS * K - 1)  # every image token but the very first
    assert wm.epoch_inputs == bc.epoch_inputs == 4 * 20 * (K + 16)
    for task, td in (("wm", wm), ("bc", bc)):
        b = td.batch_fn(3)
        y, m = b["y"], b["mask"]
        assert int(m.sum()) == td.supervised_per_batch
        if task == "wm":
            assert bool((y[m] < V_IMG).all())
        else:
            assert bool((y[m] >= V_IMG).all()) and bool((y[m] < V_IMG + 68).all())
        assert torch.equal(b["y"][:, :-1], b["x"][:, 1:])


def test_batches_are_a_pure_function_of_seed_and_step():
    td = make_token_task(_study("wm"), _builder("wm"))
    a, b = td.batch_fn(7), td.batch_fn(7)
    assert torch.equal(a["x"], b["x"])
    assert not torch.equal(td.batch_fn(7)["x"], td.batch_fn(8)["x"])
    other = make_token_task(_study("wm", seed=1), _builder("wm", seed=1))
    assert not torch.equal(other.batch_fn(7)["x"], a["x"])


def test_token_task_trains_and_validates_on_fixed_windows():
    td = make_token_task(_study("bc"), _builder("bc"))
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=td.vocab_size, context=td.context, n_layer=1, n_head=2, n_embd=16))
    v0 = td.val_fn(model)
    assert v0 == td.val_fn(model) and np.isfinite(v0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for step in range(30):
        loss = td.loss_fn(model, td.batch_fn(step))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert td.val_fn(model) < v0


def test_study_and_sequence_mismatch_is_refused():
    with pytest.raises(UserError):
        make_token_task(_study("wm"), _builder("bc"))
    with pytest.raises(UserError):
        make_token_task(replace(_study("wm"), context=7), _builder("wm"))


# -- BC-CNN ------------------------------------------------------------------------------------------
def test_conv_flop_counter_on_known_layers():
    conv = torch.nn.Conv2d(3, 8, 3, padding=1)
    f = conv_flops(conv, (3, 32, 32))
    assert f["macs"] == 32 * 32 * 8 * 3 * 9
    assert f["flops_fwd"] == 2 * f["macs"] and f["flops_train"] == 6 * f["macs"]
    strided = torch.nn.Sequential(
        torch.nn.Conv2d(4, 6, 3, stride=2, padding=1), torch.nn.Flatten(), torch.nn.Linear(6 * 8 * 8, 10)
    )
    assert conv_flops(strided, (4, 16, 16))["macs"] == 8 * 8 * 6 * 4 * 9 + 6 * 8 * 8 * 10


def test_bccnn_parameter_count_is_the_sum_of_numel():
    study = get_study("bc-cnn", "smoke")
    for size in study.sizes:
        c = study.counts(size)
        model = BCCNN(
            CNNConfig(**{"frame_size": 32, "channels": (8, 16, 16), "res_blocks": 1, "out_dim": 64}),
            size.shape.n_layer,
            size.shape.n_head,
            size.shape.n_embd,
            study.context,
        )
        total = sum(p.numel() for p in model.parameters())
        assert c["N"] == total - model.wpe.weight.numel()  # position embeddings excluded, all else in
        assert c["N_cnn"] == sum(p.numel() for p in model.cnn.parameters()) > 0
        assert c["N"] == c["N_cnn"] + c["N_proj"] + c["N_transformer"] + c["N_heads"]
        # the paper's 6N per frame undercounts the true cost, mostly the convolutions
        assert c["flops_per_input_true"] > 6.0 * c["N"]
        assert c["cnn_flops_train_per_frame"] == 6 * conv_flops(model.cnn, (32, 32, 3), torch.uint8)["macs"]
    # steps come from C = 6·N·D with N including the CNN
    z = study.sizes[0]
    assert study.steps(z) == int(np.ceil(z.flops / (6.0 * study.counts(z)["N"] * study.tokens_per_update)))


def test_bccnn_forward_and_summed_loss():
    torch.manual_seed(0)
    m = BCCNN(CNNConfig(frame_size=32), 1, 2, 16, context=4)
    frames = torch.randint(0, 255, (2, 4, 32, 32, 3), dtype=torch.uint8)
    logits = m(frames)
    assert logits.shape == (2, 4, 68)
    nvec = (2,) * 12 + (11,) * 4
    actions = torch.zeros(2, 4, 16, dtype=torch.long)
    loss, per = action_loss(logits, actions, nvec)
    assert per.shape == (16,) and torch.isclose(loss, per.sum())
    # uniform logits: the summed loss is the entropy of the uniform factorised distribution
    loss0, _ = action_loss(torch.zeros(2, 4, 68), actions, nvec)
    assert float(loss0) == pytest.approx(12 * np.log(2) + 4 * np.log(11), rel=1e-6)
    assert count_module(m)["heads"] == 16 * 68 + 68


class _FakeDS:
    def __init__(self):
        rng = np.random.default_rng(0)
        self.f = {e: rng.integers(0, 255, (n, 8, 8, 3), dtype=np.uint8) for e, n in ((0, 10), (1, 3), (2, 7))}
        self.a = {e: np.full((len(v), 16), e, np.uint8) for e, v in self.f.items()}

    def split_ids(self, split):
        return [0, 1, 2]

    def frames(self, e):
        return self.f[e]

    def actions(self, e):
        return self.a[e]


def test_frame_windows_stay_inside_episodes():
    w = FrameWindows(_FakeDS(), "train", 4)
    assert w.n_windows == (10 - 3) + 0 + (7 - 3)  # the 3-frame episode has no window
    f, a = w.get(np.arange(w.n_windows))
    assert f.shape == (w.n_windows, 4, 8, 8, 3)
    assert all(len(set(row[:, 0])) == 1 for row in a)  # every window comes from one episode
    assert w.n_frames == 20


def test_every_agent_study_builds_at_every_preset():
    for preset in ("smoke", "cpu", "gpu", "paper"):
        for name in AGENT_STUDIES:
            s = get_study(name, preset)
            assert s.sizes and all(s.steps(z) >= 1 for z in s.sizes)
    wm = get_study("wm-token-64", "gpu")
    assert [z.shape for z in wm.sizes] == [PAPER_TABLE2[k] for k in ("15M", "27M", "52M", "110M", "206M")]
    for name in ("wm-token-64", "wm-token-256", "bc-token-64", "wm-extrapolation"):
        assert assumed_gpu_hours(get_study(name, "gpu")) <= 8.0
    ext, base = get_study("wm-extrapolation", "cpu"), get_study("wm-token-64", "cpu")
    assert ext.sizes[0].flops == pytest.approx(10 * max(z.flops for z in base.sizes))
    assert ext.counts(ext.sizes[0])["N"] > max(base.counts(z)["N"] for z in base.sizes)


def test_a_study_counts_the_same_in_a_fresh_worker_process():
    """Sweep workers receive studies pickled into spawned processes that have imported nothing else;
    BC-CNN's N there must include its CNN, or a worker trains several times the planned steps."""
    st = get_study("bc-cnn", "smoke")
    z = st.sizes[0]
    code = "import pickle, sys; st, z = pickle.loads(sys.stdin.buffer.read()); print(st.counts(z)['N'], st.steps(z))"
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps((st, z)), capture_output=True, check=True)
    n, steps = map(int, out.stdout.split())
    assert (n, steps) == (st.counts(z)["N"], st.steps(z))
    assert n > st.counts(z)["N_cnn"]
