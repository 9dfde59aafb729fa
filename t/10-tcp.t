use strict;
use warnings;
use Test::More;
use Errno qw(EBADF ECONNREFUSED EPIPE ECONNRESET EINVAL ENOTCONN EOPNOTSUPP);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);

guard_alarm(60);

# ---------------------------------------------------- the whole life cycle

my $l = BSDSocket::socket(AF_INET, SOCK_STREAM);
isa_ok($l, 'BSDSocket::Socket');
is($l->family, AF_INET, 'family');
is($l->type, SOCK_STREAM, 'type');
is($l->proto, 0, 'proto');
like($l->fileno, qr/^\d+$/, 'fileno is an integer');
$l->setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
$l->bind(['127.0.0.1', 0]);
$l->listen(5);
my $addr = $l->getsockname;
is($addr->[0], '127.0.0.1', 'getsockname host');

my $c = BSDSocket::Socket->new(AF_INET, SOCK_STREAM);
isa_ok($c, 'BSDSocket::Socket', 'BSDSocket::Socket->new');
$c->connect($addr);
my ($s, $peer) = $l->accept;
isa_ok($s, 'BSDSocket::Socket', 'accept gives a socket');
is_deeply($peer, $c->getsockname, 'accept gives the peer address');
is_deeply($s->getpeername, $c->getsockname, 'getpeername on the accepted socket');
is_deeply($c->getpeername, $addr, 'getpeername on the client');
is($s->family, AF_INET, 'the accepted socket has the family');
is($s->type, SOCK_STREAM, '... and the type');

is($c->send('Hello, world'), 12, 'send returns the byte count');
is($s->recv(1024), 'Hello, world', 'recv');
is($s->send('x' x 10, 0), 10, 'send with flags');
is($c->recv(4, MSG_PEEK), 'xxxx', 'recv with MSG_PEEK');
is($c->recv(10, MSG_WAITALL), 'x' x 10, 'the peeked data is still there (MSG_WAITALL)');

$c->shutdown(SHUT_WR);
is($s->recv(10), '', 'the peer sees EOF after shutdown(SHUT_WR)');
$s->send('after');
is($c->recv(10), 'after', 'the other direction still works');
dies_with(sub { $c->shutdown(7) }, errno => EINVAL, op => 'shutdown', name => 'shutdown(7) dies EINVAL');

# accept in scalar context: just the socket
{
    my $c2 = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $c2->connect($addr);
    my $s2 = $l->accept;
    isa_ok($s2, 'BSDSocket::Socket', 'accept in scalar context');
}

# a subclass: new blesses into it, accept keeps the listener's class
{
    package My::Socket;
    our @ISA = ('BSDSocket::Socket');
}
{
    my $ml = My::Socket->new(AF_INET, SOCK_STREAM);
    isa_ok($ml, 'My::Socket', 'a subclass\'s new');
    $ml->bind(['127.0.0.1', 0]);
    $ml->listen;
    my $mc = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $mc->connect($ml->getsockname);
    my ($ms) = $ml->accept;
    isa_ok($ms, 'My::Socket', 'accept on a subclass');
}

# ------------------------------------------------------------- close

{
    my $fd = $c->fileno;
    $c->close;
    is($c->fileno, -1, 'fileno is -1 after close');
    ok(!fd_is_open($fd), 'the fd is closed');
    ok(eval { $c->close; 1 }, 'close is idempotent');
    is($s->recv(10), '', 'the peer sees EOF after close');

    # the fd number is reused by the next socket; the closed object must
    # not touch it
    my $reuser = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    is($reuser->fileno, $fd, 'the next socket reuses the fd number');
    for my $method ([send => 'x'], [recv => 1], [connect => $addr], [bind => ['127.0.0.1', 0]],
                    ['listen'], ['accept'], ['getsockname'], ['getpeername'],
                    [getsockopt => SOL_SOCKET, SO_TYPE], [setsockopt => SOL_SOCKET, SO_REUSEADDR, 1],
                    [shutdown => SHUT_RDWR], [sendto => 'x', ['127.0.0.1', 9]], [recvfrom => 1],
                    ['makefile'], ['family'], ['type'], ['proto'], ['gettimeout'],
                    [settimeout => 1], ['getblocking'], [setblocking => 0], ['dup'], ['detach'],
                    ['get_inheritable'], [set_inheritable => 1], [sendall => 'x'],
                    [connect_ex => $addr], [recv_into => my $buf, 1], [recvfrom_into => my $buf2, 1],
                    [sendmsg => ['x']], [recvmsg => 1], [send_fds => ['x'], [0]], [recv_fds => 1, 1],
                    [sendfile => \*STDIN], [send_many => ['x']], [recv_many => 1, 1]) {
        my ($name, @args) = @$method;
        dies_with(sub { $c->$name(@args) }, errno => EBADF, op => $name,
                  name => "$name on a closed socket dies EBADF");
    }
    is($reuser->getsockopt(SOL_SOCKET, SO_TYPE), SOCK_DGRAM, 'the reused fd was left alone');
}

# -------------------------------------------------------------- errors

