use strict;
use warnings;
use Test::More;
use Errno qw(ENOENT EADDRINUSE EOPNOTSUPP EAFNOSUPPORT EINVAL);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);

guard_alarm(30);
my $dir = temp_dir();

# ------------------------------------------------------------ stream
{
    my $path = "$dir/stream";
    my $l = BSDSocket::socket(AF_UNIX, SOCK_STREAM);
    $l->bind($path);
    ok(-S $path, 'bind creates the socket file');
    $l->listen(5);
    is($l->getsockname, $path, 'getsockname is the path');

    my $c = BSDSocket::socket(AF_UNIX, SOCK_STREAM);
    $c->connect($path);
    my ($s, $peer) = $l->accept;
    is($peer, '', 'an unbound client is the unnamed address ""');
    is($c->getpeername, $path, 'the client\'s peer is the path');
    is($s->getpeername, '', 'the server\'s peer is unnamed');
    $c->send("over unix\n");
    is($s->recv(100), "over unix\n", 'data over AF_UNIX stream');
    $s->send('back');
    is($c->recv(100), 'back', '... both ways');
    $c->close;
    is($s->recv(100), '', 'EOF after the client closes');

    my $dup = BSDSocket::socket(AF_UNIX, SOCK_STREAM);
    dies_with(sub { $dup->bind($path) }, errno => EADDRINUSE, op => 'bind',
              name => 'binding an existing path dies EADDRINUSE');
    my $e = dies_with(sub { $dup->connect("$dir/nothing-here") }, errno => ENOENT, op => 'connect',
                      name => 'connecting to a missing path dies ENOENT');
    is($e && $e->address, "$dir/nothing-here", 'the error names the path');
}

# ------------------------------------------------------------ datagram
{
    my $server = BSDSocket::socket(AF_UNIX, SOCK_DGRAM);
    $server->bind("$dir/dgram-server");
    my $client = BSDSocket::socket(AF_UNIX, SOCK_DGRAM);
    $client->bind("$dir/dgram-client");
    $client->sendto('request', "$dir/dgram-server");
    my ($data, $from) = $server->recvfrom(100);
    is($data, 'request', 'AF_UNIX datagram');
    is($from, "$dir/dgram-client", 'recvfrom gives the bound sender path');
    $server->sendto('reply', $from);
    is($client->recv(100), 'reply', 'sendto the path recvfrom gave');
}

# ------------------------------------------------------------ seqpacket
SKIP: {
    my $l = eval { BSDSocket::socket(AF_UNIX, SOCK_SEQPACKET) };
    skip 'no SOCK_SEQPACKET here', 2 unless $l;
    $l->bind("$dir/seq");
    $l->listen(1);
    my $c = BSDSocket::socket(AF_UNIX, SOCK_SEQPACKET);
    $c->connect("$dir/seq");
    my ($s) = $l->accept;
    $c->send('msg1');
    $c->send('msg2');
    is($s->recv(100), 'msg1', 'SOCK_SEQPACKET keeps boundaries');
    is($s->recv(100), 'msg2', '... for each message');
}

# ------------------------------------------------------------ socketpair
{
    my ($a, $b) = BSDSocket::socketpair();
    is($a->family, AF_UNIX, 'socketpair defaults to AF_UNIX');
    is($a->type, SOCK_STREAM, '... and SOCK_STREAM');
    $a->send('ping');
    is($b->recv(10), 'ping', 'socketpair a -> b');
    $b->send('pong');
    is($a->recv(10), 'pong', 'socketpair b -> a');

    my ($d1, $d2) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM);
    is($d1->type, SOCK_DGRAM, 'a datagram socketpair');
    $d1->send('x' x 10);
    is($d2->recv(3), 'xxx', '... keeps datagram semantics');

  SKIP: {
        skip 'no SOCK_NONBLOCK here', 1 unless defined eval { SOCK_NONBLOCK() };
        my ($n1, $n2) = BSDSocket::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK);
        is($n1->type, SOCK_STREAM, 'SOCK_NONBLOCK is not part of type');
    }

    dies_with(sub { BSDSocket::socketpair(AF_INET) }, op => 'socketpair',
              name => 'socketpair(AF_INET) dies');
    dies_with(sub { BSDSocket::socketpair(AF_UNIX, SOCK_STREAM, 0, 'extra') }, op => 'socketpair',
              errno => EINVAL, message => qr/Usage/, name => 'socketpair with too many arguments dies');
}

# ------------------------------------------------------------ a python3 peer
SKIP: {
    my $python = have_program('python3');
    skip 'python3 is not installed', 2 unless $python;
    my $path = "$dir/py";
    my $l = BSDSocket::socket(AF_UNIX, SOCK_STREAM);
    $l->bind($path);
    $l->listen(1);
    my $script = <<"PY";
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect('$path')
s.sendall(b'python over unix')
s.close()
PY
    open(my $out, '-|', $python, '-c', $script) or die "python3: $!";
    my ($s) = $l->accept;
    my $got = '';
    while (length(my $chunk = $s->recv(100))) { $got .= $chunk }
    is($got, 'python over unix', 'a python3 AF_UNIX client');
    close $out;
    is($?, 0, 'python3 exited cleanly');
}

done_testing;
