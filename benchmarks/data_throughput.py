"""Decoded, augmented training samples per second per core: psd_clip's webdataset batches against open_clip's.

    OMP_NUM_THREADS=1 python benchmarks/data_throughput.py            # 2,000 JPEGs of 256 px, batches of 128

It writes its own img2dataset-style shards (key.jpg + key.txt + key.json) to a temporary folder, then reads them in
one process (workers=0, so the figure is per core) through
  - ours: `psd_clip.data.make_train_data` for a web scale (decode, mild random resized crop to 224, normalize, tokenize);
  - ours with `decode_on='device'`: the loader's share only (each JPEG checked at 1/8 scale, crop boxes, tokenize), the
    CPU work left per sample when the GPU decodes; then `psd_clip.decode.decode_batch` on `--device` over the same batches;
  - open_clip's: `open_clip_train.data.get_wds_dataset` (the pipeline `open_clip_train` uses: shard and sample shuffle,
    PIL decode, `open_clip.image_transform(224, is_train=True)`, tokenize, batch); if it fails with the installed
    webdataset (open_clip_train 3.3.0's tar reader does with webdataset 1.0), the same stages with webdataset's own
    `tarfile_to_samples` (the script prints which ran).
Full passes of the two alternate (ours, open_clip, open_clip, ours, ...); the median pass is reported, and the median of
the per-round ratios (robust to a drifting machine load).
"""

import argparse, io, statistics, tempfile, time
from pathlib import Path
from types import SimpleNamespace
import numpy as np, open_clip, torch
from PIL import Image
from psd_clip.core import make_config, resolve
from psd_clip.data import get_tokenizer, make_train_data, write_webdataset_shard
from psd_clip.decode import decode_batch


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000, help="JPEGs to write")
    parser.add_argument("--size", type=int, default=256, help="side of the stored JPEGs (img2dataset --image_size 256)")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--image-size", type=int, default=224, help="side of the augmented training images")
    parser.add_argument("--passes", type=int, default=5, help="full passes of each pipeline")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="where decode_on='device' decodes")
    return parser.parse_args(argv)


