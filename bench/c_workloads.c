/*
 * c_workloads.c - the raw-syscall baseline for bench/run.pl.
 *
 *   c_workloads WORKLOAD N
 *
 * Runs N units of the workload (W1: round trips, W2: 64 KiB chunks,
 * W3: datagram round trips, W3B: batches of 32 datagram round trips, one
 * datagram per system call; W3M: the same batches on sendmmsg/recvmmsg;
 * W3G: the same batches sent as UDP GSO, received with recvmmsg;
 * W3GGRO: the same GSO sends received on UDP_GRO sockets with recvmmsg;
 * W3R, W3RM, W3RGRO: datagrams received from a W3RSEND sender, one per
 * recvfrom, by recvmmsg, and as UDP_GRO buffers; W4: connections) and
 * prints the seconds the loop took.  Each loop does what the Perl and
 * Python variants do, with plain system calls and nothing else.
 *
 *   c_workloads w3rsend PORT PID
 *
 * is W3R's sender: 1200-byte datagrams to 127.0.0.1:PORT as fast as it
 * can, until it is killed or process PID (its parent, the receiver) ends.
 *
 *   c_workloads w5 N SERVER-COMMAND...
 *
 * is W5's load generator: it starts the echo server SERVER-COMMAND (which
 * prints its port on 127.0.0.1 on a line of its own and echoes until it is
 * stopped), runs N 64-byte round trips through it over 1000 connections
 * after a warm-up, stops it (SIGTERM, then SIGKILL if it lingers), and
 * prints the seconds the N took and the CPU seconds the server used
 * meanwhile.
 *
 *   c_workloads w5serve
 *
 * is W5's C server: a level-triggered epoll loop, the Poller SYNOPSIS's
 * loop (bench/w5_servers.pl) in plain system calls.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Linux's numbers, for C library headers older than the kernel */
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

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

/* A batch of BATCH 64-byte datagrams as one UDP GSO send: the message
 * over buf (BATCH * 64 bytes of 'u') with its UDP_SEGMENT control
 * message in control (CMSG_SPACE(sizeof(uint16_t)) bytes). */
static void gso_batch_init(struct msghdr *out, struct iovec *iov, char *buf, char *control)
{
    const uint16_t seg = 64;
    struct cmsghdr *cm;
    memset(buf, 'u', BATCH * 64);
    memset(out, 0, sizeof *out);
    iov->iov_base = buf;
    iov->iov_len = BATCH * 64;
    out->msg_iov = iov;
    out->msg_iovlen = 1;
    out->msg_control = control;
    out->msg_controllen = CMSG_SPACE(sizeof seg);
    cm = CMSG_FIRSTHDR(out);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof seg);
    memcpy(CMSG_DATA(cm), &seg, sizeof seg);
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
    int a = udp_socket(&a_addr), b = udp_socket(&b_addr);
    double t0;
    long i;
    int k;
    gso_batch_init(&out, &out_iov, out_buf, control);
    memset(in, 0, sizeof in);
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

/* How many SIZE-byte datagrams a buffer from a UDP_GRO socket holds: a
 * coalesced buffer comes with a UDP_GRO control message giving its segment
 * size, a lone datagram with none.  Anything else (a cut buffer, a size
 * that was never sent) is an error, as a wrong datagram size is for the
 * receivers that take one datagram per buffer. */
static long gro_datagrams(struct msghdr *m, size_t len, size_t size)
{
    struct cmsghdr *cm;
    int gso = 0;
    for (cm = CMSG_FIRSTHDR(m); cm; cm = CMSG_NXTHDR(m, cm))
        if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO)
            memcpy(&gso, CMSG_DATA(cm), sizeof gso);
    if ((m->msg_flags & (MSG_TRUNC | MSG_CTRUNC))
        || (gso == 0 ? len != size : (size_t)gso != size || len == 0 || len % size)) {
        fprintf(stderr, "a %zu-byte buffer, segment size %d, flags %#x, where %zu-byte datagrams were sent\n",
                len, gso, (unsigned)m->msg_flags, size);
        exit(1);
    }
    return gso == 0 ? 1 : (long)((len + (size_t)gso - 1) / (size_t)gso);
}

