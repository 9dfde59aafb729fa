use strict;
use warnings;
use Test::More;
use Errno qw(EINVAL ENOMEM EAGAIN EBADF EPIPE EOPNOTSUPP);
use File::Temp ();
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# recv_into, recvfrom_into, dup, detach, sendmsg, recvmsg,
# send_fds, recv_fds, SCM_CREDENTIALS, sendfile.

guard_alarm(120);

# ------------------------------------------------------------ recv_into

{
    my ($a, $b) = BSDSocket::socketpair();
    $a->send('hello world');
    my $buf;
    is($b->recv_into($buf, 5), 5, 'recv_into returns the byte count');
    is($buf, 'hello', '... and the buffer holds those bytes');
    $buf = 'x' x 20;
    is($b->recv_into($buf), 6, 'nbytes 0 means the buffer\'s length');
    is($buf, ' world', '... the buffer is what came');

    # never more than nbytes, whatever the buffer's room
    $buf = 'y' x 100;
    $a->send('0123456789');
    is($b->recv_into($buf, 4), 4, 'recv_into(buf, 4) with a long buffer');
    is($buf, '0123', '... takes 4 bytes');
    is($b->recv(100), '456789', '... and leaves the rest in the socket');

    # the buffer grows, and keeps its room for the next time
    my $big;
    $a->send('z' x 50_000);
    my $got = 0;
    $got += $b->recv_into($big, 65536) while $got < 50_000;
    is(length $big, 50_000 - ($got - length $big), 'the buffer grows as needed');
    my $room = B_len($big);
    $a->send('small');
    $b->recv_into($big, 65536);
    is($big, 'small', 'a short message after a long one');
    is(B_len($big), $room, '... in the same buffer, with no new allocation');

    # bytes out, whatever went in
    my $wide = "\x{263a}\x{263a}";
    $a->send("\xff\xfe");
    $b->recv_into($wide, 2);
    ok(!utf8::is_utf8($wide) && $wide eq "\xff\xfe", 'a UTF-8 buffer comes back as bytes');
    my $num = 12345;
    $a->send('num');
    $b->recv_into($num, 3);
    is($num, 'num', 'a number becomes the string');

    # failures leave the buffer alone
    $b->settimeout(0);
    my $keep = 'kept';
    dies_with(sub { $b->recv_into($keep, 10) }, errno => EAGAIN, op => 'recv_into',
              name => 'recv_into with nothing there (non-blocking) dies EAGAIN');
    is($keep, 'kept', '... and the buffer is unchanged');
    $b->settimeout(undef);

    dies_with(sub { $b->recv_into($keep, -1) }, errno => EINVAL, op => 'recv_into',
              message => qr/nbytes must be a non-negative integer/, name => 'negative nbytes dies EINVAL');
    dies_with(sub { $b->recv_into($keep, 2**50) }, errno => ENOMEM, op => 'recv_into',
              name => 'an nbytes that cannot be allocated dies ENOMEM');
    is($keep, 'kept', '... leaving the buffer as it was');
    dies_with(sub { $b->recv_into('literal', 3) }, errno => EINVAL, op => 'recv_into',
              message => qr/buffer is read-only/, name => 'a read-only buffer dies');
    my $ref = [];
    dies_with(sub { $b->recv_into($ref, 3) }, errno => EINVAL, op => 'recv_into',
              message => qr/buffer must be a plain scalar/, name => 'a reference as buffer dies');
    dies_with(sub { $b->recv_into($keep, 3, 'x') }, errno => EINVAL, op => 'recv_into',
              message => qr/flags must be an integer/, name => 'bad flags die');
}
sub B_len { require B; B::svref_2object(\$_[0])->LEN }

# a tied buffer: one FETCH, one STORE
{
    package CountingBuffer;
    sub TIESCALAR { bless { fetch => 0, store => 0, value => $_[1] }, $_[0] }
    sub FETCH { $_[0]{fetch}++; $_[0]{value} }
    sub STORE { $_[0]{store}++; $_[0]{value} = $_[1] }
}
{
    my ($a, $b) = BSDSocket::socketpair();
    tie my $t, 'CountingBuffer', 'abcdefgh';
    $a->send('tied!');
    is($b->recv_into($t), 5, 'recv_into a tied buffer (nbytes from its length)');
    my $obj = tied $t;
    is($obj->{fetch}, 1, '... one FETCH');
    is($obj->{store}, 1, '... one STORE');
    is($obj->{value}, 'tied!', '... of the bytes');
}

# a signal handler that frees the buffer while recv_into waits
{
    my ($a, $b) = BSDSocket::socketpair();
    our $buffer = 'x' x 10;
    local $SIG{USR1} = sub { undef $buffer; $buffer = 'y' x 100_000 };
    my $pid = signals_then_send(peer => $a, data => 'after the handler');
    my $n = $b->recv_into($buffer, 100);
    waitpid $pid, 0;
    is($buffer, 'after the handler', 'recv_into survives a handler that replaces its buffer');
    is($n, 17, '... and counts right');
}

# recvfrom_into
{
    my ($u, $v) = udp_pair();
    $u->sendto('datagram', $v->getsockname);
    my $buf;
    my ($n, $from) = $v->recvfrom_into($buf, 100);
    is($n, 8, 'recvfrom_into: the count');
    is($buf, 'datagram', '... the data');
    is_deeply($from, $u->getsockname, '... and the sender');
    $u->sendto('scalar', $v->getsockname);
    is(scalar $v->recvfrom_into($buf, 100), 6, 'in scalar context: the count');
}

# the one validator, seen through both *_into calls
for my $method (qw(recv_into recvfrom_into)) {
    my ($u, $v) = udp_pair();
    $v->settimeout(0);
    my $keep = 'kept';
    dies_with(sub { $v->$method($keep, 10) }, errno => EAGAIN, op => $method,
              name => "$method with nothing there (non-blocking) dies EAGAIN");
    dies_with(sub { $v->$method($keep, -1) }, errno => EINVAL, op => $method,
              message => qr/nbytes must be a non-negative integer/, name => "$method: negative nbytes dies EINVAL");
    dies_with(sub { $v->$method($keep, 2**50) }, errno => ENOMEM, op => $method,
              name => "$method: an nbytes that cannot be allocated dies ENOMEM");
    dies_with(sub { $v->$method('literal', 3) }, errno => EINVAL, op => $method,
              message => qr/buffer is read-only/, name => "$method: a read-only buffer dies");
    is($keep, 'kept', "$method: the buffer is unchanged by all of that");
    $v->settimeout(undef);

    tie my $t, 'CountingBuffer', 'abcdefgh';
    $u->sendto('tied!', $v->getsockname);
    is(scalar $v->$method($t), 5, "$method into a tied buffer");
    is_deeply([@{ tied $t }{qw(fetch store value)}], [1, 1, 'tied!'], '... one FETCH, one STORE, of the bytes');

    # nbytes 0 is length($buffer), however perl stores the string
    my $upgraded = "\xe9\xe9";
    utf8::upgrade($upgraded);
    $u->sendto('abcdef', $v->getsockname);
    is(scalar $v->$method($upgraded), 2, "$method: nbytes 0 with an upgraded buffer is its length in characters");
    is($upgraded, 'ab', '... and the buffer is those bytes');
}

# ------------------------------------------------------------ dup, detach

