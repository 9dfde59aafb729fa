#!/usr/bin/perl
# perl_workloads.pl VARIANT WORKLOAD N
#
# The Perl side of bench/run.pl: runs N units of a workload through one
# variant and prints the seconds the loop took (set-up excluded).
#   VARIANT:  bsdsocket | bsdsocket1 | builtin | iosocket
#   WORKLOAD: w1 (1-byte round trips over a socketpair, one process)
#             w2 (N chunks of 64 KiB from a child over a socketpair)
#             w3 (64-byte UDP datagram round trips on 127.0.0.1)
#             w3b (batches of 32 such round trips, lock-step; variant
#                  bsdsocket1: BSDSocket one datagram per call)
#             w3r (receive N 1200-byte UDP datagrams from a C sender
#                  process, bench/build/c_workloads w3rsend, which run.pl
#                  builds; bsdsocket: recv_many, bsdsocket1: recvfrom)
#             w4 (connect + accept + close both on 127.0.0.1)
#             w6 (a line protocol, print and readline, over a socketpair)
# Every variant does the same work with its own calls; C and Python do it
# in bench/c_workloads.c and bench/py_workloads.py.
use strict;
use warnings;
use FindBin ();
use POSIX ();
use Time::HiRes qw(time);
use Socket qw(AF_UNIX AF_INET SOCK_STREAM SOCK_DGRAM SOL_SOCKET SO_REUSEADDR
              SO_RCVBUF SO_RCVBUFFORCE SO_RCVTIMEO
              MSG_NOSIGNAL INADDR_LOOPBACK pack_sockaddr_in unpack_sockaddr_in);
use IO::Socket::INET ();
use IO::Socket::UNIX ();
use BSDSocket ();

my ($variant, $workload, $n) = @ARGV;
die "usage: $0 bsdsocket|bsdsocket1|builtin|iosocket w1|w2|w3|w3b|w3r|w4|w6 N\n" unless $n;
my $code = main->can("${variant}_$workload") or die "no $variant $workload\n";
printf "%.6f\n", $code->($n);

use constant CHUNK => 65536;

# ------------------------------------------------------------------ W1

sub bsdsocket_w1 {
    my ($n) = @_;
    my ($a, $b) = BSDSocket::socketpair(AF_UNIX, SOCK_STREAM);
    my $buf;
    my $t0 = time;
    for (1 .. $n) {
        $a->send('x');
        $buf = $b->recv(64);
        $b->send('x');
        $buf = $a->recv(64);
    }
    return time - $t0;
}

sub builtin_w1 {
    my ($n) = @_;
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, 0) or die "socketpair: $!";
    my $buf;
    my $t0 = time;
    for (1 .. $n) {
        send($a, 'x', MSG_NOSIGNAL);
        recv($b, $buf, 64, 0);
        send($b, 'x', MSG_NOSIGNAL);
        recv($a, $buf, 64, 0);
    }
    return time - $t0;
}

sub iosocket_w1 {
    my ($n) = @_;
    my ($a, $b) = IO::Socket->socketpair(AF_UNIX, SOCK_STREAM, 0) or die "socketpair: $!";
    my $buf;
    my $t0 = time;
    for (1 .. $n) {
        $a->send('x', MSG_NOSIGNAL);
        $b->recv($buf, 64);
        $b->send('x', MSG_NOSIGNAL);
        $a->recv($buf, 64);
    }
    return time - $t0;
}

# ------------------------------------------------------------------ W2
# The child sends N chunks; the parent receives until EOF and is timed.

sub w2_run {
    my ($n, $make_pair, $sender, $receiver) = @_;
    my ($a, $b) = $make_pair->();
    my $t0 = time;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        undef $b;
        $sender->($a, $n);
        require POSIX;
        POSIX::_exit(0);
    }
    undef $a;
    my $total = $receiver->($b);
    waitpid $pid, 0;
    die "w2: got $total bytes\n" unless $total == $n * CHUNK;
    return time - $t0;
}

sub bsdsocket_w2 {
    my ($n) = @_;
    w2_run($n, sub { BSDSocket::socketpair(AF_UNIX, SOCK_STREAM) },
        sub {
            my ($s, $n) = @_;
            my $chunk = 'w' x CHUNK;
            for (1 .. $n) {
                my $off = 0;
                $off += $s->send($off ? substr($chunk, $off) : $chunk) while $off < CHUNK;
            }
        },
        sub {
            my ($s) = @_;
            my ($total, $data) = (0);
            $total += length $data while length($data = $s->recv(CHUNK));
            return $total;
        });
}

