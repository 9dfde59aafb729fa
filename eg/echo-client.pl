#!/usr/bin/perl
# Echo client program: the one in Python's socket documentation, in Perl.
#   perl -Mblib eg/echo-client.pl [host] [port]     (defaults: localhost and 50007)
use strict;
use warnings;
use BSDSocket;

my $HOST = shift // 'localhost';   # the remote host
my $PORT = shift // 50007;         # the same port as used by the server

my $s = BSDSocket::socket(AF_INET, SOCK_STREAM);
$s->connect([$HOST, $PORT]);
$s->send('Hello, world');
my $data = $s->recv(1024);
$s->close;
print "Received '$data'\n";
