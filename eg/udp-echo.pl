#!/usr/bin/perl
# UDP: an echo server that moves datagrams in batches, and a client.
#   perl -Mblib eg/udp-echo.pl [count]      (default: 1000 datagrams)
# The server (a child process) takes up to 64 datagrams per system call
# with recv_many and sends each back to its sender with send_many; the
# client sends its datagrams in batches too, and checks every one came
# back.  UDP may drop datagrams when a receiver falls behind, so the
# client sends a batch and waits for its echoes before the next one, and
# sends again what has not come back after a second.
use strict;
use warnings;
use BSDSocket qw(:DEFAULT);

my $COUNT = shift // 1000;
my $BATCH = 64;
my $TRIES = 5;

my $server = BSDSocket::socket(AF_INET, SOCK_DGRAM);
$server->bind(['127.0.0.1', 0]);
$server->settimeout(10);               # a server nobody talks to goes away
my $pid = fork // die "fork: $!";
if (!$pid) {
    while (1) {
        # [$bytes, $address, $flags] each
        my @datagrams = eval { $server->recv_many($BATCH, 2048) } or exit 1;
        last if grep { $_->[0] eq 'stop' } @datagrams;
        $server->send_many(\@datagrams);                    # each back to its sender
    }
    exit 0;
}
# (if the client dies, it takes the server with it)
my $server_done;
END { kill TERM => $pid if $pid && !$server_done }

# Send every datagram of @$batch (send_many may take only some at a time).
sub send_all {
    my ($sock, $batch, $to) = @_;
    my $done = 0;
    $done += $sock->send_many([@$batch[$done .. $#$batch]], $to) while $done < @$batch;
}

my $client = BSDSocket::socket(AF_INET, SOCK_DGRAM);
$client->bind(['127.0.0.1', 0]);
$client->settimeout(1);
my ($sent, $echoed, $resent) = (0, 0, 0);
while ($sent < $COUNT) {
    my $last = $sent + $BATCH > $COUNT ? $COUNT - 1 : $sent + $BATCH - 1;
    my %waiting = map { ("datagram $_" => 1) } $sent .. $last;
    for my $try (1 .. $TRIES) {
        my @missing = sort keys %waiting;
        send_all($client, \@missing, $server->getsockname);
        $resent += @missing if $try > 1;
        while (%waiting) {
            my @echoes = eval { $client->recv_many($BATCH, 2048) };
            if (!@echoes) {
                die $@ unless ref $@ && $@->isa('BSDSocket::Error::Timeout');
                last;                  # a second without echoes: send the rest again
            }
            for (@echoes) { $echoed++ if delete $waiting{ $_->[0] } }
        }
        last unless %waiting;
    }
    die scalar(keys %waiting) . " datagrams never came back\n" if %waiting;
    $sent = $last + 1;
}
$client->sendto('stop', $server->getsockname);
waitpid $pid, 0;
$server_done = 1;
print "Sent $sent datagrams, all $echoed came back",
      ($resent ? " ($resent sent again)" : ''), "\n";
exit($? == 0 && $echoed == $COUNT ? 0 : 1);
