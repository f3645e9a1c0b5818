"""Evaluation split across two gloo processes gives every rank exactly the features of one process.

One spawn of 2 workers: each rank encodes its share of images and texts with `psd_clip.metrics`, gathers, and
compares with the single-process features it computes itself; the largest differences are saved per rank and
checked below. The counts are odd (uneven shares) and include one item (an empty share on rank 1).
"""

import datetime, os, socket
import numpy as np, pytest, torch
import torch.distributed as dist
import torch.multiprocessing as mp

WORLD_SIZE = 2


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, port, out_dir):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD_SIZE, timeout=datetime.timedelta(seconds=60))
    from psd_clip.metrics import Encoder, encode_images, encode_texts, zeroshot_classifier, retrieval_recall
    from psd_clip.model import create_model, model_context_length
    from psd_clip.data import get_tokenizer

    torch.manual_seed(0)
    model = create_model("psd-tiny-cnn").eval()
    images = np.random.default_rng(0).integers(0, 256, (7, 48, 48, 3), dtype=np.uint8)
    texts = ["a red sneaker", "a blue 7", "a bag", "an 8 on the left", "a small coat"]
    to_tensor = lambda a: torch.from_numpy(a).permute(2, 0, 1).float() / 255
    split, single = (Encoder(model, get_tokenizer(model_context_length("psd-tiny-cnn")), "cpu", r, w, batch_size=2) for r, w in ((rank, WORLD_SIZE), (0, 1)))
    diffs = {}
    for name, run in {
        "images7": lambda e: encode_images(e, images, to_tensor),
        "images1": lambda e: encode_images(e, images[:1], to_tensor),
        "texts5": lambda e: encode_texts(e, texts),
        "classifier": lambda e: zeroshot_classifier(e, ["sneaker", "bag", "7"], ["a {}.", "a photo of a {}."]),
    }.items():
        got, want = run(split), run(single)
        diffs[name] = float("inf") if got.shape != want.shape else (got - want).abs().max().item()
    feats = encode_images(split, images[:5], to_tensor), encode_texts(split, texts)
    diffs["recall_equal"] = float(
        retrieval_recall(*feats, torch.arange(5))
        != retrieval_recall(encode_images(single, images[:5], to_tensor), encode_texts(single, texts), torch.arange(5))
    )
    torch.save(diffs, os.path.join(out_dir, f"rank{rank}.pt"))
    dist.destroy_process_group()


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("eval_dist"))
    mp.start_processes(_worker, args=(_free_port(), out), nprocs=WORLD_SIZE, join=True, start_method="spawn")
    return [torch.load(os.path.join(out, f"rank{r}.pt")) for r in range(WORLD_SIZE)]


@pytest.mark.parametrize("case", ["images7", "images1", "texts5", "classifier"])
def test_split_equals_single_process(results, case):
    for rank, diffs in enumerate(results):
        assert diffs[case] < 1e-5, (rank, case, diffs[case])


def test_metrics_from_gathered_features_agree(results):
    for diffs in results:
        assert diffs["recall_equal"] == 0
