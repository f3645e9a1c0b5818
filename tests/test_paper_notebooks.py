"The paper notebooks run end to end under papermill with micro parameters, and write what their plots read."

import dataclasses, json
import papermill, pytest
from psd_clip.core import PROJECT_ROOT, RunConfig
from psd_clip.experiments import KEY_BASELINE

PAPER = PROJECT_ROOT / "nbs" / "paper"
MICRO_OVERRIDES = dict(n_train=512, batch_size=128, epochs=1, with_emoji=False)  # seconds per run
TABLES = {
    "zero_shot": ["Fashion-MNIST", "MNIST"],
    "linear_probe": ["glyphs (20-way)"],
    "retrieval": ["items image→text R@1", "emoji text→image R@5"],
    "robustness": ["outlined", "recoloured"],
}


@pytest.fixture(autouse=True, scope="module")
def own_run_cache(tmp_path_factory):
    "The notebooks' micro runs go to a folder of this module's (shared by its tests), not to the project's run cache."
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PSD_CLIP_RUNS", str(tmp_path_factory.mktemp("runs")))
        yield


def run_paper_notebook(name, tmp_path, **parameters):
    "Execute nbs/paper/<name>.ipynb with `parameters`, its results and figures under `tmp_path`; returns (results, figures)."
    out, figures = tmp_path / "results", tmp_path / "figures"
    papermill.execute_notebook(
        PAPER / f"{name}.ipynb",
        tmp_path / "out.ipynb",
        kernel_name="python3",
        progress_bar=False,
        cwd=str(PAPER),
        parameters=dict(parameters, seeds=[0, 1], jobs=2, overrides=MICRO_OVERRIDES, out=str(out), figures=str(figures)),
    )
    return out, figures


@pytest.mark.parametrize("name", sorted(TABLES))
def test_paper_notebook(name, tmp_path):
    out, figures = run_paper_notebook(name, tmp_path, regimes=["rich"], methods=["clip", "psd_ema"])
    rows = json.loads((out / "runs.json").read_text())["rows"]
    assert sorted((r["method"], r["seed"]) for r in rows) == [("clip", 0), ("clip", 1), ("psd_ema", 0), ("psd_ema", 1)]
    for row in rows:
        assert 0 <= row["zeroshot/fashion_mnist/acc1"] <= 1 and 0 <= row["retrieval/items/image_to_text_R@1"] <= 1
        assert -1 < row["robustness/fashion_mnist_outlined/effective_robustness"] < 1
    table = (out / f"{name}.md").read_text()
    assert all(column in table for column in TABLES[name]) and "psd_ema" in table and " ± " in table
    assert (figures / f"{name}.png").stat().st_size > 5_000
    if name == "zero_shot":  # and each method seed by seed against CLIP
        paired = (out / "zero_shot_paired.md").read_text()
        assert "psd_ema" in paired and "Fashion-MNIST − clip, per seed" in paired and "/2 " in paired
    if name == "retrieval":  # and each method's paired recall@1 gains over CLIP
        paired = (out / "retrieval_paired.md").read_text()
        assert "psd_ema" in paired and "items image→text R@1" in paired and "/2 " in paired


def test_ablations_notebook(tmp_path):
    out, figures = run_paper_notebook("ablations", tmp_path, regime="rich", teachers=["self", "ema"], factors={"alpha_max": [0.2, 0.5]}, references=["clip"])
    rows = json.loads((out / "teachers.json").read_text())["rows"] + json.loads((out / "factors.json").read_text())["rows"]
    assert {(r["factor"], r["value"]) for r in rows} == {
        ("teacher", "self"),
        ("teacher", "ema"),
        ("reference", "clip"),
        ("alpha_max", "0.2"),
        ("alpha_max", "0.5"),
    }
    assert all(0 <= r["zeroshot/fashion_mnist/acc1"] <= 1 for r in rows) and len(rows) == 10
    chosen = json.loads((out / "chosen.json").read_text())
    assert chosen["teacher"] in ("self", "ema") and chosen["settings"]["alpha_max"] in (0.2, 0.5)
    table = (out / "ablations.md").read_text()
    assert "kept" in table and " ± " in table and "(start)" in table
    assert (figures / "ablations.png").stat().st_size > 5_000


