"Your own data end to end: train on a CSV through the CLI and papermill, evaluate on your own sets, and fail early on too little data."

import csv, json, os, subprocess, sys
from pathlib import Path
import numpy as np, papermill, pytest
from PIL import Image
import psd_clip.learner
import psd_clip.train
from psd_clip.core import PROJECT_ROOT, make_config

CLASSES = ("red", "green", "blue")


def write_collection(root: Path, n: int = 40):
    "`n` small PNGs coloured by class, as a training CSV, class folders for zero-shot and a retrieval CSV (2 captions each)."
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        name = CLASSES[i % 3]
        pixels = np.clip(rng.normal(60, 30, (16, 16, 3)) + 150 * np.eye(3)[i % 3], 0, 255).astype(np.uint8)
        path = root / "classes" / name / f"{i:03d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path)
        rows.append((path.relative_to(root), name))
    (root / "train.csv").write_text("filepath,title\n" + "".join(f"{p},a {c} square number {i}\n" for i, (p, c) in enumerate(rows)))
    (root / "retrieval.csv").write_text("filepath,caption\n" + "".join(f"{p},a {c} square\n{p},something {c}\n" for p, c in rows[:9]))
    return root / "train.csv"


def run(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return out.stdout


def test_train_on_csv_then_evaluate_on_own_sets(tmp_path):
    table = write_collection(tmp_path)
    log = run(
        "-m",
        "psd_clip.train",
        "--scale",
        "own",
        "--data_root",
        str(table),
        "--max_steps",
        "2",
        "--eval_suite",
        "none",
        "--out_dir",
        str(tmp_path / "run"),
        cwd=tmp_path,
    )
    assert "data: 40 pairs of 40" in log and "5 steps per epoch of 8, 32 epochs = 160 steps" in log, log
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert (results["steps"], results["config"]["n_train"], results["config"]["batch_size"], results["config"]["warmup_steps"]) == (2, 40, 8, 8)
    assert results["data"]["pairs"] == 40 and results["config"]["arch"] == "psd-tiny-vit"
    (tmp_path / "templates.txt").write_text("a {} square\na photo of something {c}\n")
    log = run(
        "-m",
        "psd_clip.eval",
        str(tmp_path / "run" / "model_final.pt"),
        "--zeroshot",
        str(tmp_path / "classes"),
        "--retrieval",
        str(tmp_path / "retrieval.csv"),
        "--templates",
        str(tmp_path / "templates.txt"),
        cwd=tmp_path,
    )
    record = json.loads((tmp_path / "run" / "eval_own.json").read_text())
    assert record["suite"] == "own" and record["step"] == 2 and record["arch"] == "psd-tiny-vit"  # the run's steps
    assert sorted(record["metrics"]) == sorted(
        [f"zeroshot/classes/{k}" for k in ("acc1", "acc5", "mean_per_class_recall", "chance_acc1", "majority_class_acc1")]
        + [f"retrieval/retrieval/{d}_R@{k}" for d in ("image_to_text", "text_to_image") for k in (1, 5, 10)]
    )
    assert record["metrics"]["zeroshot/classes/acc5"] is None  # 3 classes: acc@5 is undefined, written as null
    assert all(0 <= v <= 1 for v in record["metrics"].values() if v is not None)
    with open(tmp_path / "run" / "eval_own.csv") as f:
        row = next(csv.DictReader(f))
    assert row["suite"] == "own" and float(row["retrieval/retrieval/image_to_text_R@10"]) == 1.0  # 9 images: all within the top 10
    assert "zeroshot/classes/acc1" in log
    assert "note: zeroshot/classes: 40 images, 3 classes; acc1 of chance 0.333, of always the largest class (red) 0.350" in log, log
    assert "note: prompts: 2 templates from" in log and "note: retrieval/retrieval: 9 images, 18 captions" in log


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(batch_size=64), "holds 40 pairs, fewer than one batch of 64"),
        (dict(n_train=41), "n_train=41 but"),
        (dict(data_format="hf"), "a folder or a .parquet file"),
    ],
)
def test_too_little_data_stops_before_any_model(tmp_path, monkeypatch, options, message):
    table = write_collection(tmp_path)

    def no_model(*a, **k):
        raise AssertionError("a model was built")

    monkeypatch.setattr(psd_clip.learner, "create_model", no_model)
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        psd_clip.train.train(make_config(scale="own", data_root=str(table), out_dir=str(tmp_path / "run"), **options))
    assert not (tmp_path / "run").exists()


def test_papermill_own_data(tmp_path):
    table = write_collection(tmp_path)
    papermill.execute_notebook(
        PROJECT_ROOT / "nbs" / "train.ipynb",
        tmp_path / "out.ipynb",
        kernel_name="python3",
        progress_bar=False,
        parameters=dict(scale="own", data_root=str(table), max_steps=2, eval_suite="none", out_dir=str(tmp_path / "run")),
    )
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert (results["status"], results["data"]["pairs"], results["config"]["scale"]) == ("finished", 40, "own")  # max_steps reached: finished


def test_torchrun_ranks_share_each_batch(tmp_path):
    "Two gloo processes on a CSV give the losses of one process: each rank reads its half of every global batch."
    from psd_clip.train import torchrun_command, train

    table = write_collection(tmp_path)
    config = lambda run, **kw: make_config(
        scale="own",
        data_root=str(table),
        arch="psd-tiny-vit",
        image_size=48,
        method="clip",
        max_steps=2,
        log_every=1,
        eval_suite="none",
        out_dir=str(tmp_path / run),
        **kw,
    )
    train(config("one"))
    two = subprocess.run(
        torchrun_command(config("two", n_gpus=2, device="cpu")),
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(PROJECT_ROOT)},
        timeout=300,
        capture_output=True,
        text=True,
    )
    assert two.returncode == 0, two.stdout[-3000:] + two.stderr[-3000:]
    assert two.stdout.count("data: 40 pairs") == 1  # printed by rank 0 only
    rows = [[json.loads(r) for r in (tmp_path / run / "metrics.jsonl").read_text().splitlines()] for run in ("one", "two")]
    assert [r["step"] for r in rows[1]] == [1, 2]
    for r1, r2 in zip(*rows):
        assert abs(r1["contrastive_loss"] - r2["contrastive_loss"]) < 1e-4, (r1, r2)


def test_a_run_evaluates_your_sets_at_its_end_and_nothing_by_default(tmp_path, capsys):
    table = write_collection(tmp_path)
    run = lambda name, **kw: psd_clip.train.train(make_config(scale="own", data_root=str(table), max_steps=2, out_dir=str(tmp_path / name), **kw))
    results = run("default")
    assert (results["config"]["eval_suite"], results["eval"]) == ("none", {})
    assert "evaluated on none (your data: pass --eval_zeroshot DIR/--eval_retrieval CSV" in capsys.readouterr().out
    results = run("sets", eval_zeroshot=str(tmp_path / "classes"), eval_retrieval=str(tmp_path / "retrieval.csv"))
    assert results["config"]["eval_suite"] == "own" and "evaluated on your 2 sets" in capsys.readouterr().out
    assert {"zeroshot/classes/acc1", "zeroshot/classes/majority_class_acc1", "retrieval/retrieval/image_to_text_R@1"} <= set(results["eval"])
