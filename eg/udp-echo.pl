#!/usr/bin/perl
# UDP: an echo server that moves datagrams in batches, and a client.
#   perl -Mblib eg/udp-echo.pl [count]      (default: 1000 datagrams)
# The server (a child process) takes up to 64 datagrams per system call
# with recv_many and sends each back to its sender with send_many; the
# client sends its datagrams in batches too, and checks every one came
# back.  UDP may drop datagrams when a receiver falls behind, so the
# client sends a batch and waits for its echoes before the next one.
use strict;
use warnings;
use BSDSocket qw(:DEFAULT);

my $COUNT = shift // 1000;
my $BATCH = 64;

my $server = BSDSocket::socket(AF_INET, SOCK_DGRAM);
$server->bind(['127.0.0.1', 0]);
my $pid = fork // die "fork: $!";
if (!$pid) {
    while (1) {
        my @datagrams = $server->recv_many($BATCH, 2048);   # [$bytes, $address, $flags] each
        last if grep { $_->[0] eq 'stop' } @datagrams;
        $server->send_many(\@datagrams);                    # each back to its sender
    }
    exit 0;
}

my $client = BSDSocket::socket(AF_INET, SOCK_DGRAM);
$client->bind(['127.0.0.1', 0]);
$client->settimeout(5);
my ($sent, $echoed) = (0, 0);
while ($sent < $COUNT) {
    my @batch = map { "datagram $_" } $sent .. ($sent + $BATCH > $COUNT ? $COUNT : $sent + $BATCH) - 1;
    $sent += $client->send_many(\@batch, $server->getsockname);
    my %waiting = map { $_ => 1 } @batch;
    while (%waiting) {
        delete $waiting{ $_->[0] } for $client->recv_many($BATCH, 2048);
    }
    $echoed += @batch;
}
$client->sendto('stop', $server->getsockname);
waitpid $pid, 0;
print "Sent $sent datagrams, all $echoed came back\n";
exit($? == 0 && $echoed == $COUNT ? 0 : 1);
