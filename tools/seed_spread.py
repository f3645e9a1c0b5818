"""Where the seed spread of data-rich CLIP on noisy captions comes from (the world check's widest arm).

Two measurements, both on cached runs (trained here if missing, like every run of the kit):
- zero-shot Fashion-MNIST accuracy per class of the world check's data-rich CLIP runs (clean and noisy);
- noisy runs whose initialization (`init_seed`) and data order (`seed`) come from different seeds.
Writes data/results/seed_spread.json and prints both tables.

    PYTHONPATH=$PWD .venv/bin/python tools/seed_spread.py [--jobs 2]
"""

import argparse, json
from pathlib import Path

import numpy as np, torch

from psd_clip.checkpoint import load_model
from psd_clip.core import DATA_DIR
from psd_clip.data import get_tokenizer, image_transform
from psd_clip.experiments import machine, run_all
from psd_clip.metrics import Encoder, encode_images, per_class_recall, zeroshot_logits
from psd_clip.mini import fashion_classifier, fashion_test_sets
from psd_clip.model import model_context_length
from psd_clip.world import CLASS_NAMES, load_embedded

FASHION = CLASS_NAMES[:10]
ARMS = {"rich/noisy": dict(noise_scale=1.0), "rich/clean": dict(noise_scale=0.0)}
NOISY_SEEDS, CLEAN_SEEDS = (0, 1, 2, 3, 4), (0, 1, 2)
SWAPS = [(3, 0), (3, 2), (2, 3), (2, 1)]  # (init_seed, seed): a good and a poor initialization, each with two other data orders


def class_accuracies(run_dir: str) -> list[float]:
    "Zero-shot recall of each Fashion-MNIST class by the run's final model (the suite's classifier and test glyphs)."
    model, info = load_model(Path(run_dir) / "model_final.pt")
    enc, size = Encoder(model.eval(), get_tokenizer(model_context_length(info["arch"])), device="cpu"), info["image_size"]
    with torch.no_grad():
        images = encode_images(enc, fashion_test_sets(size)["clean"], image_transform(size, train=False))
        logits = zeroshot_logits(images, fashion_classifier(enc))
    return per_class_recall(logits, torch.as_tensor(load_embedded("fashion_mnist")["test_labels"].astype(np.int64))).tolist()


def class_table(rows: list[dict]) -> str:
    "A Markdown table: one row per run, its overall accuracy and the accuracy of each class."
    lines = ["| run | acc1 | " + " | ".join(FASHION) + " |", "|---|---|" + "---|" * len(FASHION)]
    for r in rows:
        lines.append(f"| {r['run']} | {r['acc1']:.3f} | " + " | ".join(f"{a:.2f}" for a in r["per_class"]) + " |")
    return "\n".join(lines)


def main(jobs: int | None):
    per_seed = [(arm, s) for arm, seeds in [("rich/noisy", NOISY_SEEDS), ("rich/clean", CLEAN_SEEDS)] for s in seeds]
    runs = [dict(method="clip", regime="rich", seed=s, **ARMS[arm]) for arm, s in per_seed]
    runs += [dict(method="clip", regime="rich", noise_scale=1.0, seed=order, init_seed=init) for init, order in SWAPS]
    results = run_all(runs, jobs=jobs)
    labels = [f"{arm} seed {s}" for arm, s in per_seed] + [f"rich/noisy init {i}, order {o}" for i, o in SWAPS]
    rows = [
        dict(run=label, acc1=r["eval"]["zeroshot/fashion_mnist/acc1"], per_class=class_accuracies(r["run_dir"]), run_dir=r["run_dir"])
        for label, r in zip(labels, results)
    ]
    noisy = np.array([r["per_class"] for r in rows[: len(NOISY_SEEDS)]])
    summary = dict(
        classes=FASHION,
        rows=rows,
        noisy_class_sd=dict(zip(FASHION, noisy.std(0, ddof=1).round(3).tolist())),
        machine=machine(),
        command="tools/seed_spread.py",
    )
    out = DATA_DIR / "results" / "seed_spread.json"
    out.write_text(json.dumps(summary, indent=1))
    print(class_table(rows), "", "sd over the noisy seeds, per class: " + ", ".join(f"{c} {v}" for c, v in summary["noisy_class_sd"].items()), sep="\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=None, help="parallel runs (default: one per CPU core)")
    main(parser.parse_args().jobs)
