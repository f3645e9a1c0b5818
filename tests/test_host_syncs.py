"A training step that is not a logging step never waits for the device: no scalar read on the host, for every method."

import pytest, torch
from torch.utils._python_dispatch import TorchDispatchMode
from psd_clip.callbacks import DeviceCB, MetricsCB, NonFiniteCB, TeacherCB
from psd_clip.learner import Callback, make_trainer, toy_config

SCALAR_READS = {"aten._local_scalar_dense.default", "aten.is_nonzero.default", "aten.item.default"}  # what .item(), bool() and int() of a tensor do


class ScalarReads(TorchDispatchMode):
    "Every op that copies a tensor's value to the host: on a GPU each one waits for the queued work."

    def __init__(self):
        super().__init__()
        self.reads = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if str(func) in SCALAR_READS:
            self.reads.append(str(func))
        return func(*args, **(kwargs or {}))


class CountQuietSteps(Callback):
    "Counts scalar reads over each step that neither logs nor follows a log (the first steps warm up)."

    order = -100

    def __init__(self):
        self.mode, self.per_step = None, {}

    def before_batch(self, t):
        if t.step > 2 and t.step % t.cfg.log_every not in (0, t.cfg.log_every - 1):
            self.mode = ScalarReads().__enter__()

    def after_batch(self, t):
        if self.mode:
            self.mode.__exit__(None, None, None)
            self.per_step[t.step], self.mode = self.mode.reads, None


METHODS = {
    "clip": dict(method="clip"),
    "psd": dict(method="psd"),
    "psd ema": dict(method="psd", teacher="ema"),
    "psd ema subset": dict(method="psd", teacher="ema", soft_block="subset"),
    "psd snapshot": dict(method="psd", teacher="snapshot"),
    "label_smoothing": dict(method="label_smoothing"),
    "albef": dict(method="albef"),
}


@pytest.mark.parametrize("name", METHODS)
def test_no_scalar_read_in_a_quiet_step(name):
    "With fused AdamW (a GPU's path: the skip of a non-finite step is decided on the device) no quiet step reads a scalar."
    counter = CountQuietSteps()
    callbacks = [DeviceCB(), TeacherCB(), NonFiniteCB(), MetricsCB(), counter]
    trainer = make_trainer(toy_config(**METHODS[name], log_every=5), callbacks=callbacks, fused=True)
    assert trainer.optimizer.defaults["fused"] and torch.device("cpu") == trainer.env.device
    trainer.fit()
    assert len(counter.per_step) >= 3 and counter.per_step == {s: [] for s in counter.per_step}, counter.per_step
