#!/usr/bin/perl
# Runs eg/echo-server.pl and eg/echo-client.pl against each other on
# loopback, on a free port, and exits 0 when the echo came back:
#   perl Makefile.PL && make && perl -Mblib eg/echo-demo.pl
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Spec;
use BSDSocket;

my $dir = dirname(File::Spec->rel2abs(__FILE__));
local $ENV{PERL5LIB} = join ':', grep { !ref } @INC;   # the children see this build

# a free port: bind port 0, read what the kernel chose, let it go
my $probe = BSDSocket::socket(AF_INET, SOCK_STREAM);
$probe->bind(['127.0.0.1', 0]);
my $port = $probe->getsockname->[1];
$probe->close;

$SIG{ALRM} = sub { die "echo-demo: no echo within 20 seconds\n" };
alarm 20;

my $server_pid = open(my $server, '-|', $^X, "$dir/echo-server.pl", '127.0.0.1', $port)
    // die "echo-demo: cannot start the server: $!\n";
my $listening = <$server>;
die "echo-demo: the server did not start\n" unless defined $listening;
print "server: $listening";

my $reply = qx{"$^X" "$dir/echo-client.pl" 127.0.0.1 $port};
die "echo-demo: the client failed\n" if $?;
print $reply;

my $rest = do { local $/; <$server> };
print map { "server: $_\n" } split /\n/, $rest // '';
close $server;
die "echo-demo: the server failed\n" if $?;
alarm 0;

exit($reply eq "Received 'Hello, world'\n" ? 0 : 1);
