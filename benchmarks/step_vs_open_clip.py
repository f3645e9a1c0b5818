"""Our training step against open_clip's, on the same model, batch and device.

    python benchmarks/step_vs_open_clip.py                                                   # CPU, tiny presets
    python benchmarks/step_vs_open_clip.py --arch RN50 ViT-B-32 --batch 256 --device cuda --peak-tflops 989

open_clip's step is what `open_clip_train` does per batch (its `ClipLoss`, backward, grad clip 1.0, AdamW with its
parameter groups and default kernels, clamp of the logit scale to ln 100), eager as its default. Ours is
`psd_clip.learner.Trainer.one_batch` with the run's default callbacks that act on a step (device copy, non-finite check,
clamp + teacher update) and the run's defaults (compile on CUDA, fused AdamW on CUDA), at mid-run so that α > 0 and
the teachers work. Steps of all variants are interleaved within each repeat (order alternating), so a drift in machine
load hits all alike; ratios are medians of the per-repeat ratios. `clip_again` is a second, identical CLIP step: its
ratio to `clip` is the noise floor. FLOPs are counted by `FlopCounterMode` on one eager forward + backward of
open_clip's step; utilization (MFU) = those FLOPs / median step time / `--peak-tflops` (GPU only).
"""

import argparse, math, os, statistics, sys
from types import SimpleNamespace
import open_clip, torch
from open_clip.loss import ClipLoss as OpenClipLoss
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loss_overhead import interleaved_times, paired_ratio
from psd_clip.core import autocast_dtype, make_config, pick_device, resolve
from psd_clip.distributed import DistEnv
from psd_clip.loss import build_objective
from psd_clip.model import TINY_PRESETS, _without_warnings, create_model, model_context_length
from psd_clip.callbacks import DeviceCB, NonFiniteCB, TeacherCB
from psd_clip.compiling import compile_report, compile_teacher
from psd_clip.learner import Trainer, make_optimization
from psd_clip.train import wrap_model

VARIANTS = {  # our variants: RunConfig overrides
    "clip": dict(method="clip"),
    "clip_again": dict(method="clip"),
    "psd_self_rows": dict(method="psd"),
    "psd_self_subset": dict(method="psd", soft_block="subset"),
    "psd_ema_rows": dict(method="psd", teacher="ema"),
    "psd_ema_subset": dict(method="psd", teacher="ema", soft_block="subset"),
    "psd_snapshot_rows": dict(method="psd", teacher="snapshot"),
    "psd_snapshot_subset": dict(method="psd", teacher="snapshot", soft_block="subset"),
    "label_smoothing": dict(method="label_smoothing"),
    "albef": dict(method="albef"),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", nargs="+", default=["psd-tiny-cnn", "psd-tiny-vit"], help="models to time")
    parser.add_argument("--batch", type=int, default=64, help="batch size")
    parser.add_argument("--device", default="auto", help="'cpu', 'cuda' or 'auto'")
    parser.add_argument("--precision", default="auto", help="'auto' (bf16 on GPU, fp32 on CPU), 'fp32', 'bf16', 'fp16'")
    parser.add_argument("--compile", default="auto", choices=["auto", "on", "off"], help="our step: auto = the default (on for CUDA)")
    parser.add_argument("--variants", nargs="+", default=["open_clip", *VARIANTS], help="which steps to time")
    parser.add_argument("--repeats", type=int, default=10, help="timed steps of each variant")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps of each variant first (compilation happens here)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the device peak in TFLOP/s for MFU (H100 SXM bf16 dense: 989)")
    return parser.parse_args(argv)


def image_size_of(arch: str) -> int:
    return 48 if arch in TINY_PRESETS else 224


def random_batch(arch: str, batch: int, device, seed: int = 0, image_size: int | None = None):
    "A CPU batch of random images and tokens (pinned when the step copies it to CUDA, as both data loaders would)."
    g, size = torch.Generator().manual_seed(seed), image_size or image_size_of(arch)
    images = torch.randn(batch, 3, size, size, generator=g)
    tokens = torch.randint(1, 49407, (batch, model_context_length(arch)), generator=g)
    return tuple(x.pin_memory() for x in (images, tokens)) if device.type == "cuda" else (images, tokens)


class OpenClipStep:
    "One step of `open_clip_train.train.train_one_epoch` (accum_freq 1, no distillation), its optimizer as `open_clip_train.main`."

    def __init__(self, arch: str, device, dtype, lr: float = 5e-4, wd: float = 0.2):
        torch.manual_seed(0)
        with _without_warnings():
            model = open_clip.create_model(arch, force_image_size=image_size_of(arch), output_dict=True)
        self.model = model.to(device)
        exclude = lambda n, p: p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n or "logit_scale" in n
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(
            [
                {"params": [p for n, p in named if exclude(n, p)], "weight_decay": 0.0},
                {"params": [p for n, p in named if not exclude(n, p)], "weight_decay": wd},
            ],
            lr=lr,
            betas=(0.9, 0.98),
            eps=1e-6,
        )
        self.scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
        self.loss, self.device, self.dtype = OpenClipLoss(), device, dtype

    def __call__(self, images, tokens):
        images, tokens = images.to(self.device, non_blocking=True), tokens.to(self.device, non_blocking=True)
        self.optimizer.zero_grad()
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype is not None):
            total = sum(self.loss(**self.model(images, tokens), output_dict=True).values())
        if self.scaler is None:
            total.backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.optimizer.step()
        else:
            self.scaler.scale(total).backward()
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        with torch.no_grad():
            self.model.logit_scale.clamp_(0, math.log(100))


