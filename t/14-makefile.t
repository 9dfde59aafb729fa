use strict;
use warnings;
use Test::More;
use Errno qw(EINVAL);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);

guard_alarm(30);

# read mode: readline over buffered data
{
    my ($a, $b) = BSDSocket::socketpair();
    my $in = $b->makefile('r');
    ok(ref $in && defined fileno($in), 'makefile gives a real filehandle');
    isnt(fileno($in), $b->fileno, '... on a dup of the fd');
    ok(is_cloexec(fileno $in), '... which is close-on-exec');
    $a->send("first\nsecond\n");
    is(scalar <$in>, "first\n", 'readline');
    is(scalar <$in>, "second\n", 'readline again');
    no warnings 'io';
    ok(!print({$in} "x"), 'a read-only handle does not print');
}

# write mode: print, close, the peer has it all
{
    my ($a, $b) = BSDSocket::socketpair();
    my $out = $b->makefile('w');
    print {$out} "line $_\n" for 1 .. 3;
    close $out;
    is($a->recv(100), "line 1\nline 2\nline 3\n", 'print through a write handle');
}

# read-write: reading ahead does not disturb writing (separate streams,
# as perl keeps for its own sockets)
{
    my ($a, $b) = BSDSocket::socketpair();
    my $fh = $b->makefile('rw');
    $a->send("request 1\nrequest 2\n");
    is(scalar <$fh>, "request 1\n", 'rw: first line');
    print {$fh} "reply 1\n";
    $fh->flush;
    is($a->recv(100), "reply 1\n", 'rw: a reply written after reading ahead');
    is(scalar <$fh>, "request 2\n", 'rw: the read-ahead line is still there');
    $fh->autoflush(1);
    print {$fh} "reply 2\n";
    is($a->recv(100), "reply 2\n", 'autoflush works on the handle');
    # binmode: layers on the handle, and back to bytes
    ok(binmode($fh, ':encoding(UTF-8)'), 'binmode with an encoding layer');
    $a->send("caf\xc3\xa9\n");
    my $line = <$fh>;
    is($line, "caf\x{e9}\n", '... decodes what comes in');
    print {$fh} "\x{263a}\n";
    is($a->recv(100), "\xe2\x98\xba\n", '... and encodes what goes out');
    ok(binmode($fh), 'binmode with no layer: bytes again');
    $a->send("\xc3\xa9\n");
    is(length(scalar <$fh>), 3, '... bytes come in as bytes');
}

# closing in either order leaves no fd behind and disturbs nothing
{
    my $before = open_fds();
    {
        my ($a, $b) = BSDSocket::socketpair();
        my $fh = $b->makefile('rw');
        close $fh;
        $b->send("the socket after its handle closed\n");
        is($a->recv(100), "the socket after its handle closed\n", 'handle closed first: the socket goes on');
        my $fh2 = $a->makefile('r');
        undef $a;                           # the object goes first
        $b->send("the handle after its socket went\n");
        is(scalar <$fh2>, "the handle after its socket went\n", 'socket freed first: the handle goes on');
        close $fh2;
        $b->close;
    }
    is(open_fds(), $before, 'handle then socket, socket then handle: every fd closed');
}

# modes
for my $mode (qw(r rb w wb rw r+ rwb r+b rb+ br)) {
    my ($a) = BSDSocket::socketpair();
    ok(eval { $a->makefile($mode) }, "mode '$mode' is accepted");
}
for my $mode ('', 'x', 'rr', 'a', 'b', 'r w', "r\0", '+', 'w+', '+r', 'rbb', 'wr', 'rww', 'ww') {
    my ($a) = BSDSocket::socketpair();
    dies_with(sub { $a->makefile($mode) }, errno => EINVAL, op => 'makefile',
              message => qr/mode must/, name => "mode '$mode' dies");
}
{
    my ($a) = BSDSocket::socketpair();
    dies_with(sub { $a->makefile('r', -2) }, errno => EINVAL, op => 'makefile',
              message => qr/bufsize must be an integer/, name => 'bufsize -2 dies');
    dies_with(sub { $a->makefile(undef) }, errno => EINVAL, op => 'makefile',
              message => qr/mode must be a string/, name => 'an undef mode dies');
}

# bufsize 0: unbuffered, each print goes out at once
{
    my ($a, $b) = BSDSocket::socketpair();
    my $out = $b->makefile('w', 0);
    print {$out} 'unbuffered';
    is($a->recv(100), 'unbuffered', 'bufsize 0 writes at once');
    my $in = $a->makefile('r', 0);
    $b->send("x\ny\n");
    is(scalar <$in>, "x\n", 'unbuffered readline');
    is($a->recv(100), "y\n", '... leaves the rest in the socket');
}

# the socket and the handle close independently, in either order
{
    my ($a, $b) = BSDSocket::socketpair();
    my $fh = $b->makefile('rw');
    $b->close;
    print {$fh} "after socket close\n";
    close $fh;
    is($a->recv(100), "after socket close\n", 'the handle works after the socket closed');
    is($a->recv(100), '', '... and its close is the EOF');

    my ($c, $d) = BSDSocket::socketpair();
    my $fh2 = $d->makefile('w');
    close $fh2;
    $d->send('socket still open');
    is($c->recv(100), 'socket still open', 'the socket works after the handle closed');
}

# always binary, whatever "use open" says
{
    use open qw(:utf8);
    my ($a, $b) = BSDSocket::socketpair();
    my $in = $b->makefile('r');
    $a->send("\xc3\xa9\n");
    my $line = <$in>;
    is(length $line, 3, 'bytes come through as bytes under "use open :utf8"');
}

done_testing;
