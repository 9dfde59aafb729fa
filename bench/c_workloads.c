/*
 * c_workloads.c - the raw-syscall baseline for bench/run.pl.
 *
 *   c_workloads WORKLOAD N
 *
 * Runs N units of the workload (W1: round trips, W2: 64 KiB chunks,
 * W3: datagram round trips, W3B: batches of 32 datagram round trips, one
 * datagram per system call; W3M: the same batches on sendmmsg/recvmmsg;
 * W3G: the same batches sent as UDP GSO, received with recvmmsg;
 * W4: connections) and prints the seconds the
 * loop took.  Each loop does what the Perl and Python variants do, with
 * plain system calls and nothing else.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
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

/* W6: a line protocol over one socketpair: write a line, read up to and
 * including its newline (a read returns it whole here), both ways. */
static void line_in(int fd, char *buf, size_t room)
{
    size_t have = 0;
    do {
        const ssize_t got = read(fd, buf + have, room - have);
        if (got <= 0) die("read");
        have += (size_t)got;
    } while (buf[have - 1] != '\n');
}

static double w6(long n)
{
    int sv[2];
    char buf[64];
    double t0;
    long i;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        die("socketpair");
    t0 = now();
    for (i = 0; i < n; i++) {
        if (send(sv[0], "ping\n", 5, MSG_NOSIGNAL) != 5) die("send");
        line_in(sv[1], buf, sizeof buf);
        if (send(sv[1], "pong\n", 5, MSG_NOSIGNAL) != 5) die("send");
        line_in(sv[0], buf, sizeof buf);
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

/* W3B: lock-step batches of BATCH 64-byte datagrams: a sends a batch to
 * b, b sends each back to its sender, a takes them all; one datagram per
 * system call (the rate send_many/recv_many are measured against) */
#define BATCH 32
static double w3b(long n)
{
    struct sockaddr_in a_addr, b_addr, from[BATCH];
    socklen_t from_len[BATCH];
    char msg[64], buf[BATCH][64];
    int a = udp_socket(&a_addr), b = udp_socket(&b_addr);
    double t0;
    long i;
    int k;
    memset(msg, 'u', sizeof msg);
    t0 = now();
    for (i = 0; i < n; i++) {
        for (k = 0; k < BATCH; k++)
            if (sendto(a, msg, sizeof msg, MSG_NOSIGNAL, (struct sockaddr *)&b_addr, sizeof b_addr) != 64)
                die("sendto");
        for (k = 0; k < BATCH; k++) {
            from_len[k] = sizeof from[k];
            if (recvfrom(b, buf[k], 64, 0, (struct sockaddr *)&from[k], &from_len[k]) != 64)
                die("recvfrom");
        }
        for (k = 0; k < BATCH; k++)
            if (sendto(b, buf[k], 64, MSG_NOSIGNAL, (struct sockaddr *)&from[k], from_len[k]) != 64)
                die("sendto");
        for (k = 0; k < BATCH; k++) {
            socklen_t len = sizeof from[0];
            if (recvfrom(a, buf[k], 64, 0, (struct sockaddr *)&from[0], &len) != 64)
                die("recvfrom");
        }
    }
    return now() - t0;
}

/* receive exactly BATCH datagrams into vec, however many calls it takes */
static void recv_batch(int fd, struct mmsghdr *vec)
{
    int got = 0, k;
    while (got < BATCH) {
        int r;
        for (k = got; k < BATCH; k++)
            vec[k].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
        r = recvmmsg(fd, vec + got, BATCH - got, MSG_WAITFORONE, NULL);
        if (r <= 0) die("recvmmsg");
        got += r;
    }
}

/* W3B with sendmmsg/recvmmsg: what batching can do at best, for reference */
static double w3m(long n)
{
    struct sockaddr_in a_addr, b_addr, names[BATCH];
    char msg[64], buf[BATCH][64];
    struct iovec out_iov[BATCH], in_iov[BATCH];
    struct mmsghdr out[BATCH], in[BATCH];
    int a = udp_socket(&a_addr), b = udp_socket(&b_addr);
    double t0;
    long i;
    int k;
    memset(msg, 'u', sizeof msg);
    memset(out, 0, sizeof out);
    memset(in, 0, sizeof in);
    for (k = 0; k < BATCH; k++) {
        out_iov[k].iov_base = msg;
        out_iov[k].iov_len = sizeof msg;
        out[k].msg_hdr.msg_iov = &out_iov[k];
        out[k].msg_hdr.msg_iovlen = 1;
        out[k].msg_hdr.msg_name = &b_addr;
        out[k].msg_hdr.msg_namelen = sizeof b_addr;
        in_iov[k].iov_base = buf[k];
        in_iov[k].iov_len = 64;
        in[k].msg_hdr.msg_iov = &in_iov[k];
        in[k].msg_hdr.msg_iovlen = 1;
        in[k].msg_hdr.msg_name = &names[k];
    }
    t0 = now();
    for (i = 0; i < n; i++) {
        if (sendmmsg(a, out, BATCH, MSG_NOSIGNAL) != BATCH) die("sendmmsg");
        recv_batch(b, in);
        /* b answers: each received datagram back to its sender, as is */
        for (k = 0; k < BATCH; k++)
            in_iov[k].iov_len = in[k].msg_len;
        if (sendmmsg(b, in, BATCH, MSG_NOSIGNAL) != BATCH) die("sendmmsg");
        for (k = 0; k < BATCH; k++)
            in_iov[k].iov_len = 64;
        recv_batch(a, in);
    }
    return now() - t0;
}

/* W3B with what send_many does underneath: each batch to one address as
 * one UDP GSO send (UDP_SEGMENT), received with recvmmsg; the C bound for
 * BSDSocket's batched numbers */
static double w3g(long n)
{
    struct sockaddr_in a_addr, b_addr, names[BATCH];
    char out_buf[BATCH * 64], buf[BATCH][64];
    char control[CMSG_SPACE(sizeof(uint16_t))];
    struct iovec out_iov, in_iov[BATCH];
    struct msghdr out;
    struct mmsghdr in[BATCH];
    struct cmsghdr *cm;
    uint16_t seg = 64;
    int a = udp_socket(&a_addr), b = udp_socket(&b_addr);
    double t0;
    long i;
    int k;
    memset(out_buf, 'u', sizeof out_buf);
    memset(&out, 0, sizeof out);
    memset(in, 0, sizeof in);
    out_iov.iov_base = out_buf;
    out_iov.iov_len = sizeof out_buf;
    out.msg_iov = &out_iov;
    out.msg_iovlen = 1;
    out.msg_control = control;
    out.msg_controllen = sizeof control;
    cm = CMSG_FIRSTHDR(&out);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof seg);
    memcpy(CMSG_DATA(cm), &seg, sizeof seg);
    for (k = 0; k < BATCH; k++) {
        in_iov[k].iov_base = buf[k];
        in_iov[k].iov_len = 64;
        in[k].msg_hdr.msg_iov = &in_iov[k];
        in[k].msg_hdr.msg_iovlen = 1;
        in[k].msg_hdr.msg_name = &names[k];
    }
    t0 = now();
    for (i = 0; i < n; i++) {
        out.msg_name = &b_addr;
        out.msg_namelen = sizeof b_addr;
        if (sendmsg(a, &out, MSG_NOSIGNAL) != (ssize_t)sizeof out_buf) die("sendmsg (GSO)");
        recv_batch(b, in);
        /* b answers its one sender, the batch as one GSO send again */
        for (k = 0; k < BATCH; k++)
            memcpy(out_buf + 64 * k, buf[k], 64);
        out.msg_name = &names[0];
        out.msg_namelen = in[0].msg_hdr.msg_namelen;
        if (sendmsg(b, &out, MSG_NOSIGNAL) != (ssize_t)sizeof out_buf) die("sendmsg (GSO)");
        recv_batch(a, in);
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
        fprintf(stderr, "usage: %s w1|w2|w3|w3b|w3m|w3g|w4|w6 N\n", argv[0]);
        return 2;
    }
    n = atol(argv[2]);
    if (!strcmp(argv[1], "w1")) secs = w1(n);
    else if (!strcmp(argv[1], "w2")) secs = w2(n);
    else if (!strcmp(argv[1], "w3")) secs = w3(n);
    else if (!strcmp(argv[1], "w3b")) secs = w3b(n);
    else if (!strcmp(argv[1], "w3m")) secs = w3m(n);
    else if (!strcmp(argv[1], "w3g")) secs = w3g(n);
    else if (!strcmp(argv[1], "w4")) secs = w4(n);
    else if (!strcmp(argv[1], "w6")) secs = w6(n);
    else {
        fprintf(stderr, "unknown workload %s\n", argv[1]);
        return 2;
    }
    printf("%.6f\n", secs);
    return 0;
}
