"""What PSD costs over CLIP: time ratio of the loss's forward+backward at several global batch sizes, and of a
whole training step of a tiny model (forward, loss, backward, optimizer step), PSD with the same-pass teacher.

    python benchmarks/loss_overhead.py                      # CPU
    python benchmarks/loss_overhead.py --device cuda        # GPU (bf16 autocast by default there)

Times are medians over interleaved repeats (CLIP, PSD, PSD, CLIP, ...) after warm-up, and ratios are medians of
the per-repeat ratios, so a drift in machine load hits both alike; the training step also times CLIP against itself
to show the noise floor. On CUDA every timed call is bracketed by `torch.cuda.synchronize`.
"""

import argparse, statistics, time
import open_clip, torch, torch.nn.functional as F
from psd_clip.core import make_config, resolve, autocast_dtype, pick_device
from psd_clip.model import create_model, param_groups, clamp_logit_scale, model_context_length
from psd_clip.loss import ClipLoss, PSDLoss, build_objective


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="'cpu', 'cuda' or 'auto'")
    parser.add_argument("--precision", default="auto", help="'auto' (bf16 on GPU, fp32 on CPU), 'fp32', 'bf16', 'fp16'")
    parser.add_argument("--batches", type=int, nargs="+", default=[256, 1024, 4096], help="global batch sizes of the loss benchmark")
    parser.add_argument("--dim", type=int, default=1024, help="embedding size (RN50: 1024, ViT-B/32: 512)")
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats per loss and batch size")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--arch", default="psd-tiny-cnn", help="model of the training-step benchmark")
    parser.add_argument("--step-batch", type=int, default=128, help="batch size of the training-step benchmark")
    parser.add_argument("--step-repeats", type=int, default=15)
    return parser.parse_args(argv)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def interleaved_times(fns: dict, device, repeats: int, warmup: int) -> dict:
    "Seconds per call of each function, `repeats` times, timing them in turn within each repeat."
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for repeat in range(repeats):
        for name in list(fns) if repeat % 2 == 0 else reversed(list(fns)):  # alternate the order: none always goes first
            sync(device)
            start = time.perf_counter()
            fns[name]()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return times


def paired_ratio(times: dict, name: str, baseline: str = "clip") -> float:
    "Median over repeats of `name`'s time over `baseline`'s in the same repeat (robust to drifting machine load)."
    return statistics.median(a / b for a, b in zip(times[name], times[baseline]))


def loss_step(loss_fn, images, texts, scale, dtype, psd: bool):
    "One forward+backward of `loss_fn` on leaf features (normalization included, as in the model)."

    def run():
        images.grad = texts.grad = None
        with torch.autocast(images.device.type, dtype=dtype, enabled=dtype is not None):
            extra = dict(alpha=0.5, subset=loss_fn.draw_subset(len(images))) if psd else {}
            loss = loss_fn(F.normalize(images, dim=-1), F.normalize(texts, dim=-1), scale, **extra)["contrastive_loss"]
        loss.backward()

    return run


def loss_benchmark(args, device, dtype):
    print(f"Loss forward+backward, embedding size {args.dim}, median of {args.repeats} (ms):")
    print(f"{'batch':>6} {'CLIP':>9} {'PSD rows':>9} {'PSD S×S':>9} {'rows/CLIP':>10} {'S×S/CLIP':>9}")
    for n in args.batches:
        images = torch.randn(n, args.dim, device=device, requires_grad=True)
        texts = torch.randn(n, args.dim, device=device, requires_grad=True)
        scale = torch.tensor(1 / 0.07, device=device, requires_grad=True)
        fns = {
            "clip": loss_step(ClipLoss(), images, texts, scale, dtype, psd=False),
            "rows": loss_step(PSDLoss(0.5, "rows"), images, texts, scale, dtype, psd=True),
            "subset": loss_step(PSDLoss(0.5, "subset"), images, texts, scale, dtype, psd=True),
        }
        times = interleaved_times(fns, device, args.repeats, args.warmup)
        t = {name: statistics.median(v) for name, v in times.items()}
        print(
            f"{n:>6} {t['clip'] * 1e3:>9.2f} {t['rows'] * 1e3:>9.2f} {t['subset'] * 1e3:>9.2f} "
            f"{paired_ratio(times, 'rows'):>10.3f} {paired_ratio(times, 'subset'):>9.3f}"
        )


def train_step(model, objective, optimizer, images, tokens, dtype):
    "One training step: forward, objective, backward, optimizer step, logit-scale clamp."
    state = {"step": 0}

    def run():
        with torch.autocast(images.device.type, dtype=dtype, enabled=dtype is not None):
            terms = objective(model(images, tokens), images, tokens, step=state["step"] + 100, epoch=0, steps_per_epoch=1000, total_steps=1000)
        sum(v for k, v in terms.items() if k.endswith("_loss")).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        clamp_logit_scale(model)
        state["step"] += 1

    return run


def step_benchmark(args, device, dtype):
    generator = torch.Generator().manual_seed(0)
    image_size = open_clip.get_model_config(args.arch)["vision_cfg"]["image_size"]
    images = torch.randn(args.step_batch, 3, image_size, image_size, generator=generator).to(device)
    tokens = torch.randint(1, 49407, (args.step_batch, model_context_length(args.arch)), generator=generator).to(device)
    fns = {}
    for name, method in (("clip", "clip"), ("psd", "psd"), ("clip_again", "clip")):  # CLIP twice: the noise floor
        torch.manual_seed(0)
        model = create_model(args.arch).to(device)
        cfg = resolve(make_config(method=method, teacher="self", arch=args.arch))
        optimizer = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=1e-4)
        fns[name] = train_step(model, build_objective(cfg, model), optimizer, images, tokens, dtype)
    times = interleaved_times(fns, device, args.step_repeats, args.warmup)
    t = {name: statistics.median(v) for name, v in times.items()}
    print(
        f"Training step of {args.arch}, batch {args.step_batch}, median of {args.step_repeats} (ms): "
        f"CLIP {t['clip'] * 1e3:.1f}, PSD (self teacher, rows, subset 0.5) {t['psd'] * 1e3:.1f}; "
        f"PSD/CLIP {paired_ratio(times, 'psd'):.3f} (noise floor, CLIP/CLIP: {paired_ratio(times, 'clip_again'):.3f})"
    )


def main(argv=None):
    args = parse_args(argv)
    device = pick_device(args.device)
    dtype = autocast_dtype(args.precision, device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"Device: {name}; autocast: {dtype or 'off (fp32)'}; torch {torch.__version__}")
    loss_benchmark(args, device, dtype)
    step_benchmark(args, device, dtype)


if __name__ == "__main__":
    main()
