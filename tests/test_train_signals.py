"A SIGTERM (a preempted job) mid-run leaves a loadable checkpoint, a clean exit, and a run that resumes from it."
import json, os, signal, subprocess, sys, time
import torch

def cli(out_dir, *options):
    "`python -m psd_clip.train` on a small slice of the tiny scale, logging every step."
    return [sys.executable, '-m', 'psd_clip.train', '--scale', 'tiny', '--n_train', '4096', '--no-with_emoji', '--batch_size', '32', '--epochs', '3',
            '--log_every', '1', '--ckpt_every', '1000', '--eval_suite', 'none', '--out_dir', str(out_dir), *options]

def wait_for_steps(metrics, n, proc, timeout=120):
    "Block until `metrics` has `n` lines (the run is mid-epoch by then)."
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        if metrics.exists() and len(metrics.read_text().splitlines()) >= n: return
        time.sleep(0.2)
    raise TimeoutError(f'{metrics} did not reach {n} lines in {timeout}s')

def test_sigterm_checkpoints_and_exits_cleanly(tmp_path):
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    proc = subprocess.Popen(cli(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for_steps(tmp_path / 'metrics.jsonl', 3, proc)
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, output[-3000:]
    results = json.loads((tmp_path / 'results.json').read_text())
    assert results['status'] == 'interrupted by SIGTERM' and 3 <= results['steps'] < 384
    checkpoints = sorted((tmp_path / 'checkpoints').iterdir())
    assert [p.name for p in checkpoints] == [f"step_{results['steps']:08d}.pt"]  # and no temporary file
    state = torch.load(checkpoints[0], weights_only=True)
    assert (state['step'], state['epoch'], state['step_in_epoch']) == (results['steps'], 0, results['steps'])
    assert not (tmp_path / 'model_final.pt').exists()  # a preempted run only checkpoints
    resumed = subprocess.run(cli(tmp_path, '--resume', 'latest', '--max_steps', str(results['steps'] + 2)), env=env,
                             capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    results = json.loads((tmp_path / 'results.json').read_text())
    assert results['resumed_from'] == str(checkpoints[0]) and results['steps'] == state['step'] + 2
    steps = [json.loads(r)['step'] for r in (tmp_path / 'metrics.jsonl').read_text().splitlines()]
    assert steps == list(range(1, state['step'] + 3))
