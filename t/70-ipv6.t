use strict;
use warnings;
use Test::More;
use Errno qw(EINVAL);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# AF_INET6 addresses: [$host, $port, $flowinfo, $scope_id], on ::1.

my $can_bind = eval {
    my $probe = BSDSocket::socket(AF_INET6, SOCK_STREAM);
    $probe->bind(['::1', 0]);
    1;
};
plan skip_all => 'no IPv6 loopback here (::1 cannot be bound)' unless $can_bind;
guard_alarm(30);

ok(BSDSocket::has_ipv6(), 'has_ipv6');

# -------------------------------------------------------------- TCP

{
    my $l = BSDSocket::socket(AF_INET6, SOCK_STREAM);
    $l->bind(['::1', 0]);
    $l->listen(5);
    my $addr = $l->getsockname;
    is(scalar @$addr, 4, 'an AF_INET6 address has four elements');
    is($addr->[0], '::1', '... the host');
    like($addr->[1], qr/^\d+$/, '... the port');
    is($addr->[2], 0, '... flowinfo');
    is($addr->[3], 0, '... scope_id');

    my $c = BSDSocket::socket(AF_INET6, SOCK_STREAM);
    $c->connect($addr);
    my ($s, $peer) = $l->accept;
    is_deeply($peer, $c->getsockname, 'accept gives the IPv6 peer');
    is_deeply($c->getpeername, $addr, 'getpeername takes the same form');
    $c->send('over ::1');
    is($s->recv(100), 'over ::1', 'data over IPv6 TCP');

    my $c2 = BSDSocket::socket(AF_INET6, SOCK_STREAM);
    $c2->connect('::1', $addr->[1]);
    ok(scalar $l->accept, 'the older connect($host, $port) works for IPv6');
    my $c3 = BSDSocket::socket(AF_INET6, SOCK_STREAM);
    $c3->connect(['::1', $addr->[1]]);
    ok(scalar $l->accept, 'two elements are enough');
    my $c4 = BSDSocket::socket(AF_INET6, SOCK_STREAM);
    $c4->connect([@$addr]);
    ok(scalar $l->accept, 'a copy of the four elements is accepted back');
}

# -------------------------------------------------------------- UDP

{
    my ($a, $b) = map {
        my $u = BSDSocket::socket(AF_INET6, SOCK_DGRAM);
        $u->bind(['::1', 0]);
        $u;
    } 1, 2;
    $a->sendto('dgram6', $b->getsockname);
    my ($data, $from) = $b->recvfrom(100);
    is($data, 'dgram6', 'UDP over IPv6');
    is_deeply($from, $a->getsockname, 'recvfrom gives the sender in the AF_INET6 form');
    $b->sendto('reply6', $from);
    is($a->recv(100), 'reply6', 'the address recvfrom gave is accepted back unchanged');
}

# ------------------------------------------------------ the forms, and bad ones

{
    my $u = BSDSocket::socket(AF_INET6, SOCK_DGRAM);
    $u->bind(['', 0]);
    is($u->getsockname->[0], '::', "'' is the IPv6 wildcard");
    my $v = BSDSocket::socket(AF_INET6, SOCK_DGRAM);
    $v->connect(['::ffff:127.0.0.1', 9]);
    is($v->getpeername->[0], '::ffff:127.0.0.1', 'an IPv4-mapped address');
    my $w = BSDSocket::socket(AF_INET6, SOCK_DGRAM);
    $w->connect(['::1', 9, 5]);
    is($w->getpeername->[0], '::1', 'three elements (with flowinfo)');

    my ($host, $port) = BSDSocket::getnameinfo(['fe80::1%lo', 80], NI_NUMERICHOST | NI_NUMERICSERV);
    like($host, qr/^fe80::1%(lo|1)$/, "a %scope host sets the scope id ($host)");
    ($host) = BSDSocket::getnameinfo(['fe80::1', 80, 0, 1], NI_NUMERICHOST | NI_NUMERICSERV);
    like($host, qr/^fe80::1%(lo|1)$/, 'so does the scope_id element');

    my $bad = sub {
        my ($address, $message, $name) = @_;
        dies_with(sub { $u->connect($address) }, errno => EINVAL, op => 'address',
                  message => $message, name => $name);
    };
    $bad->('::1', qr/AF_INET6 address is an array reference/, 'a string is no AF_INET6 address');
    $bad->(['::1'], qr/2 to 4 elements/, 'one element is too few');
    $bad->(['::1', 1, 0, 0, 0], qr/2 to 4 elements/, 'five are too many');
    $bad->(['::1', 70000], qr/port must be an integer in 0\.\.65535/, 'port out of range');
    $bad->(['::1', 1, -1], qr/flowinfo must be an integer in 0\.\.1048575/, 'flowinfo -1');
    $bad->(['::1', 1, 2**20], qr/flowinfo must be an integer in 0\.\.1048575/, 'flowinfo 2**20');
    $bad->(['::1', 1, 0, -1], qr/scope_id must be an integer in 0\.\.4294967295/, 'scope_id -1');
    $bad->(['::1', 1, 0, 2**32], qr/scope_id must be an integer in 0\.\.4294967295/, 'scope_id 2**32');
    $bad->(['::1', 1, 'x'], qr/flowinfo must be/, 'flowinfo not a number');
    $bad->(['127.0.0.1', 1], qr/IPv4 address, this is an AF_INET6 socket/, 'an IPv4 literal says so');
    $bad->(["::1\0", 1], qr/NUL character inside host name/, 'NUL in an IPv6 host');
    dies_with(sub { $u->connect([no_dns_host(), 9]) }, class => 'BSDSocket::Error::GAI',
              op => 'address', name => 'an unresolvable host dies GAI');
}

# ------------------------------------------------------- dual stack

SKIP: {
    skip 'no dual-stack IPv6 here', 5 unless BSDSocket::has_dualstack_ipv6();
    my $srv = BSDSocket::create_server(['', 0], family => AF_INET6, dualstack_ipv6 => 1);
    my $port = $srv->getsockname->[1];
    is($srv->getsockopt(IPPROTO_IPV6, IPV6_V6ONLY), 0, 'dualstack_ipv6 clears IPV6_V6ONLY');

    my $c4 = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $c4->connect(['127.0.0.1', $port]);
    my ($s4, $peer4) = $srv->accept;
    like($peer4->[0], qr/^::ffff:127\.0\.0\.1$/, 'an IPv4 client appears as ::ffff:127.0.0.1');
    $c4->send('four');
    is($s4->recv(10), 'four', '... and talks');

    my $c6 = BSDSocket::socket(AF_INET6, SOCK_STREAM);
    $c6->connect(['::1', $port]);
    my ($s6, $peer6) = $srv->accept;
    is($peer6->[0], '::1', 'an IPv6 client on the same server');
    $c6->send('six');
    is($s6->recv(10), 'six', '... and talks');
}

done_testing;
