"""Installs psd_clip from settings.ini (nbdev's layout); dependencies are pinned in requirements.txt."""
from configparser import ConfigParser
import setuptools

cfg = ConfigParser(delimiters=['='])
cfg.read('settings.ini')
cfg = cfg['DEFAULT']
setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    author=cfg['author'], license=cfg['license'], python_requires='>=' + cfg['min_python'],
    packages=setuptools.find_namespace_packages(include=['psd_clip', 'psd_clip.*']),
    package_data={'psd_clip.model_configs': ['*.json']},
    entry_points={'console_scripts': [cfg['console_scripts']], 'nbdev': ['psd_clip=psd_clip._modidx:d']},
    zip_safe=False)
