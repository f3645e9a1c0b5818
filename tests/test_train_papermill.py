"nbs/train.ipynb through papermill, as `make demo` and the paper notebooks run it."

import json
import nbformat, papermill, pytest
from psd_clip.core import PROJECT_ROOT

NBS = PROJECT_ROOT / "nbs"


def parameter_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if "parameters" in c.metadata.get("tags", [])]


@pytest.mark.parametrize("path", [NBS / "train.ipynb", *sorted((NBS / "paper").glob("*.ipynb"))], ids=lambda p: p.name)
def test_one_parameters_cell(path):
    "Papermill injects after the cell tagged `parameters`; without exactly one, the defaults would silently win."
    assert len(parameter_cells(path)) == 1


def test_tiny_run(tmp_path, monkeypatch):
    "The demo's path, short and cold: papermill through the end-of-run evaluation with no cache of this machine's."
    monkeypatch.setenv("PSD_CLIP_CACHE", str(tmp_path / "cache")), monkeypatch.setenv("PSD_CLIP_RUNS", str(tmp_path / "runs"))
    params = dict(method="clip", n_train=256, batch_size=32, epochs=2, max_steps=4, out_dir=str(tmp_path / "run"))
    papermill.execute_notebook(NBS / "train.ipynb", tmp_path / "out.ipynb", parameters=params, kernel_name="python3", progress_bar=False)
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert (results["status"], results["steps"], results["config"]["method"]) == ("finished", 4, "clip")  # max_steps reached: finished
    assert results["data"]["pairs"] == 256 + results["data"].get("emoji_pairs", 0) and results["config"]["batch_size"] == 32
    assert 0 < results["final_metrics"]["contrastive_loss"] < 10
    assert results["eval"], "no evaluation metrics"
    assert all(0 <= v <= 1 for k, v in results["eval"].items() if "acc" in k or "R@" in k)
    assert (tmp_path / "run" / "curves.png").exists() and (tmp_path / "run" / "model_final.pt").exists()


def test_web_scale_without_data_fails_early(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match="data_root is not set"):
        papermill.execute_notebook(
            NBS / "train.ipynb", tmp_path / "out.ipynb", kernel_name="python3", progress_bar=False, parameters=dict(scale="15M", out_dir=str(tmp_path / "run"))
        )
    assert not (tmp_path / "run" / "checkpoints").exists()
