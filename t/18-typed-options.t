use strict;
use warnings;
use Test::More;
use Errno qw(EINVAL ENOSYS ENODEV ENOENT);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# sockopt: options by name, with values in Perl form; keepalive.

guard_alarm(60);
my ($l, $c, $s) = tcp_pair();
sub have { defined eval { BSDSocket->can($_[0])->() } }

# integer options by name, and by number (a SOL_SOCKET option)
is($c->sockopt('SO_TYPE'), SOCK_STREAM, 'SO_TYPE by name');
is($c->sockopt(SO_TYPE), SOCK_STREAM, '... and by number, as a SOL_SOCKET option');
is($c->sockopt('TCP_NODELAY'), 0, 'TCP_NODELAY is off');
$c->sockopt(TCP_NODELAY => 1);
ok($c->sockopt('TCP_NODELAY'), '... and on once set (an IPPROTO_TCP option by its prefix)');
is($c->getsockopt(IPPROTO_TCP, TCP_NODELAY), $c->sockopt('TCP_NODELAY'), '... as getsockopt says');
$c->sockopt(SO_RCVBUF, 65536);
cmp_ok($c->sockopt('SO_RCVBUF'), '>=', 65536, 'SO_RCVBUF by number, set and read');
{
    my ($u, $v) = udp_pair();
    $u->sockopt(IP_TTL => 7);
    is($u->sockopt('IP_TTL'), 7, 'IP_TTL: an IPPROTO_IP option');
  SKIP: {
        skip 'no IPv6 here', 1 unless eval { BSDSocket::socket(AF_INET6, SOCK_DGRAM)->bind(['::1', 0]); 1 };
        my $six = BSDSocket::socket(AF_INET6, SOCK_DGRAM);
        $six->sockopt(IPV6_V6ONLY => 1);
        is($six->sockopt('IPV6_V6ONLY'), 1, 'IPV6_V6ONLY: an IPPROTO_IPV6 option');
    }
}

# the typed ones
is_deeply($c->sockopt('SO_LINGER'), [0, 0], 'SO_LINGER: [on, seconds], off');
$c->sockopt(SO_LINGER => [1, 5]);
is_deeply($c->sockopt('SO_LINGER'), [1, 5], '... set to [1, 5]');
$c->sockopt(SO_LINGER => [0, 0]);
is($c->sockopt('SO_LINGER')->[0], 0, '... and off again (Linux keeps the seconds)');
for my $name (qw(SO_RCVTIMEO SO_SNDTIMEO)) {
    is($c->sockopt($name), 0, "$name: 0, none");
    $c->sockopt($name => 1.5);
    is($c->sockopt($name), 1.5, "... 1.5 seconds");
    $c->sockopt($name => undef);
    is($c->sockopt($name), 0, "... undef is none again");
}
SKIP: {
    skip 'no TCP_CONGESTION here', 2 unless have('TCP_CONGESTION');
    my $algorithm = $c->sockopt('TCP_CONGESTION');
    like($algorithm, qr/^\w+$/, "TCP_CONGESTION: a name ($algorithm)");
    $c->sockopt(TCP_CONGESTION => $algorithm);
    is($c->sockopt('TCP_CONGESTION'), $algorithm, '... set back to it');
}
SKIP: {
    skip 'no SO_BINDTODEVICE here', 3 unless have('SO_BINDTODEVICE') && $> == 0;
    my ($lo) = grep { $_->[1] =~ /^lo\d*$/ } BSDSocket::if_nameindex();
    my $u = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $u->sockopt(SO_BINDTODEVICE => $lo->[1]);
    is($u->sockopt('SO_BINDTODEVICE'), $lo->[1], "SO_BINDTODEVICE: bound to $lo->[1]");
    $u->sockopt(SO_BINDTODEVICE => '');
    is($u->sockopt('SO_BINDTODEVICE'), '', '... and unbound with ""');
    dies_with(sub { $u->sockopt(SO_BINDTODEVICE => 'nosuchdev0') }, op => 'sockopt', errno => ENODEV,
              name => '... a device that is not there dies ENODEV');
}
SKIP: {
    skip 'SO_PEERCRED is read on Linux only', 2 unless platform_has('linux_cmsg');
    my ($a, $b) = BSDSocket::socketpair();
    is_deeply($a->sockopt('SO_PEERCRED'), [$$, $>, (split ' ', $))[0]], 'SO_PEERCRED: [pid, uid, gid] of the peer');
    dies_with(sub { $a->sockopt(SO_PEERCRED => [1, 2, 3]) }, op => 'sockopt', errno => EINVAL,
              message => qr/SO_PEERCRED can only be read/, name => '... which cannot be set');
}
SKIP: {
    skip "TCP_INFO is decoded for Linux's layout only", 4 unless platform_has('linux_tcp_info');
    $c->send('x' x 1000);
    $s->recv(1000);
    my $info = $c->sockopt('TCP_INFO');
    is(ref $info, 'HASH', 'TCP_INFO: a hash');
    is($info->{state}, 1, '... state 1 (established)');
    ok(!grep({ !exists $info->{$_} } qw(rtt rttvar snd_cwnd retransmits total_retrans rcv_space)),
       '... with rtt, rttvar, snd_cwnd, retransmits, total_retrans, rcv_space');
    dies_with(sub { $c->sockopt(TCP_INFO => {}) }, op => 'sockopt', errno => EINVAL,
              message => qr/TCP_INFO can only be read/, name => '... which cannot be set');
}

