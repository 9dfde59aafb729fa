use strict;
use warnings;
use Test::More;
use Errno qw(EINVAL EMSGSIZE);
use Time::HiRes qw(time sleep);
use POSIX ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# recv_exact and recv_until: reads that lose nothing.  However they fail,
# what arrived is what the next read returns.

guard_alarm(60);

# a child that sends each piece after a pause, then leaves
sub drip {
    my ($peer, $gap, @pieces) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    for (@pieces) { sleep $gap; eval { $peer->sendall($_) } or last }
    POSIX::_exit(0);
}

{
    my ($a, $b) = BSDSocket::socketpair();
    $b->sendall("hello world\nsecond\r\nthird");
    is($a->recv_exact(5), 'hello', 'recv_exact: exactly that many');
    is($a->recv_until("\n", 100), " world\n", 'recv_until: up to and including the delimiter');
    is($a->recv_until("\r\n", 100), "second\r\n", 'a two-byte delimiter');
    is($a->recv_exact(0), '', 'recv_exact(0) is empty');
    is($a->recv(100), 'third', 'what recv_until read past the delimiter is the next read\'s');
}

{
    # pieces that come one by one, the delimiter split between two
    my ($a, $b) = BSDSocket::socketpair();
    my $pid = drip($b, 0.05, 'ab', "cd\r", "\nef", 'gh');
    is($a->recv_until("\r\n", 100), "abcd\r\n", 'a delimiter split across two pieces');
    is($a->recv_exact(4), 'efgh', 'recv_exact over two pieces');
    waitpid $pid, 0;
}

{
    # timeout: the bytes stay
    my ($a, $b) = BSDSocket::socketpair();
    $a->settimeout(0.3);
    $b->sendall('partial');
    my $e = dies_with(sub { $a->recv_exact(100) }, op => 'recv_exact',
                      name => 'recv_exact times out');
    isa_ok($e, 'BSDSocket::Error::Timeout');
    is($a->pending, 7, '... the 7 bytes that came are buffered');
    is($a->recv(100), 'partial', '... and the next recv returns them');

    $b->sendall('no newline');
    $e = dies_with(sub { $a->recv_until("\n", 100) }, op => 'recv_until',
                   name => 'recv_until times out');
    isa_ok($e, 'BSDSocket::Error::Timeout');
    is(sysread($a, my $buf, 100), 10, '... sysread then gets what came');
    is($buf, 'no newline', '... all of it');

    # one deadline for the whole read: a peer that drips a byte every
    # 0.1 s never lets one receive wait 0.3 s, but the read as a whole runs out
    my $pid = drip($b, 0.1, ('x') x 20);
    my $t0 = time;
    $e = dies_with(sub { $a->recv_exact(50) }, op => 'recv_exact',
                   name => 'a dripping peer');
    my $took = time - $t0;
    kill 'KILL', $pid;
    waitpid $pid, 0;
    ok($took < 1.5, "... the timeout is one deadline for the whole read ($took s)");
    my $kept = $a->pending;
    ok($kept >= 1, "... and the bytes that came are kept ($kept)");
    $a->settimeout(undef);
    1 while eval { $a->recv(100, MSG_DONTWAIT) };
}

{
    # a scoped deadline, the same way
    my ($a, $b) = BSDSocket::socketpair();
    $b->sendall('ab');
    my $e = dies_with(sub { BSDSocket::deadline(0.2, sub { $a->recv_exact(3) }) },
                      op => 'recv_exact', name => 'inside a deadline');
    isa_ok($e, 'BSDSocket::Error::Timeout');
    $b->sendall('c');
    is($a->recv_exact(3), 'abc', '... and the next recv_exact has the first two bytes');
}

{
    # end of file: BSDSocket::Error::EOF, with what came kept
    my ($a, $b) = BSDSocket::socketpair();
    $b->sendall('xyz');
    $b->shutdown(SHUT_WR);
    my $e = dies_with(sub { $a->recv_exact(10) }, op => 'recv_exact', name => 'recv_exact at end of file');
    isa_ok($e, 'BSDSocket::Error::EOF');
    is($e->errno, undef, '... errno undef');
    is($e->received, 3, '... received says how many came');
    like("$e", qr/^recv_exact: end of file after 3 bytes at /, '... in words');
    $e = dies_with(sub { $a->recv_until("\n", 10) }, op => 'recv_until', name => 'recv_until at end of file');
    isa_ok($e, 'BSDSocket::Error::EOF');
    is($e->received, 3, '... with the same three bytes');
    is($a->recv(10), 'xyz', 'recv gets them');
    is($a->recv(10), '', '... then the end of file');
}

{
    # EMSGSIZE: no delimiter within max; nothing lost
    my ($a, $b) = BSDSocket::socketpair();
    $b->sendall("0123456789\n");
    dies_with(sub { $a->recv_until("\n", 5) }, op => 'recv_until', errno => EMSGSIZE,
              name => 'no delimiter within max dies EMSGSIZE');
    is($a->recv_until("\n", 11), "0123456789\n", '... and the line is all there for the next read');
    $b->sendall("abc\n");
    is(readline($a), "abc\n", 'readline after recv_until');
}