static void udp_gro_on(int fd)
{
    int one = 1;
    if (setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) < 0) die("setsockopt UDP_GRO");
}

/* GRO receives: an entry is a whole 64 KiB buffer, since one GSO send
 * arrives as one buffer, with room for the segment size */
#define GRO_ROOM 65536
#define GRO_CONTROL CMSG_SPACE(sizeof(int))

/* receive GRO buffers into vec until they hold BATCH 64-byte datagrams;
 * returns how many entries that took */
static int recv_gro_batch(int fd, struct mmsghdr *vec)
{
    long got = 0;
    int used = 0, k;
    while (got < BATCH) {
        int r;
        for (k = used; k < BATCH; k++) {
            vec[k].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
            vec[k].msg_hdr.msg_controllen = GRO_CONTROL;
        }
        r = recvmmsg(fd, vec + used, BATCH - used, MSG_WAITFORONE, NULL);
        if (r <= 0) die("recvmmsg");
        for (k = used; k < used + r; k++)
            got += gro_datagrams(&vec[k].msg_hdr, vec[k].msg_len, 64);
        used += r;
    }
    if (got != BATCH) {
        fprintf(stderr, "w3ggro: %ld datagrams where %d were sent\n", got, BATCH);
        exit(1);
    }
    return used;
}

/* W3B as W3G sends it (UDP_SEGMENT), received on UDP_GRO sockets with
 * recvmmsg: what send_many and recv_many do between them on sockets with
 * UDP_GRO on, so the C bound for that */
static double w3ggro(long n)
{
    static char bufs[BATCH][GRO_ROOM];
    static char controls[BATCH][GRO_CONTROL];
    struct sockaddr_in a_addr, b_addr, names[BATCH];
    char out_buf[BATCH * 64];
    char control[CMSG_SPACE(sizeof(uint16_t))];
    struct iovec out_iov, in_iov[BATCH];
    struct msghdr out;
    struct mmsghdr in[BATCH];
    int a = udp_socket(&a_addr), b = udp_socket(&b_addr);
    double t0;
    long i;
    int k;
    udp_gro_on(a);
    udp_gro_on(b);
    gso_batch_init(&out, &out_iov, out_buf, control);
    memset(in, 0, sizeof in);
    for (k = 0; k < BATCH; k++) {
        in_iov[k].iov_base = bufs[k];
        in_iov[k].iov_len = GRO_ROOM;
        in[k].msg_hdr.msg_iov = &in_iov[k];
        in[k].msg_hdr.msg_iovlen = 1;
        in[k].msg_hdr.msg_name = &names[k];
        in[k].msg_hdr.msg_control = controls[k];
    }
    t0 = now();
    for (i = 0; i < n; i++) {
        int used;
        size_t off = 0;
        out.msg_name = &b_addr;
        out.msg_namelen = sizeof b_addr;
        if (sendmsg(a, &out, MSG_NOSIGNAL) != (ssize_t)sizeof out_buf) die("sendmsg (GSO)");
        used = recv_gro_batch(b, in);
        /* b answers its one sender, the datagrams in the order they came
         * (the buffers hold them back to back) as one GSO send again */
        for (k = 0; k < used; k++) {
            memcpy(out_buf + off, bufs[k], in[k].msg_len);
            off += in[k].msg_len;
        }
        out.msg_name = &names[0];
        out.msg_namelen = in[0].msg_hdr.msg_namelen;
        if (sendmsg(b, &out, MSG_NOSIGNAL) != (ssize_t)sizeof out_buf) die("sendmsg (GSO)");
        recv_gro_batch(a, in);
    }
    return now() - t0;
}

/* W3R: the receive side alone.  A sender process makes 1200-byte
 * datagrams as fast as UDP GSO lets it (runs of 50 per system call) and
 * the receiver takes N of them, timed from the first; UDP drops what the
 * receiver cannot keep up with, so the rate is the receiver's as long as
 * the sender stays ahead.  It may not: the kernel still cuts each run
 * into datagrams for a receiver without GRO, on the sender's CPU, and a
 * GRO receiver takes a whole run per call.  Every variant, in Perl and
 * Python too, sets the socket up the same way and starts the same
 * sender. */
