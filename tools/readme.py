"""Write README.md's generated sections: the method (from nbs/index.ipynb) and the results at a glance (from
data/results/verdicts.json, which `python -m psd_clip.verdicts` writes); `--check` only reports a difference."""

import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
METHOD = "<!-- method: written from nbs/index.ipynb by tools/readme.py -->", "<!-- end of method -->"
VERDICTS = "<!-- results: written from data/results/verdicts.json by tools/readme.py -->", "<!-- end of results -->"


def method_markdown() -> str:
    "The markdown cells of index.ipynb after its title cell, headings moved one level down."
    cells = json.loads((ROOT / "nbs" / "index.ipynb").read_text())["cells"]
    text = "\n\n".join("".join(c["source"]).strip() for c in cells[1:] if c["cell_type"] == "markdown")
    return "## The method, as reconstructed\n\n" + re.sub(r"^(#+) ", r"#\1 ", text, flags=re.M)


def verdicts_markdown() -> str:
    "One row per claim: what the paper reports, the paired difference measured here, the verdict, and its notebook."
    rows = json.loads((ROOT / "data" / "results" / "verdicts.json").read_text())
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
    if new == readme:
        return 0
    if check:
        print("README.md is out of date with nbs/index.ipynb or data/results/verdicts.json: run `make readme` and commit the result")
        return 1
    (ROOT / "README.md").write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv))
