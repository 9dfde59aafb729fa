use strict;
use warnings;
use Test::More;
use Errno qw(EPIPE ECONNRESET EBADF);
use Time::HiRes qw(time sleep ualarm);
use POSIX ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# SPEC 6: EINTR runs Perl's deferred signal handlers and the call goes on
# (with what is left of its timeout); a handler that dies takes its
# exception out of the call and leaves the socket usable.

guard_alarm(60);

# the classic: local $SIG{ALRM} = sub { die "alarm\n" } around a blocking call
{
    my ($a, $b) = BSDSocket::socketpair();
    my $got = eval {
        local $SIG{ALRM} = sub { die "alarm\n" };
        ualarm(200_000);
        my $d = $b->recv(10);
        ualarm(0);
        $d;
    };
    is($@, "alarm\n", 'a dying ALRM handler interrupts a blocking recv with its own exception');
    $a->send('afterwards');
    is($b->recv(20), 'afterwards', 'the socket works afterwards');
    guard_alarm(60);

    my $l = tcp_listener();
    eval {
        local $SIG{ALRM} = sub { die "alarm\n" };
        ualarm(200_000);
        $l->accept;
        ualarm(0);
    };
    is($@, "alarm\n", '... and a blocking accept');
    my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $c->connect($l->getsockname);
    ok(scalar $l->accept, 'the listener accepts afterwards');
    guard_alarm(60);

    # with a timeout too: the handler's exception wins over the timeout
    $b->settimeout(5);
    eval {
        local $SIG{ALRM} = sub { die "alarm\n" };
        ualarm(200_000);
        $b->recv(10);
        ualarm(0);
    };
    is($@, "alarm\n", 'a dying handler interrupts a recv that has a timeout');
    $b->settimeout(undef);
    guard_alarm(60);
}

# a handler that returns does not abort the call: a child sends SIGUSR1
# several times while we wait in recv, then the data
{
    my ($a, $b) = BSDSocket::socketpair();
    my $count = 0;
    local $SIG{USR1} = sub { $count++ };
    my $pid = signals_then_send(count => 5, gap => 0.05, peer => $a, data => 'after five signals');
    is($b->recv(100), 'after five signals', 'recv carries on through handlers that return');
    waitpid $pid, 0;
    is($count, 5, 'each signal ran the Perl handler');

    # and accept, with a timeout that the signals must not restart
    my $l = tcp_listener();
    $l->settimeout(0.6);
    $count = 0;
    $pid = signals_then_send(count => 4);
    my $t0 = time;
    my $e = eval { $l->accept; 1 } ? undef : $@;
    my $t = time - $t0;
    waitpid $pid, 0;
    ok(ref $e && $e->isa('BSDSocket::Error::Timeout'), 'accept still times out');
    ok($t >= 0.55 && $t < 2, sprintf('... after %.2fs of 0.6: signals do not restart the clock', $t));
    is($count, 4, '... having run the handler for each signal');
}

# a handler that closes the socket it interrupted
{
    my ($a, $b) = BSDSocket::socketpair();
    local $SIG{ALRM} = sub { $b->close };
    ualarm(100_000);
    my $e = eval { $b->recv(10); 1 } ? undef : $@;
    ok(ref $e && $e->errno == EBADF, 'a handler that closes the socket: the call dies EBADF');
    guard_alarm(60);
}

# a handler that drops the last reference to the socket
{
    our $held;
    my $peer;
    ($held, $peer) = BSDSocket::socketpair();
    local $SIG{USR1} = sub { undef $held };
    my $pid = signals_then_send(peer => $peer, data => 'still there');
    my $got = $held->recv(100);
    is($got, 'still there', 'a handler that drops the socket does not pull it from under the call');
    waitpid $pid, 0;
}

# sending never raises SIGPIPE
{
    my ($a, $b) = BSDSocket::socketpair();
    $b->close;
    local $SIG{PIPE} = 'DEFAULT';
    dies_with(sub { $a->send('x') }, errno => EPIPE, op => 'send',
              name => 'send to a closed peer dies EPIPE, with SIGPIPE at its default');
    ok(1, 'and the process is alive');
}

done_testing;