#define W3R_SIZE 1200
#define W3R_RUN 50
#define W3R_RCVBUF (4 << 20)
#define W3R_WAIT 10             /* seconds without a datagram that mean it is broken */

/* the sender, until killed or until its parent is gone */
static void w3r_send(int port, pid_t parent)
{
    static char buf[W3R_SIZE * W3R_RUN];
    struct sockaddr_in to;
    int seg = W3R_SIZE, devnull;
    long i;
    int fd;
    /* die with the receiver, however it ends; and if it ended before
     * this was set, there is no one to send to */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
        _exit(1);
    /* and leave the harness's pipe alone: its reader waits for every
     * holder to close it */
    devnull = open("/dev/null", O_WRONLY);
    if (devnull < 0 || dup2(devnull, STDOUT_FILENO) < 0)
        _exit(1);
    close(devnull);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("w3r sender: socket");
    if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) < 0)
        die("w3r sender: setsockopt UDP_SEGMENT");
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0) die("w3r sender: connect");
    memset(buf, 'r', sizeof buf);
    for (i = 0;; i++) {
        /* a full queue, or a receiver that has just closed, is no reason
         * to stop: the receiver decides when it has had enough */
        if (send(fd, buf, sizeof buf, 0) < 0
            && errno != ENOBUFS && errno != ECONNREFUSED && errno != EAGAIN && errno != EINTR) {
            perror("w3r sender: send");
            _exit(1);
        }
        if (i % 1024 == 0 && getppid() != parent)
            _exit(0);
    }
}

static pid_t w3r_sender;

static void w3r_stop(void)
{
    if (w3r_sender > 0) {
        kill(w3r_sender, SIGKILL);
        waitpid(w3r_sender, NULL, 0);
        w3r_sender = 0;
    }
}

/* the receiving socket, its sender started */
static int w3r_socket(int gro)
{
    struct sockaddr_in addr;
    struct timeval wait = { W3R_WAIT, 0 };
    int size = W3R_RCVBUF;
    int fd = udp_socket(&addr);
    pid_t parent = getpid();
    /* room for bursts while the receiver is off the CPU; root may go
     * past net.core.rmem_max */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0
        && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size) < 0)
        die("setsockopt SO_RCVBUF");
    /* the kernel's timeout, so a dead sender ends the wait without
     * adding a poll to every receive */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait) < 0)
        die("setsockopt SO_RCVTIMEO");
    /* before anything arrives: datagrams queued earlier stay single */
    if (gro)
        udp_gro_on(fd);
    fflush(stdout);
    w3r_sender = fork();
    if (w3r_sender < 0) die("fork");
    if (w3r_sender == 0) {
        close(fd);
        w3r_send(ntohs(addr.sin_port), parent);
    }
    atexit(w3r_stop);
    return fd;
}

static void w3r_check(ssize_t len)
{
    if (len < 0) die("w3r: receive");
    if (len != W3R_SIZE) {
        fprintf(stderr, "w3r: a %zd-byte datagram\n", len);
        exit(1);
    }
}

/* W3R, one recvfrom a datagram */
static double w3r(long n)
{
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    char buf[2048];
    int fd = w3r_socket(0);
    double t0, secs;
    long i;
    w3r_check(recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len));
    t0 = now();
    for (i = 0; i < n; i++) {
        len = sizeof from;
        w3r_check(recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len));
    }
    secs = now() - t0;
    w3r_stop();
    return secs;
}

/* W3R on recvmmsg, 64 datagrams a call at most */
#define W3R_VLEN 64
struct w3r_mmsg {
    char bufs[W3R_VLEN][2048];
    struct sockaddr_in names[W3R_VLEN];
    struct iovec iov[W3R_VLEN];
    struct mmsghdr vec[W3R_VLEN];
};

static long w3r_mmsg_call(int fd, struct w3r_mmsg *m)
{
    int r, k;
    for (k = 0; k < W3R_VLEN; k++)
        m->vec[k].msg_hdr.msg_namelen = sizeof m->names[k];
    r = recvmmsg(fd, m->vec, W3R_VLEN, MSG_WAITFORONE, NULL);
    if (r <= 0) die("w3r: recvmmsg");
    for (k = 0; k < r; k++)
        w3r_check(m->vec[k].msg_len);
    return r;
}

