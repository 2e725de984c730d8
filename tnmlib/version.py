"""The installed package version (a foundation module: every layer may record it)."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tnmlib")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
