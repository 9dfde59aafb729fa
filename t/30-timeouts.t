use strict;
use warnings;
use Test::More;
use Errno qw(EAGAIN EINPROGRESS EINVAL ETIMEDOUT EPIPE ECONNRESET ENOBUFS);
use Time::HiRes qw(time sleep);
use POSIX ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# Blocking, non-blocking and timeout modes, one deadline per call.

guard_alarm(120);

sub elapsed(&) { my $t0 = time; eval { $_[0]->() }; return (time - $t0, $@) }
sub is_timeout {
    my ($e, $op, $name) = @_;
    ok(ref $e && $e->isa('BSDSocket::Error::Timeout') && $e->op eq $op
       && $e->message eq 'timed out' && $e->errno == ETIMEDOUT, $name)
        or diag 'got: ' . ($e // 'no error');
}

# --------------------------------------------------------- the settings

{
    my $s = BSDSocket::socket(AF_INET, SOCK_STREAM);
    is($s->gettimeout, undef, 'a new socket blocks (timeout undef)');
    ok($s->getblocking, 'getblocking is true');
    $s->settimeout(2.5);
    is($s->gettimeout, 2.5, 'settimeout(2.5)');
    ok($s->getblocking, 'a socket with a timeout still counts as blocking');
    $s->settimeout(0);
    is($s->gettimeout, 0, 'settimeout(0)');
    ok(!$s->getblocking, '... is non-blocking');
    $s->setblocking(1);
    is($s->gettimeout, undef, 'setblocking(1) is settimeout(undef)');
    $s->setblocking(0);
    is($s->gettimeout, 0, 'setblocking(0) is settimeout(0)');
    $s->settimeout(undef);
    is($s->gettimeout, undef, 'settimeout(undef)');
    $s->settimeout('0.25');
    is($s->gettimeout, 0.25, 'a numeric string works');

    for my $bad (-1, -0.001, 'abc', 9**9**9, -sin(9**9**9), [], '') {
        my $label = defined $bad ? "$bad" : 'undef';
        dies_with(sub { $s->settimeout($bad) }, errno => EINVAL, op => 'settimeout',
                  message => qr/timeout must be undef or a number of seconds >= 0/,
                  name => "settimeout($label) dies");
        is($s->gettimeout, 0.25, '... and leaves the old setting');
    }
  SKIP: {
        skip 'no SOCK_NONBLOCK here', 1 unless defined eval { SOCK_NONBLOCK() };
        my ($n) = BSDSocket::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK);
        is($n->gettimeout, 0, 'SOCK_NONBLOCK makes a socket with timeout 0');
    }
    $s->close;
    dies_with(sub { $s->gettimeout }, op => 'gettimeout', errno => Errno::EBADF(),
              name => 'gettimeout on a closed socket dies EBADF');
    dies_with(sub { $s->settimeout(1) }, op => 'settimeout', errno => Errno::EBADF(),
              name => 'settimeout on a closed socket dies EBADF');
}

# ----------------------------------------------------- the default

{
    is(BSDSocket::getdefaulttimeout(), undef, 'the default timeout starts undef');
    BSDSocket::setdefaulttimeout(3);
    is(BSDSocket::getdefaulttimeout(), 3, 'setdefaulttimeout(3)');
    my $s = BSDSocket::socket(AF_INET, SOCK_STREAM);
    is($s->gettimeout, 3, 'socket takes the default');
    my ($p, $q) = BSDSocket::socketpair();
    is($q->gettimeout, 3, 'socketpair takes the default');
    my $f = BSDSocket::fromfd($p);
    is($f->gettimeout, 3, 'fromfd takes the default');
    BSDSocket::setdefaulttimeout(undef);
    my $l = tcp_listener();
    $l->settimeout(7);
    BSDSocket::setdefaulttimeout(0.5);
    my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $c->connect($l->getsockname);
    my $conn = $l->accept;
    is($conn->gettimeout, 0.5, 'accept gives the default, not the listener\'s timeout');
    BSDSocket::setdefaulttimeout(undef);
    my $plain = BSDSocket::socket(AF_INET, SOCK_STREAM);
    is($plain->gettimeout, undef, 'back to blocking sockets');
    dies_with(sub { BSDSocket::setdefaulttimeout(-2) }, errno => EINVAL, op => 'setdefaulttimeout',
              name => 'setdefaulttimeout(-2) dies');
    is(BSDSocket::getdefaulttimeout(), undef, '... and leaves it');
}

