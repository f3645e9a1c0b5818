"""Installs psd_clip from settings.ini (nbdev's layout): its loose dependencies are declared there; requirements.txt is the lock file `make` installs."""
from configparser import ConfigParser
import setuptools

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini')
cfg = cfg['DEFAULT']
setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    author=cfg['author'], license=cfg['license'], python_requires='>=' + cfg['min_python'],
    install_requires=cfg['requirements'].split(), extras_require={'dev': cfg['dev_requirements'].split()},
    packages=[*setuptools.find_namespace_packages(include=['psd_clip', 'psd_clip.*'], exclude=['*.__pycache__']),
              'psd_clip.shipped_data'],
    # an installed kit finds the embedded data and the shipped trend family in psd_clip/shipped_data (psd_clip.core.DATA_DIR)
    package_dir={'psd_clip.shipped_data': 'data'},
    package_data={'psd_clip.model_configs': ['*.json'], 'psd_clip.shipped_data': ['embedded/*', 'eval_trend_*.json']},
    entry_points={'console_scripts': [cfg['console_scripts']], 'nbdev': ['psd_clip=psd_clip._modidx:d']},
    zip_safe=False)