{
    my ($a, $b) = BSDSocket::socketpair();
    my $d = $a->dup;
    isa_ok($d, 'BSDSocket::Socket', 'dup');
    isnt($d->fileno, $a->fileno, '... on a new fd');
    ok(is_cloexec($d->fileno), '... which is close-on-exec');
    is($d->type, $a->type, '... same type');
    $a->settimeout(2.5);
    is($a->dup->gettimeout, 2.5, '... and the same timeout');
    $a->close;
    $d->send('through the dup');
    is($b->recv(100), 'through the dup', 'the dup works after the original closed');

    my $fd = $d->detach;
    is($d->fileno, -1, 'detach: the object holds no fd');
    ok(fd_is_open($fd), '... the fd is still open');
    dies_with(sub { $d->send('x') }, errno => EBADF, op => 'send', name => '... and the object is closed');
    undef $d;
    ok(fd_is_open($fd), 'freeing a detached object closes nothing');
    my $again = BSDSocket::fromfd($fd);
    POSIX::close($fd);
    $again->send('adopted');
    is($b->recv(100), 'adopted', 'the detached fd works through fromfd');
    dies_with(sub { $d = BSDSocket::socket(AF_INET, SOCK_STREAM); $d->close; $d->dup }, errno => EBADF,
              op => 'dup', name => 'dup of a closed socket dies EBADF');
}

# ------------------------------------------------------ sendmsg, recvmsg

{
    my ($a, $b) = BSDSocket::socketpair();
    is($a->sendmsg(['one ', 'two ', 'three']), 13, 'sendmsg gathers the buffers');
    my ($data, $anc, $flags, $addr) = $b->recvmsg(100);
    is($data, 'one two three', 'recvmsg');
    is_deeply($anc, [], '... no ancillary data');
    is($flags, 0, '... no flags');
    is($addr, '', '... an AF_UNIX peer with no name');

    my ($u, $v) = udp_pair();
    is($u->sendmsg(['to ', 'an address'], [], 0, $v->getsockname), 13, 'sendmsg with an address');
    ($data, $anc, $flags, $addr) = $v->recvmsg(100);
    is($data, 'to an address', 'recvmsg of a datagram');
    is_deeply($addr, $u->getsockname, '... with the sender');
    $u->sendmsg(['x' x 50], undef, 0, $v->getsockname);
    ($data, $anc, $flags) = $v->recvmsg(10);
    is(length $data, 10, 'a datagram longer than bufsize is cut to it');
    ok($flags & MSG_TRUNC, '... and MSG_TRUNC says so');

    dies_with(sub { $a->sendmsg('not a list') }, errno => EINVAL, op => 'sendmsg',
              message => qr/buffers must be an array reference/, name => 'sendmsg wants an array of buffers');
    dies_with(sub { $a->sendmsg(["\x{263a}"]) }, errno => EINVAL, op => 'sendmsg',
              message => qr/Wide character in sendmsg/, name => 'sendmsg refuses wide characters');
    dies_with(sub { $a->sendmsg(['x'], [[SOL_SOCKET, SCM_RIGHTS]]) }, errno => EINVAL, op => 'sendmsg',
              message => qr/ancillary item must be \[level, type, data\]/, name => 'a short ancillary item dies');
    dies_with(sub { $a->sendmsg(['x'], [[SOL_SOCKET, 'rights', '']]) }, errno => EINVAL, op => 'sendmsg',
              message => qr/ancillary type must be an integer/, name => 'an ancillary type that is no number dies');
    dies_with(sub { $b->recvmsg(-1) }, errno => EINVAL, op => 'recvmsg', name => 'recvmsg(-1) dies');
}

# ----------------------------------------------------- passing fds

sub pipe_pair { pipe(my $r, my $w) or die $!; return ($r, $w) }
{
    my ($a, $b) = BSDSocket::socketpair();
    my ($r, $w) = pipe_pair();
    is($a->send_fds(['here is a pipe'], [$w]), 14, 'send_fds');
    my ($data, $handles, $flags, $addr) = $b->recv_fds(100, 4);
    is($data, 'here is a pipe', 'recv_fds: the data');
    is(scalar @$handles, 1, '... one handle');
    my $h = $handles->[0];
    ok(is_cloexec(fileno $h), '... whose fd is close-on-exec');
    syswrite $h, "written through the passed fd\n";
    close $h;
    close $w;
    is(scalar <$r>, "written through the passed fd\n", 'writing through the received fd reaches the pipe');

    # raw SCM_RIGHTS through sendmsg and recvmsg
    my ($r2, $w2) = pipe_pair();
    $a->sendmsg(['raw'], [[SOL_SOCKET, SCM_RIGHTS, pack('i', fileno $w2)]]);
    my ($d2, $anc) = $b->recvmsg(10, CMSG_SPACE(4));
    is($anc->[0][0], SOL_SOCKET, 'recvmsg: the ancillary level');
    is($anc->[0][1], SCM_RIGHTS, '... and type');
    my $fd = unpack 'i', $anc->[0][2];
    ok(is_cloexec($fd), '... the received fd is close-on-exec');
    open my $fh, '>&=', $fd or die $!;
    syswrite $fh, "raw rights\n";
    close $fh;
    close $w2;
    is(scalar <$r2>, "raw rights\n", '... and works');

    # several fds, of several kinds, sockets among them
    my ($s1, $s2) = BSDSocket::socketpair();
    my ($r3, $w3) = pipe_pair();
    $a->send_fds(['mixed'], [$s1, fileno($w3), $w3]);
    (undef, $handles) = $b->recv_fds(10, 8);
    is(scalar @$handles, 3, 'three fds in one message (an object, a number, a handle)');
    syswrite $handles->[0], 'socket via handle';
    is($s2->recv(100), 'socket via handle', 'a passed socket is a working handle');

    # truncated control data: MSG_CTRUNC, and nothing leaks
    my @pipes = map { [pipe_pair()] } 1 .. 3;
    $a->send_fds(['three'], [map { $_->[1] } @pipes]);
    my $before = open_fds();
    my ($d4, $h4, $f4) = $b->recv_fds(10, 1);
    is(scalar @$h4, 1, 'room for one fd: one handle');
    ok($f4 & MSG_CTRUNC, '... and MSG_CTRUNC set');
    is(open_fds(), $before + 1, '... and exactly one more fd open: the others did not leak');
    undef $h4;
    is(open_fds(), $before, 'the handle closes its fd');

    dies_with(sub { $a->send_fds(['x'], [-1]) }, errno => EINVAL, op => 'send_fds',
              name => 'send_fds with a bad fd dies');
    dies_with(sub { $a->send_fds(['x'], 'nope') }, errno => EINVAL, op => 'send_fds',
              message => qr/fds must be an array reference/, name => 'send_fds wants an array of fds');
    dies_with(sub { $a->send_fds([''], [1]) }, errno => EINVAL, op => 'send_fds',
              message => qr/at least one byte/, name => 'fds with no data on a stream die (they would be dropped)');
    {
        my ($d1, $d2) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM);
        my ($pr, $pw) = pipe_pair();
        is($d1->send_fds([], [$pw]), 0, 'on a datagram socket fds can go with no data');
        my ($empty, $got) = $d2->recv_fds(10, 2);
        is(scalar @$got, 1, '... and arrive');
    }
    {
        # to an address, and from one: unconnected AF_UNIX datagram sockets
        my $dir = temp_dir();
        my ($from, $to) = map {
            my $s = BSDSocket::socket(AF_UNIX, SOCK_DGRAM);
            $s->bind("$dir/$_");
            $s;
        } qw(from to);
        my ($pr, $pw) = pipe_pair();
        is($from->send_fds(['addressed'], [$pw], 0, "$dir/to"), 9, 'send_fds to an address');
        my ($data, $got, $flags, $sender) = $to->recv_fds(64, 1);
        is($data, 'addressed', '... arrives');
        is($sender, "$dir/from", "... and recv_fds's fourth value is the sender's address");
        syswrite $got->[0], "through\n";
        is(scalar readline($pr), "through\n", '... with a working fd');
        dies_with(sub { $from->send_fds(['x'], [$pw], 0, "$dir/nobody") }, op => 'send_fds',
                  errno => Errno::ENOENT(), name => 'send_fds to an address nobody has dies ENOENT');
    }
    dies_with(sub { $b->recv_fds(10, 1000) }, errno => EINVAL, op => 'recv_fds',
              message => qr/maxfds must be an integer in 0\.\.253/, name => 'recv_fds: maxfds out of range');
}