def test_noise_levels_notebook(tmp_path):
    out, figures = run_paper_notebook(
        "noise_levels", tmp_path, regime="rich", levels=[0.0, 0.6], methods=["clip", "psd"], noise_types=["all", "generic", "partial"]
    )
    rows = json.loads((out / "runs.json").read_text())["rows"]
    assert sorted({(r["noise_type"], r["noisy"], r["method"]) for r in rows}) == sorted(
        (t, level, m) for t in ("all", "generic", "partial") for level in (0.0, 0.6) for m in ("clip", "psd")
    )
    gains = (out / "gains_all.csv").read_text().splitlines()
    assert gains[0] == "noisy,method,gain,sd,low,high,seeds above,verdict" and len(gains) == 3
    assert " ± " in (out / "noise_levels_generic.md").read_text()
    assert (figures / "noise_levels.png").stat().st_size > 5_000 and (figures / "noise_levels_generic.png").exists()
    assert (figures / "noise_types.png").stat().st_size > 5_000  # the single types' gains side by side


def test_data_scaling_notebook(tmp_path):
    out, figures = run_paper_notebook("data_scaling", tmp_path, pairs=[256, 512], epochs=1, methods=["clip", "psd"])
    rows = json.loads((out / "runs.json").read_text())["rows"]
    assert sorted({(r["pairs"], r["method"]) for r in rows}) == [(256, "clip"), (256, "psd"), (512, "clip"), (512, "psd")]
    assert "− clip" in (out / "data_scaling.md").read_text()
    assert (out / "gains.csv").read_text().startswith("pairs,method,gain,sd,low,high,seeds above,verdict")
    assert (figures / "data_scaling.png").stat().st_size > 5_000


def test_soft_targets_notebook(tmp_path):
    out, figures = run_paper_notebook(
        "soft_targets", tmp_path, regime="rich", methods=["clip", "psd"], n_checkpoints=2, n_batches=1, root=str(tmp_path / "runs")
    )
    history = (out / "history.csv").read_text().splitlines()
    assert history[0].split(",") == ["noise", "own", "same_class", "rest", "step", "method", "seed"]
    for line in history[1:]:
        noise, own, same, rest = line.split(",")[:4]
        assert (same == "") == (noise == "emoji")  # emoji pairs have no class, hence no same-class weight
        assert abs(float(own) + float(same or 0) + float(rest) - 1) < 1e-4 and 0 <= float(own) <= 1
    assert {line.split(",")[5] for line in history[1:]} == {"clip", "psd"}
    assert " ± " in (out / "final_weights.md").read_text()
    assert (figures / "soft_targets.png").stat().st_size > 5_000


def test_fine_tune_notebook(tmp_path):
    out, figures = run_paper_notebook("fine_tune", tmp_path, methods=["clip", "psd"], lr_shares=[], mixes=[0.5])  # 6 runs
    starts = json.loads((out / "pretrained.json").read_text())["rows"]
    tuned = json.loads((out / "runs.json").read_text())["rows"]
    assert sorted((r["method"], r["lr_share"], r["compared"], r["seed"]) for r in tuned) == [
        (m, 0.1, True, s) for m in ("clip", "psd") for s in (0, 1)
    ]  # with no other share, CLIP's is the recipe's, and the methods are compared there
    assert {r["seed"] for r in starts} == {0, 1} and all(0 <= r["zeroshot/scenes/acc1"] <= 1 for r in starts + tuned)
    mixed = json.loads((out / "interpolated.json").read_text())["rows"]
    assert sorted((r["method"], r["seed"], r["mix"]) for r in mixed) == [(m, s, 0.5) for m in ("clip", "psd") for s in (0, 1)]
    assert "− pretrained" in (out / "new_domain.md").read_text() and "lr × 0.1" in (out / "lr_shares.md").read_text()
    family = (out / "verdicts.md").read_text()  # only the claims whose two arms ran: PSD against CLIP, in both domains
    assert "PSD, fine-tuned, adapts more" in family and "keeps more" in family and "EMA" not in family
    assert (figures / "fine_tune.png").stat().st_size > 5_000


