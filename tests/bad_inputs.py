"""A corpus of bad web inputs and what psd_clip does with each: skip and count, a clear error, or a correct decode.

`python tests/bad_inputs.py` builds the corpus in a temporary folder and prints the table case -> outcome -> count;
tests/test_bad_inputs.py asserts every row.
"""

from __future__ import annotations
import io, struct, sys, tempfile, zlib
from collections import Counter
from pathlib import Path
import numpy as np
from PIL import Image
from psd_clip.data import decode_pair, read_webdataset, write_webdataset_shard
from psd_clip.ingest import tar_bytes


def encode(im: Image.Image, format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    im.save(buffer, format=format)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    "A valid 1x1 PNG whose header claims `width` x `height` (what a decoder sees before it decodes anything)."
    data = bytearray(encode(Image.new("L", (1, 1))))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


RGB = Image.fromarray(np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8))
RAMP16 = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (8, 1))  # a 16-bit ramp: decodes to mean 127.5


def image_cases() -> dict[str, tuple[bytes | None, bytes | str | None, str]]:
    "case -> (image, caption, expected outcome) for `decode_pair`; an outcome is a count key or 'decoded'."
    good = encode(RGB)
    return {
        "truncated PNG": (good[: len(good) // 2], "a cat", "skipped_corrupt_images"),
        "zero-byte image": (b"", "a cat", "skipped_corrupt_images"),
        "random bytes image": (np.random.default_rng(1).bytes(3000), "a cat", "skipped_corrupt_images"),
        "no image in the sample": (None, "a cat", "skipped_missing_images"),
        "empty caption": (good, "   ", "skipped_empty_captions"),
        "no caption in the sample": (good, None, "skipped_missing_captions"),
        "PNG mode P": (encode(RGB.convert("P")), "a cat", "decoded"),
        "PNG mode LA": (encode(RGB.convert("LA")), "a cat", "decoded"),
        "PNG mode RGBA": (encode(RGB.convert("RGBA")), "a cat", "decoded"),
        "PNG mode 1": (encode(RGB.convert("1")), "a cat", "decoded"),
        "CMYK JPEG": (encode(RGB.convert("CMYK"), "JPEG"), "a cat", "decoded"),
        "grey JPEG": (encode(RGB.convert("L"), "JPEG"), "a cat", "decoded"),
        "16-bit grey PNG (I;16)": (encode(Image.fromarray(RAMP16)), "a ramp", "decoded mean 127"),
        "32-bit int TIFF (I)": (encode(Image.fromarray(RAMP16.astype(np.int32)), "TIFF"), "a ramp", "decoded mean 127"),
        "float TIFF in [0, 1] (F)": (encode(Image.fromarray(RAMP16.astype(np.float32) / 65535), "TIFF"), "a ramp", "decoded mean 127"),
        "9,000 x 9,000 JPEG (81 MP)": (encode(Image.new("L", (9000, 9000), 128), "JPEG"), "big", "decoded at 1125x1125"),
        "12,000 x 12,000 PNG (144 MP)": (png_claiming(12_000, 12_000), "big", "skipped_large_images"),
        "14,000 x 14,000 PNG (196 MP)": (png_claiming(14_000, 14_000), "big", "skipped_large_images"),
        "non-UTF-8 caption": (good, "caf\xe9 cr\xe8me".encode("latin-1"), "decoded"),
        "5,000-character caption": (good, "word " * 1000, "decoded"),
        "emoji-only caption": (good, "\U0001f431\U0001f3b8\U0001f308", "decoded"),
    }


def decode_outcome(image, caption) -> tuple[str, int]:
    "What `decode_pair` did with one sample, and the count it left."
    counts = Counter()
    pair = decode_pair(image, caption, counts)
    if pair is None:
        return next(iter(counts)), sum(counts.values())
    if caption == "a ramp":
        return f"decoded mean {int(np.asarray(pair[0]).mean())}", counts["pairs"]  # 127, not 255
    if max(pair[0].size) > 1000:
        return f"decoded at {pair[0].width}x{pair[0].height}", counts["pairs"]
    return "decoded", counts["pairs"]


def shard_cases(root: Path) -> dict[str, tuple[Path, str]]:
    "case -> (shard path, expected outcome): one good sample, then the damage."
    good = [(encode(RGB), "a good pair")]
    write_webdataset_shard(good * 3, root / "healthy.tar")
    healthy = (root / "healthy.tar").read_bytes()
    first = healthy.index(b"000000001")  # where the second sample's header starts (its name is the header's first field)
    members = [("000000000.png", encode(RGB)), ("000000000.txt", b"a good pair")]
    files = {
        "tar cut in half": healthy[: len(healthy) // 2],
        "not a tar (random bytes)": np.random.default_rng(2).bytes(20_000),
        "zero-byte tar": b"",
        "same key twice in a row": tar_bytes(members + [("000000001.txt", b"x"), ("000000001.txt", b"x")]),
        "unreadable member (garbled header)": healthy[:first] + b"\xff" * 512 + healthy[first + 512 :],
        "repeated key later in the shard": tar_bytes(members + [("000000001.txt", b"b"), ("000000000.txt", b"again")]),
    }
    out = {}
    for i, (case, data) in enumerate(files.items()):
        (root / f"case{i}.tar").write_bytes(data)
        duplicate = case.startswith("repeated") or case == "same key twice in a row"  # counted; the rest of the shard is read
        out[case] = (root / f"case{i}.tar", "skipped_duplicate_keys" if duplicate else "skipped_shards")
    return out


def shard_outcome(path: Path) -> tuple[str, int, int]:
    "What the webdataset reader did with one shard: the count key it raised, its count, and the pairs read before."
    import warnings

    counts = Counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pairs = len(list(read_webdataset([path], counts)))
    problem = next((k for k in ("skipped_shards", "skipped_duplicate_keys") if counts[k]), "read whole")
    return problem, counts[problem] if problem != "read whole" else 0, pairs


def corpus_table(root: Path) -> list[dict]:
    "Every case of the corpus with its expected and actual outcome and count."
    rows = []
    for case, (image, caption, expected) in image_cases().items():
        outcome, count = decode_outcome(image, caption)
        rows.append(dict(case=case, expected=expected, outcome=outcome, count=count))
    for case, (path, expected) in shard_cases(root).items():
        outcome, count, pairs = shard_outcome(path)
        rows.append(dict(case=case, expected=expected, outcome=outcome, count=count, pairs_before_damage=pairs))
    return rows


def print_table(rows: list[dict], file=sys.stdout):
    print(f"{'case':38s} {'outcome':26s} count  {'(pairs kept)'}", file=file)
    for r in rows:
        ok = "" if r["outcome"] == r["expected"] else f"   <-- expected {r['expected']}"
        kept = f"  ({r['pairs_before_damage']})" if "pairs_before_damage" in r else ""
        print(f"{r['case']:38s} {r['outcome']:26s} {r['count']:5d}{kept}{ok}", file=file)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        print_table(corpus_table(Path(tmp)))