# fd passing with a python3 peer, both ways
SKIP: {
    my $python = have_program('python3');
    skip 'python3 is not installed', 4 unless $python;
    skip 'python3 has no socket.send_fds', 4
        unless system($python, '-c', 'import socket; socket.send_fds') == 0;
    my ($mine, $theirs) = BSDSocket::socketpair();
    $theirs->set_inheritable(1);        # python3 gets it across exec
    my $fd = $theirs->detach;
    my $script = <<'PY';
import os, socket, sys
s = socket.socket(fileno=int(sys.argv[1]))
msg, fds, flags, addr = socket.recv_fds(s, 100, 4)
os.write(fds[0], b'python wrote this\n')
r, w = os.pipe()
socket.send_fds(s, [b'a pipe from python'], [w])
os.close(w)
print(os.read(r, 100).decode().strip(), flush=True)
PY
    my $pid = open(my $out, '-|') // die;
    if (!$pid) {
        exec $python, '-c', $script, $fd or POSIX::_exit(1);
    }
    POSIX::close($fd);
    my ($r, $w) = pipe_pair();
    $mine->send_fds(['to python'], [$w]);
    close $w;
    is(scalar <$r>, "python wrote this\n", 'python3 wrote through the fd we sent');
    my ($data, $handles) = $mine->recv_fds(100, 4);
    is($data, 'a pipe from python', 'recv_fds from python3');
    syswrite $handles->[0], "perl wrote this\n";
    close $handles->[0];
    is(scalar <$out>, "perl wrote this\n", 'we wrote through the fd python3 sent');
    close $out;
    is($?, 0, 'python3 exited cleanly');
}

# -------------------------------------------------------- credentials

SKIP: {
    skip 'no SCM_CREDENTIALS here', 4 unless defined eval { SCM_CREDENTIALS() };
    my ($a, $b) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM);
    $b->setsockopt(SOL_SOCKET, SO_PASSCRED, 1);
    my $gid = (split ' ', $()[0];
    $a->sendmsg(['who am i'], [[SOL_SOCKET, SCM_CREDENTIALS, pack('iII', $$, $<, $gid)]]);
    my ($data, $anc) = $b->recvmsg(100, CMSG_SPACE(12));
    is($data, 'who am i', 'a message with credentials');
    my ($cred) = grep { $_->[1] == SCM_CREDENTIALS } @$anc;
    ok($cred, '... carries SCM_CREDENTIALS');
    my ($pid, $uid, $g) = unpack 'iII', $cred->[2];
    is("$pid $uid", "$$ $<", '... with our pid and uid');
    is($g, $gid, '... and gid');
}
SKIP: {
    # credentials that are not ours: the kernel refuses them to anyone but
    # root (as root, the child drops to nobody with setpriv)
    skip 'no SCM_CREDENTIALS here', 1 unless defined eval { SCM_CREDENTIALS() };
    my $setpriv = have_program('setpriv');
    skip 'running as root and no setpriv to drop it', 1 if $< == 0 && !$setpriv;
    my $code = 'use BSDSocket qw(:all); my ($a) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM);'
             . 'eval { $a->sendmsg(["x"], [[SOL_SOCKET, SCM_CREDENTIALS, pack("iII", 1, 0, 0)]]); 1 }'
             . ' ? print "sent\n" : print join(",", ref $@, $@->op, $@->errname), "\n"';
    my @as_user = $< == 0 ? ($setpriv, '--reuid=65534', '--regid=65534', '--clear-groups') : ();
    my $loads = do {
        open my $probe, '-|', @as_user, perl_cmd('-MBSDSocket', '-e', 'print "loaded"') or die $!;
        local $/;
        <$probe> // '';
    };
    skip 'user nobody cannot read this build', 1 unless $loads eq 'loaded';
    my @cmd = (@as_user, perl_cmd('-e', $code));
    open my $out, '-|', @cmd or die "@cmd: $!";
    my $said = <$out> // '';
    close $out;
    chomp $said;
    is($said, 'BSDSocket::Error,sendmsg,EPERM', "someone else's credentials die EPERM");
}

# ------------------------------------------------------------ sendfile

{
    my $tmp = File::Temp->new;
    binmode $tmp;
    my $content = join '', map { pack('N', $_) . ('.' x 60) } 1 .. 80_000;   # ~5 MB
    print {$tmp} $content;
    close $tmp;
    my ($a, $b) = BSDSocket::socketpair();
    my $pid = open(my $out, '-|') // die;
    if (!$pid) {
        $a->close;
        my $got = '';
        while (length(my $chunk = $b->recv(1 << 20))) { $got .= $chunk }
        require Digest::MD5;
        print Digest::MD5::md5_hex($got), ' ', length $got, "\n";
        POSIX::_exit(0);
    }
    $b->close;
    open my $in, '<', $tmp->filename or die $!;
    is($a->sendfile($in), length $content, 'sendfile sends the whole file');
    is($a->sendfile($in, 100, 1000), 1000, 'sendfile with an offset and a count');
    $a->close;
    chomp(my $line = <$out>);
    close $out;
    require Digest::MD5;
    my $want = Digest::MD5::md5_hex($content . substr($content, 100, 1000));
    is($line, "$want " . (length($content) + 1000), 'the peer got it all, byte for byte');
    is(tell($in), 0, 'the handle\'s own position did not move');
}
{
    # a pipe cannot be sendfile(2)'d from: the copying way
    my ($a, $b) = BSDSocket::socketpair();
    my ($r, $w) = pipe_pair();
    syswrite $w, 'through a pipe ' x 1000;
    close $w;
    is($a->sendfile($r), 15_000, 'sendfile from a pipe (copying)');
    my $got = '';
    $b->settimeout(2);
    $got .= $b->recv(65536) while length $got < 15_000;
    is($got, 'through a pipe ' x 1000, '... arrives whole');
    dies_with(sub { $a->sendfile($r, 10) }, errno => EINVAL, op => 'sendfile',
              message => qr/an offset needs a file that can seek/, name => 'an offset into a pipe dies');
}
{
    # the socket's timeout holds for the whole call
    my ($a, $b) = BSDSocket::socketpair();
    my $tmp = File::Temp->new;
    print {$tmp} 'w' x 20_000_000;
    close $tmp;
    open my $in, '<', $tmp->filename or die $!;
    $a->settimeout(0.3);
    my $e = eval { $a->sendfile($in); 1 } ? undef : $@;
    ok(ref $e && $e->isa('BSDSocket::Error::Timeout'), 'sendfile to a peer that does not read times out');
    ok($e && $e->sent > 0 && $e->sent < 20_000_000, '... saying how much went: ' . ($e && $e->sent));
    dies_with(sub { $a->sendfile($in, -1) }, errno => EINVAL, op => 'sendfile',
              message => qr/offset must be a non-negative integer/, name => 'a negative offset dies');
    dies_with(sub { $a->sendfile('not a handle') }, errno => EINVAL, op => 'sendfile',
              name => 'sendfile wants a handle or a fd');
}
{
    # sendfile(2) has no MSG_NOSIGNAL: a gone peer must still be EPIPE, not death
    my ($a, $b) = BSDSocket::socketpair();
    $b->close;
    open my $in, '<', $0 or die $!;
    my $handled = 0;
    local $SIG{PIPE} = sub { $handled++ };
    dies_with(sub { $a->sendfile($in) }, errno => EPIPE, op => 'sendfile',
              name => 'sendfile to a closed peer dies EPIPE (and the process lives)');
    is($handled, 0, '... raising no SIGPIPE');
    kill 'PIPE', $$;
    is($handled, 1, 'a SIGPIPE of the caller\'s own still arrives');
}

