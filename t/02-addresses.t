use strict;
use warnings;
use Test::More;
use Errno qw(EINVAL ENOSYS);
use Socket ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);

guard_alarm(30);

my $inet = BSDSocket::socket(AF_INET, SOCK_DGRAM);
my $unix = BSDSocket::socket(AF_UNIX, SOCK_DGRAM);

sub bad_address {
    my ($sock, $address, $message, $name) = @_;
    my $e = dies_with(sub { $sock->bind($address) }, errno => EINVAL, op => 'address',
                      message => $message, name => $name);
    return $e;
}

# ---------------------------------------------------------- AF_INET shapes

for my $case (
    ['/tmp/path', 'a string'], [{}, 'a hash ref'], [undef, 'undef'],
    [sub {}, 'a code ref'], [\'x', 'a scalar ref'], [42, 'a number'],
) {
    bad_address($inet, $case->[0], qr/AF_INET address is an array reference \[host, port\]/,
                "AF_INET refuses $case->[1]");
}
for my $case ([[], 0], [['127.0.0.1'], 1], [['127.0.0.1', 1, 2], 3]) {
    bad_address($inet, $case->[0], qr/has 2 elements \[host, port\], got $case->[1]/,
                "AF_INET refuses $case->[1] elements");
}

# ------------------------------------------------------------------ ports

my %bad_ports = (
    "'http'" => 'http', "'0x50'" => '0x50', "' 80'" => ' 80', "'80 '" => '80 ',
    "'+80'" => '+80', "''" => '', '1.5' => 1.5, '-1' => -1, '65536' => 65536,
    'Inf' => 9**9**9, 'NaN' => -sin(9**9**9), '2**64' => 2**64, "'1e3'" => '1e3',
);
for my $label (sort keys %bad_ports) {
    my $e = bad_address($inet, ['127.0.0.1', $bad_ports{$label}],
                        qr/port must be an integer in 0\.\.65535/, "port $label dies");
}
# a string is judged as a string, even once perl has used it as a number
for my $port (' 80', '80 ', '+80', '1e3', "80\n", '0 but true') {
    my $copy = $port;
    { no warnings 'numeric'; my $n = $copy + 0; }
    bad_address($inet, ['127.0.0.1', $copy], qr/port must be an integer/,
                "port '" . ($port =~ s/\n/\\n/r) . "' dies after numeric use too");
}
ok(eval { my $p = 80; my $s = "$p"; $inet->connect(['127.0.0.1', $p]); 1 },
   'an integer that has been printed is still an integer');
ok(eval { $inet->connect(['127.0.0.1', !!1]); 1 }, 'a boolean is the integer it means');

bad_address($inet, ['127.0.0.1', undef], qr/port must be an integer in 0\.\.65535, got undef/,
            'port undef dies');
bad_address($inet, ['127.0.0.1', [80]], qr/port must be an integer.*reference/,
            'port array ref dies');
bad_address($inet, ['127.0.0.1', 'http'], qr/service names go through getservbyname/,
            'a service name says where service names go');
my $e = bad_address($inet, ['127.0.0.1', 70000], qr/got 70000/, 'the message shows the bad port');
is_deeply($e->address, ['127.0.0.1', 70000], 'the error carries the bad address');

{
    package PortObject;
    use overload '0+' => sub { ${ $_[0] } }, fallback => 1;
}
{
    package HostObject;
    use overload '""' => sub { ${ $_[0] } }, fallback => 1;
}

# good ports: integers, decimal strings, numeric overloading
{
    my $s = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $s->bind(['127.0.0.1', '0']);
    my $port = $s->getsockname->[1];
    ok($port > 0, 'port as the string "0" binds');
    my $t = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $t->connect(['127.0.0.1', "$port"]);
    is($t->getpeername->[1], $port, 'port as a decimal string');
    $t->connect(['127.0.0.1', bless(\(my $p = $port), 'PortObject')]);
    is($t->getpeername->[1], $port, 'port as an object with numeric overloading');
    $t->connect(['127.0.0.1', $port + 0.0]);
    is($t->getpeername->[1], $port, 'port as an integral float');
    $t->connect([bless(\(my $h = '127.0.0.1'), 'HostObject'), $port]);
    is($t->getpeername->[0], '127.0.0.1', 'host as an object with string overloading');
}

# ------------------------------------------------------------------ hosts

bad_address($inet, ["127.0.0.1\0evil", 80], qr/NUL character inside host name/,
            'NUL inside a host name dies');
