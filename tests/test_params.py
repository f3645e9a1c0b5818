"The GPU recipes in params/ fit the paper notebooks they are written for, and describe valid runs."

import papermill, pytest, yaml
from psd_clip.core import PROJECT_ROOT, get_scale, make_config, resolve
from psd_clip.paper import comparison_arms, dial_arms

PARAMS, PAPER = PROJECT_ROOT / "params", PROJECT_ROOT / "nbs" / "paper"
COMPARISON = ["zero_shot", "linear_probe", "retrieval", "robustness"]


def notebooks_for(path):
    return ["data_scaling"] if "scaling" in path.stem else COMPARISON


@pytest.mark.parametrize("path", sorted(PARAMS.glob("*.yaml")), ids=lambda p: p.name)
def test_params_file(path):
    params = yaml.safe_load(path.read_text())
    budgets = set()
    for name in notebooks_for(path):
        known = papermill.inspect_notebook(PAPER / f"{name}.ipynb")
        assert set(params) <= set(known), f"{path.name}: {set(params) - set(known)} are not parameters of {name}.ipynb"
        budgets.add(params.get("budget", float(known["budget"]["default"])))
    assert budgets == {1.0}, f"{path.name} trains {budgets} of the paper's steps: say budget: 1.0"
    budget = budgets.pop()
    if "scales" in params:
        arms = dial_arms(params["methods"], "pairs", {s: dict(scale=s) for s in params["scales"]})
    else:
        arms = comparison_arms(params["methods"], params["regimes"])
    for _, overrides in arms:
        cfg = resolve(make_config(**{"scale": params.get("scale", "tiny"), "budget": budget, **params["overrides"], **overrides}))
        assert cfg.data_root and cfg.n_gpus == 8 and cfg.image_size == 224 and cfg.arch == "RN50"
        assert cfg.epochs == get_scale(cfg.scale).epochs  # the paper's recipe, whole
