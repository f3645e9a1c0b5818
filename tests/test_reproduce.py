"`make reproduce`'s comparison against the committed main comparison (tools/reproduce.py; the runs themselves take an hour)."

import importlib.util
from psd_clip.core import PROJECT_ROOT
from psd_clip.paper import read_comparison

spec = importlib.util.spec_from_file_location("reproduce", PROJECT_ROOT / "tools" / "reproduce.py")
reproduce = importlib.util.module_from_spec(spec)
spec.loader.exec_module(reproduce)


def test_side_by_side_of_the_committed_runs_with_themselves():
    "The committed seeds 0-2 against all committed seeds: 6 arms x 6 metrics, identical at the same seed and in range."
    committed = read_comparison(reproduce.COMMITTED)
    here = committed[committed.method.isin(reproduce.METHODS) & (committed.seed < 3)]
    table = reproduce.side_by_side(here, committed)
    assert len(table) == 6 * 6 and set(table.method) == set(reproduce.METHODS) and set(table.regime) == set(reproduce.REGIMES)
    assert set(table["largest difference, same seed"]) == {"0.0000"} and set(table["within the committed seeds' range"]) == {"yes"}
    row = table[(table.regime == "rich") & (table.method == "clip") & (table.metric == "Fashion-MNIST")].iloc[0]
    clip = committed[(committed.regime == "rich") & (committed.method == "clip")]["zeroshot/fashion_mnist/acc1"]
    assert row["here (3 seeds)"] == f"{clip[:3].mean():.4f}" and row["committed (5 seeds)"] == f"{clip.mean():.4f} ± {clip.std():.4f}"


def test_the_headline_side_by_side():
    "Each method's paired difference from CLIP here and committed: the committed runs against themselves agree."
    committed = read_comparison(reproduce.COMMITTED)
    table = reproduce.comparison_side_by_side(committed, committed)
    assert len(table) == 2 * 2 * 2 and set(table["here's mean inside the committed interval"]) == {"yes"}
    assert (table["here (5 seeds)"] == table["committed (5 seeds)"]).all()