bad_address($inet, [undef, 80], qr/host name must be a string, got undef/, 'undef host dies');
bad_address($inet, [['127.0.0.1'], 80], qr/host name must be a string/, 'array ref host dies');
bad_address($inet, ["\x{263a}", 80], qr/Wide character in host name/, 'wide host dies');
bad_address($inet, ['::1', 80], qr/IPv6 address, this is an AF_INET socket/,
            'an IPv6 literal on an AF_INET socket says so');
SKIP: {
    my $six = eval { my $s = BSDSocket::socket(AF_INET6, SOCK_DGRAM); $s->bind(['::1', 0]); $s };
    skip 'cannot bind ::1 here', 2 unless $six;
    bad_address($inet, $six->getsockname, qr/^wrong family: an AF_INET6 address for an AF_INET socket$/,
                "an AF_INET6 socket's address on an AF_INET socket says so");
    bad_address($six, $inet->getsockname, qr/^wrong family: an AF_INET address for an AF_INET6 socket$/,
                '... and the other way round');
}
{
    my $host = no_dns_host();
    my $e = dies_with(sub { $inet->connect([$host, 80]) }, class => 'BSDSocket::Error::GAI',
                      op => 'address', message => qr/cannot resolve host '\Q$host\E'/,
                      name => 'an unresolvable host dies with BSDSocket::Error::GAI');
    ok($e && $e->errname =~ /^EAI_/, 'its errname is an EAI_ name: ' . ($e && $e->errname));
    ok($e && $e->isa('BSDSocket::Error'), 'GAI errors are BSDSocket::Errors');
}
{
    my $s = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $s->bind(['', 0]);
    is($s->getsockname->[0], '0.0.0.0', "'' is INADDR_ANY");
    $s->setsockopt(SOL_SOCKET, SO_BROADCAST, 1);
  SKIP: {
        my $connected = eval { $s->connect(['<broadcast>', 9]); 1 };
        skip 'no route to the broadcast address here (loopback only)', 1
            if !$connected && ref $@ && $@->errno == Errno::ENETUNREACH();
        is($s->getpeername->[0], '255.255.255.255', "'<broadcast>' is INADDR_BROADCAST");
    }
    $s->connect(['localhost', 9]);
    is($s->getpeername->[0], '127.0.0.1', 'localhost resolves (from /etc/hosts)');
}

# ----------------------------------------------------- round trips, seed form

{
    my ($a, $b) = udp_pair();
    my $a_addr = $a->getsockname;
    is(ref $a_addr, 'ARRAY', 'getsockname gives an array ref');
    like($a_addr->[0], qr/^\d+\.\d+\.\d+\.\d+$/, '... with a dotted quad');
    like($a_addr->[1], qr/^\d+$/, '... and a port');
    $b->sendto('ping', $a_addr);
    my ($data, $from) = $a->recvfrom(100);
    is($data, 'ping', 'sendto the address getsockname gave');
    is_deeply($from, $b->getsockname, 'recvfrom gives the sender address');
    $a->sendto('pong', $from);
    is($b->recv(100), 'pong', 'recvfrom\'s address is accepted back by sendto');
    $b->connect($a_addr);
    is_deeply($b->getpeername, $a_addr, 'connect takes getsockname\'s address unchanged');

    # the older two-argument form, (host, port)
    my $c = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $c->bind('127.0.0.1', 0);
    ok($c->getsockname->[1], 'bind($host, $port)');
    $c->connect('127.0.0.1', $a_addr->[1]);
    is_deeply($c->getpeername, $a_addr, 'connect($host, $port)');
    bad_address($c, ['127.0.0.1'], qr/2 elements/, 'the one-argument form still checks shape');
    dies_with(sub { $c->connect('127.0.0.1', 1, 2) }, errno => EINVAL, op => 'address',
              message => qr/got 3 arguments/, name => 'three address arguments die');
    dies_with(sub { $unix->bind('/tmp/a', 1) }, errno => EINVAL, op => 'address',
              message => qr/expected one address, got 2/,
              name => 'the two-argument form is for AF_INET only');
}
{
    # a tied array is read through its magic
    package CountingArray;
    require Tie::Array;
    our @ISA = ('Tie::StdArray');
    our $fetches = 0;
    sub FETCH { $fetches++; $_[0]->SUPER::FETCH($_[1]) }
}
{
    tie my @addr, 'CountingArray';
    @addr = ('127.0.0.1', 0);
    my $s = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $s->bind(\@addr);
    is($s->getsockname->[0], '127.0.0.1', 'a tied array works as an address');
    is($CountingArray::fetches, 2, 'each element fetched once');
}

