use strict;
use warnings;
use Test::More;

use lib 't/lib';
use BSDTest;
use BSDSocket;

guard_alarm(60);
local $ENV{PERL5LIB} = join ':', grep { !ref } @INC;

# the README's "see it work" command
my $demo = qx{"$^X" eg/echo-demo.pl};
is($?, 0, 'eg/echo-demo.pl exits 0');
like($demo, qr/^Received 'Hello, world'$/m, "it prints Received 'Hello, world'");

# the server and the client as two processes
my $probe = BSDSocket::socket(AF_INET, SOCK_STREAM);
$probe->bind(['127.0.0.1', 0]);
my $port = $probe->getsockname->[1];
$probe->close;

open(my $server, '-|', $^X, 'eg/echo-server.pl', '', $port) or die "server: $!";
like(scalar <$server>, qr/^Listening on 0\.0\.0\.0:$port$/, 'the server listens on all interfaces');
my $client = qx{"$^X" eg/echo-client.pl localhost $port};
is($?, 0, 'the client exits 0');
is($client, "Received 'Hello, world'\n", 'the client got its echo back from the server');
like(scalar <$server>, qr/^Connected by 127\.0\.0\.1:\d+$/, 'the server saw the client');
close $server;
is($?, 0, 'the server exits 0 after the client closed');

# the newer examples run on their own and say what happened
my $udp = qx{"$^X" eg/udp-echo.pl 300};
is($?, 0, 'eg/udp-echo.pl exits 0');
is($udp, "Sent 300 datagrams, all 300 came back\n", '... every datagram came back');
my $passing = qx{"$^X" eg/fd-passing.pl};
is($?, 0, 'eg/fd-passing.pl exits 0');
like($passing, qr/^The file now says: Written by process \d+, who was told: write here, please$/,
     '... the child wrote through the descriptor it was passed');
# (eg/poller-echo-server.pl serves the 500 clients of t/84-many-clients.t)

done_testing;
