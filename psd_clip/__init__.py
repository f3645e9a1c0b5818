__version__ = "0.1.0"
from . import sources  # noqa: F401 -- registers the own-data recipe with psd_clip.core.resolve (the data layer sits above core)
