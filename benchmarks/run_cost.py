"""Wall time and peak memory of the tiny default run, and of the tiny paper reproduction from the runs it cached.

    OMP_NUM_THREADS=2 python benchmarks/run_cost.py            # trains the default run (a few minutes on 2 cores)
    python benchmarks/run_cost.py --skip-run                   # only the paper reproduction's figures
    python benchmarks/run_cost.py --skip-run --floor           # and the compute floor (about a minute)
    OMP_NUM_THREADS=2 python benchmarks/run_cost.py --epochs 4 # the default run for 4 epochs (the former recipe's cost)

1. The default run: `python -m psd_clip.train --scale tiny` (the run `make demo` trains: the defaults, PSD) in a
   fresh folder. Its wall time from outside (process start to exit, imports included), the train and total times it
   records, and its peak memory (resident; and on CUDA the device's) as results.json records it.
2. The tiny paper reproduction: every distinct run that the committed tables under data/results/ list, found in the
   run cache by its folder name. How many; the sum of their CPU times divided by the cores (the wall time of the
   whole reproduction with every core busy: CPU time does not grow when runs share the cores, wall time does), runs
   made before the kit recorded CPU time counted at the median of those that have it; the same from wall times
   divided by --jobs, for comparison (an upper bound when the runs shared the cores with more than --jobs others);
   the longest run; and the largest peak memory recorded. Runs missing from the cache (a clean clone has none) are
   counted at the training time their table recorded (`train_time_s`: without the ~25 s evaluation, and longer when
   that run shared its core), so `estimated_wall_min_all_runs` covers the whole reproduction either way.
3. The compute floor (`--floor`): what the cached runs record of their training steps (seconds per step, the fastest
   and the median; the share of a run's CPU time they take, and the CPU seconds of start-up, data and evaluation
   around them), the reproduction's steps at the fastest recorded speed on all cores with nothing else, and how many
   steps a run could have if the whole reproduction had to fit in `--target-min` minutes. Beside them, the kit's PSD
   step (`Trainer.one_batch`, the tiny recipe's model, batch and image size, one thread, a synthetic batch) timed now
   and its FLOPs (`FlopCounterMode`, forward + backward): a shared machine's speed drifts over hours, so the runs'
   own records, made in their own conditions, set the floor.
"""

