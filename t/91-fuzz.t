use strict;
use warnings;
use Test::More;
use Scalar::Util qw(dualvar refaddr);
use POSIX ();
use Time::HiRes ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# Random Perl values through every argument of every call.  Each call
# either works or dies with a BSDSocket::Error (or with the exception the
# fuzzer's own overload/tie code threw); the process survives; no fd is
# left open.  The method-call shortcut's own paths are checked for what
# they did, not only that they lived: receiving into targets of every
# shape (also rewritten by a signal handler mid-call) gets the data
# known to be queued, and every method called as $s->method(...) does
# what BSDSocket::Socket::method($s, ...) does on a twin socket (see "the
# shortcut's own paths" below).  Seeded, so a failure can be replayed:
#   BSD_FUZZ_SEED=n BSD_FUZZ_CALLS=m prove -b t/91-fuzz.t
# The ASan pass in CI runs it with many more calls (t/README).
#
# Safety: hosts come only from a pool of loopback addresses, names the
# resolver rejects before asking anyone (no DNS), and values that are not
# hosts at all.  Two of those still reach DNS if used carelessly (strace
# showed it): 'localhost' looked up for IPv6 (/etc/hosts names it for IPv4
# only, so glibc asks DNS for its AAAA record), and a reverse lookup of
# any address /etc/hosts does not name (127.0.0.2, ::1, 0.0.0.0, ...).  So
# 'localhost' only goes where it is resolved as IPv4 (safe_host), and
# getnameinfo and gethostbyaddr see other addresses only with
# NI_NUMERICHOST or in a form that dies first.  Pool sockets are
# non-blocking; a call that could wait has a short timeout or runs under
# bounded_wait's timer.

my $seed  = $ENV{BSD_FUZZ_SEED}  // 20261125;
my $calls = $ENV{BSD_FUZZ_CALLS} // ($ENV{BSD_TEST_SLOW_TOOL} ? 3_000 : 30_000);
srand($seed);
diag("fuzz seed $seed, $calls calls");
guard_alarm(600);

# Work inside a temp dir: a fuzzed AF_UNIX address is a relative path as
# often as not, and bind creates what it names.
use Cwd ();
use File::Spec ();
my $dir = temp_dir();
my $cwd = Cwd::getcwd();
@INC = map { ref $_ ? $_ : File::Spec->rel2abs($_) } @INC;   # blib, t/lib
my $script_path = File::Spec->rel2abs($0);
chdir $dir or die "chdir $dir: $!";
END { chdir $cwd if defined $cwd }
my $fds_before = open_fds();
my $OWN_DEATH = "fuzz-owned exception\n";

