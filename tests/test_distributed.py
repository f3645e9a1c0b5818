"""Two gloo processes on CPU give the loss and gradients of one process on the concatenated batch.

One spawn of 2 workers runs every case (starting processes is the slow part); each rank computes the
single-process reference itself, compares it with its distributed result and saves the largest
differences, which the tests below check case by case.
"""

import datetime, os, socket
import pytest, torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

WORLD_SIZE, N_GLOBAL, DIM, TOL = 2, 16, 12, 1e-6
FEATURE_CASES = {  # name: (loss kind, soft block, local_loss)
    "clip": ("clip", None, False),
    "clip_local": ("clip", None, True),
    "psd_rows": ("psd", "rows", False),
    "psd_rows_local": ("psd", "rows", True),
    "psd_subset": ("psd", "subset", False),
    "psd_subset_local": ("psd", "subset", True),
}
OBJECTIVE_CASES = {  # name: (teacher, soft block): a tiny ViT through `build_objective`
    "objective_ema_subset": ("ema", "subset"),
    "objective_ema_rows": ("ema", "rows"),
    "objective_self_subset": ("self", "subset"),
}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make_loss(kind, block, rank, world_size, local_loss):
    from psd_clip.loss import ClipLoss, PSDLoss

    if kind == "clip":
        return ClipLoss(rank, world_size, local_loss)
    return PSDLoss(subset_fraction=0.5, soft_block=block, seed=3, rank=rank, world_size=world_size, local_loss=local_loss)


def _feature_case(kind, block, local_loss, rank):
    "Largest loss and gradient differences between 2 ranks and 1 process, for a loss on raw features."
    generator = torch.Generator().manual_seed(0)
    images, texts = torch.randn(N_GLOBAL, DIM, generator=generator), torch.randn(N_GLOBAL, DIM, generator=generator)
    scale, n = torch.tensor(20.0), N_GLOBAL // WORLD_SIZE
    mine = slice(rank * n, (rank + 1) * n)

    def run(x_images, x_texts, rank_, world_size):
        x_images, x_texts = x_images.clone().requires_grad_(), x_texts.clone().requires_grad_()
        loss_fn = _make_loss(kind, block, rank_, world_size, local_loss)
        extra = {} if kind == "clip" else dict(alpha=0.5, subset=loss_fn.draw_subset(N_GLOBAL))
        loss = loss_fn(F.normalize(x_images, dim=-1), F.normalize(x_texts, dim=-1), scale, **extra)["contrastive_loss"]
        loss.backward()
        return loss.detach(), x_images.grad, x_texts.grad, extra.get("subset")

    ref_loss, ref_gi, ref_gt, ref_subset = run(images, texts, 0, 1)
    loss, grad_images, grad_texts, subset = run(images[mine], texts[mine], rank, WORLD_SIZE)
    # DDP divides each rank's gradients by the number of ranks; with `local_loss` the global loss is the ranks' mean
    dist.all_reduce(loss)
    loss, grad_images, grad_texts = loss / WORLD_SIZE, grad_images / WORLD_SIZE, grad_texts / WORLD_SIZE
    same_subset = subset is None or torch.equal(subset, ref_subset)
    return dict(
        loss=(loss - ref_loss).abs().item(),
        same_subset=same_subset,
        grad=max((grad_images - ref_gi[mine]).abs().max().item(), (grad_texts - ref_gt[mine]).abs().max().item()),
    )


def _objective_case(teacher, block, rank):
    "Largest loss and parameter-gradient differences for PSD through `build_objective` on a tiny ViT."
    from psd_clip.core import make_config, resolve
    from psd_clip.model import create_model
    from psd_clip.loss import build_objective

    cfg = resolve(make_config(method="psd", arch="psd-tiny-vit", teacher=teacher, soft_block=block, seed=5))
    generator = torch.Generator().manual_seed(1)
    images = torch.randn(8, 3, 48, 48, generator=generator, dtype=torch.float64)
    tokens = torch.randint(1, 49407, (8, 32), generator=generator)
    n = len(images) // WORLD_SIZE
    mine = slice(rank * n, (rank + 1) * n)

    def run(images_, tokens_, rank_, world_size):
        torch.manual_seed(0)
        model = create_model(cfg.arch).double()  # fp64, so that 1e-6 measures the method, not fp32 rounding
        objective = build_objective(cfg, model, rank_, world_size)
        with torch.no_grad():  # move the EMA teacher away from the model so its features differ from the student's
            for p in objective.teacher.model.parameters() if objective.teacher else []:
                p.mul_(0.9)
        loss = objective(model(images_, tokens_), images_, tokens_, step=60, epoch=2, steps_per_epoch=25, total_steps=100)["contrastive_loss"]
        loss.backward()
        return loss.detach(), torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])

    ref_loss, ref_grads = run(images, tokens, 0, 1)
    loss, grads = run(images[mine], tokens[mine], rank, WORLD_SIZE)
    for t in (loss, grads):
        dist.all_reduce(t)
        t /= WORLD_SIZE  # DDP averages the gradients of shared weights
    return dict(loss=(loss - ref_loss).abs().item(), grad=(grads - ref_grads).abs().max().item(), same_subset=True)


def _worker(rank, port, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD_SIZE, timeout=datetime.timedelta(seconds=60))
    try:
        results = {name: _feature_case(*case, rank) for name, case in FEATURE_CASES.items()}
        results |= {name: _objective_case(*case, rank) for name, case in OBJECTIVE_CASES.items()}
        torch.save(results, f"{out_dir}/rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def differences(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("distributed")
    mp.spawn(_worker, args=(_free_port(), str(out_dir)), nprocs=WORLD_SIZE, join=True)
    return [torch.load(out_dir / f"rank{r}.pt") for r in range(WORLD_SIZE)]


@pytest.mark.parametrize("case", [*FEATURE_CASES, *OBJECTIVE_CASES])
def test_two_processes_match_one(differences, case):
    for rank, results in enumerate(differences):
        got = results[case]
        assert got["same_subset"], f"{case}: rank {rank} drew a different subset than one process"
        assert got["loss"] <= TOL, f"{case}: rank {rank} loss differs by {got['loss']:.2e}"
        assert got["grad"] <= TOL, f"{case}: rank {rank} gradients differ by {got['grad']:.2e}"
