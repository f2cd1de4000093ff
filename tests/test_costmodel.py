"""The cost model: fitting, monotone predictions, validation overhead, scheduling, caching, the dry-run."""

from dataclasses import replace

import numpy as np
import pytest

from agentscaling.cli import main
from agentscaling.errors import UserError
from agentscaling.studies import get_study
from agentscaling.sweep import calibrate as calibration
from agentscaling.sweep import cost
from agentscaling.tokenize import ActionTokenizer, SequenceBuilder

# A plausible 2-core CPU: 2 ms per step, 0.2 ms per layer, 100 GFLOP/s matmuls, 50 GFLOP/s attention,
# 3 ns per attention score, 1 ns per elementwise unit, 20 GFLOP/s convolutions, 5 ns per parameter
# (optimizer); forward-only the same without the optimizer.
TRAIN = np.array([2e-3, 2e-4, 1e-11, 2e-11, 3e-9, 1e-9, 2e-9, 5e-11, 5e-9])
EVAL = np.array([1e-3, 1e-4, 1e-11, 2e-11, 1e-9, 1e-9, 1e-9, 5e-11])
SMALL_CNN = (32, (8, 16, 16), 1, 64)


def synthetic_model(threads=2):
    return cost.CostModel(train_coef=TRAIN, eval_coef=EVAL, threads=threads)


def spec(**kw):
    base = dict(n_layer=2, n_head=4, n_embd=64, vocab_size=65, context=16, batch=256, supervised=16)
    return cost.StepSpec(**{**base, **kw})