# ------------------------------------------------------- non-blocking

{
    my ($a, $b) = BSDSocket::socketpair();
    $b->settimeout(0);
    my $e = dies_with(sub { $b->recv(10) }, errno => EAGAIN, op => 'recv',
                      name => 'non-blocking recv with nothing there dies EAGAIN');
    ok($!{EAGAIN}, '$!{EAGAIN} is set');
    $a->send('now');
    is($b->recv(10), 'now', 'and reads what is there');

    my $l = tcp_listener();
    $l->setblocking(0);
    dies_with(sub { $l->accept }, errno => EAGAIN, op => 'accept',
              name => 'non-blocking accept with no client dies EAGAIN');

    my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $c->setblocking(0);
    my $err = $c->connect_ex($l->getsockname);
    ok($err == 0 || $err == EINPROGRESS, "non-blocking connect_ex gives 0 or EINPROGRESS ($err)");
    my $c2 = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $c2->setblocking(0);
    my $ok = eval { $c2->connect($l->getsockname); 1 };
    ok($ok || (ref $@ && $@->errno == EINPROGRESS), 'non-blocking connect dies EINPROGRESS (or connects)');
    vec(my $w = '', $c->fileno, 1) = 1;
    select(undef, $w, undef, 5);
    is_deeply($c->getpeername, $l->getsockname, '... and is connected once writable');
    my $s = eval { $l->accept } // do { select(undef, undef, undef, 0.1); $l->accept };
    ok($s, 'the listener has it');
}

# -------------------------------------------------------- timeouts

{
    my ($a, $b) = BSDSocket::socketpair();
    $b->settimeout(0.3);
    my ($t, $e) = elapsed { $b->recv(10) };
    is_timeout($e, 'recv', 'recv times out');
    ok($t >= 0.25 && $t < 3, sprintf('... after %.2fs of 0.3', $t));
    $a->send('late');
    is($b->recv(10), 'late', 'the socket works after a timeout');

    my $l = tcp_listener();
    $l->settimeout(0.3);
    ($t, $e) = elapsed { $l->accept };
    is_timeout($e, 'accept', 'accept times out');
    ok($t >= 0.25 && $t < 3, sprintf('... after %.2fs', $t));

    # fractional seconds, and data arriving in time
    my $pid = fork // die;
    if (!$pid) { sleep 0.2; $a->send('in time'); POSIX::_exit(0) }
    $b->settimeout(5);
    ($t, $e) = elapsed { is($b->recv(10), 'in time', 'data arriving within the timeout is read') };
    ok($t < 4, sprintf('... as soon as it came (%.2fs)', $t));
    waitpid $pid, 0;

    # more than INT_MAX milliseconds
    $b->settimeout(3_000_000);
    is($b->gettimeout, 3_000_000, 'a timeout of 3e6 s (over INT_MAX ms) is kept');
    $pid = fork // die;
    if (!$pid) { sleep 0.1; $a->send('long timeout'); POSIX::_exit(0) }
    is($b->recv(20), 'long timeout', '... and a recv under it works');
    waitpid $pid, 0;
}

# connect: to a listener whose queue is full, SYNs go unanswered.
# Returns the listener and the connections that fill it, or nothing.
sub full_backlog_listener {
    my $l = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $l->bind(['127.0.0.1', 0]);
    $l->listen(0);
    my @filler;
    for (1 .. 16) {
        my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
        $c->settimeout(0.2);
        return ($l, \@filler) unless eval { $c->connect($l->getsockname); 1 };
        push @filler, $c;
    }
    return;
}