# ------------------------------------------------------------- batches

{
    my ($u, $v) = udp_pair();
    my $to = $v->getsockname;
    my @messages = map { sprintf 'datagram %02d', $_ } 1 .. 20;
    is($u->send_many(\@messages, $to), 20, 'send_many sends every message to the address');
    my @got = $v->recv_many(32, 100);
    is(scalar @got, 20, 'recv_many returns what is queued, in one call');
    is_deeply([map { $_->[0] } @got], \@messages, '... in order');
    is_deeply($got[0][1], $u->getsockname, '... with the sender\'s address');
    is($got[19][2], 0, '... and its flags');

    # each message to an address of its own
    my ($w) = udp_pair();
    is($u->send_many([['to v', $to], ['to w', $w->getsockname], 'default'], $w->getsockname), 3,
       'send_many with an address per message');
    is_deeply([map { $_->[0] } $v->recv_many(8, 100)], ['to v'], '... the first went to v');
    is_deeply([map { $_->[0] } $w->recv_many(8, 100)], ['to w', 'default'],
              '... the others to w (one by its own address, one by the default)');

    # at most $count; the rest stays queued
    $u->send_many([1 .. 5], $to);
    is(scalar(my @three = $v->recv_many(3, 100)), 3, 'recv_many(3) takes three of five');
    is_deeply([map { $_->[0] } $v->recv_many(10, 100)], [4, 5], '... and the rest are still there');

    # only the first is waited for
    $v->settimeout(5);
    $u->send_many(['a', 'b'], $to);
    my $t0 = time;
    is(scalar(my @two = $v->recv_many(64, 100)), 2, 'with a timeout, recv_many does not wait for $count');
    ok(time - $t0 < 2, '... it returns at once');
    my $parent_pid = $$;
    $v->settimeout(0.2);
    dies_with(sub { $v->recv_many(4, 100) }, class => 'BSDSocket::Error::Timeout', op => 'recv_many',
              name => 'nothing within the timeout: recv_many times out');
    $v->settimeout(0);
    dies_with(sub { $v->recv_many(4, 100) }, errno => EAGAIN, op => 'recv_many',
              name => 'non-blocking with nothing queued: EAGAIN');
    $v->settimeout(undef);

    # a datagram longer than bufsize
    $u->send_many(['x' x 50], $to);
    my ($long) = $v->recv_many(1, 10);
    is(length $long->[0], 10, 'recv_many cuts a long datagram to bufsize');
    ok($long->[2] & MSG_TRUNC, '... and MSG_TRUNC says so');

    is($u->send_many([], $to), 0, 'send_many of nothing sends nothing');
    dies_with(sub { $u->send_many('nope', $to) }, errno => EINVAL, op => 'send_many',
              message => qr/messages must be an array reference/, name => 'send_many wants an array');
    dies_with(sub { $u->send_many([['a', $to, 0, 'extra']]) }, errno => EINVAL, op => 'send_many',
              message => qr/a message is bytes or \[bytes, address\]/, name => 'a message array of four dies');
    dies_with(sub { $u->send_many([['a']]) }, errno => EINVAL, op => 'send_many',
              message => qr/got an array of 1/, name => '... and of one');

    # what recv_many gives, send_many takes: an echo in two calls
    $u->send_many(['ping 1', 'ping 2'], $to);
    my @in = $v->recv_many(8, 100);
    is($v->send_many(\@in), 2, 'send_many takes recv_many\'s [bytes, address, flags] as they are');
    is_deeply([map { $_->[0] } $u->recv_many(8, 100)], ['ping 1', 'ping 2'], '... and echoes them to their senders');
    dies_with(sub { $u->send_many(["\x{263a}"], $to) }, errno => EINVAL, op => 'send_many',
              message => qr/Wide character in send_many/, name => 'send_many refuses wide characters');
    dies_with(sub { $u->send_many([['a', ['127.0.0.1', 70000]]]) }, errno => EINVAL, op => 'address',
              message => qr/port/, name => 'a bad address in a message dies');
    dies_with(sub { $u->send_many(['no address']) }, op => 'send_many',
              name => 'an unconnected UDP socket with no address dies');
    dies_with(sub { $v->recv_many(0, 100) }, errno => EINVAL, op => 'recv_many',
              message => qr/count must be an integer in 1\.\.1024/, name => 'recv_many(0) dies');
    dies_with(sub { $v->recv_many(1025, 100) }, errno => EINVAL, op => 'recv_many',
              name => 'recv_many past 1024 dies');
    dies_with(sub { $v->recv_many(2, -1) }, errno => EINVAL, op => 'recv_many',
              name => 'a negative bufsize dies');
    # (not on UDP, which with GRO reads whole buffers whatever the size)
    my ($x) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM);
    dies_with(sub { $x->recv_many(1024, 2**40) }, errno => ENOMEM, op => 'recv_many',
              name => 'room that cannot be allocated dies ENOMEM');
}

# runs of equal-sized datagrams to one address go as one (UDP GSO); the
# receiver must see exactly the datagrams that were sent, however they went
sub datagrams_ok {
    my ($family, $host, $name) = @_;
    my ($u, $v) = map { my $s = BSDSocket::socket($family, SOCK_DGRAM); $s->bind([$host, 0]); $s } 1, 2;
    my ($w) = map { my $s = BSDSocket::socket($family, SOCK_DGRAM); $s->bind([$host, 0]); $s } 1;
    $v->settimeout(5);
    $w->settimeout(5);
    my @sent = ((map { sprintf '%-100s', "run $_" } 1 .. 99), 'short last',
                'x' x 100, 'y' x 100, 'z' x 7, '', 'after an empty one', 'a' x 100);
    my @to_w = ([('w' x 100), $w->getsockname], [('w' x 100), $w->getsockname]);
    is($u->send_many([@sent, @to_w, 'v again'], $v->getsockname), @sent + 3, "$name: send_many of runs");
    my @got;
    push @got, $v->recv_many(256, 200) while @got < @sent + 1;
    is_deeply([map { $_->[0] } @got], [@sent, 'v again'], "$name: every datagram arrives as itself, in order");
    is(scalar(my @at_w = $w->recv_many(8, 200)), 2, "$name: the run to another address went there");
}
datagrams_ok(AF_INET, '127.0.0.1', 'IPv4');
SKIP: {
    skip 'no IPv6 loopback', 3 unless BSDSocket::has_ipv6() && eval {
        BSDSocket::socket(AF_INET6, SOCK_DGRAM)->bind(['::1', 0]); 1 };
    datagrams_ok(AF_INET6, '::1', 'IPv6');
}
SKIP: {
    # a socket the kernel will not do GSO for (no UDP checksums): the
    # refused run is sent one datagram at a time, and all arrive
    skip 'no SO_NO_CHECK here', 2 unless defined eval { SO_NO_CHECK() };
    my ($u, $v) = udp_pair();
    $u->setsockopt(SOL_SOCKET, SO_NO_CHECK, 1);
    my @sent = map { sprintf '%-64s', $_ } 1 .. 50;
    is($u->send_many(\@sent, $v->getsockname), 50, 'a run GSO refuses still goes, one by one');
    my @got;
    push @got, $v->recv_many(64, 100) while @got < 50;
    is_deeply([map { $_->[0] } @got], \@sent, '... every datagram, in order');
}
SKIP: {
    my $strace = have_program('strace');
    skip 'strace is not installed', 1 unless $strace;
    skip 'strace cannot trace here', 1 unless system("$strace -o /dev/null true 2>/dev/null") == 0;
    skip 'no sendmmsg or UDP GSO in this build', 1 unless platform_has('mmsg') && platform_has('udp_gso');
    my $log = File::Temp->new;
    my $code = 'use BSDSocket qw(:all); my ($u, $v) = map { my $s = BSDSocket::socket(AF_INET, SOCK_DGRAM); '
             . '$s->bind(["127.0.0.1", 0]); $s } 1, 2; $u->send_many([("d" x 64) x 64, "e" x 10], $v->getsockname)';
    system($strace, '-e', 'trace=sendmmsg', '-o', $log->filename, perl_cmd(), '-e', $code);
    my $trace = do { local $/; open my $fh, '<', $log->filename or die $!; <$fh> };
    like($trace, qr/\], 2, MSG_NOSIGNAL\) = 2/, 'strace: 65 datagrams to one address were 2 sendmmsg entries (GSO runs)');
}