static double w3rm(long n)
{
    static struct w3r_mmsg m;
    int fd = w3r_socket(0);
    double t0, secs;
    long got = 0;
    int k;
    for (k = 0; k < W3R_VLEN; k++) {
        m.iov[k].iov_base = m.bufs[k];
        m.iov[k].iov_len = sizeof m.bufs[k];
        m.vec[k].msg_hdr.msg_iov = &m.iov[k];
        m.vec[k].msg_hdr.msg_iovlen = 1;
        m.vec[k].msg_hdr.msg_name = &m.names[k];
    }
    w3r_mmsg_call(fd, &m);
    t0 = now();
    while (got < n)
        got += w3r_mmsg_call(fd, &m);
    secs = now() - t0;
    w3r_stop();
    /* the last call may take a few past N: the seconds N took at the
     * rate measured */
    return secs * n / got;
}

/* W3R on a UDP_GRO socket: recvmsg into a 64 KiB buffer, which holds a
 * whole run of the sender's when the kernel keeps it together */
static long w3r_gro_call(int fd, struct msghdr *m)
{
    ssize_t len;
    m->msg_namelen = sizeof(struct sockaddr_in);
    m->msg_controllen = GRO_CONTROL;
    len = recvmsg(fd, m, 0);
    if (len < 0) die("w3r: recvmsg");
    return gro_datagrams(m, (size_t)len, W3R_SIZE);
}

static double w3rgro(long n)
{
    static char buf[GRO_ROOM];
    char control[GRO_CONTROL];
    struct sockaddr_in from;
    struct iovec iov;
    struct msghdr m;
    int fd = w3r_socket(1);
    double t0, secs;
    long got = 0;
    iov.iov_base = buf;
    iov.iov_len = sizeof buf;
    memset(&m, 0, sizeof m);
    m.msg_name = &from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control;
    w3r_gro_call(fd, &m);
    t0 = now();
    while (got < n)
        got += w3r_gro_call(fd, &m);
    secs = now() - t0;
    w3r_stop();
    return secs * n / got;
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

/* W5: echo servers on an event loop, under load from this process.  The
 * load generator opens W5_CONNS connections to the server and keeps every
 * one busy in lock-step: send a 64-byte message, wait for its echo, send
 * the next, so the server always has W5_CONNS round trips on the go and
 * wakes to many ready sockets at once, as a busy server does.  Each
 * connection makes one round trip as it opens, before the next one
 * connects: then the server has accepted every connection before the
 * timing starts, whatever its listen backlog.  After a warm-up (W5_WARM
 * round trips a connection) the next N echoes are timed, and the
 * server's CPU time (utime + stime in /proc/PID/stat, all its threads) is
 * read at both ends of them; the load never pauses, so both ends see it
 * in the same steady state.  Nothing is timed while connections open or
 * close. */
#define W5_CONNS 1000
#define W5_SIZE 64
#define W5_WARM 5
#define W5_WAIT 10              /* seconds without an echo that mean the server is stuck or gone */
#define W5_START 30             /* seconds a server may take to start: an interpreter loads modules */

struct w5_conn {
    int fd;
    int in, out;                /* bytes of the current message echoed, and sent */
    char msg[W5_SIZE], echo[W5_SIZE];
};

static pid_t w5_server;

/* SIGTERM first, so a server run under valgrind --tool=callgrind leaves
 * valgrind its moment to write what it counted (strace blocks SIGTERM:
 * it waits out W5_STOP); SIGKILL for one that has not gone after W5_STOP
 * seconds */
#define W5_STOP 10
static void w5_stop(void)
{
    const struct timespec tick = { 0, 10 * 1000 * 1000 };
    int i;
    if (w5_server <= 0)
        return;
    kill(w5_server, SIGTERM);
    for (i = 0; i < W5_STOP * 100; i++) {
        if (waitpid(w5_server, NULL, WNOHANG) != 0) {
            w5_server = 0;
            return;
        }
        nanosleep(&tick, NULL);
    }
    kill(w5_server, SIGKILL);
    waitpid(w5_server, NULL, 0);
    w5_server = 0;
}

/* the whole run's limit, for a server that answers, but too slowly to
 * finish: async-signal-safe calls only */
static void w5_alarm(int sig)
{
    static const char text[] = "w5: out of time, the server is too slow or stuck\n";
    (void)sig;
    if (w5_server > 0) {
        kill(w5_server, SIGKILL);
        waitpid(w5_server, NULL, 0);
    }
    if (write(STDERR_FILENO, text, sizeof text - 1) < 0) { /* exiting anyway */ }
    _exit(1);
}

/* a fatal problem (err: its errno, or 0), with the server's fate in the
 * message when it has gone: that is usually the real reason (its
 * connections may reset a moment before it can be reaped, so it gets that
 * moment) */
static void w5_die(const char *what, int err)
{
    const struct timespec tick = { 0, 10 * 1000 * 1000 };
    int status, i;
    pid_t gone = 0;
    for (i = 0; w5_server > 0 && i < 100 && !gone; i++)
        if (!(gone = waitpid(w5_server, &status, WNOHANG)))
            nanosleep(&tick, NULL);
    if (gone == w5_server) {
        w5_server = 0;
        if (WIFEXITED(status))
            fprintf(stderr, "w5: %s: the server exited with status %d\n", what, WEXITSTATUS(status));
        else
            fprintf(stderr, "w5: %s: the server was killed by signal %d\n", what, WTERMSIG(status));
    }
    else if (err)
        fprintf(stderr, "w5: %s: %s\n", what, strerror(err));
    else
        fprintf(stderr, "w5: %s\n", what);
    exit(1);
}

/* a server's CPU seconds so far, user and system, all its threads */
static double w5_cpu(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long utime, stime;
    ssize_t len;
    int fd;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) w5_die(path, errno);
    len = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (len <= 0) w5_die(path, errno);
    buf[len] = '\0';
    /* fields 14 and 15, counted after the command name, which may hold
     * spaces and parentheses of its own */
    p = strrchr(buf, ')');
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                     &utime, &stime) != 2)
        w5_die("cannot read the server's CPU time", 0);
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* start the server and return its port: the first line it prints.  It
 * dies with this process, however that ends. */
