"""Answers with an array far larger than any frame the judge accepts.

proof: ATTACK huge-return-value: ran
"""


def preprocess(images, labels):
    big = np.zeros((2**28 + 1,), dtype=np.float64)
    print("ATTACK huge-return-value: ran", flush=True)
    return big, big