# multicast memberships, on loopback: a datagram to the group arrives
# while the socket is a member, and not once it has left
{
    my ($lo) = grep { $_->[1] =~ /^lo\d*$/ } BSDSocket::if_nameindex();
    my $group = '239.255.42.' . (1 + $$ % 200);
    my $rx = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    # (Linux's IP_MULTICAST_ALL would deliver a group another process on
    # the host joined, member or not)
    $rx->sockopt(IP_MULTICAST_ALL => 0) if have('IP_MULTICAST_ALL');
    $rx->bind(['0.0.0.0', 0]);
    my $port = $rx->getsockname->[1];
    my $tx = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $tx->setsockopt(IPPROTO_IP, IP_MULTICAST_IF, BSDSocket::inet_aton('127.0.0.1'));
    $rx->settimeout(0.3);
    my $arrives = sub {
        my ($what) = @_;
        $tx->sendto($what, [$group, $port]);
        my $got = eval { $rx->recv(100) };
        return defined $got && $got eq $what;
    };
    for my $interface ('127.0.0.1', $lo->[1], $lo->[0]) {
        $rx->sockopt(IP_ADD_MEMBERSHIP => [$group, $interface]);
        ok($arrives->("in by $interface"), "IP_ADD_MEMBERSHIP [$group, '$interface']: the group's datagrams arrive");
        $rx->sockopt(IP_DROP_MEMBERSHIP => [$group, $interface]);
        ok(!$arrives->("out by $interface"), "... and IP_DROP_MEMBERSHIP stops them");
    }
  SKIP: {
        skip 'no source-specific multicast here', 3 unless have('IP_ADD_SOURCE_MEMBERSHIP');
        $rx->sockopt(IP_ADD_SOURCE_MEMBERSHIP => [$group, '127.0.0.2', '127.0.0.1']);
        ok(!$arrives->('from another source'), 'IP_ADD_SOURCE_MEMBERSHIP for another source: nothing from us');
        $rx->sockopt(IP_DROP_SOURCE_MEMBERSHIP => [$group, '127.0.0.2', '127.0.0.1']);
        $rx->sockopt(IP_ADD_SOURCE_MEMBERSHIP => [$group, '127.0.0.1', $lo->[1]]);
        ok($arrives->('from us'), '... and for our own source (the interface by name): ours arrive');
        $rx->sockopt(IP_DROP_SOURCE_MEMBERSHIP => [$group, '127.0.0.1', $lo->[1]]);
        ok(!$arrives->('gone'), '... until it is dropped');
    }
    dies_with(sub { $rx->sockopt('IP_ADD_MEMBERSHIP') }, op => 'sockopt', errno => EINVAL,
              message => qr/IP_ADD_MEMBERSHIP can only be set/, name => 'a membership cannot be read');
    for my $bad ('239.1.1.1', [], ['not.an.address', '127.0.0.1'], ['example.com', 0],
                 [$group, '127.0.0.1', 'extra'], [$group, "lo\0"], [$group, 'nosuchif0'],
                 [$group, -1], [$group, {}]) {
        my $shown = ref $bad ? '[' . join(', ', map { defined $_ ? ref $_ || "'$_'" : 'undef' } @$bad) . ']' : "'$bad'";
        $shown =~ s/\0/\\0/g;
        dies_with(sub { $rx->sockopt(IP_ADD_MEMBERSHIP => $bad) }, op => 'sockopt',
                  errno => [EINVAL, ENODEV], name => "IP_ADD_MEMBERSHIP $shown dies");
    }
    dies_with(sub { $rx->sockopt(IP_ADD_SOURCE_MEMBERSHIP => [$group]) }, op => 'sockopt', errno => EINVAL,
              message => qr/takes \[\$group, \$source, \$interface\]/, name => 'a source membership without a source dies')
        if have('IP_ADD_SOURCE_MEMBERSHIP');
}
SKIP: {
    skip 'no IPv6 here', 3 unless eval { BSDSocket::socket(AF_INET6, SOCK_DGRAM)->bind(['::1', 0]); 1 };
    my ($lo) = grep { $_->[1] =~ /^lo\d*$/ } BSDSocket::if_nameindex();
    my $six = BSDSocket::socket(AF_INET6, SOCK_DGRAM);
    $six->bind(['::', 0]);
    ok(eval { $six->sockopt(IPV6_JOIN_GROUP => ['ff15::4242', $lo->[1]]); 1 }, 'IPV6_JOIN_GROUP [group, name]')
        or diag $@;
    ok(eval { $six->sockopt(IPV6_LEAVE_GROUP => ['ff15::4242', $lo->[0]]); 1 }, 'IPV6_LEAVE_GROUP [group, index]')
        or diag $@;
    dies_with(sub { $six->sockopt(IPV6_JOIN_GROUP => ['239.1.1.1', $lo->[0]]) }, op => 'sockopt', errno => EINVAL,
              message => qr/the group must be an IPv6 address/, name => 'an IPv4 group for IPv6 dies EINVAL');
}