sub builtin_w2 {
    my ($n) = @_;
    w2_run($n, sub { socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, 0) or die $!; ($a, $b) },
        sub {
            my ($s, $n) = @_;
            my $chunk = 'w' x CHUNK;
            for (1 .. $n) {
                my $off = 0;
                $off += syswrite($s, $chunk, CHUNK - $off, $off) // die "syswrite: $!" while $off < CHUNK;
            }
        },
        sub {
            my ($s) = @_;
            my ($total, $got, $data) = (0);
            $total += $got while $got = sysread($s, $data, CHUNK);
            return $total;
        });
}

sub iosocket_w2 {
    my ($n) = @_;
    w2_run($n, sub { IO::Socket->socketpair(AF_UNIX, SOCK_STREAM, 0) },
        sub {
            my ($s, $n) = @_;
            my $chunk = 'w' x CHUNK;
            for (1 .. $n) {
                my $off = 0;
                $off += $s->syswrite($chunk, CHUNK - $off, $off) // die "syswrite: $!" while $off < CHUNK;
            }
        },
        sub {
            my ($s) = @_;
            my ($total, $got, $data) = (0);
            $total += $got while $got = $s->sysread($data, CHUNK);
            return $total;
        });
}

# ------------------------------------------------------------------ W3
# One process, two UDP sockets: a sends to b, b answers whoever sent.

sub bsdsocket_w3 {
    my ($n) = @_;
    my ($a, $b) = map {
        my $s = BSDSocket::socket(AF_INET, SOCK_DGRAM);
        $s->bind(['127.0.0.1', 0]);
        $s;
    } 1, 2;
    my $b_addr = $b->getsockname;
    my $msg = 'u' x 64;
    my ($data, $from);
    my $t0 = time;
    for (1 .. $n) {
        $a->sendto($msg, $b_addr);
        ($data, $from) = $b->recvfrom(64);
        $b->sendto($data, $from);
        ($data, $from) = $a->recvfrom(64);
    }
    return time - $t0;
}

sub builtin_w3 {
    my ($n) = @_;
    my ($a, $b) = map {
        socket(my $s, AF_INET, SOCK_DGRAM, 0) or die $!;
        bind($s, pack_sockaddr_in(0, INADDR_LOOPBACK)) or die $!;
        $s;
    } 1, 2;
    my $b_addr = getsockname($b);
    my $msg = 'u' x 64;
    my ($data, $from);
    my $t0 = time;
    for (1 .. $n) {
        send($a, $msg, 0, $b_addr);
        $from = recv($b, $data, 64, 0);
        send($b, $data, 0, $from);
        $from = recv($a, $data, 64, 0);
    }
    return time - $t0;
}

sub iosocket_w3 {
    my ($n) = @_;
    my ($a, $b) = map {
        IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1', LocalPort => 0) or die $@;
    } 1, 2;
    my $b_addr = $b->sockname;
    my $msg = 'u' x 64;
    my ($data, $from);
    my $t0 = time;
    for (1 .. $n) {
        $a->send($msg, 0, $b_addr);
        $from = $b->recv($data, 64);
        $b->send($data, 0, $from);
        $from = $a->recv($data, 64);
    }
    return time - $t0;
}

# ----------------------------------------------------------------- W3B
# W3 in lock-step batches of 32: a sends 32 datagrams to b, b sends each
# back to its sender, a takes all 32.  BSDSocket with send_many/recv_many
# (one system call a side per batch, GSO runs underneath), and the same
# batches one datagram per call through BSDSocket, the builtins and
# IO::Socket.

use constant BATCH => 32;

sub udp_pair_bsdsocket {
    return map {
        my $s = BSDSocket::socket(AF_INET, SOCK_DGRAM);
        $s->bind(['127.0.0.1', 0]);
        $s;
    } 1, 2;
}

sub bsdsocket_w3b {
    my ($n) = @_;
    my ($a, $b) = udp_pair_bsdsocket();
    # both ends take runs whole (UDP GRO), as send_many sends them (GSO)
    eval { $_->sockopt('UDP_GRO', 1) } for $a, $b;
    my $b_addr = $b->getsockname;
    my @batch = ('u' x 64) x BATCH;
    my $t0 = time;
    for (1 .. $n) {
        $a->send_many(\@batch, $b_addr) == BATCH or die "send_many: short";
        my @in = $b->recv_many(BATCH, 64);
        push @in, $b->recv_many(BATCH - @in, 64) while @in < BATCH;
        $b->send_many(\@in) == BATCH or die "send_many: short";
        my $got = () = $a->recv_many(BATCH, 64);
        $got += () = $a->recv_many(BATCH - $got, 64) while $got < BATCH;
    }
    return time - $t0;
}

