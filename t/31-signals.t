use strict;
use warnings;
use Test::More;
use Errno qw(EPIPE ECONNRESET EBADF);
use Time::HiRes qw(time sleep ualarm);
use POSIX ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# EINTR runs Perl's deferred signal handlers and the call goes on
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

# ------------------------------------ the variable recv is assigned to
#
# (issue 12) `$data = $sock->recv(...)` receives straight into $data.  A
# handler that ran while the call waited and freed $data's buffer (undef
# $data, a new value, a reference, a tie) had the retried recv(2) write
# into freed memory.  Now the data goes to a buffer of the call's own
# once Perl code runs, and is then assigned as `$data = ...` would.  Each
# case runs in a child (the old code could crash), where another child
# sends SIGUSR1 while the call waits and then the data; the variable must
# hold exactly the bytes sent.

# Run $code in a child process; in_child returns its wait status and the
# name => value list it returned.  spawn starts one and returns at once,
# so that the cases (each waiting a tenth of a second for its signal)
# run side by side; collect waits for it.
sub spawn {
    my ($code) = @_;
    my ($pid, $from_child) = start_child();
    unless ($pid) {
        my @out = eval { $code->() };
        finish_child($@ eq '' ? @out : (died => "$@"));
    }
    return [$pid, $from_child];
}
sub collect { end_child(@{ $_[0] }) }
sub in_child { collect(spawn(@_)) }
my $to_parent;
sub start_child {
    pipe(my $from_child, $to_parent) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid) {
        close $to_parent;
        return ($pid, $from_child);
    }
    close $from_child;
    $SIG{ALRM} = 'DEFAULT';     # a child that hangs dies of its own alarm
    alarm 20;
    return (0, undef);
}
sub finish_child {
    print {$to_parent} pack '(w/a)*', map { defined $_ ? "d$_" : 'u' } @_;
    close $to_parent;
    POSIX::_exit(0);
}
sub end_child {
    my ($pid, $from_child) = @_;
    my $packed = do { local $/; <$from_child> } // '';
    close $from_child;
    waitpid $pid, 0;
    return ($?, map { /^d/ ? substr($_, 1) : undef } unpack '(w/a)*', $packed);
}
sub child_ok {
    my ($status, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    ok($status == 0, $name)
        or diag($status & 127 ? 'the child was killed by signal ' . ($status & 127)
                              : 'the child exited with ' . ($status >> 8));
}
# what a variable holds, in words when it is no string
sub holds {
    my ($v) = @_;
    return 'undef' unless defined $v;
    return 'a ' . ref($v) . ' reference' if ref $v;
    return utf8::is_utf8($v) ? "characters '$v'" : $v;
}
{
    package Recorder;
    sub TIESCALAR { bless { stores => 0, value => 'tied at first' }, shift }
    sub FETCH { $_[0]{value} }
    sub STORE { $_[0]{stores}++; $_[0]{value} = $_[1] }
}

# the handlers: what they do to the variable
my @arrays = ([1, 2, 3]);
my %rewrite = (
    'undefines it'            => sub { undef ${ $_[0] } },
    'gives it a new string'   => sub { ${ $_[0] } = 'n' x 1_000_000 },
    'gives it a short string' => sub { ${ $_[0] } = 'short' },
    'gives it a number'       => sub { ${ $_[0] } = 42.5 },
    'makes it a reference'    => sub { ${ $_[0] } = $arrays[0] },
    'ties it'                 => sub { tie ${ $_[0] }, 'Recorder' },
    'chops it'                => sub { substr(${ $_[0] }, 0, 10, '') },
    'gives it characters'     => sub { ${ $_[0] } = "\x{263a}" x 100 },
);

my %running;
for my $how (sort keys %rewrite) {
    my $payload = "sent after a handler that $how";
    $running{$how} = spawn(sub {
        my ($a, $b) = BSDSocket::socketpair();
        my $data = 'x' x 10;
        local $SIG{USR1} = sub { $rewrite{$how}->(\$data) };
        my $sender = signals_then_send(gap => 0.05, last_gap => 0.1, peer => $a, data => $payload);
        my $before = BSDSocket::_fastcall_count();
        $data = $b->recv(65536);
        my $taken = BSDSocket::_fastcall_count() - $before;
        waitpid $sender, 0;
        my $tied = tied $data;
        return (data => holds($data), taken => $taken,
                stores => $tied ? $tied->{stores} : 'not tied', array => "@{ $arrays[0] }");
    });
}
for my $how (sort keys %rewrite) {
    my $payload = "sent after a handler that $how";
    my ($status, %got) = collect($running{$how});
    child_ok($status, "\$data = recv, a handler that $how while it waits: the child lived");
    is($got{data}, $payload, '... and $data holds exactly the bytes sent');
    is($got{taken}, 1, '... through the shortcut');
    is($got{stores}, 1, '... stored once through the tie') if $how eq 'ties it';
    is($got{array}, '1 2 3', '... and the array it referred to is intact') if $how eq 'makes it a reference';
}

# the same through a timer (SIGALRM), with the socket's timeout
{
    my ($status, %got) = in_child(sub {
        my ($a, $b) = BSDSocket::socketpair();
        $b->settimeout(10);
        my $data = 'x' x 100;
        local $SIG{ALRM} = sub { $data = $arrays[0]; $a->send('sent by the handler') };
        ualarm(100_000);
        $data = $b->recv(65536);
        return (data => holds($data));
    });
    child_ok($status, '$data = recv with a timeout, an ALRM handler that rewrites it and sends: the child lived');
    is($got{data}, 'sent by the handler', '... and $data holds the bytes');
    guard_alarm(60);
}

# `my $data = $sock->recv(...)`: a named sub sees the file's lexical, so
# a handler can reach the variable the statement declares
{
    my ($pid, $from_child) = start_child();
    unless ($pid) {
      eval {
        my ($a, $b) = BSDSocket::socketpair();
        local $SIG{USR1} = \&undef_my_data;
        my $sender = signals_then_send(gap => 0.05, last_gap => 0.1, peer => $a, data => 'into my $data, undefined');
        my $my_data = $b->recv(65536);
        waitpid $sender, 0;
        $SIG{USR1} = \&replace_my_other;
        $sender = signals_then_send(gap => 0.05, last_gap => 0.1, peer => $a, data => 'into my $data, replaced');
        my $my_other = $b->recv(65536);
        waitpid $sender, 0;
        $SIG{USR1} = \&ref_my_third;
        $sender = signals_then_send(gap => 0.05, last_gap => 0.1, peer => $a, data => 'into my $data, a reference');
        my $my_third = $b->recv(65536);
        waitpid $sender, 0;
        finish_child(map { holds($_) } $my_data, $my_other, $my_third);
        sub undef_my_data    { undef $my_data }
        sub replace_my_other { $my_other = 'n' x 1_000_000 }
        sub ref_my_third     { $my_third = $arrays[0] }
      };
      finish_child("died: $@");
    }
    my ($status, @got) = end_child($pid, $from_child);
    child_ok($status, 'my $data = recv, with handlers that rewrite $data: the child lived');
    is_deeply(\@got, ['into my $data, undefined', 'into my $data, replaced', 'into my $data, a reference'],
              '... and each variable holds exactly the bytes sent');
}

# other places the data can go while a handler runs: a list, a list
# assignment, recv_into and recvfrom_into (whose buffer the handler rewrites)
{
    my @cases = (
        ['my @r = recv(65536)' => sub {
            my ($b, $data) = @_;
            my @r = $b->recv(65536);
            return "@r";
        }],
        ['my @r = recv(100) (a call-site target)' => sub {
            my ($b, $data) = @_;
            my @r = $b->recv(100);
            return "@r";
        }],
        ['($data) = recv(100), a list assignment' => sub {
            my ($b, $data) = @_;
            ($$data) = $b->recv(100);
            return holds($$data);
        }],
        ['recvfrom in list context' => sub {
            my ($b, $data) = @_;
            my ($d, $from) = $b->recvfrom(65536);
            return "$d from '$from'";
        }],
        ['recv_into a buffer the handler rewrites' => sub {
            my ($b, $data) = @_;
            my $n = $b->recv_into($$data, 65536);
            return "$n " . holds($$data);
        }],
        ['recvfrom_into a buffer the handler rewrites' => sub {
            my ($b, $data) = @_;
            my ($n, $from) = $b->recvfrom_into($$data, 65536);
            return "$n " . holds($$data) . " from '$from'";
        }],
    );
    my $payload = 'the payload';
    my @hows = ('undefines it', 'gives it a new string', 'ties it');
    my %running;
    for my $case (@cases) {
        my ($name, $code) = @$case;
        for my $how (@hows) {
            $running{"$name/$how"} = spawn(sub {
                my ($a, $b) = BSDSocket::socketpair();
                my $data = 'x' x 50;
                local $SIG{USR1} = sub { $rewrite{$how}->(\$data) };
                my $sender = signals_then_send(gap => 0.05, last_gap => 0.1, peer => $a, data => $payload);
                my $r = $code->($b, \$data);
                waitpid $sender, 0;
                return (result => $r);
            });
        }
    }
    for my $case (@cases) {
        my ($name) = @$case;
        for my $how (@hows) {
            my ($status, %got) = collect($running{"$name/$how"});
            child_ok($status, "$name, a handler that $how: the child lived");
            my $want = ($name =~ /_into/ ? '11 ' : '') . $payload . ($name =~ /recvfrom/ ? " from ''" : '');
            is($got{result}, $want, '... and the data arrived whole');
        }
    }
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

# ... but a SIGPIPE someone else sends while a send waits is theirs: it is
# delivered (where SIGPIPE is held around sends, it must not be taken
# back as if the send had raised it)
{
    my ($a, $b) = BSDSocket::socketpair();
    my $got = 0;
    local $SIG{PIPE} = sub { $got++ };
    my $parent = $$;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        $a->close;
        select undef, undef, undef, 0.3;
        kill 'PIPE', $parent;               # while the parent's sendall waits for room
        select undef, undef, undef, 0.2;
        1 while length($b->recv(1 << 16));  # then let it finish
        POSIX::_exit(0);
    }
    $b->close;
    guard_alarm(30);
    $a->sendall('x' x (4 << 20));
    $a->close;                              # (the child reads to the end)
    waitpid $pid, 0;
    alarm 0;
    is($got, 1, 'a SIGPIPE another process sends during a send reaches $SIG{PIPE}');
}

done_testing;
