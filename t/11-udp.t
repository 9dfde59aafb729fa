use strict;
use warnings;
use Test::More;
use Errno qw(EINVAL EDESTADDRREQ EMSGSIZE ECONNREFUSED);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);

guard_alarm(30);

my ($a, $b) = udp_pair();
my $a_addr = $a->getsockname;
my $b_addr = $b->getsockname;

is($b->sendto('one', $a_addr), 3, 'sendto($bytes, $address) returns the byte count');
my ($data, $from) = $a->recvfrom(100);
is($data, 'one', 'recvfrom data');
is_deeply($from, $b_addr, 'recvfrom address');

is($b->sendto('two', 0, $a_addr), 3, 'sendto($bytes, $flags, $address)');
is(scalar $a->recvfrom(100), 'two', 'recvfrom in scalar context gives the data');

is($b->sendto('three', MSG_DONTWAIT, $a_addr), 5, 'sendto with MSG_DONTWAIT');
is($a->recv(100), 'three', 'recv on UDP');

# datagram boundaries: a short buffer truncates that datagram only
$b->sendto('abcdefghij', $a_addr);
$b->sendto('next', $a_addr);
is($a->recv(4), 'abcd', 'recv(4) of a 10-byte datagram gives 4 bytes');
is($a->recv(100), 'next', 'the rest of it is gone; the next datagram is whole');

# recv(0) consumes a datagram and gives ''
$b->sendto('dropped', $a_addr);
$b->sendto('kept', $a_addr);
is($a->recv(0), '', 'recv(0) gives an empty string');
is($a->recv(100), 'kept', '... having consumed one datagram');

# connected UDP: send/recv without addresses
$b->connect($a_addr);
is_deeply($b->getpeername, $a_addr, 'a connected UDP socket has a peer');
is($b->send('connected'), 9, 'send on connected UDP');
is($a->recv(100), 'connected', '... arrives');

# an empty datagram is a datagram
$b->send('');
($data, $from) = $a->recvfrom(10);
is($data, '', 'an empty datagram arrives as ""');
is_deeply($from, $b_addr, '... from the sender');

# errors
{
    my $u = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    dies_with(sub { $u->send('x') }, errno => EDESTADDRREQ, op => 'send',
              name => 'send on unconnected UDP dies EDESTADDRREQ');
    dies_with(sub { $u->sendto('x') }, errno => EINVAL, op => 'sendto',
              message => qr/Usage/, name => 'sendto without an address dies with its usage');
    dies_with(sub { $u->sendto('x', 0, $a_addr, 'extra') }, errno => EINVAL, op => 'sendto',
              message => qr/Usage/, name => 'sendto with too many arguments dies');
    dies_with(sub { $u->sendto('x', 'flags', $a_addr) }, errno => EINVAL, op => 'sendto',
              message => qr/flags must be an integer/, name => 'sendto with bad flags dies');
    dies_with(sub { $u->sendto('x', ['127.0.0.1', 'echo']) }, errno => EINVAL, op => 'address',
              name => 'sendto with a bad address dies');
    my $e = dies_with(sub { $u->sendto('x' x 70000, $a_addr) }, errno => EMSGSIZE, op => 'sendto',
                      name => 'an over-long datagram dies EMSGSIZE');
    is_deeply($e && $e->address, $a_addr, 'the sendto error names the address');
    dies_with(sub { $u->recv(10, 'x') }, errno => EINVAL, op => 'recv',
              message => qr/flags must be an integer/, name => 'recv with bad flags dies');
    dies_with(sub { $u->recvfrom(-5) }, errno => EINVAL, op => 'recvfrom',
              message => qr/bufsize must be a non-negative integer/, name => 'recvfrom(-5) dies');

    # ICMP port unreachable comes back as ECONNREFUSED on a connected socket
    my $gone = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $gone->bind(['127.0.0.1', 0]);
    my $gone_addr = $gone->getsockname;
    $gone->close;
    my $c = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $c->connect($gone_addr);
    $c->send('anyone?');
    dies_with(sub { $c->recv(10) }, errno => ECONNREFUSED, op => 'recv',
              name => 'recv after sending to a closed port dies ECONNREFUSED');
}

# Python peer
SKIP: {
    my $python = have_program('python3');
    skip 'python3 is not installed', 3 unless $python;
    my $script = <<'PY';
import socket
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('127.0.0.1', 0))
print(u.getsockname()[1], flush=True)
d, a = u.recvfrom(100)
u.sendto(d.upper(), a)
PY
    open(my $out, '-|', $python, '-c', $script) or die "python3: $!";
    chomp(my $port = <$out>);
    my $u = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $u->sendto('shout', ['127.0.0.1', $port]);
    my ($reply, $peer) = $u->recvfrom(100);
    is($reply, 'SHOUT', 'a python3 peer answered our datagram');
    is_deeply($peer, ['127.0.0.1', $port], '... from its address');
    close $out;
    is($?, 0, 'python3 exited cleanly');
}

done_testing;