# Can ::1 be bound?  Then the pool has IPv6 sockets too.
# Names only Linux has (or not macOS): the fuzz draws from them where they
# exist, and elsewhere takes 0 (no flag) or, for an option, SO_DEBUG.
my %linux_only = map { my $name = $_; my $v = eval { BSDSocket->can($name)->() };
                       ($name => $v // ($name =~ /^SO_/ ? SO_DEBUG() : 0)) }
                 qw(SOCK_NONBLOCK SOCK_CLOEXEC MSG_NOSIGNAL SO_PASSCRED SO_PRIORITY SCM_CREDENTIALS);
my $have_ipv6 = eval {
    my $s = BSDSocket::socket(AF_INET6, SOCK_DGRAM);
    $s->bind(['::1', 0]);
    $s->close;
    1;
};
diag('no IPv6 on ::1: the pool has no AF_INET6 sockets') unless $have_ipv6;

# ------------------------------------------------------------- values

{
    package Fuzz::Tied;
    sub TIESCALAR { my ($c, $gen) = @_; bless { gen => $gen }, $c }
    sub FETCH { $_[0]{gen}->() }
    sub STORE { }
}
{
    package Fuzz::Num;
    use overload '0+' => sub { ${ $_[0] } }, fallback => 1;
}
{
    package Fuzz::Str;
    use overload '""' => sub { ${ $_[0] } }, fallback => 1;
}
{
    package Fuzz::Dies;
    use overload '""' => sub { die $OWN_DEATH }, '0+' => sub { die $OWN_DEATH },
        'bool' => sub { die $OWN_DEATH }, fallback => 1;
}
{
    package Fuzz::TiedDies;
    sub TIESCALAR { bless {}, shift }
    sub FETCH { die $OWN_DEATH }
}

sub pick { $_[int rand @_] }

my @numbers = (0, 1, -1, 2, 7, 64, 255, 256, 1024, 65535, 65536, 2**31 - 1, 2**31,
               -2**31, -2**31 - 1, 2**32 + 3, 2**53, 2**63, -2**63, 2**64, 1e300, -1e300,
               1.5, -0.5, 0.0, -0.0, 9**9**9, -9**9**9, -sin(9**9**9));
my @strings = ('', '0', '42', '-7', '0x10', '1e3', ' 80', '80 ', '080', '+1', 'abc',
               "a\0b", "\0", "\0abstract", "\x{263a}", "caf\xe9", 'x' x 300, "4294967296",
               '99999999999999999999', 'NaN', 'Inf', "1\n", 'http', 'tcp', 'udp', 'r', 'w',
               'rw', 'r+', 'rb', 'wb', 'b');

my $cycle = [];
push @$cycle, $cycle;

sub scalar_value {
    my $kind = int rand 20;
    return undef                         if $kind == 0;
    return pick(@numbers)                if $kind <= 4;
    return pick(@strings)                if $kind <= 8;
    return int(rand 2**16) - 2**15       if $kind == 9;
    return !!int(rand 2)                 if $kind == 10;
    return dualvar(int rand 100, pick(@strings)) if $kind == 11;
    if ($kind == 12) { my $s = pick(@strings); utf8::upgrade($s); return $s }
    return pick([], {}, \1, \\1, sub { 1 }, \*STDOUT, qr/x/, [[[]]], $cycle,
                bless({}, 'Some::Class'), bless([], 'BSDSocket::Socket'),
                bless(\(my $x = 3), 'BSDSocket::Socket'))   if $kind == 13;
    return *STDOUT                       if $kind == 14;
    return bless(\(my $n = pick(@numbers)), 'Fuzz::Num') if $kind == 15;
    return bless(\(my $t = pick(@strings)), 'Fuzz::Str') if $kind == 16;
    return bless([], 'Fuzz::Dies')       if $kind == 17;
    return int rand 1000                 if $kind == 18;
    return pick(@numbers);
}

# A value the way an argument can arrive: plain, or through a tied
# scalar (whose FETCH makes a fresh value, or dies).
sub arg {
    my ($gen) = @_;
    $gen //= \&scalar_value;
    my $roll = rand;
    if ($roll < 0.05) { tie my $t, 'Fuzz::Tied', $gen; return \$t }
    if ($roll < 0.06) { tie my $t, 'Fuzz::TiedDies'; return \$t }
    my $v = $gen->();
    return \$v;
}

# hosts: never anything that could leave the machine or reach a resolver.
# 'localhost' only when asked for IPv4: see the note at the top.
sub safe_host {
    my ($any_family) = @_;
    my $kind = int rand 12;
    return pick('127.0.0.1', '127.0.0.2', ($any_family ? '127.0.0.1' : 'localhost'), '', '0.0.0.0',
                '127.1', INADDR_LOOPBACK)                        if $kind <= 4;
    return pick(no_dns_host(), 'bad..name', "127.0.0.1\0x", "\x{263a}.example",
                '::1', 'fe80::1%lo', '-')                       if $kind <= 7;
    return pick(undef, [], {}, sub { 1 }, \*STDOUT, $cycle, 42.5,
                bless([], 'Fuzz::Dies'))                         if $kind <= 9;
    return bless(\(my $h = '127.0.0.1'), 'Fuzz::Str')            if $kind == 10;
    tie my $t, 'Fuzz::Tied', sub { pick('127.0.0.1', no_dns_host(), undef) };
    return $t;
}

# hosts for an AF_INET6 address: literals, '%scope' forms (looked up with
# AI_NUMERICHOST, so even a junk scope asks no one), and the same refusals
sub safe_host6 {
    my $kind = int rand 12;
    return pick('::1', '::1', '', '::', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1') if $kind <= 4;
    return pick('::1%lo', 'fe80::1%lo', '::1%1', 'fe80::1%1', '::1%0', '::1%4294967296', '::1%',
                'fe80::1%' . pick(@strings))                     if $kind <= 6;
    return pick(no_dns_host(), 'bad..name', '-', '127.0.0.1', "::1\0x", "\x{263a}::1") if $kind <= 8;
    return pick(undef, [], sub { 1 }, $cycle, 42.5, bless([], 'Fuzz::Dies')) if $kind == 9;
    return bless(\(my $h = '::1'), 'Fuzz::Str')                  if $kind == 10;
    tie my $t, 'Fuzz::Tied', sub { pick('::1', 'fe80::1%lo', no_dns_host(), undef) };
    return $t;
}

# the host an address for this socket may hold: IPv4 names only for IPv4
sub host_for {
    my $family = sock_family($_[0]);
    return rand() < 0.3 ? pick('127.0.0.1', 'localhost') : safe_host() if $family == AF_INET;
    return rand() < 0.3 ? '::1' : rand() < 0.6 ? safe_host6() : safe_host(1);
}
sub sock_family { my ($s) = @_; (ref $s eq 'BSDSocket::Socket' && eval { $s->family }) || 0 }

# a port: often one something here listens on, else any
my (%port, %path);
sub a_port {
    my $roll = rand;
    return pick(0, values %port > 0 ? @port{sort keys %port} : 0) if $roll < 0.4;
    return int rand 65536                                          if $roll < 0.6;
    return scalar_value();
}
sub a_flowinfo { pick(0, 0, 1, 0xfffff, 0x100000, -1, 2**32, int rand 0x100000, scalar_value()) }
sub a_scope_id { pick(0, 0, 1, 2**32 - 1, 2**32, -1, int rand 8, scalar_value()) }

sub inet_address {
    my ($any_family) = @_;
    my $kind = int rand 10;
    return [safe_host($any_family), scalar_value()]              if $kind <= 4;
    return [safe_host($any_family), int rand 65536]              if $kind <= 6;
    return pick([], [safe_host($any_family)], [safe_host($any_family), 1, 2], scalar_value()) if $kind == 7;
    if ($kind == 8) { tie my @a, 'Fuzz::TiedArray'; @a = (safe_host($any_family), int rand 65536); return \@a }
    return pick(BSDSocket::socket(AF_INET, SOCK_DGRAM)->getsockname, [@{ [safe_host($any_family), 9] }]);
}
{
    package Fuzz::TiedArray;
    require Tie::Array;
    our @ISA = ('Tie::StdArray');
}

# [$host, $port, $flowinfo, $scope_id]: two to four parts (and the wrong
# counts), flowinfo and scope_id in range and out of it
sub inet6_address {
    my $kind = int rand 10;
    return [safe_host6(), a_port()]                              if $kind <= 2;
    return [safe_host6(), a_port(), a_flowinfo()]                if $kind <= 4;
    return [safe_host6(), a_port(), a_flowinfo(), a_scope_id()]  if $kind <= 7;
    return pick([], [safe_host6()], [safe_host6(), 1, 0, 0, 0], [safe_host6(), a_port(), undef],
                scalar_value())                                  if $kind == 8;
    tie my @a, 'Fuzz::TiedArray';
    @a = (safe_host6(), int rand 65536, a_flowinfo(), a_scope_id());
    return \@a;
}
sub any_inet_address { $have_ipv6 && rand() < 0.4 ? inet6_address() : inet_address(1) }

sub unix_address {
    my $kind = int rand 6;
    return "$dir/f" . int(rand 50)                               if $kind <= 1;
    return "\0bsdsocket-fuzz-$$-" . int(rand 50)                 if $kind == 2;
    return "$dir/" . ('p' x (100 + int rand 20))                 if $kind == 3;
    return pick("$dir/a\0b", '', "\x{263a}")                     if $kind == 4;
    return scalar_value();
}

# An address that names something here, in a form the socket's family
# takes: so the calls that take one get past checking it, and work.
sub good_address {
    my ($s) = @_;
    my $family = sock_family($s);
    my $dgram = ref $s && eval { $s->type == SOCK_DGRAM };
    if ($family == AF_UNIX) {
        return $dgram ? pick($path{ubound}, $path{ubound}, "\0bsdsocket-fuzz-$$-none") : $path{ulisten};
    }
    if ($family == AF_INET6 && $have_ipv6) {
        my $port = $dgram ? $port{udp6} : $port{listen6};
        return pick(['::1', $port], ['::1', $port, int rand 0x100000], ['::1', $port, 0, pick(0, 1)],
                    ['::1%lo', $port, 0, 0], [bless(\(my $h = '::1'), 'Fuzz::Str'), $port]);
    }
    my $port = $dgram ? $port{udp} : $port{listen};
    return pick(['127.0.0.1', $port], ['localhost', $port], ['127.0.0.1', "$port"],
                [bless(\(my $h = '127.0.0.1'), 'Fuzz::Str'), bless(\(my $n = $port), 'Fuzz::Num')]);
}

sub address_for {
    my ($s) = @_;
    return good_address($s) if rand() < 0.3;
    my $family = $s->family;
    return $family == AF_UNIX ? unix_address() : $family == AF_INET6 ? inet6_address() : inet_address();
}
sub address_of {
    my ($s) = @_;
    return ref $s eq 'BSDSocket::Socket' && eval { $s->family } ? address_for($s) : scalar_value();
}

# ------------------------------------------------------------- targets

my (@sockets, %pool);
my $generation = 0;
sub fresh_sockets {
    for my $s (@sockets) {
        # a fuzzed SO_LINGER could make close wait; undo it first
        eval { $s->setsockopt(SOL_SOCKET, SO_LINGER, pack('ii', 0, 0)) };
        $s->close;
    }
    $generation++;
    my ($p, $q) = nonblocking(BSDSocket::socketpair(AF_UNIX, SOCK_STREAM));
    my ($d1, $d2) = nonblocking(BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM));
    my $udp = nonblocking(BSDSocket::socket(AF_INET, SOCK_DGRAM));
    $udp->bind(['127.0.0.1', 0]);
    my $tcp = nonblocking(BSDSocket::socket(AF_INET, SOCK_STREAM));
    my $l = nonblocking(BSDSocket::socket(AF_INET, SOCK_STREAM));
    $l->bind(['127.0.0.1', 0]);
    $l->listen(64);
    my $udgram = nonblocking(BSDSocket::socket(AF_UNIX, SOCK_DGRAM));
    # an AF_UNIX datagram socket with a name, and a listener with one
    $path{ubound} = "$dir/pool-dgram-$generation";
    $path{ulisten} = "$dir/pool-listen-$generation";
    my $ubound = nonblocking(BSDSocket::socket(AF_UNIX, SOCK_DGRAM));
    $ubound->bind($path{ubound});
    my $ul = nonblocking(BSDSocket::socket(AF_UNIX, SOCK_STREAM));
    $ul->bind($path{ulisten});
    $ul->listen(64);
    $p->send('some data');
    $d1->send('a datagram');
    %pool = (p => $p, q => $q, d1 => $d1, d2 => $d2, udp => $udp, tcp => $tcp, listen => $l,
             udgram => $udgram, ubound => $ubound, ulisten => $ul);
    %port = (udp => $udp->getsockname->[1], listen => $l->getsockname->[1]);
    if ($have_ipv6) {
        my $udp6 = nonblocking(BSDSocket::socket(AF_INET6, SOCK_DGRAM));
        $udp6->bind(['::1', 0]);
        my $l6 = nonblocking(BSDSocket::socket(AF_INET6, SOCK_STREAM));
        $l6->bind(['::1', 0]);
        $l6->listen(64);
        @pool{qw(udp6 listen6)} = ($udp6, $l6);
        @port{qw(udp6 listen6)} = ($udp6->getsockname->[1], $l6->getsockname->[1]);
    }
    @sockets = @pool{sort keys %pool};
}

sub a_socket { pick(@sockets) }

# what a call that is only worth much on some sockets mostly gets
sub some_of { my @s = grep { defined } @pool{@_}; rand() < 0.5 && @s ? pick(@s) : invocant() }
sub a_listener { some_of(qw(listen listen6 ulisten)) }
sub a_datagram_socket { some_of(qw(udp udp6 ubound udgram d1)) }

# a fresh socket of an IP family, to bind or connect (closed when dropped);
# given a timeout, it is short
sub fresh_ip_socket {
    my ($timeout) = @_;
    my $s = nonblocking(BSDSocket::socket($have_ipv6 && rand() < 0.4 ? AF_INET6 : AF_INET,
                                          pick(SOCK_STREAM, SOCK_DGRAM)));
    $s->settimeout($timeout) if defined $timeout;
    return $s;
}

# A client connecting to a listener (non-blocking: the connection waits
# in the listener's queue), so that some accepts have one to take.
sub pending_client {
    my ($l) = @_;
    return unless ref $l && grep { defined $_ && refaddr($_) == refaddr($l) } @pool{qw(listen listen6 ulisten)};
    my $c = eval { nonblocking(BSDSocket::socket($l->family, SOCK_STREAM)) } or return;
    eval { $c->connect_ex($l->getsockname) };
    return $c;
}

# Call $code with the scalars behind the references, as they are: perl
# passes arguments by alias, so a tied one reaches the XSUB still tied and
# is read through its magic there.  (Never dereference them inside map or
# x: a FETCH that dies there trips a perl bug that frees a scalar twice.)
sub apply {
    my ($code, @r) = @_;
    return $code->()                                        if @r == 0;
    return $code->(${ $r[0] })                              if @r == 1;
    return $code->(${ $r[0] }, ${ $r[1] })                  if @r == 2;
    return $code->(${ $r[0] }, ${ $r[1] }, ${ $r[2] })      if @r == 3;
    return $code->(${ $r[0] }, ${ $r[1] }, ${ $r[2] }, ${ $r[3] }) if @r == 4;
    # more: peel off the last, keeping every one an alias
    my $last = pop @r;
    return apply(sub { $code->(@_, ${ $last }) }, @r);
}
sub args { my ($n, $gen) = @_; return map { arg($gen) } 1 .. $n }
sub maybe { rand() < 0.5 ? args(1) : () }

# what an invocant can be: mostly ours, sometimes anything at all; a
# method is called as a method on our objects (the shortcut's path), as a
# plain function on anything else (perl's method lookup would die first)
sub invocant { rand() < 0.9 ? a_socket() : scalar_value() }
sub call {
    my ($method, $self, @refs) = @_;
    return apply(sub { $self->$method(@_) }, @refs)
        if ref $self eq 'BSDSocket::Socket' && rand() < 0.9;
    my $sub = BSDSocket::Socket->can($method);
    return apply(sub { $sub->($self, @_) }, @refs);
}

my @levels = (SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_UDP);
# options each socket of some type takes, with a value of the right kind
my @good_options = (
    [SOL_SOCKET, SO_REUSEADDR, 1], [SOL_SOCKET, SO_KEEPALIVE, 1], [SOL_SOCKET, SO_KEEPALIVE, 0],
    [SOL_SOCKET, SO_RCVBUF, 65536], [SOL_SOCKET, SO_SNDBUF, 32768], [SOL_SOCKET, SO_BROADCAST, !!1],
    [SOL_SOCKET, SO_OOBINLINE, 1], [SOL_SOCKET, $linux_only{SO_PASSCRED}, 0], [SOL_SOCKET, $linux_only{SO_PRIORITY}, 3],
    [SOL_SOCKET, SO_RCVTIMEO, pack('l!l!', 0, 1000)], [SOL_SOCKET, SO_RCVLOWAT, 1],
    [IPPROTO_TCP, TCP_NODELAY, 1], [IPPROTO_IP, IP_TTL, 64], [IPPROTO_IP, IP_TOS, 16],
    [IPPROTO_IPV6, IPV6_UNICAST_HOPS, 5], [IPPROTO_IPV6, IPV6_V6ONLY, 1],
);
# the Linux families' shapes: [family, type, a generator per part]
my $linux_families = BSDSocket::platform()->{linux_families};
my @family_shapes = $linux_families ? (
    [AF_NETLINK, SOCK_RAW, sub { pick(0, $$, 2**32 - 1, 2**32, -1) }, sub { pick(0, 1, 2**31) }],
    [AF_VSOCK, SOCK_STREAM, sub { pick(VMADDR_CID_ANY, 1, 2, 2**32) }, sub { pick(VMADDR_PORT_ANY, 0, 5000) }],
    [AF_PACKET, SOCK_DGRAM, sub { pick('lo', '', 'nosuchif0', 'x' x 20, "lo\0") },
        sub { pick(0, ETH_P_IP, 70000) }, sub { pick(0, 1, 256) }, sub { pick(0, 772) },
        sub { pick('', "\0" x 6, 'x' x 9) }],
    [AF_ALG, SOCK_SEQPACKET, sub { pick('hash', 'x' x 14) }, sub { pick('sha256', 'x' x 64) }],
) : ();
my @ops = (
    [socket     => sub { my $s = apply(\&BSDSocket::socket, socket_args(\&family_or_type)) }],
    [socket_new => sub { my $s = apply(sub { BSDSocket::Socket->new(@_) }, socket_args()) }],
    [socketpair => sub { my @s = apply(\&BSDSocket::socketpair, args(int rand 4)) }],
    [fromfd     => sub { my $s = apply(\&BSDSocket::fromfd,
                                       arg(sub { pick(scalar_value(), a_socket(), int rand 20) }),
                                       args(int rand 3)) }],
    [gethostbyname => sub { my $ip = apply(\&BSDSocket::gethostbyname, arg(\&safe_host)) }],
    [getservbyname => sub { my $p = apply(\&BSDSocket::getservbyname, arg(\&a_service),
                                          (rand() < 0.5 ? arg(\&a_proto_name) : ())) }],
    [send       => sub { call(send => invocant(), args(1 + int rand 2)) }],
    [recv       => sub { my $d = call(recv => invocant(), arg(\&a_size), maybe()) }],
    [recv_list  => sub { my @d = call(recv => invocant(), arg(\&a_size)) }],
    [recv_lexical => sub { my $s = invocant(); my $d = 'old'; $d = $s->recv(${ arg(\&a_size) }) if ref $s eq 'BSDSocket::Socket' }],
    [recvfrom   => sub { my ($d, $a) = call(recvfrom => invocant(), arg(\&a_size), maybe()) }],
    [sendto     => sub { my $s = a_datagram_socket();
                         my $to = arg(sub { rand() < 0.3 ? good_address($s) : address_of($s) });
                         call(sendto => $s, arg(\&a_datum), (rand() < 0.5 ? arg(\&some_flags) : ()), $to) }],
    [bind       => sub { my $s = rand() < 0.2 ? fresh_ip_socket() : invocant();
                         my $to = address_of($s); call(bind => $s, \$to) }],
    [bind2      => sub { my $s = rand() < 0.5 ? fresh_ip_socket() : invocant();
                         call(bind => $s, arg(sub { host_for($s) }), arg(\&a_port)) }],
    [connect    => sub { my $s = rand() < 0.2 ? fresh_ip_socket(0.05) : invocant();
                         my $to = address_of($s); call(connect => $s, \$to) }],
    [connect2   => sub { my $s = rand() < 0.5 ? fresh_ip_socket(0.05) : invocant();
                         call(connect => $s, arg(sub { host_for($s) }), arg(\&a_port)) }],
    [listen     => sub { call(listen => invocant(), args(int rand 3)) }],
    [accept     => sub { my $l = a_listener();
                         my $client = rand() < 0.7 ? pending_client($l) : undef;
                         my ($c, $a) = call(accept => $l, (rand() < 0.1 ? args(1) : ())) }],
    [shutdown   => sub { call(shutdown => invocant(), args(1)) }],
    [sockopt    => sub { my @r = call(sockopt => invocant(), sockopt_args()) }],
    [getsockopt => sub { my ($level, $option) = rand() < 0.3 ? @{ pick(@good_options) }[0, 1] : (a_level(), an_option());
                         # Linux's SO_PEERPIDFD (77) opens a pidfd for the caller to close
                         return if !ref $level && !ref $option && defined $level && defined $option
                                   && $level eq SOL_SOCKET && $option eq '77';
                         my $v = call(getsockopt => invocant(), \$level, \$option, maybe()) }],
    [setsockopt => sub { if (rand() < 0.3) {     # an option there is, with a value it takes (mostly)
                             my ($level, $option, $value) = @{ pick(@good_options) };
                             return call(setsockopt => invocant(), arg(sub { $level }), arg(sub { $option }),
                                         arg(sub { rand() < 0.8 ? $value : scalar_value() }));
                         }
                         my ($level, $option) = (a_level(), an_option());
                         # a fuzzed SO_LINGER could make a later close wait
                         return if !ref $level && !ref $option && defined $level && defined $option
                                   && $level eq SOL_SOCKET && $option eq SO_LINGER;
                         call(setsockopt => invocant(), \$level, \$option, arg()) }],
    [getsockname => sub { my $n = call(getsockname => invocant(), (rand() < 0.1 ? args(1) : ())) }],
    [getpeername => sub { my $n = call(getpeername => invocant()) }],
    [makefile   => sub { my $fh = call(makefile => invocant(), args(int rand 3)) }],
    [accessors  => sub { my $s = invocant(); my @x = map { call($_ => $s) } qw(fileno family type proto) }],
    [close      => sub { call(close => invocant(), (rand() < 0.3 ? args(1) : ())) }],
    [constant   => sub { my $n = pick(@BSDSocket::CONSTANT_NAMES); my $v = BSDSocket->can($n)->() }],
    [settimeout => sub { call(settimeout => invocant(), arg(\&a_timeout)) }],
    [gettimeout => sub { my @t = map { call($_ => invocant()) } qw(gettimeout getblocking) }],
    [setblocking => sub { call(setblocking => invocant(), args(1)) }],
    [defaulttimeout => sub { apply(\&BSDSocket::setdefaulttimeout, arg(\&a_timeout));
                             my $d = BSDSocket::getdefaulttimeout();
                             BSDSocket::setdefaulttimeout(undef) }],
    [sendall    => sub { call(sendall => invocant(), args(1 + int rand 2)) }],
    [connect_ex => sub { my $s = rand() < 0.2 ? fresh_ip_socket() : invocant();
                         my $to = address_of($s); my $e = call(connect_ex => $s, \$to) }],
    [connect_ex2 => sub { my $s = rand() < 0.5 ? fresh_ip_socket() : invocant();
                          my $e = call(connect_ex => $s, arg(sub { host_for($s) }), arg(\&a_port)) }],
    [inheritable => sub { my $s = invocant(); call(set_inheritable => $s, args(1)); my $i = call(get_inheritable => $s) }],
    # 'localhost' only with the family AF_UNSPEC or AF_INET (see the top)
    [getaddrinfo => sub { my @r = rand() < 0.3
                              ? apply(\&BSDSocket::getaddrinfo, arg(\&safe_host), arg(sub { pick(0, AF_INET) }),
                                      args(int rand 4))
                              : apply(\&BSDSocket::getaddrinfo, arg(sub { safe_host(1) }), args(int rand 5)) }],
    # reverse lookups: numeric, or of 127.0.0.1, which /etc/hosts names
    [getnameinfo => sub { my @r = rand() < 0.5
                              ? apply(\&BSDSocket::getnameinfo, arg(\&any_inet_address), arg(\&numeric_ni_flags))
                              : apply(\&BSDSocket::getnameinfo, arg(\&reverse_safe_address), maybe()) }],
    [hostent    => sub { my @r = rand() < 0.5 ? apply(\&BSDSocket::gethostbyname_ex, arg(\&safe_host))
                                              : apply(\&BSDSocket::gethostbyaddr, arg(\&reverse_safe_host)) }],
    [servbyport => sub { my $n = apply(\&BSDSocket::getservbyport, args(1 + int rand 2)) }],
    [protobyname => sub { my $n = apply(\&BSDSocket::getprotobyname, args(1)) }],
    [decode_cmsg => sub { my $v = rand() < 0.5
                              ? BSDSocket::decode_cmsg(pick(SOL_SOCKET, IPPROTO_IP, IPPROTO_IPV6),
                                                       pick(SCM_RIGHTS, 1 .. 80), 'x' x int rand 64)
                              : apply(\&BSDSocket::decode_cmsg, args(3)) }],
    [interfaces => sub { my $fn = pick(qw(if_nametoindex if_indextoname if_nameindex));
                         my @r = $fn eq 'if_nameindex' ? BSDSocket::if_nameindex()
                                                       : apply(BSDSocket->can($fn), args(1)) }],
    [inet       => sub { my $fn = pick(qw(inet_aton inet_ntoa));
                         my $r = apply(BSDSocket->can($fn), args(1)) }],
    # Linux's families: their address shapes, right and wrong, through
    # bind, connect and sendto (a raw socket here is never sent on: the
    # address is refused, or goes nowhere a test can see)
    [families   => sub {
        return unless $linux_families;
        my ($family, $type, @shape) = @{ pick(@family_shapes) };
        my $s = eval { BSDSocket::socket($family, $type, 0) } or return;
        my @parts = map { rand() < 0.8 ? $_->() : scalar_value() } @shape;
        splice @parts, int rand @parts, 1 if rand() < 0.1;
        push @parts, scalar_value() if rand() < 0.1;
        my $address = rand() < 0.9 ? \@parts : scalar_value();
        my $method = $family == AF_NETLINK ? pick(qw(bind connect)) : 'bind';
        my @r = call($method => $s, arg(sub { $address }));
        my $name = eval { $s->getsockname };
        $s->close }],
    [inet_p     => sub { my $fn = pick(qw(inet_pton inet_ntop));
                         if (rand() < 0.4) {    # the right family, and what it takes (mostly)
                             my $family = pick(AF_INET, AF_INET6);
                             return apply(BSDSocket->can($fn), arg(sub { $family }),
                                          arg(sub { rand() < 0.7 ? an_ip($fn, $family) : scalar_value() }));
                         }
                         my $r = apply(BSDSocket->can($fn), arg(\&family_or_type), args(1)) }],
    [byteorder  => sub { my $fn = pick(qw(htons ntohs htonl ntohl)); my $r = apply(BSDSocket->can($fn), args(1)) }],
    [inet6_address => sub { my $s = nonblocking(BSDSocket::socket(AF_INET6, pick(SOCK_DGRAM, SOCK_STREAM)));
                            my $m = pick(qw(bind connect connect_ex sendto));
                            my $to = arg(sub { rand() < 0.3 ? good_address($s) : inet6_address() });
                            call($m => $s, ($m eq 'sendto' ? arg(\&a_datum) : rand() < 0.1 ? args(1) : ()), $to) }],
    # a timeout of undef (or one left out: the default, undef) may wait as
    # long as a full accept queue lasts: bounded_wait ends it
    [create_connection => sub { my @r = bounded_wait(sub {
                                    apply(\&BSDSocket::create_connection, arg(\&a_connection_address),
                                          (rand() < 0.2 ? () : arg(\&a_connection_timeout)),
                                          (rand() < 0.4 ? arg(\&a_source_address) : ())) }) }],
    [recv_into  => sub { my $s = invocant(); my $buf = arg(\&a_buffer);
                         my $n = call(recv_into => $s, $buf, (rand() < 0.8 ? arg(\&a_size) : ()), maybe()) }],
    [recvfrom_into => sub { my $s = invocant(); my $buf = arg(\&a_buffer);
                            my ($n, $a) = call(recvfrom_into => $s, $buf, (rand() < 0.8 ? arg(\&a_size) : ()), maybe()) }],
    [dup        => sub { my $d = call(dup => invocant()) }],
    [detach     => sub { my $s = invocant();
                         # detach only what a fresh pair stands in for: the fuzzer must not lose its sockets' fds
                         my ($x) = ref $s eq 'BSDSocket::Socket' ? BSDSocket::socketpair() : ($s);
                         my $fd = call(detach => $x);
                         POSIX::close($fd) if defined $fd && $fd =~ /^\d+\z/ && $fd > 2 }],
    [sendmsg    => sub { my $s = a_datagram_socket();
                         call(sendmsg => $s, arg(\&some_buffers), arg(\&some_ancillary), flags_and_address($s)) }],
    [recvmsg    => sub { my @r = call(recvmsg => invocant(), arg(\&a_size),
                                      (rand() < 0.5 ? (arg(\&an_ancbufsize), maybe()) : ()));
                         close_rights($r[1]) }],
    [send_fds   => sub { my $s = some_of(qw(ubound udgram d1 p));
                         call(send_fds => $s, arg(\&some_buffers), arg(\&some_fds), flags_and_address($s)) }],
    [recv_fds   => sub { my @r = call(recv_fds => invocant(), arg(\&a_size), arg(\&a_count), maybe()) }],
    [sendfile   => sub { my $fh = a_file(); call(sendfile => invocant(), \$fh, maybe(), maybe()) }],
    [send_many  => sub { my $s = invocant(); my $m = some_messages($s);
                         call(send_many => $s, \$m, (rand() < 0.5 ? do { my $to = address_of($s); \$to } : ())) }],
    [recv_many  => sub { my @r = call(recv_many => invocant(), arg(\&a_count), arg(\&a_small_size), maybe()) }],
    [recv_exact => sub { my @r = call(recv_exact => invocant(), arg(\&a_small_size), maybe()) }],
    [recv_until => sub { my @r = call(recv_until => invocant(), arg(\&a_datum), arg(\&a_small_size)) }],
    [deadline   => sub { my @r = bounded_wait(sub { apply(\&BSDSocket::deadline, arg(\&a_timeout),
                                                              arg(sub { pick(sub { 1 }, 'code', undef, scalar_value()) })) }) }],
    [select     => sub { my @r = bounded_wait(sub { apply(\&BSDSocket::select, arg(\&an_item_list),
                                                            arg(\&an_item_list), arg(\&an_item_list),
                                                            arg(\&a_timeout)) }) }],
    [poller     => sub { my $p = apply(sub { BSDSocket::Poller->new(@_) }, poller_options());
                         for (1 .. 1 + int rand 4) {
                             my $m = pick(qw(register register modify unregister));
                             my $item = an_item();
                             eval { apply(sub { $p->$m(@_) }, \$item,
                                          ($m eq 'unregister' ? () : (arg(\&some_events), maybe()))) };
                             die $@ if $@ && !(ref $@ && $@->isa('BSDSocket::Error')) && $@ ne $OWN_DEATH;
                         }
                         # now and then a method on something that is no poller
                         my $self = rand() < 0.9 ? $p : scalar_value();
                         my $poll = BSDSocket::Poller->can(pick(qw(poll poll poll_into poll_items count fileno backend)));
                         my @into = rand() < 0.5 ? () : (1, [1, 2]);
                         my $into = rand() < 0.8 ? \@into : scalar_value();
                         my @r = bounded_wait(sub { apply(sub { $poll->($self, ($poll == \&BSDSocket::Poller::poll_into || $poll == \&BSDSocket::Poller::poll_items ? $into : ()), @_) },
                                                          arg(\&a_timeout)) });
                         $p->close if rand() < 0.5 }],
    [cmsg       => sub { my $r = apply(BSDSocket->can(pick(qw(CMSG_LEN CMSG_SPACE))), args(1)) }],
    [create_server => sub { my $s = apply(\&BSDSocket::create_server, server_args()) }],
);

# ------------------------------------------ the shortcut's own paths
#
# `$lexical = $sock->recv(...)` receives straight into the lexical, and
# recv_into/recvfrom_into into the caller's scalar: those targets come in
# every shape a scalar takes (chopped, copy-on-write, a hash key's copy,
# tied, read-only, magical, a reference), before the call and, through a
# signal handler, in the middle of it.  The data is known, so what the
# target holds afterwards is checked, not only that perl lived.  A wrong
# result dies with a message of its own (counted as bad, below).

sub mismatch { die "fuzz mismatch: $_[0]\n" }
{
    package Fuzz::Store;
    sub TIESCALAR { bless { value => 'tied value', stores => 0 }, shift }
    sub FETCH { $_[0]{value} }
    sub STORE { $_[0]{stores}++; $_[0]{value} = $_[1] }
}
# Make ${$_[0]} a target of this kind; returns what to check afterwards.
my %target_kinds = (
    undef     => sub { undef ${ $_[0] }; {} },
    empty     => sub { ${ $_[0] } = ''; {} },
    string    => sub { ${ $_[0] } = pick('abc', 'x' x 5000, 'y' x 70_000); {} },
    number    => sub { ${ $_[0] } = pick(42, -1.5, 2**53); {} },
    chars     => sub { ${ $_[0] } = "\x{263a}" x pick(1, 5, 3000); {} },
    chopped   => sub { ${ $_[0] } = 'c' x pick(50, 5000, 100_000);
                       substr(${ $_[0] }, 0, pick(4, 10, 40), ''); {} },
    cow       => sub { my $other = pick('abc', 'shared ') x 1000; ${ $_[0] } = $other;
                       { other => \$other, other_was => $other } },
    hash_key  => sub { my %h = (the_key_of_a_hash => 1); (${ $_[0] }) = keys %h;
                       { hash => \%h } },
    tied      => sub { tie ${ $_[0] }, 'Fuzz::Store'; { tied => 1 } },
    read_only => sub { ${ $_[0] } = 'fixed'; Internals::SvREADONLY(${ $_[0] }, 1); { read_only => 1 } },
    pos       => sub { ${ $_[0] } = 'abcabc'; ${ $_[0] } =~ /b/g; { pos => 1 } },
    vstring   => sub { ${ $_[0] } = v1.22.333; {} },
    weak      => sub { my $weak = $_[0]; Scalar::Util::weaken($weak); { weak => \$weak } },
    reference => sub { ${ $_[0] } = pick([1], {}, \1); { not_plain => 1 } },
    glob      => sub { ${ $_[0] } = *STDOUT; { not_plain => 1 } },
);
my @target_kind_names = sort keys %target_kinds;
# the kinds the shortcut's fast paths read as they are (no magic, writable)
my @plain_target_kinds = qw(undef empty string number chars chopped cow hash_key);

# Receive into a target of $kind with $form.  The handler, if any, runs
# while the call waits; returns what happened, for the caller to judge.
sub receive_into_target {
    my ($form, $s, $n, $kind, $arm) = @_;
    my $t;
    my $check = $target_kinds{$kind}->(\$t);
    my $want_len = $form eq 'recv_into_len' ? do { no warnings; length($t) // 0 } : undef;
    my $disarm = $arm ? $arm->(\$t) : undef;
    my ($r, $from);
    my $taken = BSDSocket::_fastcall_count();
    my $ok = eval {
        if    ($form eq 'assign_recv')       { $t = $s->recv($n) }
        elsif ($form eq 'assign_recv_flags') { $t = $s->recv($n, 0) }
        elsif ($form eq 'assign_recvfrom')   { $t = $s->recvfrom($n) }
        elsif ($form eq 'list_recvfrom')     { ($t, $from) = $s->recvfrom($n) }
        elsif ($form eq 'recv_into')         { $r = $s->recv_into($t, $n) }
        elsif ($form eq 'recv_into_len')     { $r = $s->recv_into($t) }
        elsif ($form eq 'recvfrom_into')     { ($r, $from) = $s->recvfrom_into($t, $n) }
        elsif ($form eq 'into_temporary')    { $r = $s->recv_into($t . '', $n) }
        elsif ($form eq 'into_constant')     { $r = $s->recv_into('k' x 10, $n) }
        else  { die "no form $form" }
        1;
    };
    my $e = $ok ? undef : $@;
    $taken = BSDSocket::_fastcall_count() - $taken;
    $disarm->() if $disarm;
    my %got = (error => $e, r => $r, from => $from, taken => $taken,
               want_len => $want_len, check => $check);
    # what the target holds, then let it go
    if (my $tied = tied $t) {
        @got{qw(value stores tied)} = ($tied->{value}, $tied->{stores}, 1);
    }
    else {
        $got{value} = $t;
    }
    $got{pos} = pos($t) if $check->{pos} && !ref $t;
    { no warnings 'untie'; untie $t }
    Internals::SvREADONLY($t, 0);
    return \%got;
}

my @assign_forms = qw(assign_recv assign_recv_flags assign_recvfrom list_recvfrom);
my @into_forms = qw(recv_into recvfrom_into);

# Judge it: $data is what the call should have received, given that it
# went into the target (into forms: unless it died first)
sub judge_target {
    my ($what, $form, $kind, $got, $data, %o) = @_;
    my $e = $got->{error};
    my $check = $got->{check};
    my $assigns = grep { $_ eq $form } @assign_forms;
    my $temp = $form eq 'into_temporary' || $form eq 'into_constant';
    my $read_only = $o{read_only} // $check->{read_only};
    my $not_plain = $o{not_plain} // $check->{not_plain};
    if (!$temp && $read_only) {
        mismatch("$what: $form into a read-only $kind did not die") unless defined $e;
        if ($assigns) {
            mismatch("$what: $form into a read-only $kind died with '$e'")
                unless !ref $e && $e =~ /^Modification of a read-only value attempted/;
        }
        elsif (!(ref $e && $e->isa('BSDSocket::Error') && $e->errno == Errno::EINVAL()
                 && $e->message =~ /read-only|cannot be written/)
               # (a handler that runs inside a tied target's FETCH and makes
               # it read-only: perl's own get-magic then fails to store what
               # FETCH returned, before the call sees the buffer)
               && !($got->{tied} && !ref $e && $e =~ /^Modification of a read-only value attempted/)) {
            mismatch("$what: $form into a read-only $kind died with '$e'");
        }
        return 'died';
    }
    # (a tied target a handler gave a glob may still take the data: its
    # own value is no glob, and the data goes to STORE as usual)
    if (!$assigns && !$temp && $not_plain && !(!defined $e && $got->{tied} && $o{rewritten})) {
        mismatch("$what: $form into a $kind did not die") unless defined $e;
        mismatch("$what: $form into a $kind died with '$e'")
            unless ref $e && $e->isa('BSDSocket::Error') && $e->errno == Errno::EINVAL()
                   && $e->message =~ /plain scalar|cannot be written/;
        return 'died';
    }
    mismatch("$what: $form into a $kind died: $e") if defined $e;
    my $value = $got->{value};
    if ($temp) {
        mismatch("$what: $form returned " . ($got->{r} // 'undef') . ', not ' . length $data)
            unless defined $got->{r} && $got->{r} == length $data;
        return 'worked';
    }
    mismatch("$what: $form into a $kind holds " . (defined $value ? ref $value || "'" . substr($value, 0, 40) . "'" : 'undef')
             . " instead of the " . length($data) . ' bytes received')
        unless defined $value && !ref $value && $value eq $data && !utf8::is_utf8($value);
    if (!$assigns) {
        mismatch("$what: $form returned " . ($got->{r} // 'undef') . ' for ' . length($data) . ' bytes')
            unless defined $got->{r} && $got->{r} == length $data;
    }
    if ($form eq 'list_recvfrom' || $form eq 'recvfrom_into') {
        mismatch("$what: $form gave the address " . ($got->{from} // 'undef'))
            unless defined $got->{from} && $got->{from} eq '';
    }
    if ($got->{tied}) {
        # (a handler that rewrote a tied target stored into it too)
        mismatch("$what: $form stored $got->{stores} times into a tied $kind")
            unless $o{rewritten} ? $got->{stores} >= 1 : $got->{stores} == 1;
    }
    if ($check->{other}) {
        mismatch("$what: $form into a copy-on-write string changed the string it shared")
            unless ${ $check->{other} } eq $check->{other_was};
    }
    if ($check->{hash}) {
        mismatch("$what: $form into a hash key's copy changed the hash")
            unless join(',', keys %{ $check->{hash} }) eq 'the_key_of_a_hash';
    }
    if ($check->{pos} && $assigns && !$o{rewritten}) {
        mismatch("$what: $form left pos() at $got->{pos}") if defined $got->{pos};
    }
    return 'worked';
}

# a socketpair for one call: stream or datagram; blocking, with a
# timeout, or non-blocking (only where the data is there already)
sub target_pair {
    my ($may_wait) = @_;
    my $type = pick(SOCK_STREAM, SOCK_DGRAM);
    my ($p, $q) = BSDSocket::socketpair(AF_UNIX, $type);
    $q->settimeout($may_wait ? pick(undef, 5) : pick(undef, 0, 5));
    return ($p, $q, $type);
}
sub some_data {
    my ($type) = @_;
    my $data = pick('a', 'hello', "\xff\0bytes\x80", 'z' x 3000, 'q' x 70_000,
                    ($type == SOCK_DGRAM ? '' : ()));
    return $data;
}

# the calls: targets with the data queued before
push @ops, [fast_target => sub {
    my ($p, $q, $type) = target_pair();
    my $data = some_data($type);
    my $form = pick(@assign_forms, @into_forms, qw(recv_into_len into_temporary into_constant));
    my $kind = pick(@target_kind_names);
    my $n = pick(1, 7, length($data) || 1, length($data) + 7, 4096, 65536, 100_000);
    $p->send($data);
    my $got = receive_into_target($form, $q, $n, $kind);
    my $want = $form eq 'recv_into_len' ? $got->{want_len} : $n;
    my $verdict = judge_target('fast_target', $form, $kind, $got, substr($data, 0, $want));
    if ($verdict eq 'died' && !grep { $_ eq $form } @assign_forms) {
        # a call that refused its buffer left the data where it was
        my $left = eval { $q->recv(100_000, MSG_DONTWAIT) };
        mismatch("fast_target: $form refused a $kind buffer but took the data")
            unless defined $left && $left eq $data;
    }
    mismatch("fast_target: $form took the shortcut $got->{taken} times") unless $got->{taken} == 1;
}];

# and with a signal handler that rewrites the target while the call waits:
# a timer whose handler rewrites it and then sends the data (so the data
# can only come after it), or now and then a child that signals until the
# handler says it ran, and then sends.  Either way the handler runs
# before the data exists: if it is late for the wait, the call waits on.
my %target_rewrites = (
    undefine     => sub { undef ${ $_[0] }; {} },
    long_string  => sub { ${ $_[0] } = 'n' x pick(100, 100_000, 1_000_000); {} },
    short_string => sub { ${ $_[0] } = 'short'; {} },
    number       => sub { ${ $_[0] } = 7.5; {} },
    characters   => sub { ${ $_[0] } = "\x{263a}" x 50; {} },
    chop         => sub { ${ $_[0] } = 'c' x 5000 if !defined ${ $_[0] } || ref ${ $_[0] } || length ${ $_[0] } < 20;
                          substr(${ $_[0] }, 0, 10, ''); {} },
    reference    => sub { ${ $_[0] } = [1, 2]; { not_plain => 1 } },
    glob         => sub { ${ $_[0] } = *STDERR; { not_plain => 1 } },
    tie          => sub { tie ${ $_[0] }, 'Fuzz::Store'; { tied => 1 } },
    read_only    => sub { Internals::SvREADONLY(${ $_[0] }, 1); { read_only => 1 } },
);
my @target_rewrite_names = sort keys %target_rewrites;
my $usr1_handler;
$SIG{USR1} = sub { $usr1_handler->() if $usr1_handler };
push @ops, [signal_target => sub {
    my ($p, $q, $type) = target_pair(1);
    my $data = some_data($type);
    $data = 'after the signal' if $data eq '';    # an empty datagram would look like nothing
    my $form = pick(@assign_forms, @into_forms);
    my $kind = pick(@plain_target_kinds, qw(tied pos));
    my $n = pick(length $data, length($data) + 7, 65536, 100_000);
    my $how = pick(@target_rewrite_names);
    my $by_child = rand() < 0.05;
    my $effect = {};
    my $runs = 0;
    my $arm = sub {
        my ($target) = @_;
        if ($by_child) {
            pipe(my $ack_r, my $ack_w) or die "pipe: $!";
            my $parent = $$;
            my $pid = fork // die "fork: $!";
            unless ($pid) {
                close $ack_w;
                my $rin = '';
                vec($rin, fileno $ack_r, 1) = 1;
                for (1 .. 250) {
                    kill 'USR1', $parent;
                    last if select(my $rout = $rin, undef, undef, 0.02);
                }
                $p->send($data);
                POSIX::_exit(0);
            }
            close $ack_r;
            $usr1_handler = sub {
                return if ++$runs > 1;      # (a signal sent again, still pending)
                $effect = $target_rewrites{$how}->($target);
                local $SIG{PIPE} = 'IGNORE';
                syswrite $ack_w, 'x';
            };
            return sub { waitpid $pid, 0; undef $usr1_handler };
        }
        my $guard_left = alarm 0;
        my $guard_handler = $SIG{ALRM};
        $SIG{ALRM} = sub {
            $runs++;
            die $OWN_DEATH if $runs > 250;          # 5 s: something is stuck
            return unless $runs == 1;
            $effect = $target_rewrites{$how}->($target);
            $p->send($data);
        };
        Time::HiRes::ualarm(1000, 20_000);
        return sub {
            Time::HiRes::ualarm(0);
            $SIG{ALRM} = $guard_handler;
            alarm($guard_left > 1 ? $guard_left : 1);
        };
    };
    my $got = receive_into_target($form, $q, $n, $kind, $arm);
    die $got->{error} if defined $got->{error} && !ref $got->{error} && $got->{error} eq $OWN_DEATH;
    mismatch("signal_target: the handler never ran") unless $runs;
    # a reference or a read-only flag the handler set is the target's now
    judge_target("signal_target ($how" . ($by_child ? ', from a child' : '') . ')', $form, $kind, $got,
                 substr($data, 0, $n), %$effect, rewritten => 1);
}];

# ------------------------------------ the shortcut against the function
#
# Every method, called as a method on our object (the shortcut's path,
# when the method is one of its names) and as BSDSocket::Socket::method($s,
# ...), with the same arguments on two sockets made alike (socketpairs
# with the same data queued, fresh IP sockets, listeners with the same
# clients waiting): what each did must be the same.  That is its return
# (a socket or handle compared by its kind, an address by its parts, the
# socket's own ephemeral port by name), or its error (class, errno, op,
# message, sent, address), its warnings, what was left to read and what
# the peer got, the socket's state afterwards, and for recv_into and
# recvfrom_into the buffer.  The arguments are made twice from one seed,
# and each call starts from one seed too (a tied argument draws its values
# when fetched), so both see the same values; the first pair is torn down
# (its files unlinked) before the second is made.

my @socket_methods = qw(accept bind close connect connect_ex detach dup family fileno
                        get_inheritable getblocking getpeername getsockname getsockopt gettimeout
                        listen makefile new pending proto recv recv_exact recv_fds recv_into recv_many
                        recv_until recvfrom
                        recvfrom_into recvmsg send send_fds send_many sendall sendfile sendmsg
                        sendto set_inheritable setblocking setsockopt settimeout shutdown
                        sockopt sysread syswrite type);
# the IO::Handle methods, written in Perl over the builtins (t/17-handle.t)
my @handle_methods = qw(autoflush binmode blocking connected eof getline getlines opened
                        peerhost peerport print printf protocol say sockdomain sockhost
                        sockport socktype _inet_part keepalive);
# the methods the shortcut takes (bsd_fast.c)
my %fast_method = map { $_ => 1 } qw(send recv sendto recvfrom fileno accept connect close sendall
                                     recv_into recvfrom_into send_many recv_many);
# the two forms of each call, in list and scalar context (`my $r =
# $s->recv(...)` is the shortcut's receive-into-the-lexical path), and for
# the *_into methods with the buffer a variable, a temporary or a constant
my %twin_call;
for my $m (@socket_methods) {
    for my $buffer ($m =~ /_into\z/ ? qw(variable temporary constant) : 'variable') {
        my $take = $buffer eq 'variable' ? '' : 'my $b = shift; ';
        my $pass = $buffer eq 'temporary' ? '"$b", ' : $buffer eq 'constant' ? q{'k' x 10, } : '';
        for my $context (qw(list scalar)) {
            my ($lhs, $ret) = $context eq 'list' ? ('my @r', '@r') : ('my $r', '$r');
            $twin_call{method}{$context}{$buffer}{$m} =
                eval "sub { my \$s = shift; $take$lhs = \$s->$m($pass\@_); $ret }" || die $@;
            $twin_call{function}{$context}{$buffer}{$m} =
                eval "sub { my \$s = shift; $take$lhs = BSDSocket::Socket::$m(\$s, $pass\@_); $ret }" || die $@;
        }
    }
}

# what each method is given (as the other ops give it; the same for both forms)
sub an_address_for { my ($s) = @_; rand() < 0.5 ? arg(sub { rand() < 0.4 ? good_address($s) : address_of($s) })
                                                : (arg(sub { host_for($s) }), arg(\&a_port)) }
my %twin_args = (
    accept          => sub { rand() < 0.1 ? args(1) : () },
    bind            => \&an_address_for,
    close           => sub { rand() < 0.2 ? args(1) : () },
    connect         => \&an_address_for,
    connect_ex      => \&an_address_for,
    detach          => sub { rand() < 0.1 ? args(1) : () },
    dup             => sub { rand() < 0.1 ? args(1) : () },
    getsockopt      => sub { my ($level, $option) = rand() < 0.5 ? @{ pick(@good_options) }[0, 1] : (a_level(), an_option());
                             # SO_PEERPIDFD (77) opens a pidfd for the caller to close
                             $option = SO_TYPE if !ref $option && defined $option && $option eq '77';
                             (\$level, \$option, (rand() < 0.3 ? arg(sub { pick(4, 8, 64, 1024, scalar_value()) }) : ())) },
    listen          => sub { args(int rand 2) },
    makefile        => sub { args(int rand 3) },
    new             => sub { socket_args() },
    recv            => sub { (arg(\&a_size), maybe()) },
    recv_fds        => sub { (arg(\&a_size), arg(\&a_count), maybe()) },
    recv_into       => sub { ((rand() < 0.8 ? arg(\&a_size) : ()), maybe()) },
    recv_many       => sub { (arg(\&a_count), arg(\&a_small_size), maybe()) },
    recv_exact      => sub { (arg(\&a_small_size), maybe()) },
    recv_until      => sub { (arg(\&a_datum), arg(\&a_small_size)) },
    recvfrom        => sub { (arg(\&a_size), maybe()) },
    recvfrom_into   => sub { ((rand() < 0.8 ? arg(\&a_size) : ()), maybe()) },
    recvmsg         => sub { (arg(\&a_size), (rand() < 0.5 ? (arg(\&an_ancbufsize), maybe()) : ())) },
    send            => sub { (arg(\&a_datum), (rand() < 0.5 ? arg(\&some_flags) : ())) },
    send_fds        => sub { my ($s) = @_; (arg(\&some_buffers), arg(\&some_fds), flags_and_address($s)) },
    send_many       => sub { my ($s) = @_; my $m = some_messages($s);
                             (\$m, (rand() < 0.5 ? do { my $to = address_of($s); \$to } : ())) },
    sendall         => sub { (arg(\&a_datum), (rand() < 0.5 ? arg(\&some_flags) : ())) },
    sendfile        => sub { my $fh = a_file(); (\$fh, maybe(), maybe()) },
    sendmsg         => sub { my ($s) = @_; (arg(\&some_buffers), arg(\&some_ancillary), flags_and_address($s)) },
    sendto          => sub { my ($s) = @_; (arg(\&a_datum), (rand() < 0.5 ? arg(\&some_flags) : ()),
                                            arg(sub { rand() < 0.4 ? good_address($s) : address_of($s) })) },
    set_inheritable => sub { args(1) },
    setblocking     => sub { args(1) },
    sysread         => sub { my $buf = rand() < 0.5 ? '' : undef;
                             (\$buf, arg(\&a_size), (rand() < 0.3 ? arg(sub { pick(0, 2, -1, 5) }) : ())) },
    syswrite        => sub { (arg(\&a_datum), (rand() < 0.3 ? (arg(sub { pick(0, 1, 3, 100) }), maybe()) : ())) },
    setsockopt      => sub { if (rand() < 0.5) {
                                 my ($level, $option, $value) = @{ pick(@good_options) };
                                 return (arg(sub { $level }), arg(sub { $option }), arg(sub { rand() < 0.8 ? $value : scalar_value() }));
                             }
                             my ($level, $option) = (a_level(), an_option());
                             # a fuzzed SO_LINGER could make a later close wait
                             $option = SO_KEEPALIVE if !ref $option && defined $option && $option eq SO_LINGER;
                             (\$level, \$option, arg()) },
    settimeout      => sub { arg(\&a_timeout) },
    shutdown        => sub { args(1) },
    sockopt         => \&sockopt_args,
);
$twin_args{$_} = sub { rand() < 0.1 ? args(1) : () }
    for qw(family fileno proto type get_inheritable getblocking gettimeout getpeername getsockname
           pending);

# Two sockets made alike: the one called, and what is around it
my @twin_kinds = qw(stream dgram udp tcp listener closed);
sub twin_env {
    my ($kind) = @_;
    my %env = (kind => $kind);
    if ($kind eq 'stream' || $kind eq 'closed') {
        @env{qw(self peer)} = nonblocking(BSDSocket::socketpair(AF_UNIX, SOCK_STREAM));
        $env{peer}->send(pick('queued for the twin', 'x' x 3000, "\xff\0")) if rand() < 0.7;
        $env{self}->close if $kind eq 'closed';
    }
    elsif ($kind eq 'dgram') {
        @env{qw(self peer)} = nonblocking(BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM));
        $env{peer}->send(pick('one', '', 'y' x 2000)) for 1 .. int rand 3;
    }
    elsif ($kind eq 'udp') {
        $env{self} = nonblocking(BSDSocket::socket(AF_INET, SOCK_DGRAM));
        $env{self}->bind(['127.0.0.1', 0]);
        $env{peer} = nonblocking(BSDSocket::socket(AF_INET, SOCK_DGRAM));
        $env{peer}->bind(['127.0.0.1', 0]);
        $env{peer}->sendto(pick('to udp', 'z' x 1500), $env{self}->getsockname) for 1 .. int rand 3;
    }
    elsif ($kind eq 'tcp') {
        $env{self} = nonblocking(BSDSocket::socket(AF_INET, SOCK_STREAM));
    }
    else {
        $env{self} = nonblocking(BSDSocket::socket(AF_UNIX, SOCK_STREAM));
        $env{self}->bind("$dir/twin-listener");
        $env{self}->listen(8);
        $env{clients} = [map { my $c = nonblocking(BSDSocket::socket(AF_UNIX, SOCK_STREAM));
                               $c->connect("$dir/twin-listener"); $c } 1 .. int rand 3];
    }
    $env{self}->settimeout(0) if $env{self}->fileno >= 0;
    $env{fd} = $env{self}->fileno;
    return \%env;
}

# the pool's datagram queues (10 deep on Linux) and accept queues, empty:
# a send or connect of the first call must not fill what the second needs
sub quiet_pool {
    for my $s (grep { defined } @pool{qw(udp udp6 ubound udgram d1 d2)}) {
        for (1 .. 100) { eval { $s->recv(65536, MSG_DONTWAIT); 1 } or last }
    }
    for my $l (grep { defined } @pool{qw(listen listen6 ulisten)}) {
        for (1 .. 100) { my $c = eval { $l->accept } or last; $c->close }
    }
}
sub dir_entries { opendir my $dh, '.' or die "opendir: $!"; my @e = grep { !/^\.\.?\z/ } readdir $dh; @e }

# a value as words: sockets and handles by kind, addresses by their parts
# with the pair's own ephemeral ports named (the two pairs get different ones)
sub twin_summary {
    my ($v, $names, $depth) = @_;
    $depth //= 0;
    return 'undef' unless defined $v;
    return '...' if $depth > 4;
    if (my $ref = ref $v) {
        if (Scalar::Util::blessed($v)) {
            return 'socket(' . join(',', map { my $x = eval { $v->$_ }; $x // '?' } qw(family type proto)) . ')'
                if $v->isa('BSDSocket::Socket');
            return "a $ref object";
        }
        return 'a handle' if $ref eq 'GLOB';
        if ($ref eq 'ARRAY') {
            my @parts = map { twin_summary($_, $names, $depth + 1) } @$v;
            $parts[1] = $names->{ $v->[1] }
                if @$v >= 2 && @$v <= 4 && defined $v->[0] && !ref $v->[0] && $v->[0] =~ /[.:]/
                   && defined $v->[1] && !ref $v->[1] && exists $names->{ $v->[1] };
            return '[' . join(',', @parts) . ']';
        }
        return $ref;
    }
    # Linux's autobind: a unique abstract name of five hex digits
    return 'an autobound name' if $v =~ /\A\0[0-9a-f]{5}\z/;
    return (utf8::is_utf8($v) ? 'characters ' : '') . "'$v'";
}
sub without_place { my ($s) = @_; $s =~ s/ at .*? line \d+\.?\n?\z//s; $s }
sub twin_error {
    my ($e, $names) = @_;
    return 'none' unless defined $e && (ref $e || $e ne '');
    return join '|', ref $e, $e->errno // 'undef', $e->op // '', $e->message // '', $e->sent // '-',
                     twin_summary($e->address, $names)
        if ref $e && eval { $e->isa('BSDSocket::Error') };
    return 'died: ' . without_place("$e");
}
# what can be read from a socket now, without waiting
sub twin_drain {
    my ($s, $names) = @_;
    my @got;
    for (1 .. 20) {
        my ($d, $from) = eval { $s->recvfrom(65536, MSG_DONTWAIT) };
        unless (defined $d) {
            my $e = $@;
            push @got, ref $e && eval { $e->isa('BSDSocket::Error') } ? $e->errname // $e->errno : 'died';
            last;
        }
        push @got, length($d) . " bytes '" . substr($d, 0, 20) . "' from " . twin_summary($from, $names);
        last if $d eq '' && eval { $s->type } == SOCK_STREAM;
    }
    return join ', ', @got;
}
sub twin_state {
    my ($env, $names, $method) = @_;
    my $self = $env->{self};
    my @state;
    # a non-blocking connect over loopback may still be on its way
    eval { BSDSocket::select([], [$self], [], 1) } if $env->{kind} eq 'tcp' && $method =~ /^connect/;
    if (eval { $self->fileno >= 0 }) {
        for my $m (qw(gettimeout getblocking get_inheritable getsockname getpeername)) {
            my $v = eval { $self->$m };
            push @state, "$m " . ($@ ? twin_error($@, $names) : twin_summary($v, $names));
        }
        eval { $self->settimeout(0) };
        push @state, 'left: ' . twin_drain($self, $names);
        if ($env->{kind} eq 'listener') {
            my $waiting = 0;
            for (1 .. 5) { eval { $self->accept; 1 } or last; $waiting++ }
            push @state, "$waiting clients waiting";
        }
    }
    else {
        push @state, 'closed';
    }
    push @state, 'the peer got: ' . twin_drain($env->{peer}, $names) if $env->{peer};
    return join '; ', @state;
}
sub twin_teardown {
    my ($env, $before) = @_;
    for my $s (grep { defined } $env->{self}, $env->{peer}, @{ $env->{clients} || [] }) {
        eval { $s->setsockopt(SOL_SOCKET, SO_LINGER, pack('ii', 0, 0)) };
        eval { $s->close };
    }
    -d $_ or unlink $_ for grep { !$before->{$_} } dir_entries();
}

my ($two_form_calls, %two_form_compared) = (0);
push @ops, [two_forms => sub {
    # each method in turn, so that a short run still compares them all
    my $method = $socket_methods[$two_form_calls++ % @socket_methods];
    my $kind = pick(@twin_kinds);
    my $context = pick('list', 'scalar');
    my $buffer = $method =~ /_into\z/ ? pick(qw(variable variable temporary constant)) : 'variable';
    my ($seed_env, $seed_args, $seed_call, $seed_after) = map { int rand 2**31 } 1 .. 4;
    my %did;
    for my $form (qw(method function)) {
        quiet_pool();
        my %before = map { $_ => 1 } dir_entries();
        srand $seed_env;
        my $env = twin_env($kind);
        my $self = $env->{self};
        srand $seed_args;
        my $buf = rand() < 0.5 ? a_buffer() : pick('', 'x' x 10, undef);
        my @refs = $twin_args{$method}->($self);
        unshift @refs, \$buf if $method =~ /_into\z/;
        my @warnings;
        my $outer_warn = $SIG{__WARN__};
        local $SIG{__WARN__} = sub { push @warnings, without_place($_[0]); $outer_warn->(@_) };
        my $code = $twin_call{$form}{$context}{$buffer}{$method};
        srand $seed_call;
        my $taken = BSDSocket::_fastcall_count();
        my @r = eval { apply(sub { $code->($self, @_) }, @refs) };
        my $e = $@;
        $taken = BSDSocket::_fastcall_count() - $taken;
        # the pair's own ports, by name
        my %names;
        for my $role (qw(self peer)) {
            my $name = $env->{$role} && eval { $env->{$role}->getsockname };
            $names{ $name->[1] } = uc($role) . '_PORT' if ref $name eq 'ARRAY' && ($name->[1] // 0) > 0;
        }
        my $result = join ', ', map {
            ($method eq 'fileno' || $method eq 'detach') && defined $_ && !ref $_ && $_ eq $env->{fd} ? 'its fd'
            : $method eq 'getsockopt' && defined $_ && !ref $_ ? 'a value of ' . length($_) . ' characters'
            : twin_summary($_, \%names)
        } @r;
        %{ $did{$form} } = (
            result   => $e ? '(died)' : $result,
            error    => twin_error($e, \%names),
            warnings => join('', @warnings),
            state    => twin_state($env, \%names, $method),
            ($method =~ /_into\z/ ? (buffer => twin_summary($buf, \%names)) : ()),
            shortcut => $taken,
        );
        POSIX::close($env->{fd}) if $method eq 'detach' && !$e && @r && defined $r[0] && $r[0] eq $env->{fd};
        close_rights($r[1]) if $method eq 'recvmsg' && !$e;
        @r = ();
        twin_teardown($env, \%before);
    }
    srand $seed_after;
    $two_form_compared{$method}++;
    # The shortcut is taken once more by the method form, when the method
    # is one of its names.  (The arguments' own code may take it too, as
    # often in each form: a tied argument's FETCH can call ->fileno.  And
    # an argument that dies as it is evaluated, a temporary made from an
    # object whose overloading dies, ends both before the call.)
    my $extra = $did{method}{shortcut} - $did{function}{shortcut};
    my $want_extra = $fast_method{$method} ? 1 : 0;
    mismatch("two_forms: \$s->$method took the shortcut $extra more times than BSDSocket::Socket::$method, not $want_extra")
        unless $extra == $want_extra
               || ($extra == 0 && $did{function}{error} eq 'died: ' . without_place($OWN_DEATH));
    for my $what (qw(result error warnings state buffer)) {
        next unless exists $did{method}{$what};
        my ($m, $f) = map { $did{$_}{$what} } qw(method function);
        next if $m eq $f;
        $_ = length > 300 ? substr($_, 0, 300) . '...' : $_ for $m, $f;
        mismatch("two_forms: $method on a $kind socket ($context context, buffer a $buffer): "
                 . "the $what differs:\n  \$s->$method: $m\n  BSDSocket::Socket::$method: $f");
    }
}];

# BSD_FUZZ_ONLY=send,recv narrows the run to those calls
if (my $only = $ENV{BSD_FUZZ_ONLY}) {
    my %want = map { $_ => 1 } split /,/, $only;
    @ops = grep { $want{ $_->[0] } } @ops;
}

# timeouts stay short: a fuzzed call may wait for the whole of one
sub a_timeout { rand() < 0.5 ? pick(undef, 0, 0.001, 0.01, '0.002', 1e-9) : scalar_value() }
sub family_or_type { rand() < 0.5 ? pick(AF_INET, AF_UNIX, AF_INET6, SOCK_STREAM, SOCK_DGRAM, 0) : scalar_value() }
sub a_size  { pick(0, 1, 64, 65536, 1 << 20, 2**50, 2**62, scalar_value()) }
# sockopt's name and value: any name to read; to set, only options whose
# value cannot make a later call wait (no timeouts, lingering or devices)
sub sockopt_args {
    my @read = ('SO_TYPE', 'TCP_NODELAY', 'SO_LINGER', 'SO_RCVTIMEO', 'TCP_INFO', 'SO_PEERCRED',
                'SO_RCVBUF', 'IP_TTL', 'TCP_CONGESTION', 'SO_NOPE', 'MSG_PEEK', SO_TYPE, -1);
    return arg(sub { rand() < 0.8 ? pick(@read) : scalar_value() }) if rand() < 0.6;
    return (arg(sub { pick('IP_ADD_MEMBERSHIP', 'IP_DROP_MEMBERSHIP', 'IPV6_JOIN_GROUP') }),
            arg(sub { rand() < 0.5 ? [pick('239.255.0.9', 'ff15::9', scalar_value()),
                                      pick('127.0.0.1', 'lo', 1, undef, scalar_value())]
                                   : scalar_value() }))
        if rand() < 0.2;
    return (arg(sub { pick('TCP_NODELAY', 'SO_RCVBUF', 'SO_SNDBUF', 'IP_TTL', 'SO_KEEPALIVE', 'SO_TYPE',
                           'TCP_INFO', 'SO_PEERCRED', 'SO_NOPE', SO_KEEPALIVE) }),
            arg(sub { rand() < 0.7 ? pick(0, 1, 64, 4096) : scalar_value() }));
}
sub a_level { rand() < 0.7 ? pick(@levels) : scalar_value() }
sub an_option { rand() < 0.7 ? int rand 80 : scalar_value() }

# what makes a socket, much of the time
sub socket_args {
    my ($gen) = @_;
    return args(int rand 4, $gen) if rand() < 0.6;
    return (arg(sub { rand() < 0.8 ? pick(AF_INET, AF_INET6, AF_UNIX) : family_or_type() }),
            arg(sub { rand() < 0.8 ? pick(SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM | $linux_only{SOCK_NONBLOCK},
                                          SOCK_DGRAM | $linux_only{SOCK_CLOEXEC}) : family_or_type() }),
            (rand() < 0.5 ? arg(sub { rand() < 0.7 ? 0 : scalar_value() }) : ()));
}
sub a_service { rand() < 0.4 ? pick(qw(http https ssh ftp smtp domain echo telnet ntp)) : scalar_value() }
sub a_proto_name { rand() < 0.6 ? pick('tcp', 'udp', undef) : scalar_value() }
# data and flags a send takes
sub a_datum { rand() < 0.7 ? pick('x', 'a datagram', '', 'y' x 1000, "caf\xe9") : scalar_value() }
sub some_flags { rand() < 0.6 ? pick(0, 0, MSG_DONTWAIT, $linux_only{MSG_NOSIGNAL}) : scalar_value() }
# sendmsg and send_fds: nothing, flags, or flags and an address
sub flags_and_address {
    my ($s) = @_;
    my $roll = rand;
    return ()                if $roll < 0.3;
    return arg(\&some_flags) if $roll < 0.5;
    return (arg(\&some_flags), arg(sub { rand() < 0.4 ? good_address($s) : address_of($s) }));
}
# inet_pton's text, inet_ntop's bytes
sub an_ip {
    my ($fn, $family) = @_;
    if ($fn eq 'inet_pton') {
        return $family == AF_INET ? pick('127.0.0.1', '0.0.0.0', '255.255.255.255', '10.1.2.3', '127.1', '1.2.3.4 ')
                                  : pick('::1', '::', 'fe80::1', '2001:db8::8:800:200c:417a', '::ffff:1.2.3.4', '::1%lo', ':::');
    }
    my $bytes = join '', map { chr int rand 256 } 1 .. ($family == AF_INET ? 4 : 16);
    return rand() < 0.8 ? $bytes : $bytes . 'x';
}

# getnameinfo: with NI_NUMERICHOST, any address; without, only 127.0.0.1
# (which /etc/hosts names) or forms that die before a lookup
sub numeric_ni_flags {
    rand() < 0.9 ? pick(NI_NUMERICHOST, NI_NUMERICHOST | NI_NUMERICSERV, NI_NUMERICHOST | NI_DGRAM,
                        NI_NUMERICHOST | NI_NAMEREQD, NI_NUMERICHOST | NI_NOFQDN)
                 : bless(\(my $n = NI_NUMERICHOST), 'Fuzz::Num');
}
sub reverse_safe_host {
    my $kind = int rand 4;
    return '127.0.0.1'                                           if $kind <= 1;
    return pick('localhost', no_dns_host(), '127.1', '', "127.0.0.1\0x", '::1x', 42.5 . 'x',
                "\x{263a}")                                      if $kind == 2;
    return pick(undef, [], bless([], 'Fuzz::Dies'), bless(\(my $h = '127.0.0.1'), 'Fuzz::Str'), scalar_value());
}
sub reverse_safe_address {
    my $kind = int rand 5;
    return ['127.0.0.1', rand() < 0.7 ? int rand 65536 : scalar_value()] if $kind <= 1;
    return [pick('localhost', no_dns_host(), 'bad..name', "127.0.0.1\0x", []), int rand 65536] if $kind == 2;
    return pick([], ['127.0.0.1'], ['127.0.0.1', 1, 2, 3, 4], [undef, 80])  if $kind == 3;
    return scalar_value();
}

# create_connection: where to (often somewhere listening), how long, from where
sub a_connection_address {
    my $roll = rand;
    return [pick('127.0.0.1', 'localhost'), $port{listen}]       if $roll < 0.3;
    return ['::1', $port{listen6}]                               if $roll < 0.4 && $have_ipv6;
    return [pick('127.0.0.1', '::1'), pick(1, $port{udp})]       if $roll < 0.5;
    return inet6_address()                                       if $roll < 0.6;
    return [safe_host(), pick(int rand 65536, 'http', scalar_value())];
}
sub a_connection_timeout { rand() < 0.4 ? pick(0.5, 1, 0.05, undef) : scalar_value() }
sub a_source_address {
    # 3 or 4 parts, or a colon in the host, make it an IPv6 source: no 'localhost'
    my $roll = rand;
    return pick(['127.0.0.1', 0], ['::1', 0], ['::1', 0, 0, 0], ['', 0], ['0.0.0.0', 0],
                ['127.0.0.1', $port{listen}], ['127.0.0.2', 0])  if $roll < 0.5;
    return inet_address(1)                                       if $roll < 0.7;
    return inet6_address()                                       if $roll < 0.8;
    return pick(undef, "$dir/f1", scalar_value());
}

# recvmsg zeroes a control buffer of the size it is given before the
# call: a size of gigabytes is fine to ask for, but costs seconds each
# (most of a 30,000-call run).  Such sizes become ones that fail at once
# or stay small; the rest are drawn as ever.
sub an_ancbufsize {
    my $v = rand() < 0.5 ? pick(0, CMSG_SPACE(4), CMSG_SPACE(12), CMSG_SPACE(4 * 253), 1024, -1, 2**50, 2**62)
                         : scalar_value();
    my $n = ref $v eq 'Fuzz::Num' ? $$v : ref $v || !defined $v ? 0 : do { no warnings; $v + 0 };
    return $n >= 2**20 && $n < 2**48 ? pick(2**20, 2**50) : $v;
}

# BSDSocket::Poller->new's list: mostly a backend, sometimes anything
sub poller_options {
    my $roll = rand;
    return ()                                                    if $roll < 0.2;
    return (\'backend', arg(sub { pick('epoll', 'poll') }))      if $roll < 0.7;
    my $key = sub { rand() < 0.6 ? pick('backend', 'Backend', 'bogus', '') : scalar_value() };
    my $value = sub { rand() < 0.5 ? pick('epoll', 'poll', 'select', 'EPOLL', 'poll ', "epoll\0") : scalar_value() };
    return (arg($key))                                           if $roll < 0.75;
    return (arg($key), arg($value))                              if $roll < 0.9;
    return (arg($key), arg($value), arg($key), (rand() < 0.5 ? arg($value) : ()));
}

# create_server($address, option => value, ...): an address for the
# family asked for (or any, when the family is random: then no
# 'localhost'), options valid and not, odd-length lists now and then
sub server_args {
    my $kind = int rand 10;
    my ($address, @family);
    if ($kind <= 3) {
        $address = [pick('127.0.0.1', '127.0.0.1', 'localhost', ''), pick(0, 0, 0, $port{listen}, int rand 65536)];
        @family = rand() < 0.5 ? () : (family => AF_INET);
    }
    elsif ($kind <= 5) {
        $address = [pick('::1', '::1', ''), 0, (rand() < 0.3 ? (a_flowinfo(), a_scope_id()) : ())];
        @family = (family => AF_INET6);
    }
    elsif ($kind == 6) {
        $address = pick("$dir/srv" . int(rand 10), "\0bsdsocket-fuzz-srv-$$-" . int(rand 10), unix_address());
        unlink $address if !ref $address && defined $address && $address !~ /\0/ && rand() < 0.7;
        @family = (family => AF_UNIX);
    }
    else {
        $address = pick(inet_address(1), inet6_address(), unix_address(), scalar_value());
        @family = rand() < 0.5 ? (family => pick(AF_INET, AF_INET6, AF_UNIX, scalar_value())) : ();
    }
    my @opt = @family;
    push @opt, backlog => pick(0, 1, 16, 128, -1, scalar_value())   if rand() < 0.4;
    push @opt, reuse_port => pick(0, 1, scalar_value())            if rand() < 0.2;
    push @opt, dualstack_ipv6 => pick(0, 1, scalar_value())        if rand() < 0.15;
    push @opt, pick('bogus', 'Family', '', scalar_value()) => scalar_value() if rand() < 0.05;
    # (no odd-length lists: create_server does not check for one, so perl warns)
    my @refs = (arg(sub { $address }));
    for my $v (@opt) { push @refs, arg(sub { $v }) }
    return @refs;
}

# for select and the poller
#
# They take their timeout as an argument, and a fuzzed one may be undef or
# huge: a 20 ms timer ends the wait.  Its handler dies, which drives the
# signal path inside the wait as well.
sub bounded_wait {
    my ($code) = @_;
    my $guard_left = alarm 0;
    my @r = eval {
        local $SIG{ALRM} = sub { die $OWN_DEATH };
        Time::HiRes::ualarm(20_000);
        my @got = eval { $code->() };
        my $e = $@;
        Time::HiRes::ualarm(0);     # still inside: a late tick dies into the outer eval
        die $e if $e;
        @got;
    };
    my $e = $@;
    alarm($guard_left > 1 ? $guard_left : 1);
    die $e if $e;
    return @r;
}
sub an_item { rand() < 0.8 ? pick(a_socket(), a_socket()->fileno, \*STDERR, 2) : scalar_value() }
sub an_item_list { rand() < 0.8 ? [map { an_item() } 1 .. int rand 4] : scalar_value() }
sub some_events { rand() < 0.8 ? pick(POLLIN, POLLOUT, POLLIN | POLLOUT, 0, POLLPRI, 0x4000) : scalar_value() }
# for the data-transfer calls
sub a_buffer { rand() < 0.5 ? pick(undef, '', 'x' x 10, 'y' x 5000, "\x{263a}" x 3, 42) : scalar_value() }
sub a_count { rand() < 0.7 ? pick(0, 1, 2, 3, 32, 253, 254, 1024, 1025, -1) : scalar_value() }
sub a_small_size { rand() < 0.7 ? pick(0, 1, 64, 2048, 65536, 2**50) : scalar_value() }
sub some_buffers {
    return scalar_value() if rand() < 0.2;
    return [map { rand() < 0.8 ? pick('abc', '', 'x' x 3000, "\x{263a}", "caf\xe9") : scalar_value() }
            1 .. int rand 4];
}
sub some_ancillary {
    my $kind = int rand 6;
    return pick(undef, [])                                                    if $kind <= 1;
    return [[SOL_SOCKET, SCM_RIGHTS, pack('i*', map { $_->fileno } grep { $_->fileno >= 0 } a_socket())]]
                                                                              if $kind == 2;
    return [[SOL_SOCKET, $linux_only{SCM_CREDENTIALS}, pack('iII', $$, $<, (split ' ', $()[0])]] if $kind == 3;
    return [[scalar_value(), scalar_value(), scalar_value()]]                 if $kind == 4;
    return pick([[]], [[SOL_SOCKET]], [scalar_value()], scalar_value());
}
sub some_fds {
    return scalar_value() if rand() < 0.2;
    return [map { pick(a_socket(), 0, 1, \*STDERR, -1, 99999, scalar_value()) } 1 .. int rand 4];
}
sub some_messages {
    my ($s) = @_;
    return scalar_value() if rand() < 0.1;
    return [map {
        my $kind = int rand 5;
          $kind <= 1 ? pick('datagram', '', 'x' x 2000, "\x{263a}")
        : $kind == 2 ? [pick('to', ''), address_of($s)]
        : $kind == 3 ? pick([], ['a'], ['a', address_of($s), 'c'], ['a', address_of($s), 0, 'd'])
        :              scalar_value()
    } 1 .. int rand 6];
}
# what sendfile reads: this file, a pipe with something in it, or not a handle
sub a_file {
    my $kind = int rand 5;
    if ($kind <= 1) { open my $fh, '<', $script_path or die "$script_path: $!"; return $fh }
    if ($kind == 2) { pipe(my $r, my $w) or die $!; syswrite $w, 'piped' x 10; close $w; return $r }
    if ($kind == 3) { open my $fh, '>', 'write-only' or die $!; return $fh }
    return scalar_value();
}
# fds that came as raw SCM_RIGHTS data are the caller's to close
sub close_rights {
    my ($anc) = @_;
    return unless ref $anc eq 'ARRAY';
    for (@$anc) {
        POSIX::close($_) for $_->[0] == SOL_SOCKET && $_->[1] == SCM_RIGHTS ? unpack('i*', $_->[2]) : ();
    }
}

# ------------------------------------------------------------- the run

# perl's own complaints (an unreferenced scalar freed, say) are failures
my @perl_warnings;
my ($now_call, $now_op) = (0, '');
$SIG{__WARN__} = sub {
    return if $_[0] =~ /^(Use of uninitialized value|Argument .* isn't numeric|Filehandle)/;
    push @perl_warnings, "call $now_call ($now_op): $_[0]";
};

# The promise: a peer that went away is EPIPE, never SIGPIPE (which would end
# the run with no word of which call raised it)
my @sigpipes;
$SIG{PIPE} = sub { push @sigpipes, "call $now_call ($now_op)" };

my (%worked, %died, %bad);
fresh_sockets();
for my $i (1 .. $calls) {
    fresh_sockets() if $i % 500 == 0;
    my ($name, $code) = @{ pick(@ops) };
    # a fuzzed timeout could leave a socket blocking; no call may wait long
    $_->fileno >= 0 && eval { $_->settimeout(0) } for @sockets;
    ($now_call, $now_op) = ($i, $name);
    print STDERR "call $i $name\n" if $ENV{BSD_FUZZ_TRACE};
    my $ok = eval { $code->(); 1 };
    if ($ok) {
        $worked{$name}++;
        next;
    }
    my $e = $@;
    if (ref $e && eval { $e->isa('BSDSocket::Error') } || $e eq $OWN_DEATH) {
        $died{$name}++;
        next;
    }
    $bad{$name}++;
    diag("call $i ($name) died with something else: $e") if $bad{$name} <= 3;
}
fresh_sockets();
$_->close for @sockets;
@sockets = ();

my $total = 0;
$total += $_ for values %worked, values %died, values %bad;
is($total, $calls, "$calls calls made, the process survived");
is(scalar(keys %bad), 0, 'every failure was a BSDSocket::Error (or the fuzzer\'s own exception)')
    or diag explain \%bad;
for my $op (map { $_->[0] } @ops) {
    ok(($worked{$op} // 0) + ($died{$op} // 0) > 0,
       sprintf '%-13s %5d worked, %5d died cleanly', $op, $worked{$op} // 0, $died{$op} // 0);
}
if (grep { $_->[0] eq 'two_forms' } @ops) {
    no strict 'refs';
    my %handle_method = map { $_ => 1 } @handle_methods;
    is("@socket_methods", join(' ', sort grep { defined &{"BSDSocket::Socket::$_"} && !$handle_method{$_} }
                                          keys %BSDSocket::Socket::),
       'two_forms knows every method BSDSocket::Socket has (but the Perl ones over the builtins)');
    is(join(' ', grep { !$two_form_compared{$_} } @socket_methods), '',
       sprintf 'each was called in both forms and compared (%d comparisons)', $two_form_calls)
        if $two_form_calls >= @socket_methods;
}
is(join(', ', @sigpipes), '', 'no call raised SIGPIPE');
is(open_fds(), $fds_before, 'no file descriptor left open');
is(scalar @perl_warnings, 0, 'perl warned about nothing (no refcount trouble)')
    or diag(join '', @perl_warnings[0 .. ($#perl_warnings < 9 ? $#perl_warnings : 9)]);

done_testing;
