"The study notebooks (nbs/studies/) read their committed results under papermill and answer their question."

import json
import papermill, pytest
from psd_clip.core import PROJECT_ROOT

STUDIES = PROJECT_ROOT / "nbs" / "studies"


@pytest.mark.parametrize("name", ["seed_spread", "world_recipes"])
def test_study_reads_its_results_and_answers(name, tmp_path):
    parameters = {"figures": str(tmp_path)} if name == "seed_spread" else {}
    papermill.execute_notebook(
        STUDIES / f"{name}.ipynb", tmp_path / "out.ipynb", kernel_name="python3", progress_bar=False, cwd=str(STUDIES), parameters=parameters
    )
    answer = "".join(json.loads((tmp_path / "out.ipynb").read_text())["cells"][-1]["outputs"][0]["data"]["text/markdown"])
    assert {"seed_spread": "follows the initialization", "world_recipes": "passes"}[name] in answer
    if name == "seed_spread":
        assert (tmp_path / "seed_spread.png").stat().st_size > 10_000
