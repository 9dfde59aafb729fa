use strict;
use warnings;
use Test::More;

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# Name lookups with a deadline: against a DNS server that never answers.
# The test's child runs in a mount namespace of its own (unshare -m, as
# root) whose resolv.conf names 127.0.0.2, where the child binds a UDP
# socket that takes the queries and never replies, and whose
# nsswitch.conf asks DNS only.  Nothing leaves the machine.

guard_alarm(120);

my ($unshare, $sh) = (have_program('unshare'), have_program('sh'));
plan skip_all => 'no unshare for a private resolv.conf' unless $unshare && $sh;
plan skip_all => 'cannot make a mount namespace here (needs root)'
    unless system("$unshare -m $sh -c 'mount --bind /dev/null /dev/null' >/dev/null 2>&1") == 0;

# numeric hosts never need the resolver, nor a thread
{
    my @r = BSDSocket::getaddrinfo('127.0.0.1', 80, AF_INET, SOCK_STREAM, 0, 0, 0);
    is($r[0][4][0], '127.0.0.1', 'a numeric host with a timeout of 0: no lookup to wait for');
    ok(BSDSocket::deadline(0, sub { BSDSocket::getaddrinfo('::1', 80, AF_INET6) }),
       '... nor inside a deadline of 0');
}

my $dir = temp_dir();
{
    open my $conf, '>', "$dir/resolv.conf" or die $!;
    print {$conf} "nameserver 127.0.0.2\noptions timeout:2 attempts:1\n";
    close $conf;
    open my $ns, '>', "$dir/nsswitch.conf" or die $!;
    print {$ns} "hosts: dns\n";
    close $ns;
}

my $child = <<'PERL';
use strict; use warnings;
use BSDSocket qw(:all);
use Time::HiRes qw(time sleep);
$| = 1;
my $dns = BSDSocket::socket(AF_INET, SOCK_DGRAM);
eval { $dns->bind(['127.0.0.2', 53]); 1 } or do { print "skip=cannot bind 127.0.0.2:53: $@"; exit 0 };
my $name = 'nobody-answers.test';
sub timed {
    my ($code) = @_;
    my $t0 = time;
    my $e = eval { $code->(); 1 } ? 'lived' : $@;
    return (sprintf('%.3f', time - $t0), ref $e ? ref($e) . '/' . $e->op : $e =~ s/\n//r);
}
sub fds { opendir my $d, '/proc/self/fd' or return -1; my $n = () = grep { /^\d/ } readdir $d; $n }
sub rss { open my $fh, '<', '/proc/self/status' or return 0; while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/ } 0 }
sub drain { 1 while eval { $dns->recv(512, MSG_DONTWAIT); 1 } }

my ($t, $e) = timed(sub { BSDSocket::getaddrinfo($name, 80, 0, SOCK_STREAM, 0, 0, 0.4) });
print "gai=$t $e\n";
($t, $e) = timed(sub { BSDSocket::create_connection([$name, 80], 0.5) });
print "cc=$t $e\n";
my $s = BSDSocket::socket(AF_INET, SOCK_STREAM);
$s->settimeout(0.3);
($t, $e) = timed(sub { $s->connect([$name, 80]) });
print "connect=$t $e\n";
($t, $e) = timed(sub { BSDSocket::deadline(0.3, sub { BSDSocket::socket(AF_INET, SOCK_DGRAM)->sendto('x', [$name, 9]) }) });
print "deadline=$t $e\n";
{
    local $SIG{ALRM} = sub { die "alarm\n" };
    ($t, $e) = timed(sub { Time::HiRes::alarm(0.3); BSDSocket::getaddrinfo($name, 80); Time::HiRes::alarm(0) });
    Time::HiRes::alarm(0);
    print "alarm=$t $e\n";
}
sleep 2.5;                                  # (the lookups above end)
drain();
my $fds = fds();
eval { BSDSocket::getaddrinfo($name, 80, 0, 0, 0, 0, 0.01) } for 1 .. 50;
print "fds_during=", fds(), "\n";
sleep 2.5;
drain();
print "fds_before=$fds\nfds_after=", fds(), "\n";
eval { BSDSocket::getaddrinfo($name, 80, 0, 0, 0, 0, 0.001) } for 1 .. 100;   # warm up
sleep 2.5;
drain();
my $rss = rss();
for (1 .. 10) {
    eval { BSDSocket::getaddrinfo($name, 80, 0, 0, 0, 0, 0.001) } for 1 .. 100;
    sleep 0.3;
    drain();
}
sleep 2.5;
drain();
print "rss_before=$rss\nrss_after=", rss(), "\n";
PERL

open my $out, '-|', $unshare, '-m', $sh, '-c',
    'mount --bind "$1/resolv.conf" /etc/resolv.conf && mount --bind "$1/nsswitch.conf" /etc/nsswitch.conf && shift && exec "$@"',
    'sh', $dir, perl_cmd('-e', $child) or die "unshare: $!";
my %r = map { /^(\w+)=(.*)$/ ? ($1, $2) : () } <$out>;
close $out;
plan skip_all => $r{skip} if $r{skip};
plan skip_all => "the mount namespace did not work here: $?" unless defined $r{gai};

my $slow = $ENV{BSD_TEST_SLOW_TOOL} ? 3 : 1;
sub within {
    my ($key, $budget, $what, $name) = @_;
    my ($took, $err) = split ' ', $r{$key}, 2;
    is($err, $what, "$name: dies $what");
    ok($took >= $budget - 0.05 && $took < $budget + 0.5 * $slow,
       "... within 0.5 s of its $budget s budget ($took s)");
}
within(gai => 0.4, 'BSDSocket::Error::Timeout/getaddrinfo', 'getaddrinfo with a 0.4 s timeout');
within(cc => 0.5, 'BSDSocket::Error::Timeout/getaddrinfo', 'create_connection with 0.5 s');
within(connect => 0.3, 'BSDSocket::Error::Timeout/getaddrinfo', 'connect on a socket with timeout 0.3');
within(deadline => 0.3, 'BSDSocket::Error::Timeout/getaddrinfo', 'sendto inside a deadline of 0.3');
within(alarm => 0.3, 'alarm', 'a dying alarm handler interrupts a lookup with no timeout');
is($r{fds_after}, $r{fds_before}, "50 abandoned lookups leave the fd count as it was ($r{fds_before})");
cmp_ok($r{fds_during}, '>', $r{fds_before}, '... while they ran, they held their pipes');
SKIP: {
    skip 'RSS means nothing under AddressSanitizer or valgrind', 1
        if $ENV{BSD_SANITIZER_LOG_DIR} || $ENV{BSD_TEST_SLOW_TOOL};
    my $growth = $r{rss_after} - $r{rss_before};
    cmp_ok($growth, '<', 2048, "1000 abandoned lookups: RSS $r{rss_before} -> $r{rss_after} KiB");
}

done_testing;
