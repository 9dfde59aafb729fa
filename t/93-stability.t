use strict;
use warnings;
use Test::More;
use Errno qw(EADDRINUSE EAFNOSUPPORT EAGAIN ECONNREFUSED EINVAL ENOTSOCK EOPNOTSUPP);
use POSIX ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# Nothing accumulates: the fd count is the same after 1000 cycles of each
# kind of create/fail/close, and the process's memory stays flat over
# 200000 round trips once it has warmed up.  (Under valgrind, where
# xt/valgrind.sh sets BSD_TEST_SLOW_TOOL, a tenth of that.)

guard_alarm(300);
my $dir = temp_dir();
my $listener = tcp_listener();
my $l_addr = $listener->getsockname;
my $dead_port = do {
    my $t = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $t->bind(['127.0.0.1', 0]);
    $t->getsockname->[1];
};
open my $file, '<', $0 or die $!;
my $nb_listener = tcp_listener();
$nb_listener->settimeout(0);
my $nb_addr = $nb_listener->getsockname;
my ($pair_a, $pair_b) = BSDSocket::socketpair();
# An IPv6 socket goes out of scope where the kernel has IPv6; the family
# is incidental, so a kernel without it uses IPv4.
my $family6 = BSDSocket::has_ipv6() ? AF_INET6 : AF_INET;

# The block must fail with this errno; anything else stops that kind's
# cycles, and its test fails.
sub fails(&$) {
    my ($code, $errno) = @_;
    eval { $code->(); 1 } and die "it worked, and was meant to fail\n";
    my $e = $@;
    ref $e && eval { $e->isa('BSDSocket::Error') } && ($e->errno // -1) == $errno
        or die "expected errno $errno, got: $e";
}

my $slow = $ENV{BSD_TEST_SLOW_TOOL} ? 10 : 1;
my $cycles = 1000 / $slow;
my %cycle = (
    'socket + close'        => sub { BSDSocket::socket(AF_INET, SOCK_STREAM)->close },
    'socket out of scope'   => sub { my $s = BSDSocket::socket($family6, SOCK_DGRAM) },
    'socket fails'          => sub { fails { BSDSocket::socket(12345, SOCK_STREAM) } EAFNOSUPPORT },
    'socketpair'            => sub { my ($a, $b) = BSDSocket::socketpair() },
    'socketpair fails'      => sub { fails { my @p = BSDSocket::socketpair(AF_INET) } EOPNOTSUPP },
    'connect + accept'      => sub {
        my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
        $c->connect($l_addr);
        my $s = $listener->accept;
        $s->close;
    },
    'accept would block'    => sub { fails { my ($s, $peer) = $nb_listener->accept } EAGAIN },
    'non-blocking accept + close' => sub {
        my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
        $c->connect($nb_addr);
        BSDSocket::select([$nb_listener], [], [], 5);
        my ($s, $peer) = $nb_listener->accept;
        $s->close;
        $c->close;
    },
    'connect refused'       => sub {
        fails { BSDSocket::socket(AF_INET, SOCK_STREAM)->connect(['127.0.0.1', $dead_port]) } ECONNREFUSED;
    },
    'create_connection + close' => sub {
        BSDSocket::create_connection($l_addr, 5)->close;
        $listener->accept->close;
    },
    'create_server + close' => sub { BSDSocket::create_server(['127.0.0.1', 0])->close },
    'dup + close'           => sub { $listener->dup->close },
    'detach + POSIX::close' => sub {
        my $fd = BSDSocket::socket(AF_INET, SOCK_STREAM)->detach;
        POSIX::close($fd) or die "POSIX::close($fd): $!\n";
    },
    'fromfd'                => sub { my $s = BSDSocket::fromfd($listener) },
    'fromfd not a socket'   => sub { fails { BSDSocket::fromfd($file) } ENOTSOCK },
    'makefile + close'      => sub { my $fh = $listener->makefile('r'); close $fh },
    'makefile out of scope' => sub { my $fh = $listener->makefile('rw') },
    'makefile bad mode'     => sub { fails { $listener->makefile('q') } EINVAL },
    'bind fails'            => sub { fails { BSDSocket::socket(AF_INET, SOCK_STREAM)->bind($l_addr) } EADDRINUSE },
    'bad address'           => sub { fails { BSDSocket::socket(AF_UNIX, SOCK_STREAM)->connect('x' x 200) } EINVAL },
    'recv would block'      => sub {
        my ($a, $b) = nonblocking(BSDSocket::socketpair(AF_UNIX, SOCK_STREAM));
        fails { $a->recv(10) } EAGAIN;
    },
    'send_fds + recv_fds'   => sub {
        pipe(my $r, my $w) or die "pipe: $!\n";
        $pair_a->send_fds(['fd'], [$r, $w]);
        my ($d, $handles) = $pair_b->recv_fds(10, 2);
        @$handles == 2 or die "got " . @$handles . " handles, sent 2\n";
        close $_ for @$handles;
    },
    'Poller->new + close (poll)' => sub {
        my $p = BSDSocket::Poller->new(backend => 'poll'); $p->register($pair_a, POLLIN); $p->close;
    },
    'unix bind + close'     => sub {
        my $s = BSDSocket::socket(AF_UNIX, SOCK_STREAM);
        $s->bind("$dir/cycle");
        $s->close;
        unlink "$dir/cycle";
    },
);
# (epoll only where the build has it)
$cycle{'Poller->new + close (epoll)'} = sub {
    my $p = BSDSocket::Poller->new(backend => 'epoll'); $p->register($pair_a, POLLIN); $p->close;
} if platform_has('epoll');
for my $name (sort keys %cycle) {
    my $code = $cycle{$name};
    my $before;
    my $ran = eval {
        $code->() for 1 .. 10;         # warm up
        $before = open_fds();
        $code->() for 1 .. $cycles;
        1;
    };
    is($ran ? open_fds() : "died: $@", $before, "fd count unchanged after $cycles cycles: $name");
}

# memory over 200000 round trips
sub rss_kib {
    open my $fh, '<', '/proc/self/status' or return;
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)\s+kB/ }
    return;
}
SKIP: {
    skip 'no /proc/self/status', 2 unless defined rss_kib();
    # ASan and valgrind hold freed memory back in quarantine: RSS grows by design
    skip 'RSS means nothing under AddressSanitizer', 2 if $ENV{BSD_SANITIZER_LOG_DIR};
    skip 'RSS means nothing under valgrind', 2 if $ENV{BSD_TEST_SLOW_TOOL};
    my ($a, $b) = BSDSocket::socketpair();
    my ($u, $v) = udp_pair();
    my $v_addr = $v->getsockname;
    my $round = sub {
        for (1 .. $_[0]) {
            $a->send('ping');
            my $x = $b->recv(64);
            $u->sendto('dgram', $v_addr);
            my ($d, $from) = $v->recvfrom(64);
            $v->sendto($d, $from);
            my @back = $u->recvfrom(64);
            my $e = eval { BSDSocket::socket(-1, -1) } ? undef : $@;
        }
    };
    my $trips = 200_000 / $slow;
    $round->($trips / 10);             # warm-up
    my $before = rss_kib();
    $round->($trips);
    my $after = rss_kib();
    my $growth = $after - $before;
    cmp_ok($growth, '<', 1024, "RSS flat over $trips round trips ($before KiB -> $after KiB)");
    ok($after > 0, 'measured');
}

done_testing;
