"A SIGTERM (a preempted job) mid-run leaves a loadable checkpoint, a clean exit, and a run that resumes from it."

import json, os, signal, subprocess, sys, time
import pytest, torch


def cli(out_dir, *options):
    "`python -m psd_clip.train` on a small slice of the tiny scale, logging every step."
    return [
        sys.executable,
        "-m",
        "psd_clip.train",
        "--scale",
        "tiny",
        "--n_train",
        "4096",
        "--no-with_emoji",
        "--batch_size",
        "32",
        "--epochs",
        "3",
        "--log_every",
        "1",
        "--ckpt_every",
        "1000",
        "--eval_suite",
        "none",
        "--out_dir",
        str(out_dir),
        *options,
    ]


def wait_for_steps(metrics, n, proc, timeout=120):
    "Block until `metrics` has `n` lines (the run is mid-epoch by then)."
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        if metrics.exists() and len(metrics.read_text().splitlines()) >= n:
            return
        time.sleep(0.2)
    raise TimeoutError(f"{metrics} did not reach {n} lines in {timeout}s")


def test_sigterm_checkpoints_and_exits_cleanly(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cli(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for_steps(tmp_path / "metrics.jsonl", 3, proc)
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["status"] == "interrupted by SIGTERM" and 3 <= results["steps"] < 384
    checkpoints = sorted((tmp_path / "checkpoints").iterdir())
    assert [p.name for p in checkpoints] == [f"step_{results['steps']:08d}.pt"]  # and no temporary file
    state = torch.load(checkpoints[0], weights_only=True)
    assert (state["step"], state["epoch"], state["step_in_epoch"]) == (results["steps"], 0, results["steps"])
    assert not (tmp_path / "model_final.pt").exists()  # a preempted run only checkpoints
    resumed = subprocess.run(
        cli(tmp_path, "--resume", "latest", "--max_steps", str(results["steps"] + 2)), env=env, capture_output=True, text=True, timeout=120
    )
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["resumed_from"] == str(checkpoints[0]) and results["steps"] == state["step"] + 2
    steps = [json.loads(r)["step"] for r in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, state["step"] + 3))


# kill -9 (an OOM kill, a node lost) gives no chance to checkpoint: the run resumes from its last checkpoint on disk
KILL9 = ["--n_train", "768", "--epochs", "1", "--ckpt_every", "4", "--keep_ckpts", "2"]  # 24 steps, a checkpoint every 4


def final_weights(out_dir):
    return torch.load(out_dir / "model_final.pt", weights_only=True)


def assert_same_weights(a, b):
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), "resumed weights differ from the unbroken run"


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory):
    "The final weights of the run the killed runs must reproduce."
    out = tmp_path_factory.mktemp("unbroken")
    straight = subprocess.run(cli(out, *KILL9), env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True, timeout=300)
    assert straight.returncode == 0, straight.stdout[-3000:] + straight.stderr[-3000:]
    return final_weights(out)


def test_kill9_mid_run_then_resume_latest_gives_identical_weights(tmp_path, unbroken):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cli(tmp_path / "killed", *KILL9), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for_steps(tmp_path / "killed" / "metrics.jsonl", 6, proc)
    proc.kill()
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL and not (tmp_path / "killed" / "model_final.pt").exists()
    resumed = subprocess.run(cli(tmp_path / "killed", *KILL9, "--resume", "latest"), env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert json.loads((tmp_path / "killed" / "results.json").read_text())["resumed_from"] is not None
    assert_same_weights(unbroken, final_weights(tmp_path / "killed"))


DIE_IN_SECOND_SAVE = """
import os, signal, sys, torch
real_save, saves = torch.save, []
def save_then_die(obj, f, *args, **kwargs):
    saves.append(1)
    if len(saves) == 2: f.write(b'PK\\x03\\x04 half a checkpoint'); f.flush(); os.kill(os.getpid(), signal.SIGKILL)
    return real_save(obj, f, *args, **kwargs)
torch.save = save_then_die
from psd_clip.train import main
main(sys.argv[1:])
"""


def test_kill9_mid_checkpoint_write_then_resume_latest_gives_identical_weights(tmp_path, unbroken):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    options = cli(tmp_path / "killed", *KILL9)[3:]  # without `python -m psd_clip.train`
    killed = subprocess.run([sys.executable, "-c", DIE_IN_SECOND_SAVE, *options], env=env, capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    checkpoints = tmp_path / "killed" / "checkpoints"
    assert [p.name for p in checkpoints.iterdir() if p.name.startswith("step_")] == ["step_00000004.pt"]
    assert (checkpoints / ".step_00000008.pt.tmp").exists()  # the half-written one never took a checkpoint's name
    resumed = subprocess.run(cli(tmp_path / "killed", *KILL9, "--resume", "latest"), env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert json.loads((tmp_path / "killed" / "results.json").read_text())["resumed_from"].endswith("step_00000004.pt")
    assert_same_weights(unbroken, final_weights(tmp_path / "killed"))
