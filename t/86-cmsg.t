use strict;
use warnings;
use Test::More;
use Errno qw(EINVAL ENOPROTOOPT ECONNREFUSED);
use Time::HiRes qw(time);
use POSIX ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# decode_cmsg: control messages as the kernel sends them, decoded, and
# every decoder refusing a payload of the wrong length.

guard_alarm(60);

sub have { defined eval { BSDSocket->can($_[0])->() } }
sub const { BSDSocket->can($_[0])->() }

# one datagram to $rx with the options set, and the message of $type
sub one_message {
    my ($rx, $tx, $level, $type, %o) = @_;
    $tx->sendto('m', $rx->getsockname);
    my ($data, $anc) = $rx->recvmsg(10, 512, $o{flags} // 0);
    my ($m) = grep { $_->[0] == $level && $_->[1] == $type } @$anc;
    return $m;
}
my $lo_index = eval { BSDSocket::if_nametoindex($^O eq 'linux' ? 'lo' : 'lo0') };

# ------------------------------------------------------------ SOL_SOCKET

{
    my ($a, $b) = BSDSocket::socketpair();
    pipe(my $r, my $w) or die "pipe: $!";
    $a->sendmsg(['fds'], [[SOL_SOCKET, SCM_RIGHTS, pack('i2', fileno $r, fileno $w)]]);
    my (undef, $anc) = $b->recvmsg(10, CMSG_SPACE(8));
    my $fds = BSDSocket::decode_cmsg(@{ $anc->[0] });
    is(ref $fds, 'ARRAY', 'SCM_RIGHTS: an array of fds');
    is(scalar @$fds, 2, '... both of them');
    ok(fd_is_open($_), "... fd $_ is open") for @$fds;
    POSIX::close($_) for @$fds;
}
SKIP: {
    skip 'no SCM_CREDENTIALS here', 1 unless have('SCM_CREDENTIALS') && have('SO_PASSCRED');
    my ($a, $b) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM);
    $b->setsockopt(SOL_SOCKET, const('SO_PASSCRED'), 1);
    $a->send('who');
    my (undef, $anc) = $b->recvmsg(10, 64);
    my ($cred) = grep { $_->[1] == const('SCM_CREDENTIALS') } @$anc;
    is_deeply(BSDSocket::decode_cmsg(@$cred), [$$, $>, (split ' ', $))[0]],
              'SCM_CREDENTIALS: [pid, uid, gid]');
}
for my $case (['SO_TIMESTAMP', 'SCM_TIMESTAMP'], ['SO_TIMESTAMPNS', 'SCM_TIMESTAMPNS']) {
    my ($option, $message) = @$case;
  SKIP: {
        skip "no $option here", 1 unless have($option) && have($message);
        my ($rx, $tx) = udp_pair();
        $rx->setsockopt(SOL_SOCKET, const($option), 1);
        my $m = one_message($rx, $tx, SOL_SOCKET, const($message));
        my $when = $m && BSDSocket::decode_cmsg(@$m);
        ok(defined $when && abs($when - time) < 60, "$message: seconds since the epoch ("
                                                     . ($when // 'none') . ')');
    }
}

# ------------------------------------------------------------- IPv4, IPv6

SKIP: {
    skip 'no IP_PKTINFO here', 1 unless have('IP_PKTINFO');
    my ($rx, $tx) = udp_pair();
    $rx->setsockopt(IPPROTO_IP, const('IP_PKTINFO'), 1);
    my $m = one_message($rx, $tx, IPPROTO_IP, const('IP_PKTINFO'));
    is_deeply($m && BSDSocket::decode_cmsg(@$m), [$lo_index, '127.0.0.1', '127.0.0.1'],
              'IP_PKTINFO: [ifindex, spec_dst, addr]');
}
SKIP: {
    skip 'no IP_RECVTTL here', 1 unless have('IP_RECVTTL') && have('IP_TTL');
    my ($rx, $tx) = udp_pair();
    $rx->setsockopt(IPPROTO_IP, const('IP_RECVTTL'), 1);
    my $ttl_type = $^O eq 'linux' ? const('IP_TTL') : const('IP_RECVTTL');
    my $m = one_message($rx, $tx, IPPROTO_IP, $ttl_type);
    my $ttl = $m && BSDSocket::decode_cmsg(@$m);
    ok(defined $ttl && $ttl >= 1 && $ttl <= 255, 'IP_TTL: the datagram\'s TTL (' . ($ttl // 'none') . ')');
}
SKIP: {
    skip 'no IPv6 here', 2 unless BSDSocket::has_ipv6() && eval { BSDSocket::socket(AF_INET6, SOCK_DGRAM)->bind(['::1', 0]); 1 };
    skip 'no IPV6_RECVPKTINFO here', 2 unless have('IPV6_RECVPKTINFO') && have('IPV6_RECVHOPLIMIT');
    my $rx = BSDSocket::socket(AF_INET6, SOCK_DGRAM);
    $rx->bind(['::1', 0]);
    my $tx = BSDSocket::socket(AF_INET6, SOCK_DGRAM);
    $rx->setsockopt(IPPROTO_IPV6, const('IPV6_RECVPKTINFO'), 1);
    my $m = one_message($rx, $tx, IPPROTO_IPV6, const('IPV6_PKTINFO'));
    is_deeply($m && BSDSocket::decode_cmsg(@$m), ['::1', $lo_index], 'IPV6_PKTINFO: [addr, ifindex]');
    $rx->setsockopt(IPPROTO_IPV6, const('IPV6_RECVPKTINFO'), 0);
    $rx->setsockopt(IPPROTO_IPV6, const('IPV6_RECVHOPLIMIT'), 1);
    $m = one_message($rx, $tx, IPPROTO_IPV6, const('IPV6_HOPLIMIT'));
    my $hops = $m && BSDSocket::decode_cmsg(@$m);
    ok(defined $hops && $hops >= 1 && $hops <= 255, 'IPV6_HOPLIMIT: the hop limit (' . ($hops // 'none') . ')');
}

# an ICMP port unreachable, on the error queue (Linux)
sub refused_port {
    my ($family, $host) = @_;
    my $s = BSDSocket::socket($family, SOCK_DGRAM);
    $s->bind([$host, 0]);
    my $port = $s->getsockname->[1];
    $s->close;
    return $port;
}
SKIP: {
    skip 'no IP_RECVERR here', 6 unless have('IP_RECVERR') && have('MSG_ERRQUEUE') && platform_has('linux_cmsg');
    my $s = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $s->setsockopt(IPPROTO_IP, const('IP_RECVERR'), 1);
    $s->connect(['127.0.0.1', refused_port(AF_INET, '127.0.0.1')]);
    $s->send('anyone?');
    $s->settimeout(5);
    my (undef, $anc) = $s->recvmsg(100, 512, const('MSG_ERRQUEUE'));
    my ($m) = grep { $_->[0] == IPPROTO_IP && $_->[1] == const('IP_RECVERR') } @$anc;
    my $err = $m && BSDSocket::decode_cmsg(@$m);
    is(ref $err, 'HASH', 'IP_RECVERR: a hash');
    is($err->{errno}, ECONNREFUSED, '... errno ECONNREFUSED');
    is($err->{origin}, 2, '... from ICMP (SO_EE_ORIGIN_ICMP)');
    is("$err->{type}/$err->{code}", '3/3', '... destination unreachable, port unreachable');
    is_deeply([@{ $err->{offender} }[0]], ['127.0.0.1'], '... reported by 127.0.0.1');
    ok(exists $err->{info} && exists $err->{data}, '... with info and data');
}
SKIP: {
    skip 'no IPV6_RECVERR here', 3 unless have('IPV6_RECVERR') && have('MSG_ERRQUEUE') && platform_has('linux_cmsg');
    skip 'no IPv6 here', 3 unless eval { BSDSocket::socket(AF_INET6, SOCK_DGRAM)->bind(['::1', 0]); 1 };
    my $s = BSDSocket::socket(AF_INET6, SOCK_DGRAM);
    $s->setsockopt(IPPROTO_IPV6, const('IPV6_RECVERR'), 1);
    $s->connect(['::1', refused_port(AF_INET6, '::1')]);
    $s->send('anyone?');
    $s->settimeout(5);
    my (undef, $anc) = $s->recvmsg(100, 512, const('MSG_ERRQUEUE'));
    my ($m) = grep { $_->[0] == IPPROTO_IPV6 && $_->[1] == const('IPV6_RECVERR') } @$anc;
    my $err = $m && BSDSocket::decode_cmsg(@$m);
    is($err && $err->{errno}, ECONNREFUSED, 'IPV6_RECVERR: errno ECONNREFUSED');
    is($err && $err->{origin}, 3, '... from ICMPv6');
    is($err && $err->{offender}[0], '::1', '... reported by ::1');
}

# ------------------------------------------------- lengths, bad arguments

my @sized;      # [level, type name, good length]
push @sized, [SOL_SOCKET, 'SCM_CREDENTIALS', 12] if have('SCM_CREDENTIALS');
# (struct timeval and timespec: two longs on Linux; a 32-bit time_t
# elsewhere would differ, so the sizes come from real messages there)
my $two_longs = length pack('l! l!', 0, 0);
push @sized, [SOL_SOCKET, 'SCM_TIMESTAMP', $two_longs] if have('SCM_TIMESTAMP') && $^O eq 'linux';
push @sized, [SOL_SOCKET, 'SCM_TIMESTAMPNS', $two_longs] if have('SCM_TIMESTAMPNS') && $^O eq 'linux';
push @sized, [IPPROTO_IP, 'IP_PKTINFO', 12] if have('IP_PKTINFO');
push @sized, [IPPROTO_IPV6, 'IPV6_PKTINFO', 20] if have('IPV6_PKTINFO');
for (@sized) {
    my ($level, $name, $good) = @$_;
    for my $len ($good - 1, $good + 1, 0) {
        dies_with(sub { BSDSocket::decode_cmsg($level, const($name), "\0" x $len) },
                  op => 'decode_cmsg', errno => EINVAL, message => qr/^\Q$name\E data must be $good bytes, got $len bytes/,
                  name => "$name: $len bytes die EINVAL");
    }
}
for my $name (grep { have($_) } qw(IP_TTL IPV6_HOPLIMIT)) {
    my $level = $name =~ /^IPV6/ ? IPPROTO_IPV6 : IPPROTO_IP;
    is(BSDSocket::decode_cmsg($level, const($name), pack('i', 64)), 64, "$name: an int");
    is(BSDSocket::decode_cmsg($level, const($name), "\x40"), 64, "$name: a byte");
    dies_with(sub { BSDSocket::decode_cmsg($level, const($name), "\0\0") }, op => 'decode_cmsg',
              errno => EINVAL, message => qr/an int or one byte/, name => "$name: 2 bytes die EINVAL");
}
for my $name (grep { have($_) && platform_has('linux_cmsg') } qw(IP_RECVERR IPV6_RECVERR)) {
    my $level = $name =~ /^IPV6/ ? IPPROTO_IPV6 : IPPROTO_IP;
    dies_with(sub { BSDSocket::decode_cmsg($level, const($name), "\0" x 15) }, op => 'decode_cmsg',
              errno => EINVAL, message => qr/at least 16 bytes/, name => "$name: 15 bytes die EINVAL");
    my $e = BSDSocket::decode_cmsg($level, const($name), pack('L C4 L L', 111, 1, 0, 0, 0, 7, 9));
    is_deeply($e, { errno => 111, origin => 1, type => 0, code => 0, info => 7, data => 9, offender => undef },
              "$name: with no offender's address, offender is undef");
}
is_deeply(BSDSocket::decode_cmsg(SOL_SOCKET, SCM_RIGHTS, ''), [], 'SCM_RIGHTS: no fds is an empty array');
dies_with(sub { BSDSocket::decode_cmsg(SOL_SOCKET, SCM_RIGHTS, "\0" x 6) }, op => 'decode_cmsg',
          errno => EINVAL, message => qr/SCM_RIGHTS data must be a whole number of ints, got 6 bytes/,
          name => 'SCM_RIGHTS: 6 bytes die EINVAL');
dies_with(sub { BSDSocket::decode_cmsg(SOL_SOCKET, 9999, '') }, op => 'decode_cmsg', errno => ENOPROTOOPT,
          message => qr/no decoder for the control message of level \d+, type 9999/,
          name => 'an unknown message dies ENOPROTOOPT');
dies_with(sub { BSDSocket::decode_cmsg(12345, 1, '') }, op => 'decode_cmsg', errno => ENOPROTOOPT,
          name => 'an unknown level dies ENOPROTOOPT');
dies_with(sub { BSDSocket::decode_cmsg('x', 1, '') }, errno => EINVAL, name => 'a level that is no integer dies EINVAL');
dies_with(sub { BSDSocket::decode_cmsg(SOL_SOCKET, SCM_RIGHTS, "\x{263a}") }, op => 'decode_cmsg',
          errno => EINVAL, name => 'characters for data die EINVAL');
dies_with(sub { BSDSocket::decode_cmsg(SOL_SOCKET, SCM_RIGHTS) }, errno => EINVAL,
          message => qr/^Usage: /, name => 'a missing argument dies with the usage');

done_testing;
