use strict;
use warnings;
use Test::More;
use Errno qw(EAGAIN);
use POSIX ();
use Time::HiRes qw(time);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all select);

# Readiness at scale: 500 concurrent clients against the
# poller-based echo server of eg/, and 200 against a server on
# BSDSocket::select; every byte checked.

guard_alarm(120);
local $ENV{PERL5LIB} = join ':', grep { !ref } @INC;

# The clients, all in this process, driven by a poller of their own.
# Each connects (all of them before any sends), sends its own message,
# reads the echo, checks it, shuts down its side and waits for the
# server's end of file.  Returns (clients whose echo matched, seconds).
sub run_clients {
    my ($address, $count) = @_;
    my $t0 = time;
    my $poller = BSDSocket::Poller->new;
    my @clients;
    for my $i (1 .. $count) {
        my $sock = BSDSocket::create_connection($address, 10);
        $sock->settimeout(0);
        # sizes from a few bytes to 64 KiB and more: some need many sends
        my $size = 1 + ($i * 7919) % 90_000;
        my $message = join '', map { chr(($i + $_) % 256) } 0 .. 255;
        $message = substr($message x (1 + int($size / 256)), 0, $size);
        my $c = { sock => $sock, out => $message, want => $message, got => '' };
        push @clients, $c;
        $poller->register($sock, POLLIN | POLLOUT, $c);
    }
    my ($matched, $done) = (0, 0);
    while ($done < $count) {
        my @ready = $poller->poll(10) or die "clients: nothing happened for 10 s\n";
        for (@ready) {
            my ($c, $events) = @$_;
            my $sock = $c->{sock};
            if (length $c->{out} && ($events & POLLOUT)) {
                my $n = eval { $sock->send($c->{out}) } // 0;
                substr($c->{out}, 0, $n, '');
                $poller->modify($sock, POLLIN, $c) unless length $c->{out};
            }
            next unless $events & (POLLIN | POLLHUP | POLLERR);
            my $data = eval { $sock->recv(65536) };
            next unless defined $data;          # (EAGAIN: not yet)
            if (length $data) {
                $c->{got} .= $data;
                if (length $c->{got} == length $c->{want}) {
                    $matched++ if $c->{got} eq $c->{want};
                    $sock->shutdown(SHUT_WR);   # we are done: the server sees EOF
                }
                next;
            }
            $poller->unregister($sock);         # the server closed: this one is over
            $sock->close;
            $done++;
        }
    }
    return ($matched, time - $t0);
}

# Each side holds one fd per client, plus a few.
my $fd_limit = POSIX::sysconf(POSIX::_SC_OPEN_MAX()) // 0;

# ---------------------------------------- 500 clients, the poller server

SKIP: {
    skip "500 clients need 600 fds a process; the limit here is $fd_limit (ulimit -n)", 3
        if $fd_limit < 600;
    my $pid = open(my $server, '-|', $^X, 'eg/poller-echo-server.pl', '127.0.0.1', 0, 500)
        or die "server: $!";
    my ($port) = scalar(<$server>) =~ /^Listening on 127\.0\.0\.1:(\d+)$/ or die "no port from the server\n";
    my ($matched, $took) = eval { run_clients(['127.0.0.1', $port], 500) };
    if (!defined $matched) {
        # the server would wait for its 500 clients for ever
        diag("the clients failed: $@");
        kill TERM => $pid;
        $matched = $took = 0;
    }
    is($matched, 500, 'the poller echo server (eg/): 500 concurrent clients, every byte echoed');
    close $server;
    is($?, 0, '... and it exits 0 once all 500 have come and gone');
    ok($took < 60, sprintf '... in %.2f s', $took);
    diag(sprintf '500 clients via eg/poller-echo-server.pl: %.2f s', $took);
}

# ------------------------------------- 200 clients, a select-based server

SKIP: {
    skip "200 clients need 250 fds a process; the limit here is $fd_limit (ulimit -n)", 3
        if $fd_limit < 250;
    my $listener = BSDSocket::create_server(['127.0.0.1', 0], backlog => 1024);
    my $pid = fork // die;
    if (!$pid) {
        # the server: BSDSocket::select over the listener and every client
        # (and out with status 1, not into the test, if anything dies)
        local $SIG{__DIE__} = sub { return if $^S; print STDERR "# server: $_[0]"; POSIX::_exit(1) };
        $listener->settimeout(0);
        my %conn;                   # fileno => { sock, out }
        my $finished = 0;
        while ($finished < 200) {
            my @reading = ($listener, map { $_->{sock} } grep { !length $_->{out} } values %conn);
            my @writing = map { $_->{sock} } grep { length $_->{out} } values %conn;
            my ($r, $w) = select(\@reading, \@writing, [], 10);
            die "server: nothing happened for 10 s\n" unless @$r || @$w;
            for my $sock (@$w) {
                my $c = $conn{ $sock->fileno };
                my $n = eval { $sock->send($c->{out}) } // 0;
                substr($c->{out}, 0, $n, '');
            }
            for my $sock (@$r) {
                if ($sock == $listener) {
                    while (my $new = eval { $listener->accept }) {
                        $new->settimeout(0);
                        $conn{ $new->fileno } = { sock => $new, out => '' };
                    }
                    next;
                }
                my $data = eval { $sock->recv(65536) };
                next unless defined $data;
                if (length $data) { $conn{ $sock->fileno }{out} .= $data; next }
                delete $conn{ $sock->fileno };
                $sock->close;
                $finished++;
            }
        }
        POSIX::_exit(0);
    }
    my ($matched, $took) = eval { run_clients($listener->getsockname, 200) };
    if (!defined $matched) {
        diag("the clients failed: $@");
        kill TERM => $pid;
        $matched = $took = 0;
    }
    $listener->close;
    waitpid $pid, 0;
    is($matched, 200, 'a BSDSocket::select echo server: 200 concurrent clients, every byte echoed');
    is($?, 0, '... and it served all 200 to the end');
    ok($took < 60, sprintf '... in %.2f s', $took);
    diag(sprintf '200 clients via BSDSocket::select: %.2f s', $took);
}

done_testing;
