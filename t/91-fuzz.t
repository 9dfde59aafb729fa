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
# left open.  Seeded, so a failure can be replayed:
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
    my ($p, $q) = BSDSocket::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK);
    my ($d1, $d2) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK);
    my $udp = BSDSocket::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK);
    $udp->bind(['127.0.0.1', 0]);
    my $tcp = BSDSocket::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    my $l = BSDSocket::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    $l->bind(['127.0.0.1', 0]);
    $l->listen(64);
    my $udgram = BSDSocket::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK);
    # an AF_UNIX datagram socket with a name, and a listener with one
    $path{ubound} = "$dir/pool-dgram-$generation";
    $path{ulisten} = "$dir/pool-listen-$generation";
    my $ubound = BSDSocket::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK);
    $ubound->bind($path{ubound});
    my $ul = BSDSocket::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK);
    $ul->bind($path{ulisten});
    $ul->listen(64);
    $p->send('some data');
    $d1->send('a datagram');
    %pool = (p => $p, q => $q, d1 => $d1, d2 => $d2, udp => $udp, tcp => $tcp, listen => $l,
             udgram => $udgram, ubound => $ubound, ulisten => $ul);
    %port = (udp => $udp->getsockname->[1], listen => $l->getsockname->[1]);
    if ($have_ipv6) {
        my $udp6 = BSDSocket::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK);
        $udp6->bind(['::1', 0]);
        my $l6 = BSDSocket::socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK);
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
    my $s = BSDSocket::socket($have_ipv6 && rand() < 0.4 ? AF_INET6 : AF_INET,
                              pick(SOCK_STREAM, SOCK_DGRAM) | SOCK_NONBLOCK);
    $s->settimeout($timeout) if defined $timeout;
    return $s;
}

# A client connecting to a listener (non-blocking: the connection waits
# in the listener's queue), so that some accepts have one to take.
sub pending_client {
    my ($l) = @_;
    return unless ref $l && grep { defined $_ && refaddr($_) == refaddr($l) } @pool{qw(listen listen6 ulisten)};
    my $c = eval { BSDSocket::socket($l->family, SOCK_STREAM | SOCK_NONBLOCK) } or return;
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
    [SOL_SOCKET, SO_OOBINLINE, 1], [SOL_SOCKET, SO_PASSCRED, 0], [SOL_SOCKET, SO_PRIORITY, 3],
    [SOL_SOCKET, SO_RCVTIMEO, pack('l!l!', 0, 1000)], [SOL_SOCKET, SO_RCVLOWAT, 1],
    [IPPROTO_TCP, TCP_NODELAY, 1], [IPPROTO_IP, IP_TTL, 64], [IPPROTO_IP, IP_TOS, 16],
    [IPPROTO_IPV6, IPV6_UNICAST_HOPS, 5], [IPPROTO_IPV6, IPV6_V6ONLY, 1],
);
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
    [inet       => sub { my $fn = pick(qw(inet_aton inet_ntoa));
                         my $r = apply(BSDSocket->can($fn), args(1)) }],
    [inet_p     => sub { my $fn = pick(qw(inet_pton inet_ntop));
                         if (rand() < 0.4) {    # the right family, and what it takes (mostly)
                             my $family = pick(AF_INET, AF_INET6);
                             return apply(BSDSocket->can($fn), arg(sub { $family }),
                                          arg(sub { rand() < 0.7 ? an_ip($fn, $family) : scalar_value() }));
                         }
                         my $r = apply(BSDSocket->can($fn), arg(\&family_or_type), args(1)) }],
    [byteorder  => sub { my $fn = pick(qw(htons ntohs htonl ntohl)); my $r = apply(BSDSocket->can($fn), args(1)) }],
    [inet6_address => sub { my $s = BSDSocket::socket(AF_INET6, pick(SOCK_DGRAM, SOCK_STREAM) | SOCK_NONBLOCK);
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
                         my $poll = BSDSocket::Poller->can(pick(qw(poll poll count fileno backend)));
                         my @r = bounded_wait(sub { apply(sub { $poll->($self, @_) }, arg(\&a_timeout)) });
                         $p->close if rand() < 0.5 }],
    [cmsg       => sub { my $r = apply(BSDSocket->can(pick(qw(CMSG_LEN CMSG_SPACE))), args(1)) }],
    [create_server => sub { my $s = apply(\&BSDSocket::create_server, server_args()) }],
);

# BSD_FUZZ_ONLY=send,recv narrows the run to those calls
if (my $only = $ENV{BSD_FUZZ_ONLY}) {
    my %want = map { $_ => 1 } split /,/, $only;
    @ops = grep { $want{ $_->[0] } } @ops;
}

# timeouts stay short: a fuzzed call may wait for the whole of one
sub a_timeout { rand() < 0.5 ? pick(undef, 0, 0.001, 0.01, '0.002', 1e-9) : scalar_value() }
sub family_or_type { rand() < 0.5 ? pick(AF_INET, AF_UNIX, AF_INET6, SOCK_STREAM, SOCK_DGRAM, 0) : scalar_value() }
sub a_size  { pick(0, 1, 64, 65536, 1 << 20, 2**50, 2**62, scalar_value()) }
sub a_level { rand() < 0.7 ? pick(@levels) : scalar_value() }
sub an_option { rand() < 0.7 ? int rand 80 : scalar_value() }

# what makes a socket, much of the time
sub socket_args {
    my ($gen) = @_;
    return args(int rand 4, $gen) if rand() < 0.6;
    return (arg(sub { rand() < 0.8 ? pick(AF_INET, AF_INET6, AF_UNIX) : family_or_type() }),
            arg(sub { rand() < 0.8 ? pick(SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM | SOCK_NONBLOCK,
                                          SOCK_DGRAM | SOCK_CLOEXEC) : family_or_type() }),
            (rand() < 0.5 ? arg(sub { rand() < 0.7 ? 0 : scalar_value() }) : ()));
}
sub a_service { rand() < 0.4 ? pick(qw(http https ssh ftp smtp domain echo telnet ntp)) : scalar_value() }
sub a_proto_name { rand() < 0.6 ? pick('tcp', 'udp', undef) : scalar_value() }
# data and flags a send takes
sub a_datum { rand() < 0.7 ? pick('x', 'a datagram', '', 'y' x 1000, "caf\xe9") : scalar_value() }
sub some_flags { rand() < 0.6 ? pick(0, 0, MSG_DONTWAIT, MSG_NOSIGNAL) : scalar_value() }
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
# for the data-transfer calls (SPEC 7)
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
    return [[SOL_SOCKET, SCM_CREDENTIALS, pack('iII', $$, $<, (split ' ', $()[0])]] if $kind == 3;
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
is(open_fds(), $fds_before, 'no file descriptor left open');
is(scalar @perl_warnings, 0, 'perl warned about nothing (no refcount trouble)')
    or diag(join '', @perl_warnings[0 .. ($#perl_warnings < 9 ? $#perl_warnings : 9)]);

done_testing;
