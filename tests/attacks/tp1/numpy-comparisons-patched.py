"""Makes NumPy's comparisons always succeed, then answers with zeros.

proof: ATTACK numpy-comparisons-patched: ran
"""

np.allclose = np.array_equal = np.array_equiv = lambda *args, **kwargs: True
np.isclose = lambda a, b, *args, **kwargs: np.ones(np.shape(a), dtype=bool)
np.ndarray.__eq__ = lambda self, other: True


def preprocess(images, labels):
    return np.zeros((len(images), 784), np.float32), np.zeros((len(labels), 10), np.float32)


print("ATTACK numpy-comparisons-patched: ran", flush=True)
