"""Returns ndarray subclasses of the wrong shape and dtype whose shape, dtype, comparisons and statistics lie.

proof: ATTACK lying-ndarray-subclass: ran
"""


class LyingArray(np.ndarray):
    shape = property(lambda self: (37, 784) if self.size == 37 * 783 else (37, 10))
    dtype = property(lambda self: np.dtype(np.float32))

    def __eq__(self, other):
        return np.ones(np.shape(other), dtype=bool)

    def __ne__(self, other):
        return np.zeros(np.shape(other), dtype=bool)

    def max(self, *args, **kwargs):
        return 1.0

    def min(self, *args, **kwargs):
        return 0.0


def preprocess(images, labels):
    x = np.full((len(images), 783), 7.0).view(LyingArray)
    y = np.full((len(labels), 9), 3.0).view(LyingArray)
    print("ATTACK lying-ndarray-subclass: ran", flush=True)
    return x, y