# more messages than one sendmmsg takes, to a reader in another process
{
    my ($a, $b) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM);
    my $pid = open(my $out, '-|') // die;
    if (!$pid) {
        $a->close;
        my ($count, $bytes, $in_order) = (0, 0, 1);
        while ($count < 3000) {
            for ($b->recv_many(256, 100)) {
                $in_order = 0 unless $_->[0] eq "message $count";
                $count++;
                $bytes += length $_->[0];
            }
        }
        print "$count $bytes $in_order\n";
        POSIX::_exit(0);
    }
    $b->close;
    my @all = map { "message $_" } 0 .. 2999;
    my $sent = 0;
    $sent += $a->send_many([@all[$sent .. $#all]]) while $sent < @all;
    is($sent, 3000, 'send_many of 3000 messages (three sendmmsg calls at least)');
    chomp(my $line = <$out>);
    close $out;
    my $bytes = 0;
    $bytes += length for @all;
    is($line, "3000 $bytes 1", '... all arrive, in order, whole');
}

# a full socket: send_many says how many went
{
    my ($a, $b) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM);
    $a->settimeout(0);
    my $n = $a->send_many([('z' x 100) x 5000]);
    ok($n > 0 && $n < 5000, "non-blocking send_many stops where the socket is full ($n went)");
    dies_with(sub { $a->send_many(['more']) }, errno => EAGAIN, op => 'send_many',
              name => '... and when none can go it dies EAGAIN');
    my $drained = 0;
    $b->settimeout(0);
    while (1) {
        my @got = eval { $b->recv_many(1024, 200) } or last;
        $drained += @got;
    }
    is($drained, $n, '... the reader gets exactly that many');
}

# ------------------------------------------- review: Perl code mid-call

{
    package OnceCounter;
    sub TIESCALAR { my ($c, $v) = @_; bless { v => $v, n => 0 }, $c }
    sub FETCH { $_[0]{n}++; $_[0]{v} }
    sub STORE { }
}
{
    # each argument's magic runs once
    my ($u, $v) = udp_pair();
    my $to = $v->getsockname;
    my @m;
    tie $m[0], 'OnceCounter', 'tied message';
    $u->send_many(\@m, $to);
    is((tied $m[0])->{n}, 1, 'send_many: a tied message is fetched once');
    tie my $addr, 'OnceCounter', $to;
    $u->send_many(['x'], $addr);
    is((tied $addr)->{n}, 1, 'send_many: a tied address is fetched once');
    tie my $addr2, 'OnceCounter', $to;
    $u->sendmsg(['x'], [], 0, $addr2);
    is((tied $addr2)->{n}, 1, 'sendmsg: a tied address is fetched once');
    tie my $anc, 'OnceCounter', [];
    $u->sendmsg(['x'], $anc, 0, $to);
    is((tied $anc)->{n}, 1, 'sendmsg: tied ancillary data is fetched once');
    $v->recv_many(16, 100) for 1 .. 1;
}
{
    # code run by one argument changes a buffer already read: what goes
    # out is that buffer as it is now, or a clean error; never freed memory
    my ($a, $b) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM);
    my @bufs = ('A' x 100);
    {
        package UndefsBuffer;
        use overload '""' => sub { $bufs[0] = undef; '' }, fallback => 1;
    }
    dies_with(sub { $a->sendmsg(\@bufs, [[SOL_SOCKET, 99, bless({}, 'UndefsBuffer')]]) },
              errno => EINVAL, op => 'sendmsg', message => qr/each buffer must be a string, got undef/,
              name => 'sendmsg: ancillary data whose overloading frees a buffer: a clean error');
    my @m = ('B' x 100);
    {
        package WidensMessage;
        use overload '""' => sub { $m[0] = "\x{263a} wide"; 'second' }, fallback => 1;
    }
    push @m, bless {}, 'WidensMessage';
    dies_with(sub { $a->send_many(\@m) }, errno => EINVAL, op => 'send_many',
              message => qr/Wide character in send_many/,
              name => 'send_many: a message made wide by a later one\'s overloading is refused');
    $b->settimeout(0);
    ok(!eval { $b->recv(10); 1 }, '... and nothing was sent');
}
{
    # a signal handler deletes recv_into's buffer while the call waits
    my ($a, $b) = BSDSocket::socketpair();
    my %h = (buf => 'x' x 10);
    local $SIG{ALRM} = sub { delete $h{buf}; my @churn = map { "v$_" x 10 } 1 .. 50; $a->send('DATA!') };
    Time::HiRes::ualarm(100_000);
    is($b->recv_into($h{buf}, 64), 5, 'recv_into: a handler that deletes the buffer (the call finishes)');
}
{
    # a signal handler drops the last reference to the socket in sendfile
    my ($s, $peer) = BSDSocket::socketpair();
    my $pid = open(my $out, '-|') // die;
    if (!$pid) {
        $s->close;
        select undef, undef, undef, 0.3;
        my $n = 0;
        while (length(my $c = $peer->recv(1 << 20))) { $n += length $c }
        print "$n\n";
        POSIX::_exit(0);
    }
    $peer->close;
    my $tmp = File::Temp->new;
    print {$tmp} 'z' x 8_000_000;
    close $tmp;
    open my $in, '<', $tmp->filename or die $!;
    local $SIG{ALRM} = sub { undef $s; my @churn = map { [1 .. 10] } 1 .. 1000 };
    Time::HiRes::ualarm(100_000);
    my $n = $s->sendfile(fileno $in);
    is($n, 8_000_000, 'sendfile: a handler that drops the socket (the call finishes)');
    undef $s;
    chomp(my $got = <$out>);
    is($got, 8_000_000, '... and the peer got it all');
    close $out;
}
{
    # sendfile from a pipe waits as the socket's timeout says
    my ($a, $b) = BSDSocket::socketpair();
    my ($r, $w) = pipe_pair();
    syswrite $w, 'abc';
    $a->settimeout(0.3);
    my $t0 = Time::HiRes::time();
    my $e = eval { $a->sendfile($r); 1 } ? undef : $@;
    ok(ref $e && $e->isa('BSDSocket::Error::Timeout'), 'sendfile from an idle pipe times out');
    ok(Time::HiRes::time() - $t0 < 2, '... in about the timeout');
    is($e && $e->sent, 3, '... saying what went before it');
    syswrite $w, 'def';
    $a->settimeout(0);
    $e = eval { $a->sendfile($r); 1 } ? undef : $@;
    is($e && $e->errno, EAGAIN, 'a non-blocking socket: EAGAIN when the pipe runs dry');
    is($e && $e->sent, 3, '... with what went');
    is($b->recv(100), 'abcdef', 'the peer has both parts');
}
SKIP: {
    # recv_fds on a socket that also asks for credentials
    skip 'no SO_PASSCRED here', 4 unless defined eval { SO_PASSCRED() };
    my ($a, $b) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM);
    $b->setsockopt(SOL_SOCKET, SO_PASSCRED, 1);
    $a->send_fds(['x'], [0, 1]);
    my (undef, $handles, $flags) = $b->recv_fds(10, 2);
    is(scalar @$handles, 2, 'recv_fds with SO_PASSCRED: the fds still come');
    ok(!($flags & MSG_CTRUNC), '... all of them');
    $a->send_fds(['x'], [0, 1]);
    (undef, $handles, $flags) = $b->recv_fds(10, 1);
    is(scalar @$handles, 1, '... and maxfds still holds');
    ok($flags & MSG_CTRUNC, '... saying the rest were cut');
}
SKIP: {
    # With SO_PASSPIDFD (Linux 6.5) a pidfd comes before the fds, in a
    # control message numbered 4, which on the BSDs and macOS is another
    # message whose data is no fd.  recv_fds closes the pidfd where the
    # number means that (Linux), and never closes what a message it does
    # not know holds: a BSDSOCKET_PORTABLE=1 build, which treats the
    # number as the BSDs do, leaves the pidfd open.
    skip 'needs Linux', 3 unless $^O eq 'linux' && -d '/proc/self/fd';
    my ($a, $b) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM);
    my $so_passpidfd = 76;
    eval { $b->setsockopt(SOL_SOCKET, $so_passpidfd, 1); 1 }
        or skip 'no SO_PASSPIDFD: a kernel older than 6.5', 3;
    my %before = map { $_ => 1 } list_fds();
    $a->send_fds(['x'], [0]);
    my (undef, $handles) = $b->recv_fds(10, 1);
    is(scalar @$handles, 1, 'recv_fds with SO_PASSPIDFD: the fd comes');
    my %mine = map { $_->fileno => 1 } @$handles;
    my @left = grep { !$before{$_} && !$mine{$_} } list_fds();
    if (platform_has('linux_cmsg')) {
        is(scalar @left, 0, '... and the pidfd before it is closed');
    }
    else {
        is(scalar @left, 1, '... and, numbered as elsewhere, the pidfd is left alone');
    }
    like(readlink("/proc/self/fd/$_") // '', qr/pidfd/, '... (it was the pidfd)') for @left;
    ok(1, '... (nothing left to check)') unless @left;
    POSIX::close($_) for @left;
}
sub list_fds {
    opendir my $dh, '/proc/self/fd' or return;
    my @fds = grep { /^\d+$/ && $_ != fileno($dh) } readdir $dh;
    return @fds;
}
{
    # recv_into lvalues: a hash element that does not exist yet, substr
    my ($a, $b) = BSDSocket::socketpair();
    my %h;
    $a->send('new');
    is($b->recv_into($h{fresh}, 10), 3, 'recv_into a hash element that does not exist yet');
    is($h{fresh}, 'new', '... creates it');
    my $buf = 'a' x 10;
    my $bufcopy;
    {
        package MakesReadOnly;
        use overload '0+' => sub { Internals::SvREADONLY($buf, 1); 10 }, fallback => 1;
    }
    $a->send('xyz');
    dies_with(sub { $b->recv_into($buf, bless {}, 'MakesReadOnly') }, errno => EINVAL, op => 'recv_into',
              message => qr/buffer is read-only/, name => 'nbytes whose overloading makes the buffer read-only');
    Internals::SvREADONLY($buf, 0);
}
SKIP: {
    # a GSO run refused on the retry after a wait still goes one by one
    my $strace = have_program('strace');
    skip 'strace is not installed', 1 unless $strace;
    skip 'strace cannot inject here', 1
        unless system("$strace -o /dev/null -e inject=getpid:error=EPERM true 2>/dev/null") == 0;
    skip 'no sendmmsg or UDP GSO in this build', 1 unless platform_has('mmsg') && platform_has('udp_gso');
    my $code = 'use BSDSocket qw(:all); my $r = BSDSocket::socket(AF_INET, SOCK_DGRAM); $r->bind(["127.0.0.1", 0]); '
             . 'my $s = BSDSocket::socket(AF_INET, SOCK_DGRAM); $s->setsockopt(SOL_SOCKET, SO_NO_CHECK, 1); '
             . '$s->settimeout(1); print $s->send_many([("x" x 100) x 10], $r->getsockname)';
    open my $run, '-|', $strace, '-o', '/dev/null', '-e', 'trace=sendmmsg', '-e', 'inject=sendmmsg:error=EAGAIN:when=1',
        perl_cmd(), '-e', $code or die $!;
    my $said = do { local $/; <$run> };
    close $run;
    is($said, 10, 'send_many: a GSO run refused after an EAGAIN wait is sent one datagram at a time');
}

