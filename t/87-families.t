use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time);
use Errno qw(EINVAL ENODEV);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# Linux's AF_NETLINK, AF_PACKET, AF_VSOCK and AF_ALG addresses, in and out
# of the one converter, and used for real where the machine allows.

plan skip_all => 'no Linux families in this build' unless platform_has('linux_families');
guard_alarm(60);

sub bad {
    my ($sock, $address, $message, $name, $errno) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    dies_with(sub { $sock->bind($address) }, op => 'address', errno => $errno // EINVAL,
              message => $message, name => $name);
}

# ------------------------------------------------------------- AF_NETLINK

SKIP: {
    my $nl = eval { BSDSocket::socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE) };
    skip 'no AF_NETLINK sockets here', 8 unless $nl;
    $nl->bind([0, 0]);
    my $me = $nl->getsockname;
    is(scalar @$me, 2, 'AF_NETLINK: [pid, groups]');
    ok($me->[0] > 0, "... the kernel gave a port id ($me->[0])");
    is($me->[1], 0, '... in no groups');

    # a dump of the kernel's links (RTM_GETLINK): every interface by name
    my ($RTM_GETLINK, $NLM_F_REQUEST, $NLM_F_DUMP, $NLMSG_DONE, $IFLA_IFNAME) = (18, 1, 0x300, 3, 3);
    my $ifinfo = pack('C x S i I I', AF_UNSPEC, 0, 0, 0, 0);         # struct ifinfomsg
    my $request = pack('I S S I I', 16 + length $ifinfo, $RTM_GETLINK, $NLM_F_REQUEST | $NLM_F_DUMP, 1, 0)
                . $ifinfo;
    $nl->sendto($request, [0, 0]);                                   # to the kernel
    my (%names, $from, $done);
    $nl->settimeout(5);
    while (!$done) {
        (my $data, $from) = $nl->recvfrom(65536);
        while (length $data >= 16) {
            my ($len, $type) = unpack('I S', $data);
            last if $len < 16 || $len > length $data;
            $done = 1 if $type == $NLMSG_DONE;
            if ($type == $RTM_GETLINK - 2) {                            # RTM_NEWLINK
                my $attrs = substr($data, 16 + 16, $len - 32);
                while (length $attrs >= 4) {
                    my ($alen, $atype) = unpack('S S', $attrs);
                    last if $alen < 4;
                    $names{ unpack('Z*', substr($attrs, 4, $alen - 4)) } = 1 if $atype == $IFLA_IFNAME;
                    substr($attrs, 0, ($alen + 3) & ~3, '');
                }
            }
            substr($data, 0, ($len + 3) & ~3, '');
        }
    }
    is_deeply($from, [0, 0], 'the dump came from the kernel: [0, 0]');
    my @expected = map { $_->[1] } BSDSocket::if_nameindex();
    is_deeply([sort keys %names], [sort @expected], 'NETLINK_ROUTE lists the interfaces if_nameindex does');

    bad($nl, [0], qr/is \[\$pid, \$groups\]/, 'AF_NETLINK: one part dies');
    bad($nl, [-1, 0], qr/pid must be an integer in 0\.\.4294967295/, '... a negative pid dies');
    bad($nl, [0, 2**32], qr/groups must be an integer in 0\.\.4294967295/, '... groups past 32 bits die');
}

# -------------------------------------------------------------- AF_PACKET