# values whose tie runs code that frees the array being read
{
    package FreeingArray;
    sub TIEARRAY  { bless [$_[1], $_[2]], $_[0] }
    sub FETCHSIZE { scalar @{ $_[0][1] } }
    sub FETCH     { my ($self, $i) = @_; ${ $self->[0] } = undef; $self->[1][$i] }
}
my $member = BSDSocket::socket(AF_INET, SOCK_DGRAM);
for my $case ([SO_LINGER => [1, 2]], [IP_ADD_MEMBERSHIP => ['239.255.0.8', '127.0.0.1']],
              [IP_DROP_MEMBERSHIP => ['239.255.0.8', '127.0.0.1']]) {
    my ($name, $parts) = @$case;
    our $only_ref;                          # (the array's one reference)
    $only_ref = do { tie my @t, 'FreeingArray', \$only_ref, $parts; \@t };
    ok(eval { $member->sockopt($name => $only_ref); 1 },
       "$name from an array whose FETCH drops the last reference to it") or diag $@;
}
is_deeply($c->sockopt(SO_LINGER), $c->sockopt('SO_LINGER'), 'a number for SO_LINGER gives its Perl form too');
dies_with(sub { $c->sockopt('SO_RCVTIMEO_NEW') }, op => 'sockopt', errno => EINVAL,
          message => qr/structure, not an integer: read it with getsockopt/,
          name => 'an option that is a structure the table lacks dies, never read as an int')
    if have('SO_RCVTIMEO_NEW') && have('SO_RCVTIMEO_OLD') && SO_RCVTIMEO_NEW() != SO_RCVTIMEO_OLD();
{
    no warnings 'redefine';
    local *BSDSocket::SO_TYPE = sub () { 7 };
    is($c->sockopt('SO_TYPE'), SOCK_STREAM, 'a redefined constant sub does not change what a name means');
}
$c->sockopt(SO_RCVTIMEO => 1e-7);
ok($c->sockopt('SO_RCVTIMEO') > 0, 'a timeout too small for a timeval is the smallest one, not none');
$c->sockopt(SO_RCVTIMEO => 0);

# bad names and values
dies_with(sub { $c->sockopt('SO_NOPE') }, op => 'sockopt', errno => EINVAL,
          message => qr/unknown socket option "SO_NOPE"/, name => 'an unknown name dies EINVAL');
dies_with(sub { $c->sockopt('MSG_PEEK') }, op => 'sockopt', errno => EINVAL,
          name => 'a constant that is no option dies EINVAL');
dies_with(sub { $c->sockopt('IP_PMTUDISC_DO') }, op => 'sockopt', errno => EINVAL,
          name => '... nor is a value under an option prefix');
dies_with(sub { $c->sockopt(undef) }, op => 'sockopt', errno => EINVAL,
          message => qr/option name must be a string/, name => 'undef for a name dies EINVAL');
dies_with(sub { $c->sockopt("SO_TYPE\0x") }, op => 'sockopt', errno => EINVAL,
          name => 'a NUL inside a name dies EINVAL');
dies_with(sub { $c->sockopt(-1) }, op => 'sockopt', errno => EINVAL, name => 'a negative number dies EINVAL');
my ($missing) = grep { !have($_) } qw(SO_NOSIGPIPE SO_BINDTODEVICE TCP_KEEPIDLE);
SKIP: {
    skip 'every option named here exists on this platform', 1 unless $missing;
    dies_with(sub { $c->sockopt($missing) }, op => 'sockopt', errno => ENOSYS,
              message => qr/\Q$missing\E is not available on this platform/,
              name => "$missing, which this platform lacks, dies ENOSYS");
}
dies_with(sub { $c->sockopt(TCP_NODELAY => 'yes') }, op => 'sockopt', errno => EINVAL,
          name => 'a string for an integer option dies EINVAL');
