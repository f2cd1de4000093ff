"""The generic trainer: determinism, exact resume, divergence, schedules."""

import numpy as np
import pytest
import torch

from agentscaling.model import GPT, GPTConfig
from agentscaling.model.gpt import masked_next_token_loss
from agentscaling.store import RunStore
from agentscaling.train import TrainConfig, log_steps, train

V, T, B = 17, 8, 8


def batch_fn(step):
    rng = np.random.default_rng([0, step])
    x = rng.integers(0, V, size=(B, T + 1))
    x[:, 1::2] = (x[:, 0::2][:, : x[:, 1::2].shape[1]] + 1) % V  # learnable structure
    return {"x": torch.from_numpy(x[:, :-1]), "y": torch.from_numpy(x[:, 1:])}


def make_model(seed=0):
    torch.manual_seed(seed)
    return GPT(GPTConfig(V, T, 1, 2, 16))


def run_train(steps=40, seed=0, run=None, lr=3e-3, bf=batch_fn, **kw):
    model = make_model(seed)
    cfg = TrainConfig(lr=lr, steps=steps, warmup_steps=4, seed=seed, n_log=10, **kw)
    n = sum(p.numel() for p in model.parameters())
    return train(
        model,
        masked_next_token_loss,
        bf,
        cfg,
        run=run,
        inputs_per_batch=B * T,
        n_params=n,
        flops_per_input_attn=6.0 * n + 12 * 1 * 16 * T,
        epoch_inputs=1000,
    )


def test_equal_seeds_give_identical_curves_and_different_seeds_differ():
    a, b, c = run_train(seed=0), run_train(seed=0), run_train(seed=1)
    assert a.curve["train_loss"].tolist() == b.curve["train_loss"].tolist()
    assert a.curve["train_loss"].tolist() != c.curve["train_loss"].tolist()


def test_curve_counts_and_learning():
    r = run_train(steps=60)
    c = r.curve
    assert r.status == "done"
    assert c["step"].iloc[-1] == 60 and c["step"].is_monotonic_increasing
    assert (c["D"] == c["step"] * B * T).all()
    assert np.allclose(c["C"], 6.0 * (c["C"] / (6.0 * c["D"])).iloc[0] * c["D"])
    assert (c["C_attn"] > c["C"]).all()
    assert c["train_loss"].iloc[-1] < c["train_loss"].iloc[0] - 0.3


def test_resume_after_interruption_equals_uninterrupted(tmp_path):
    full = run_train(steps=50)

    class Boom(RuntimeError):
        pass

    def dying(step):
        if step == 23:
            raise Boom()
        return batch_fn(step)

    store = RunStore(tmp_path)
    run = store.open_run("s", {"x": 1})
    with pytest.raises(Boom):
        run_train(steps=50, run=run, bf=dying, checkpoint_every_s=0.0)
    assert run.load_checkpoint() is not None and run.load_checkpoint()["step"] == 23
    resumed = run_train(steps=50, run=run)
    assert resumed.curve[["step", "D"]].to_dict("list") == full.curve[["step", "D"]].to_dict("list")
    # the model and optimiser states are restored bit for bit; only the float64 sums of logged
    # losses may differ in the last ulp through a different order of additions
    np.testing.assert_allclose(resumed.curve["train_loss"], full.curve["train_loss"], rtol=1e-12, atol=0)


def test_nan_loss_stops_as_diverged():
    def nan_loss(model, batch):
        loss = masked_next_token_loss(model, batch)
        return loss * float("nan")

    model = make_model()
    r = train(model, nan_loss, batch_fn, TrainConfig(lr=1e-3, steps=30, n_log=5), inputs_per_batch=B * T, n_params=1)
    assert r.status == "diverged" and "non-finite" in r.message or "nan" in r.message


def test_blow_up_stops_as_diverged():
    r = run_train(steps=200, lr=5.0, grad_clip=None)
    assert r.status == "diverged", r.curve["train_loss"].tolist()


def test_log_steps_are_log_spaced_and_include_the_end():
    s = log_steps(1000, 20)
    assert s[0] == 1 and s[-1] == 1000 and len(s) <= 21
    assert np.all(np.diff(np.log(s)) > 0)


def test_schedules():
    c = TrainConfig(lr=1.0, steps=100, warmup_steps=10, schedule="cosine")
    assert c.lr_at(0) == pytest.approx(0.1) and c.lr_at(9) == pytest.approx(1.0)
    assert c.lr_at(99) < 0.01
    w = TrainConfig(lr=1.0, steps=100, schedule="wsd", cooldown_frac=0.2)
    assert w.lr_at(50) == 1.0 and w.lr_at(90) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        TrainConfig(lr=-1, steps=10)
    with pytest.raises(ValueError):
        TrainConfig(lr=1e-3, steps=10, schedule="linear")


