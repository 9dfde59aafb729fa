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

done_testing;
