use strict;
use warnings;
use Test::More;
use Errno qw(ECONNRESET);
use POSIX ();
use Scalar::Util qw(refaddr);
use Time::HiRes ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# A socket object is a Perl filehandle, so the readiness modules and event
# loops take the object itself, not its fileno nor a makefile handle:
# IO::Select, IO::Poll, EV, AnyEvent (pure-Perl and EV backends, each in a
# child perl) and AnyEvent::Handle, IO::Async::Stream (Poll and Epoll
# loops), Mojo::IOLoop::Stream, Future::IO, and IO::Socket::SSL's
# start_SSL against a local `openssl s_server`.  Data goes both ways each
# time, and no section leaves an fd open.  Each part skips when its module
# is not installed; .ci/run installs them.

guard_alarm(120);

# Each section counts the fds open once its modules are loaded (and its
# loop made: a loop's own epoll fd is not a socket) and again when its
# sockets are gone.
sub no_fd_left {
    my ($fds, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    is(open_fds(), $fds, "$name: no fd left open");
}

sub missing {
    my ($package) = @_;
    return 'the module is not installed (Debian: ' . $package . ')';
}

# --------------------------------------------------------------- IO::Select

subtest 'IO::Select takes the socket object' => sub {
    require IO::Select;
    my $fds = open_fds();
    {
        my ($l, $c, $s) = tcp_pair();
        $s->settimeout(5);
        my $sel = IO::Select->new;
        $sel->add($c);
        is($sel->count, 1, 'add($sock): one handle');
        ok($sel->exists($c), '... exists($sock)');
        is_deeply([$sel->can_read(0)], [], 'can_read: nothing yet');

        $s->sendall("to the client\n");
        my @ready = $sel->can_read(5);
        is(scalar @ready, 1, 'can_read: ready after the peer sends');
        is(refaddr($ready[0]), refaddr($c), '... and gives the very object back');
        is(readline($ready[0]), "to the client\n", '... which reads the line with <$sock>');

        my @writable = $sel->can_write(5);
        is(scalar @writable, 1, 'can_write: ready');
        is(refaddr($writable[0]), refaddr($c), '... the very object');
        ok(print({ $writable[0] } "to the server\n"), '... which prints');
        is($s->recv(100), "to the server\n", '... and the peer gets it');

        $sel->remove($c);
        is($sel->count, 0, 'remove($sock)');
        ok(!$sel->exists($c), '... gone');
        is_deeply([$sel->can_write(0)], [], '... not reported any more');
    }
    no_fd_left($fds, 'IO::Select');
};

# ----------------------------------------------------------------- IO::Poll

subtest 'IO::Poll takes the socket object' => sub {
    require IO::Poll;
    my ($POLLIN, $POLLOUT) = (IO::Poll::POLLIN(), IO::Poll::POLLOUT());
    my $fds = open_fds();
    {
        my ($l, $c, $s) = tcp_pair();
        $s->settimeout(5);
        my $poll = IO::Poll->new;
        $poll->mask($c => $POLLIN);
        is($poll->mask($c), $POLLIN, 'mask($sock => POLLIN)');
        is($poll->poll(0), 0, 'poll: nothing yet');

        $s->sendall("ping\n");
        is($poll->poll(5), 1, 'poll: one ready after the peer sends');
        my @ready = $poll->handles($POLLIN);
        is(scalar @ready, 1, 'handles(POLLIN): one');
        is(refaddr($ready[0]), refaddr($c), '... the very object');
        ok($poll->events($c) & $POLLIN, 'events($sock) has POLLIN');
        is(readline($ready[0]), "ping\n", '... and <$sock> reads the line');

        $poll->mask($c => $POLLOUT);
        is($poll->poll(5), 1, 'poll with POLLOUT: ready');
        my ($w) = $poll->handles($POLLOUT);
        is(refaddr($w), refaddr($c), 'handles(POLLOUT): the very object');
        is(syswrite($w, "pong\n"), 5, '... which writes');
        is($s->recv(100), "pong\n", '... to the peer');

        $poll->remove($c);
        is_deeply([$poll->handles], [], 'remove($sock): no handles left');
    }
    no_fd_left($fds, 'IO::Poll');
};

# ----------------------------------------------------------------------- EV

subtest 'EV::io takes the socket object' => sub {
    plan skip_all => 'EV: ' . missing('libev-perl') unless eval { require EV; 1 };
    EV::default_loop();
    my $fds = open_fds();
    {
        my ($l, $c, $s) = tcp_pair();
        $s->settimeout(5);
        my ($line, $fh);
        my $r = EV::io($c, EV::READ(), sub {
            my ($w) = @_;
            $fh   = $w->fh;
            $line = <$c>;
            $w->stop;
            EV::break();
        });
        my $timer = EV::timer(10, 0, sub { EV::break() });
        $s->sendall("a line for EV\n");
        EV::run();
        is($line, "a line for EV\n", 'EV::io READ: the callback reads the line with <$sock>');
        is(refaddr($fh), refaddr($c), '... and $w->fh is the very object');

        my $wrote;
        my $w = EV::io($c, EV::WRITE(), sub {
            $wrote = print {$c} "a line back\n";
            $_[0]->stop;
            EV::break();
        });
        EV::run();
        ok($wrote, 'EV::io WRITE: the callback prints');
        is($s->recv(100), "a line back\n", '... and the peer gets it');
        undef $_ for $r, $w, $timer;
    }
    no_fd_left($fds, 'EV');
};

# ----------------------------------------------- AnyEvent, in a child perl

# AnyEvent chooses its backend once per process: each one runs in a child
# perl, which prints name=value lines.
my $anyevent_child = <<'CHILD';
use strict;
use warnings;
use Scalar::Util qw(refaddr);
use Time::HiRes ();
use BSDTest;
use BSDSocket qw(:all);
use AnyEvent;
use AnyEvent::Handle;

$| = 1;
guard_alarm(30);
sub out { my ($k, $v) = @_; $v //= 'undef'; $v =~ s/\n/\\n/g; print "$k=$v\n" }

out(model => AnyEvent::detect());    # loads the backend, which may open fds
my $fds = open_fds();

# AnyEvent->io: a line read in the callback, a line printed in the next
{
    my ($l, $c, $s) = tcp_pair();
    $s->settimeout(5);
    my $cv = AE::cv;
    my $timer = AE::timer(10, 0, sub { $cv->send('timed out') });
    my $w = AnyEvent->io(fh => $c, poll => 'r', cb => sub { $cv->send(scalar <$c>) });
    $s->sendall("to the client\n");
    out(io_read => $cv->recv);
    undef $w;
    $cv = AE::cv;
    $w = AnyEvent->io(fh => $c, poll => 'w', cb => sub { $cv->send(print {$c} "to the peer\n") });
    out(io_write => $cv->recv);
    undef $w;
    out(io_peer => $s->recv(100));
}

# AnyEvent::Handle: lines both ways, then the peer closes or resets
for my $end ('close', 'reset') {
    my ($l, $c, $s) = tcp_pair();
    $s->settimeout(5);
    my $cv = AE::cv;
    my $timer = AE::timer(10, 0, sub { $cv->send('timed out') });
    my @lines;
    my $h = AnyEvent::Handle->new(
        fh      => $c,
        on_read => sub {
            $_[0]->push_read(line => sub {
                my ($h, $line) = @_;
                push @lines, $line;
                $h->push_write("got: $line\n");
            });
        },
        on_eof   => sub { $cv->send('eof') },
        on_error => sub { $cv->send("error fatal=$_[1] errno=" . ($! + 0)) },
    );
    out("handle_${end}_fh" => refaddr($h->fh) == refaddr($c) ? 'same' : 'other');
    my $peer = '';
    my $pw;
    $pw = AE::io($s, 0, sub {
        $peer .= $s->recv(100);
        return unless $peer =~ tr/\n// == 2;
        undef $pw;
        $s->setsockopt(SOL_SOCKET, SO_LINGER, pack('ii', 1, 0)) if $end eq 'reset';
        $s->close;
    });
    $s->sendall("one\ntwo\n");
    out("handle_${end}_end" => $cv->recv);
    out("handle_${end}_lines" => join ',', @lines);
    out("handle_${end}_peer" => $peer);
    $h->destroy;
}

# AnyEvent::Handle->new makes the fd non-blocking with fcntl and then
# expects syswrite to fail EAGAIN, not to wait, when the send buffer is
# full: a push_write then must return at once.
{
    my ($l, $c, $s) = tcp_pair();
    $c->settimeout(0);
    1 while eval { $c->send('x' x 65536) };   # fill it: the peer reads nothing
    $c->settimeout(undef);                    # the default of a new socket
    my $h = AnyEvent::Handle->new(fh => $c, on_error => sub { }, linger => 0);
    my $returned = eval {
        local $SIG{ALRM} = sub { die "push_write still waiting\n" };
        Time::HiRes::alarm(1.5);
        $h->push_write("more\n");
        Time::HiRes::alarm(0);
        1;
    };
    Time::HiRes::alarm(0);
    guard_alarm(30);
    out(full_push_write => $returned ? 'returned' : 'waited');
    $h->destroy;
}

out(fds_left => open_fds() - $fds);
out(done => 1);
CHILD

for my $model ('Perl', 'EV') {
    subtest "AnyEvent->io and AnyEvent::Handle, $model backend" => sub {
        plan skip_all => 'AnyEvent: ' . missing('libanyevent-perl')
            unless eval { require AnyEvent; require AnyEvent::Handle; 1 };
        plan skip_all => 'EV: ' . missing('libev-perl')
            if $model eq 'EV' && !eval { require EV; 1 };
        local $ENV{PERL_ANYEVENT_MODEL} = $model;
        open(my $from, '-|', perl_cmd('-e', $anyevent_child)) // die "fork: $!";
        my %r = map { /^(\w+)=(.*)$/ ? ($1 => $2) : () } <$from>;
        close $from;
        is($?, 0, 'the child exited 0');
        is($r{model}, "AnyEvent::Impl::$model", "AnyEvent chose the $model backend");
        is($r{io_read}, 'to the client\n', 'AnyEvent->io(fh => $sock, poll => r): <$sock> in the callback reads the line');
        is($r{io_write}, 1, 'AnyEvent->io(fh => $sock, poll => w): the callback prints');
        is($r{io_peer}, 'to the peer\n', '... and the peer gets it');
        for my $end ('close', 'reset') {
            is($r{"handle_${end}_fh"}, 'same', "AnyEvent::Handle ($end): fh is the very object");
            is($r{"handle_${end}_lines"}, 'one,two', "AnyEvent::Handle ($end): push_read(line) read both lines");
            is($r{"handle_${end}_peer"}, 'got: one\ngot: two\n', "AnyEvent::Handle ($end): push_write reached the peer");
        }
        is($r{handle_close_end}, 'eof', 'AnyEvent::Handle: on_eof when the peer closes');
        is($r{handle_reset_end}, 'error fatal=1 errno=' . ECONNRESET,
           'AnyEvent::Handle: on_error (fatal, ECONNRESET) when the peer resets');
        # (AnyEvent::Handle makes the fd O_NONBLOCK with fcntl, not with the
        # blocking method: the handle follows that flag)
        is($r{full_push_write}, 'returned', 'AnyEvent::Handle: push_write on a full send buffer returns at once');
        is($r{fds_left}, 0, "AnyEvent ($model): no fd left open");
        is($r{done}, 1, 'the child ran to its end');
    };
}

# ----------------------------------------------------------------- IO::Async

for my $class ('IO::Async::Loop::Poll', 'IO::Async::Loop::Epoll') {
    subtest "IO::Async::Stream on $class takes the socket object" => sub {
        plan skip_all => 'IO::Async: ' . missing('libio-async-perl')
            unless eval { require IO::Async::Stream; require IO::Async::Loop::Poll; 1 };
        (my $file = "$class.pm") =~ s{::}{/}g;
        plan skip_all => "$class: " . missing('libio-async-loop-epoll-perl')
            unless eval { require $file; 1 };
        my $loop = $class->new;
        my $fds = open_fds();
        {
            my ($l, $c, $s) = tcp_pair();
            $s->settimeout(5);
            my (@lines, $closed);
            my $stream = IO::Async::Stream->new(
                handle  => $c,
                on_read => sub {
                    my ($self, $buffref, $eof) = @_;
                    while ($$buffref =~ s/^(.*)\n//) {
                        push @lines, $1;
                        $self->write("echo: $1\n");
                    }
                    return 0;
                },
                on_closed => sub { $closed++ },
            );
            $loop->add($stream);
            is(refaddr($stream->read_handle), refaddr($c), 'handle => $sock: the stream holds the very object');
            is($c->gettimeout, 0, '... which the loop made non-blocking (settimeout(0))');

            $s->sendall("one\ntwo\n");
            my $deadline = time + 10;
            $loop->loop_once(0.5) while @lines < 2 && time < $deadline;
            is_deeply(\@lines, ['one', 'two'], 'on_read gets the lines');
            my $got = '';
            while ($got !~ /two\n/ && time < $deadline) {
                $loop->loop_once(0.1);
                my ($readable) = BSDSocket::select([$s], undef, undef, 0);
                $got .= $s->recv(100) if @$readable;
            }
            is($got, "echo: one\necho: two\n", 'write() reaches the peer');

            $stream->write("last\n");
            $stream->close_when_empty;
            $loop->loop_once(0.5) while !$closed && time < $deadline;
            is($closed, 1, 'close_when_empty: on_closed once the last write went');
            is($c->fileno, -1, '... and the socket is closed');
            my $rest = '';
            while (length(my $more = $s->recv(100))) { $rest .= $more }
            is($rest, "last\n", '... the peer got the last write, then end of file');
            $loop->remove($stream) if $stream->loop;
        }
        no_fd_left($fds, $class);
    };
}

# ---------------------------------------------------------------------- Mojo

for my $reactor ('Mojo::Reactor::Poll', 'Mojo::Reactor::EV') {
    subtest "Mojo::IOLoop::Stream on $reactor takes the socket object" => sub {
        plan skip_all => 'Mojolicious: ' . missing('libmojolicious-perl')
            unless eval { require Mojo::IOLoop; require Mojo::IOLoop::Stream; require Mojo::Reactor::Poll; 1 };
        # Mojo::Reactor::EV can be made once: the singleton loop has it
        # when EV was there when Mojo::IOLoop was loaded
        my $loop;
        if ($reactor eq 'Mojo::Reactor::Poll') {
            $loop = Mojo::IOLoop->new(reactor => Mojo::Reactor::Poll->new);
        }
        else {
            plan skip_all => 'EV: ' . missing('libev-perl') unless eval { require EV; 1 };
            $loop = Mojo::IOLoop->singleton;
            plan skip_all => 'the singleton loop runs on ' . ref($loop->reactor) . ' (MOJO_REACTOR?)'
                unless ref $loop->reactor eq $reactor;
        }
        is(ref $loop->reactor, $reactor, "the loop runs on $reactor");
        my $fds = open_fds();
        {
            my ($l, $c, $s) = tcp_pair();
            $s->settimeout(5);
            my ($got, $peer, $closes, @lines, @errors) = ('', '', 0);
            my $stream = Mojo::IOLoop::Stream->new($c);
            is(refaddr($stream->handle), refaddr($c), 'Mojo::IOLoop::Stream->new($sock): the very object');
            $stream->on(read => sub {
                my ($stream, $bytes) = @_;
                $got .= $bytes;
                while ($got =~ s/^(.*)\n//) {
                    push @lines, $1;
                    $stream->write("ack: $1\n");
                }
            });
            $stream->on(close => sub { $closes++; $loop->stop });
            $stream->on(error => sub { push @errors, $_[1] });
            $loop->stream($stream);
            $loop->reactor->io($s => sub {
                $peer .= $s->recv(100);
                return unless $peer =~ /\n/;
                $loop->reactor->remove($s);
                $s->close;
            })->watch($s, 1, 0);
            my $timer = $loop->timer(10 => sub { $loop->stop });
            $s->sendall("hello mojo\n");
            $loop->start;
            $loop->remove($timer);
            is_deeply(\@lines, ['hello mojo'], 'read event: the line came');
            is($peer, "ack: hello mojo\n", 'write: the answer reached the peer');
            is($closes, 1, 'close event when the peer closes');
            is_deeply(\@errors, [], '... and no error event');
        }
        no_fd_left($fds, "Mojo on $reactor");
    };
}

# ----------------------------------------------------------------- Future::IO

subtest 'Future::IO takes the socket object' => sub {
    plan skip_all => 'Future::IO: ' . missing('libfuture-io-perl') unless eval { require Future::IO; 1 };
    my $fds = open_fds();
    {
        my ($l, $c, $s) = tcp_pair();
        $s->settimeout(5);
        $s->sendall('abcdef');
        is(Future::IO->sysread($c, 4)->get, 'abcd', 'sysread($sock, 4)->get: four bytes');
        is(Future::IO->sysread($c, 100)->get, 'ef', '... then the rest');
        is(Future::IO->syswrite($c, 'to the peer')->get, 11, 'syswrite($sock, $data)->get: the count');
        is($s->recv(100), 'to the peer', '... and the peer gets the bytes');
        is(do { no warnings 'once'; $Future::IO::IMPL }, 'Future::IO::_DefaultImpl',
           '... with the default implementation');

        # with a timer pending, the default implementation selects on
        # $sock->fileno until the data comes
        my $read = Future::IO->sysread($c, 100);
        my $later = Future::IO->sleep(0.2)->then(sub { $s->send('late'); Future->done });
        is($read->get, 'late', 'sysread waits alongside a timer for the data');

        $s->close;
        is_deeply([Future::IO->sysread($c, 100)->get], [], 'sysread at end of file: an empty list');
    }
    no_fd_left($fds, 'Future::IO');
};

# ------------------------------------------------------------ IO::Socket::SSL

# Runs a program with its output thrown away; returns its exit status.
sub run_quietly {
    my @cmd = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDIN,  '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec(@cmd) or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    return $?;
}

my $server_pid;
END {
    if ($server_pid) {
        kill 'TERM', $server_pid;
        waitpid $server_pid, 0;
    }
}

subtest 'IO::Socket::SSL->start_SSL takes the socket object' => sub {
    my $openssl = have_program('openssl')
        or plan skip_all => 'the openssl program is not installed (Debian: openssl)';
    plan skip_all => 'IO::Socket::SSL: ' . missing('libio-socket-ssl-perl')
        unless eval { require IO::Socket::SSL; 1 };
    my $dir = temp_dir();
    is(run_quietly($openssl, qw(req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1),
                   -keyout => "$dir/key.pem", -out => "$dir/cert.pem"), 0,
       'openssl req: a self-signed certificate');

    my $free = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $free->bind(['127.0.0.1', 0]);
    my $port = $free->getsockname->[1];
    $free->close;

    $server_pid = fork // die "fork: $!";
    if (!$server_pid) {
        open STDIN,  '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec($openssl, 's_server', -accept => "127.0.0.1:$port",
             -cert => "$dir/cert.pem", -key => "$dir/key.pem", '-www')
            or POSIX::_exit(127);
    }
    my $up;
    for (1 .. 200) {
        if (waitpid($server_pid, POSIX::WNOHANG()) == $server_pid) {
            diag("openssl s_server exited: $?");
            undef $server_pid;
            last;
        }
        my $probe = BSDSocket::socket(AF_INET, SOCK_STREAM);
        $probe->settimeout(1);
        last if $up = eval { $probe->connect(['127.0.0.1', $port]); 1 };
        Time::HiRes::sleep(0.05);
    }
    ok($up, "openssl s_server accepts on 127.0.0.1:$port") or return;

    local $SIG{PIPE} = 'IGNORE';    # OpenSSL writes to the fd itself
    my $fds = open_fds();
    {
        my $sock = BSDSocket::create_connection(['127.0.0.1', $port], 5);
        $sock->settimeout(5);
        my $tls = IO::Socket::SSL->start_SSL($sock,
            SSL_ca_file         => "$dir/cert.pem",
            SSL_verifycn_name   => 'localhost',
            SSL_verifycn_scheme => 'default',
        );
        ok($tls, 'start_SSL($sock) on a socket with settimeout(5): the handshake completes, the certificate verifies')
            or diag('SSL_ERROR: ' . do { no warnings 'once'; $IO::Socket::SSL::SSL_ERROR });
        is(refaddr($tls), refaddr($sock), '... returning the very object');
        isa_ok($sock, 'IO::Socket::SSL', '$sock afterwards');
        ok(print({ $sock } "GET / HTTP/1.0\r\n\r\n"), 'print: the request goes out');
        my @lines = <$sock>;
        like($lines[0] // '', qr{^HTTP/1\.0 200\b}, 'the status line is HTTP/1.0 200');
        like(join('', @lines), qr/s_server/, '... and the page is s_server\'s');
        is_deeply(BSDSocket::Socket::getpeername($sock), ['127.0.0.1', $port],
                  'BSDSocket::Socket::getpeername($sock) still works on it');
        ok($sock->close, 'close');
    }
    no_fd_left($fds, 'IO::Socket::SSL');

    kill 'TERM', $server_pid;
    waitpid $server_pid, 0;
    undef $server_pid;
};

done_testing;
