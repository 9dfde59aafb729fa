#!/usr/bin/perl
# An echo server for many clients at once, on one BSDSocket::Poller.
#   perl -Mblib eg/poller-echo-server.pl [host] [port] [clients]
# (defaults: '', 50007, and run until interrupted).  Port 0 takes a free
# one; the first line printed says which.  With a number of clients, the
# server exits once that many have come and gone.
#
# Every socket is non-blocking: the poller says when one can be read or
# written, and a slow client never holds up the others.  What a client
# sends waits in its own buffer until its socket can take it; while a
# buffer is not empty the server stops reading from that client (so one
# client that never reads cannot make the server's memory grow).
use strict;
use warnings;
use BSDSocket qw(:DEFAULT SOL_SOCKET SO_REUSEADDR POLLIN POLLOUT POLLHUP POLLERR);
use Errno qw(EAGAIN EINTR ECONNABORTED EMFILE ENFILE);

my $HOST    = shift // '';
my $PORT    = shift // 50007;
my $CLIENTS = shift;                   # undef: forever

my $listener = BSDSocket::create_server([$HOST, $PORT], backlog => 1024);
$listener->settimeout(0);
my $poller = BSDSocket::Poller->new;
$poller->register($listener, POLLIN);
$| = 1;
print "Listening on ", join(':', @{ $listener->getsockname }), "\n";

my $finished = 0;
my $full = 0;                          # out of fds: not accepting for now

# A client is done (end of file, or an error): forget it.  If the server
# had run out of fds, it has one again.
sub finish {
    my ($sock) = @_;
    $poller->unregister($sock);
    $sock->close;
    $finished++;
    $poller->modify($listener, POLLIN) if $full;
    $full = 0;
}

while (!defined $CLIENTS || $finished < $CLIENTS) {
    for my $ready ($poller->poll) {
        my ($what, $events) = @$ready;
        if ($what == $listener) {
            # take every connection that is waiting
            while (my $sock = eval { $listener->accept }) {
                $sock->settimeout(0);
                $poller->register($sock, POLLIN, { sock => $sock, out => '', want => POLLIN });
            }
            my $errno = ref $@ ? $@->errno : die $@;
            if ($errno == EMFILE || $errno == ENFILE) {
                # the waiting connections stay queued until a client leaves
                warn "$@" unless $full;
                $poller->modify($listener, 0);
                $full = 1;
            }
            elsif ($errno != EAGAIN && $errno != EINTR && $errno != ECONNABORTED) {
                die $@;
            }
            next;
        }
        my $conn = $what;                  # the data we registered
        my $sock = $conn->{sock};
        if ($events & (POLLIN | POLLHUP | POLLERR)) {
            my $data = eval { $sock->recv(65536) };
            if (!defined $data) {          # an error (reset, say): drop the client
                die $@ unless ref $@;
                next if $@->errno == EAGAIN;
                $data = '';
            }
            if ($data eq '') {             # end of file: the client is done
                finish($sock);
                next;
            }
            $conn->{out} .= $data;
        }
        if (length $conn->{out}) {
            my $sent = eval { $sock->send($conn->{out}) };
            if (!defined $sent) {
                die $@ unless ref $@;
                if ($@->errno != EAGAIN) { finish($sock); next }
                $sent = 0;
            }
            substr($conn->{out}, 0, $sent, '');
        }
        # wait to write while there is something to write, else to read
        my $want = length $conn->{out} ? POLLOUT : POLLIN;
        $poller->modify($sock, $conn->{want} = $want, $conn) if $want != $conn->{want};
    }
}
