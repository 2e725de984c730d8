"""A dataset task that kills its worker process (imported by dask workers in a test)."""
import os


def die(*args, **kwargs):
    os._exit(13)