{
    # the handle's read-ahead and these share the one buffer
    my ($a, $b) = BSDSocket::socketpair();
    $b->sendall("first\nsecond part\nthird\n");
    is(readline($a), "first\n", 'readline reads ahead');
    ok($a->pending > 0, '... and holds the rest');
    is($a->recv_until("\n", 100), "second part\n", 'recv_until starts from what it holds');
    is($a->recv_exact(6), "third\n", 'recv_exact too');
}

{
    # a big read, from a writer process
    my ($a, $b) = BSDSocket::socketpair();
    my $big = join '', map { chr(65 + $_ % 26) } 1 .. 1_000_000;
    my $pid = drip($b, 0, $big . "END\n");
    is(length $a->recv_exact(1_000_000), 1_000_000, 'recv_exact of 1 MB');
    is($a->recv_until("END\n", 10), "END\n", '... then the rest');
    waitpid $pid, 0;
}

{
    # a signal handler that dies (the classic alarm timeout): the bytes stay
    my ($a, $b) = BSDSocket::socketpair();
    $b->sendall('abc');
    local $SIG{USR1} = sub { die "interrupted\n" };
    my $pid = signals_then_send(count => 1, gap => 0.2);
    my $ok = eval { $a->recv_exact(10); 1 };
    waitpid $pid, 0;
    is($@, "interrupted\n", "a handler's die comes out of recv_exact");
    is($a->recv(10), 'abc', '... and the bytes that came are the next read\'s');

    $b->sendall("line1\nline2");
    is($a->recv_until("\n", 100), "line1\n", 'recv_until');
    $pid = signals_then_send(count => 1, gap => 0.2);
    eval { $a->recv_until("\n", 100) };
    waitpid $pid, 0;
    is($@, "interrupted\n", "a handler's die comes out of recv_until");
    is($a->recv(10), 'line2', '... and the bytes stay');
}

{
    # a handler that reads the handle while recv_exact waits: its bytes
    # came after recv_exact's, so recv_exact stops (EBUSY) and puts its own
    # in front
    my ($a, $b) = BSDSocket::socketpair();
    $b->sendall('0123');
    my $in_handler;
    local $SIG{USR1} = sub { $b->sendall("456\n789"); $in_handler = readline($a) };
    my $pid = signals_then_send(count => 1, gap => 0.2);
    my $e = dies_with(sub { $a->recv_exact(20) }, op => 'recv_exact', errno => Errno::EBUSY(),
                      name => 'a handler read the handle: EBUSY');
    waitpid $pid, 0;
    is($in_handler, "456\n", '... the handler had its line');
    is($a->recv_exact(7), '0123789', '... and the rest is there, in order');
}

{
    # recv_exact in a handler, while a readline of the same handle waits
    my ($a, $b) = BSDSocket::socketpair();
    $b->sendall('xxx');
    my $err;
    local $SIG{USR1} = sub { $err = eval { $a->recv_exact(3); 1 } ? 'lived' : $@ };
    my $pid = signals_then_send(count => 1, gap => 0.2, peer => $b, data => "tail\n", last_gap => 0.3);
    my $line = readline($a);
    waitpid $pid, 0;
    ok(ref $err && $err->errno == Errno::EBUSY(), 'recv_exact inside a readline: EBUSY')
        or diag "got: $err";
    is($line, "xxxtail\n", '... and readline has every byte');
}

{
    # only a byte stream
    my ($a, $b) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM);
    $b->send('hello world');
    dies_with(sub { $a->recv_exact(5) }, op => 'recv_exact', errno => Errno::EOPNOTSUPP(),
              name => 'a datagram socket is refused');
    is($a->recv(100), 'hello world', '... and the datagram is whole');
}

# bad arguments
{
    my ($a, $b) = BSDSocket::socketpair();
    dies_with(sub { $a->recv_until('', 10) }, errno => EINVAL, op => 'recv_until',
              message => qr/delimiter must not be empty/, name => 'an empty delimiter');
    dies_with(sub { $a->recv_until("\r\n", 1) }, errno => EINVAL, op => 'recv_until',
              message => qr/max must be at least/, name => 'max shorter than the delimiter');
    dies_with(sub { $a->recv_until(undef, 10) }, errno => EINVAL, op => 'recv_until',
              name => 'an undef delimiter');
    dies_with(sub { $a->recv_exact(-1) }, errno => EINVAL, op => 'recv_exact',
              name => 'a negative length');
    dies_with(sub { $a->recv_exact(1, MSG_PEEK) }, errno => EINVAL, op => 'recv_exact',
              message => qr/MSG_PEEK/, name => 'MSG_PEEK');
    $a->close;
    dies_with(sub { $a->recv_exact(1) }, op => 'recv_exact', name => 'a closed socket');
}

done_testing;
