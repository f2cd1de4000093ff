"""Parameter counts against live modules and the paper's Table 2; ladder shapes."""

import math

import pytest

from agentscaling.counting import count_params_module, count_params_shape, flops_per_input_attn
from agentscaling.model import GPT, GPTConfig, ModelShape, paper_ladder, shape_for_params, tiny_ladder
from agentscaling.model.ladder import PAPER_TABLE2


@pytest.mark.parametrize(
    "shape,vocab,ctx",
    [(ModelShape(1, 1, 8), 65, 16), (ModelShape(2, 4, 64), 257, 32), (ModelShape(3, 3, 180), 4112, 40)],
)
def test_analytic_counts_match_the_module(shape, vocab, ctx):
    model = GPT(GPTConfig(vocab, ctx, shape.n_layer, shape.n_head, shape.n_embd))
    live = count_params_module(model)
    assert live == count_params_shape(shape, vocab, ctx)
    # the tied head is counted once
    assert live["N_total"] == sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    assert live["N_total"] - live["N"] == ctx * shape.n_embd


@pytest.mark.parametrize(
    "name,nominal", [("27M", 27e6), ("52M", 52e6), ("110M", 110e6), ("206M", 206e6), ("894M", 894e6)]
)
def test_paper_table2_counts_match_the_labels(name, nominal):
    # N counts the 4096-code token embedding (tied head once), not position embeddings. The paper's
    # labels are rounded (27.3M is printed "27M"), so we allow 1.5 %; 894M and 206M match within 0.2 %.
    n = count_params_shape(PAPER_TABLE2[name], 4096, 2720)["N"]
    assert abs(n / nominal - 1) < 0.015, (name, n)
    with_pos = count_params_shape(PAPER_TABLE2[name], 4096, 2720)["N_total"]
    assert with_pos > n  # counting position embeddings would move the small models off their labels


def test_largest_models_within_two_tenths_of_a_percent():
    for name, nominal in (("206M", 206e6), ("894M", 894e6)):
        assert abs(count_params_shape(PAPER_TABLE2[name], 4096, 2720)["N"] / nominal - 1) < 0.002


def test_table2_shapes_verbatim():
    assert PAPER_TABLE2["894M"] == ModelShape(23, 14, 1792)
    assert PAPER_TABLE2["27M"] == ModelShape(8, 8, 512)
    assert len(paper_ladder()) == 9


def test_generated_ladder_grows_depth_and_width_together():
    targets = (3.81e3, 8.75e3, 6e4, 1.1e5, 2.8e5, 1.08e6, 4.23e6, 16.75e6)
    shapes = tiny_ladder(targets, vocab_size=65, context=16)
    counts = [count_params_shape(s, 65, 16)["N"] for s in shapes]
    assert counts == sorted(counts)
    assert [s.n_layer for s in shapes] == sorted(s.n_layer for s in shapes)
    assert [s.n_embd for s in shapes] == sorted(s.n_embd for s in shapes)
    assert shapes[-1].n_layer > shapes[0].n_layer
    for t, n in zip(targets, counts):
        assert abs(math.log(n / t)) < math.log(1.25), (t, n)
    for s in shapes:
        assert s.n_embd % s.n_head == 0


def test_ladder_reproduces_table2_depths_roughly():
    # the generator's depth anchors come from Table 2, so its 27M and 894M shapes should be close
    s = shape_for_params(27e6, 4096, 2720)
    assert abs(s.n_layer - 8) <= 1
    s = shape_for_params(894e6, 4096, 2720)
    assert abs(s.n_layer - 23) <= 1


def test_attention_flops_formula():
    # PaLM: 6N + 12 L d T per token
    assert flops_per_input_attn(1000, 2, 64, 16) == 6000 + 12 * 2 * 64 * 16