SKIP: {
    my ($l, $filler) = full_backlog_listener();
    skip 'could not fill the listen queue here', 4 unless $l;
    my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $c->settimeout(0.4);
    my ($t, $e) = elapsed { $c->connect($l->getsockname) };
    is_timeout($e, 'connect', 'connect times out');
    ok($t >= 0.35 && $t < 3, sprintf('... after %.2fs of 0.4', $t));
    is_deeply($e && $e->address, $l->getsockname, '... naming the address');
    my $d = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $d->settimeout(0.2);
    is($d->connect_ex($l->getsockname), ETIMEDOUT, 'connect_ex reports ETIMEDOUT');
}

# an AF_UNIX listener whose backlog is full: Linux says EAGAIN (not
# EINPROGRESS), and poll never says when room comes.  A socket that waits
# (with a timeout, or blocking on an fd another handle made non-blocking)
# keeps trying until its deadline; only timeout 0 dies EAGAIN at once.
{
    my $path = temp_dir() . '/backlog';
    my $l = BSDSocket::socket(AF_UNIX, SOCK_STREAM);
    $l->bind($path);
    $l->listen(0);
    my @filler;
    my $fill = sub {            # connects until the queue says EAGAIN
        for (1 .. 64) {
            my $c = BSDSocket::socket(AF_UNIX, SOCK_STREAM);
            $c->settimeout(0);
            my $ok = eval { $c->connect($path); 1 };
            return 1 if !$ok && ref $@ && $@->errno == EAGAIN;
            die $@ unless $ok;
            push @filler, $c;
        }
        return 0;
    };
    # a child that takes one connection off the queue after $delay
    my $accept_later = sub {
        my ($delay) = @_;
        my $pid = fork // die "fork: $!";
        return $pid if $pid;
        sleep $delay;
        my $conn = eval { $l->accept };
        POSIX::_exit($conn ? 0 : 1);
    };
    ok($fill->(), 'an AF_UNIX listener with listen(0): its queue fills (EAGAIN)');

    my $c = BSDSocket::socket(AF_UNIX, SOCK_STREAM);
    $c->settimeout(0.5);
    my ($t, $e) = elapsed { $c->connect($path) };
    is_timeout($e, 'connect', 'connect with a timeout to a full AF_UNIX backlog times out');
    ok($t >= 0.45 && $t < 5, sprintf '... after %.2f s of 0.5, not at once', $t);

    $fill->();
    $c = BSDSocket::socket(AF_UNIX, SOCK_STREAM);
    $c->settimeout(2);
    my $pid = $accept_later->(0.3);
    ($t, $e) = elapsed { $c->connect($path) };
    waitpid $pid, 0;
    is($e, '', 'with a timeout of 2 s it connects once the listener accepts one (after 0.3 s)');
    ok($t >= 0.25 && $t < 5, sprintf '... after %.2f s', $t);
    is(eval { $c->getpeername }, $path, '... and is connected');

    $fill->();
    $c = BSDSocket::socket(AF_UNIX, SOCK_STREAM);
    my $d = $c->dup;
    $d->setblocking(0);                 # the shared description: non-blocking
    $pid = $accept_later->(0.3);
    ($t, $e) = elapsed {
        local $SIG{ALRM} = sub { die "alarm\n" };
        alarm 10;
        $c->connect($path);
        alarm 0;
    };
    alarm 0;
    guard_alarm(120);
    waitpid $pid, 0;
    is($e, '', 'a blocking connect on an fd a dup made non-blocking waits for room, and connects');
    ok($t >= 0.25 && $t < 5, sprintf '... after %.2f s', $t);

    $fill->();
    $c = BSDSocket::socket(AF_UNIX, SOCK_STREAM);
    $c->settimeout(0);
    ($t, $e) = elapsed { $c->connect($path) };
    ok(ref $e && $e->isa('BSDSocket::Error') && !$e->isa('BSDSocket::Error::Timeout')
       && $e->errno == EAGAIN && $e->op eq 'connect', 'timeout 0 still dies EAGAIN')
        or diag "got: $e";
    ok($t < 0.2, sprintf '... at once (%.3f s)', $t);
}

