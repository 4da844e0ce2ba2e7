"""Raises errors whose messages cannot be encoded (lone surrogates), to break whoever writes them down.

proof: ValueError: ��
"""


def preprocess(images, labels):
    raise ValueError("\udcff\ud800 cannot be written as UTF-8")


def build_dense_model(input_dim=784, n_classes=10):
    raise RuntimeError("\udfff" * 10_000)


print("ATTACK unencodable-messages: ran", flush=True)
