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
use Errno qw(EAGAIN);

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
while (!defined $CLIENTS || $finished < $CLIENTS) {
    for my $ready ($poller->poll) {
        my ($what, $events) = @$ready;
        if ($what == $listener) {
            # take every connection that is waiting
            while (my $sock = eval { $listener->accept }) {
                $sock->settimeout(0);
                $poller->register($sock, POLLIN, { sock => $sock, out => '', want => POLLIN });
            }
            die $@ if $@ && $@->errno != EAGAIN;
            next;
        }
        my $conn = $what;                  # the data we registered
        my $sock = $conn->{sock};
        if ($events & (POLLIN | POLLHUP | POLLERR)) {
            my $data = eval { $sock->recv(65536) };
            if (!defined $data) {          # an error: drop the client
                die $@ unless ref $@;
                $data = '';
            }
            if ($data eq '') {             # end of file: the client is done
                $poller->unregister($sock);
                $sock->close;
                $finished++;
                next;
            }
            $conn->{out} .= $data;
        }
        if (length $conn->{out}) {
            my $sent = eval { $sock->send($conn->{out}) } // 0;
            substr($conn->{out}, 0, $sent, '');
        }
        # wait to write while there is something to write, else to read
        my $want = length $conn->{out} ? POLLOUT : POLLIN;
        $poller->modify($sock, $conn->{want} = $want, $conn) if $want != $conn->{want};
    }
}