dies_with(sub { $c->sockopt(TCP_NODELAY => 2**40) }, op => 'sockopt', errno => EINVAL,
          name => 'an integer out of range dies EINVAL');
for my $bad (5, [1], [1, 2, 3], {}, [1, -1], [1, 'x']) {
    dies_with(sub { $c->sockopt(SO_LINGER => $bad) }, op => 'sockopt', errno => EINVAL,
              name => 'SO_LINGER: ' . (ref $bad eq 'ARRAY' ? "[@$bad]" : ref $bad || $bad) . ' dies EINVAL');
}
for my $bad (-1, 'x', [], 2**40) {
    dies_with(sub { $c->sockopt(SO_RCVTIMEO => $bad) }, op => 'sockopt', errno => EINVAL,
              name => "SO_RCVTIMEO: " . (ref $bad || $bad) . ' dies EINVAL');
}
SKIP: {
    skip 'no TCP_CONGESTION here', 2 unless have('TCP_CONGESTION');
    dies_with(sub { $c->sockopt(TCP_CONGESTION => 'x' x 16) }, op => 'sockopt', errno => EINVAL,
              message => qr/TCP_CONGESTION is at most 15 bytes/, name => 'TCP_CONGESTION: 16 bytes die EINVAL, never cut short');
    dies_with(sub { $c->sockopt(TCP_CONGESTION => 'nosuchalgo') }, op => 'sockopt', errno => ENOENT,
              name => '... an algorithm the kernel lacks dies ENOENT');
}
dies_with(sub { $c->sockopt('SO_TYPE', 1, 2) }, errno => EINVAL, message => qr/^Usage: /,
          name => 'three arguments die with the usage');
{
    my $closed = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $closed->close;
    dies_with(sub { $closed->sockopt('SO_TYPE') }, op => 'sockopt', errno => Errno::EBADF(),
              name => 'a closed socket dies EBADF');
}

# keepalive
{
    my $k = BSDSocket::socket(AF_INET, SOCK_STREAM);
    is($k->keepalive(idle => 30, interval => 5, count => 4), undef, 'keepalive(idle, interval, count)');
    ok($k->sockopt('SO_KEEPALIVE'), '... turns SO_KEEPALIVE on');
    my $idle = have('TCP_KEEPIDLE') ? 'TCP_KEEPIDLE' : 'TCP_KEEPALIVE';
    is($k->sockopt($idle), 30, "... $idle 30");
    is($k->sockopt('TCP_KEEPINTVL'), 5, '... TCP_KEEPINTVL 5');
    is($k->sockopt('TCP_KEEPCNT'), 4, '... TCP_KEEPCNT 4');
    my $plain = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $plain->keepalive;
    ok($plain->sockopt('SO_KEEPALIVE'), 'keepalive with nothing else: just SO_KEEPALIVE');
    dies_with(sub { $plain->keepalive(idel => 3) }, op => 'keepalive', errno => EINVAL,
              message => qr/unknown option 'idel'/, name => 'a misspelled option dies EINVAL');
    dies_with(sub { $plain->keepalive(idle => 0) }, op => 'keepalive', errno => EINVAL,
              name => 'idle 0 dies EINVAL');
    dies_with(sub { $plain->keepalive(count => 'x') }, op => 'keepalive', errno => EINVAL,
              name => 'a count that is no number dies EINVAL');
    dies_with(sub { $plain->keepalive('idle') }, op => 'keepalive', errno => EINVAL,
              name => 'an odd number of arguments dies EINVAL');
    my $fresh = BSDSocket::socket(AF_INET, SOCK_STREAM);
    eval { $fresh->keepalive(idle => 10, count => -1) };
    ok(!$fresh->sockopt('SO_KEEPALIVE'), '... and nothing was set before a bad value died');
    dies_with(sub { $fresh->keepalive(count => "5\n") }, op => 'keepalive', errno => EINVAL,
              name => 'a count with a newline dies EINVAL');
  SKIP: {
        skip 'the kernel limits are Linux\'s', 3 unless $^O eq 'linux';
        my $idle = $fresh->sockopt('TCP_KEEPIDLE');
        dies_with(sub { $fresh->keepalive(idle => 20, interval => 100000) }, op => 'keepalive', errno => EINVAL,
                  name => 'an interval the kernel refuses dies, with op keepalive');
        is($fresh->sockopt('TCP_KEEPIDLE'), $idle, '... and the idle time set before it is put back');
        ok(!$fresh->sockopt('SO_KEEPALIVE'), '... and keepalive stays off');
    }
}

done_testing;
