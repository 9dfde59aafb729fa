/*
 * c_workloads.c - the raw-syscall baseline for bench/run.pl.
 *
 *   c_workloads WORKLOAD N
 *
 * Runs N units of the workload (W1: round trips, W2: 64 KiB chunks,
 * W3: datagram round trips, W4: connections) and prints the seconds the
 * loop took.  Each loop does what the Perl and Python variants do, with
 * plain system calls and nothing else.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    perror(what);
    exit(1);
}

/* W1: 1-byte ping-pong over one socketpair, in one process */
static double w1(long n)
{
    int sv[2];
    char buf[64];
    double t0;
    long i;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        die("socketpair");
    t0 = now();
    for (i = 0; i < n; i++) {
        if (send(sv[0], "x", 1, MSG_NOSIGNAL) != 1) die("send");
        if (recv(sv[1], buf, sizeof buf, 0) != 1) die("recv");
        if (send(sv[1], "x", 1, MSG_NOSIGNAL) != 1) die("send");
        if (recv(sv[0], buf, sizeof buf, 0) != 1) die("recv");
    }
    return now() - t0;
}

/* W2: n chunks of 64 KiB from a child to the parent over a socketpair */
static double w2(long n)
{
    enum { CHUNK = 65536 };
    static char buf[CHUNK];
    int sv[2];
    pid_t pid;
    double t0;
    long total = 0;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        die("socketpair");
    memset(buf, 'w', sizeof buf);
    t0 = now();
    pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        long i;
        close(sv[1]);
        for (i = 0; i < n; i++) {
            size_t off = 0;
            while (off < CHUNK) {
                ssize_t r = send(sv[0], buf + off, CHUNK - off, MSG_NOSIGNAL);
                if (r < 0) die("send");
                off += (size_t)r;
            }
        }
        _exit(0);
    }
    close(sv[0]);
    for (;;) {
        ssize_t r = recv(sv[1], buf, CHUNK, 0);
        if (r < 0) die("recv");
        if (r == 0) break;
        total += r;
    }
    waitpid(pid, NULL, 0);
    if (total != n * (long)CHUNK) {
        fprintf(stderr, "w2: got %ld bytes\n", total);
        exit(1);
    }
    return now() - t0;
}

static int udp_socket(struct sockaddr_in *addr)
{
    socklen_t len = sizeof *addr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)addr, sizeof *addr) < 0) die("bind");
    if (getsockname(fd, (struct sockaddr *)addr, &len) < 0) die("getsockname");
    return fd;
}

/* W3: 64-byte datagrams in lock-step: a -> b, b answers the sender */
static double w3(long n)
{
    struct sockaddr_in a_addr, b_addr, from;
    char msg[64], buf[64];
    int a = udp_socket(&a_addr), b = udp_socket(&b_addr);
    double t0;
    long i;
    memset(msg, 'u', sizeof msg);
    t0 = now();
    for (i = 0; i < n; i++) {
        socklen_t len = sizeof from;
        ssize_t r;
        if (sendto(a, msg, sizeof msg, MSG_NOSIGNAL, (struct sockaddr *)&b_addr, sizeof b_addr) != 64)
            die("sendto");
        r = recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
        if (r != 64) die("recvfrom");
        if (sendto(b, buf, (size_t)r, MSG_NOSIGNAL, (struct sockaddr *)&from, len) != 64)
            die("sendto");
        len = sizeof from;
        if (recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &len) != 64)
            die("recvfrom");
    }
    return now() - t0;
}

/* W4: connect, accept, close both, on 127.0.0.1 */
static double w4(long n)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    int one = 1;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    double t0;
    long i;
    if (l < 0) die("socket");
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(l, 128) < 0) die("listen");
    if (getsockname(l, (struct sockaddr *)&addr, &len) < 0) die("getsockname");
    t0 = now();
    for (i = 0; i < n; i++) {
        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s;
        if (c < 0) die("socket");
        if (connect(c, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
        s = accept4(l, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
        if (s < 0) die("accept4");
        close(c);
        close(s);
    }
    return now() - t0;
}

int main(int argc, char **argv)
{
    long n;
    double secs;
    if (argc != 3) {
        fprintf(stderr, "usage: %s w1|w2|w3|w4 N\n", argv[0]);
        return 2;
    }
    n = atol(argv[2]);
    if (!strcmp(argv[1], "w1")) secs = w1(n);
    else if (!strcmp(argv[1], "w2")) secs = w2(n);
    else if (!strcmp(argv[1], "w3")) secs = w3(n);
    else if (!strcmp(argv[1], "w4")) secs = w4(n);
    else {
        fprintf(stderr, "unknown workload %s\n", argv[1]);
        return 2;
    }
    printf("%.6f\n", secs);
    return 0;
}
