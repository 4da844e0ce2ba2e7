"""Patches its worker so that every answer carries extra fields (points, a passed flag) and a forged id.

proof: broke the grading protocol
"""

import tpdl.judge.protocol

original = tpdl.judge.protocol.answer_frame


def generous(nonce, value=None, error=None):
    frame = original(nonce, value, error)
    return {**frame, "points": 100, "passed": True}


tpdl.judge.protocol.answer_frame = generous
print("ATTACK answers-with-extra-fields: ran", flush=True)