sub bsdsocket1_w3b {
    my ($n) = @_;
    my ($a, $b) = udp_pair_bsdsocket();
    my $b_addr = $b->getsockname;
    my $msg = 'u' x 64;
    my (@data, @from, $data);
    my $t0 = time;
    for (1 .. $n) {
        $a->sendto($msg, $b_addr) for 1 .. BATCH;
        ($data[$_], $from[$_]) = $b->recvfrom(64) for 0 .. BATCH - 1;
        $b->sendto($data[$_], $from[$_]) for 0 .. BATCH - 1;
        $data = $a->recv(64) for 1 .. BATCH;
    }
    return time - $t0;
}

sub builtin_w3b {
    my ($n) = @_;
    my ($a, $b) = map {
        socket(my $s, AF_INET, SOCK_DGRAM, 0) or die $!;
        bind($s, pack_sockaddr_in(0, INADDR_LOOPBACK)) or die $!;
        $s;
    } 1, 2;
    my $b_addr = getsockname($b);
    my $msg = 'u' x 64;
    my (@data, @from, $data);
    my $t0 = time;
    for (1 .. $n) {
        send($a, $msg, 0, $b_addr) for 1 .. BATCH;
        $from[$_] = recv($b, $data[$_], 64, 0) for 0 .. BATCH - 1;
        send($b, $data[$_], 0, $from[$_]) for 0 .. BATCH - 1;
        recv($a, $data, 64, 0) for 1 .. BATCH;
    }
    return time - $t0;
}

sub iosocket_w3b {
    my ($n) = @_;
    my ($a, $b) = map {
        IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1', LocalPort => 0) or die $@;
    } 1, 2;
    my $b_addr = $b->sockname;
    my $msg = 'u' x 64;
    my (@data, @from, $data);
    my $t0 = time;
    for (1 .. $n) {
        $a->send($msg, 0, $b_addr) for 1 .. BATCH;
        $from[$_] = $b->recv($data[$_], 64) for 0 .. BATCH - 1;
        $b->send($data[$_], 0, $from[$_]) for 0 .. BATCH - 1;
        $a->recv($data, 64) for 1 .. BATCH;
    }
    return time - $t0;
}

# ----------------------------------------------------------------- W3R
# The receive side alone: a C sender process sends 1200-byte datagrams to
# the receiver's port as fast as UDP GSO lets it, and the receiver takes
# N of them, timed from the first.  UDP drops what the receiver cannot
# keep up with, so the rate is the receiver's while the sender stays
# ahead (bench/c_workloads.c says when it may not).  Every receiver, here
# and in C and Python, asks for a 4 MiB receive buffer (SO_RCVBUFFORCE,
# which root may set past net.core.rmem_max, else SO_RCVBUF; the kernel
# doubles it for its own overhead) and gives up after 10 s without a
# datagram (SO_RCVTIMEO: the kernel's, so no poll before every receive).

use constant { W3R_SIZE => 1200, W3R_RCVBUF => 4 << 20, W3R_WAIT => 10 };

my $w3r_sender;    # its pid, until it is stopped

sub w3r_start {
    my ($port) = @_;
    my $prog = "$FindBin::Bin/build/c_workloads";
    -x $prog or die "$prog: not built (bench/run.pl builds it)\n";
    my $parent = $$;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        exec $prog, 'w3rsend', $port, $parent;
        warn "exec $prog: $!\n";
        POSIX::_exit(1);
    }
    $w3r_sender = $pid;
}

sub w3r_stop {
    return unless $w3r_sender;
    kill KILL => $w3r_sender;
    waitpid $w3r_sender, 0;
    undef $w3r_sender;
}

# a receiver that dies still stops its sender (and one killed outright
# takes it along: the sender asks the kernel for that); keep the exit
# status the death set
END { local $?; w3r_stop() }

sub w3r_bad { die "w3r: a datagram of $_[0] bytes\n" }

sub w3r_bsdsocket {
    my $s = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $s->bind(['127.0.0.1', 0]);
    eval { $s->setsockopt(SOL_SOCKET, SO_RCVBUFFORCE, W3R_RCVBUF); 1 }
        or $s->setsockopt(SOL_SOCKET, SO_RCVBUF, W3R_RCVBUF);
    $s->setsockopt(SOL_SOCKET, SO_RCVTIMEO, pack('l!l!', W3R_WAIT, 0));
    w3r_start($s->getsockname->[1]);
    return $s;
}

sub bsdsocket_w3r {
    my ($n) = @_;
    my $s = w3r_bsdsocket();
    eval { $s->sockopt('UDP_GRO', 1) };   # (runs whole, as C GRO takes them)
    length $_->[0] == W3R_SIZE or w3r_bad(length $_->[0]) for $s->recv_many(64, 2048);
    my $got = 0;
    my $t0 = time;
    while ($got < $n) {
        my @in = $s->recv_many(64, 2048);
        length $_->[0] == W3R_SIZE or w3r_bad(length $_->[0]) for @in;
        $got += @in;
    }
    my $secs = time - $t0;
    w3r_stop();
    # the last call may take a few past N: the seconds N took at the rate
    # measured
    return $secs * $n / $got;
}

