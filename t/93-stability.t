use strict;
use warnings;
use Test::More;

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

my $slow = $ENV{BSD_TEST_SLOW_TOOL} ? 10 : 1;
my $cycles = 1000 / $slow;
my %cycle = (
    'socket + close'        => sub { BSDSocket::socket(AF_INET, SOCK_STREAM)->close },
    'socket out of scope'   => sub { my $s = BSDSocket::socket(AF_INET6, SOCK_DGRAM) },
    'socket fails'          => sub { eval { BSDSocket::socket(12345, SOCK_STREAM) } },
    'socketpair'            => sub { my ($a, $b) = BSDSocket::socketpair() },
    'connect + accept'      => sub {
        my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
        $c->connect($l_addr);
        my $s = $listener->accept;
        $s->close;
    },
    'connect refused'       => sub { eval { BSDSocket::socket(AF_INET, SOCK_STREAM)->connect(['127.0.0.1', $dead_port]) } },
    'fromfd'                => sub { my $s = BSDSocket::fromfd($listener) },
    'fromfd not a socket'   => sub { eval { BSDSocket::fromfd($file) } },
    'makefile + close'      => sub { my $fh = $listener->makefile('r'); close $fh },
    'makefile out of scope' => sub { my $fh = $listener->makefile('rw') },
    'makefile bad mode'     => sub { eval { $listener->makefile('q') } },
    'bind fails'            => sub { eval { BSDSocket::socket(AF_INET, SOCK_STREAM)->bind($l_addr) } },
    'bad address'           => sub { eval { BSDSocket::socket(AF_UNIX, SOCK_STREAM)->connect('x' x 200) } },
    'recv would block'      => sub {
        my ($a, $b) = BSDSocket::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK);
        eval { $a->recv(10) };
    },
    'unix bind + close'     => sub {
        my $s = BSDSocket::socket(AF_UNIX, SOCK_STREAM);
        $s->bind("$dir/cycle");
        $s->close;
        unlink "$dir/cycle";
    },
);
for my $name (sort keys %cycle) {
    my $code = $cycle{$name};
    $code->() for 1 .. 10;             # warm up
    my $before = open_fds();
    $code->() for 1 .. $cycles;
    is(open_fds(), $before, "fd count unchanged after $cycles cycles: $name");
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
