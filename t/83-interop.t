use strict;
use warnings;
use Test::More;
use POSIX ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# Socket objects work with perl's select, IO::Select, AnyEvent and
# IO::Async through fileno (and makefile handles).  The event-loop parts
# skip when the module is not installed; .ci/run installs them.

guard_alarm(60);

# A client in a child process: connects, sends each message, reads the
# echo back, and exits 0 only if every byte came back.  Returns its pid.
sub echo_client {
    my ($address, @messages) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    my $ok = eval {
        my $c = BSDSocket::create_connection($address, 10);
        for my $m (@messages) {
            $c->sendall($m);
            my $got = '';
            $got .= $c->recv(65536) while length $got < length $m;
            die "echo mismatch\n" unless $got eq $m;
        }
        $c->shutdown(SHUT_WR);
        die "no EOF\n" unless $c->recv(10) eq '';
        1;
    };
    POSIX::_exit($ok ? 0 : 1);
}
my @messages = ("hello\n", 'x' x 70_000, join('', map { chr } 0 .. 255), "bye\n");

# ------------------------------------------------------- perl's select

{
    my ($a, $b) = BSDSocket::socketpair();
    my $rin = '';
    vec($rin, $a->fileno, 1) = 1;
    my $n = select(my $rout = $rin, undef, undef, 0);
    is($n, 0, "perl's select: nothing to read");
    $b->send('x');
    $n = select($rout = $rin, undef, undef, 2);
    is($n, 1, "perl's select: readable after a send");
    ok(vec($rout, $a->fileno, 1), '... on the socket\'s fileno');
}

# ------------------------------------------------------------ IO::Select

{
    require IO::Select;
    my ($a, $b) = BSDSocket::socketpair();
    my ($c, $d) = BSDSocket::socketpair();
    my $sel = IO::Select->new;
    $sel->add([$a->fileno, $a], [$c->fileno, $c]);
    is($sel->count, 2, 'IO::Select takes [fileno, socket] pairs');
    $d->send('for c');
    my @ready = $sel->can_read(2);
    is(scalar @ready, 1, '... can_read says one is ready');
    ok($ready[0][1] == $c, '... and gives the socket back');
    is($ready[0][1]->recv(10), 'for c', '... which reads');
    my $plain = IO::Select->new($b->fileno);
    ok(scalar $plain->can_write(0), 'IO::Select with a plain fileno: can_write');
}

# --------------------------------------------------------------- AnyEvent

SKIP: {
    skip 'AnyEvent is not installed (Debian: libanyevent-perl)', 3
        unless eval { require AnyEvent; 1 };
    local $ENV{PERL_ANYEVENT_MODEL} = 'Perl';    # the pure-Perl loop: no EV needed
    my $listener = tcp_listener();
    $listener->settimeout(0);
    my (%conn, %watch);
    my $served = 0;
    my $accept_w = AnyEvent->io(fh => $listener->fileno, poll => 'r', cb => sub {
        my $conn = eval { $listener->accept } or return;
        $conn->settimeout(5);
        my $fd = $conn->fileno;
        $conn{$fd} = $conn;
        $watch{$fd} = AnyEvent->io(fh => $fd, poll => 'r', cb => sub {
            my $data = $conn->recv(65536);
            if (length $data) { $conn->sendall($data); return }
            delete $watch{$fd};
            delete($conn{$fd})->close;
            $served++;
        });
    });
    my @pids = map { echo_client($listener->getsockname, @messages) } 1 .. 5;
    my $done = AnyEvent->condvar;
    my $left = @pids;
    my %status;
    my @child_w = map {
        my $pid = $_;
        AnyEvent->child(pid => $pid, cb => sub { $status{$pid} = $_[1]; $done->send unless --$left });
    } @pids;
    my $guard = AnyEvent->timer(after => 30, cb => sub { $done->send });
    $done->recv;
    is(scalar(grep { defined $status{$_} && $status{$_} == 0 } @pids), 5,
       'AnyEvent: five clients got every byte echoed by a BSDSocket server on AnyEvent->io');
    is($served, 5, 'AnyEvent: the server saw each client to its end');
    is(scalar keys %conn, 0, 'AnyEvent: and closed every connection');
}

# --------------------------------------------------------------- IO::Async

SKIP: {
    skip 'IO::Async 0.76 or later is not installed (Debian: libio-async-perl)', 5
        unless eval { require IO::Async::Loop; require IO::Async::Handle; require IO::Async::Stream;
                      IO::Async::Loop->VERSION(0.76); 1 };
    my $loop = IO::Async::Loop->new;
    my $listener = tcp_listener();
    $listener->settimeout(0);
    my $served = 0;
    my %streams;
    # the listener: an IO::Async::Handle on a makefile handle (IO::Async
    # closes what it is given, so never the socket's own fd); each
    # connection: an IO::Async::Stream on a makefile handle
    my $accepting = IO::Async::Handle->new(
        read_handle   => $listener->makefile('r'),
        on_read_ready => sub {
            my $conn = eval { $listener->accept } or return;
            my $fh = $conn->makefile('rw');
            $conn->close;                   # the handle carries on alone
            my $stream;
            $stream = IO::Async::Stream->new(
                handle  => $fh,
                on_read => sub {
                    my ($self, $buffref, $eof) = @_;
                    $self->write($$buffref) if length $$buffref;
                    $$buffref = '';
                    if ($eof) {
                        $self->close_when_empty;
                        $served++;
                    }
                    return 0;
                },
                on_closed => sub { delete $streams{$stream} },
            );
            $streams{$stream} = $stream;
            $loop->add($stream);
        },
    );
    $loop->add($accepting);
    my @pids = map { echo_client($listener->getsockname, @messages) } 1 .. 5;
    my %status;
    for my $pid (@pids) {
        $loop->watch_process($pid => sub { $status{$pid} = $_[1] });
    }
    my $deadline = time + 30;
    $loop->loop_once(1) while keys(%status) < @pids && time < $deadline;
    $loop->loop_once(0.1) while keys(%streams) && time < $deadline;
    is(scalar(grep { defined $status{$_} && $status{$_} == 0 } @pids), 5,
       'IO::Async: five clients got every byte echoed through makefile handles in IO::Async::Stream');
    is($served, 5, 'IO::Async: the server saw each client to its end');
    is(scalar keys %streams, 0, 'IO::Async: and every stream closed');
    $loop->remove($accepting);
    undef $accepting;
    ok(fd_is_open($listener->fileno), 'IO::Async: done with its handle, the listener\'s own fd is still open');
    my $late = BSDSocket::create_connection($listener->getsockname, 5);
    ok(eval { $listener->settimeout(5); $listener->accept }, '... and the listener still accepts');
}

done_testing;
