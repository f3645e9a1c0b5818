"""All GPU figures of psd_clip in one run of at most 8 minutes on one H100, and the GPU checks of psd_clip.train.

    benchmarks/gpu_check.sh                               # on a bare GPU machine: installs the carried wheels, then this
    benchmarks/gpu_check.sh --dry-run                     # on a CPU: the same sections on the tiny presets (CI rehearses it)

$OUT/gpu.json is rewritten the moment each section ends (and the shell script tees the printed tables to
$OUT/gpu_check.log), so a run killed at its time limit keeps every section it finished. Sections, in order of value,
each started only if its estimated time still fits the budget (said so when skipped):
 1. step: our training step against open_clip's (`step_vs_open_clip.py`) on RN50, then ViT-B-32 (compile caches reset
    between the two, so each is compiled for its own static batch), bf16, batch 256: ms/step, samples/s, ratio to
    open_clip, PSD teachers as ratios to our CLIP step, FLOPs and MFU; compile time (the first call) apart.
 2. nonfinite: a NaN loss injected at one step under the GPU defaults is skipped on the device (weights unchanged,
    counted once), and the host-device synchronizations per step between log steps are counted (sync debug mode).
 3. resume: a run stopped at step 5 and resumed gives the same losses as an uninterrupted one (EMA teacher, defaults:
    compiled, fused AdamW, bf16).
 4. mfu: our CLIP step at the largest batch that fits (of 512, 1024; each recompiles), for utilization.
 5. data: webdataset throughput per core (ours, open_clip's, ours with decode_on='device') and `decode_batch` on the GPU.
 6. matrix: short tiny runs in every precision, compile, channels_last + grad checkpointing, teachers, ALBEF.
 7. paper: tiny default runs (with the evaluation) side by side on the device, as `make paper` starts them
    (`default_jobs()` at a time, two waves): the wall time per run, and the tiny reproduction's estimate from it.

The estimates (`ESTIMATE_S`, one H100, seconds) are a budget read off the code, not a measurement: torch.compile
cost 70-75 s per model from a cold cache on CPU, and the step section compiles our student and two separate teachers
for each of two models; the others follow the CPU rehearsal's section times (`DRY_ESTIMATE_S`, 2 cores) with the
compiles they add. By them the default budget of 480 s holds step, nonfinite, resume and data; `--sections mfu matrix
paper` is the second command, if the session's device time allows. Every section checks the clock before it starts
and its results are written as it ends, so a wrong estimate costs sections, never finished results.
"""

import argparse, json, os, sys, time, warnings
from pathlib import Path
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data_throughput
import run_cost
import step_vs_open_clip as svo
from psd_clip.core import make_config
from psd_clip.callbacks import InjectNaN, StopAtCB
from psd_clip.learner import Callback
from psd_clip.train import train

