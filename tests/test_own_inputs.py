"""Bad inputs through `--scale own` and the command line: every case of the data-layer issue, each with the outcome it
must have (skipped and counted exactly, one clear line, or read correctly), through each own-data format it applies to."""

import contextlib, io, json, os, warnings
from pathlib import Path
import numpy as np, pytest
from PIL import Image
from psd_clip.core import make_config, resolve
from psd_clip.data import get_tokenizer, own_train_data
from psd_clip.ingest import tar_bytes
from psd_clip.readers import DataError, pair_index, write_every_format
from psd_clip.train import main

TOKENIZE = get_tokenizer(32)


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PSD_CLIP_CACHE", str(tmp_path / "cache"))


def images_and_table(root: Path, n: int, missing: int = 0, header: str = "filepath,caption", caption="picture {i}"):
    "`n` PNGs in root/images listed by root/pairs.csv; the last `missing` are listed but not written."
    (root / "images").mkdir(parents=True)
    for i in range(n - missing):
        (root / "images" / f"{i:03d}.png").write_bytes(png(i))
    rows = "".join(f"images/{i:03d}.png,{caption.format(i=i)}\n" for i in range(n))
    return root / "pairs.csv", f"{header}\n{rows}"


def own(root, **kw):
    return make_config(scale="own", data_root=str(root), **kw)


def one_line_error(argv) -> str:
    "stderr of `main(argv)`, which must exit with one line."
    with contextlib.redirect_stderr(err := io.StringIO()):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
    assert exit_.value.code in (1, 2) and err.getvalue().count("\n") == 1 and "Traceback" not in err.getvalue(), err.getvalue()
    return err.getvalue()


ROWS = []  # case, format, outcome: printed by the last test


def record(case, fmt, outcome):
    ROWS.append((case, fmt, outcome))


def test_missing_image_files_are_counted_named_and_stop_above_the_share(tmp_path):
    table, text = images_and_table(tmp_path / "forty", 100, missing=40)
    table.write_text(text)
    with pytest.raises(DataError, match=r"40 of 100 image files are missing \(40%, more than max_missing_image_fraction=0.1\), e.g. .*060.png"):
        resolve(own(table))
    record("CSV naming 40 of 100 missing image files", "csv", "stopped before training, 3 paths named")
    table, text = images_and_table(tmp_path / "five", 100, missing=5)
    table.write_text(text)
    with pytest.warns(UserWarning, match="5 of 100 image files are missing, e.g."):
        cfg = resolve(own(table))
    data = own_train_data(cfg, TOKENIZE)
    assert (cfg.n_train, data.counts["pairs"], data.counts["skipped_missing_images"], data.counts["skipped_corrupt_images"]) == (95, 95, 5, 0)
    record("CSV naming 5 of 100 missing image files", "csv", "warned; trains on 95, skipped_missing_images 5")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32"])
def test_tables_with_a_byte_order_mark_are_read(tmp_path, encoding):
    table, text = images_and_table(tmp_path, 20, caption="un café {i}")
    table.write_bytes(text.encode(encoding))
    index = pair_index(own(table))
    assert len(index) == 20 and index.captions[3] == "un café 3"
    record(f"CSV in {encoding} (with its byte-order mark)", "csv", "read: 20 pairs, accents intact")


def test_tables_and_captions_in_another_encoding_are_one_line_or_read_as_told(tmp_path):
    table, text = images_and_table(tmp_path, 20, caption="un café {i}")
    table.write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError, match=r"pairs.csv is not UTF-8 \(byte 0xe9 at offset \d+; Latin-1 or Windows-1252\?\)"):
        resolve(own(table))
    assert pair_index(own(table, data_encoding="latin-1")).captions[0] == "un café 0"
    record("CSV in Latin-1", "csv", "one line naming file and byte; read with --data_encoding latin-1")
    table.write_bytes(text.encode("utf-16-le"))  # no byte-order mark
    with pytest.raises(DataError, match="UTF-16 without a byte-order mark"):
        resolve(own(table))
    record("CSV in UTF-16 without a byte-order mark", "csv", "one line: save as UTF-8 or pass data_encoding")


def image_folder(root: Path, caption) -> Path:
    "20 PNGs in root/folder, each with the caption file `caption(i)` gives as bytes (none where it gives None)."
    folder = root / "folder"
    folder.mkdir()
    for i in range(20):
        (folder / f"{i:03d}.png").write_bytes(png(i))
        if (text := caption(i)) is not None:
            (folder / f"{i:03d}.txt").write_bytes(text)
    return folder