SKIP: {
    my $p = eval { BSDSocket::socket(AF_PACKET, SOCK_DGRAM, BSDSocket::htons(ETH_P_IP)) };
    skip 'no AF_PACKET sockets here (needs CAP_NET_RAW)', 10 unless $p;
    my ($lo) = grep { $_->[1] =~ /^lo\d*$/ } BSDSocket::if_nameindex();
    $p->bind([$lo->[1], ETH_P_IP]);
    my $me = $p->getsockname;
    is_deeply([@$me[0, 1]], [$lo->[1], ETH_P_IP], "AF_PACKET: bound to [$lo->[1], ETH_P_IP]");
    is(scalar @$me, 5, '... [ifname, proto, pkttype, hatype, addr]');
    # a UDP datagram on loopback, seen by the packet socket
    my ($u, $v) = udp_pair();
    my $marker = "bsdsocket-packet-$$";
    $p->settimeout(0.2);
    my ($frame, $from) = ('', undef);
    # (the packet socket sees all of the machine's loopback traffic, which
    # may be heavy enough to drop frames: the marker goes again and again)
    my ($until, $next_send) = (time + 10, 0);
    while (time < $until) {
        if (time >= $next_send) {
            $u->sendto($marker, $v->getsockname);
            $next_send = time + 0.2;
        }
        my @got = eval { $p->recvfrom(65536) } or next;
        ($frame, $from) = @got;
        last if index($frame, $marker) >= 0;
    }
    ok(index($frame, $marker) >= 0, '... it sees the IP packet of a UDP datagram on loopback');
    is($from->[0], $lo->[1], '... from the loopback interface');
    is($from->[1], ETH_P_IP, '... carrying IP');
    ok($from->[2] == PACKET_HOST || $from->[2] == PACKET_OUTGOING, "... pkttype $from->[2]");

    bad($p, ['nosuchif0', ETH_P_IP], qr/no interface named 'nosuchif0'/, 'an unknown interface dies ENODEV', ENODEV);
    bad($p, ['x' x 16, ETH_P_IP], qr/ifname is at most 15 bytes/, 'a name too long dies, never cut short');
    bad($p, [$lo->[1], 70000], qr/proto must be an integer in 0\.\.65535/, 'a proto past 16 bits dies');
    bad($p, [$lo->[1], ETH_P_IP, 0, 0, 'x' x 9], qr/addr must be a byte string of at most 8 bytes/,
        'an address of 9 bytes dies');
}

# --------------------------------------------------------------- AF_VSOCK

SKIP: {
    my $vs = eval { BSDSocket::socket(AF_VSOCK, SOCK_STREAM) };
    skip 'no AF_VSOCK sockets here', 4 unless $vs;
    eval { $vs->bind([VMADDR_CID_ANY, VMADDR_PORT_ANY]); 1 } or skip "vsock bind: $@", 4;
    my $me = $vs->getsockname;
    is(scalar @$me, 2, 'AF_VSOCK: [cid, port]');
    is($me->[0], VMADDR_CID_ANY, '... bound to any cid');
    ok($me->[1] != VMADDR_PORT_ANY, "... a port was given ($me->[1])");
    bad(BSDSocket::socket(AF_VSOCK, SOCK_STREAM), [1, 2**32], qr/port must be an integer in 0\.\.4294967295/,
        'a port past 32 bits dies');
}

# ----------------------------------------------------------------- AF_ALG

SKIP: {
    my $alg = eval { BSDSocket::socket(AF_ALG, SOCK_SEQPACKET, 0) };
    skip 'no AF_ALG sockets here', 4 unless $alg;
    bad($alg, ['hash' x 4, 'sha256'], qr/type is at most 13 bytes/, 'AF_ALG: a type too long dies');
    bad($alg, ['hash', 'x' x 64], qr/name is at most 63 bytes/, '... a name too long dies');
    eval { $alg->bind(['hash', 'sha256']); 1 } or skip "no sha256 here: $@", 2;
    # (the kernel has no getsockname for AF_ALG: the address goes one way)
    my $op = $alg->accept;
    ok($op, '... bound to [hash, sha256], it accepts an operation socket');
    $op->send('abc');
    my $digest = $op->recv(32);
    require Digest::SHA;
    is(unpack('H*', $digest), Digest::SHA::sha256_hex('abc'), "... the kernel's SHA-256 is Digest::SHA's");
}

done_testing;
