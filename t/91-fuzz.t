use strict;
use warnings;
use Test::More;
use Scalar::Util qw(dualvar);
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
# hosts at all; sockets are non-blocking, so no call can wait.

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

# hosts: never anything that could leave the machine or reach a resolver
sub safe_host {
    my $kind = int rand 12;
    return pick('127.0.0.1', '127.0.0.2', 'localhost', '', '0.0.0.0', '127.1',
                INADDR_LOOPBACK)                                 if $kind <= 4;
    return pick(no_dns_host(), 'bad..name', "127.0.0.1\0x", "\x{263a}.example",
                '::1', 'fe80::1%lo', '-')                       if $kind <= 7;
    return pick(undef, [], {}, sub { 1 }, \*STDOUT, $cycle, 42.5,
                bless([], 'Fuzz::Dies'))                         if $kind <= 9;
    return bless(\(my $h = '127.0.0.1'), 'Fuzz::Str')            if $kind == 10;
    tie my $t, 'Fuzz::Tied', sub { pick('127.0.0.1', no_dns_host(), undef) };
    return $t;
}

sub inet_address {
    my $kind = int rand 10;
    return [safe_host(), scalar_value()]                        if $kind <= 4;
    return [safe_host(), int rand 65536]                        if $kind <= 6;
    return pick([], [safe_host()], [safe_host(), 1, 2], scalar_value()) if $kind == 7;
    if ($kind == 8) { tie my @a, 'Fuzz::TiedArray'; @a = (safe_host(), int rand 65536); return \@a }
    return pick(BSDSocket::socket(AF_INET, SOCK_DGRAM)->getsockname, [@{ [safe_host(), 9] }]);
}
{
    package Fuzz::TiedArray;
    require Tie::Array;
    our @ISA = ('Tie::StdArray');
}

sub unix_address {
    my $kind = int rand 6;
    return "$dir/f" . int(rand 50)                               if $kind <= 1;
    return "\0bsdsocket-fuzz-$$-" . int(rand 50)                 if $kind == 2;
    return "$dir/" . ('p' x (100 + int rand 20))                 if $kind == 3;
    return pick("$dir/a\0b", '', "\x{263a}")                     if $kind == 4;
    return scalar_value();
}

sub address_for { $_[0]->family == AF_UNIX ? unix_address() : inet_address() }
sub address_of {
    my ($s) = @_;
    return ref $s eq 'BSDSocket::Socket' && eval { $s->family } ? address_for($s) : scalar_value();
}

# ------------------------------------------------------------- targets

my @sockets;
sub fresh_sockets {
    for my $s (@sockets) {
        # a fuzzed SO_LINGER could make close wait; undo it first
        eval { $s->setsockopt(SOL_SOCKET, SO_LINGER, pack('ii', 0, 0)) };
        $s->close;
    }
    my ($p, $q) = BSDSocket::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK);
    my ($d1, $d2) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK);
    my $udp = BSDSocket::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK);
    $udp->bind(['127.0.0.1', 0]);
    my $tcp = BSDSocket::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    my $l = BSDSocket::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK);
    $l->bind(['127.0.0.1', 0]);
    $l->listen(4);
    my $udgram = BSDSocket::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK);
    $p->send('some data');
    $d1->send('a datagram');
    @sockets = ($p, $q, $d1, $d2, $udp, $tcp, $l, $udgram);
}

