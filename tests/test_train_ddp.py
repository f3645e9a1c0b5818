"Two gloo processes on CPU, launched by torchrun, train the same weights as one process on the same global batch."

import json, os, subprocess
import pytest, torch
from psd_clip.core import make_config
from psd_clip.train import torchrun_command, train


def small_config(out_dir, **kw):
    "Three steps of PSD on 128 pairs with the tiny ViT (LayerNorm only: BatchNorm statistics would differ per process)."
    return make_config(
        **{
            **dict(
                scale="tiny",
                arch="psd-tiny-vit",
                method="psd",
                n_train=128,
                with_emoji=False,
                batch_size=32,
                lr=2e-3,  # pinned: the bound on weight differences below is a fraction of it
                epochs=1,
                max_steps=3,
                warmup_steps=1,
                log_every=1,
                eval_suite="none",
                out_dir=str(out_dir),
                device="cpu",
            ),
            **kw,
        }
    )


def metric_rows(out_dir):
    return [json.loads(r) for r in (out_dir / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("local_loss", [False, True])
def test_two_processes_match_one(tmp_path, local_loss):
    "With `local_loss` each rank takes only its rows of the global loss; the ranks' mean is the same loss."
    train(small_config(tmp_path / "one"))
    two = subprocess.run(
        torchrun_command(small_config(tmp_path / "two", n_gpus=2, local_loss=local_loss)),
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=240,
        capture_output=True,
        text=True,
    )
    assert two.returncode == 0, two.stdout[-3000:] + two.stderr[-3000:]
    assert json.loads((tmp_path / "two" / "results.json").read_text())["world_size"] == 2
    one_rows, two_rows = metric_rows(tmp_path / "one"), metric_rows(tmp_path / "two")
    assert [r["step"] for r in two_rows] == [1, 2, 3] and two_rows[-1]["alpha"] > 0
    for r1, r2 in zip(one_rows, two_rows):
        for k in ("contrastive_loss", "grad_norm", "target_partner_mass"):
            assert abs(r1[k] - r2[k]) <= 1e-5 * max(1, abs(r1[k])), (k, r1, r2)
    a, b = (torch.load(tmp_path / run / "model_final.pt", weights_only=True) for run in ("one", "two"))
    assert a.keys() == b.keys()
    # Equal up to float noise. Attention key biases are left out: softmax ignores them, so their true gradient is zero,
    # and Adam (which divides each gradient by its own magnitude) turns reduction-order noise there into updates of a
    # fraction of lr; they change no output.
    diffs = torch.cat([(without_key_biases(k, a[k]) - without_key_biases(k, b[k])).abs().flatten() for k in a])
    assert (diffs > 1e-6).float().mean() < 1e-3, f"{(diffs > 1e-6).sum()} of {diffs.numel()} weights differ by more than 1e-6"
    assert diffs.max() < 0.1 * 2e-3, f"weights differ by up to {diffs.max()}"


def without_key_biases(name, weights):
    "`weights` as floats, without the key third of an attention layer's packed q, k, v input bias."
    weights = weights.float()
    if not name.endswith("attn.in_proj_bias"):
        return weights
    third = len(weights) // 3
    return torch.cat([weights[:third], weights[2 * third :]])
