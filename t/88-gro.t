use strict;
use warnings;
use Test::More;
use Errno qw(EBADF);
use POSIX ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# UDP receive offload: with UDP_GRO on, the kernel may hand the socket a
# run of datagrams as one buffer.  Every receive call must still see one
# datagram at a time, in order, with its sender; what recv_many does not
# take waits for the next receive of any kind.  On loopback the runs come
# from a sender using GSO, which send_many does.

plan skip_all => 'no UDP_GRO or UDP_SEGMENT in this build'
    unless platform_has('udp_gro') && platform_has('udp_gso') && platform_has('mmsg');

guard_alarm(120);

# A receiver on 127.0.0.1 (or ::1) with GRO on (it counts for what is
# queued after that).
sub gro_receiver {
    my ($family) = @_;
    $family //= AF_INET;
    my $r = BSDSocket::socket($family, SOCK_DGRAM);
    $r->bind($family == AF_INET6 ? ['::1', 0] : ['127.0.0.1', 0]);
    $r->sockopt('UDP_GRO', 1);
    $r->settimeout(5);
    return $r;
}

sub sender {
    my ($family) = @_;
    $family //= AF_INET;
    my $s = BSDSocket::socket($family, SOCK_DGRAM);
    $s->bind($family == AF_INET6 ? ['::1', 0] : ['127.0.0.1', 0]);
    return $s;
}