# ------------------------------------------------------------ sendall

{
    my ($a, $b) = BSDSocket::socketpair();
    my $data = join '', map { chr(($_ * 7) % 256) } 1 .. 3_000_000;
    # a slow reader that takes ~0.6s in all: sendall with time to spare
    my $pid = fork // die;
    if (!$pid) {
        my $got = '';
        while (length $got < length $data) {
            $got .= $b->recv(65536);
            sleep 0.01;
        }
        POSIX::_exit($got eq $data ? 0 : 1);
    }
    $a->settimeout(20);
    my ($t, $e) = elapsed { is($a->sendall($data), length $data, 'sendall returns the byte count') };
    is($e, '', 'sendall to a slow reader finishes within its timeout');
    waitpid $pid, 0;
    is($?, 0, 'the reader got every byte, in order');
}
{
    # the deadline covers the whole call: a reader that keeps taking a
    # little must not keep sendall alive past its timeout
    my ($a, $b) = BSDSocket::socketpair();
    pipe(my $count_r, my $count_w) or die "pipe: $!";
    my $pid = fork // die;
    if (!$pid) {
        $a->close;
        close $count_r;
        my $total = 0;
        while (1) {
            my $chunk = eval { $b->recv(8192) } // last;
            last unless length $chunk;
            $total += length $chunk;
            sleep 0.02;
        }
        syswrite $count_w, "$total\n";
        POSIX::_exit(0);
    }
    close $count_w;
    $b->close;
    $a->settimeout(0.5);
    my ($t, $e) = elapsed { $a->sendall('q' x 50_000_000) };
    is_timeout($e, 'sendall', 'sendall to a reader too slow for the data times out');
    ok($t >= 0.45 && $t < 5, sprintf('... after %.2fs of 0.5, for the whole call', $t));
    ok($e && $e->sent > 0 && $e->sent < 50_000_000, 'the error says how much went: ' . ($e && $e->sent));
    $a->close;
    chomp(my $read = readline($count_r) // '');
    waitpid $pid, 0;
    is($read, $e && $e->sent, '... and the reader got exactly that many bytes');
}
{
    # sent counts exactly what the peer can read
    my ($a, $b) = BSDSocket::socketpair();
    $a->settimeout(0.2);
    my $e = eval { $a->sendall('s' x 10_000_000); 1 } ? undef : $@;
    is_timeout($e, 'sendall', 'sendall to a reader that reads nothing times out');
    $a->close;
    my $got = 0;
    while (length(my $chunk = $b->recv(1 << 20))) { $got += length $chunk }
    is($got, $e && $e->sent, "the peer received exactly the 'sent' bytes ($got)");
}
{
    my ($a, $b) = BSDSocket::socketpair();
    $b->close;
    dies_with(sub { $a->sendall('x' x 100_000) }, op => 'sendall', errno => EPIPE,
              name => 'sendall to a closed peer dies EPIPE');
    dies_with(sub { $a->sendall("\x{263a}") }, op => 'sendall', errno => EINVAL,
              message => qr/^Wide character in sendall$/, name => 'sendall refuses wide characters');
    my ($c, $d) = BSDSocket::socketpair();
    is($c->sendall(''), 0, 'sendall of nothing');
    $c->sendall('flags', 0);
    is($d->recv(10), 'flags', 'sendall with flags');
}

# ------------------------------------ a mode shared with other handles
# O_NONBLOCK belongs to the open file description, which dup, fromfd and
# makefile handles share with the socket; each object's own timeout is
# what its calls follow, whatever another handle set since.

{
    my ($a, $b) = BSDSocket::socketpair();
    $b->settimeout(0.2);
    my $blocking_dup = $b->dup;
    $blocking_dup->settimeout(undef);           # clears O_NONBLOCK for both
    my ($t, $e) = elapsed { $b->recv(10) };
    is_timeout($e, 'recv', 'recv keeps its timeout after a dup made the fd blocking');
    ok($t < 2, sprintf '... in %.2f s', $t);
    ($t, $e) = elapsed { $b->recv_into(my $buf, 10) };
    is_timeout($e, 'recv_into', 'so does recv_into');
    ($t, $e) = elapsed { $b->recvmsg(10) };
    is_timeout($e, 'recvmsg', 'and recvmsg');
    ($t, $e) = elapsed { $b->recv_many(4, 10) };
    is_timeout($e, 'recv_many', 'and recv_many');

    my $fh = $b->makefile('rb');
    $fh->blocking(1);
    ($t, $e) = elapsed { $b->recvfrom(10) };
    is_timeout($e, 'recvfrom', '... and after a makefile handle was set blocking');

    $b->settimeout(0);
    dies_with(sub { $blocking_dup->settimeout(undef); $b->recv(10) }, op => 'recv', errno => EAGAIN,
              name => 'a non-blocking socket stays non-blocking too');
    ($t, $e) = elapsed { $b->sendall('x' x 10_000_000) };
    ok(ref $e && $e->errno == EAGAIN, 'sendall on it does not block either');
}
{
    # and the other way: a blocking socket whose description another
    # handle made non-blocking still waits instead of dying EAGAIN
    my ($a, $b) = BSDSocket::socketpair();
    my $nonblocking_dup = $b->dup;
    $nonblocking_dup->settimeout(0);
    my $t0 = time;      # (before the fork: the data comes 0.3 s after it)
    my $pid = signals_then_send(count => 0, peer => $a, data => 'late', last_gap => 0.3);
    my $got = eval { $b->recv(10) };
    is($got, 'late', 'a blocking recv waits although the fd was made non-blocking')
        or diag $@;
    ok(time - $t0 >= 0.25, '... for the data');
    waitpid $pid, 0;

    my $l = tcp_listener();
    my $port = $l->getsockname->[1];
    my $l_dup = $l->dup;
    $l_dup->settimeout(0);
    $t0 = time;
    $pid = fork // die "fork: $!";
    if (!$pid) {
        sleep 0.3;
        my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
        $c->connect(['127.0.0.1', $port]);
        sleep 2;
        POSIX::_exit(0);
    }
    my ($conn) = eval { $l->accept };
    ok($conn, 'a blocking accept waits too') or diag $@;
    ok(time - $t0 >= 0.25, '... for the connection');
    kill 'TERM', $pid;
    waitpid $pid, 0;

    # an EAGAIN the kernel means (SO_RCVTIMEO) still dies
    my ($x, $y) = BSDSocket::socketpair();
    $y->setsockopt(SOL_SOCKET, SO_RCVTIMEO, pack 'l!l!', 0, 100_000);
    dies_with(sub { $y->recv(10) }, op => 'recv', errno => EAGAIN,
              name => "SO_RCVTIMEO's EAGAIN on a blocking socket is still an error");
    my $y_dup = $y->dup;
    $y_dup->settimeout(0);
    dies_with(sub { $y->recv(10, MSG_DONTWAIT) }, op => 'recv', errno => EAGAIN,
              name => 'as is the one MSG_DONTWAIT asks for');
}
{
    # accept and connect have no MSG_DONTWAIT: the socket's timeout makes
    # the fd non-blocking again
    my $l = tcp_listener();
    $l->settimeout(0.2);
    my $l_dup = $l->dup;
    $l_dup->settimeout(undef);
    my ($t, $e) = elapsed { $l->accept };
    is_timeout($e, 'accept', 'accept keeps its timeout after a dup made the fd blocking');
    ok($t < 2, sprintf '... in %.2f s', $t);

    my $s = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $s->settimeout(5);
    my $s_dup = $s->dup;
    $s_dup->settimeout(undef);
    my ($full, $filler) = full_backlog_listener();
  SKIP: {
        skip 'could not fill the listen queue here', 2 unless $full;
        $s->settimeout(0.2);
        $s_dup->settimeout(undef);
        ($t, $e) = elapsed { $s->connect($full->getsockname) };
        is_timeout($e, 'connect', 'connect keeps its timeout after a dup made the fd blocking');
        ok($t < 2, sprintf '... in %.2f s', $t);
    }
}

# poll can say ready while the call still cannot go on: the wait must not
# spin, must keep its deadline, and must let a signal handler in
sub cpu_time { my @t = times; $t[0] + $t[1] }
SKIP: {
    # an AF_UNIX datagram receiver whose queue is full: our own buffer has
    # room, so poll says writable, and sendto says EAGAIN
    my $path = temp_dir() . '/full';
    my $rx = BSDSocket::socket(AF_UNIX, SOCK_DGRAM);
    $rx->bind($path);
    my $tx = BSDSocket::socket(AF_UNIX, SOCK_DGRAM);
    $tx->settimeout(0);
    1 while eval { $tx->sendto('y' x 100, $path); 1 };
    my $full = ref $@ ? $@->errno : 0;
    ok($full == EAGAIN || $full == ENOBUFS, 'a full AF_UNIX datagram queue says EAGAIN (Linux) or ENOBUFS (the BSDs)');
    # (where it says ENOBUFS, a send cannot wait for room: the rest is Linux's)
    skip 'the queue says ENOBUFS here, not EAGAIN', 5 unless $full == EAGAIN;
    $tx->settimeout(0.5);
    my $cpu = cpu_time();
    my ($t, $e) = elapsed { $tx->sendto('z', $path) };
    is_timeout($e, 'sendto', 'sendto to a full datagram queue times out although poll says writable');
    ok($t >= 0.45 && $t < 3, sprintf '... after %.2f s of 0.5', $t);
    ok(cpu_time() - $cpu < 0.3, sprintf '... without spinning (%.2f s of CPU)', cpu_time() - $cpu);

    # blocking, on an fd another handle made non-blocking: it waits, and a
    # signal handler that dies still gets out
    $tx->settimeout(undef);
    my $dup = $tx->dup;
    $dup->settimeout(0);
    $cpu = cpu_time();
    ($t, $e) = elapsed {
        local $SIG{ALRM} = sub { die "alarm\n" };
        alarm 1;
        $tx->sendto('z', $path);
    };
    alarm 0;
    is($e, "alarm\n", 'a blocking sendto that poll keeps waking is interrupted by alarm');
    ok(cpu_time() - $cpu < 0.5, sprintf '... and did not spin meanwhile (%.2f s of CPU)', cpu_time() - $cpu);
}
SKIP: {
    # recvmsg(MSG_ERRQUEUE) while ordinary data waits: poll says readable
    skip 'no MSG_ERRQUEUE here', 2 unless defined eval { MSG_ERRQUEUE() };
    my ($u, $v) = udp_pair();
    $u->sendto('data', $v->getsockname);
    sleep 0.05;
    $v->settimeout(0.3);
    my ($t, $e) = elapsed { $v->recvmsg(10, 0, MSG_ERRQUEUE) };
    is_timeout($e, 'recvmsg', 'recvmsg(MSG_ERRQUEUE) with only ordinary data queued times out');
    $v->settimeout(undef);
    my $dup = $v->dup;
    $dup->settimeout(0);
    dies_with(sub { $v->recvmsg(10, 0, MSG_ERRQUEUE) }, op => 'recvmsg', errno => EAGAIN,
              name => '... and on a blocking socket says EAGAIN at once, as the error queue does');
}

done_testing;