def our_trainer(arch: str, batch: int, device, precision: str, compile: bool | None, image_size: int | None = None, **overrides) -> Trainer:
    "A psd_clip Trainer as `build_trainer` makes it (defaults for `device`), without data or files, at mid-run."
    size = image_size or image_size_of(arch)
    cfg = resolve(make_config(arch=arch, batch_size=batch, image_size=size, precision=precision, compile=compile, epochs=2, warmup_steps=10, **overrides))
    torch.manual_seed(0)
    model = create_model(cfg.arch, cfg.image_size, cfg.grad_checkpointing, cfg.channels_last).to(device)
    env, data = DistEnv(device=device), SimpleNamespace(steps_per_epoch=1000)
    objective = compile_teacher(build_objective(cfg, model), cfg, device)
    optimization = make_optimization(model, cfg, cfg.epochs * data.steps_per_epoch, device)
    trainer = Trainer(cfg, model, wrap_model(model, cfg, env), objective, data, *optimization, env, [DeviceCB(), TeacherCB(), NonFiniteCB()])
    trainer.step, trainer.epoch = 1000, 1  # mid-run: α > 0, so the teachers are used
    trainer.callback("before_fit")  # the callbacks' set-up: the non-finite check picks its path (device-side with fused AdamW)
    return trainer


def our_step(trainer: Trainer):
    def step(images, tokens):
        trainer.images, trainer.tokens = images, tokens
        trainer.one_batch()

    return step


def step_flops(model, images, tokens, dtype) -> int:
    "FLOPs of one forward + backward of `model` and open_clip's loss on the batch."
    device = next(model.parameters()).device
    with FlopCounterMode(display=False) as counter:
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = OpenClipLoss()(**model(images.to(device), tokens.to(device)))
        loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def benchmark_arch(args, arch: str, device) -> dict:
    "Times every variant on `arch`; returns ms/step, samples/s, ratios, FLOPs and MFU."
    dtype = autocast_dtype(args.precision, device)
    compile = {"auto": None, "on": True, "off": False}[args.compile]
    images, tokens = random_batch(arch, args.batch, device)
    steps, trainers = {}, {}
    for name in args.variants:
        if name == "open_clip":
            steps[name] = reference = OpenClipStep(arch, device, dtype)
        else:
            trainers[name] = our_trainer(arch, args.batch, device, args.precision, compile, **VARIANTS[name])
            steps[name] = our_step(trainers[name])
    fns = {name: (lambda s=s: s(images, tokens)) for name, s in steps.items()}
    times = interleaved_times(fns, device, args.repeats, args.warmup)
    flops = step_flops(reference.model if "open_clip" in steps else trainers["clip"].model, images, tokens, dtype)
    base = "clip" if "clip" in times else next(iter(times))
    result = dict(arch=arch, batch=args.batch, device=str(device), dtype=str(dtype), gflops_per_step=flops / 1e9, variants={})
    for name, ts in times.items():
        seconds = statistics.median(ts)
        row = dict(
            ms=1e3 * seconds,
            samples_per_s=args.batch / seconds,
            mfu=flops / seconds / (args.peak_tflops * 1e12) if args.peak_tflops and device.type == "cuda" else None,
        )
        if name == base and "open_clip" in times:
            row["ratio"], row["vs"] = paired_ratio(times, name, "open_clip"), "open_clip"
        elif name not in ("open_clip", base):
            row["ratio"], row["vs"] = paired_ratio(times, name, base), base
        if name in trainers:
            row["compile"] = compile_report(trainers[name].net)
        result["variants"][name] = row
    return result


def print_result(r: dict):
    print(f"\n{r['arch']}  batch {r['batch']}  {r['device']}  autocast {r['dtype']}  {r['gflops_per_step']:.2f} GFLOP/step (fwd+bwd)")
    print(f"{'variant':22s}{'ms/step':>10s}{'samples/s':>11s}{'MFU':>7s}  ratio")
    for name, v in r["variants"].items():
        mfu = "n/a" if v["mfu"] is None else f"{100 * v['mfu']:.1f}%"
        ratio = f"{v['ratio']:.3f}x {v['vs']}" if "ratio" in v else "(reference)" if name == "open_clip" else ""
        compiled = v.get("compile", {})
        note = (
            f"  [compiled, first call {compiled['compile_s']:.1f}s]"
            if compiled.get("compiled")
            else f"  [compile failed: {compiled['error'][:60]}]"
            if compiled.get("error")
            else ""
        )
        print(f"{name:22s}{v['ms']:10.1f}{v['samples_per_s']:11.0f}{mfu:>7s}  {ratio}{note}")


def main(argv=None):
    args = parse_args(argv)
    device = pick_device(args.device)
    print(
        f"torch {torch.__version__}, open_clip {open_clip.__version__}, device {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}, "
        f"threads {torch.get_num_threads()}, repeats {args.repeats}, warmup {args.warmup}"
    )
    results = [benchmark_arch(args, arch, device) for arch in args.arch]
    for r in results:
        print_result(r)
    return results


if __name__ == "__main__":
    main()