@pytest.mark.parametrize("rows", [37, 64])  # a last chunk shorter than the others, and whole chunks
def test_chunked_head_cross_entropy_equals_the_plain_loss_and_gradients(rows):
    """The cache-friendly fused head + CE (used on CPU for big vocabularies) is the same function."""
    from agentscaling.model.gpt import FUSED_CE_MIN_VOCAB, chunked_linear_cross_entropy, head_cross_entropy

    g = torch.Generator().manual_seed(0)
    V, d = FUSED_CE_MIN_VOCAB + 11, 12
    h0, w0 = torch.randn(rows, d, generator=g), torch.randn(V, d, generator=g) * 0.3
    y = torch.randint(0, V, (rows,), generator=g)
    ref_h, ref_w = h0.clone().requires_grad_(), w0.clone().requires_grad_()
    ref = torch.nn.functional.cross_entropy(ref_h @ ref_w.t(), y)
    (2.5 * ref).backward()  # a non-unit upstream gradient
    h, w = h0.clone().requires_grad_(), w0.clone().requires_grad_()
    out = chunked_linear_cross_entropy(h, w, y, chunk=16)
    (2.5 * out).backward()
    assert abs(out.item() - ref.item()) < 1e-5
    torch.testing.assert_close(h.grad, ref_h.grad, rtol=1e-4, atol=1e-7)
    torch.testing.assert_close(w.grad, ref_w.grad, rtol=1e-4, atol=1e-7)
    with torch.no_grad():  # the evaluation path (no gradients formed)
        assert abs(chunked_linear_cross_entropy(h0, w0, y).item() - ref.item()) < 1e-5
    # head_cross_entropy routes a big-vocabulary GPT through it, with the same value as the plain head
    model = GPT(GPTConfig(vocab_size=V, context=8, n_layer=1, n_head=2, n_embd=d))
    hidden = torch.randn(rows, d, generator=g)
    plain = torch.nn.functional.cross_entropy(model.head(hidden), y)
    assert abs(head_cross_entropy(model, hidden, y).item() - plain.item()) < 1e-5


@pytest.mark.parametrize("bias", [True, False])
def test_blocks_fused_residual_projection_is_the_plain_residual(bias):
    """Block's fp32 CPU path (one GEMM accumulating into x + bias) computes x + proj(h): same loss and
    gradients as the plain expression, and bf16 autocast takes the plain path."""
    import agentscaling.model.gpt as gpt_module

    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=65, context=16, n_layer=2, n_head=4, n_embd=32, bias=bias))
    x = torch.randint(0, 65, (8, 16))
    batch = {"x": x, "y": torch.roll(x, -1, 1)}

    def loss_and_grads():
        model.zero_grad()
        loss = gpt_module.masked_next_token_loss(model, batch)
        loss.backward()
        return loss.item(), [p.grad.clone() for p in model.parameters()]

    fused, fused_g = loss_and_grads()

    def plain(self, x):
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))

    orig = gpt_module.Block.forward
    try:
        gpt_module.Block.forward = plain
        ref, ref_g = loss_and_grads()
    finally:
        gpt_module.Block.forward = orig
    assert abs(fused - ref) < 1e-6
    for a, b in zip(fused_g, ref_g):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # mixed dtypes must not reach the in-place GEMM
        assert abs(gpt_module.masked_next_token_loss(model, batch).item() - ref) < 0.05


def test_micro_batches_give_the_whole_batch_step_and_adapt_to_out_of_memory():
    whole = run_train(steps=30, micro_batches=1)
    halves = run_train(steps=30, micro_batches=2)
    # the same optimiser steps: gradients of two halves add to the whole batch's (up to summation order)
    np.testing.assert_allclose(halves.curve["train_loss"], whole.curve["train_loss"], rtol=1e-5)
    assert halves.extra["micro_batches"] == 2

    seen = []

    def small_memory(model, batch):  # a device that holds at most 2 rows of activations
        seen.append(batch["x"].shape[0])
        if batch["x"].shape[0] > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 6.46 GiB")
        return masked_next_token_loss(model, batch)

    model = make_model()
    cfg = TrainConfig(lr=3e-3, steps=30, warmup_steps=4, n_log=10)  # micro_batches=0: automatic
    auto = train(model, small_memory, batch_fn, cfg, inputs_per_batch=B * T, n_params=1)
    assert seen[:3] == [8, 4, 2] and set(seen[3:]) == {2}
    assert auto.extra["micro_batches"] == 4
    np.testing.assert_allclose(auto.curve["train_loss"], whole.curve["train_loss"], rtol=1e-5)

    with pytest.raises(torch.cuda.OutOfMemoryError):  # a fixed split is kept: the error is the user's to see
        fixed = TrainConfig(lr=3e-3, steps=3, n_log=2, micro_batches=2)
        train(make_model(), small_memory, batch_fn, fixed, inputs_per_batch=B * T, n_params=1)