# ------------------------------------ fixes: streams, reused fds, sent

# The ualarm tests above took over SIGALRM's timer: arm the guard again.
guard_alarm(120);

# Run $child in a forked process, so that a crash or a hang there fails
# the tests that look at its report, not the whole file.  $child gets a
# function that sends the parent a line ('ready', 'handled'), and returns
# a list of plain key/value pairs: its report, which comes back as JSON.
# Meanwhile $meanwhile runs here with the child's pid and a function that
# waits for one of those lines (false if the child finished first).
# Returns (\%report, wait status, what $meanwhile returned).
sub in_child {
    my ($child, $meanwhile) = @_;
    my ($r, $w) = pipe_pair();
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $r;
        $w->autoflush(1);
        guard_alarm(30);
        my $tell = sub { print {$w} "$_[0]\n" };
        my %report = eval { $child->($tell) };
        %report = (died => "$@") if $@;
        print {$w} 'report ', JSON::PP->new->canonical->latin1->encode(\%report), "\n";
        close $w;
        POSIX::_exit(0);
    }
    close $w;
    my $json;
    my $hear = sub {
        my ($want) = @_;
        while (defined(my $line = <$r>)) {
            chomp $line;
            return 1 if $line eq $want;
            if ($line =~ /^report (.*)/s) { $json = $1; return 0 }
        }
        return 0;
    };
    my @also = $meanwhile ? eval { $meanwhile->($pid, $hear) } : ();
    diag("while the child ran: $@") if $@;
    $hear->('(the report)') unless defined $json;
    close $r;
    waitpid $pid, 0;
    my $status = $?;
    my $report = defined $json ? JSON::PP->new->latin1->decode($json) : { died => "no report, wait status $status" };
    diag("the child: $report->{died}") if $report->{died};
    return ($report, $status, @also);
}

# What a BSDSocket::Error says, as plain values for a report.
sub error_fields {
    my ($e) = @_;
    return (error => undef) unless $e;
    return (error => "$e") unless ref $e && eval { $e->isa('BSDSocket::Error') };
    return (error => "$e", class => ref $e, errno => $e->errno, op => $e->op, sent => $e->sent);
}