sub bsdsocket1_w3r {
    my ($n) = @_;
    my $s = w3r_bsdsocket();
    my ($data, $from) = $s->recvfrom(2048);
    length $data == W3R_SIZE or w3r_bad(length $data);
    my $t0 = time;
    for (1 .. $n) {
        ($data, $from) = $s->recvfrom(2048);
        length $data == W3R_SIZE or w3r_bad(length $data);
    }
    my $secs = time - $t0;
    w3r_stop();
    return $secs;
}

sub builtin_w3r {
    my ($n) = @_;
    socket(my $s, AF_INET, SOCK_DGRAM, 0) or die "socket: $!";
    bind($s, pack_sockaddr_in(0, INADDR_LOOPBACK)) or die "bind: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVBUFFORCE, W3R_RCVBUF)
        or setsockopt($s, SOL_SOCKET, SO_RCVBUF, W3R_RCVBUF) or die "SO_RCVBUF: $!";
    setsockopt($s, SOL_SOCKET, SO_RCVTIMEO, pack('l!l!', W3R_WAIT, 0)) or die "SO_RCVTIMEO: $!";
    w3r_start((unpack_sockaddr_in(getsockname($s)))[0]);
    my ($data, $from);
    defined($from = recv($s, $data, 2048, 0)) or die "recv: $!";
    length $data == W3R_SIZE or w3r_bad(length $data);
    my $t0 = time;
    for (1 .. $n) {
        defined($from = recv($s, $data, 2048, 0)) or die "recv: $!";
        length $data == W3R_SIZE or w3r_bad(length $data);
    }
    my $secs = time - $t0;
    w3r_stop();
    return $secs;
}

# ------------------------------------------------------------------ W4

sub bsdsocket_w4 {
    my ($n) = @_;
    my $l = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $l->setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    $l->bind(['127.0.0.1', 0]);
    $l->listen(128);
    my $addr = $l->getsockname;
    my $t0 = time;
    for (1 .. $n) {
        my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
        $c->connect($addr);
        my $s = $l->accept;
        $c->close;
        $s->close;
    }
    return time - $t0;
}

sub builtin_w4 {
    my ($n) = @_;
    socket(my $l, AF_INET, SOCK_STREAM, 0) or die $!;
    setsockopt($l, SOL_SOCKET, SO_REUSEADDR, 1) or die $!;
    bind($l, pack_sockaddr_in(0, INADDR_LOOPBACK)) or die $!;
    listen($l, 128) or die $!;
    my $addr = getsockname($l);
    my $t0 = time;
    for (1 .. $n) {
        socket(my $c, AF_INET, SOCK_STREAM, 0) or die $!;
        connect($c, $addr) or die "connect: $!";
        accept(my $s, $l) or die "accept: $!";
        close $c;
        close $s;
    }
    return time - $t0;
}

sub iosocket_w4 {
    my ($n) = @_;
    my $l = IO::Socket::INET->new(Listen => 128, LocalAddr => '127.0.0.1', LocalPort => 0,
                                  ReuseAddr => 1) or die $@;
    my ($host, $port) = ($l->sockhost, $l->sockport);
    my $t0 = time;
    for (1 .. $n) {
        my $c = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port) or die $@;
        my $s = $l->accept;
        $c->close;
        $s->close;
    }
    return time - $t0;
}

# ------------------------------------------------------------------ W6

# (the same loop, timed, for BSDSocket's handles and perl's own)
sub print_readline_w6 {
    my ($a, $b, $n) = @_;
    my $line;
    my $t0 = time;
    for (1 .. $n) {
        print {$a} "ping\n";
        $line = <$b>;
        print {$b} "pong\n";
        $line = <$a>;
    }
    return time - $t0;
}

sub bsdsocket_w6 {
    my ($n) = @_;
    my ($a, $b) = BSDSocket::socketpair(AF_UNIX, SOCK_STREAM);   # autoflushed
    return print_readline_w6($a, $b, $n);
}

sub builtin_w6 {
    my ($n) = @_;
    socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, 0) or die "socketpair: $!";
    $_->autoflush(1) for $a, $b;
    return print_readline_w6($a, $b, $n);
}

sub iosocket_w6 {
    my ($n) = @_;
    my ($a, $b) = IO::Socket->socketpair(AF_UNIX, SOCK_STREAM, 0) or die "socketpair: $!";
    $_->autoflush(1) for $a, $b;
    my $line;
    my $t0 = time;
    for (1 .. $n) {
        $a->print("ping\n");
        $line = $b->getline;
        $b->print("pong\n");
        $line = $a->getline;
    }
    return time - $t0;
}