def test_fit_recovers_coefficients_of_synthetic_timings():
    specs = [
        spec(n_layer=L, n_embd=d, n_head=d // hd, batch=B, context=T, supervised=S, vocab_size=V)
        for L in (1, 2, 4)
        for d in (32, 64, 192)
        for hd in (16, 32)
        for (B, T, V, S) in ((256, 16, 65, 16), (32, 256, 1024, 256), (256, 16, 65, 1))
    ]
    specs += [
        spec(n_layer=L, n_embd=d, n_head=4, batch=B, context=4, supervised=4, vocab_size=68, cnn=c)
        for L in (1, 3)
        for d in (32, 64)
        for B in (32, 64)
        for c in (SMALL_CNN, (32, (16, 32, 32), 1, 128))
    ]
    points = [
        {
            **{
                k: getattr(s, k)
                for k in ("n_layer", "n_embd", "vocab_size", "context", "batch", "supervised", "n_head", "cnn")
            },
            "train_s": float(s.train_features() @ TRAIN),
            "eval_s": float(s.eval_features() @ EVAL),
        }
        for s in specs
    ]
    model = cost.model_from_points(points, threads=2)
    for s in specs:
        assert model.step_seconds(s) == pytest.approx(s.train_features() @ TRAIN, rel=1e-6)
        assert model.eval_seconds(s) == pytest.approx(s.eval_features() @ EVAL, rel=1e-6)
    assert max(abs(e) for e in model.meta["loo_rel_err_train"]) < 1e-6
    # the CNN term is recovered from the BC-CNN points, and it is what makes a BC-CNN step cost more
    assert model.train_coef[cost.TRAIN_FEATURES.index("cnn_flops")] == pytest.approx(5e-11, rel=1e-6)


@pytest.mark.parametrize("name", ["bc-token-64", "bc-token-256", "wm-token-64"])
def test_head_positions_are_the_ones_the_task_supervises(name):
    """BC-Token sends only its action tokens through the head: the cost model must not price 160 positions."""
    study = get_study(name, "cpu")
    o, k = study.task_options, study.data.tokens_per_frame
    sb = SequenceBuilder(
        k, ActionTokenizer(1000), o["context_steps"], task=study.task, wm_first_frame=o.get("wm_first_frame", True)
    )
    assert sb.seq_len == study.context
    assert cost.supervised_positions(study) == sb.supervised_per_sequence
    assert cost.supervised_positions(study) == (32 if study.task == "bc" else 2 * k - 1)


def test_bc_cnn_steps_pay_for_their_convolutions():
    study = get_study("bc-cnn", "cpu")
    z = study.sizes[0]
    s = cost.spec_for(study, z)
    assert s.cnn and s.cnn_flops == study.counts(z)["cnn_flops_train_per_frame"] > 0
    m = synthetic_model()
    no_cnn = replace(s, cnn=())
    extra = 5e-11 * s.cnn_flops * s.batch * s.context
    assert m.step_seconds(s) - m.step_seconds(no_cnn) == pytest.approx(extra, rel=1e-9)
    assert m.eval_seconds(s) - m.eval_seconds(no_cnn) == pytest.approx(extra / 3, rel=1e-9)
    assert not any("only the GPT" in n for n in cost.predict_study(study, m).notes)


def test_step_time_grows_with_every_dimension_and_sparse_heads_are_cheaper():
    m = synthetic_model()
    base = m.step_seconds(spec())
    for kw in (
        {"n_layer": 3},
        {"n_embd": 128},
        {"batch": 512},
        {"context": 32, "supervised": 32},
        {"vocab_size": 4096},
    ):
        assert m.step_seconds(spec(**kw)) > base, kw
    assert m.step_seconds(spec(supervised=1)) < base
    assert m.eval_seconds(spec()) < base  # a forward is cheaper than a training step


def test_study_prediction_is_monotone_in_size_and_steps():
    m = synthetic_model()
    study = get_study("lm-shakespeare-dense", "cpu")
    runs = [m.predict_run(study, z) for z in study.sizes]
    assert [r.N for r in runs] == sorted(r.N for r in runs)
    totals = [r.total_s for r in runs]
    assert all(b > a for a, b in zip(totals, totals[1:]))
    z = study.sizes[2]
    assert m.predict_run(study, z, steps=2000).total_s > m.predict_run(study, z, steps=1000).total_s
    # a bigger FLOP budget means more steps and more time
    bigger = replace(study, sizes=(replace(z, flops=2 * z.flops),))
    assert bigger.steps(bigger.sizes[0]) > study.steps(z)
    assert m.predict_run(bigger, bigger.sizes[0]).total_s > m.predict_run(study, z).total_s


def test_validation_overhead_counts_log_points_and_sequences():
    from agentscaling.train.trainer import log_steps

    m = synthetic_model()
    study = get_study("lm-shakespeare-dense", "cpu")
    z = study.sizes[0]
    v = m.validation_seconds(study, z)
    n_points = len(log_steps(study.steps(z), study.n_log))
    chunks = study.val_sequences // study.batch_size
    assert v == pytest.approx(n_points * chunks * m.eval_seconds(cost.spec_for(study, z)))
    assert m.validation_seconds(replace(study, val_sequences=2 * study.val_sequences), z) == pytest.approx(2 * v)
    assert m.validation_seconds(replace(study, n_log=2 * study.n_log), z) > v
    assert m.validation_seconds(replace(study, val_sequences=0), z) == 0.0
    # a partial last chunk is charged at its own (smaller) batch
    odd = replace(study, val_sequences=study.batch_size + 7)
    assert v / chunks / n_points < m.validation_seconds(odd, z) / n_points < 2 * v / chunks / n_points


def test_makespan_schedules_in_order_on_free_workers():
    assert cost.makespan([3, 1, 1, 1], workers=1) == 6
    assert cost.makespan([3, 1, 1, 1], workers=2) == 3
    assert cost.makespan([1, 1, 1, 3], workers=2) == 4  # the big job lands last
    assert cost.makespan([1, 2], workers=5, start_s=0.5) == 2.5
    assert cost.makespan([], workers=2) == 0.0
    with pytest.raises(UserError):
        cost.makespan([1], workers=0)


def test_study_estimate_workers_and_totals():
    study = get_study("lm-shakespeare-dense", "cpu")
    one = cost.predict_study(study, synthetic_model(2), workers=1)
    assert one.wall_s == pytest.approx(one.total_run_s)
    two = cost.predict_study(study, synthetic_model(1), workers=2)
    longest = max(r.total_s for r in two.runs)
    assert longest <= two.wall_s <= two.total_run_s + 2 * cost.WORKER_START_S
    text = cost.format_estimate(one)
    for z in study.sizes:
        assert z.label in text
    assert "predicted sweep wall time" in text and "idle machine" in text


def test_dry_run_states_the_calibration_age_and_asks_to_remeasure_when_old():
    m = cost.CostModel(train_coef=TRAIN, eval_coef=EVAL, threads=1, meta={"created": "2026-11-29T04:00:00+0000"})
    t0 = 1795924800.0  # 2026-11-29T04:00:00Z
    fresh, stale = cost._calibration_age(m, now=t0 + 1800), cost._calibration_age(m, now=t0 + 5 * 3600)
    assert "30 min ago" in fresh and "calibrate --force" not in fresh
    assert "5.0 h ago" in stale and "calibrate --force" in stale
    assert cost._calibration_age(synthetic_model()) == ""  # no timestamp: say nothing rather than guess
    notes = cost.predict_study(get_study("lm-shakespeare-dense", "cpu"), m).notes
    assert "2026-11-29T04:00:00+0000" in notes[0]


def test_refuses_bad_input():
    with pytest.raises(UserError):
        spec(batch=0)
    with pytest.raises(UserError):
        spec(supervised=17)
    with pytest.raises(UserError):
        spec(n_embd=65)  # not divisible by 4 heads
    with pytest.raises(UserError):
        spec(cnn=(32, (8, 16)))  # not (frame_size, channels, res_blocks, out_dim)
    with pytest.raises(UserError):
        spec(cnn=(32, (8, 0), 1, 64))
    with pytest.raises(UserError):
        cost.CostModel(train_coef=-TRAIN, eval_coef=EVAL, threads=2)
    with pytest.raises(UserError):
        cost.CostModel(train_coef=np.zeros(9), eval_coef=EVAL, threads=2)
    with pytest.raises(UserError):
        cost.CostModel(train_coef=TRAIN[:3], eval_coef=EVAL, threads=2)
    with pytest.raises(UserError):
        cost.CostModel(train_coef=TRAIN, eval_coef=EVAL, threads=0)
    m = synthetic_model()
    study = get_study("lm-shakespeare-dense", "cpu")
    with pytest.raises(UserError):
        m.predict_run(study, study.sizes[0], steps=0)
    with pytest.raises(UserError):
        cost.predict_study(study, m, workers=0)
    with pytest.raises(UserError):
        cost.fit_coefficients(np.ones((2, 8)), np.array([1.0, -1.0]))
    with pytest.raises(UserError):
        cost.model_from_points([], threads=2)
    with pytest.raises(UserError):
        calibration.calibrate(grid=[], measure=lambda *a, **k: (1.0, 1.0))
    with pytest.raises(UserError):
        calibration.calibrate(grid=[(1, 1, 8)], measure=lambda *a, **k: (1.0, 1.0))
    with pytest.raises(UserError):
        calibration.calibrate(grid=calibration.QUICK_GRID, device="nonsense", measure=lambda *a, **k: (1.0, 1.0))


def _fake_measure(s, device="cpu", target_s=0.0, repeats=1):
    return float(s.train_features() @ TRAIN), float(s.eval_features() @ EVAL)


def test_calibration_is_cached_and_reloaded_without_measuring(tmp_path):
    calls = []

    def measure(s, **kw):
        calls.append(s)
        return _fake_measure(s)

    a = calibration.load_or_calibrate(threads=1, cache_dir=tmp_path, grid=calibration.QUICK_GRID, measure=measure)
    assert len(calls) == len(calibration.QUICK_GRID)
    files = list((tmp_path / "costmodel").glob("calibration-*.json"))
    assert len(files) == 1

    def boom(*a, **k):
        raise AssertionError("a cached calibration must not be re-measured")

    b = calibration.load_or_calibrate(threads=1, cache_dir=tmp_path, grid=calibration.QUICK_GRID, measure=boom)
    np.testing.assert_allclose(a.train_coef, b.train_coef)
    assert b.threads == 1 and b.meta["threads"] == 1
    # another thread count is another calibration
    calibration.load_or_calibrate(threads=2, cache_dir=tmp_path, grid=calibration.QUICK_GRID, measure=measure)
    assert len(list((tmp_path / "costmodel").glob("calibration-*.json"))) == 2
    # a corrupt cache is re-measured, not trusted
    files[0].write_text("{not json")
    n = len(calls)
    calibration.load_or_calibrate(threads=1, cache_dir=tmp_path, grid=calibration.QUICK_GRID, measure=measure)
    assert len(calls) == n + len(calibration.QUICK_GRID)


def test_real_measurement_of_a_tiny_point_is_positive():
    tt, te = calibration.measure_point(
        cost.StepSpec(n_layer=1, n_head=2, n_embd=8, vocab_size=17, context=8, batch=4, supervised=1),
        target_s=0.01,
        repeats=1,
    )
    assert 0 < te and 0 < tt and np.isfinite(tt)
    tt, te = calibration.measure_point(
        cost.StepSpec(
            n_layer=1, n_head=2, n_embd=8, vocab_size=68, context=2, batch=2, supervised=2, cnn=(8, (2,), 0, 4)
        ),
        target_s=0.01,
        repeats=1,
    )
    assert 0 < te and 0 < tt and np.isfinite(tt)


def test_sweep_dry_run_prints_estimate_and_trains_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(
        calibration, "load_or_calibrate", lambda threads=None, device="cpu", log=None, **kw: synthetic_model(threads)
    )
    store = tmp_path / "store"
    rc = main(["sweep", "lm-shakespeare-dense", "--preset", "smoke", "--store", str(store), "--dry-run"])
    assert rc == 0
    out = capsys.readouterr().out
    study = get_study("lm-shakespeare-dense", "smoke")
    for z in study.sizes:
        assert z.label in out
    assert "predicted sweep wall time" in out
    assert not store.exists()  # nothing trained, no run directory created
    rc = main(
        ["sweep", "lm-shakespeare-dense", "--preset", "smoke", "--store", str(store), "--dry-run", "--workers", "2"]
    )
    assert rc == 0 and "2 worker(s), 1 thread(s)" in capsys.readouterr().out
