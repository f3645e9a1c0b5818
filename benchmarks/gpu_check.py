"GPU checks of psd_clip.train: precisions, compile, channels_last + grad checkpointing, teachers, resume, default tiny run."
import json, os, sys, time, torch
from pathlib import Path
from psd_clip.core import make_config
from psd_clip.train import train, StopAtCB
OUT = Path(os.environ.get('OUT', '/tmp/gout')); OUT.mkdir(exist_ok=True)
n = int(os.environ.get('N_TRAIN', 4096))
base = dict(scale='tiny', n_train=n, batch_size=256, epochs=2, eval_suite='none', log_every=4, ckpt_every=1000, warmup_steps=4)
out = {'torch': torch.__version__, 'gpu': torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}
def run(name, cbs=(), **kw):
    t = time.time()
    try:
        r = train(make_config(**{**base, **kw, 'out_dir': f'/tmp/g/{name}'}), callbacks=cbs)
        m = r['final_metrics']
        out[name] = dict(wall_s=round(time.time() - t, 1), steps=r['steps'], loss=m.get('contrastive_loss'), sps=round(m['samples_per_s']),
                         skipped=r['skipped_steps'], device=r['device'], status=r['status'])
    except Exception as e: out[name] = repr(e)[:400]
    print(name, out[name], flush=True)
for name, kw in [('bf16', {}), ('fp16', dict(precision='fp16')), ('fp32', dict(precision='fp32')),
                 ('bf16_compile', dict(compile=True)), ('bf16_channels_last_gradckpt', dict(channels_last=True, grad_checkpointing=True)),
                 ('vit_bf16', dict(arch='psd-tiny-vit')), ('ema_fp16', dict(teacher='ema', precision='fp16')),
                 ('snapshot_bf16_subset', dict(teacher='snapshot', soft_block='subset')), ('albef', dict(method='albef'))]:
    run(name, **kw)
run('resume_a', teacher='ema')
run('resume_b', (StopAtCB(5),), teacher='ema')
run('resume_b', teacher='ema', resume='latest')
rows = lambda d: [json.loads(l) for l in Path(f'/tmp/g/{d}/metrics.jsonl').read_text().splitlines()]
out['resume_max_loss_diff'] = max(abs(a['contrastive_loss'] - b['contrastive_loss']) for a, b in zip(rows('resume_a'), rows('resume_b')))
run('tiny_default_psd', **{k: None for k in ('n_train', 'batch_size', 'epochs', 'warmup_steps')}, log_every=10)
json.dump(out, open(OUT / 'gpu.json', 'w'), indent=1)
print(json.dumps(out, indent=1))