static int w5_start(char **cmd)
{
    const pid_t parent = getpid();
    struct pollfd pfd;
    char line[64];
    size_t have = 0;
    double until = now() + W5_START;
    int p[2], port;
    if (pipe2(p, O_CLOEXEC) < 0) die("pipe");
    fflush(stdout);
    w5_server = fork();
    if (w5_server < 0) die("fork");
    if (w5_server == 0) {
        /* the port goes up the pipe, and the harness's pipe (this
         * process's stdout) stays out of the server's hands */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent
            || dup2(p[1], STDOUT_FILENO) < 0)
            _exit(127);
        execvp(cmd[0], cmd);
        fprintf(stderr, "w5: cannot run %s: %s\n", cmd[0], strerror(errno));
        _exit(127);
    }
    atexit(w5_stop);
    close(p[1]);
    pfd.fd = p[0];
    pfd.events = POLLIN;
    while (!memchr(line, '\n', have)) {
        const double left = until - now();
        ssize_t r;
        if (left <= 0 || poll(&pfd, 1, (int)(left * 1000) + 1) == 0)
            w5_die("the server did not say its port in time", 0);
        r = read(p[0], line + have, sizeof line - 1 - have);
        if (r <= 0 || (have += (size_t)r) == sizeof line - 1)
            w5_die("the server did not say its port", 0);
    }
    close(p[0]);
    line[have] = '\0';
    port = atoi(line);
    if (port <= 0 || port > 65535)
        w5_die("the server's first line is not a port", 0);
    return port;
}

/* (the next message on a connection: its number, and how many round
 * trips it has made, so an echo from the wrong message shows) */
static void w5_next(struct w5_conn *c, long k, long seq)
{
    memcpy(c->msg, &k, sizeof k);
    memcpy(c->msg + sizeof k, &seq, sizeof seq);
    c->in = c->out = 0;
}