# addresses handed out are values: read-only, and they know their sockaddr
{
    my ($a, $b) = udp_pair();
    my $addr = $a->getsockname;
    ok(!eval { $addr->[1] = 1; 1 }, 'a returned address cannot be changed in place');
    like($@, qr/read-only/, '... it is read-only');
    ok(!eval { push @$addr, 'x'; 1 }, '... nor grown');
    ok(!eval { @$addr = (); 1 }, '... nor emptied');
    is_deeply($addr, $a->getsockname, '... and still says what it said');
    my $copy = [@$addr];
    $copy->[0] = '127.0.0.1';
    $b->sendto('to a copy', $copy);
    is($a->recv(100), 'to a copy', 'a copy is an ordinary array, and an address');
    my ($host, $port) = @$addr;
    is($port, $a->getsockname->[1], 'reading the elements out works as ever');

    $b->sendto('one', $a->getsockname);
    $b->sendto('two', $a->getsockname);
    my (undef, $from1) = $a->recvfrom(10);
    my (undef, $from2) = $a->recvfrom(10);
    is_deeply($from1, $from2, 'the same peer twice gives equal addresses');
    my $c = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $c->bind(['127.0.0.1', 0]);
    $c->sendto('three', $a->getsockname);
    my (undef, $from3) = $a->recvfrom(10);
    is_deeply($from3, $c->getsockname, 'another peer gives its own address');
    is_deeply($from1, $b->getsockname, '... and the first is unchanged');

    # an AF_INET array given to an AF_UNIX socket is still refused
    bad_address($unix, $addr, qr/^wrong family: an AF_INET address for an AF_UNIX socket$/,
                'a returned AF_INET address on an AF_UNIX socket dies');
}

# ------------------------------------------------- AF_INET6 scope_id

# 32 bits, unsigned: 4294967295 is a scope_id (a perl whose IVs are 32 bits
# once took its bound for -1, and refused every 4-element address).
# getnameinfo converts the address without a socket, so this runs where
# IPv6 cannot be used too.
{
    my $numeric = NI_NUMERICHOST | NI_NUMERICSERV;
    for my $scope (0, 1, 4294967295, '4294967295') {
        my @r = eval { BSDSocket::getnameinfo(['::1', 80, 0, $scope], $numeric) };
        like("@r", qr/^::1(%\Q$scope\E)? 80$/, 'scope_id ' . (($scope ^ $scope) ? "'$scope'" : $scope) . ' is accepted')
            or diag $@;
    }
    for my $scope (4294967296, '4294967296', -1) {
        dies_with(sub { BSDSocket::getnameinfo(['::1', 80, 0, $scope], $numeric) }, errno => EINVAL,
                  op => 'address', message => qr/scope_id must be an integer in 0\.\.4294967295, got/,
                  name => 'scope_id ' . (($scope ^ $scope) ? "'$scope'" : $scope) . ' dies EINVAL');
    }
  SKIP: {
        my $six = eval { BSDSocket::socket(AF_INET6, SOCK_DGRAM) };
        skip 'no AF_INET6 sockets here', 2 unless $six;
        bad_address($six, ['::1', 0, 0, 4294967296], qr/scope_id must be an integer in 0\.\.4294967295/,
                    'bind: scope_id 4294967296 dies EINVAL');
        my $ok = eval { $six->bind(['::1', 0, 0, 4294967295]); 1 };
        my $e = $@;
        ok($ok || (ref $e && $e->op eq 'bind'), 'bind: scope_id 4294967295 is an address (the kernel may still say no)')
            or diag $e;
    }
}

# ---------------------------------------------------------------- AF_UNIX

my $dir = temp_dir();
bad_address($unix, ['/tmp/x'], qr/AF_UNIX address is a path string/,
            'AF_UNIX refuses an array ref');
bad_address($unix, undef, qr/AF_UNIX address is a path string, got undef/,
            'AF_UNIX refuses undef');
bad_address($unix, "$dir/a\0b", qr/NUL character inside AF_UNIX path/,
            'NUL inside a path dies');