sub a_socket { pick(@sockets) }

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
    return $code->(${ $r[0] }, ${ $r[1] }, ${ $r[2] }, ${ $r[3] });
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
my @ops = (
    [socket     => sub { my $s = apply(\&BSDSocket::socket, args(int rand 4, \&family_or_type)) }],
    [socket_new => sub { my $s = apply(sub { BSDSocket::Socket->new(@_) }, args(int rand 4)) }],
    [socketpair => sub { my @s = apply(\&BSDSocket::socketpair, args(int rand 4)) }],
    [fromfd     => sub { my $s = apply(\&BSDSocket::fromfd,
                                       arg(sub { pick(scalar_value(), a_socket(), int rand 20) }),
                                       args(int rand 3)) }],
    [gethostbyname => sub { my $ip = apply(\&BSDSocket::gethostbyname, arg(\&safe_host)) }],
    [getservbyname => sub { my $p = apply(\&BSDSocket::getservbyname, args(1 + int rand 2)) }],
    [send       => sub { call(send => invocant(), args(1 + int rand 2)) }],
    [recv       => sub { my $d = call(recv => invocant(), arg(\&a_size), maybe()) }],
    [recv_list  => sub { my @d = call(recv => invocant(), arg(\&a_size)) }],
    [recv_lexical => sub { my $s = invocant(); my $d = 'old'; $d = $s->recv(${ arg(\&a_size) }) if ref $s eq 'BSDSocket::Socket' }],
    [recvfrom   => sub { my ($d, $a) = call(recvfrom => invocant(), arg(\&a_size), maybe()) }],
    [sendto     => sub { my $s = invocant(); my $to = address_of($s);
                         call(sendto => $s, arg(), maybe(), \$to) }],
    [bind       => sub { my $s = invocant(); my $to = address_of($s); call(bind => $s, \$to) }],
    [connect    => sub { my $s = invocant(); my $to = address_of($s); call(connect => $s, \$to) }],
    [connect2   => sub { call(connect => invocant(), arg(\&safe_host), arg()) }],
    [listen     => sub { call(listen => invocant(), args(int rand 3)) }],
    [accept     => sub { my ($c, $a) = call(accept => invocant(), (rand() < 0.1 ? args(1) : ())) }],
    [shutdown   => sub { call(shutdown => invocant(), args(1)) }],
    [getsockopt => sub { my ($level, $option) = (a_level(), an_option());
                         # Linux's SO_PEERPIDFD (77) opens a pidfd for the caller to close
                         return if !ref $level && !ref $option && defined $level && defined $option
                                   && $level eq SOL_SOCKET && $option eq '77';
                         my $v = call(getsockopt => invocant(), \$level, \$option, maybe()) }],
    [setsockopt => sub { my ($level, $option) = (a_level(), an_option());
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
    [connect_ex => sub { my $s = invocant(); my $to = address_of($s); my $e = call(connect_ex => $s, \$to) }],
    [inheritable => sub { my $s = invocant(); call(set_inheritable => $s, args(1)); my $i = call(get_inheritable => $s) }],
    [getaddrinfo => sub { my @r = apply(\&BSDSocket::getaddrinfo, arg(\&safe_host), args(int rand 5)) }],
    [getnameinfo => sub { my @r = apply(\&BSDSocket::getnameinfo, arg(\&inet_address), maybe()) }],
    [hostent    => sub { my @r = apply(pick(\&BSDSocket::gethostbyname_ex, \&BSDSocket::gethostbyaddr),
                                       arg(\&safe_host)) }],
    [servbyport => sub { my $n = apply(\&BSDSocket::getservbyport, args(1 + int rand 2)) }],
    [protobyname => sub { my $n = apply(\&BSDSocket::getprotobyname, args(1)) }],
    [inet       => sub { my $fn = pick(qw(inet_aton inet_ntoa));
                         my $r = apply(BSDSocket->can($fn), args(1)) }],
    [inet_p     => sub { my $fn = pick(qw(inet_pton inet_ntop));
                         my $r = apply(BSDSocket->can($fn), arg(\&family_or_type), args(1)) }],
    [byteorder  => sub { my $fn = pick(qw(htons ntohs htonl ntohl)); my $r = apply(BSDSocket->can($fn), args(1)) }],
    [inet6_address => sub { my $s = BSDSocket::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK);
                            my $to = [safe_host(), scalar_value(), (scalar_value()) x int rand 3];
                            call(pick(qw(bind connect sendto)) => $s, (rand() < 0.5 ? args(1) : ()), \$to) }],
    [create_connection => sub { my $s = apply(\&BSDSocket::create_connection,
                                              arg(sub { [safe_host(), pick(int rand 65536, scalar_value())] }),
                                              # short, or invalid: never a wait that could hang
                                              arg(sub { pick(0.001, 0.01, -1, 0, 'x', [], 9**9**9) }),
                                              maybe()) }],
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
    [sendmsg    => sub { call(sendmsg => invocant(), arg(\&some_buffers), arg(\&some_ancillary), maybe(), maybe()) }],
    [recvmsg    => sub { my @r = call(recvmsg => invocant(), arg(\&a_size), maybe(), maybe());
                         close_rights($r[1]) }],
    [send_fds   => sub { call(send_fds => invocant(), arg(\&some_buffers), arg(\&some_fds), maybe(), maybe()) }],
    [recv_fds   => sub { my @r = call(recv_fds => invocant(), arg(\&a_size), arg(\&a_count), maybe()) }],
    [sendfile   => sub { my $fh = a_file(); call(sendfile => invocant(), \$fh, maybe(), maybe()) }],
    [send_many  => sub { my $s = invocant(); my $m = some_messages($s);
                         call(send_many => $s, \$m, (rand() < 0.5 ? do { my $to = address_of($s); \$to } : ())) }],
    [recv_many  => sub { my @r = call(recv_many => invocant(), arg(\&a_count), arg(\&a_small_size), maybe()) }],
    [select     => sub { my @r = bounded_wait(sub { apply(\&BSDSocket::select, arg(\&an_item_list),
                                                            arg(\&an_item_list), arg(\&an_item_list),
                                                            arg(\&a_timeout)) }) }],
    [poller     => sub { my $p = BSDSocket::Poller->new(backend => pick('epoll', 'poll'));
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
    [create_server => sub { my $s = BSDSocket::create_server(rand() < 0.5 ? inet_address() : scalar_value(),
                                                             map { ($_ => scalar_value()) }
                                                             grep { rand() < 0.3 } qw(family backlog reuse_port dualstack_ipv6 bogus)) }],
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
