"""Data preparation: a study's spec becomes artifacts before any training, and a run's id names the
data and tokenizer it trains on, so regenerated data never reuses runs trained on the old data."""

from dataclasses import replace

import pytest

from agentscaling import prepare, presets
from agentscaling.data.arena.generate import generate_arena_dataset
from agentscaling.data.dataset import write_dataset
from agentscaling.errors import DataIntegrityError, UserError
from agentscaling.store import RunStore
from agentscaling.studies import DatasetDir, PreparedData, get_study, on_dataset
from agentscaling.sweep import open_size_run, sweep_studies
from agentscaling.tasks import build_task


def _reseeded(study, seed):
    arena = replace(study.data.dataset, seed=seed)
    return replace(study, data=replace(study.data, dataset=arena))


def test_regenerated_data_gives_a_new_run_id(tmp_path):
    study = get_study("bc-cnn", "smoke")
    size = study.sizes[0]
    store = RunStore(tmp_path / "store")
    first = prepare.prepare(study)
    again = prepare.prepare(study)
    other = prepare.prepare(_reseeded(study, 1))
    assert first.hashes == again.hashes and set(first.hashes) == {"dataset"}
    assert other.hashes["dataset"] != first.hashes["dataset"]
    run_id = open_size_run(study, size, store, first, create=False).id
    assert open_size_run(study, size, store, again, create=False).id == run_id
    assert open_size_run(_reseeded(study, 1), size, store, other, create=False).id != run_id
    # locate finds what prepare made, and makes nothing
    assert prepare.locate(study).hashes == first.hashes
    assert not store.root.exists()


def test_a_retrained_tokenizer_gives_a_new_run_id():
    study = get_study("wm-tpf-16-s0", "smoke")
    size = study.sizes[0]
    a = study.run_config(size, {"dataset": "d" * 64, "tokenizer": "t" * 64})
    b = study.run_config(size, {"dataset": "d" * 64, "tokenizer": "u" * 64})
    store = RunStore("/nonexistent")
    assert (
        store.open_run(study.name, a, size.label, create=False).id
        != store.open_run(study.name, b, size.label, create=False).id
    )


def test_a_task_refuses_data_that_changed_since_it_was_prepared():
    study = get_study("bc-cnn", "smoke")
    good = prepare.prepare(study)
    stale = PreparedData(spec=good.spec, hashes={"dataset": "0" * 64}, dataset=good.dataset)
    with pytest.raises(DataIntegrityError, match="changed since it was prepared"):
        build_task(study, stale)
    assert build_task(study, good).inputs_per_batch == study.batch_size * study.context


def test_presets_are_data_that_every_study_reads():
    assert set(presets.NAMES) == {"smoke", "cpu", "gpu", "paper"}
    paper, gpu = presets.get("paper"), presets.get("gpu")
    assert paper.tokenizer == gpu.tokenizer and paper.ladders.wm64 == gpu.ladders.wm64
    assert paper.ladders.books_char.sizes == presets.BOOKS_CHAR_SIZES != gpu.ladders.books_char.sizes
    for name in presets.NAMES:
        p = presets.get(name)
        st = get_study("wm-token-64", p)
        assert st.precision == p.precision and st.data.tokenizer == p.tokenizer and st.data.dataset == p.data.arena
        assert get_study("wm-token-64", name) == st
    with pytest.raises(UserError, match="unknown preset"):
        presets.get("huge")


def test_a_study_on_a_dataset_of_your_own(tmp_path):
    """Any trajectory dataset in the shard format plugs into a built-in study (same action layout)."""
    mine = generate_arena_dataset(tmp_path / "mine", 800, size=32, episode_steps=10)
    base = get_study("wm-tpf-16-s0", "smoke")
    study = on_dataset(base, mine.root).with_sizes([base.sizes[0].label])
    assert study.name == "wm-tpf-16-s0@mine" and study.data.dataset == DatasetDir(str(mine.root.resolve()))
    prepared = prepare.prepare(study)
    assert prepared.hashes["dataset"] == mine.hash and prepared.dataset == str(mine.root.resolve())
    (result,) = sweep_studies([study], tmp_path / "store", prepared={study.name: prepared})
    assert result["status"] == "done", result
    other = write_dataset(
        tmp_path / "other", [(mine.frames(0)[:5], mine.actions(0)[:5, :3], {"match": 0})], action_nvec=(2, 2, 11)
    )
    with pytest.raises(UserError, match="predicts the arena's controller"):
        on_dataset(base, other.root)


def test_a_preset_of_your_own_flows_through_the_analysis(tmp_path):
    """The README's "your own ladder": a Preset object replaces a name everywhere downstream."""
    from agentscaling.analysis import runs

    mine = replace(
        presets.SMOKE,
        name="mine",
        ladders=replace(
            presets.SMOKE.ladders,
            wm64=presets.Ladder(sizes=(5e3, 1e4), inputs=2e4, val_sequences=8, batch=8, context=2),
        ),
    )
    study = get_study("wm-token-64", mine)
    assert study.preset == "mine" and len(study.sizes) == 2
    table = runs.run_studies(["wm-token-64"], mine, store=tmp_path / "store", progress=False)
    assert list(table["status"]) == ["done", "done"]
    assert runs.resolve_store(None, mine).endswith("mine")


def test_a_study_with_seeds_trains_every_size_once_per_seed(tmp_path):
    """Seeds are the training noise the intervals must include: one run per size and seed, distinct ids,
    distinct losses, and a fit's points carry the seed."""
    from agentscaling.sweep import existing_runs

    base = get_study("lm-shakespeare-dense", "smoke")
    study = replace(base, seeds=(0, 1)).with_sizes([base.sizes[0].label])
    assert [r.seed for r in study.replicas()] == [0, 1]
    results = sweep_studies([study], tmp_path)
    assert [(r["seed"], r["status"]) for r in results] == [(0, "done"), (1, "done")]
    runs = existing_runs(study, tmp_path, prepare.locate(study))
    assert len({run.id for _, run in runs}) == 2
    losses = {run.read_config()["config"]["seed"]: run.read_config()["result"]["final_loss"] for _, run in runs}
    assert losses[0] != losses[1]
    # seed 0's run is the same run whether or not other seeds exist
    assert open_size_run(base, base.sizes[0], RunStore(tmp_path), prepare.locate(base), create=False).status == "done"
