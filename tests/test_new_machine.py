"What a new machine meets first: no cache of the builders', the package installed outside the repository, JupyterLab."

import json, os, shutil, subprocess, sys, venv
from pathlib import Path
import pytest, torch
import psd_clip.mini
from psd_clip.core import PROJECT_ROOT, make_config
from psd_clip.train import train

TINY_RUN = dict(scale="tiny", method="clip", n_train=256, with_emoji=False, batch_size=32, epochs=1, max_steps=3)


def test_cold_evaluation_trains_the_trend_family_once(tmp_path, monkeypatch):
    "No shipped or cached trend family (another CPU, another image size): the end-of-run evaluation trains it, with gradients."
    monkeypatch.setattr(psd_clip.mini, "DATA_DIR", tmp_path / "shipped")  # as if the committed family did not match
    monkeypatch.setenv("PSD_CLIP_CACHE", str(tmp_path / "cache"))
    results = train(make_config(**TINY_RUN, out_dir=str(tmp_path / "run")))
    assert results["status"] == "finished" and -1 < results["eval"]["robustness/fashion_mnist_rotated/effective_robustness"] < 1
    cached = json.loads((tmp_path / "cache" / "eval_trend_fashion_mnist_32.json").read_text())
    assert cached["key"] == json.loads(json.dumps(psd_clip.mini.trend_cache_key(32))) and len(cached["models"]) == 8
    assert not (tmp_path / "shipped").exists()  # a rebuilt family never goes where the committed one lives
    assert torch.is_grad_enabled()  # the evaluation gave back the grad mode it found


def repository_copy(to):
    "The working tree as a clone has it (no venv, runs or build output), copied to `to`."
    ignore = shutil.ignore_patterns(".venv", ".git", "runs", "build", "_proc", "*.egg-info", "__pycache__", ".pytest_cache")
    return shutil.copytree(PROJECT_ROOT, to, ignore=ignore)


def test_wheel_installs_and_runs_outside_the_repository(tmp_path):
    "A non-editable install into a fresh venv elsewhere trains and evaluates on the embedded data it ships."
    import sysconfig

    source = repository_copy(tmp_path / "source")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(source), "-w", str(tmp_path)], check=True)
    (wheel,) = tmp_path.glob("psd_clip-*.whl")
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True).stdout.strip()
    (Path(site) / "kit_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # torch & co. without reinstalling them
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True)
    work, env = tmp_path / "elsewhere", {**os.environ, "PSD_CLIP_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "2"}
    work.mkdir()
    where = subprocess.run(
        [python, "-c", "import psd_clip.core as c; print(c.__file__, c.IN_CHECKOUT, c.DATA_DIR)"], cwd=work, env=env, capture_output=True, text=True
    )
    module, in_checkout, data = where.stdout.split()
    assert module.startswith(str(tmp_path / "venv")) and in_checkout == "False" and (Path(data) / "embedded" / "mnist.npz").exists(), where
    train = subprocess.run([python, "-m", "psd_clip.train", "--max_steps", "20", "--eval_suite", "none"], cwd=work, env=env, capture_output=True, text=True)
    assert train.returncode == 0 and "finished: 20 steps" in train.stdout, train.stdout[-2000:] + train.stderr[-2000:]
    evaluation = subprocess.run([python, "-m", "psd_clip.eval", "runs/default/model_final.pt"], cwd=work, env=env, capture_output=True, text=True)
    assert evaluation.returncode == 0, evaluation.stderr[-2000:]
    metrics = json.loads((work / "runs" / "default" / "eval_mini.json").read_text())["metrics"]
    assert 0 <= metrics["zeroshot/fashion_mnist/acc1"] <= 1 and "zeroshot/fashion_mnist/acc1" in evaluation.stdout
    assert not (tmp_path / "cache").exists()  # the trend family came from the wheel: nothing was retrained


def test_every_notebook_names_the_project_kernel():
    "JupyterLab opens each notebook on the kernel `make venv` registers (a missing or other kernel makes it ask)."
    for path in sorted((PROJECT_ROOT / "nbs").rglob("*.ipynb")):
        assert json.loads(path.read_text())["metadata"].get("kernelspec", {}).get("name") == "psd_clip", path


FAKE_QUARTO = """#!/bin/sh
# stands in for `quarto render INPUT -o README.md`: fails as quarto does on a missing input, else writes _docs/README.md
[ -e "$2" ] || { echo "ERROR: $2 not found" >&2; exit 1; }
mkdir -p _docs && echo "rendered from $2" > _docs/README.md
"""


@pytest.mark.parametrize("readme_nb", ["as configured", "index.ipynb"])
def test_nbdev_readme_cannot_replace_the_readme(tmp_path, readme_nb):
    "nbdev_readme (and nbdev_prepare's call of it) would overwrite README.md with index.ipynb's two cells; settings.ini stops it."
    (tmp_path / "bin").mkdir(), (tmp_path / "nbs").mkdir()
    (tmp_path / "bin" / "quarto").write_text(FAKE_QUARTO), (tmp_path / "bin" / "quarto").chmod(0o755)
    settings = (PROJECT_ROOT / "settings.ini").read_text()
    if readme_nb == "index.ipynb":  # the control: the fake quarto does replace the README when readme_nb names a notebook
        settings = "\n".join("readme_nb = index.ipynb" if line.startswith("readme_nb") else line for line in settings.splitlines())
    (tmp_path / "settings.ini").write_text(settings)
    shutil.copy(PROJECT_ROOT / "README.md", tmp_path), shutil.copy(PROJECT_ROOT / "nbs" / "index.ipynb", tmp_path / "nbs")
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}
    nbdev_readme = Path(sys.executable).parent / "nbdev_readme"
    for options in ([], ["--chk_time"]):  # nbdev_prepare calls it with chk_time
        subprocess.run([nbdev_readme, *options], cwd=tmp_path, env=env, capture_output=True)
    replaced = (tmp_path / "README.md").read_text() != (PROJECT_ROOT / "README.md").read_text()
    assert replaced == (readme_nb == "index.ipynb")


