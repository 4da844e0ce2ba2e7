"""Returns objects that claim to equal anything and to be arrays of the right shape.

proof: ATTACK always-equal-objects: ran
"""


class Liar:
    shape = (37, 784)
    dtype = np.float32
    ndim = 2

    def __eq__(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        return np.zeros(self.shape, dtype=np.float32)

    def __len__(self):
        return 37


def preprocess(images, labels):
    return Liar(), Liar()


def build_dense_model(input_dim=784, n_classes=10):
    return Liar()


print("ATTACK always-equal-objects: ran", flush=True)