import argparse, json, os, statistics, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def default_run(epochs: int | None = None) -> dict:
    with tempfile.TemporaryDirectory() as out:
        start = time.time()
        command = [sys.executable, "-m", "psd_clip.train", "--scale", "tiny", *(["--epochs", str(epochs)] if epochs else []), "--out_dir", out]
        subprocess.run(command, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        results = json.loads((Path(out) / "results.json").read_text())
    keys = ("train_time_s", "wall_time_s", "cpu_time_s", "peak_rss_mb", "peak_gpu_mb", "device")
    return dict(command=" ".join(command[1:-2]), outside_wall_s=round(time.time() - start, 1), **{k: results[k] for k in keys if k in results})


def cached_run(run_dir: str) -> dict | None:
    "A run's results.json, looked up by its folder name under this checkout's runs/ (tables record absolute paths)."
    for root in ("cache", "soft_targets"):
        path = ROOT / "runs" / root / Path(run_dir).name / "results.json"
        if path.exists():
            return json.loads(path.read_text())
    return None


def recorded_runs() -> dict[str, float]:
    "Every distinct run the committed tables under data/results/ list, with the training time its table recorded."
    recorded_train_s = {}
    for table in (ROOT / "data" / "results").glob("*/*.json"):
        content = json.loads(table.read_text())
        if isinstance(content, dict) and "rows" in content:
            recorded_train_s |= {row["run_dir"]: row.get("train_time_s", 0.0) for row in content["rows"] if "run_dir" in row}
    return recorded_train_s


def paper_reproduction(jobs: int) -> dict:
    recorded_train_s = recorded_runs()
    found = {d: r for d in sorted(recorded_train_s) if (r := cached_run(d)) is not None}
    cpu = [r["cpu_time_s"] for r in found.values() if "cpu_time_s" in r]
    walls = [r["wall_time_s"] for r in found.values()]
    peaks = [r["peak_rss_mb"] for r in found.values() if "peak_rss_mb" in r]
    cpu_all = sum(cpu) + (len(found) - len(cpu)) * statistics.median(cpu) if cpu else None
    missing_s = sum(t for d, t in recorded_train_s.items() if d not in found)
    return dict(
        distinct_runs=len(recorded_train_s),
        found_in_cache=len(found),
        runs_with_cpu_time=len(cpu),
        median_cpu_time_s=statistics.median(cpu) if cpu else None,
        estimated_wall_min_from_cpu=round(cpu_all / os.cpu_count() / 60, 1) if cpu else None,
        missing_runs_recorded_train_min=round(missing_s / 60, 1),
        estimated_wall_min_all_runs=round(((cpu_all or 0) + missing_s) / os.cpu_count() / 60, 1),
        cores=os.cpu_count(),
        estimated_wall_min_from_walls=round(sum(walls) / jobs / 60, 1),
        jobs=jobs,
        longest_run_wall_s=max(walls, default=None),
        peak_rss_mb=max(peaks, default="not recorded"),
        runs_with_peak_recorded=len(peaks),
    )


def compute_floor(target_min: float, repeats: int) -> dict:
    "The reproduction's training steps alone: what the cached runs record of them, and the bare step timed here."
    import torch

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from loss_overhead import interleaved_times
    from step_vs_open_clip import our_step, our_trainer, random_batch, step_flops
    from psd_clip.core import get_scale

    torch.set_num_threads(1)  # one run per core, as `make paper` runs them
    tiny, cpu = get_scale("tiny"), torch.device("cpu")
    trainer = our_trainer(tiny.arch, tiny.batch_size, cpu, "fp32", False, image_size=tiny.image_size)
    images, tokens = random_batch(tiny.arch, tiny.batch_size, cpu, image_size=tiny.image_size)
    step = our_step(trainer)
    times = interleaved_times({"psd": lambda: step(images, tokens)}, cpu, repeats, 3)["psd"]
    gflop = step_flops(trainer.model, images, tokens, None) / 1e9
    # Runs resumed in another process lack part of their training time; each run's own record was made in its conditions.
    recorded = recorded_runs()
    runs = [r for d in recorded if (r := cached_run(d)) is not None and "cpu_time_s" in r and not r.get("resumed_from")]
    steps = statistics.median(r["steps"] for r in runs)
    step_s = [r["train_time_s"] / r["steps"] for r in runs]
    fastest_step_s = min(step_s)  # a floor: a busier moment of a shared machine only adds time
    n_runs, cores = len(recorded), os.cpu_count()
    return dict(
        arch=tiny.arch,
        batch=tiny.batch_size,
        image_size=tiny.image_size,
        step_gflop=round(gflop, 2),
        bare_step_s_now=dict(fastest=round(min(times), 4), median=round(statistics.median(times), 4)),
        gflops_per_core_now=round(gflop / min(times), 1),
        runs_read=len(runs),
        recorded_step_s=dict(fastest=round(fastest_step_s, 4), median=round(statistics.median(step_s), 4)),
        recorded_train_share_of_run_cpu=round(statistics.median(r["train_time_s"] / r["cpu_time_s"] for r in runs), 2),
        recorded_cpu_outside_training_s=round(statistics.median(r["cpu_time_s"] - r["train_time_s"] for r in runs), 1),
        steps_per_run=steps,
        runs=n_runs,
        cores=cores,
        floor_wall_min=round(n_runs * steps * fastest_step_s / cores / 60, 1),
        steps_per_run_for_target=int(target_min * 60 * cores / n_runs / fastest_step_s),
        target_min=target_min,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-run", action="store_true", help="do not train the default run")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="parallel runs the paper's time is divided by")
    parser.add_argument("--epochs", type=int, default=None, help="train the default run for this many epochs (a candidate recipe)")
    parser.add_argument("--floor", action="store_true", help="also time the bare training step and print the compute floor")
    parser.add_argument("--target-min", type=float, default=60.0, help="the wall time the floor's steps-per-run figure is fitted to")
    parser.add_argument("--repeats", type=int, default=20, help="timed steps for the floor (after 3 warm-up steps)")
    args = parser.parse_args(argv)
    print(f"threads {os.environ.get('OMP_NUM_THREADS', 'unset')}, {os.cpu_count()} CPU cores")
    out = {} if args.skip_run else {"default_run": default_run(args.epochs)}
    out["paper_reproduction"] = paper_reproduction(args.jobs)
    if args.floor:
        out["compute_floor"] = compute_floor(args.target_min, args.repeats)
    print(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
