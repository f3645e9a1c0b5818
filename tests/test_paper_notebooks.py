"The paper notebooks run end to end under papermill with micro parameters, and write what their plots read."

import json
import papermill, pytest
from psd_clip.core import PROJECT_ROOT

PAPER = PROJECT_ROOT / "nbs" / "paper"
MICRO = dict(seeds=[0, 1], regimes=["rich"], methods=["clip", "psd_ema"], jobs=2, overrides=dict(n_train=512, batch_size=128, epochs=1, with_emoji=False))
TABLES = {
    "zero_shot": ["Fashion-MNIST", "MNIST"],
    "linear_probe": ["glyphs (20-way)"],
    "retrieval": ["items image→text R@1", "emoji text→image R@5"],
    "robustness": ["inverted", "recoloured"],
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_paper_notebook(name, tmp_path):
    out, figures = tmp_path / "results", tmp_path / "figures"
    papermill.execute_notebook(
        PAPER / f"{name}.ipynb",
        tmp_path / "out.ipynb",
        kernel_name="python3",
        progress_bar=False,
        cwd=str(PAPER),
        parameters=dict(MICRO, out=str(out), figures=str(figures)),
    )
    rows = json.loads((out / "runs.json").read_text())["rows"]
    assert sorted((r["method"], r["seed"]) for r in rows) == [("clip", 0), ("clip", 1), ("psd_ema", 0), ("psd_ema", 1)]
    for row in rows:
        assert 0 <= row["zeroshot/fashion_mnist/acc1"] <= 1 and 0 <= row["retrieval/items/image_to_text_R@1"] <= 1
        assert -1 < row["robustness/fashion_mnist_inverted/effective_robustness"] < 1
    table = (out / f"{name}.md").read_text()
    assert all(column in table for column in TABLES[name]) and "psd_ema" in table and " ± " in table
    assert (figures / f"{name}.png").stat().st_size > 5_000