def test_caption_files_in_other_encodings(tmp_path):
    folder = image_folder(tmp_path, lambda i: f"crème {i}".encode("utf-16" if i == 3 else "utf-8"))
    assert pair_index(own(folder)).captions[3] == "crème 3"
    record("caption file in UTF-16 (with its mark) among UTF-8 ones", "folder", "read: accents intact")
    (folder / "004.txt").write_bytes("crème 4".encode("latin-1"))
    with pytest.raises(DataError, match=r"004.txt is not UTF-8"):
        resolve(own(folder))
    record("caption file in Latin-1", "folder", "one line naming the file")


def test_an_image_without_a_caption_is_a_missing_caption(tmp_path):
    folder = image_folder(tmp_path, lambda i: None if i == 7 else b"   " if i == 8 else f"picture {i}".encode())
    index = pair_index(own(folder))
    assert (len(index), dict(index.skipped)) == (18, {"skipped_missing_captions": 1, "skipped_empty_captions": 1})
    record("image without a caption file; a blank caption", "folder", "skipped_missing_captions 1, skipped_empty_captions 1")


def test_a_folder_fitting_two_layouts_asks_which(tmp_path):
    table, text = images_and_table(tmp_path, 20)
    table.write_text(text)
    (tmp_path / "images" / "000.txt").write_text("a caption file")
    with pytest.raises(DataError, match="holds both a table and images with .txt captions: pass data_format='csv' or 'folder'"):
        resolve(own(tmp_path))
    assert len(pair_index(own(tmp_path, data_format="csv"))) == 20
    record("folder with a CSV and a.png + a.txt", "auto", "one line asking for data_format; data_format=csv reads 20")


def test_shards_damage_and_repeated_keys_are_counted_once_and_stop_above_the_share(tmp_path):
    roots = write_every_format(tmp_path, [png(i) for i in range(40)], [f"picture {i}" for i in range(40)])
    shard = roots["webdataset"] / "00001.tar"
    shard.write_bytes(shard.read_bytes()[:4000])
    with pytest.raises(DataError, match="1 of 2 shards are damaged, more than max_damaged_shard_fraction=0.1: 00001.tar"):
        resolve(own(roots["webdataset"]))
    cfg = resolve(own(roots["webdataset"], max_damaged_shard_fraction=0.5))
    data = own_train_data(cfg, TOKENIZE)
    assert data.counts["damaged_shards"] == ["00001.tar"] and data.counts["skipped_shards"] == 1 and data.counts["pairs"] == cfg.n_train
    record("shard cut short", "webdataset", "stopped above max_damaged_shard_fraction; else named in damaged_shards")
    members = [(f"{i:03d}.png", png(i)) for i in range(3)]
    (roots["webdataset"] / "00001.tar").write_bytes(
        tar_bytes([members[0], ("000.txt", b"a"), members[1], ("001.txt", b"b"), members[1], ("001.txt", b"b"), members[2], ("002.txt", b"c")])
    )
    index = pair_index(own(roots["webdataset"]))
    assert (len(index), index.skipped["skipped_duplicate_keys"], index.damaged_shards) == (22, 1, [])
    record("shard with a key twice in a row", "webdataset", "skipped_duplicate_keys 1, the rest of the shard read")
    with pytest.raises(DataError, match="holds webdataset .tar shards, not a `datasets` folder"):
        resolve(own(roots["webdataset"], data_format="hf"))
    record("data_format=hf on a folder of shards", "hf", "one line: pass data_format='webdataset'")


@pytest.mark.parametrize("fmt", ["csv", "folder", "webdataset", "hf"])
def test_unreadable_images_are_counted_once_per_image_and_resume_keeps_counts(tmp_path, fmt):
    images = [png(i) for i in range(40)]
    for i in (3, 17, 29):
        images[i] = b"not an image"
    roots = write_every_format(tmp_path, images, [f"picture {i}" for i in range(40)])
    cfg = resolve(own(roots[fmt], epochs=3))
    data = own_train_data(cfg, TOKENIZE)
    drawn = sum(len(b[0]) for epoch in range(3) for b in data.loader(epoch))
    assert (drawn, data.counts["skipped_corrupt_images"], data.counts["pairs"], data.counts["samples_drawn"]) == (120, 3, 37, 120)
    resumed = own_train_data(cfg, TOKENIZE)
    resumed.load_state_dict(data.state_dict())
    list(resumed.loader(2, start_step=3))
    assert resumed.counts == {**data.counts, "samples_drawn": 120 + 2 * 8}
    record("3 corrupt images over 3 epochs; then a resume", fmt, "skipped_corrupt_images 3, pairs 37; counts not doubled")


