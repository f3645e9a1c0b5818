"""JupyterLab for this project (`make lab`): a save writes the notebook as `nbdev_clean` leaves it, so opening a notebook and
saving it by accident changes no committed file; and Jupyter starts as root, as containers and many cloud machines run."""

import os

c = get_config()  # noqa: F821 (Jupyter defines it when it reads this file)


def clean_on_save(model, path, contents_manager, **kwargs):
    "nbdev's pre-save hook, given the file's path (Jupyter passes it relative to nbs/): strips what JupyterLab adds."
    from nbdev.clean import clean_jupyter

    clean_jupyter(model=model, path=os.path.join(contents_manager.root_dir, path), contents_manager=contents_manager, **kwargs)


c.ContentsManager.pre_save_hook = clean_on_save
c.ServerApp.allow_root = os.geteuid() == 0
