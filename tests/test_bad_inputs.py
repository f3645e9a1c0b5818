"""Bad inputs never end a run or train it wrongly in silence: the corpus of tests/bad_inputs.py, damaged shards in a
real run and its resume, bad settings and mismatched resumes on the command line."""

import contextlib, io, json, os, subprocess, sys
from pathlib import Path
import numpy as np, pytest, torch
from PIL import Image
from psd_clip.core import make_config
from psd_clip.data import write_webdataset_shard
from psd_clip.train import main, train

sys.path.insert(0, str(Path(__file__).parent))
from bad_inputs import RGB, corpus_table, decode_pair, encode, print_table  # noqa: E402

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def test_corpus(tmp_path, capsys):
    rows = corpus_table(tmp_path)
    with capsys.disabled():
        print()
        print_table(rows)
    for r in rows:
        assert (r["outcome"], r["count"]) == (r["expected"], 1), r
    assert all(r["pairs_before_damage"] >= 1 for r in rows if r["case"] in ("tar cut in half", "same key twice in a row"))
    assert next(r for r in rows if r["case"] == "same key twice in a row")["pairs_before_damage"] == 1  # its other sample


@pytest.mark.parametrize("mode", ["P", "LA", "RGBA", "1", "L"])
def test_lossless_modes_decode_to_their_rgb(mode):
    image = RGB.convert(mode)
    test = decode_pair(encode(image), "x", counter := {"pairs": 0})[0]
    assert np.array_equal(np.asarray(test), np.asarray(image.convert("RGB"))) and counter["pairs"] == 1


def web_root(root: Path, damaged: bool = True) -> Path:
    "Eight healthy shards of 8 pairs (3 corrupt images), a shard cut in half, one with a key twice in a row (read on)."
    rng, root = np.random.default_rng(0), root / "shards"
    root.mkdir()
    pairs = [(encode(Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8))), f"pair number {i}") for i in range(80)]
    for i in (3, 20, 41):
        pairs[i] = (b"not an image", pairs[i][1])
    for s in range(10):
        write_webdataset_shard(pairs[s * 8 : (s + 1) * 8], root / f"{s:05d}.tar")
    if damaged:
        cut = (root / "00008.tar").read_bytes()
        (root / "00008.tar").write_bytes(cut[: len(cut) // 2])
        tar = (root / "00009.tar").read_bytes()
        (root / "00009.tar").write_bytes(tar[: 3 * 1024] + tar[: 3 * 1024] + tar[3 * 1024 :])
    return root


def web_config(root, out_dir, **kw):
    return make_config(
        **{
            **dict(
                scale="3M",
                data_root=str(root),
                arch="psd-tiny-cnn",
                image_size=48,
                method="clip",
                n_train=48,
                batch_size=8,
                epochs=2,
                warmup_steps=1,
                ckpt_every=4,
                log_every=1,
                eval_suite="none",
                max_damaged_shard_fraction=0.25,
                out_dir=str(out_dir),
            ),
            **kw,
        }
    )


def test_damaged_shards_are_skipped_counted_and_resumed_past(tmp_path):
    root = web_root(tmp_path)
    with pytest.warns(UserWarning, match="damaged shard"):
        results = train(web_config(root, tmp_path / "straight"))
    data = results["data"]
    assert results["status"] == "finished" and results["steps"] == 12
    assert data["damaged_shards"] == ["00008.tar"] and data["skipped_shards"] == 1 and data["skipped_duplicate_keys"] == 1
    assert data["skipped_corrupt_images"] == 3 and data["samples_drawn"] == 2 * 48  # each bad image once, not once per pass
    train(web_config(root, tmp_path / "resumed", max_steps=5))
    resumed = train(web_config(root, tmp_path / "resumed", resume="latest"))
    assert {k: v for k, v in resumed["data"].items() if k != "samples_drawn"} == {k: v for k, v in data.items() if k != "samples_drawn"}
    a, b = (torch.load(tmp_path / run / "model_final.pt", weights_only=True) for run in ("straight", "resumed"))
    assert all(torch.equal(a[k], b[k]) for k in a), "a resume past damaged shards trains the same weights"


def test_too_many_damaged_shards_stop_the_run_naming_them(tmp_path):
    with pytest.raises(RuntimeError, match=r"1 damaged shards, more than max_damaged_shard_fraction=0.05 .*: 00008.tar\."):
        train(web_config(web_root(tmp_path), tmp_path / "run", max_damaged_shard_fraction=0.05))


def usage_error(argv, entry=main):
    "The exit code and stderr of `entry(argv)`, which should exit."
    with contextlib.redirect_stderr(err := io.StringIO()):
        try:
            entry(argv)
        except SystemExit as e:
            return e.code, err.getvalue()
    raise AssertionError(f"{argv} did not exit")


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--batch_size", "-32"], "batch_size=-32 (must be > 0)"),
        (["--batch_size", "0"], "batch_size=0 (must be > 0)"),
        (["--alpha_max", "-1"], "alpha_max=-1.0 (must be in [0, 1])"),
        (["--alpha_max", "2"], "alpha_max=2.0 (must be in [0, 1])"),
        (["--lr", "0"], "lr=0.0 (must be > 0)"),
        (["--scale", "huge"], "Unknown scale 'huge'"),
        (["--device", "tpu"], "device="),
    ],
)
def test_bad_options_are_one_usage_line(argv, message):
    code, err = usage_error(argv)
    assert code == 2 and message in err and err.count("\n") == 1, err


