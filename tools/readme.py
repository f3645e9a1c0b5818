"""Copy the method section of nbs/index.ipynb into README.md between its markers; `--check` only reports a difference."""

import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- method: written from nbs/index.ipynb by tools/readme.py -->", "<!-- end of method -->"


def method_markdown() -> str:
    "The markdown cells of index.ipynb after its title cell, headings moved one level down."
    cells = json.loads((ROOT / "nbs" / "index.ipynb").read_text())["cells"]
    text = "\n\n".join("".join(c["source"]).strip() for c in cells[1:] if c["cell_type"] == "markdown")
    return re.sub(r"^(#+) ", r"#\1 ", text, flags=re.M)


def main(check: bool) -> int:
    readme = (ROOT / "README.md").read_text()
    if START not in readme or END not in readme:
        sys.exit(f"README.md lacks the markers {START} ... {END}")
    head, rest = readme.split(START, 1)
    new = f"{head}{START}\n## The method, as reconstructed\n\n{method_markdown()}\n{END}{rest.split(END, 1)[1]}"
    if new == readme:
        return 0
    if check:
        print("README.md is out of date with nbs/index.ipynb: run `make readme` and commit the result")
        return 1
    (ROOT / "README.md").write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv))
