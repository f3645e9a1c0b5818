"The tutorials run end to end under papermill with micro parameters."

import papermill
from psd_clip.core import PROJECT_ROOT

MICRO = dict(n_train=256, batch_size=64, epochs=1, with_emoji=False)  # seconds per run


def test_add_a_method(tmp_path):
    "The new method is written, registered, trained against CLIP at two seeds, and its paired table written."
    papermill.execute_notebook(
        PROJECT_ROOT / "nbs" / "tutorials" / "add_a_method.ipynb",
        tmp_path / "out.ipynb",
        kernel_name="python3",
        progress_bar=False,
        cwd=str(PROJECT_ROOT / "nbs" / "tutorials"),
        parameters=dict(seeds=[0, 1], overrides=MICRO, out=str(tmp_path / "runs")),
    )
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [
        "caption_similarity_seed0",
        "caption_similarity_seed1",
        "clip_seed0",
        "clip_seed1",
        "paired.md",
    ]
    table = (tmp_path / "runs" / "paired.md").read_text()
    assert "Fashion-MNIST zero-shot" in table and "/2" in table and any(v in table for v in ("higher", "lower", "within", "unresolved"))