def test_nothing_is_written_beside_the_data(tmp_path):
    roots = write_every_format(tmp_path, [png(i) for i in range(40)], [f"picture {i}" for i in range(40)])
    before = sorted(p for p in tmp_path.rglob("*"))
    for fmt, root in roots.items():
        resolve(own(root))
    assert sorted(p for p in tmp_path.rglob("*") if "cache" not in p.parts) == before
    record("a count of each collection", "all four", "cached in the kit's cache folder, nothing beside the data")


def test_every_user_error_on_the_command_line_is_one_line(tmp_path):
    table, text = images_and_table(tmp_path / "data", 20)
    table.write_text(text)
    tiny = ["--scale", "tiny", "--n_train", "64", "--batch_size", "32", "--max_steps", "1", "--eval_suite", "none"]
    cases = {
        "--arch bogus": (tiny + ["--arch", "bogus", "--out_dir", str(tmp_path / "a")], "Unknown arch 'bogus'"),
        "--noise_types bogus": (tiny + ["--noise_types", "bogus", "--out_dir", str(tmp_path / "b")], "['bogus'] are not noise types"),
        "--eval_suite bogus": (tiny[:-2] + ["--eval_suite", "bogus", "--out_dir", str(tmp_path / "c")], "eval_suite='bogus': choose 'none'"),
        "--out_dir naming a file": (tiny + ["--out_dir", str(table)], "is a file, not a folder"),
        "--out_dir=''": (tiny + ["--out_dir="], "out_dir='' (must name a folder"),
        "own CSV, every image missing": (
            ["--scale", "own", "--data_root", str(tmp_path / "none.csv"), "--out_dir", str(tmp_path / "d")],
            "20 of 20 image files are missing",
        ),
    }
    (tmp_path / "none.csv").write_text(text)
    for case, (argv, words) in cases.items():
        err = one_line_error(argv)
        assert words in err, (case, err)
        record(case, "command line", f"one line: {words}")
    user = tmp_path / "mine"
    user.mkdir()
    (user / "results.json").write_text('{"my": "numbers"}')
    assert "which no psd_clip run wrote" in one_line_error(tiny + ["--out_dir", str(user)])
    assert (user / "results.json").read_text() == '{"my": "numbers"}'
    record("out_dir holding a user's own results.json", "command line", "one line; the file untouched")
    done = tmp_path / "done"
    done.mkdir()
    (done / "results.json").write_text(json.dumps({"status": "finished", "steps": 5, "config": {}}))
    (done / "model_final.pt").write_bytes(b"weights")
    assert "has finished (5 steps) and keeps no checkpoint" in one_line_error(tiny + ["--out_dir", str(done), "--resume", "latest"])
    assert (done / "model_final.pt").read_bytes() == b"weights"
    record("--resume latest on a finished run without checkpoints", "command line", "one line: it has finished; nothing deleted")
    os.environ["PSD_CLIP_DEBUG"] = "1"
    try:
        with pytest.raises(ValueError, match="Unknown arch"):
            main(tiny + ["--arch", "bogus", "--out_dir", str(tmp_path / "e")])
    finally:
        del os.environ["PSD_CLIP_DEBUG"]
    record("PSD_CLIP_DEBUG=1 (or --debug)", "command line", "the traceback instead of the line")


def test_a_stop_during_training_is_one_line_and_keeps_the_checkpoints(tmp_path):
    roots = write_every_format(tmp_path, [png(i) for i in range(40)], [f"picture {i}" for i in range(40)])
    for s in range(2, 6):  # four more shards of ten pairs, one of them cut short
        (roots["webdataset"] / f"{s:05d}.tar").write_bytes((roots["webdataset"] / "00000.tar").read_bytes())
    (roots["webdataset"] / "00005.tar").write_bytes((roots["webdataset"] / "00005.tar").read_bytes()[:6000])
    argv = ["--scale", "3M", "--data_root", str(roots["webdataset"]), "--arch", "psd-tiny-cnn", "--image_size", "32", "--method", "clip"]
    argv += ["--n_train", "80", "--batch_size", "8", "--epochs", "2", "--ckpt_every", "2", "--eval_suite", "none"]
    argv += ["--max_damaged_shard_fraction", "0.1", "--out_dir", str(tmp_path / "run")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        err = one_line_error(argv)
    assert "1 damaged shards, more than max_damaged_shard_fraction=0.1" in err and "00005.tar" in err, err
    record("web shards: more damaged than max_damaged_shard_fraction", "command line", "one line (exit 1) naming the shard")


def test_print_the_table(capsys):
    with capsys.disabled():
        print(f"\n{'case':58s} {'format':13s} outcome")
        for case, fmt, outcome in ROWS:
            print(f"{case:58s} {fmt:13s} {outcome}")
    assert len(ROWS) >= 20