/* send what is left of c's message; false when the socket is full */
static int w5_send(struct w5_conn *c)
{
    while (c->out < W5_SIZE) {
        const ssize_t r = send(c->fd, c->msg + c->out, (size_t)(W5_SIZE - c->out), MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR) return 0;
            w5_die("send", errno);
        }
        c->out += (int)r;
    }
    return 1;
}

/* take what has come of c's echo; true when all of it is in */
static int w5_recv(struct w5_conn *c)
{
    while (c->in < W5_SIZE) {
        const ssize_t r = recv(c->fd, c->echo + c->in, (size_t)(W5_SIZE - c->in), 0);
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR) return 0;
            w5_die("recv", errno);
        }
        if (r == 0)
            w5_die("the server closed a connection", 0);
        c->in += (int)r;
    }
    if (memcmp(c->msg, c->echo, W5_SIZE))
        w5_die("an echo that is not the message sent", 0);
    return 1;
}

static void w5_watch(int ep, int op, struct w5_conn *c, long k, uint32_t events)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = (uint64_t)k;
    if (epoll_ctl(ep, op, c->fd, &ev) < 0) die("epoll_ctl");
}

static void w5(long n, char **cmd)
{
    static struct w5_conn conns[W5_CONNS];
    static struct epoll_event events[W5_CONNS];
    const long warm = (long)W5_CONNS * W5_WARM;
    struct sockaddr_in addr;
    struct timeval wait = { W5_WAIT, 0 };
    struct rlimit rl;
    struct pollfd pfd;
    double t0 = 0, cpu0 = 0, cpu;
    long done = 0, seq = 0, k;
    int ep, one = 1;
    /* a descriptor a connection on each side, and the server inherits
     * this limit: its own fds (an interpreter's few) need room too */
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) die("getrlimit");
    if (rl.rlim_cur < 4096) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        if (rl.rlim_cur < W5_CONNS + 100) {
            fprintf(stderr, "w5: %d connections need more descriptors than RLIMIT_NOFILE's hard limit, %ld\n",
                    W5_CONNS, (long)rl.rlim_max);
            exit(1);
        }
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) die("setrlimit");
    }
    signal(SIGALRM, w5_alarm);
    /* a server slower than 1000 round trips a second is broken, not slow */
    alarm((unsigned)(W5_START + 2 * W5_WAIT + (n + warm + W5_CONNS) / 1000));
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons((uint16_t)w5_start(cmd));
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    for (k = 0; k < W5_CONNS; k++) {
        struct w5_conn *c = &conns[k];
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0) die("socket");
        /* SO_SNDTIMEO bounds connect too */
        if (setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait) < 0
            || setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
            die("setsockopt");
        if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) w5_die("connect", errno);
        if (fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0) die("fcntl");
        /* the first round trip, alone */
        w5_next(c, k, seq++);
        pfd.fd = c->fd;
        pfd.events = POLLOUT;
        while (!w5_send(c))
            if (poll(&pfd, 1, W5_WAIT * 1000) == 0) w5_die("no room to send for 10 s", 0);
        pfd.events = POLLIN;
        while (!w5_recv(c))
            if (poll(&pfd, 1, W5_WAIT * 1000) == 0)
                w5_die("no echo for 10 s while connecting", 0);
        w5_watch(ep, EPOLL_CTL_ADD, c, k, EPOLLIN);
    }
    /* every connection busy from here on */
    for (k = 0; k < W5_CONNS; k++) {
        w5_next(&conns[k], k, seq++);
        if (!w5_send(&conns[k])) w5_watch(ep, EPOLL_CTL_MOD, &conns[k], k, EPOLLIN | EPOLLOUT);
    }
    while (done < warm + n) {
        int ready = epoll_wait(ep, events, W5_CONNS, W5_WAIT * 1000), i;
        if (ready < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        if (ready == 0)
            w5_die("no echo on any connection for 10 s", 0);
        for (i = 0; i < ready && done < warm + n; i++) {
            struct w5_conn *c;
            k = (long)events[i].data.u64;
            c = &conns[k];
            if (c->out < W5_SIZE) {
                /* the rest of a message the socket had no room for */
                if (!w5_send(c)) continue;
                w5_watch(ep, EPOLL_CTL_MOD, c, k, EPOLLIN);
            }
            if (!w5_recv(c)) continue;
            if (++done == warm) {
                t0 = now();
                cpu0 = w5_cpu(w5_server);
            }
            w5_next(c, k, seq++);
            if (!w5_send(c)) w5_watch(ep, EPOLL_CTL_MOD, c, k, EPOLLIN | EPOLLOUT);
        }
    }
    /* both ends while the load is still on */
    t0 = now() - t0;
    cpu = w5_cpu(w5_server) - cpu0;
    w5_stop();
    alarm(0);
    printf("%.6f %.6f\n", t0, cpu);
}