def cli(*options):
    return subprocess.run([sys.executable, "-m", "psd_clip.train", *options], env=ENV, capture_output=True, text=True, timeout=300)


def test_command_line_reports_a_bad_value_without_a_traceback():
    run = cli("--batch_size", "-32")
    assert run.returncode == 2 and "Traceback" not in run.stderr and run.stderr.strip().endswith("batch_size=-32 (must be > 0)")


@pytest.mark.skipif(torch.cuda.device_count() >= 2, reason="this node has the GPUs asked for")
def test_n_gpus_without_gpus(tmp_path):
    tiny = [
        "--scale",
        "tiny",
        "--n_train",
        "128",
        "--no-with_emoji",
        "--batch_size",
        "32",
        "--epochs",
        "1",
        "--max_steps",
        "2",
        "--eval_suite",
        "none",
        "--arch",
        "psd-tiny-vit",
        "--n_gpus",
        "2",
    ]
    refused = cli(*tiny, "--out_dir", str(tmp_path / "refused"))
    assert refused.returncode == 2 and "n_gpus=2 but torch sees 0 GPU(s)" in refused.stderr and "--device cpu" in refused.stderr
    assert "Traceback" not in refused.stderr
    gloo = cli(*tiny, "--device", "cpu", "--out_dir", str(tmp_path / "gloo"))
    assert gloo.returncode == 0, gloo.stdout[-3000:] + gloo.stderr[-3000:]
    results = json.loads((tmp_path / "gloo" / "results.json").read_text())
    assert (results["world_size"], results["steps"], results["device"]) == (2, 2, "cpu")


def test_mismatched_resume_and_wrong_files_are_one_line(tmp_path):
    out = tmp_path / "run"
    base = [
        "--scale",
        "tiny",
        "--n_train",
        "256",
        "--no-with_emoji",
        "--batch_size",
        "32",
        "--epochs",
        "1",
        "--max_steps",
        "2",
        "--eval_suite",
        "none",
        "--out_dir",
        str(out),
    ]
    main(base)
    code, err = usage_error(base + ["--method", "clip", "--resume", "latest"])
    assert code == 2 and "method: 'psd' there, 'clip' now" in err and err.count("\n") == 1, err
    code, err = usage_error(base + ["--resume", str(out / "model_final.pt")])
    assert code == 2 and "is a model file (weights only)" in err and err.count("\n") == 1, err
    (out / "noise.pt").write_bytes(np.random.default_rng(0).bytes(4096))
    code, err = usage_error(base + ["--resume", str(out / "noise.pt")])
    assert code == 2 and "is not a checkpoint" in err and err.count("\n") == 1, err
    from psd_clip.eval import main as eval_main

    code, err = usage_error([str(out / "model_final.pt"), "--arch", "psd-tiny-vit", "--suite", "mini"], eval_main)
    assert code == 2 and "does not hold 'psd-tiny-vit' weights" in err and err.count("\n") == 1, err