bad_address($unix, "$dir/\x{263a}", qr/Wide character in AF_UNIX path/,
            'a wide character in a path dies');
{
    # over-long: refused, never cut short
    my $max = UNIX_PATH_MAX;        # (108 on Linux, 104 on the BSDs and macOS)
    my $long = "$dir/" . ('p' x (200 - length("$dir/")));
    my $e = bad_address($unix, $long, qr/AF_UNIX path is 200 bytes, longer than the $max-byte limit of sun_path/,
                        'a 200-byte path dies with its length and the limit');
    ok(!-e substr($long, 0, $max) && !-e substr($long, 0, $max - 1), 'nothing was created under a cut name');
    my $over = "$dir/" . ('q' x ($max + 1 - length("$dir/")));
    bad_address($unix, $over, qr/${\($max + 1)} bytes/, 'one byte over the limit dies');
    if (platform_has('abstract_unix')) {
        bad_address($unix, "\0" . ('a' x $max), qr/${\($max + 1)} bytes/, 'an over-long abstract name dies');
    }
    else {
        dies_with(sub { BSDSocket::socket(AF_UNIX, SOCK_DGRAM)->bind("\0name") }, errno => ENOSYS,
                  message => qr/abstract AF_UNIX names \(a leading NUL\) need Linux/,
                  name => 'without abstract names, a leading NUL dies ENOSYS');
    }

  SKIP: {
        # exactly sun_path long (no room for a NUL): Linux takes it
        skip 'a path with no room for its NUL is for Linux', 3 unless $^O eq 'linux';
        my $exact = "$dir/" . ('e' x ($max - length("$dir/")));
        is(length $exact, $max, "a $max-byte path");
        my $s = BSDSocket::socket(AF_UNIX, SOCK_DGRAM);
        $s->bind($exact);
        ok(-S $exact, '... binds');
        is($s->getsockname, $exact, '... and comes back whole');
    }
}
{
    my $path = "$dir/dgram";
    my $server = BSDSocket::socket(AF_UNIX, SOCK_DGRAM);
    $server->bind($path);
    is($server->getsockname, $path, 'a path comes back as given');
    my $client = BSDSocket::socket(AF_UNIX, SOCK_DGRAM);
    $client->sendto('hi', $path);
    my ($data, $from) = $server->recvfrom(10);
    is($data, 'hi', 'sendto a path');
    is($from, '', 'an unbound sender is the unnamed address ""');
    is($client->getsockname, '', 'an unbound AF_UNIX socket\'s name is ""');
}
SKIP: {
    skip 'no abstract AF_UNIX names in this build', 4 unless platform_has('abstract_unix');
    my $name = "\0bsdsocket-test-$$-\0-with-nul";
    my $s = BSDSocket::socket(AF_UNIX, SOCK_DGRAM);
    $s->bind($name);
    is($s->getsockname, $name, 'an abstract name (NULs and all) comes back unchanged');
    my $c = BSDSocket::socket(AF_UNIX, SOCK_DGRAM);
    $c->connect($s->getsockname);
    is($c->getpeername, $name, 'connect takes it back');
    $c->send('abstract');
    is($s->recv(20), 'abstract', 'data goes through');
    my ($a, $b) = BSDSocket::socketpair();
    is($a->getsockname, '', 'socketpair sockets are unnamed');
}
SKIP: {
    # The BSDs and macOS give an unnamed socket's address as a sun_path of
    # NULs, where Linux gives no bytes.  On Linux, a socket bound (through
    # perl's own bind) to the abstract name of 14 NULs has exactly that
    # shape: an abstract name where there are abstract names, '' where
    # there are not (a BSDSOCKET_PORTABLE=1 build).
    skip 'needs Linux, to make the shape', 1 unless $^O eq 'linux';
    my $nuls = "\0" x 14;
    socket(my $raw, Socket::AF_UNIX(), Socket::SOCK_DGRAM(), 0) or die "socket: $!";
    bind($raw, Socket::pack_sockaddr_un($nuls)) or skip "bind: $!", 1;
    my $s = BSDSocket::fromfd(fileno $raw);
    is($s->getsockname, platform_has('abstract_unix') ? $nuls : '',
       platform_has('abstract_unix') ? 'a sun_path of NULs is an abstract name on Linux'
                                     : 'a sun_path of NULs is the unnamed address ""');
}

# --------------------------------------------------------- other families

# (AF_NETLINK, AF_PACKET, AF_VSOCK and AF_ALG have their own shapes where
# the build knows them: t/87-families.t.  A family without one is
# [$family, $bytes], as AF_NETLINK is in a build without them.)
SKIP: {
    skip 'AF_NETLINK has a shape of its own in this build', 4 if platform_has('linux_families');
    my $nl = eval { BSDSocket::socket(AF_NETLINK, SOCK_RAW, 0) };
    skip 'no AF_NETLINK sockets here', 4 unless $nl;
    $nl->bind([AF_NETLINK, "\0" x 10]);
    my $addr = $nl->getsockname;
    is(ref $addr, 'ARRAY', 'an AF_NETLINK address is an array ref');
    is($addr->[0], AF_NETLINK, '... of the family');
    ok(length $addr->[1], '... and the raw bytes');
    bad_address($nl, [AF_INET, 'x'], qr/does not match the socket's family/,
                'a raw address of another family dies');
}

done_testing;
