"""Write README.md's generated sections: the method (from nbs/index.ipynb), the results at a glance (from
data/results/verdicts.json, which `python -m psd_clip.verdicts` writes) and the fine-tuning verdicts (from
data/results/fine_tune/verdicts.json, which nbs/paper/fine_tune.ipynb writes); `--check` only reports a difference."""

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
    if new == readme:
        return 0
    if check:
        print("README.md is out of date with nbs/index.ipynb or the verdicts files: run `make readme` and commit the result")
        return 1
    (ROOT / "README.md").write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv))