def photo_like(rng: np.random.Generator, size: int) -> bytes:
    "A JPEG of smooth colour blobs plus grain: compresses about as a photo does (tens of KB at 256 px)."
    coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    image = np.asarray(Image.fromarray(coarse).resize((size, size), Image.BICUBIC), np.int16)
    image = np.clip(image + rng.normal(0, 12, image.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def write_shards(folder: Path, args) -> list[Path]:
    rng, per_shard = np.random.default_rng(0), -(-args.images // args.shards)
    paths = []
    for s in range(args.shards):
        n = min(per_shard, args.images - s * per_shard)
        pairs = [(photo_like(rng, args.size), f"a photo of thing number {s * per_shard + i} on a table") for i in range(n)]
        paths.append(folder / f"{s:05d}.tar")
        write_webdataset_shard(pairs, paths[-1], extension="jpg")
    return paths


def ours(folder: Path, args, decode_on="loader"):
    cfg = resolve(
        make_config(scale="3M", data_root=str(folder), n_train=args.images, batch_size=args.batch, image_size=args.image_size, workers=0, decode_on=decode_on)
    )
    return make_train_data(cfg, get_tokenizer(77))


def count(data):
    return lambda: sum(len(images) for images, tokens in data.loader(0))


def device_decode_rate(data, device: str) -> float:
    "Samples/s of `decode_batch` on `device` over one pass of the loader's batches (prepared first, not timed)."
    batches = [images for images, _ in data.loader(0)]
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    decode_batch(batches[0], device)
    sync()
    start = time.perf_counter()
    for batch in batches:
        decode_batch(batch, device)
    sync()
    return sum(len(b) for b in batches) / (time.perf_counter() - start)


def open_clips(folder: Path, args):
    "open_clip_train's `get_wds_dataset` if it runs with the installed webdataset, else the same pipeline with webdataset's own tar reader."
    from open_clip_train.data import get_wds_dataset, filter_no_caption_or_no_image
    import webdataset as wds

    urls = f"{folder}/{{00000..{args.shards - 1:05d}}}.tar"
    run_args = SimpleNamespace(
        train_data=urls,
        train_num_samples=args.images,
        train_data_upsampling_factors=None,
        dataset_resampled=False,
        seed=0,
        batch_size=args.batch,
        workers=0,
        world_size=1,
    )
    transform, tokenizer = open_clip.image_transform(args.image_size, is_train=True), open_clip.get_tokenizer("RN50")

    def theirs():
        info = get_wds_dataset(run_args, transform, is_train=True, epoch=0, floor=True, tokenizer=tokenizer)
        return sum(len(images) for images, texts in info.dataloader)

    def minimal():  # get_wds_dataset's stages, with wds.tarfile_to_samples for its tarfile_to_samples_nothrow
        pipeline = wds.DataPipeline(
            wds.SimpleShardList(urls),
            wds.shuffle(2000, initial=500),
            wds.split_by_worker,
            wds.tarfile_to_samples(),
            wds.shuffle(5000, initial=1000),
            wds.select(filter_no_caption_or_no_image),
            wds.decode("pilrgb"),
            wds.rename(image="jpg;png;jpeg;webp", text="txt"),
            wds.map_dict(image=transform, text=lambda text: tokenizer(text)[0]),
            wds.to_tuple("image", "text"),
            wds.batched(args.batch, partial=False),
        )
        return sum(len(images) for images, texts in pipeline)

    try:
        theirs()
        return theirs, "open_clip_train.data.get_wds_dataset"
    except Exception as e:
        return minimal, (
            f"open_clip_train.data.get_wds_dataset fails with webdataset {wds.__version__} ({type(e).__name__}: {e}), "
            "so: its pipeline rebuilt with wds.tarfile_to_samples and open_clip.image_transform"
        )


def main(argv=None):
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shards = write_shards(folder, args)
        kb = sum(p.stat().st_size for p in shards) / args.images / 1024
        print(
            f"torch {torch.__version__}, open_clip {open_clip.__version__}, threads {torch.get_num_threads()}, workers 0 (one core); "
            f"{args.images} JPEGs of {args.size} px (~{kb:.0f} KB each incl. tar overhead) in {args.shards} shards, "
            f"batch {args.batch}, crop to {args.image_size}"
        )
        theirs, which = open_clips(folder, args)
        print(f"open_clip pipeline: {which}")
        on_device = ours(folder, args, decode_on="device")
        pipelines = {"psd_clip": count(ours(folder, args)), "open_clip": theirs, "psd_clip_device_loader": count(on_device)}
        rates = {name: [] for name in pipelines}
        for p in range(args.passes):
            for name in list(pipelines) if p % 2 == 0 else reversed(list(pipelines)):
                start = time.perf_counter()
                n = pipelines[name]()
                seconds = time.perf_counter() - start
                rates[name].append(n / seconds)
                print(f"pass {p} {name:22s} {n} samples in {seconds:.1f}s: {n / seconds:.0f} samples/s", flush=True)
        median = {name: statistics.median(r) for name, r in rates.items()}
        for name, r in median.items():
            print(f"{name:22s} median {r:.0f} samples/s per core")
        paired = statistics.median(a / b for a, b in zip(rates["psd_clip"], rates["open_clip"]))  # the two passes of a round run back to back
        print(f"psd_clip / open_clip throughput: {median['psd_clip'] / median['open_clip']:.3f}x of the medians, {paired:.3f}x median of per-round ratios")
        print(f"psd_clip_device_loader / open_clip: {median['psd_clip_device_loader'] / median['open_clip']:.3f}x of the medians (CPU work per sample)")
        rate = device_decode_rate(on_device, args.device)
        print(f"decode_batch on {args.device}: {rate:.0f} samples/s (decode, crop, resize, normalize; batch {args.batch})")
        return median | {f"decode_batch_{args.device}": rate}


if __name__ == "__main__":
    main()
