#!/usr/bin/perl
# Echo server program: the one in Python's socket documentation, in Perl.
#   perl -Mblib eg/echo-server.pl [host] [port]     (defaults: '' and 50007)
use strict;
use warnings;
use BSDSocket qw(:DEFAULT SOL_SOCKET SO_REUSEADDR);

my $HOST = shift // '';            # '' means all available interfaces
my $PORT = shift // 50007;         # arbitrary non-privileged port

my $s = BSDSocket::socket(AF_INET, SOCK_STREAM);
$s->setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
$s->bind([$HOST, $PORT]);
$s->listen(1);
$| = 1;
print "Listening on ", join(':', @{ $s->getsockname }), "\n";
my ($conn, $addr) = $s->accept;
print "Connected by ", join(':', @$addr), "\n";
while (1) {
    my $data = $conn->recv(1024);
    last if $data eq '';
    $conn->send($data);
}
$conn->close;