{
    my $closed_port = do {
        my $t = BSDSocket::socket(AF_INET, SOCK_STREAM);
        $t->bind(['127.0.0.1', 0]);
        $t->getsockname->[1];     # closed when $t goes: nothing listens there
    };
    my $r = BSDSocket::socket(AF_INET, SOCK_STREAM);
    my $e = dies_with(sub { $r->connect(['127.0.0.1', $closed_port]) }, errno => ECONNREFUSED,
                      op => 'connect', name => 'connect to a closed port dies ECONNREFUSED');
    is_deeply($e->address, ['127.0.0.1', $closed_port], 'the error names the address');
    ok($!{ECONNREFUSED}, '$! is set too');

    my $u = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    dies_with(sub { $u->listen(1) }, errno => EOPNOTSUPP, op => 'listen',
              name => 'listen on UDP dies EOPNOTSUPP');
    dies_with(sub { $u->accept }, errno => [EOPNOTSUPP, EINVAL], op => 'accept',
              name => 'accept on UDP dies EOPNOTSUPP (Linux) or EINVAL (the BSDs)');
    my $fresh = BSDSocket::socket(AF_INET, SOCK_STREAM);
    dies_with(sub { $fresh->getpeername }, errno => ENOTCONN, op => 'getpeername',
              name => 'getpeername unconnected dies ENOTCONN');
    dies_with(sub { $fresh->send('x') }, op => 'send', name => 'send unconnected dies');
    dies_with(sub { $fresh->bind(['127.0.0.1', $l->getsockname->[1]]) }, op => 'bind',
              errno => Errno::EADDRINUSE(), name => 'bind to a used port dies EADDRINUSE');
    dies_with(sub { BSDSocket::socket(12345, SOCK_STREAM) }, op => 'socket',
              errno => Errno::EAFNOSUPPORT(), name => 'an unknown family dies EAFNOSUPPORT');
    dies_with(sub { BSDSocket::socket(AF_INET, 'stream') }, op => 'socket', errno => EINVAL,
              message => qr/type must be an integer/, name => 'a non-integer type dies EINVAL');
    dies_with(sub { $l->listen(2**40) }, op => 'listen', errno => EINVAL,
              message => qr/backlog must be an integer in -2147483648\.\.2147483647/,
              name => 'a backlog beyond int dies');
}

# send to a peer that went away: EPIPE, and the process lives (no SIGPIPE)
{
    my ($l2, $a, $b) = tcp_pair();
    $b->close;
    my $e;
    for (1 .. 50) {                  # the first sends may still be accepted
        last unless eval { $a->send('x' x 1024); 1 };
    }
    $e = $@;
    ok(ref $e && ($e->errno == EPIPE || $e->errno == ECONNRESET),
       'send to a closed peer dies EPIPE (or ECONNRESET), the process lives')
        or diag "error: $e";
}

# ---------------------------------------------------- close-on-exec

for my $sock ($l, $s) {
    ok(is_cloexec($sock->fileno), 'fd ' . $sock->fileno . ' is close-on-exec');
}

# ------------------------------------------------------- real peers

SKIP: {
    my $python = have_program('python3');
    skip 'python3 is not installed', 6 unless $python;

    # a Python echo server, BSDSocket client
    my $server = <<'PY';
import socket, sys
l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.bind(('127.0.0.1', 0)); l.listen(1)
print(l.getsockname()[1], flush=True)
c, a = l.accept()
while True:
    d = c.recv(65536)
    if not d: break
    c.sendall(d)
c.close()
PY
    my $pid = open(my $out, '-|', $python, '-c', $server) or die "python3: $!";
    chomp(my $port = <$out>);
    my $cl = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $cl->connect(['127.0.0.1', $port]);
    my $payload = join '', map { chr($_ % 256) } 0 .. 99_999;
    my $sent = 0;
    $sent += $cl->send(substr($payload, $sent)) while $sent < length $payload;
    $cl->shutdown(SHUT_WR);
    my $echo = '';
    while (length(my $chunk = $cl->recv(65536))) { $echo .= $chunk }
    ok($echo eq $payload, '100000 bytes echoed by a python3 server');
    $cl->close;
    close $out;
    is($?, 0, 'the python3 server exited cleanly');

    # a BSDSocket server, Python client
    my $bl = tcp_listener();
    my $bport = $bl->getsockname->[1];
    my $client = <<"PY";
import socket
s = socket.create_connection(('127.0.0.1', $bport))
s.sendall(b'from python')
print(s.recv(100).decode(), flush=True)
s.close()
PY
    my $cpid = open(my $cout, '-|', $python, '-c', $client) or die "python3: $!";
    my ($conn, $from) = $bl->accept;
    is($conn->recv(100), 'from python', 'recv from a python3 client');
    is($from->[0], '127.0.0.1', '... whose address accept reports');
    $conn->send('from perl');
    chomp(my $reply = <$cout>);
    is($reply, 'from perl', 'the python3 client received our send');
    close $cout;
    is($?, 0, 'the python3 client exited cleanly');
}

SKIP: {
    my $socat = have_program('socat');
    skip 'socat is not installed', 2 unless $socat;
    my $bl = tcp_listener();
    my $port = $bl->getsockname->[1];
    my $pid = open(my $out, '-|', $socat, '-', "TCP:127.0.0.1:$port") // die "socat: $!";
    my ($conn) = $bl->accept;
    $conn->send("through socat\n");
    $conn->shutdown(SHUT_WR);
    my $line = <$out>;
    is($line, "through socat\n", 'socat received what we sent');
    close $out;
    is($conn->recv(10), '', 'socat closed its end');
}

done_testing;
