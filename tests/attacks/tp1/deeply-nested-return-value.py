"""Answers with a list nested a hundred thousand levels deep.

proof: ATTACK deeply-nested-return-value: ran
"""


def preprocess(images, labels):
    nested = []
    for _ in range(100000):
        nested = [nested]
    print("ATTACK deeply-nested-return-value: ran", flush=True)
    return nested, nested
