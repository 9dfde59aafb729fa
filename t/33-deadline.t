use strict;
use warnings;
use Test::More;
use Errno qw(EAGAIN ETIMEDOUT EINVAL);
use Time::HiRes qw(time sleep);
use POSIX ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# BSDSocket::deadline($seconds, $code): one time budget for every call
# inside, on any socket, however many calls there are.

guard_alarm(60);

# how long the code took, and what it died with ('' if it lived)
sub timed {
    my ($code) = @_;
    my $t0 = time;
    my $ok = eval { $code->(); 1 };
    return (time - $t0, $ok ? '' : $@);
}

sub is_timeout {
    my ($err, $op, $name) = @_;
    ok(ref $err && $err->isa('BSDSocket::Error::Timeout') && $err->op eq $op,
       "$name: dies BSDSocket::Error::Timeout, op $op") or diag "got: $err";
}

# (the slack a shared machine needs; the budgets are far apart anyway)
my $slack = $ENV{BSD_TEST_SLOW_TOOL} ? 2 : 0.5;

{
    my ($a, $b) = BSDSocket::socketpair();
    my ($took, $err) = timed(sub { BSDSocket::deadline(0.4, sub { $a->recv(10) }) });
    is_timeout($err, 'recv', 'recv on a blocking socket');
    ok($took >= 0.35 && $took < 0.4 + $slack, "... after about 0.4 s ($took)");
    is($err->message, 'timed out', '... "timed out"');
    is($a->gettimeout, undef, 'the socket is still blocking');

    ($took, $err) = timed(sub { BSDSocket::deadline(0.3, sub { BSDSocket::deadline(5, sub { $a->recv(10) }) }) });
    is_timeout($err, 'recv', 'an inner deadline never extends the outer one');
    ok($took < 0.3 + $slack, "... the outer 0.3 s held ($took)");

    my $inner_err;
    ($took, $err) = timed(sub {
        BSDSocket::deadline(0.8, sub {
            eval { BSDSocket::deadline(0.2, sub { $a->recv(10) }) };
            $inner_err = $@;
            $a->recv(10);
        });
    });
    is_timeout($inner_err, 'recv', 'a shorter inner deadline');
    is_timeout($err, 'recv', '... then the outer one is in force again');
    ok($took >= 0.7 && $took < 0.8 + $slack, "... at 0.8 s ($took)");

    # a peer that drips a byte every 0.1 s: a per-call timeout never runs
    # out, the deadline does
    $a->settimeout(2);
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        for (1 .. 30) { sleep 0.1; eval { $b->send('x') } or last }
        POSIX::_exit(0);
    }
    my $got = '';
    ($took, $err) = timed(sub { BSDSocket::deadline(0.55, sub { $got .= $a->recv(1) while 1 }) });
    kill 'KILL', $pid;
    waitpid $pid, 0;
    is_timeout($err, 'recv', 'many calls, one budget');
    ok($took < 0.55 + $slack, "... it held over the calls ($took s)");
    ok(length $got >= 2, '... and the calls before it got their bytes (' . length($got) . ')');
    $a->settimeout(undef);
    1 while eval { $a->recv(100, MSG_DONTWAIT) };

    # the socket's own timeout, when it comes first
    $a->settimeout(0.1);
    ($took, $err) = timed(sub { BSDSocket::deadline(5, sub { $a->recv(10) }) });
    is_timeout($err, 'recv', "the socket's shorter timeout");
    ok($took < 1, "... 0.1 s, not the deadline's 5 ($took)");

    # a non-blocking socket stays non-blocking
    $a->settimeout(0);
    ($took, $err) = timed(sub { BSDSocket::deadline(5, sub { $a->recv(10) }) });
    ok(ref $err && !$err->isa('BSDSocket::Error::Timeout') && $err->errno == EAGAIN,
       'a non-blocking socket still dies EAGAIN') or diag "got: $err";
    $a->settimeout(undef);

    # data that is there comes back
    $b->send('here');
    is(BSDSocket::deadline(0, sub { $a->recv(10) }), 'here', 'a deadline of 0: what is there is taken');

    # the handle's reads: $! as perl's own handles say a timeout
    ($took, $err) = timed(sub { BSDSocket::deadline(0.2, sub { sysread($a, my $buf, 10) // die "$!\n" }) });
    is($err, do { local $! = ETIMEDOUT; "$!\n" }, 'sysread on the handle: $! is ETIMEDOUT');
}

{
    # accept and connect on blocking sockets
    my $l = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $l->bind(['127.0.0.1', 0]);
    $l->listen(1);
    my ($took, $err) = timed(sub { BSDSocket::deadline(0.3, sub { $l->accept }) });
    is_timeout($err, 'accept', 'accept');
    ok($l->getblocking, '... the listener is blocking still');
    my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
    BSDSocket::deadline(1, sub { $c->connect($l->getsockname) });
    ok(BSDSocket::deadline(1, sub { $l->accept }), 'connect and accept inside a deadline');
    ok($c->getblocking, "... the connected socket is blocking still");
}

{
    # waits outside the sockets: select and the poller
    my ($a, $b) = BSDSocket::socketpair();
    my ($took, $err) = timed(sub { BSDSocket::deadline(0.3, sub { BSDSocket::select([$a], undef, undef, undef) }) });
    is_timeout($err, 'select', 'select with no timeout of its own');
    my ($r) = BSDSocket::deadline(5, sub { BSDSocket::select([$a], undef, undef, 0.1) });
    is_deeply($r, [], "select's own shorter timeout returns nothing, as it does");
    for my $backend (poller_backends()) {
        my $p = BSDSocket::Poller->new(backend => $backend);
        $p->register($a, POLLIN);
        ($took, $err) = timed(sub { BSDSocket::deadline(0.3, sub { $p->poll }) });
        is_timeout($err, 'poll', "poller ($backend)");
        ok($took < 0.3 + $slack, "... at the deadline ($took)");
        $b->send('x');
        my @ready = BSDSocket::deadline(0.3, sub { $p->poll });
        is(scalar @ready, 1, "... ready is ready");
        $a->recv(10);
    }
}

{
    # create_connection: its own timeout and the deadline, whichever first
    my $l = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $l->bind(['127.0.0.1', 0]);
    $l->listen(1);
    my $c = BSDSocket::deadline(2, sub { BSDSocket::create_connection($l->getsockname, 5) });
    is($c->gettimeout, 5, 'create_connection: the socket keeps its own timeout');
}

{
    # what the code returns, in its context; and a dying code leaves no
    # deadline behind
    my @list = BSDSocket::deadline(1, sub { (1, 2, 3) });
    is_deeply(\@list, [1, 2, 3], 'returns what the code returns (list)');
    my $ctx = BSDSocket::deadline(1, sub { wantarray ? 'list' : 'scalar' });
    is($ctx, 'scalar', '... in the caller\'s context');
    eval { BSDSocket::deadline(0.1, sub { die "inner\n" }) };
    is($@, "inner\n", "the code's exception comes through");
    is($BSDSocket::_deadline, undef, '... and no deadline is left in force');
    my ($a, $b) = BSDSocket::socketpair();
    my $pid = fork // die "fork: $!";
    if (!$pid) { sleep 0.5; $b->send('late'); POSIX::_exit(0) }
    is($a->recv(10), 'late', 'a blocking call afterwards waits as long as it takes');
    waitpid $pid, 0;
}

# bad arguments
dies_with(sub { BSDSocket::deadline(-1, sub { }) }, errno => EINVAL, op => 'deadline',
          name => 'negative seconds');
dies_with(sub { BSDSocket::deadline('soon', sub { }) }, errno => EINVAL, op => 'deadline',
          name => 'seconds that are no number');
dies_with(sub { BSDSocket::deadline(undef, sub { }) }, errno => EINVAL, op => 'deadline',
          message => qr/got undef/, name => 'undef seconds');
dies_with(sub { BSDSocket::deadline(1, 'code') }, errno => EINVAL, op => 'deadline',
          message => qr/code reference/, name => 'code that is no code');
dies_with(sub { BSDSocket::deadline(1) }, errno => EINVAL, op => 'deadline',
          message => qr/Usage/, name => 'a missing argument');

SKIP: {
    require Config;
    skip 'no threads', 1 unless $Config::Config{useithreads} && eval { require threads; 1 };
    # a new thread starts with no deadline
    my $in_thread = BSDSocket::deadline(0.2, sub {
        threads->create(sub { defined $BSDSocket::_deadline ? 'set' : 'none' })->join;
    });
    is($in_thread, 'none', 'a thread made inside a deadline starts with none');
}

done_testing;
