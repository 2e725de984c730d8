"""Learning: the MCNN's preprocessing, the network and its training, in Keras 3.

The Keras backend is chosen here, once, before anything imports Keras: JAX.  Importing any
module of this subpackage guarantees it.
"""
import os

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

if keras.backend.backend() != "jax":  # pragma: no cover - depends on the user's environment
    raise ImportError(f"tnmlib needs Keras on the JAX backend, but KERAS_BACKEND is {keras.backend.backend()!r}; "
                      "unset it or set it to 'jax'")
