"""Turns numpy.testing's assertions into no-ops, then answers with noise of the wrong shape.

proof: ATTACK numpy-testing-patched: ran
"""

import numpy.testing

for name in dir(numpy.testing):
    if name.startswith("assert_"):
        setattr(numpy.testing, name, lambda *args, **kwargs: None)


def preprocess(images, labels):
    rng = np.random.default_rng(0)
    return rng.random((len(images), 783)), rng.random((len(labels), 9))


print("ATTACK numpy-testing-patched: ran", flush=True)