sub report_died_with {
    my ($report, $errno, $op, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    ok(defined $report->{errno} && $report->{errno} == $errno && ($report->{op} // '') eq $op, $name)
        or diag(explain $report);
}


# Everything the peer has until EOF (or, with $nonblocking, until none is
# there).
sub drain {
    my ($sock, $nonblocking) = @_;
    $sock->settimeout($nonblocking ? 0 : 10);
    my $got = '';
    while (1) {
        my $chunk = eval { $sock->recv(1 << 20) };
        last unless defined $chunk && length $chunk;
        $got .= $chunk;
    }
    return $got;
}

sub file_of {
    my ($path, $bytes) = @_;
    open my $out, '>', $path or die "$path: $!";
    print {$out} $bytes;
    close $out or die "$path: $!";
    return $path;
}

# send_many on a stream socket: a short write would count a message that
# only partly went (it returned 1 for an 8 MB message of which the peer
# got 3.9 MB).  It dies EOPNOTSUPP and sends nothing.
{
    my (undef, $tcp, $tcp_peer) = tcp_pair();
    my ($unix, $unix_peer) = BSDSocket::socketpair(AF_UNIX, SOCK_STREAM);
    for my $case (['TCP', $tcp, $tcp_peer], ['AF_UNIX stream', $unix, $unix_peer]) {
        my ($name, $a, $b) = @$case;
        $a->settimeout(undef);
        dies_with(sub { $a->send_many(['small', 'messages']) }, errno => EOPNOTSUPP, op => 'send_many',
                  message => qr/stream socket/, name => "$name: send_many dies EOPNOTSUPP (blocking)");
        $a->settimeout(2);
        dies_with(sub { $a->send_many(['A' x 8_000_000, 'B' x 10]) }, errno => EOPNOTSUPP, op => 'send_many',
                  name => "$name: send_many of 8 MB and 10 bytes with a timeout dies EOPNOTSUPP");
        $b->settimeout(0);
        my $got = eval { $b->recv(1 << 20) };
        ok(!defined $got && ref $@ && $@->errno == EAGAIN, "$name: ... and the peer received nothing")
            or diag('the peer received ' . length(($got // '') . drain($b, 1)) . ' bytes');
        $a->settimeout(5);
        is($a->sendall('after'), 5, "$name: the socket still sends");
        $b->settimeout(5);
        is($b->recv(100), 'after', '... and the peer gets just that');
    }
}
{
    # datagrams and records still go, each whole
    for my $case (['AF_UNIX datagram', SOCK_DGRAM], ['AF_UNIX seqpacket', SOCK_SEQPACKET]) {
        my ($name, $type) = @$case;
        my ($a, $b) = BSDSocket::socketpair(AF_UNIX, $type);
        is($a->send_many(['one', 'two', 'x' x 1000]), 3, "$name: send_many still sends");
        $b->settimeout(5);
        my @got;
        push @got, map { $_->[0] } $b->recv_many(8, 2000) while @got < 3;
        is_deeply(\@got, ['one', 'two', 'x' x 1000], "$name: ... each message whole, in order");
    }
}

# sendfile and send_fds: a signal handler closes the handle while the call
# waits, and opens another file, which gets the same fd number.  The fd is
# looked up again from the handle (and its file compared), so the call
# dies EBADF instead of sending that file, or passing a descriptor for it.
my $dir = temp_dir();
my $first = file_of("$dir/first", 'a' x 4_000_000);
my $second = file_of("$dir/second", 'Z' x 4_000_000);
my $second_id = join ':', (stat $second)[0, 1];
for my $timeout (undef, 10) {
    my $mode = defined $timeout ? 'with a timeout' : 'blocking';
    my ($s, $peer) = BSDSocket::socketpair();
    my ($report, $status, $got) = in_child(sub {
        my ($tell) = @_;
        $peer->close;
        $s->settimeout($timeout);
        open my $fh, '<', $first or die "$first: $!";
        my $number = fileno $fh;
        my ($other, $same);
        local $SIG{USR1} = sub {
            close $fh;
            open $other, '<', $second or die "$second: $!";
            $same = fileno($other) == $number ? 1 : 0;
            $tell->('handled');
        };
        $tell->('ready');
        my $n = eval { $s->sendfile($fh) };
        return (returned => $n, same_fd => $same, error_fields($@));
    }, sub {
        my ($pid, $hear) = @_;
        $s->close;
        $hear->('ready') && wait_asleep($pid, settle => 0.05) or return;
        kill 'USR1', $pid;
        $hear->('handled') or return;
        return drain($peer);
    });
    is($status, 0, "sendfile, handle reopened by a handler ($mode): the child finished");
    ok($report->{same_fd}, '... the other file got the same fd number');
    report_died_with($report, EBADF, 'sendfile', '... sendfile died EBADF');
    ok(defined $report->{sent} && $report->{sent} > 0, '... with sent defined: ' . ($report->{sent} // 'undef'));
    $got //= '';
    is(length $got, $report->{sent} // -1, '... which is what the peer received');
    ok($got =~ /\Aa+\z/, '... all of it from the first file, nothing from the second')
        or diag('bytes of the second file: ' . ($got =~ tr/Z//));
}
for my $timeout (undef, 10) {
    my $mode = defined $timeout ? 'with a timeout' : 'blocking';
    my ($s, $peer) = BSDSocket::socketpair();
    my ($report, $status, $data, @ids) = in_child(sub {
        my ($tell) = @_;
        $peer->close;
        $s->settimeout(0);
        my $filled = 0;
        for my $size (4096, 1) {
            while (1) { my $n = eval { $s->send('f' x $size) } or last; $filled += $n }
        }
        $s->settimeout($timeout);
        open my $fh, '<', $first or die "$first: $!";
        my $number = fileno $fh;
        my ($other, $same);
        local $SIG{USR1} = sub {
            close $fh;
            open $other, '<', $second or die "$second: $!";
            $same = fileno($other) == $number ? 1 : 0;
            $tell->('handled');
        };
        $tell->('ready');
        my $n = eval { $s->send_fds(['payload'], [$fh]) };
        return (filled => $filled, returned => $n, same_fd => $same, error_fields($@));
    }, sub {
        my ($pid, $hear) = @_;
        $s->close;
        $hear->('ready') && wait_asleep($pid, settle => 0.05) or return;
        kill 'USR1', $pid;
        $hear->('handled') or return;
        $peer->settimeout(10);
        my ($data, @ids) = ('');
        while (1) {
            my ($bytes, $handles) = $peer->recv_fds(1 << 20, 8);
            last unless length $bytes;
            $data .= $bytes;
            push @ids, map { join ':', (stat $_)[0, 1] } @$handles;
        }
        return ($data, @ids);
    });
    is($status, 0, "send_fds, handle reopened by a handler ($mode): the child finished");
    ok($report->{same_fd}, '... the other file got the same fd number');
    report_died_with($report, EBADF, 'send_fds', '... send_fds died EBADF');
    ok(!grep({ $_ eq $second_id } @ids), '... the receiver got no fd of the other file');
    is(scalar @ids, 0, '... nor any fd');
    ok(defined $data && length $data == ($report->{filled} // -1) && $data =~ /\Af+\z/,
       '... and only the bytes that filled the buffer, none of the message');
}

# The arguments' own Perl code closes the handle and opens another file on
# its number: the fd is looked up after that code ran.  (In children: a
# string-overloaded buffer was also the -DDEBUGGING abort, below.)
my $small = file_of("$dir/small", 'first ' x 100);
my $other_small = file_of("$dir/other-small", 'SECOND' x 100);
my $other_small_id = join ':', (stat $other_small)[0, 1];
# An object whose conversion, to a number or a string, does that to $$fh.
{
    package ReopensHandle;
    use overload '0+' => \&reopen, '""' => \&reopen, fallback => 1;
    sub new { my ($class, $fh, $path, $value) = @_; bless { fh => $fh, path => $path, value => $value }, $class }
    sub reopen {
        my ($self) = @_;
        my $number = fileno ${ $self->{fh} };
        close ${ $self->{fh} };
        open $self->{other}, '<', $self->{path} or die "$self->{path}: $!";
        $self->{same} = fileno($self->{other}) == $number ? 1 : 0;
        return $self->{value};
    }
}
{
    my ($s, $peer) = BSDSocket::socketpair();
    my ($report, $status) = in_child(sub {
        open my $fh, '<', $small or die "$small: $!";
        my $offset = ReopensHandle->new(\$fh, $other_small, 0);
        my $n = eval { $s->sendfile($fh, $offset) };
        my %r = (returned => $n, same_fd => $offset->{same}, error_fields($@));
        $r{received} = drain($peer, 1);
        return %r;
    });
    is($status, 0, 'sendfile, an offset whose numeric overloading reopens the handle: the child finished');
    ok($report->{same_fd}, '... the other file got the same fd number');
    report_died_with($report, EBADF, 'sendfile', '... sendfile died EBADF');
    is(length($report->{received} // ''), 0, '... and the peer received nothing')
        or diag('the peer got: ' . substr($report->{received}, 0, 24) . '...');
}
{
    my ($s, $peer) = BSDSocket::socketpair();
    my ($report, $status) = in_child(sub {
        open my $fh, '<', $small or die "$small: $!";
        my $buffer = ReopensHandle->new(\$fh, $other_small, 'buffer');
        my $n = eval { $s->send_fds(['x', $buffer], [$fh]) };
        my %r = (returned => $n, same_fd => $buffer->{same}, error_fields($@));
        $peer->settimeout(0);
        my ($data, $handles) = eval { $peer->recv_fds(100, 4) };
        $r{received} = $data;
        $r{fds} = join ' ', map { join ':', (stat $_)[0, 1] } @{ $handles || [] };
        return %r;
    });
    is($status, 0, 'send_fds, a buffer whose string overloading reopens the handle: the child finished');
    ok($report->{same_fd}, '... the other file got the same fd number');
    report_died_with($report, EBADF, 'send_fds', '... send_fds died EBADF');
    ok(!defined $report->{received}, '... and nothing was sent')
        or diag("the peer got '$report->{received}'");
    ok(index($report->{fds} // '', $other_small_id) < 0, '... no fd of the other file was passed');
}

# a handler closes the socket while sendall or sendfile waits on a full
# buffer: EBADF, and sent says how many bytes went (it was undef)
my $big = file_of("$dir/big", 'q' x 4_000_000);
for my $op (qw(sendall sendfile)) {
    for my $timeout (undef, 10) {
        my $mode = defined $timeout ? 'with a timeout' : 'blocking';
        my ($s, $peer) = BSDSocket::socketpair();
        my ($report, $status) = in_child(sub {
            my ($tell) = @_;
            $s->settimeout($timeout);
            open my $in, '<', $big or die "$big: $!";
            my $bytes = 'q' x 4_000_000;
            local $SIG{USR1} = sub { $s->close };
            $tell->('ready');
            my $n = eval { $op eq 'sendall' ? $s->sendall($bytes) : $s->sendfile($in) };
            my %r = (returned => $n, error_fields($@));
            $r{received} = length drain($peer, 1);
            return %r;
        }, sub {
            my ($pid, $hear) = @_;
            $s->close;
            $peer->close;
            $hear->('ready') && wait_asleep($pid, settle => 0.05) or return;
            kill 'USR1', $pid;
            return;
        });
        is($status, 0, "$op, socket closed by a handler ($mode): the child finished");
        report_died_with($report, EBADF, $op, "... $op died EBADF");
        ok(defined $report->{sent}, '... with sent defined: ' . ($report->{sent} // 'undef'));
        ok(($report->{sent} // 0) > 0 && $report->{sent} == ($report->{received} // -1),
           '... the bytes that went, as many as the peer read: ' . ($report->{received} // 'undef'));
    }
}

# messages that are objects with string overloading: what goes is the
# string (under a -DDEBUGGING perl this was an assertion failure, reading
# the reference's string buffer: each case runs in a child)
{
    package StringObject;
    use overload '""' => sub { ${ $_[0] } }, fallback => 1;
    sub new { my ($class, $text) = @_; bless \$text, $class }
}
{
    my ($u, $v) = udp_pair();
    my ($report, $status) = in_child(sub {
        my $count = $u->send_many([StringObject->new('udp object'),
                                   [StringObject->new('with its own address'), $v->getsockname], 'plain'],
                                  $v->getsockname);
        $v->settimeout(5);
        my @got;
        push @got, map { $_->[0] } $v->recv_many(8, 100) while @got < 3;
        return (count => $count, got => join '|', @got);
    });
    is($status, 0, 'send_many on UDP with objects as messages: the child finished');
    is($report->{count}, 3, '... all three went');
    is($report->{got}, 'udp object|with its own address|plain', '... and the peer got their strings');
}
{
    my ($a, $b) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM);
    my ($report, $status) = in_child(sub {
        my $count = $a->send_many([StringObject->new('unix object'), 'plain']);
        $b->settimeout(5);
        my @got;
        push @got, map { $_->[0] } $b->recv_many(8, 100) while @got < 2;
        return (count => $count, got => join '|', @got);
    });
    is($status, 0, 'send_many on AF_UNIX datagrams with an object as a message: the child finished');
    is($report->{count}, 2, '... both went');
    is($report->{got}, 'unix object|plain', '... and the peer got the string');
}
{
    my ($a, $b) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM);
    my ($report, $status) = in_child(sub {
        my $count = $a->sendmsg([StringObject->new('object '), 'and plain']);
        $b->settimeout(5);
        return (count => $count, got => scalar $b->recv(100));
    });
    is($status, 0, 'sendmsg with an object as a buffer: the child finished');
    is($report->{count}, 16, '... counting its bytes');
    is($report->{got}, 'object and plain', '... and the peer got its string');
}

# sendfile(2) that sends part of the file and then finds the peer gone
# returns a count and raises SIGPIPE all the same: that one is taken back
# too (the next call dies EPIPE), never left to kill the process.
{
    my ($report, $status) = in_child(sub {
        my $l = tcp_listener();
        my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
        $c->connect($l->getsockname);
        my ($s) = $l->accept;
        $s->send('x');
        $s->close;                  # unread data: the close resets
        select undef, undef, undef, 0.1;
        my $dir = temp_dir();
        open my $fh, '+>', "$dir/big" or die $!;
        print {$fh} 'y' x (4 << 20);
        close $fh;
        open $fh, '<', "$dir/big" or die $!;
        $c->settimeout(0);
        my @errs;
        for (1 .. 3) {
            eval { $c->sendfile($fh); 1 } or push @errs, (ref $@ ? $@->errname : "$@");
        }
        return (alive => 1, errs => join(',', @errs));
    });
    is($status, 0, 'sendfile to a peer that reset after part went: no SIGPIPE kills the process');
    ok($report->{alive}, '... the child lived to tell')
        and like($report->{errs}, qr/EPIPE|ECONNRESET/, '... and sendfile dies EPIPE (or ECONNRESET)');
}

done_testing;