/* W5's C server: the Poller SYNOPSIS in system calls (level-triggered
 * epoll, blocking sockets: a read when epoll says there is something,
 * and a write that waits for room, as sendall does) */
static void w5_serve(void)
{
    static struct epoll_event events[1024];
    static char buf[4096];
    struct sockaddr_in addr;
    struct epoll_event ev;
    socklen_t len = sizeof addr;
    int one = 1, l, ep;
    l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (l < 0) die("socket");
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(l, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(l, SOMAXCONN) < 0) die("listen");
    if (getsockname(l, (struct sockaddr *)&addr, &len) < 0) die("getsockname");
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    memset(&ev, 0, sizeof ev);
    ev.events = EPOLLIN;
    ev.data.fd = l;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) < 0) die("epoll_ctl");
    printf("%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    for (;;) {
        int ready = epoll_wait(ep, events, 1024, 1500), i;
        if (ready < 0 && errno != EINTR) die("epoll_wait");
        for (i = 0; i < ready; i++) {
            const int fd = events[i].data.fd;
            ssize_t got, off = 0;
            if (fd == l) {
                const int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0) die("accept4");
                ev.data.fd = c;
                if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) < 0) die("epoll_ctl");
                continue;
            }
            got = recv(fd, buf, sizeof buf, 0);
            while (got > 0 && off < got) {
                const ssize_t r = send(fd, buf + off, (size_t)(got - off), MSG_NOSIGNAL);
                if (r < 0) break;
                off += r;
            }
            if (got <= 0 || off < got) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
            }
        }
    }
}

int main(int argc, char **argv)
{
    long n;
    double secs;
    if (argc == 4 && !strcmp(argv[1], "w3rsend"))
        w3r_send(atoi(argv[2]), (pid_t)atol(argv[3]));
    if (argc == 2 && !strcmp(argv[1], "w5serve"))
        w5_serve();
    if (argc >= 4 && !strcmp(argv[1], "w5")) {
        w5(atol(argv[2]), argv + 3);
        return 0;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: %s w1|w2|w3|w3b|w3m|w3g|w3ggro|w3r|w3rm|w3rgro|w4|w6 N\n"
                        "       %s w3rsend PORT PID\n"
                        "       %s w5 N SERVER-COMMAND...\n"
                        "       %s w5serve\n", argv[0], argv[0], argv[0], argv[0]);
        return 2;
    }
    n = atol(argv[2]);
    if (!strcmp(argv[1], "w1")) secs = w1(n);
    else if (!strcmp(argv[1], "w2")) secs = w2(n);
    else if (!strcmp(argv[1], "w3")) secs = w3(n);
    else if (!strcmp(argv[1], "w3b")) secs = w3b(n);
    else if (!strcmp(argv[1], "w3m")) secs = w3m(n);
    else if (!strcmp(argv[1], "w3g")) secs = w3g(n);
    else if (!strcmp(argv[1], "w3ggro")) secs = w3ggro(n);
    else if (!strcmp(argv[1], "w3r")) secs = w3r(n);
    else if (!strcmp(argv[1], "w3rm")) secs = w3rm(n);
    else if (!strcmp(argv[1], "w3rgro")) secs = w3rgro(n);
    else if (!strcmp(argv[1], "w4")) secs = w4(n);
    else if (!strcmp(argv[1], "w6")) secs = w6(n);
    else {
        fprintf(stderr, "unknown workload %s\n", argv[1]);
        return 2;
    }
    printf("%.6f\n", secs);
    return 0;
}