def test_pair_audit_notebook(tmp_path):
    out, figures = run_paper_notebook("pair_audit", tmp_path, methods=["clip", "psd"], regimes=["rich"])  # 4 runs, 2 floors
    rows = json.loads((out / "quality.json").read_text())
    assert {(r["auditor"], r["seed"]) for r in rows} == {(a, s) for a in ("clip", "psd", "untrained") for s in (0, 1)}
    assert {r["score"] for r in rows} == {"teacher_weight", "clip_score", "caption_rank", "image_rank"}
    assert all(0 <= r["auroc"] <= 1 and 0 <= r["precision_at_rate"] <= 1 for r in rows)
    assert "untrained" in (out / "auroc_rich.md").read_text() and (figures / "pair_audit.png").stat().st_size > 5_000
    assert json.loads((out / "emoji_suspects.json").read_text())["suspects"] == []  # the micro world has no emoji


def test_psd_defaults_are_the_ablations_choice():
    "RunConfig's PSD settings are the values the committed ablation kept: rerun nbs/paper/ablations.ipynb, then update both."
    chosen = json.loads((PROJECT_ROOT / "data" / "results" / "ablations" / "chosen.json").read_text())["settings"]
    defaults = dataclasses.asdict(RunConfig())
    assert set(KEY_BASELINE) <= set(chosen), "chosen.json must name every PSD setting, or a default could drift unseen"
    assert {k: defaults[k] for k in chosen} == chosen


def make_paper_calls() -> list[tuple[str, dict]]:
    "Each papermill call `make paper` would make (`make -n`, loops unrolled): the notebook and the parameters it sets with -y."
    import re, subprocess, yaml

    script = subprocess.run(["make", "-n", "paper"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True).stdout
    calls = []
    for line in script.replace("\\\n", " ").splitlines():
        if "papermill" not in line:
            continue
        loop = re.search(r"for \w+ in ([\w ]+);", line)  # a loop over notebook names; the one over nbs/paper/*.ipynb sets nothing
        notebooks = [f"nbs/paper/{nb}.ipynb" for nb in loop.group(1).split()] if loop else re.findall(r"(nbs/paper/\w+\.ipynb)", line)
        given = re.search(r"-y '([^']*)'", line)
        calls += [(nb, yaml.safe_load(given.group(1)) if given else {}) for nb in notebooks]
    return calls


def test_make_paper_sets_only_parameters_the_notebooks_have():
    "A misspelt -y parameter would be injected as a new variable and silently ignored: every one must be a notebook parameter."
    calls = make_paper_calls()
    assert {nb for nb, given in calls if given} == {f"nbs/paper/{nb}.ipynb" for nb in ("noise_levels", *TABLES)}
    for notebook, given in calls:
        known = papermill.inspect_notebook(PROJECT_ROOT / notebook)
        assert set(given) <= set(known), f"{notebook}: make paper sets {sorted(set(given) - set(known))}, not parameters of it"


def test_committed_verdicts_are_what_the_results_give():
    "data/results/verdicts.md is the family's verdict table computed from the committed results: `python -m psd_clip.verdicts`."
    from psd_clip.verdicts import verdict_markdown, verdicts

    assert (PROJECT_ROOT / "data" / "results" / "verdicts.md").read_text() == verdict_markdown(verdicts())
