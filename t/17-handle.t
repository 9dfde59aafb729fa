use strict;
use warnings;
use Config;
# (threads before Test::More, as threads wants)
BEGIN {
    our $HAVE_THREADS = $Config{useithreads} && eval { require threads; threads->import; 1 };
}
use Test::More;
use feature 'say';
use Errno qw(EAGAIN EBADF EINVAL EPIPE ETIMEDOUT);
use Fcntl qw(:mode);
use Digest::MD5 ();
use IO::Handle ();
use JSON::PP ();
use POSIX ();
use Scalar::Util ();
use Socket ();
use Time::HiRes qw(time ualarm);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);

# A socket object is a Perl filehandle (see "A SOCKET IS A FILEHANDLE"):
# perl's builtins on it, the socket's rules (timeout, signals, no
# SIGPIPE, autoflush) through it, one read buffer shared with recv and
# friends, a handle from every constructor, threads and fork, makefile,
# leaks, and misuse.  Crash-prone cases run in child processes that
# report to this one.

our $HAVE_THREADS;
guard_alarm(180);

# ------------------------------------------------------------ helpers

# Run $code in a child process, so that a crash or a hang there fails the
# tests that look at its report, not the whole file.  The child returns a
# list of plain key/value pairs, which come back as JSON.  in_child
# returns (\%report, wait status); spawn_child starts one and returns at
# once, collect_child waits for it and returns the same.
sub in_child { collect_child(spawn_child(@_)) }
sub spawn_child {
    my ($code) = @_;
    pipe(my $from_child, my $to_parent) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $from_child;
        $SIG{ALRM} = 'DEFAULT';         # a child that hangs dies of its own alarm
        alarm 60;
        my %report = eval { $code->() };
        %report = (died => "$@") if $@;
        print {$to_parent} JSON::PP->new->canonical->latin1->encode(\%report);
        close $to_parent;
        POSIX::_exit(0);
    }
    close $to_parent;
    return [$pid, $from_child];
}
sub collect_child {
    my ($pid, $from_child) = @{ $_[0] };
    my $json = do { local $/; <$from_child> };
    close $from_child;
    waitpid $pid, 0;
    my $status = $?;
    # (a child that crashed has no report: child_ok says how it ended)
    my $report = length($json // '') ? JSON::PP->new->latin1->decode($json) : {};
    diag("the child died: $report->{died}") if $report->{died};
    return ($report, $status);
}

sub child_ok {
    my ($status, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    ok($status == 0, $name)
        or diag($status & 127 ? 'the child was killed by signal ' . ($status & 127)
                              : 'the child exited with ' . ($status >> 8));
}

# A child that sends this process $signal each time it sleeps in the
# call under test, $count times, then (when it sleeps again) sends $data
# on $peer.  With ack, it waits between signals for the handler to call
# the sub returned (so that no two signals merge into one).  Returns
# (pid, ack sub).
sub poke_while_asleep {
    my (%o) = @_;
    my ($count, $signal) = ($o{count} // 1, $o{signal} // 'USR1');
    my $parent = $$;
    pipe(my $ack_r, my $ack_w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $ack_w;
        $SIG{ALRM} = 'DEFAULT';
        alarm 60;
        for (1 .. $count) {
            wait_asleep($parent) or POSIX::_exit(1);
            kill $signal, $parent;
            if ($o{ack}) { sysread($ack_r, my $k, 1) or POSIX::_exit(2) }
        }
        if ($o{peer}) {
            wait_asleep($parent) or POSIX::_exit(3);
            $o{peer}->send($o{data});
        }
        POSIX::_exit(0);
    }
    close $ack_r;
    return ($pid, sub { syswrite $ack_w, 'k' });
}

# A reader in a child process, forked before anything is buffered in the
# writer's handles: it closes its copies of the writers (@{$o{close}}),
# waits $o{delay} seconds or for reader_go, then reads $o{peer} to EOF.
# reader_result gives its byte count and MD5.
sub start_reader {
    my (%o) = @_;
    pipe(my $go_r, my $go_w) or die "pipe: $!";
    pipe(my $rep_r, my $rep_w) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        $SIG{ALRM} = 'DEFAULT';
        alarm 90;
        close $go_w;
        close $rep_r;
        close $_ for @{ $o{close} || [] };
        if ($o{wait_go}) { my $go = <$go_r> }
        select undef, undef, undef, $o{delay} if $o{delay};
        my $md5 = Digest::MD5->new;
        my $n = 0;
        $o{peer}->settimeout(60);
        while (1) {
            my $d = eval { $o{peer}->recv(1 << 20) };
            last unless defined $d && length $d;
            $n += length $d;
            $md5->add($d);
        }
        print {$rep_w} "$n ", $md5->hexdigest, "\n";
        close $rep_w;
        POSIX::_exit(0);
    }
    close $go_r;
    close $rep_w;
    $o{peer}->close;                    # the child reads, not this process
    return { pid => $pid, go => $go_w, report => $rep_r };
}
sub reader_go { my ($r) = @_; print { $r->{go} } "go\n"; close $r->{go} }
sub reader_result {
    my ($r) = @_;
    close $r->{go} if $r->{go}->opened;
    my $line = readline $r->{report};
    close $r->{report};
    waitpid $r->{pid}, 0;
    return (split(' ', $line // ''), $?);
}

# Fill the socket's send buffer (the peer reads nothing): what is sent,
# so that the peer's stream can be checked to the byte.
sub fill {
    my ($s) = @_;
    my $was = $s->gettimeout;
    $s->settimeout(0);
    my $sent = '';
    while (1) {
        my $chunk = 'F' x 4096;
        my $n = eval { $s->send($chunk) } or last;
        $sent .= substr($chunk, 0, $n);
    }
    $s->settimeout($was);
    return $sent;
}

sub elapsed {
    my ($code) = @_;
    my $t0 = time;
    $! = 0;
    my @r = $code->();
    my $err = $! + 0;
    return (time - $t0, $err, @r);
}

sub md5 { Digest::MD5::md5_hex($_[0]) }

# ------------------------------------------------ 1. builtins on the object

{
    my ($s, $peer) = BSDSocket::socketpair();
    $peer->settimeout(10);
    is(fileno($s), $s->fileno, 'fileno($s) == $s->fileno');
    is_deeply([PerlIO::get_layers($s)], ['bsdsocket'], 'its handle reads through the bsdsocket layer');
    is_deeply([PerlIO::get_layers($s, output => 1)], ['bsdsocket'], '... and writes through it');

    ok(print({$s} "printed\n"), 'print {$s} returns true');
    ok(printf({$s} "%s-%03d\n", 'printf', 7), 'printf {$s}');
    ok(say({$s} 'said'), 'say {$s}');
    is(scalar <$peer>, "printed\n", '<$peer> reads the printed line');
    is(readline($peer), "printf-007\n", 'readline($peer) the printf one');
    is(read($peer, my $buf, 3), 3, 'read($peer, $buf, 3) returns 3');
    is($buf, 'sai', '... the bytes');
    is(getc($peer), 'd', 'getc');
    is(getc($peer), "\n", 'getc again');
    $s->send("more\n");
    ok(!eof($peer), 'eof is false with data waiting');
    is($peer->pending, 5, '... which eof read ahead');
    is(scalar <$peer>, "more\n", '... and readline returns it');
    ok($s->print("method print\n"), '$s->print');
    ok($s->printf("%d\n", 42), '$s->printf');
    ok($s->say('method say'), '$s->say');
    is(join('', map { scalar <$peer> } 1 .. 3), "method print\n42\nmethod say\n", '... all arrived');
    $s->close;
    ok(eof($peer), 'eof is true once the peer closed');
    is(scalar <$peer>, undef, 'readline returns undef at EOF');
    is(read($peer, $buf, 10), 0, 'read returns 0 at EOF');
}

# sysread and syswrite builtins
{
    my ($s, $peer) = BSDSocket::socketpair();
    $peer->settimeout(10);
    is(syswrite($s, 'abcdef'), 6, 'syswrite: the whole string');
    is(syswrite($s, 'ghijkl', 2), 2, 'syswrite with a length');
    is(syswrite($s, 'ghijkl', 2, 3), 2, 'syswrite with a length and an offset');
    is(syswrite($s, 'ghijkl', 10, -2), 2, 'syswrite with a negative offset and a length past the end');
    my $num = 12345;
    is(syswrite($s, $num, 3, 1), 3, 'syswrite of a number');
    is(syswrite($s, ''), 0, 'syswrite of nothing returns 0');
    is($peer->recv(100), 'abcdefghjkkl234', '... the peer got exactly those bytes');

    $s->send('abcdefghijklmnop');
    my $buf = 'XY';
    is(sysread($peer, $buf, 4, 2), 4, 'sysread with an offset');
    is($buf, 'XYabcd', '... appends at the offset');
    $buf = 'XY';
    is(sysread($peer, $buf, 2, 5), 2, 'sysread with an offset past the end');
    is($buf, "XY\0\0\0ef", '... pads with \0');
    $buf = 'XYZ';
    is(sysread($peer, $buf, 2, -1), 2, 'sysread with a negative offset');
    is($buf, 'XYgh', '... counts from the end');
    my $undef;
    is(sysread($peer, $undef, 3), 3, 'sysread into an undef buffer');
    is($undef, 'ijk', '... which holds the bytes');
    my $number = 3.5;
    is(sysread($peer, $number, 100), 5, 'sysread into a buffer holding a number');
    is($number, 'lmnop', '... which becomes the bytes');
    # offsets before the start, the most negative integer included (its
    # negation does not exist: UBSan caught one that tried)
    for my $offset (-4, -9223372036854775807 - 1) {
        my $e = eval { syswrite($s, 'abc', 1, $offset); 1 } ? '' : $@;
        like(ref $e ? $e->message : $e, qr/Offset outside string/, "syswrite with offset $offset dies");
        $buf = 'xyz';
        $e = eval { sysread($peer, $buf, 1, $offset); 1 } ? '' : $@;
        like(ref $e ? $e->message : $e, qr/Offset outside string/, "sysread with offset $offset dies");
    }
    $s->close;
    is(sysread($peer, $buf, 10), 0, 'sysread returns 0 at EOF');
}

# binmode, -S, stat, 4-argument select
{
    my ($s, $peer) = BSDSocket::socketpair();
    $s->settimeout(10);
    ok(binmode($s), 'binmode($s)');
    ok(binmode($s, ':raw'), 'binmode($s, ":raw")');
    is_deeply([PerlIO::get_layers($s)], ['bsdsocket'], '... keeps the bsdsocket layer');
    ok($s->binmode, '$s->binmode');
    ok(binmode($s, ':encoding(UTF-8)'), 'binmode with an encoding layer');
    $peer->send("caf\xc3\xa9\n");
    is(scalar <$s>, "caf\x{e9}\n", '... decodes what comes in');
    ok(binmode($s), 'binmode: bytes again');
    is_deeply([PerlIO::get_layers($s)], ['bsdsocket'], '... the bsdsocket layer alone');
    $peer->send("\xc3\xa9\n");
    is(length(scalar <$s>), 3, '... reads bytes');

    ok(-S $s, '-S $s');
    my @st = stat($s);
    is(scalar @st, 13, 'stat($s) works');
    ok(S_ISSOCK($st[2]), '... and says socket');

    my $rin = '';
    vec($rin, fileno($s), 1) = 1;
    is(select(my $rout = $rin, undef, undef, 0), 0, '4-argument select: nothing to read');
    $peer->send('x');
    is(select($rout = $rin, undef, undef, 10), 1, '... readable once data came');
    ok(vec($rout, fileno($s), 1), '... on the socket\'s bit');
    is(select(undef, my $wout = $rin, undef, 10), 1, '... and writable');
}

# perl's socket builtins on the object
{
    my ($l, $c, $s) = tcp_pair();
    $s->settimeout(10);
    is(send($c, 'ping', 0), 4, 'send($s, ...) builtin');
    my $got;
    ok(defined recv($s, $got, 100, 0), 'recv($s, ...) builtin');
    is($got, 'ping', '... the bytes');
    is(unpack('i', getsockopt($c, SOL_SOCKET, SO_TYPE)), SOCK_STREAM, 'getsockopt builtin');
    ok(setsockopt($c, SOL_SOCKET, SO_KEEPALIVE, 1), 'setsockopt builtin');
    is($c->getsockopt(SOL_SOCKET, SO_KEEPALIVE), 1, '... the socket has the option');
    my ($port, $ip) = Socket::unpack_sockaddr_in(getpeername($c));
    is_deeply([Socket::inet_ntoa($ip), $port], $c->getpeername, 'getpeername builtin');
    ($port, $ip) = Socket::unpack_sockaddr_in(getsockname($c));
    is_deeply([Socket::inet_ntoa($ip), $port], $c->getsockname, 'getsockname builtin');
    ok(shutdown($c, 1), 'shutdown builtin');
    is($s->recv(10), '', '... the peer sees EOF');
}

# close($s) and $s->close
{
    my ($s, $peer) = BSDSocket::socketpair();
    ok(close($s), 'close($s) returns true');
    is($s->fileno, -1, '... then $s->fileno is -1');
    ok(!defined fileno($s), '... fileno($s) is undef');
    ok(!$s->opened, '... opened is false');
    dies_with(sub { $s->send('x') }, errno => EBADF, op => 'send', name => '... send dies EBADF');
    dies_with(sub { $s->recv(10) }, errno => EBADF, op => 'recv', name => '... recv dies EBADF');
    dies_with(sub { $s->getsockname }, errno => EBADF, op => 'getsockname', name => '... getsockname dies EBADF');
    dies_with(sub { $s->settimeout(1) }, errno => EBADF, op => 'settimeout', name => '... settimeout dies EBADF');
    is($peer->recv(10), '', '... and the peer sees EOF');

    my ($t, $tpeer) = BSDSocket::socketpair();
    $t->close;
    ok(!defined fileno($t), '$s->close: fileno($s) is undef');
    no warnings;
    $! = 0;
    ok(!print({$t} 'x'), '... print {$s} fails');
    is($! + 0, EBADF, '... with $! EBADF');
    $! = 0;
    ok(!defined scalar <$t>, '... readline returns undef');
}

# --------------------------------- 2. the socket's rules through the handle

# readline under a timeout: undef with ETIMEDOUT, then the line once it comes
{
    my ($s, $peer) = BSDSocket::socketpair();
    $s->settimeout(0.3);
    my ($t, $err, $line) = elapsed(sub { scalar <$s> });
    ok(!defined $line, '<$s> with settimeout(0.3) and nothing to read returns undef');
    is($err, ETIMEDOUT, '... with $! ETIMEDOUT');
    ok($t >= 0.25 && $t < 3, sprintf '... after %.2f s', $t);
    $peer->send("the next line\n");
    is(scalar <$s>, "the next line\n", '... then reads the next line once it arrives');

    # per call: a second wait is a wait of its own
    ($t, $err, $line) = elapsed(sub { scalar <$s> });
    ok(!defined $line && $err == ETIMEDOUT && $t >= 0.25 && $t < 3,
       sprintf 'a second readline times out on its own, after %.2f s', $t);
    ($t, $err, my $n) = elapsed(sub { read($s, my $buf, 10) });
    ok(!defined $n && $err == ETIMEDOUT && $t >= 0.25 && $t < 3, sprintf 'read times out too (%.2f s)', $t);
    ($t, $err, $n) = elapsed(sub { sysread($s, my $buf, 10) });
    ok(!defined $n && $err == ETIMEDOUT && $t >= 0.25 && $t < 3, sprintf 'sysread times out too (%.2f s)', $t);
    ($t, $err, $n) = elapsed(sub { $s->sysread(my $buf, 10) });
    ok(!defined $n && $err == ETIMEDOUT && $t >= 0.25 && $t < 3, sprintf '$s->sysread times out too (%.2f s)', $t);

    # a timeout in the middle of a line returns the part that came
    $peer->send('part');
    ($t, $err, $line) = elapsed(sub { scalar <$s> });
    is($line, 'part', 'a timeout in the middle of a line returns the part that came');
    $peer->send(" rest\n");
    is(scalar <$s>, " rest\n", '... and the next readline the rest');

    # eof waits as the timeout says, and answers true when the time runs
    # out (as for an error: the POD says so)
    ($t, $err, my $eof) = elapsed(sub { eof($s) });
    ok($t >= 0.25 && $t < 3, sprintf 'eof waits the timeout for the next byte (%.2f s)', $t);
    ok($eof, '... and answers true when the time runs out, as documented');
    $peer->send("after eof\n");
    is(scalar <$s>, "after eof\n", '... the handle reads on');
}

# non-blocking
{
    my ($s, $peer) = BSDSocket::socketpair();
    $s->settimeout(0);
    my ($t, $err, $line) = elapsed(sub { scalar <$s> });
    ok(!defined $line, 'settimeout(0): readline with nothing to read returns undef');
    is($err, EAGAIN, '... with $! EAGAIN');
    ok($t < 1, sprintf '... at once (%.3f s)', $t);
    ($t, $err, my $n) = elapsed(sub { sysread($s, my $buf, 10) });
    ok(!defined $n && $err == EAGAIN, 'sysread: EAGAIN');
    ($t, $err, $n) = elapsed(sub { read($s, my $buf, 10) });
    ok(!defined $n && $err == EAGAIN, 'read: EAGAIN');
    $peer->send("now\n");
    is(scalar <$s>, "now\n", '... and reads what came since');
}

# no SIGPIPE: a child with SIGPIPE at its default prints to a closed peer
{
    my ($report, $status) = in_child(sub {
        $SIG{PIPE} = 'DEFAULT';
        my ($s, $peer) = BSDSocket::socketpair();
        $peer->close;
        my %r;
        $! = 0;
        $r{print} = print({$s} "to nobody\n") ? 1 : 0;
        $r{print_errno} = $! + 0;
        $! = 0;
        $r{big_print} = print({$s} 'x' x 200_000) ? 1 : 0;
        $r{big_print_errno} = $! + 0;
        $! = 0;
        $r{syswrite} = syswrite($s, 'x');
        $r{syswrite_errno} = $! + 0;
        $! = 0;
        $r{method} = $s->syswrite('x');
        $r{method_errno} = $! + 0;
        return %r;
    });
    child_ok($status, 'print to a closed peer with SIGPIPE at its default: the process lives');
    is($report->{print}, 0, '... print returns false');
    is($report->{print_errno}, EPIPE, '... with $! EPIPE');
    ok(!$report->{big_print} && $report->{big_print_errno} == EPIPE, '... a print bigger than the buffer too');
    ok(!defined $report->{syswrite} && $report->{syswrite_errno} == EPIPE, '... syswrite: undef, EPIPE');
    ok(!defined $report->{method} && $report->{method_errno} == EPIPE, '... $s->syswrite: undef, EPIPE');
}

# 5 MB through a makefile('w') handle to a reader that starts 1 s late
{
    my ($s, $peer) = BSDSocket::socketpair();
    $s->settimeout(10);
    my $reader = start_reader(peer => $peer, close => [$s], delay => 1);
    my $out = $s->makefile('w');
    $s->close;                          # the handle is the writer now
    my $md5 = Digest::MD5->new;
    my ($bytes, $all_ok) = (0, 1);
    my $i = 0;
    while ($bytes < 5_000_000) {
        # lines, and now and then a piece bigger than the handle's buffer
        my $piece = ++$i % 50 ? sprintf("line %07d %s\n", $i, 'y' x ($i % 200))
                              : 'Z' x (100_000 + $i);
        $all_ok &&= print {$out} $piece;
        $md5->add($piece);
        $bytes += length $piece;
    }
    ok($all_ok, "5 MB printed through a makefile('w') handle, each print true");
    ok(close($out), '... close true');
    my ($n, $digest, $status) = reader_result($reader);
    is($n, $bytes, "... the late reader got all $bytes bytes");
    is($digest, $md5->hexdigest, '... the same bytes');
    is($status, 0, '... (reader exit status)');
}

# a print that times out keeps what did not go, and a flush or close sends it
for my $how ('IO::Handle::flush', 'close') {
    for my $size (1000, 2_000_000) {
        my ($s, $peer) = BSDSocket::socketpair();
        my $reader = start_reader(peer => $peer, close => [$s], wait_go => 1);
        my $sent = fill($s);
        my $data = join '', map { sprintf "%07d\n", $_ } 1 .. $size / 8;
        $s->settimeout(0.2);
        my ($t, $err, $ok) = elapsed(sub { print {$s} $data });
        ok(!$ok && $err == ETIMEDOUT, "a print of $size bytes into a full socket times out ($how)");
        reader_go($reader);
        $s->settimeout(30);
        if ($how eq 'close') {
            close $s;
        }
        else {
            ok($s->IO::Handle::flush, '... IO::Handle::flush sends the rest');
            $s->close;
        }
        my ($n, $digest) = reader_result($reader);
        is($n, length($sent . $data), "... after $how the peer got every byte");
        is($digest, md5($sent . $data), '... exactly once, in order');
    }
}

# two prints that time out: the second is kept too ("do not print it again")
for my $sizes ([1000, 1000], [1000, 100_000], [100_000, 1000]) {
    my ($first, $second) = @$sizes;
    my ($s, $peer) = BSDSocket::socketpair();
    my $reader = start_reader(peer => $peer, close => [$s], wait_go => 1);
    my $sent = fill($s);
    $s->settimeout(0.2);
    my ($a_data, $b_data) = ('A' x $first, 'B' x $second);
    my (undef, $err1, $ok1) = elapsed(sub { print {$s} $a_data });
    my (undef, $err2, $ok2) = elapsed(sub { print {$s} $b_data });
    ok(!$ok1 && !$ok2 && $err1 == ETIMEDOUT && $err2 == ETIMEDOUT,
       "two prints ($first, then $second bytes) into a full socket both time out");
    reader_go($reader);
    $s->settimeout(30);
    $s->IO::Handle::flush;
    $s->close;
    my ($n, $digest) = reader_result($reader);
    is($n, length($sent . $a_data . $b_data), '... the peer got both, each once')
        or diag('missing: ' . (length($sent . $a_data . $b_data) - $n) . ' bytes');
}

# autoflush: on by default; autoflush(0) buffers until a flush, a full
# buffer, autoflush(1) or close
{
    my ($s, $peer) = BSDSocket::socketpair();
    $peer->settimeout(0);
    print {$s} 'autoflushed';
    is(eval { $peer->recv(100) }, 'autoflushed', 'autoflush is on by default: a print goes at once');
    is($s->autoflush(0), 1, 'autoflush(0) returns the previous setting');
    print {$s} 'held';
    dies_with(sub { $peer->recv(100) }, errno => EAGAIN, name => '... then a print stays in the buffer');
    ok($s->IO::Handle::flush, 'IO::Handle::flush($s) works');
    is(eval { $peer->recv(100) }, 'held', '... and sends what was held');
    print {$s} 'until autoflush(1)';
    is($s->autoflush(1), 0, 'autoflush(1) returns the previous setting');
    is(eval { $peer->recv(100) }, 'until autoflush(1)', '... and sends what was held');
    $s->autoflush(0);
    print {$s} 'x' x 100 for 1 .. 700;
    my $got = '';
    while (defined(my $d = eval { $peer->recv(1 << 20) })) { $got .= $d }
    ok(length $got > 0 && length $got < 70_000, 'a full buffer goes without a flush (' . length($got) . ' of 70000 bytes)');
    print {$s} 'and the last';
    ok(close($s), 'close($s) after autoflush(0)');
    $peer->settimeout(10);
    while (length(my $d = $peer->recv(1 << 20))) { $got .= $d }
    is($got, ('x' x 70_000) . 'and the last', '... sends the rest');
}

# ------------------------------------------ 3. EINTR through the handle

for my $mode ('blocking', 'with a timeout') {
    my $timeout = $mode eq 'blocking' ? undef : 30;

    # a handler that returns: readline goes on
    {
        my ($s, $peer) = BSDSocket::socketpair();
        $s->settimeout($timeout);
        my ($count, $ack) = (0);
        local $SIG{USR1} = sub { $count++; $ack->() };
        (my $pid, $ack) = poke_while_asleep(count => 3, ack => 1, peer => $peer, data => "after three signals\n");
        my $line = <$s>;
        waitpid $pid, 0;
        is($line, "after three signals\n", "readline ($mode) goes on through signal handlers that return");
        is($count, 3, '... each signal ran the Perl handler');
        is($?, 0, '... (the signalling child)');
    }

    # a handler that dies: its exception comes out, the handle works on
    {
        my ($s, $peer) = BSDSocket::socketpair();
        $s->settimeout($timeout);
        my $pid;
        my $line = eval {
            local $SIG{USR1} = sub { die "usr1\n" };
            ($pid) = poke_while_asleep(count => 1);
            scalar <$s>;
        };
        waitpid $pid, 0;
        is($@, "usr1\n", "a dying handler's exception comes out of readline ($mode)");
        $peer->send("still usable\n");
        is(scalar <$s>, "still usable\n", '... and the handle reads on');
        print {$s} "writes too\n";
        is($peer->recv(100), "writes too\n", '... and writes');
    }

    # a handler that closes the socket (in a child: it could crash)
    {
        my ($report, $status) = in_child(sub {
            my $before = open_fds();
            my %r;
            {
                my ($s, $peer) = BSDSocket::socketpair();
                $s->settimeout($timeout);
                local $SIG{USR1} = sub { $s->close };
                my ($pid) = poke_while_asleep(count => 1);
                $! = 0;
                my $line = <$s>;
                $r{errno} = $! + 0;
                $r{defined} = defined $line ? 1 : 0;
                $r{fileno} = fileno($s);
                $r{method_fileno} = $s->fileno;
                waitpid $pid, 0;
                $r{send_dies} = eval { $s->send('x'); 1 } ? 0 : $@->errno;
            }
            $r{fds} = open_fds() - $before;
            return %r;
        });
        child_ok($status, "a handler that closes the socket during readline ($mode): the process lives");
        is($report->{defined}, 0, '... readline returns undef');
        ok(!defined $report->{fileno} && $report->{method_fileno} == -1, '... the handle is closed');
        is($report->{send_dies}, EBADF, '... and the methods die EBADF');
        is($report->{fds}, 0, '... no fd leaks');
        is($report->{errno}, EBADF, '... $! is EBADF');
    }
}

# the handle's layer is freed after a handler closed it mid-readline:
# RSS over rounds of 1000 in a fresh perl (here, memory this process freed
# earlier would hide growth), the smaller of two rounds after a warm-up;
# the same loop with a handler that sends a line instead is the control
SKIP: {
    skip 'RSS means nothing under AddressSanitizer or valgrind', 4
        if $ENV{BSD_SANITIZER_LOG_DIR} || $ENV{BSD_TEST_SLOW_TOOL};
    skip 'no /proc/self/status', 4 unless rss_kib();
    my $code = <<'CODE';
        use strict; use warnings; no warnings 'closed';
        use BSDSocket; use Time::HiRes qw(ualarm);
        my $handler = shift;
        sub rss_kib {
            open my $fh, '<', '/proc/self/status' or return 0;
            while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)\s+kB/ }
            return 0;
        }
        my $round = sub {
            for (1 .. $_[0]) {
                my ($s, $peer) = BSDSocket::socketpair();
                $s->settimeout(2);
                local $SIG{ALRM} = $handler eq 'close' ? sub { $s->close } : sub { $peer->send("x\n") };
                ualarm(1000);
                my $line = <$s>;
                ualarm(0);
            }
        };
        $round->(300);
        my @growth;
        for (1 .. 2) {
            my $before = rss_kib();
            $round->(1000);
            push @growth, rss_kib() - $before;
        }
        print $growth[0] < $growth[1] ? $growth[0] : $growth[1], "\n";
CODE
    my %run;
    for my $handler ('send', 'close') {
        open $run{$handler}, '-|', perl_cmd('-e', $code, $handler) or die "perl: $!";
    }
    my %growth;
    for my $handler ('send', 'close') {
        my $fh = $run{$handler};
        chomp($growth{$handler} = <$fh> // 'none');
        close $fh;
        is($?, 0, "a fresh perl ran 2300 readlines interrupted by a handler that does $handler");
    }
    cmp_ok($growth{send}, '<', 48, "RSS flat over 1000 readlines whose handler sends a line ($growth{send} KiB)");
    cmp_ok($growth{close}, '<', 48,
           "RSS flat over 1000 readlines whose handler closes the socket ($growth{close} KiB)");
}
sub rss_kib {
    open my $fh, '<', '/proc/self/status' or return 0;
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)\s+kB/ }
    return 0;
}

# a handler that closes the socket while a print waits for room
{
    my ($report, $status) = in_child(sub {
        my ($s, $peer) = BSDSocket::socketpair();
        fill($s);
        $s->settimeout(1);              # (close flushes first: that waits 1 s)
        local $SIG{USR1} = sub { $s->close };
        my ($pid) = poke_while_asleep(count => 1);
        $! = 0;
        my $ok = print {$s} 'p' x 1000;
        my %r = (print => $ok ? 1 : 0, errno => $! + 0, fileno => $s->fileno);
        waitpid $pid, 0;
        return %r;
    });
    child_ok($status, 'a handler that closes the socket while print waits for room: the process lives');
    ok(defined $report->{print} && !$report->{print} && ($report->{errno} // 0) == EBADF,
       '... print returns false with $! EBADF');
}

# ------------------------------------------------------------ 4. one buffer

{
    my (undef, $s, $peer) = tcp_pair();
    $s->settimeout(10);
    $peer->send("a\nbcdefghijk");          # (one small send: it arrives whole)
    is(scalar <$s>, "a\n", 'readline takes a line');
    is($s->pending, 10, 'pending counts the 10 bytes it read ahead');
    is($s->recv(3, MSG_PEEK), 'bcd', 'recv with MSG_PEEK sees the buffer');
    is($s->pending, 10, '... and consumes nothing');
    is($s->recv(1), 'b', 'recv takes from the buffer first');
    is($s->recv_into(my $buf, 1), 1, 'recv_into too');
    is($buf, 'c', '... the next byte');
    my ($data, $from) = $s->recvfrom(1);
    is($data, 'd', 'recvfrom too');
    ok(!defined $from, '... with no address');
    my ($msg, $anc, $flags) = $s->recvmsg(1);
    is($msg, 'e', 'recvmsg too');
    is_deeply($anc, [], '... with no ancillary data');
    is(sysread($s, $buf, 1), 1, 'sysread builtin too');
    is($buf, 'f', '... the next byte');
    is($s->sysread($buf, 1, 1), 1, '$s->sysread too');
    is($buf, 'fg', '... at its offset');
    is(read($s, $buf, 1), 1, 'read too');
    is($buf, 'h', '... the next byte');
    is($s->pending, 3, 'pending: 3 left');
    is($s->recv(100), 'ijk', 'a recv bigger than the buffer returns what it holds');
    is($s->pending, 0, '... and the buffer is empty');
    $peer->send('from the kernel');
    is($s->recv(100), 'from the kernel', 'then recv reads the socket again');
}

# ---------------------------------------- 5. every constructor gives a handle

{
    package My::Sock;
    our @ISA = ('BSDSocket::Socket');
}
{
    my $handle_ok = sub {
        my ($s, $peer, $name) = @_;
        local $Test::Builder::Level = $Test::Builder::Level + 1;
        $s->settimeout(10);
        $peer->settimeout(10);
        ok(ref $s && $s->isa('BSDSocket::Socket') && Scalar::Util::reftype($s) eq 'GLOB',
           "$name: a blessed glob");
        is(fileno($s), $s->fileno, "$name: fileno(\$s) == \$s->fileno");
        print {$s} "to the peer\n";
        is($peer->recv(100), "to the peer\n", "$name: print reaches the peer");
        $peer->send("to the handle\n");
        is(scalar <$s>, "to the handle\n", "$name: readline reads from it");
    };
    my $l = tcp_listener();
    my $addr = $l->getsockname;

    my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $c->connect($addr);
    my $conn = $l->accept;
    $handle_ok->($c, $conn, 'socket');
    $handle_ok->($conn, $c, 'accept');
    my ($p, $q) = BSDSocket::socketpair();
    $handle_ok->($p, $q, 'socketpair');
    $handle_ok->($q, $p, 'socketpair (the other)');
    my $f = BSDSocket::fromfd($p->fileno);
    $handle_ok->($f, $q, 'fromfd');
    my $d = $p->dup;
    $handle_ok->($d, $q, 'dup');
    my $cc = BSDSocket::create_connection($addr, 10);
    $handle_ok->($cc, scalar $l->accept, 'create_connection');
    my $n = BSDSocket::Socket->new(AF_INET, SOCK_STREAM);
    $n->connect($addr);
    $handle_ok->($n, scalar $l->accept, 'BSDSocket::Socket->new');
    my $sub = My::Sock->new(AF_INET, SOCK_STREAM);
    $sub->connect($addr);
    $handle_ok->($sub, scalar $l->accept, 'a subclass\'s new');
    my $server = BSDSocket::create_server(['127.0.0.1', 0]);
    is(fileno($server), $server->fileno, 'create_server: fileno($s) == $s->fileno');
    ok(-S $server, 'create_server: -S');
    my $c2 = BSDSocket::create_connection($server->getsockname, 10);
    $handle_ok->(scalar $server->accept, $c2, 'create_server\'s accept');
}

# detach, and a dup that works on its own
{
    my ($s, $peer) = BSDSocket::socketpair();
    $peer->settimeout(10);
    my $fd = $s->fileno;
    is($s->detach, $fd, 'detach returns the fd');
    ok(!defined fileno($s), '... fileno($s) is undef');
    is($s->fileno, -1, '... $s->fileno is -1');
    ok(fd_is_open($fd), '... the fd is open');
    undef $s;
    ok(fd_is_open($fd), '... still open when the object goes');
    open(my $fh, '+<&=', $fd) or die "fdopen $fd: $!";
    $fh->autoflush(1);
    print {$fh} "through the caller's handle\n";
    is($peer->recv(100), "through the caller's handle\n", '... and the caller can use it');
    close $fh;
    ok(!fd_is_open($fd), '... and close it');

    my ($a, $b) = BSDSocket::socketpair();
    $b->settimeout(10);
    my $d = $a->dup;
    $d->settimeout(10);
    isnt(fileno($d), fileno($a), 'a dup\'s handle is on its own fd');
    close $a;
    ok(print({$d} "dup after the original closed\n"), 'the dup prints after the original closed');
    is($b->recv(100), "dup after the original closed\n", '... and the peer gets it');
    $b->send("to the dup\n");
    is(scalar <$d>, "to the dup\n", '... and it reads');
    close $d;
    is($b->recv(100), '', 'closing the dup too is the EOF');
}

# ------------------------------------------------------ 6. threads and fork

SKIP: {
    skip 'this perl has no ithreads', 10 unless $HAVE_THREADS;
    my ($s, $peer) = BSDSocket::socketpair();
    $s->settimeout(10);
    $peer->settimeout(10);
    $peer->send("for the main thread\nread ahead\n");
    is(scalar <$s>, "for the main thread\n", 'main thread: a line (and one read ahead)');
    pipe(my $go_r, my $go_w) or die "pipe: $!";
    $go_w->autoflush(1);
    my $thr = threads->create({ context => 'list' }, sub {
        my %r = (fileno => fileno($s), method_fileno => $s->fileno, pending => $s->pending);
        $r{print} = print({$s} "from the thread\n") ? 1 : 0;
        my $go = <$go_r>;                   # the main thread has closed its copy
        $peer->send("to the thread\n");
        $r{line} = scalar <$s>;
        $r{print_after} = print({$s} "thread after main closed\n") ? 1 : 0;
        close $s;
        $r{closed} = defined fileno($s) ? 'no' : 'yes';
        return %r;
    });
    is($peer->recv(100), "from the thread\n", 'a thread prints through its copy');
    my $main_fd = fileno($s);
    is($s->pending, 11, 'the main thread still holds what it read ahead');
    is(scalar <$s>, "read ahead\n", '... and reads it');
    close $s;
    print {$go_w} "go\n";
    my %r = $thr->join;
    isnt($r{fileno}, $main_fd, 'the thread\'s copy has a handle on its own fd');
    is($r{method_fileno}, $r{fileno}, '... which the methods use too');
    is($r{line}, "to the thread\n", '... readline in the thread after the main thread closed its copy');
    is($peer->recv(100), "thread after main closed\n", '... and print');
    is($r{closed}, 'yes', 'the thread closed its copy');

    # and the other way round
    my ($x, $y) = BSDSocket::socketpair();
    $y->settimeout(10);
    threads->create(sub { close $x; 1 })->join;
    print {$x} "main after the thread closed\n";
    is($y->recv(100), "main after the thread closed\n", 'a thread closing its copy leaves the main thread\'s open');
}

{
    my ($s, $peer) = BSDSocket::socketpair();
    $peer->settimeout(10);
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $ok = print {$s} "from the forked child\n";
        POSIX::_exit($ok ? 0 : 1);
    }
    waitpid $pid, 0;
    is($?, 0, 'a forked child prints through the handle');
    is(scalar <$peer>, "from the forked child\n", '... and the peer reads it');
    print {$s} "the parent's still works\n";
    is(scalar <$peer>, "the parent's still works\n", '... and the parent\'s handle works on');
}

# ------------------------------------------------------------ 7. makefile

{
    my ($s, $peer) = BSDSocket::socketpair();
    $s->settimeout(0.3);
    my $in = $s->makefile('r');
    for my $n (1, 2) {
        my ($t, $err, $line) = elapsed(sub { scalar <$in> });
        ok(!defined $line && $err == ETIMEDOUT && $t >= 0.25 && $t < 3,
           sprintf "makefile('r'): readline %d times out on its own (%.2f s, \$! %d)", $n, $t, $err);
    }
    $peer->send("then a line\n");
    is(scalar <$in>, "then a line\n", '... then reads the line that came');

    my $out = $s->makefile('w');
    $peer->settimeout(0);
    print {$out} 'no flush';
    is(eval { $peer->recv(100) }, 'no flush', "makefile('w'): autoflushed");

    my ($report, $status) = in_child(sub {
        $SIG{PIPE} = 'DEFAULT';
        my ($a, $b) = BSDSocket::socketpair();
        my $w = $a->makefile('w');
        $a->close;
        $b->close;
        $! = 0;
        my $ok = print {$w} 'to nobody';
        my %r = (print => $ok ? 1 : 0, errno => $! + 0);
        no warnings;
        close $w;
        return %r;
    });
    child_ok($status, "makefile('w') to a closed peer, SIGPIPE at its default: the process lives");
    ok(!$report->{print} && $report->{errno} == EPIPE, '... print fails with EPIPE');
}

# ------------------------------------------------------------ 8. leaks

SKIP: {
    skip 'Test::LeakTrace is not installed', 7 unless eval { require Test::LeakTrace; 1 };
    my ($s, $peer) = BSDSocket::socketpair();
    Test::LeakTrace::no_leaks_ok(sub {
        print {$s} "line\n";
        my $line = <$peer>;
    }, 'no leak: print and readline');
    Test::LeakTrace::no_leaks_ok(sub {
        syswrite($s, 'abc');
        sysread($peer, my $buf, 10);
        $s->syswrite('def', 2, 1);
        $peer->sysread($buf, 10, 1);
    }, 'no leak: sysread and syswrite, builtins and methods');
    Test::LeakTrace::no_leaks_ok(sub {
        $s->send("a\nbc");
        my $line = <$peer>;
        my $rest = $peer->recv(10);
    }, 'no leak: readline, then recv from the buffer');
    Test::LeakTrace::no_leaks_ok(sub {
        my ($x, $y) = BSDSocket::socketpair();
        close $x;
        $y->close;
    }, 'no leak: close($s) and $s->close');
    Test::LeakTrace::no_leaks_ok(sub {
        my $t = BSDSocket::socket(AF_INET, SOCK_STREAM);
        my $fd = fileno($t);
    }, 'no leak: a socket object, handle included, made and dropped');
    $peer->settimeout(0.01);
    Test::LeakTrace::no_leaks_ok(sub {
        my $line = <$peer>;
    }, 'no leak: a readline that times out');
    Test::LeakTrace::no_leaks_ok(sub {
        my $fh = $s->makefile('rw');
        print {$fh} "m\n";
        close $fh;
    }, 'no leak: a makefile handle');
}

{
    my $cycles = 1000;
    my $before = open_fds();
    for (1 .. $cycles) {
        my ($s, $peer) = BSDSocket::socketpair();
        print {$s} "ping\n";
        my $line = <$peer>;
        print {$peer} $line;
        $line = <$s>;
        close $s;
        close $peer;
    }
    is(open_fds(), $before, "fd count unchanged over $cycles create/print/readline/close cycles");
    for (1 .. $cycles) {
        my ($s, $peer) = BSDSocket::socketpair();
        my $fh = $s->makefile('rw');
        my $d = $s->dup;
        print {$fh} "x\n";
        my $line = <$peer>;
    }
    is(open_fds(), $before, "... and over $cycles cycles with makefile and dup dropped unclosed");
}

# ------------------------------------------------------------ 9. misuse

{
    my $dir = temp_dir();
    my $file = "$dir/plain";
    open(my $w, '>', $file) or die "$file: $!";
    print {$w} "a plain line\n";
    close $w;

    $! = 0;
    ok(!open(my $fh, '<:bsdsocket', $file), 'open with :bsdsocket on a file fails');
    is($! + 0, EINVAL, '... EINVAL');
    ok(!open(my $fh2, '+<:bsdsocket', $file), '... in +< mode too');
    open(my $plain, '<', $file) or die "$file: $!";
    ok(!binmode($plain, ':bsdsocket'), 'binmode($fh, ":bsdsocket") on a file fails');
    is(scalar <$plain>, "a plain line\n", '... and the file reads on');

    my ($s, $peer) = BSDSocket::socketpair();
    $peer->settimeout(10);
    ok(!binmode($s, ':bsdsocket'), 'binmode($s, ":bsdsocket") fails (no second layer)');
    print {$s} "still fine\n";
    is($peer->recv(100), "still fine\n", '... and the socket works on');
}

# open(my $dup, '+<&', $s)
{
    my ($s, $peer) = BSDSocket::socketpair();
    $s->settimeout(10);
    $peer->settimeout(10);
    ok(open(my $dup, '+<&', $s), "open(my \$dup, '+<&', \$s)");
    isnt(fileno($dup), fileno($s), '... on a dup of the fd');
    $peer->send("to the dup\n");
    is(scalar <$dup>, "to the dup\n", '... which reads');
    print {$dup} "from the dup\n";
    $dup->flush;
    is($peer->recv(100), "from the dup\n", '... and writes');
    ok(close($dup), '... and closes');
    print {$s} "the socket after\n";
    is($peer->recv(100), "the socket after\n", '... leaving the socket open');

    my ($report, $status) = in_child(sub {
        $SIG{PIPE} = 'IGNORE';          # (perl's own layers there: see below)
        my ($a, $b) = BSDSocket::socketpair();
        open(my $d, '+<&', $a) or die "dup: $!";
        $d->autoflush(1);
        $b->close;
        $! = 0;
        my $ok = print {$d} 'to nobody';
        return (print => $ok ? 1 : 0, errno => $! + 0, layers => join(',', PerlIO::get_layers($d, output => 1)));
    });
    # (perl makes the write side of a '+<&' dup itself, with :unix:perlio
    # on the same fd: perl's rules there, as the POD says)
    like($report->{layers}, qr/unix/, "... its write side is perl's own layers, as documented");
}

# tie and local on the glob
{
    {
        package Recorder;
        sub TIEHANDLE { bless { printed => '' }, shift }
        sub PRINT { my $self = shift; $self->{printed} .= join '', @_; 1 }
        sub READLINE { "a tied line\n" }
    }
    my ($report, $status) = in_child(sub {
        my ($s, $peer) = BSDSocket::socketpair();
        $peer->settimeout(10);
        my %r;
        my $obj = tie *$s, 'Recorder';
        print {$s} 'into the tie';
        $r{printed} = $obj->{printed};
        $r{readline} = scalar <$s>;
        $r{method_send} = $s->send("method\n");
        $r{peer} = $peer->recv(100);
        undef $obj;
        untie *$s;
        print {$s} "untied\n";
        $r{after_untie} = $peer->recv(100);
        {
            no warnings;
            local *$s;
            $r{local_fileno} = fileno($s);
            $r{local_print} = print({$s} 'x') ? 1 : 0;
            $r{local_method} = $s->send("method in local\n");
        }
        $r{local_peer} = $peer->recv(100);
        print {$s} "after local\n";
        $r{after_local} = $peer->recv(100);
        return %r;
    });
    child_ok($status, 'tie and local on the glob: the process lives');
    is($report->{printed}, 'into the tie', 'a tied glob: print goes to the tie');
    is($report->{readline}, "a tied line\n", '... readline too');
    is($report->{peer}, "method\n", '... the methods still use the socket');
    is($report->{after_untie}, "untied\n", '... and after untie the handle is back');
    ok(!defined $report->{local_fileno} && !$report->{local_print}, 'local *$s: no handle in the scope');
    is($report->{local_peer}, "method in local\n", '... the methods still work');
    is($report->{after_local}, "after local\n", '... and after the scope the handle is back');
}

done_testing;