def test_saving_in_jupyterlab_leaves_a_notebook_as_committed(tmp_path):
    "`make lab`'s server (root allowed) cleans on save: what JupyterLab adds on opening (language_info, the kernel's name) is gone."
    import socket, time, urllib.request

    (tmp_path / "nbs").mkdir()
    shutil.copy(PROJECT_ROOT / "settings.ini", tmp_path)
    notebook = shutil.copy(PROJECT_ROOT / "nbs" / "06_checkpoint.ipynb", tmp_path / "nbs")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)), (port := s.getsockname()[1])
    config = PROJECT_ROOT / "tools" / "jupyter_server_config.py"
    command = [Path(sys.executable).parent / "jupyter", "lab", "--no-browser", f"--port={port}", "--IdentityProvider.token=t", f"--config={config}"]
    server = subprocess.Popen([*command, "--notebook-dir=nbs"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}/api/contents/06_checkpoint.ipynb?token=t"
    try:
        for _ in range(120):
            try:
                model = json.loads(urllib.request.urlopen(url).read())
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-3000:]
                time.sleep(0.5)
        metadata = model["content"]["metadata"]
        metadata["language_info"] = {"name": "python", "version": sys.version.split()[0], "mimetype": "text/x-python"}
        metadata["kernelspec"]["display_name"] = "psd_clip (.venv)"
        body = json.dumps({"type": "notebook", "format": "json", "content": model["content"]}).encode()
        urllib.request.urlopen(urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="PUT"))
    finally:
        server.terminate(), server.wait(30)
    assert Path(notebook).read_bytes() == (PROJECT_ROOT / "nbs" / "06_checkpoint.ipynb").read_bytes()


def test_train_notebook_declares_what_people_change():
    "`papermill --help-notebook nbs/train.ipynb` lists the settings people pass, with RunConfig's defaults and a word each."
    import dataclasses, papermill
    from psd_clip.core import RunConfig

    declared = papermill.inspect_notebook(PROJECT_ROOT / "nbs" / "train.ipynb")
    wanted = "scale method regime seed epochs budget batch_size lr alpha_max teacher data_root out_dir n_gpus resume max_steps eval_suite"
    assert set(wanted.split()) <= set(declared)
    defaults = {f.name: f.default for f in dataclasses.fields(RunConfig)}
    for name, parameter in declared.items():
        assert name in defaults and parameter["help"] and parameter["inferred_type_name"] != "None", name
        if name != "out_dir":  # the notebook's runs go to runs/train, taken from nbs/
            assert eval(parameter["default"]) == defaults[name], name


@pytest.mark.parametrize("path", sorted((PROJECT_ROOT / "nbs" / "paper").glob("*.ipynb")), ids=lambda p: p.name)
def test_paper_notebook_parameters_are_listed(path):
    "Every assignment in a paper notebook's parameters cell reaches `papermill --help-notebook`, with a type and a comment."
    import papermill, re

    cell = next(c for c in json.loads(path.read_text())["cells"] if "parameters" in c["metadata"].get("tags", []))
    assigned = {m.group(1) for line in "".join(cell["source"]).splitlines() if (m := re.match(r"(\w+)\s*[:=]", line)) and m.group(1) != "from"}
    declared = papermill.inspect_notebook(path)
    assert set(declared) == assigned
    assert all(p["help"] and p["inferred_type_name"] != "None" for p in declared.values()), declared


def test_readme_links_resolve_and_it_is_a_front_page():
    "Every relative link and image of README.md (and of the pages it links in docs/) names a file of the repository."
    import re

    readme = (PROJECT_ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    pages = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
            if not target.startswith(("http://", "https://", "#")):
                assert (page.parent / target.split("#")[0]).exists(), f"{page.name} links to {target}, which is not in the repository"


def test_every_module_summary_is_one_whole_sentence():
    "nbdev writes a module's docstring from the first line of its notebook's summary: a wrapped summary stops mid-sentence."
    import ast

    for module in sorted((PROJECT_ROOT / "psd_clip").glob("*.py")):
        if module.name in ("__init__.py", "_modidx.py"):
            continue
        doc = ast.get_docstring(ast.parse(module.read_text()))
        assert doc and doc.endswith(".") and "\n" not in doc, f"{module.name}: {doc!r}"
