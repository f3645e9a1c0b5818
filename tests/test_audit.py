"""The pair audit on your own data from the command line: every pair scored once, most suspect first, a kept share
written as a collection that trains, unreadable images marked, and a bad model path one line."""

import contextlib, io
import numpy as np, pandas as pd, pytest
from PIL import Image
from psd_clip.audit import SCORES, main
from psd_clip.core import make_config
from psd_clip.readers import index_csv, write_every_format
from psd_clip.train import train


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    "40 pairs in every layout (pair 7's image unreadable) and a model trained two steps on the CSV."
    root = tmp_path_factory.mktemp("audit")
    images = [png(i) for i in range(40)]
    images[7] = b"not an image"
    roots = write_every_format(root, images, [f"picture number {i}" for i in range(40)])
    run = root / "run"
    train(make_config(scale="own", data_root=str(roots["folder"]), max_steps=2, out_dir=str(run)))
    return roots, run / "model_final.pt"


@pytest.mark.parametrize("fmt", ["csv", "webdataset"])
def test_audit_scores_every_pair_and_keeps_a_share_that_trains(collection, tmp_path, fmt, capsys):
    roots, model = collection
    main([str(model), "--data_root", str(roots[fmt]), "--keep", "0.5", "--out_dir", str(tmp_path)])
    log = capsys.readouterr().out
    assert "audit: 40 pairs (1 unreadable) at" in log and "pairs/s" in log, log
    written = pd.read_csv(tmp_path / "audit.csv")
    assert len(written) == 40 and sorted(written["pair"]) == list(range(40))
    assert written.loc[0, "unreadable"] and written.loc[0, "pair"] == 7 and written[list(SCORES)].iloc[1:].notna().all().all()
    assert (written["teacher_weight"].iloc[1:].diff().dropna() >= 0).all()  # most suspect first
    assert pd.read_parquet(tmp_path / "audit.parquet").shape == written.shape
    for picture in ("audit_suspects.png", "audit_scores.png"):
        assert (tmp_path / picture).stat().st_size > 5_000
    kept = index_csv(tmp_path / "kept.csv")
    assert len(kept) == round(0.5 * 39) and "picture number 7" not in kept.captions
    assert set(kept.captions) == set(written.dropna(subset=["teacher_weight"]).tail(len(kept))["caption"])
    results = train(make_config(scale="own", data_root=str(tmp_path / "kept.csv"), max_steps=1, out_dir=str(tmp_path / "retrained")))
    assert results["status"] == "finished" and results["data"]["pairs"] == len(kept)  # audit, filter, retrain


def test_a_bad_model_is_one_line(collection, tmp_path):
    roots, _ = collection
    with contextlib.redirect_stderr(err := io.StringIO()), pytest.raises(SystemExit):
        main([str(tmp_path / "nothing.pt"), "--data_root", str(roots["csv"])])
    assert err.getvalue().count("\n") == 1 and "nothing.pt" in err.getvalue(), err.getvalue()
