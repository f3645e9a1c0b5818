"""Makes this Python import like a bare GPU machine's (torch and its image's packages, but not the ones psd_clip carries).

On the path (PYTHONPATH) with `DEVICE_LIKE_SITE` set, the packages a GPU machine lacks are imported from that folder
only (where `benchmarks/gpu_check.sh` installs the wheels `make gpu-wheels` downloads); one missing there fails to import
as it would on the device. The CI rehearsal runs `gpu_check.sh --dry-run` so, and an import mistake fails here first."""

import importlib.abc, importlib.machinery, os, sys

CARRIED = ("open_clip", "open_clip_train", "ftfy", "wcwidth", "fastcore", "webdataset", "braceexpand")  # not in the device's image


class OnlyCarried(importlib.abc.MetaPathFinder):
    "Finds a carried package in the carried folder alone, whatever else the environment has installed."

    def __init__(self, folder):
        self.folder = folder

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] not in CARRIED or "." in name:
            return None  # submodules follow their package's own path
        spec = importlib.machinery.PathFinder.find_spec(name, [self.folder])
        if spec is None:
            raise ModuleNotFoundError(f"No module named {name!r} (not among the carried wheels in {self.folder})", name=name)
        return spec


if os.environ.get("DEVICE_LIKE_SITE"):
    sys.meta_path.insert(0, OnlyCarried(os.environ["DEVICE_LIKE_SITE"]))