CARRIED = ["open_clip", "ftfy", "wcwidth", "fastcore", "webdataset", "braceexpand"]  # not in a GPU machine's image
STEP_VARIANTS = ["open_clip", "clip", "clip_again", "psd_self_rows", "psd_ema_subset", "psd_snapshot_subset"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="CPU: tiny presets, small batches, few repeats")
    parser.add_argument("--budget-s", type=float, default=None, help="start no section that would end after this many seconds (default: 480, dry run 180)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="device peak for MFU; default: H100 989, H200 989 (bf16 dense)")
    parser.add_argument("--sections", nargs="+", default=list(ESTIMATE_S))
    paper_runs = len(run_cost.recorded_runs())  # every run the committed tables list
    parser.add_argument("--paper-runs", type=int, default=paper_runs, help="distinct runs of the tiny reproduction (docs/reproducing.md)")
    return parser.parse_args(argv)


ESTIMATE_S = dict(step=260, nonfinite=60, resume=90, mfu=160, data=60, matrix=240, paper=180)  # one H100, seconds (see above)
DRY_ESTIMATE_S = dict(step=25, nonfinite=8, resume=12, mfu=15, data=18, matrix=30, paper=40)  # 2 CPU cores, measured (make gpu-rehearsal)


def timed_section(name, out, start, budget, fn, estimate):
    if time.time() - start + estimate > budget:
        out[name] = f"skipped: {budget - (time.time() - start):.0f}s left of the budget, the section needs about {estimate}s"
        print(name, out[name], flush=True)
        return
    t = time.time()
    try:
        out[name] = fn()
    except Exception as e:
        out[name] = f"failed: {type(e).__name__}: {str(e)[:400]}"
    print(f"== {name} done in {time.time() - t:.0f}s (estimate {estimate}s)", flush=True)


def step_section(dry, peak):
    argv = (
        ["--arch", "psd-tiny-cnn", "psd-tiny-vit", "--batch", "32", "--repeats", "3", "--warmup", "1"]
        if dry
        else ["--arch", "RN50", "ViT-B-32", "--batch", "256", "--repeats", "10", "--warmup", "3", "--device", "cuda"]
    )
    archs, argv = argv[1:3], argv[3:]
    results = {}
    for arch in archs:  # one model at a time, the compile caches reset between: each graph is compiled for its own batch
        results[arch] = svo.main(["--arch", arch, *argv, "--variants", *STEP_VARIANTS, *(["--peak-tflops", str(peak)] if peak else [])])[0]
        torch._dynamo.reset()
    return results


def mfu_section(dry, peak, deadline):
    "Our CLIP step at growing batches until one does not fit (or the time is up: each new batch size compiles again)."
    found = {}
    for arch in ["psd-tiny-cnn", "psd-tiny-vit"] if dry else ["ViT-B-32", "RN50"]:
        for batch in [64, 128] if dry else [512, 1024]:
            if time.time() > deadline:
                found.setdefault(arch, {})["skipped_at"] = batch
                break
            try:
                argv = ["--arch", arch, "--batch", str(batch), "--variants", "clip", "--repeats", "2" if dry else "6", "--warmup", "1" if dry else "3"]
                r = svo.main([*argv, *([] if dry else ["--device", "cuda"]), *(["--peak-tflops", str(peak)] if peak else [])])[0]
                found[arch] = dict(batch=batch, **r["variants"]["clip"])
            except torch.OutOfMemoryError:
                found.setdefault(arch, {})["oom_at"] = batch
                break
            finally:
                torch._dynamo.reset()
                torch.cuda.empty_cache() if torch.cuda.is_available() else None
    return found


def short_tiny_run(dry, **settings) -> dict:
    "RunConfig settings of a short tiny run without evaluation: 4,096 pairs in batches of 256, or 512 in 64 (dry run)."
    base = dict(scale="tiny", n_train=512 if dry else 4096, batch_size=64 if dry else 256, eval_suite="none", ckpt_every=1000, warmup_steps=4)
    return base | dict(with_emoji=False) | settings


def resume_section(dry, root: Path):
    "Losses of an uninterrupted run against a run stopped at step 5 and resumed."
    base = short_tiny_run(dry, epochs=2, log_every=1, teacher="ema")
    train(make_config(**base, out_dir=str(root / "straight")))
    train(make_config(**base, out_dir=str(root / "stopped")), callbacks=[StopAtCB(5)])
    resumed = train(make_config(**base, out_dir=str(root / "stopped"), resume="latest"))
    rows = lambda d: [json.loads(l) for l in (root / d / "metrics.jsonl").read_text().splitlines()]
    pairs = list(zip(rows("straight"), rows("stopped")))
    diff = max(abs(a["contrastive_loss"] - b["contrastive_loss"]) for a, b in pairs)
    return dict(steps=len(pairs), max_loss_diff=diff, bitwise=diff == 0.0, compile=resumed["compile"], device=resumed["device"])


class WeightsAndSyncs(Callback):
    "Keeps the weights around `nan_step` (made NaN by `InjectNaN`), and counts host-device syncs in steps `watch`."

    def __init__(self, nan_step, watch):
        self.nan_step, self.watch, self.weights, self.syncs, self.caught = nan_step, watch, {}, 0, None

    def before_batch(self, t):
        if t.step == self.watch.start and torch.cuda.is_available():
            self.caught = warnings.catch_warnings(record=True)
            self.log = self.caught.__enter__()
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")

    def after_batch(self, t):
        if t.step in (self.nan_step, self.nan_step + 1):
            self.weights[t.step] = [p.detach().clone() for p in t.model.parameters()]
        if t.step == self.watch.stop and self.caught is not None:
            torch.cuda.set_sync_debug_mode(0)
            self.syncs = sum("synchroniz" in str(w.message) for w in self.log)
            self.caught.__exit__(None, None, None)
            self.caught = None


def nonfinite_section(dry, root: Path):
    "A NaN loss at step 3 with the GPU defaults: skipped on the device; and the host syncs per step (no log step inside)."
    watch = range(6, 14)
    probe = WeightsAndSyncs(nan_step=3, watch=watch)
    config = make_config(**short_tiny_run(dry, epochs=2, log_every=1000, teacher="ema"), out_dir=str(root))  # 16 steps or more
    r = train(config, callbacks=[InjectNaN({3}), probe])
    unchanged = all(torch.equal(a, b) for a, b in zip(probe.weights[3], probe.weights[4]))
    syncs = probe.syncs / len(watch) if torch.cuda.is_available() else "n/a (CPU)"
    return dict(skipped_steps=r["skipped_steps"], weights_unchanged_on_nan_step=unchanged, syncs_per_step=syncs, status=r["status"], device=r["device"])


def matrix_section(dry, root: Path, deadline):
    base = short_tiny_run(dry, epochs=1 if dry else 2, log_every=4)
    out = {}
    for name, kw in [
        ("bf16", {}),
        ("fp16", dict(precision="fp16")),
        ("fp32", dict(precision="fp32")),
        ("no_compile", dict(compile=False)),
        ("channels_last_gradckpt", dict(channels_last=True, grad_checkpointing=True)),
        ("vit", dict(arch="psd-tiny-vit")),
        ("ema_fp16", dict(teacher="ema", precision="fp16")),
        ("snapshot_subset", dict(teacher="snapshot", soft_block="subset")),
        ("albef", dict(method="albef")),
    ]:
        if dry and name in ("bf16", "fp16"):
            continue  # CPU autocast: not what this checks
        if time.time() > deadline:
            out[name] = "skipped: time budget spent"
            continue
        t = time.time()
        try:
            r = train(make_config(**{**base, **kw, "out_dir": str(root / name)}))
            m = r["final_metrics"]
            out[name] = dict(
                wall_s=round(time.time() - t, 1),
                steps=r["steps"],
                loss=m.get("contrastive_loss"),
                sps=round(m["samples_per_s"]),
                skipped=r["skipped_steps"],
                compile=r["compile"],
                status=r["status"],
            )
        except Exception as e:
            out[name] = f"{type(e).__name__}: {str(e)[:300]}"
        print(name, out[name], flush=True)
    return out


def paper_section(dry, root: Path, paper_runs: int):
    "Two waves of tiny default runs side by side, as run_all starts the paper grid: wall time per run and the reproduction's estimate."
    from psd_clip.experiments import default_jobs, run_all

    jobs = 2 if dry else default_jobs()
    micro = dict(max_steps=10, n_train=512, with_emoji=False, eval_suite="none") if dry else {}
    runs = [dict(method="psd", seed=100 + i, **micro) for i in range(2 * jobs)]
    start = time.time()
    results = run_all(runs, root=root, jobs=jobs)
    wall, mean = time.time() - start, lambda key: round(sum(r[key] for r in results) / len(results), 1)
    return dict(
        jobs=jobs,
        runs=len(runs),
        wall_s=round(wall),
        wall_per_run_s=round(wall / len(runs), 1),
        mean_train_s=mean("train_time_s"),
        mean_run_wall_s=mean("wall_time_s"),
        mean_compile_s=round(sum(r["compile"].get("compile_s") or 0 for r in results) / len(results), 1),
        paper_runs=paper_runs,
        paper_estimate_min=round(wall / len(runs) * paper_runs / 60, 1),
        device=results[0]["device"],
    )


def main(argv=None):
    args, start = parse_args(argv), time.time()
    budget = args.budget_s or (180 if args.dry_run else 480)
    out_dir = Path(os.environ.get("OUT", "/tmp/gout"))
    out_dir.mkdir(parents=True, exist_ok=True)
    runs = Path(os.environ.get("RUNS", "/tmp/g"))
    runs.mkdir(parents=True, exist_ok=True)
    for name in CARRIED:
        __import__(name)
    if not args.dry_run and not torch.cuda.is_available():
        sys.exit("No GPU: run with --dry-run on a CPU")
    peak = args.peak_tflops or (None if args.dry_run else 989.0)  # H100 SXM / H200: 989 TFLOP/s dense bf16
    out = {
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else "none",
        "dry_run": args.dry_run,
        "peak_tflops": peak,
        "carried": {name: getattr(sys.modules.get(name), "__file__", None) for name in CARRIED},  # where each came from
    }
    sections = dict(
        step=lambda: step_section(args.dry_run, peak),
        mfu=lambda: mfu_section(args.dry_run, peak, start + budget),
        resume=lambda: resume_section(args.dry_run, runs / "resume"),
        nonfinite=lambda: nonfinite_section(args.dry_run, runs / "nonfinite"),
        matrix=lambda: matrix_section(args.dry_run, runs / "matrix", start + budget),
        data=lambda: data_throughput.main(["--images", "256" if args.dry_run else "1024", "--passes", "3"]),
        paper=lambda: paper_section(args.dry_run, runs / "paper", args.paper_runs),
    )
    estimates = DRY_ESTIMATE_S if args.dry_run else ESTIMATE_S
    for name in args.sections:
        timed_section(name, out, start, budget, sections[name], estimates[name])
        torch._dynamo.reset()  # drop the compiled graphs (and the models they hold) of the section
        out["wall_s"] = round(time.time() - start)
        (out_dir / "gpu.json.tmp").write_text(json.dumps(out, indent=1, default=str))  # every finished section survives a kill
        os.replace(out_dir / "gpu.json.tmp", out_dir / "gpu.json")
    print(json.dumps({k: v for k, v in out.items() if k not in ("step", "mfu")}, indent=1, default=str))
    return out


if __name__ == "__main__":
    main()
