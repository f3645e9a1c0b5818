"""Write README.md's generated sections: the method (from nbs/index.ipynb), the results at a glance (from
data/results/verdicts.json, which `python -m psd_clip.verdicts` writes) and the fine-tuning verdicts (from
data/results/fine_tune/verdicts.json, which nbs/paper/fine_tune.ipynb writes), and docs/options.md, the table of every
setting from `psd_clip.core.RunConfig`'s field metadata; `--check` only reports a difference."""

import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
METHOD = "<!-- method: written from nbs/index.ipynb by tools/readme.py -->", "<!-- end of method -->"
VERDICTS = "<!-- results: written from data/results/verdicts.json by tools/readme.py -->", "<!-- end of results -->"
FINE_TUNE = "<!-- fine-tuning: written from data/results/fine_tune/verdicts.json by tools/readme.py -->", "<!-- end of fine-tuning -->"


def method_markdown() -> str:
    "The markdown cells of index.ipynb after its title cell, headings moved one level down."
    cells = json.loads((ROOT / "nbs" / "index.ipynb").read_text())["cells"]
    text = "\n\n".join("".join(c["source"]).strip() for c in cells[1:] if c["cell_type"] == "markdown")
    return "## The method, as reconstructed\n\n" + re.sub(r"^(#+) ", r"#\1 ", text, flags=re.M)


def verdicts_markdown(path: str = "data/results/verdicts.json") -> str:
    "One row per claim: what the paper reports, the paired difference measured here, the verdict, and its notebook."
    rows = json.loads((ROOT / path).read_text())
    lines = [
        "| claim | the paper | here: paired difference [95% interval] | seeds above | verdict | notebook |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        here = f"{r['comparison']}: {r['mean']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]"
        lines.append(f"| {r['claim']} | {r['paper']} | {here} | {r['seeds above']} | **{r['verdict']}** | [{Path(r['notebook']).stem}](nbs/{r['notebook']}) |")
    return "\n".join(lines)


def options_markdown() -> str:
    "docs/options.md: every setting of a run with its type, default, help and facts, from `RunConfig`'s field metadata."
    import typing
    from dataclasses import fields
    from psd_clip.core import RunConfig

    hints = typing.get_type_hints(RunConfig)
    lines = [
        "# Every setting of a run",
        "",
        "Written by `tools/readme.py` from the field metadata of `psd_clip.core.RunConfig` (`python -m psd_clip.train --help`",
        "shows the same help). *In key*: the setting changes what a run trains, so it is part of the run's cache key.",
        "*On resume*: `free` may change, `checked` must match the checkpoint unless `--force_resume`, `fixed` never changes.",
        "",
        "| setting | type | default | what it does | accepts | in key | on resume |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in fields(RunConfig):
        m = f.metadata
        accepts = " \\| ".join(map(str, m["choices"])) if m["choices"] else (m["valid"][1] if m["valid"] else "")
        kind = str(hints[f.name]).replace("typing.", "").replace("<class '", "").replace("'>", "").replace("|", "\\|")
        help_ = m["help"].replace("|", "\\|")
        lines.append(f"| `{f.name}` | {kind} | `{f.default!r}` | {help_} | {accepts} | {'yes' if m['key'] else 'no'} | {m['resume']} |")
    return "\n".join(lines) + "\n"


def spliced(readme: str, markers: tuple[str, str], body: str) -> str:
    start, end = markers
    if start not in readme or end not in readme:
        sys.exit(f"README.md lacks the markers {start} ... {end}")
    head, rest = readme.split(start, 1)
    return f"{head}{start}\n{body}\n{end}{rest.split(end, 1)[1]}"


def main(check: bool) -> int:
    readme = (ROOT / "README.md").read_text()
    new = spliced(spliced(readme, METHOD, method_markdown()), VERDICTS, verdicts_markdown())
    new = spliced(new, FINE_TUNE, verdicts_markdown("data/results/fine_tune/verdicts.json"))
    options, options_path = options_markdown(), ROOT / "docs" / "options.md"
    if new == readme and options_path.exists() and options_path.read_text() == options:
        return 0
    if check:
        print("README.md or docs/options.md is out of date with nbs/index.ipynb, the verdicts files or RunConfig: run `make readme`")
        return 1
    (ROOT / "README.md").write_text(new)
    options_path.write_text(options)
    return 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv))
