"""The headline from scratch: train the main comparison's core with no cached run, regenerate its tables, and compare.

CLIP, PSD (the kit's defaults) and label smoothing, seeds 0-2, in both regimes: 18 runs, trained into a new scratch
folder (`runs/reproduce/<time>/`, never the shared cache), through the zero-shot and retrieval notebooks, which write
their tables and the zero-shot figure there too. Then a table of each arm's mean here beside the committed results
(data/results/main_comparison, 5 seeds): the committed mean ± sd, whether the mean here lies within the committed
seeds' range, and the largest difference from the committed run of the same seed (0 where the machine and software
are the builders': the runs are then bit-exact); then the headline itself, each method's paired difference from CLIP
[95% t interval] here and in the committed runs.

    make reproduce            (or: .venv/bin/python tools/reproduce.py [--seeds 0 1 2] [--jobs 2] [--compare runs/reproduce/<time>])
"""

import argparse, json, os, subprocess, sys, time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from psd_clip.core import PROJECT_ROOT
from psd_clip.experiments import interval_text, machine
from psd_clip.paper import artifact_metrics, paired, read_comparison

COMMITTED = PROJECT_ROOT / "data" / "results" / "main_comparison"
METHODS, REGIMES = ["clip", "psd", "label_smoothing"], ["rich", "memorize"]
NOTEBOOKS = ["zero_shot", "retrieval"]  # both read the same 18 runs: the first trains them, the second reuses them


def run_notebooks(scratch: Path, seeds: list[int], jobs: int | None) -> float:
    "Each notebook through papermill, its runs in `scratch`/runs; the seconds it all took."
    env = {**os.environ, "PSD_CLIP_RUNS": str(scratch / "runs"), "PSD_CLIP_REUSE_RECORDED": "0"}
    parameters = dict(seeds=seeds, methods=METHODS, regimes=REGIMES, jobs=jobs, out=str(scratch / "results"), figures=str(scratch / "figures"))
    start = time.time()
    for name in NOTEBOOKS:
        print(f"== nbs/paper/{name}.ipynb", flush=True)
        command = [Path(sys.executable).parent / "papermill", "--progress-bar", "--log-output", "-k", "psd_clip", "-y", json.dumps(parameters)]
        subprocess.run([*command, PROJECT_ROOT / "nbs" / "paper" / f"{name}.ipynb", scratch / f"{name}.ipynb"], env=env, check=True)
    return time.time() - start


def side_by_side(here: pd.DataFrame, committed: pd.DataFrame) -> pd.DataFrame:
    "Per regime, method and headline metric: the mean here, the committed mean ± sd, and how the two compare."
    metrics = artifact_metrics("zero_shot") | {k: v for k, v in artifact_metrics("retrieval").items() if v.endswith("R@1")}
    rows = []
    for (regime, method), mine in here.groupby(["regime", "method"], sort=False):
        theirs = committed[(committed.regime == regime) & (committed.method == method)]
        same_seed = theirs.set_index("seed").loc[mine.seed]
        for key, name in metrics.items():
            low, high = theirs[key].min(), theirs[key].max()
            rows.append(
                {
                    "regime": regime,
                    "method": method,
                    "metric": name,
                    f"here ({len(mine)} seeds)": f"{mine[key].mean():.4f}",
                    f"committed ({len(theirs)} seeds)": f"{theirs[key].mean():.4f} ± {theirs[key].std():.4f}",
                    "within the committed seeds' range": "yes" if low <= mine[key].mean() <= high else "no",
                    "largest difference, same seed": f"{(mine[key].to_numpy() - same_seed[key].to_numpy()).__abs__().max():.4f}",
                }
            )
    return pd.DataFrame(rows)


def comparison_side_by_side(here: pd.DataFrame, committed: pd.DataFrame) -> pd.DataFrame:
    "The headline itself: each method's paired difference from CLIP [95% t interval] here and in the committed runs."
    metrics = {"zeroshot/fashion_mnist/acc1": "Fashion-MNIST", "retrieval/items/image_to_text_R@1": "items i→t R@1"}
    rows = []
    for regime in REGIMES:
        for method in METHODS[1:]:
            for key, name in metrics.items():
                arms = {
                    where: [frame[(frame.regime == regime) & (frame.method == m)] for m in (method, "clip")]
                    for where, frame in (("here", here), ("committed", committed))
                }
                here_p, theirs = paired(*arms["here"], key), paired(*arms["committed"], key)
                rows.append(
                    {
                        "regime": regime,
                        "comparison": f"{method} − clip",
                        "metric": name,
                        f"here ({here_p['n']} seeds)": interval_text(here_p),
                        f"committed ({theirs['n']} seeds)": interval_text(theirs),
                        "here's mean inside the committed interval": "yes" if theirs["low"] <= here_p["mean"] <= theirs["high"] else "no",
                    }
                )
    return pd.DataFrame(rows)


def report(scratch: Path, minutes: float | None) -> str:
    "Both tables for the runs in `scratch`, as Markdown."
    here, committed = read_comparison(scratch / "results"), read_comparison(COMMITTED)
    took = f": {minutes:.1f} min" if minutes is not None else ""
    return (
        f"{len(here)} runs from an empty cache on {machine()}{took}\n\n{side_by_side(here, committed).to_markdown(index=False)}\n\n"
        f"{comparison_side_by_side(here, committed).to_markdown(index=False)}\n"
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--jobs", type=int, default=None, help="parallel runs (default: one per CPU core)")
    p.add_argument("--compare", help="only compare the runs an earlier call made in this scratch folder (no training)")
    args = p.parse_args()
    if args.compare:
        return print(report(Path(args.compare), None))
    scratch = PROJECT_ROOT / "runs" / "reproduce" / datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    scratch.mkdir(parents=True)
    text = report(scratch, run_notebooks(scratch, args.seeds, args.jobs) / 60)
    (scratch / "comparison.md").write_text(text)
    print(f"\n{text}\ntables and figure in {scratch / 'results'}, {scratch / 'figures'}; these tables in {scratch / 'comparison.md'}")


if __name__ == "__main__":
    main()