# n datagrams of $size bytes, each starting with its number
sub datagrams {
    my ($n, $size, $from) = @_;
    return map { my $h = sprintf('%05d:', $_); $h . ('d' x ($size - length $h)) } ($from // 0) .. ($from // 0) + $n - 1;
}

{
    my $r = gro_receiver();
    my $s = sender();
    $s->send_many([datagrams(20, 100)], $r->getsockname);
    my @got;
    push @got, $r->recv_many(64, 2048) while @got < 20;
    plan skip_all => 'the kernel does not coalesce loopback GSO runs here'
        unless BSDSocket::_gro_runs($r) > 0;
}

# ------------------------------------------------------------ recv_many

{
    # recv_many does not turn GRO on by itself: an event loop polling the
    # fd could not see the datagrams a run leaves in the socket
    my $r = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $r->bind(['127.0.0.1', 0]);
    $r->settimeout(5);
    my $s = sender();
    my @sent = datagrams(20, 100);
    $s->send_many(\@sent, $r->getsockname);
    my @got;
    push @got, $r->recv_many(4, 2048) while @got < 20;
    is($r->sockopt('UDP_GRO'), 0, 'recv_many alone leaves UDP_GRO off');
    is(BSDSocket::_gro_runs($r), 0, '... and reads no runs');
    is_deeply([map { $_->[0] } @got], \@sent, '... the datagrams as always');
}

for my $count (1, 7, 64) {
    my $r = gro_receiver();
    my $s = sender();
    my @sent = datagrams(200, 100);
    is($s->send_many(\@sent, $r->getsockname), 200, "count $count: 200 datagrams sent");
    my (@got, $too_many, $calls);
    while (@got < 200) {
        my @batch = $r->recv_many($count, 2048);
        $too_many++ if @batch > $count || !@batch;
        $calls++;
        push @got, @batch;
    }
    ok(!$too_many, "count $count: every call returned 1 to $count items");
    ok(BSDSocket::_gro_runs($r) > 0, "count $count: the kernel handed over coalesced buffers");
    is(scalar @got, 200, "count $count: 200 items");
    is_deeply([map { $_->[0] } @got], \@sent, "count $count: one datagram per item, in order");
    is_deeply([map { $_->[1] } @got[0, 99, 199]], [($s->getsockname) x 3],
              "count $count: each with the sender's address");
    is_deeply([grep { $_->[2] != 0 } @got], [], "count $count: no flags");
    is($r->pending, 0, "count $count: nothing held at the end");
}

{
    # a run whose last datagram is shorter, and sizes that change
    my $r = gro_receiver();
    my $s = sender();
    my @sent = (datagrams(5, 300), 'short', datagrams(3, 50, 10), datagrams(4, 1400, 20));
    $s->send_many(\@sent, $r->getsockname);
    my @got;
    push @got, map { $_->[0] } $r->recv_many(3, 2048) while @got < @sent;
    is_deeply(\@got, \@sent, 'runs of several sizes come back datagram by datagram');
}

{
    # a buffer smaller than the datagram: cut, with MSG_TRUNC, as without GRO
    my $r = gro_receiver();
    my $s = sender();
    my @sent = datagrams(10, 100);
    $s->send_many(\@sent, $r->getsockname);
    my @got;
    push @got, $r->recv_many(4, 10) while @got < 10;
    is_deeply([map { $_->[0] } @got], [map { substr $_, 0, 10 } @sent], 'bufsize 10: each cut to 10 bytes');
    is_deeply([grep { !($_->[2] & MSG_TRUNC) } @got], [], '... each with MSG_TRUNC');
}

# ------------------------------------ what is left waits for every receive

{
    my $r = gro_receiver();
    my $s = sender();
    my $from = $s->getsockname;
    my @sent = datagrams(40, 100);
    $s->send_many(\@sent, $r->getsockname);
    my @first = $r->recv_many(2, 2048);
    is_deeply([map { $_->[0] } @first], [@sent[0, 1]], 'recv_many took two');
    my $held = $r->pending;
    ok($held >= 100, "pending counts what is held ($held bytes)");
    is($r->recv(2048, MSG_PEEK), $sent[2], 'recv MSG_PEEK sees the next one');
    is($r->pending, $held, '... and leaves it');
    is($r->recv(2048), $sent[2], 'recv takes it');
    my ($data, $addr) = $r->recvfrom(2048);
    is($data, $sent[3], 'recvfrom takes the next');
    is_deeply($addr, $from, '... with the sender');
    my $buf = '';
    is($r->recv_into($buf, 2048), 100, 'recv_into');
    is($buf, $sent[4], '... the next');
    my ($n, $addr2) = $r->recvfrom_into($buf, 2048);
    is($buf, $sent[5], 'recvfrom_into: the next');
    is_deeply($addr2, $from, '... with the sender');
    my ($m, $anc, $flags, $maddr) = $r->recvmsg(2048, 256);
    is($m, $sent[6], 'recvmsg: the next');
    is_deeply($anc, [], '... with no UDP_GRO message for the caller');
    is($flags, 0, '... no flags');
    is_deeply($maddr, $from, '... the sender');
    is($r->recv(10), substr($sent[7], 0, 10), 'recv with a small buffer cuts the datagram');
    is($r->recv(2048), $sent[8], '... and the rest of it is gone, as without GRO');
    my $got = sysread($r, $buf, 2048);
    is($buf, $sent[9], 'sysread on the socket handle: the next');
    is($r->sysread($buf, 2048), 100, 'the sysread method');
    is($buf, $sent[10], '... the next');
    my @rest;
    push @rest, map { $_->[0] } $r->recv_many(64, 2048) while @rest < 29;
    is_deeply(\@rest, [@sent[11 .. 39]], 'recv_many: the rest, in order');
    is($r->pending, 0, 'nothing held');
}

{
    # a socket that is waited on: held datagrams make it readable
    my $r = gro_receiver();
    my $s = sender();
    $s->send_many([datagrams(10, 100)], $r->getsockname);
    my @first = $r->recv_many(1, 2048);    # (the kernel's queue is empty now)
    ok($r->pending > 0, 'datagrams held');
    my ($rd) = BSDSocket::select([$r], undef, undef, 2);
    is_deeply($rd, [$r], 'select: a socket holding datagrams is readable');
    for my $backend (poller_backends()) {
        my $p = BSDSocket::Poller->new(backend => $backend);
        $p->register($r, POLLIN, 'r');
        my @ready = $p->poll(2);
        is_deeply(\@ready, [['r', POLLIN]], "poller ($backend): readable");
        $p->register($s, POLLIN, 's');
        @ready = $p->poll(0);
        is_deeply(\@ready, [['r', POLLIN]], "poller ($backend): only that one");
    }
    my @rest;
    push @rest, $r->recv_many(64, 2048) while @rest < 9;
    my ($none) = BSDSocket::select([$r], undef, undef, 0);
    is_deeply($none, [], 'select: not readable once taken');
}

{
    # a copy of the socket (dup, fromfd) shares GRO with it: asked, it
    # never hands over a coalesced buffer either
    my $r = gro_receiver();
    my $copy = $r->dup;
    my $s = sender();
    my @sent = datagrams(30, 100);
    $s->send_many(\@sent, $r->getsockname);
    my @got;
    push @got, scalar $copy->recv(65536) while @got < 30;
    is_deeply(\@got, \@sent, 'a dup reads datagram by datagram');
    ok(BSDSocket::_gro_runs($copy) > 0, '... from coalesced buffers');
}

{
    # GRO turned on with setsockopt: every receive splits
    my $r = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $r->bind(['127.0.0.1', 0]);
    $r->settimeout(5);
    eval { $r->recv(1, MSG_DONTWAIT) };     # (asks the kernel, before)
    $r->setsockopt(SOL_UDP, UDP_GRO, 1);
    my $s = sender();
    my @sent = datagrams(30, 100);
    $s->send_many(\@sent, $r->getsockname);
    my @got;
    push @got, scalar $r->recv(65536) while @got < 30;
    is_deeply(\@got, \@sent, 'setsockopt UDP_GRO, then recv: datagram by datagram');
}

{
    # the control messages that come with a run come with each datagram
    my $r = gro_receiver();
    $r->setsockopt(IPPROTO_IP, IP_PKTINFO, 1);
    my $s = sender();
    my @sent = datagrams(5, 100);
    $s->send_many(\@sent, $r->getsockname);
    my @anc;
    for (1 .. 5) {
        my ($m, $anc) = $r->recvmsg(2048, 256);
        push @anc, [map { "$_->[0]/$_->[1]" } @$anc];
    }
    is_deeply(\@anc, [(["@{[IPPROTO_IP]}/@{[IP_PKTINFO]}"]) x 5],
              'recvmsg: IP_PKTINFO with every datagram of a run, UDP_GRO with none');
    my ($m, $anc, $flags) = do {
        $s->send_many([datagrams(3, 100)], $r->getsockname);
        $r->recvmsg(2048, 8);
    };
    ok($flags & MSG_CTRUNC, 'recvmsg: no room for the control message: MSG_CTRUNC');
}

{
    # two senders: each datagram keeps its own sender
    my $r = gro_receiver();
    my ($s1, $s2) = (sender(), sender());
    $s1->send_many([datagrams(10, 100)], $r->getsockname);
    $s2->send_many([datagrams(10, 100, 10)], $r->getsockname);
    my @got;
    push @got, $r->recv_many(3, 2048) while @got < 20;
    is_deeply([map { $_->[1][1] } @got],
              [(($s1->getsockname)->[1]) x 10, (($s2->getsockname)->[1]) x 10],
              'two senders: each item has its own');
}

{
    # an empty datagram is a datagram
    my $r = gro_receiver();
    my $s = sender();
    $s->sendto('', $r->getsockname);
    $s->sendto('x', $r->getsockname);
    my @got;
    push @got, $r->recv_many(8, 2048) while @got < 2;
    is_deeply([map { $_->[0] } @got], ['', 'x'], 'an empty datagram, then one byte');

    # held, alone, it is still something to read
    $s->send_many([datagrams(5, 100)], $r->getsockname);
    $s->sendto('', $r->getsockname);
    my @run;
    push @run, $r->recv_many(5, 2048) while @run < 5;
    is($r->pending, 0, 'an empty datagram held: no bytes pending');
    my ($rd) = BSDSocket::select([$r], undef, undef, 2);
    is_deeply($rd, [$r], '... but select says readable');
    for my $backend (poller_backends()) {
        my $p = BSDSocket::Poller->new(backend => $backend);
        $p->register($r, POLLIN, 'r');
        is_deeply([$p->poll(2)], [['r', POLLIN]], "... and so does the poller ($backend)");
    }
    is($r->recv(10), '', '... and there it is');
}

{
    # the flags a recvmsg read with stay out of the items
    my $r = gro_receiver();
    my $s = sender();
    $s->send_many([datagrams(6, 100)], $r->getsockname);
    my ($m, $anc, $flags) = $r->recvmsg(2048, 64);
    is($flags, 0, 'recvmsg: no flags');
    my @rest;
    push @rest, $r->recv_many(8, 2048) while @rest < 5;
    is_deeply([map { $_->[2] } @rest], [(0) x 5], 'recv_many after it: no flags either');
}

SKIP: {
    skip 'no IPv6 loopback here', 2 unless BSDSocket::has_ipv6() && eval {
        my $t = BSDSocket::socket(AF_INET6, SOCK_DGRAM); $t->bind(['::1', 0]); 1 };
    my $r = gro_receiver(AF_INET6);
    my $s = sender(AF_INET6);
    my @sent = datagrams(50, 200);
    $s->send_many(\@sent, $r->getsockname);
    my @got;
    push @got, $r->recv_many(16, 2048) while @got < 50;
    is_deeply([map { $_->[0] } @got], \@sent, 'IPv6: datagram by datagram, in order');
    is_deeply($got[-1][1], $s->getsockname, '... with the sender');
}

# ------------------------------------------------------- signal handlers

{
    # a handler that receives while recv_many waits: it takes the first
    # datagram of a run, and recv_many takes the rest from the socket
    my $r = gro_receiver();
    my $s = sender();
    my @sent = datagrams(20, 100);
    my @in_handler;
    local $SIG{USR1} = sub {
        $s->send_many(\@sent, $r->getsockname);
        push @in_handler, scalar $r->recv(2048);
    };
    my $pid = signals_then_send(count => 1, gap => 0.2);
    my @got = map { $_->[0] } $r->recv_many(64, 2048);
    waitpid $pid, 0;
    is_deeply(\@in_handler, [$sent[0]], 'a handler took the first datagram');
    push @got, map { $_->[0] } $r->recv_many(64, 2048) while @got < 19;
    is_deeply(\@got, [@sent[1 .. 19]], '... recv_many the rest, in order');
}

{
    # a handler that closes the socket while recv_many waits
    my $r = gro_receiver();
    local $SIG{USR1} = sub { $r->close };
    my $pid = signals_then_send(count => 1, gap => 0.2);
    my $err = dies_with(sub { $r->recv_many(64, 2048) }, errno => EBADF, op => 'recv_many');
    waitpid $pid, 0;
    is($r->pending, 0, 'closed: nothing held');
}

{
    # closing a socket that holds datagrams lets them go
    my $r = gro_receiver();
    my $s = sender();
    $s->send_many([datagrams(30, 100)], $r->getsockname);
    $r->recv_many(1, 2048);
    ok($r->pending > 0, 'datagrams held');
    $r->close;
    is($r->pending, 0, 'closed: none held');
}

done_testing;
