package BSDSocket;

use 5.022;
use strict;
use warnings;

our $VERSION = '0.01';

require XSLoader;
XSLoader::load('BSDSocket', $VERSION);

require BSDSocket::Error;
require BSDSocket::Poller;

# Filled by the XS BOOT section: every constant name, defined here or not.
our @CONSTANT_NAMES;

# Functions are exported only on request; several shadow Perl builtins.
my @FUNCTIONS = qw(socket socketpair fromfd gethostbyname getservbyname error
                   getdefaulttimeout setdefaulttimeout
                   getaddrinfo getnameinfo gethostbyname_ex gethostbyaddr
                   gethostname getservbyport getprotobyname
                   inet_aton inet_ntoa inet_pton inet_ntop
                   htons ntohs htonl ntohl has_ipv6 has_dualstack_ipv6 platform
                   if_nameindex if_nametoindex if_indextoname decode_cmsg
                   create_connection create_server deadline CMSG_LEN CMSG_SPACE);

use Exporter 'import';
our @EXPORT      = ((grep { /^SOCK_/ } @CONSTANT_NAMES),
                    qw(AF_UNSPEC AF_UNIX AF_INET AF_INET6));
# select only by name, never with a tag: it would take the place of perl's
# own select in both its forms (select $fh, and the 4-argument sleep).
our @EXPORT_OK   = (@CONSTANT_NAMES, @FUNCTIONS, 'select');
our %EXPORT_TAGS = (
    constants => [@CONSTANT_NAMES],
    functions => [@FUNCTIONS],
    all       => [@CONSTANT_NAMES, @FUNCTIONS],
);

# The class every error is (or inherits from), so that
# $@->isa(BSDSocket::error) reads like Python's "except socket.error".
sub error () { 'BSDSocket::Error' }

# deadline($seconds, sub { ... }): every call inside waits no later than
# $seconds from now.  The deadline lives in $_deadline, localized, so it
# is put back however the code leaves; the guard counts the deadlines in
# force, in every thread, so that a call without one costs nothing.
our $_deadline;
sub deadline {
    _die_arg('deadline', 'Usage: BSDSocket::deadline($seconds, sub { ... })') unless @_ == 2;
    my ($seconds, $code) = @_;
    _die_arg('deadline', 'code must be a code reference, got '
                         . (defined $code ? (ref $code ? 'a reference to ' . ref $code : "\"$code\"") : 'undef'))
        unless ref $code eq 'CODE';
    local $_deadline = _deadline_at($seconds);
    my $guard = BSDSocket::_DeadlineGuard->new;
    return $code->();
}

# Can this host serve IPv4 and IPv6 from one AF_INET6 socket?
sub has_dualstack_ipv6 {
    _die_arg('has_dualstack_ipv6', 'Usage: BSDSocket::has_dualstack_ipv6()') if @_;
    return 0 unless has_ipv6()
        && defined eval { IPV6_V6ONLY() } && defined eval { IPPROTO_IPV6() };
    return eval {
        my $probe = BSDSocket::socket(AF_INET6(), SOCK_STREAM());
        $probe->setsockopt(IPPROTO_IPV6(), IPV6_V6ONLY(), 0);
        1;
    } ? 1 : 0;
}

# A listening TCP socket in one call, as CPython's create_server: SO_REUSEADDR
# set (as CPython does on POSIX), IPV6_V6ONLY as dualstack_ipv6 asks.
sub create_server {
    _die_arg('create_server', 'Usage: BSDSocket::create_server(address, option => value, ...)')
        unless @_ % 2;
    my ($address, %opt) = @_;
    my $family     = exists $opt{family} ? delete $opt{family} : AF_INET();
    my $backlog    = delete $opt{backlog};
    my $reuse_port = delete $opt{reuse_port};
    my $dualstack  = delete $opt{dualstack_ipv6};
    _die_arg('create_server', 'unknown option ' . join(', ', map { "'$_'" } sort keys %opt))
        if %opt;
    _die_arg('create_server', 'reuse_port: SO_REUSEPORT is not supported on this platform')
        if $reuse_port && !defined eval { SO_REUSEPORT() };

    my $sock = BSDSocket::socket($family, SOCK_STREAM());
    if ($dualstack) {
        _die_arg('create_server', 'dualstack_ipv6 needs family => AF_INET6')
            unless $sock->family == AF_INET6();
        _die_arg('create_server', 'dualstack_ipv6: this host cannot serve IPv4 on an IPv6 socket')
            unless has_dualstack_ipv6();
    }
    $sock->setsockopt(SOL_SOCKET(), SO_REUSEADDR(), 1);
    $sock->setsockopt(SOL_SOCKET(), SO_REUSEPORT(), 1) if $reuse_port;
    if ($sock->family == AF_INET6() && defined eval { IPV6_V6ONLY() }) {
        $sock->setsockopt(IPPROTO_IPV6(), IPV6_V6ONLY(), $dualstack ? 0 : 1);
    }
    $sock->bind($address);
    $sock->listen(defined $backlog ? $backlog : ());
    return $sock;
}

# ------------------------------------------------------------------------
# A socket is a Perl filehandle (a glob whose IO slot reads and writes the
# socket with its own rules).  These are the IO::Handle and IO::Socket
# methods that code written for those calls: they answer as IO::Handle's
# do (false or undef and $!, not an exception), on the handle itself.

# (a new thread gets no copy: its count is the creating thread's business)
package BSDSocket::_DeadlineGuard;
sub new { BSDSocket::_deadlines_in_force(1); return bless [], $_[0] }
sub DESTROY { BSDSocket::_deadlines_in_force(-1) }
sub CLONE_SKIP { 1 }

package BSDSocket::Socket;

use feature 'say';

sub autoflush {
    my $self = shift;
    my $was = select $self;
    my $prev = $|;
    $| = @_ ? $_[0] : 1;
    select $was;
    return $prev;
}

# blocking(0) is settimeout(0), blocking(1) settimeout(undef); the state
# before, as getblocking says it.
sub blocking {
    my $self = shift;
    my $prev = $self->getblocking ? 1 : 0;
    $self->setblocking($_[0]) if @_;
    return $prev;
}

sub opened { $_[0]->fileno >= 0 ? 1 : '' }

# keepalive(idle => $seconds, interval => $seconds, count => $n): SO_KEEPALIVE
# on, with what is given (TCP_KEEPIDLE is TCP_KEEPALIVE on macOS); all of
# it or, when any part fails, none of it (the options set are put back)
sub keepalive {
    @_ % 2 or BSDSocket::_die_arg('keepalive', 'Usage: $sock->keepalive(idle => $s, interval => $s, count => $n)');
    my ($self, %o) = @_;
    my @unknown = grep { !/\A(?:idle|interval|count)\z/ } sort keys %o;
    BSDSocket::_die_arg('keepalive', 'unknown option ' . join(', ', map { "'$_'" } @unknown)) if @unknown;
    for my $key (sort keys %o) {
        my $v = $o{$key};
        BSDSocket::_die_arg('keepalive', "$key must be a whole number, 1 or more, got "
                                         . (defined $v ? "'$v'" : 'undef'))
            unless defined $v && !ref $v && $v =~ /\A[0-9]+\z/ && $v >= 1 && $v <= 2**31 - 1;
    }
    my $idle_option = defined eval { BSDSocket::TCP_KEEPIDLE() } ? 'TCP_KEEPIDLE' : 'TCP_KEEPALIVE';
    my %option = (idle => $idle_option, interval => 'TCP_KEEPINTVL', count => 'TCP_KEEPCNT');
    my @put_back;
    my $ok = eval {
        for my $key (sort keys %o) {
            my $was = $self->sockopt($option{$key});
            $self->sockopt($option{$key} => $o{$key});
            push @put_back, [$option{$key}, $was];
        }
        $self->sockopt(SO_KEEPALIVE => 1);
        1;
    };
    unless ($ok) {
        my $e = $@;
        eval { $self->sockopt(@$_) } for reverse @put_back;
        $e->{op} = 'keepalive' if ref $e && eval { $e->isa('BSDSocket::Error') };
        die $e;
    }
    return;
}

sub connected {
    my ($self) = @_;
    return undef unless $self->fileno >= 0;
    my $peer = eval { $self->getpeername };
    return $peer;
}

sub _inet_part {
    my ($address, $i) = @_;
    return ref $address eq 'ARRAY' && @$address >= 2 ? $address->[$i] : undef;
}

sub peerhost { _inet_part($_[0]->connected, 0) }
sub peerport { _inet_part($_[0]->connected, 1) }
sub sockhost { _inet_part(scalar eval { $_[0]->getsockname }, 0) }
sub sockport { _inet_part(scalar eval { $_[0]->getsockname }, 1) }
sub sockdomain { $_[0]->family }
sub socktype   { $_[0]->type }
sub protocol   { $_[0]->proto }

sub getline {
    @_ == 1 or BSDSocket::_die_arg('getline', 'Usage: $sock->getline()');
    return scalar readline($_[0]);
}

sub getlines {
    @_ == 1 or BSDSocket::_die_arg('getlines', 'Usage: $sock->getlines()');
    wantarray or BSDSocket::_die_arg('getlines', 'getlines called in a scalar context');
    return readline($_[0]);
}

sub print  { my $self = shift; print {$self} @_ }
sub printf { my $self = shift; printf {$self} @_ }
sub say    { my $self = shift; say {$self} @_ }
sub eof    { eof($_[0]) }
sub binmode { @_ > 1 ? binmode($_[0], $_[1]) : binmode($_[0]) }

1;

__END__

=head1 NAME

BSDSocket - the BSD socket interface, as objects whose methods are the system calls

=head1 SYNOPSIS

  use BSDSocket qw(:DEFAULT SOL_SOCKET SO_REUSEADDR);

  # a server
  my $server = BSDSocket::socket(AF_INET, SOCK_STREAM);
  $server->setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
  $server->bind(['127.0.0.1', 0]);
  $server->listen(5);
  my ($host, $port) = @{ $server->getsockname };

  # a client
  my $client = BSDSocket::socket(AF_INET, SOCK_STREAM);
  $client->connect(['127.0.0.1', $port]);
  $client->send('Hello, world');

  my ($conn, $peer) = $server->accept;
  my $data = $conn->recv(1024);          # 'Hello, world'
  $conn->send($data);
  print "Received '", $client->recv(1024), "'\n";

  # a socket is a Perl filehandle too, with the socket's rules
  print {$client} "a line\n";
  my $line = <$conn>;                    # "a line\n"

  # every failure is an exception object
  eval { $client->connect(['127.0.0.1', 9]); 1 }
      or warn $@->op, ': ', $@->message, "\n";   # connect: Transport endpoint ...

=head1 DESCRIPTION

BSDSocket gives Perl the BSD socket interface in the object style of
Python's classic C<socket> module: C<BSDSocket::socket> returns a socket
object, and its methods (C<accept>, C<bind>, C<connect>, C<recv>,
C<send>, ...) are the socket system calls.  Parameters are a little
higher-level than in C: receive buffers are allocated for you, the length
of what is sent is implicit, addresses are Perl values (see
L</ADDRESSES>), and every error is an exception object (see L</ERRORS>).

A socket object is also a Perl filehandle: C<print>, C<readline>,
C<sysread>, C<fileno>, L<IO::Select>, L<EV>, L<AnyEvent>, L<IO::Async>,
L<Mojo::IOLoop> and L<IO::Socket::SSL> take the socket itself, and the
socket's rules (its timeout, Perl's signal handlers, no C<SIGPIPE>) hold
there too; see L</A SOCKET IS A FILEHANDLE>.

Everything is implemented in XS: one thin XSUB per call over C helpers,
one address converter, one error thrower, one place that waits.
Sockets are created close-on-exec, and sends never raise C<SIGPIPE>.

=head1 EXPORTS

By default: C<AF_UNSPEC>, C<AF_UNIX>, C<AF_INET>, C<AF_INET6> and every
C<SOCK_*> constant.  Everything else on request, by name or by tag:

=over 4

=item C<:constants>

Every constant: C<AF_*>, C<PF_*>, C<SOCK_*>, C<SOL_*>, C<SO_*>,
C<IPPROTO_*>, C<TCP_*>, C<UDP_*>, C<IP_*>, C<IPV6_*>, C<MSG_*>, C<SHUT_*>,
C<SOMAXCONN>, C<INADDR_*>, C<AI_*>, C<NI_*>, C<EAI_*>, C<SCM_*>, C<POLL*> and the
C<h_errno> codes C<HOST_NOT_FOUND>, C<TRY_AGAIN>, C<NO_RECOVERY>,
C<NO_DATA>, C<NO_ADDRESS>.  C<@BSDSocket::CONSTANT_NAMES> lists them.

=item C<:functions>

C<socket>, C<socketpair>, C<fromfd>, C<gethostbyname>, C<getservbyname>,
C<getdefaulttimeout>, C<setdefaulttimeout>, C<getaddrinfo>,
C<getnameinfo>, C<gethostbyname_ex>, C<gethostbyaddr>, C<gethostname>,
C<getservbyport>, C<getprotobyname>, C<inet_aton>, C<inet_ntoa>,
C<inet_pton>, C<inet_ntop>, C<htons>, C<ntohs>, C<htonl>, C<ntohl>,
C<has_ipv6>, C<has_dualstack_ipv6>, C<platform>, C<if_nameindex>,
C<if_nametoindex>, C<if_indextoname>, C<decode_cmsg>, C<create_connection>,
C<create_server>, C<deadline>, C<CMSG_LEN>, C<CMSG_SPACE>, C<error>.  None of them is
exported by default: several have the names of Perl builtins, and
importing one replaces the builtin in your package.  C<select> is not in
any tag for that reason (it would replace both forms of Perl's
C<select>); import it by name if you want it.

=item C<:all>

Both.

=back

The values come from the system headers when the module is built.  The
names are one fixed list per release, the same on every platform: those
Linux, the BSDs and macOS define between them, plus every other
C<SOL_*>, C<SO_*>, C<IPPROTO_*>, C<TCP_*>, C<UDP_*>, C<IP_*>, C<IPV6_*>,
C<MSG_*>, C<SHUT_*>, C<INADDR_*>, C<AI_*>, C<NI_*>, C<EAI_*> and C<SCM_*>
integer constant the Linux headers defined when the release was made,
and C<UNIX_PATH_MAX>, the room for an C<AF_UNIX> path (108 bytes on
Linux, 104 on the BSDs and macOS).  A constant this platform does not
define (C<SO_NOSIGPIPE> on Linux, say) can still be imported, so code
that names it compiles everywhere; calling it dies with a
L<BSDSocket::Error> (errno C<ENOSYS>, message C<"BSDSocket::SO_NOSIGPIPE
is not defined on this platform">), at run time, never at C<use> time.

C<INADDR_*> constants are dotted-quad strings (C<INADDR_ANY> is
C<'0.0.0.0'>, C<INADDR_LOOPBACK> is C<'127.0.0.1'>), usable directly as
the host of an address.

=head1 FUNCTIONS

=head2 socket

  $sock = BSDSocket::socket($family, $type, $proto = 0)
  $sock = BSDSocket::Socket->new($family, $type, $proto = 0)

A new socket object (L</SOCKET METHODS>).  C<$type> may include
C<SOCK_NONBLOCK> (the socket starts non-blocking) and C<SOCK_CLOEXEC>
(always added anyway).  C<< ->new >> blesses into the class it is called
on (a class name or an object), so subclasses work; a class that is not
C<BSDSocket::Socket> or a subclass of it dies with EINVAL.  Dies if an
argument is not an integer (EINVAL) or if C<socket(2)> fails (C<EAFNOSUPPORT>, C<EPROTONOSUPPORT>, C<EMFILE>,
...).

=head2 socketpair

  ($a, $b) = BSDSocket::socketpair($family = AF_UNIX, $type = SOCK_STREAM, $proto = 0)

Two connected socket objects.  Dies as C<socket> does; C<AF_INET> is not
supported by the kernel (C<EOPNOTSUPP>).

=head2 fromfd

  $sock = BSDSocket::fromfd($fd, $family?, $type?, $proto?)

A socket object on a C<dup> of C<$fd>; your C<$fd> stays open and yours.
C<$fd> is an integer, a Perl file handle (glob, glob reference or IO
object), or another socket object.  What you leave out is read from the
fd (C<SO_DOMAIN>, C<SO_TYPE>, C<SO_PROTOCOL>).  Dies with C<ENOTSOCK> if
the fd is not a socket, C<EBADF> if it is not open, C<EINVAL> if C<$fd>
is not an integer in 0..2**31-1 or a handle.

=head2 gethostbyname

  $ip = BSDSocket::gethostbyname($name)

The first IPv4 address of C<$name>, as a dotted quad.  An IPv4 literal
comes back unchanged, without a lookup; C<''> gives C<'0.0.0.0'> and
C<'E<lt>broadcastE<gt>'> gives C<'255.255.255.255'>.  Uses the
thread-safe C<gethostbyname_r>.  A failed lookup dies with
L<BSDSocket::Error::Host|BSDSocket::Error/BSDSocket::Error::Host> (errno
is the C<h_errno> code, errname e.g. C<HOST_NOT_FOUND>).  A name that is
not a string, holds a NUL or a character above 255 dies with EINVAL.

=head2 getservbyname

  $port = BSDSocket::getservbyname($service, $proto?)

The port number of a service from the services database: C<$proto> is
C<'tcp'> or C<'udp'>, or omitted (or C<undef>) for any.  An unknown
service dies (op C<getservbyname>, errno C<undef>, message
C<"service 'x' not found">).

=head2 getaddrinfo

  @results = BSDSocket::getaddrinfo($host, $port, $family = 0, $type = 0, $proto = 0, $flags = 0, $timeout = undef)

Each result is C<[$family, $type, $proto, $canonname, $address]>, the
address in the form C<bind> and C<connect> take (L</ADDRESSES>).  C<$host>
C<undef> with C<AI_PASSIVE> is the wildcard (without it, loopback);
C<$port> is a number, a numeric string, a service name or C<undef>;
C<$canonname> is C<''> unless C<AI_CANONNAME> asked for it (then the
first result has it).  Failures die with
L<BSDSocket::Error::GAI|BSDSocket::Error/BSDSocket::Error::GAI>: errno is
the C<EAI_*> code, message C<gai_strerror>'s (C<EAI_SYSTEM> is reported as
the system error it stands for).  A host with a NUL or a character above
255, or a port outside 0..65535, dies with EINVAL.

C<$timeout> bounds the lookup: in seconds (C<undef>, the default, waits
as long as the resolver does), after which it dies with
L<BSDSocket::Error::Timeout|BSDSocket::Error/BSDSocket::Error::Timeout>
(op C<getaddrinfo>); a L</deadline> bounds it too.  A host name is looked
up in a thread of its own, which never touches Perl, while the call
waits the way every BSDSocket call does: Perl's signal handlers run, and
one that dies (an C<alarm>) abandons the lookup.  An abandoned lookup
finishes on its own and frees what it holds.  A numeric host, or none,
needs no lookup and starts no thread.  The same goes for the host names
that C<connect>, C<bind>, C<sendto> and friends resolve: the lookup
counts against the socket's timeout (what it took is not there for the
call), or a deadline; a non-blocking socket's lookup waits as long as it
takes, as CPython's does.

=head2 getnameinfo

  ($host, $service) = BSDSocket::getnameinfo($address, $flags = 0)

The reverse of C<getaddrinfo> for an C<AF_INET> or C<AF_INET6> address
(C<NI_NUMERICHOST>, C<NI_NUMERICSERV>, C<NI_NAMEREQD>, ... in C<$flags>).
The address must be numeric, as in CPython: a name dies with
L<BSDSocket::Error::GAI|BSDSocket::Error/BSDSocket::Error::GAI>
(C<EAI_NONAME>).

=head2 gethostbyname_ex

  ($name, \@aliases, \@addresses) = BSDSocket::gethostbyname_ex($name)

The host's canonical name, aliases and IPv4 addresses (dotted quads).
An IPv4 literal is its own answer, C<($ip, [], [$ip])>, without asking
the resolver.  Fails as L</gethostbyname> does.

=head2 gethostbyaddr

  ($name, \@aliases, \@addresses) = BSDSocket::gethostbyaddr($ip)

The name of an IPv4 or IPv6 address (a literal; anything else dies with
EINVAL).  A failed lookup dies with
L<BSDSocket::Error::Host|BSDSocket::Error/BSDSocket::Error::Host>.

=head2 gethostname

  $name = BSDSocket::gethostname

This host's name.

=head2 getservbyport

  $service = BSDSocket::getservbyport($port, $proto?)

The name of the service on a port (0..65535, else EINVAL); C<$proto>
C<'tcp'>, C<'udp'> or omitted.  A port with no service dies (op
C<getservbyport>, errno C<undef>).

=head2 getprotobyname

  $number = BSDSocket::getprotobyname($name)

The number of a protocol (C<'tcp'> is 6).  An unknown one dies (errno
C<undef>).

=head2 inet_aton

  $packed = BSDSocket::inet_aton($dotted)

The 4 bytes of an IPv4 address in any form C<inet_aton(3)> knows
(C<'127.0.0.1'>, C<'127.1'>).  Never asks a resolver: anything else,
whitespace included, dies with EINVAL.

=head2 inet_ntoa

  $dotted = BSDSocket::inet_ntoa($packed)

The dotted quad of 4 bytes; any other length dies with EINVAL.

=head2 inet_pton

  $packed = BSDSocket::inet_pton($family, $text)

The 4 (C<AF_INET>) or 16 (C<AF_INET6>) bytes of an address, strictly
(no short forms).  A bad address dies with EINVAL, another family with
C<EAFNOSUPPORT>.

=head2 inet_ntop

  $text = BSDSocket::inet_ntop($family, $packed)

The text form; the bytes must be the family's length (else EINVAL).

=head2 htons

  $n = BSDSocket::htons($value)

A 16-bit value from host to network byte order.  A value outside
0..65535 (C<70000>, C<-1>) or not an integer dies with EINVAL instead of
wrapping; so for the three below.

=head2 ntohs

  $n = BSDSocket::ntohs($value)

16 bits, network to host order.

=head2 htonl

  $n = BSDSocket::htonl($value)

32 bits (0..4294967295), host to network order.

=head2 ntohl

  $n = BSDSocket::ntohl($value)

32 bits, network to host order.

=head2 has_ipv6

  $bool = BSDSocket::has_ipv6

Whether this host can make IPv6 sockets.

=head2 decode_cmsg

  for (@$ancillary) {                   # from recvmsg
      my $value = BSDSocket::decode_cmsg(@$_);
  }

The Perl value of a control message C<[$level, $type, $data]>:

  SOL_SOCKET, SCM_RIGHTS           [$fd, ...] (the fds are yours to close)
  SOL_SOCKET, SCM_CREDENTIALS      [$pid, $uid, $gid] (Linux)
  SOL_SOCKET, SCM_TIMESTAMP        seconds since the epoch (SO_TIMESTAMP)
  SOL_SOCKET, SCM_TIMESTAMPNS      the same, to the nanosecond (SO_TIMESTAMPNS)
  IPPROTO_IP, IP_PKTINFO           [$ifindex, $spec_dst, $addr]
  IPPROTO_IP, IP_TTL               the TTL (IP_RECVTTL; the BSDs' type is
                                   IP_RECVTTL)
  IPPROTO_IPV6, IPV6_PKTINFO       [$addr, $ifindex]
  IPPROTO_IPV6, IPV6_HOPLIMIT      the hop limit
  IPPROTO_IP, IP_RECVERR           { errno, origin, type, code, info,
  IPPROTO_IPV6, IPV6_RECVERR         data, offender } (Linux, from
                                   MSG_ERRQUEUE; offender is the address
                                   of whoever reported it, or undef)

Each checks its length first: a payload shorter or longer than its
structure (or, for C<SCM_RIGHTS>, not a whole number of ints) dies
C<EINVAL>, and nothing past it is read.  A message with no decoder here
dies C<ENOPROTOOPT>.

=head2 if_nameindex

  my @interfaces = BSDSocket::if_nameindex;     # ([1, 'lo'], [2, 'eth0'], ...)

The network interfaces, each as C<[$index, $name]>.

=head2 if_nametoindex

  $index = BSDSocket::if_nametoindex('lo')

The index of the interface with that name (for an IPv6 scope id, or a
multicast interface).  The name is 1 to C<IF_NAMESIZE> - 1 bytes (15 on
Linux) with no NUL, or it dies C<EINVAL>: a longer one is refused, never
cut short to what might be another interface's name.  A name with no
interface dies C<ENODEV> (the errno the system gives).

=head2 if_indextoname

  $name = BSDSocket::if_indextoname(1)

The name of the interface with that index (an integer in
0..4294967295); an index with no interface dies C<ENXIO>.

=head2 platform

  $have = BSDSocket::platform;      # { epoll => 1, mmsg => 1, ... }

What this build found on the platform when it was made: a hash
reference from each name in L</PLATFORMS> (C<accept4>, C<epoll>,
C<mmsg>, ...) to true where the build uses the platform's own call and
false where it uses the portable stand-in; C<portable> is true for a
C<BSDSOCKET_PORTABLE=1> build.  For tests and diagnostics: the API is the
same either way.

=head2 has_dualstack_ipv6

  $bool = BSDSocket::has_dualstack_ipv6

Whether one C<AF_INET6> socket can serve IPv4 clients too (see
L</create_server>).

=head2 create_connection

  $sock = BSDSocket::create_connection([$host, $port], $timeout?, $source_address?)

Resolves C<$host> (C<getaddrinfo>, C<SOCK_STREAM>; C<$port> may be a
service name) and connects to the first address that answers.  With
several addresses the attempts race as Happy Eyeballs v2 (RFC 8305)
describes: the addresses alternate by family, starting with the one
C<getaddrinfo> preferred; an attempt starts, and the next one starts as
soon as it fails or after 250 ms without an answer, earlier ones still
running; the first to connect wins and the others are closed.
C<$timeout> is one deadline for the whole call (the name's lookup, every
attempt, the source's bind); left out, it is the default timeout; C<undef> waits as long as it takes (0 dies: nothing can
connect without waiting).  The socket returned has that timeout.
C<$source_address>, C<[$host, $port]>, is bound for the attempts of its
family.

When every attempt fails, the error says each address tried and why
(C<"create_connection to localhost:9: no address answered:
127.0.0.1:9: Connection refused; ...">), and its C<< {attempts} >> is a list of
C<[$address, $errno, $message]>.  When the deadline passes first, the
error is a
L<BSDSocket::Error::Timeout|BSDSocket::Error/BSDSocket::Error::Timeout>
with the same C<< {attempts} >>.  An unresolvable host dies with
L<BSDSocket::Error::GAI|BSDSocket::Error/BSDSocket::Error::GAI>.

=head2 create_server

  $sock = BSDSocket::create_server($address, family => AF_INET, backlog => SOMAXCONN,
                                   reuse_port => 0, dualstack_ipv6 => 0)

A TCP socket bound to C<$address> and listening, as CPython's
C<create_server>: C<SO_REUSEADDR> is set (as CPython does on POSIX), so a
server can restart on its port at once; C<reuse_port> sets
C<SO_REUSEPORT>.  An C<AF_INET6> server is IPv6-only unless
C<dualstack_ipv6> asks for both; then IPv4 clients appear as
C<::ffff:a.b.c.d>.  An unknown option, C<dualstack_ipv6> without
C<AF_INET6> or without support (L</has_dualstack_ipv6>), and
C<reuse_port> without C<SO_REUSEPORT> die with EINVAL; C<bind> and
C<listen> fail as they do.

=head2 CMSG_LEN

  $length = BSDSocket::CMSG_LEN($data_length)

The C<cmsg_len> of an ancillary item carrying C<$data_length> bytes: the
header and the data, no trailing padding.  Dies with EINVAL for a
negative length or one too large for the C type.

=head2 CMSG_SPACE

  $room = BSDSocket::CMSG_SPACE($data_length)

The room an ancillary item of C<$data_length> bytes takes in a control
buffer, padding included.  Sum these for the C<$ancbufsize> of
L</recvmsg>: C<CMSG_SPACE(4 * $nfds)> for C<$nfds> descriptors,
C<CMSG_SPACE(12)> for C<SCM_CREDENTIALS>.

=head2 select

  use BSDSocket qw(select);
  ($readable, $writable, $exceptional) = BSDSocket::select(\@read, \@write, \@error, $timeout)

Waits until at least one item is ready or C<$timeout> seconds pass
(C<undef> or left out: as long as it takes; 0: just look), and returns
three array references holding the very items of each list that are
ready, in the order given (all three empty when the time ran out).  An
item is a socket object, a Perl handle or an fd number; a list may be
C<undef>.  Readable means data, a connection to accept, end of file or
a pending error; writable, room to send (or a pending error);
exceptional, urgent (C<MSG_OOB>) data: what C<select(2)> means by them;
a UDP socket holding datagrams that L</recv_many> left (L</BATCHES>) is
readable too.
It is C<poll(2)> underneath, so there is no limit of 1024 (C<FD_SETSIZE>)
on fd numbers, and the cost is per item, not per fd number.  Signals run
Perl's handlers and the wait goes on (L</TIMEOUTS AND SIGNALS>).  A
closed socket or handle, or a number that is not an open fd, dies with
C<EBADF>; anything else that is not an item, EINVAL.

C<select> is exported only when asked for by name, never by a tag: it
would take the place of Perl's own C<select> in your package.  For many
sockets, or the same set again and again, L<BSDSocket::Poller> costs less
per wait.

=head2 getdefaulttimeout

  $seconds = BSDSocket::getdefaulttimeout

The timeout new sockets start with (see L</TIMEOUTS AND SIGNALS>):
C<undef> (blocking, the initial setting), 0 or a number of seconds.

=head2 setdefaulttimeout

  BSDSocket::setdefaulttimeout($seconds)

Sets it for every socket made afterwards by C<socket>, C<socketpair>,
C<fromfd> and C<accept>.  C<$seconds> is as for L</settimeout>; anything
else dies with EINVAL and leaves the setting as it was.  One setting per
process, as in CPython.

=head2 error

  $class = BSDSocket::error      # 'BSDSocket::Error'

So that C<< $@->isa(BSDSocket::error) >> reads like Python's C<except
socket.error>.

=head1 SOCKET METHODS

Socket objects are of class C<BSDSocket::Socket>.  Every method checks
that it was called on a socket object BSDSocket made; anything else (an
unblessed reference, another class, a scalar blessed into
C<BSDSocket::Socket> by hand) dies with EINVAL before anything is
touched.  Every method but C<close> (which does nothing again) and
C<fileno> (which returns -1) dies with C<EBADF> on a closed socket, and
never touches the fd number it used to have.  Every method also dies with
C<EINVAL> (a usage message) when given too few or too many arguments.

Integer arguments (sizes, flags, levels, option names, backlogs) must be
integers: an IV, an integral number, a decimal string, or an object with
numeric overloading.  Anything else, or a value out of range for the C
type, dies with EINVAL and a message that names the argument and the
value.

=head2 accept

  ($conn, $address) = $sock->accept
  $conn = $sock->accept                 # scalar context

Waits for a connection and returns it as a new socket object of the
listener's class, with the peer's address (L</ADDRESSES>).  The new
socket is close-on-exec (C<accept4>).  Dies with C<EINVAL> if the socket
is not listening, C<EOPNOTSUPP> on a datagram socket, C<EMFILE> when out
of descriptors, ...

=head2 bind

  $sock->bind($address)
  $sock->bind($host, $port)             # AF_INET and AF_INET6, the older form

Dies with C<EADDRINUSE>, C<EACCES>, C<EINVAL>, ...; the error's C<address>
is the address, in its Perl form.

=head2 close

  $sock->close

Closes the fd.  Idempotent: closing a closed socket does nothing.  The
object stays, with C<fileno> -1; every other later call dies with
C<EBADF>.  The peer sees EOF after the data already queued.  C<close(2)>
is never retried on C<EINTR> (the fd is gone either way on Linux), and
C<ECONNRESET> from it is ignored.

A socket object that goes out of scope closes its fd too.  It never calls
C<shutdown>, so copies of the fd (after C<fork>, C<fromfd>, C<makefile>)
keep the connection.

=head2 connect

  $sock->connect($address)
  $sock->connect($host, $port)          # AF_INET and AF_INET6, the older form

Dies with C<ECONNREFUSED>, C<ETIMEDOUT>, C<ENETUNREACH>, ...; the error's
C<address> is the address, in its Perl form.  A host name in the address
is resolved first (see L</ADDRESSES>).  With a timeout, C<connect> waits
at most that long and then dies with
L<BSDSocket::Error::Timeout|BSDSocket::Error/BSDSocket::Error::Timeout>;
a non-blocking socket dies with C<EINPROGRESS> while the connection is
being made.  When a signal interrupts it, the connection attempt is not
restarted: after the Perl signal handlers ran, C<connect> waits for the
attempt the kernel kept going, within the same deadline, and reports how
it ended.

=head2 connect_ex

  $errno = $sock->connect_ex($address)
  $errno = $sock->connect_ex($host, $port)

As C<connect>, but returns the errno instead of dying: 0 on success,
C<ECONNREFUSED>, C<EINPROGRESS> (non-blocking), C<ETIMEDOUT> (the
socket's timeout ran out), ...  A bad address still dies.

=head2 detach

  $fd = $sock->detach

Hands the fd to the caller and leaves the object closed (C<fileno> -1,
later calls die with EBADF), without closing the fd: it is the caller's
now, to give to L</fromfd>, C<open my $fh, '+<&=', $fd> or another
library, and to close.  Dies with EBADF on a closed socket.

=head2 dup

  $copy = $sock->dup

A new socket object, of the same class, on a C<dup> of the fd: close-on-exec,
with the same family, type, protocol and timeout.  Either can be closed
without affecting the other; the connection lasts while one is open.  Each
keeps its own timeout (see L</settimeout> for how the two share the fd's
blocking flag).
Dies with EBADF on a closed socket, C<EMFILE> when out of descriptors.

=head2 fileno

  $fd = $sock->fileno

The fd, an integer; -1 after C<close>.  Use it with Perl's C<select>,
C<IO::Select> and event loops.

=head2 getpeername

  $address = $sock->getpeername

The address of the peer.  Dies with C<ENOTCONN> when there is none.

=head2 getsockname

  $address = $sock->getsockname

The socket's own address (L</ADDRESSES>): for an unbound AF_INET socket
C<['0.0.0.0', 0]>, for an unbound AF_UNIX one C<''>.  Dies with C<EBADF>
on a closed socket; other failures of C<getsockname(2)> (C<ENOBUFS>) die
with their errno.

=head2 get_inheritable

  $bool = $sock->get_inheritable

Whether the fd survives C<exec> (is not close-on-exec).  False for every
fd BSDSocket makes.

=head2 getblocking

  $bool = $sock->getblocking

False for a non-blocking socket (timeout 0); true for a blocking one and
for one with a timeout, which blocks, within it.  Dies with C<EBADF> after
C<close>.

=head2 gettimeout

  $seconds = $sock->gettimeout

C<undef> (blocking), 0 (non-blocking) or the timeout in seconds.  Dies
with C<EBADF> after C<close>.

=head2 getsockopt

  $int   = $sock->getsockopt($level, $optname)
  $bytes = $sock->getsockopt($level, $optname, $buflen)

Without C<$buflen>: the option as a C C<int>.  With it: a byte string of
the option's real length, at most C<$buflen> bytes (C<$buflen> is
1..1024, else EINVAL), to C<unpack> yourself.  Dies with C<ENOPROTOOPT>
for an option the kernel does not know.

=head2 listen

  $sock->listen($backlog = SOMAXCONN)

A negative C<$backlog> means 0, as in CPython.  Dies with C<EOPNOTSUPP>
on a datagram socket.

=head2 makefile

  $fh = $sock->makefile($mode = 'r', $bufsize?)

A new Perl file handle on a C<dup> of the fd, with the socket's rules
(see L</A SOCKET IS A FILEHANDLE>: the socket's timeout at each call,
no C<SIGPIPE>, output autoflushed).  Since the socket is a filehandle
itself, this is only needed for a handle of its own, which closes
independently of the socket (close either first).  C<$mode> is C<'r'>,
C<'w'>, C<'rw'> or C<'r+'>; a C<'b'> is allowed and ignored: the handle
is always binary, whatever C<use open> says.  C<$bufsize> 0 makes reads
take a byte at a time, so that nothing is read ahead of what the handle
returns (the socket's own reads then see the rest); C<undef>, -1 or a
positive size buffer.  What the handle reads ahead is its own: the
socket's C<recv> does not see it.  A bad mode or bufsize dies with
EINVAL.

=head2 new

  $sock = BSDSocket::Socket->new($family, $type, $proto = 0)

The class-method spelling of L</socket>: blesses into the class it is
called on, so a subclass's C<new> can call C<SUPER::new>.

=head2 recv

  $bytes = $sock->recv($bufsize, $flags = 0)

At most C<$bufsize> bytes, as a byte string; C<''> at end of file (or for
an empty datagram).  The data is read straight into the returned string,
and a short result does not keep a large buffer alive behind it.  On a
stream socket, C<recv(0)> waits until data is readable and returns C<''>
(as the kernel does); on a datagram socket it discards one datagram.
C<$flags> are C<MSG_*> values (C<MSG_PEEK>, C<MSG_WAITALL>, ...).
A negative or non-integer size dies with EINVAL; a size that cannot be
allocated dies with C<ENOMEM> instead of killing the interpreter.

Bytes that a buffered read on the socket's handle took ahead (see
L</A SOCKET IS A FILEHANDLE>) come first: C<recv> returns them (at most
C<$bufsize>) without asking the kernel.

A loop that reads until the end must test for C<''>, not for truth: a
chunk of C<"0"> is false too.

  while (length(my $data = $sock->recv(4096))) { ... }   # not: while (my $data = ...)

=head2 recv_exact

  $bytes = $sock->recv_exact($n, $flags = 0)

Exactly C<$n> bytes, however many receives that takes (C<$n> 0 gives
C<''>).  The socket's timeout, or a L</deadline>, is one deadline for
the whole read, not for each receive.  Nothing is lost when it fails:
the bytes that did arrive go back to the front of the socket's read
buffer, where the next read of any kind (C<recv>, C<readline>, another
C<recv_exact>) finds them, and L</pending> counts them.  It dies as
C<recv> does (a timeout with
L<BSDSocket::Error::Timeout|BSDSocket::Error/BSDSocket::Error::Timeout>),
and at the peer's end of file with
L<BSDSocket::Error::EOF|BSDSocket::Error/BSDSocket::Error::EOF>, whose
C<received> says how many bytes came.  C<MSG_PEEK> in C<$flags> dies
C<EINVAL>.

  my $header = $sock->recv_exact(4);
  my $body   = $sock->recv_exact(unpack 'N', $header);

=head2 recv_fds

  ($bytes, \@handles, $msg_flags, $address) = $sock->recv_fds($bufsize, $maxfds, $flags = 0)

Receives a message and up to C<$maxfds> (0 to 253) file descriptors
passed with C<SCM_RIGHTS> (see L</send_fds>).  Each descriptor comes as a
Perl file handle that owns it (reading and writing as the descriptor's
own access mode allows): close the handle, or let it go out of scope, and
the fd closes.  The fds are close-on-exec from the moment they arrive
(C<MSG_CMSG_CLOEXEC>).  If more were sent than C<$maxfds>, or than fit,
the rest are closed (by the kernel, or here) and C<$msg_flags> has
C<MSG_CTRUNC>: nothing leaks.  If making a handle fails, every fd of the
message not yet in a handle is closed before the error goes out.
C<$address> is as for L</recvmsg>.  Other ancillary data (credentials on
a socket with C<SO_PASSCRED>) is not returned, and a pidfd that
C<SO_PASSPIDFD> brings is closed: use L</recvmsg> for those.

  my ($data, $handles) = $unix->recv_fds(1024, 4);
  print {$handles->[0]} "hello through a passed fd\n";

=head2 recv_into

  $count = $sock->recv_into($buffer, $nbytes = 0, $flags = 0)

As L</recv>, but into C<$buffer>, a scalar of yours, and returns the
number of bytes received.  The data goes to the start of C<$buffer>, which
afterwards holds exactly the bytes received, as a byte string (as with
C<sysread>).  C<$nbytes> 0 means the buffer's current C<length> (in characters, as
Perl counts them, however the string is stored).
At most C<$nbytes> bytes are received, and never more than the buffer's
allocation: it is first grown to hold C<$nbytes> (and keeps that room
afterwards, so a loop that reuses one buffer allocates once).  An
C<$nbytes> that cannot be allocated dies with C<ENOMEM>, a negative one
with EINVAL; either way the buffer is unchanged, as it is when the call
fails.  A read-only buffer (a literal, a constant) or one that is not a
scalar (a reference, a glob) dies with EINVAL; an lvalue that stands for
one (a hash element that does not exist yet, C<substr>) is fine, as with
C<sysread>.  A tied
buffer is fetched once and stored once.  If a signal handler runs while
the call waits and frees or replaces the buffer, the data goes to the
buffer the variable holds when the call returns.

  my $buf;
  while (my $n = $sock->recv_into($buf, 65536)) {
      ...   # $buf holds $n bytes
  }

=head2 recv_many

  @datagrams = $sock->recv_many($count, $bufsize, $flags = 0)

Up to C<$count> (1 to 1024) datagrams from B<one> system call
(C<recvmmsg>), each as C<[$bytes, $address, $msg_flags]>: as many as are
queued, at least one.  Only the first is waited for, as L</recv> would
wait (the socket's timeout, C<MSG_WAITFORONE> underneath); the call never
waits to fill C<$count>.  A datagram longer than C<$bufsize> is cut to
it, with C<MSG_TRUNC> in its C<$msg_flags>.  C<$address> is the sender's,
as L</recvfrom> gives it.  Dies as C<recv> does (EAGAIN on a non-blocking
socket with nothing queued, a timeout error when the time runs out), with
EINVAL for a C<$count> out of range, C<ENOMEM> if C<$count * $bufsize>
bytes cannot be allocated.  On a UDP socket with C<UDP_GRO> on
(C<< $sock->sockopt('UDP_GRO', 1) >>), the system call may bring whole
runs of datagrams at once; you still get one item per datagram, and what
a call does not take waits in the socket for the next receive call (see
L</BATCHES>).

=head2 recv_until

  $bytes = $sock->recv_until($delimiter, $max)

The bytes up to and including the first C<$delimiter> (one byte or
more: C<"\n">, C<"\r\n">, ...), at most C<$max> bytes in all.  What it
reads past the delimiter stays in the socket's read buffer for the next
read.  No delimiter within C<$max> bytes dies C<EMSGSIZE>; the end of
file first dies
L<BSDSocket::Error::EOF|BSDSocket::Error/BSDSocket::Error::EOF>; a
timeout dies as C<recv> does, with the timeout (or the L</deadline>)
one deadline for the whole read.  However it fails, the bytes that
arrived are the next read's.  An empty delimiter, or a C<$max> shorter
than the delimiter, dies C<EINVAL>.

  my $status = $sock->recv_until("\r\n", 8192);

=head2 recvfrom

  ($bytes, $address) = $sock->recvfrom($bufsize, $flags = 0)
  $bytes = $sock->recvfrom($bufsize, $flags)   # scalar context

As C<recv>, with the sender's address.  The address is C<undef> where the
kernel gives none (a connected TCP socket); an unbound C<AF_UNIX> sender
is C<''>.

=head2 recvfrom_into

  ($count, $address) = $sock->recvfrom_into($buffer, $nbytes = 0, $flags = 0)
  $count = $sock->recvfrom_into($buffer, $nbytes, $flags)   # scalar context

As L</recv_into>, with the sender's address as L</recvfrom> gives it.

=head2 recvmsg

  ($bytes, \@ancillary, $msg_flags, $address) = $sock->recvmsg($bufsize, $ancbufsize = 0, $flags = 0)

C<recvmsg(2)>: up to C<$bufsize> bytes, and up to C<$ancbufsize> bytes of
ancillary (control) data, as a list of C<[$level, $type, $data]> items
(C<$data> a byte string; size C<$ancbufsize> with L</CMSG_SPACE>).
C<$msg_flags> are the kernel's: C<MSG_TRUNC> when the datagram was longer
than C<$bufsize>, C<MSG_CTRUNC> when ancillary data did not fit.
C<$address> is the sender's (C<undef> where the kernel gives none, C<''>
for an unbound C<AF_UNIX> sender).  Descriptors received raw through
C<SCM_RIGHTS> (C<unpack 'i*', $data>) are close-on-exec and yours to
close; L</recv_fds> wraps them in handles for you.

  my ($data, $anc) = $sock->recvmsg(1024, BSDSocket::CMSG_SPACE(12));
  for (@$anc) {
      my ($level, $type, $bytes) = @$_;
      my ($pid, $uid, $gid) = unpack 'iII', $bytes
          if $level == SOL_SOCKET && $type == SCM_CREDENTIALS;
  }

=head2 send

  $count = $sock->send($bytes, $flags = 0)

Sends, and returns how many bytes went (a stream socket may take fewer
than given).  Always with C<MSG_NOSIGNAL>: a peer that went away is an
C<EPIPE> error, never a C<SIGPIPE> that ends the program.  Data is bytes
(see L</DATA AND STRINGS>).

=head2 send_fds

  $count = $sock->send_fds(\@buffers, \@fds, $flags = 0, $address?)

Sends the buffers as one message with the fds (at most 253) attached
(C<SCM_RIGHTS> over C<AF_UNIX>); the other side gets copies of them, as
if C<dup>'d into its process.  An fd is a socket object, a Perl handle
or a descriptor number.  Returns the bytes sent.  On a stream socket the
fds travel with the data, so some must go: C<send_fds> with fds and no
bytes dies with EINVAL there (the kernel would drop the fds unsent).  A
closed or unknown fd dies with C<EBADF>, a value that is none of the
three with EINVAL.

=head2 send_many

  $sent = $sock->send_many(\@messages, $address?)

Sends many datagrams with one system call (C<sendmmsg>; a list longer
than 1024 takes one call per 1024).  A message is bytes, sent to
C<$address> (or to the connected peer when C<$address> is left out), or
C<[$bytes, $address]> with an address of its own.  A L</recv_many> entry,
C<[$bytes, $address, $msg_flags]>, is taken as C<[$bytes, $address]> (the
flags are what the kernel said on receipt, and mean nothing here), so an
echo is C<< $s->send_many([$s->recv_many(64, 2048)]) >>.  Returns how many
datagrams went: all of them, or fewer if the socket could take no more
(a non-blocking or timed socket whose send buffer filled) or one failed
after others went; send the rest again, and the failure, if any, is
reported then.  When none can go the call waits, or dies, as L</send>
does.  Bad messages or addresses die before anything is sent.  See
L</BATCHES>.

=head2 sendall

  $count = $sock->sendall($bytes, $flags = 0)

Sends all of C<$bytes>, in as many system calls as it takes, and returns
their length; or dies, and the error's C<sent> says how many bytes went
out before it (they are in the peer's hands, or on their way).  A timeout
is a deadline for the whole call, however the data trickles out; Perl's
signal handlers run between partial sends.  Dies with C<EPIPE> when the
peer has gone, with L<BSDSocket::Error::Timeout|BSDSocket::Error/BSDSocket::Error::Timeout>
when the time runs out, and like C<send> for data that is not bytes
(C<"Wide character in sendall">).

=head2 sendfile

  $count = $sock->sendfile($fh, $offset = 0, $count?)

Sends C<$count> bytes (all, to the end of the file, when C<$count> is 0,
C<undef> or left out) of the file C<$fh> (a Perl handle or an fd) from
C<$offset>, and returns how many went.  From a regular file it is
C<sendfile(2)>: the kernel copies page cache to socket with no trip
through Perl.  The handle's own file position does not move (it is read
at the offset).  What C<sendfile(2)> cannot read (a pipe, a socket) is
copied through a buffer instead, from where it stands (an offset there
dies with EINVAL); waiting for that input is part of the call, so it
waits as the socket's timeout says (a non-blocking socket dies with
C<EAGAIN> when the input runs dry, with C<sent> set).  The socket's timeout is a deadline for the whole
call, as with L</sendall>, and the error's C<sent> says how much went
before it.  A peer that has gone is C<EPIPE>, never C<SIGPIPE>.

=head2 sendmsg

  $count = $sock->sendmsg(\@buffers, \@ancillary = [], $flags = 0, $address?)

C<sendmsg(2)>: the buffers gathered into one message (one datagram), with
ancillary items C<[$level, $type, $data]> (C<$data> packed as the kernel
wants it: C<pack('i*', @fds)> for C<SCM_RIGHTS>, C<pack('iII', $pid,
$uid, $gid)> for C<SCM_CREDENTIALS>), to C<$address> if given.  Returns
the bytes sent.  Always with C<MSG_NOSIGNAL>.  As with L</send_fds>,
C<SCM_RIGHTS> with no data on a stream socket dies with EINVAL.  A buffer list or
ancillary item of the wrong shape, or a level or type that is not an
integer, dies with EINVAL.

=head2 sendto

  $count = $sock->sendto($bytes, $address)
  $count = $sock->sendto($bytes, $flags, $address)

Sends a datagram to C<$address> and returns the number of bytes sent.
Dies with C<EMSGSIZE> when the datagram is too big for the protocol,
C<EINVAL> for an address of the wrong family, and as C<send> does
otherwise; the error carries the address.  (On a connected stream socket
Linux ignores the address.)  A bad C<$address> dies before anything is sent
(L</ADDRESSES>).

=head2 set_inheritable

  $sock->set_inheritable($bool)

True lets the fd survive C<exec> (clears close-on-exec); false makes it
close-on-exec again.

=head2 setblocking

  $sock->setblocking($bool)

C<setblocking(1)> is C<settimeout(undef)>; C<setblocking(0)> is
C<settimeout(0)>.

=head2 settimeout

  $sock->settimeout($seconds)

C<undef>: blocking (the default).  C<0>: non-blocking; a call that would
have to wait dies with C<EAGAIN> (C<$!{EAGAIN}> is true).  A positive
number (fractions work; so do very large ones): every call waits at most
that long, then dies with
L<BSDSocket::Error::Timeout|BSDSocket::Error/BSDSocket::Error::Timeout>
(message C<timed out>, errno C<ETIMEDOUT>).  Negative numbers, NaN,
infinity and non-numbers die with EINVAL and leave the setting as it was.
A timeout of 0 puts the fd in C<O_NONBLOCK>; C<undef> and a positive
timeout clear it (the module's own waiting is done with C<poll>, and
its calls do not depend on the flag).

That flag belongs to the open file description, which a L</dup>, a
L</fromfd> copy (and the caller's fd), and a L</makefile> handle share
with the socket, so setting the mode through one of them sets it for all.
Each socket object's calls still follow its own timeout: sends and
receives pass C<MSG_DONTWAIT> when it is 0 or more; C<connect> and
C<sendfile>, which have no such flag, make the fd non-blocking for the
call and put it back, and C<accept> makes it non-blocking and leaves it
so (a listener is often shared between processes, and putting the flag
back could leave another one blocked in the kernel); a blocking socket
that meets C<EAGAIN> because another handle made the fd non-blocking
waits for readiness as a blocking call would.  (An C<EAGAIN> from
C<SO_RCVTIMEO>/C<SO_SNDTIMEO>, or from a C<MSG_DONTWAIT> the caller
passed, still dies.)  A L</makefile> handle keeps the timeout the socket
had when it was made.

=head2 setsockopt

  $sock->setsockopt($level, $optname, $value)

A C<$value> that is a string is passed as its bytes (C<pack> a C<struct
linger> or C<struct timeval> yourself); anything else is passed as a C
C<int>.  That is the rule of Perl's own C<setsockopt>, so note that the
string C<'1'> is one byte, which the kernel refuses for an C<int>
option: write C<1>, not C<'1'>.  A boolean (C<!!1>) counts as the integer
it stands for.  C<undef>, references, non-integers and out-of-range
numbers die with EINVAL.

=head2 sockopt

  $value = $sock->sockopt('SO_LINGER');             # [$on, $seconds]
  $sock->sockopt(SO_RCVTIMEO => 2.5);
  $sock->sockopt(TCP_NODELAY => 1);
  $info = $sock->sockopt('TCP_INFO');               # { rtt => ..., snd_cwnd => ... }

Socket options by name, with their values in Perl form: C<SO_LINGER>
C<[$on, $seconds]>; C<SO_RCVTIMEO> and C<SO_SNDTIMEO> seconds (a number;
undef or 0 for none); C<SO_BINDTODEVICE> and C<TCP_CONGESTION> names (at
most 15 bytes, never cut short; C<''> unbinds a device); C<SO_PEERCRED>
C<[$pid, $uid, $gid]> (read only, Linux); C<TCP_INFO> a hash of its named
fields (C<state>, C<rtt> and C<rttvar> in microseconds, C<snd_cwnd>,
C<retransmits>, C<total_retrans>, C<rcv_space>, ... as in Linux's
C<struct tcp_info>; read only, Linux).  Every other C<SO_*>, C<TCP_*>,
C<UDP_*>, C<IP_*> and C<IPV6_*> name is an integer option at the level
its prefix says (C<SOL_SOCKET>, C<IPPROTO_TCP>, ...); a number for the
name is a C<SOL_SOCKET> integer option, as IO::Socket's C<sockopt> takes
it (so a number is always a C<SOL_SOCKET> option: C<IP_TTL> as a number
is C<SO_REUSEADDR>; give other levels' options by name).  With a value it
sets the option and returns nothing; without, it returns the value (an
integer option's value is an int, a byte or 64 bits; one of another
size dies, pointing to C<getsockopt>).  An unknown name dies C<EINVAL>, so does a bad value
(naming what is wrong); a name this platform lacks dies C<ENOSYS>.  For
an option with a structure not listed here, C<getsockopt> and
C<setsockopt> take and give its bytes.

The multicast memberships are set, never read: C<IP_ADD_MEMBERSHIP> and
C<IP_DROP_MEMBERSHIP> C<[$group, $interface]>,
C<IP_ADD_SOURCE_MEMBERSHIP> and C<IP_DROP_SOURCE_MEMBERSHIP> C<[$group,
$source, $interface]>, C<IPV6_JOIN_GROUP> and C<IPV6_LEAVE_GROUP>
C<[$group, $interface]>.  Groups and sources are numeric addresses; the
interface is an IPv4 address (for the IPv4 ones), a name (C<'eth0'>), an
index, or undef (or left out) for the one the kernel picks.  An IPv4
membership by name or index goes through C<MCAST_JOIN_GROUP> (RFC 3678),
which Linux, FreeBSD, NetBSD and macOS have; without it (OpenBSD) give
the interface's address.

=head2 keepalive

  $sock->keepalive(idle => 60, interval => 10, count => 5);

Turns C<SO_KEEPALIVE> on, with the first probe after C<idle> seconds of
silence (C<TCP_KEEPIDLE>; C<TCP_KEEPALIVE> on macOS), then one every
C<interval> seconds (C<TCP_KEEPINTVL>), giving up after C<count>
unanswered (C<TCP_KEEPCNT>); each is optional.  Each must be a whole
number, 1 or more, or it dies C<EINVAL> before anything is set; if the
kernel refuses one (Linux takes at most 32767 seconds and 127 probes) or
the platform lacks one (OpenBSD has none of the three), what was set is
put back and it dies with op C<keepalive>: all of it or none.

=head2 shutdown

  $sock->shutdown($how)

Shuts down reading (C<SHUT_RD>, 0), writing (C<SHUT_WR>, 1: the peer sees
EOF, the socket can still receive) or both (C<SHUT_RDWR>, 2).  Returns
nothing.  Unlike C<close> it acts on the connection, so every copy of the
fd sees it.  Dies with C<ENOTCONN> on a socket that is not connected,
C<EINVAL> for any other C<$how>, C<EBADF> on a closed socket.

=head2 family

  $family = $sock->family

The address family the socket was made with (read from the fd for
C<fromfd>), an integer.  Dies with C<EBADF> after C<close>, as every
method but C<close> and C<fileno> does (CPython's C<family> keeps
answering).

=head2 type

  $type = $sock->type

The socket type, an integer, with the C<SOCK_NONBLOCK> and
C<SOCK_CLOEXEC> flag bits masked off.  Dies with C<EBADF> after C<close>.

=head2 proto

  $proto = $sock->proto

The protocol number the socket was made with.  Dies with C<EBADF> after
C<close>.

=head1 A SOCKET IS A FILEHANDLE

A socket object is a blessed glob, as L<IO::Socket>'s are, whose handle
reads and writes the socket.  Perl's builtins take it as they take any
handle: C<print>, C<printf>, C<say>, C<readline> (C<< <$sock> >>),
C<read>, C<getc>, C<eof>, C<sysread>, C<syswrite>, C<binmode>, C<close>,
C<fileno>, C<stat> and C<-S>, the 4-argument C<select> (through
C<fileno>), and perl's socket builtins (C<send>, C<recv>, C<getsockopt>,
C<setsockopt>, C<shutdown>, C<getpeername>, C<getsockname>).  The
builtins report failure the Perl way (false or C<undef>, and C<$!>); the
socket methods die with a L<BSDSocket::Error> as everywhere else.

The socket's rules hold through the handle:

=over 4

=item *

Reads and writes wait as the socket's timeout says: C<undef> blocks,
C<0> fails at once with C<$!> C<EAGAIN>, C<t> waits at most C<t> seconds
per call and then fails with C<$!> C<ETIMEDOUT>.  An C<O_NONBLOCK> that
code managing the handle set on the fd with C<fcntl> makes them fail
with C<EAGAIN> instead of waiting, as on Perl's own handles (the socket
methods keep to the timeout).  After a timeout the handle stays usable:
the next read tries again.  (A timeout in the middle of a line makes
C<readline> return the part that came, as Perl does on a non-blocking
handle; and C<eof>, which waits for a byte to know, answers true when the
time runs out, as it does for an error.)

=item *

C<EINTR> runs Perl's signal handlers and the call goes on; a handler
that dies takes its exception out; one that closes the socket ends the
call with C<EBADF>.

=item *

Writes never raise C<SIGPIPE>: printing to a closed peer fails with
C<$!> C<EPIPE>.  Output is autoflushed (C<< $sock->autoflush(0) >> buffers
it).  When a C<print> times out, what did not go yet stays buffered and
goes with the next C<print> or flush: do not print it again.

=item *

One buffer: the bytes a buffered read (C<readline>, C<read>, C<getc>,
C<eof>) took ahead are the first bytes that C<recv>, C<recv_into>,
C<recvfrom>, C<recvmsg> and C<sysread> return, with no address and no
ancillary data; L</pending> says how many there are.  Nothing is lost by
mixing the two styles.  (A layer pushed on top with C<binmode>, such as
C<:encoding(UTF-8)>, keeps what it decoded to itself: the socket's calls
do not see that.)

=back

C<sysread> and C<syswrite> skip Perl's I/O layers and use the fd
directly; for code compiled after BSDSocket was loaded, the builtins
called on a BSDSocket handle do what the methods of the same names do
(the timeout, the buffer, no C<SIGPIPE>).  Code compiled before, such as
a module loaded earlier, reads and writes the fd itself: it gets
C<EAGAIN> rather than a wait on a non-blocking socket, does not see what
a buffered read took ahead, and a C<syswrite> to a closed peer raises
C<SIGPIPE>.  Perl's C<send> and C<recv> builtins always use the fd
directly, with Perl's own semantics.

A handle perl opens on the socket (C<< open(my $fh, '<&', $sock) >>) reads
with the socket's rules, on a dup; for C<'+<&'> and C<< '>&' >> perl makes
the write side itself, with its own layers and rules (a print to a
closed peer raises C<SIGPIPE> there).

C<close($sock)> and C<< $sock->close >> are the same: after either, the
methods die with C<EBADF>, C<< $sock->fileno >> is -1 and
C<fileno($sock)> is undef.  A thread's copy of the socket has a handle
of its own (see L</THREADS AND FORK>).

=head2 Handle methods

These are L<IO::Handle>'s and L<IO::Socket>'s, for the habits and the
code that call them.  Like those, they answer with false or C<undef> and
C<$!> rather than an exception.  There are still no C<read> and C<write>
methods: use C<recv> and C<send>.

=head2 autoflush

  $previous = $sock->autoflush($on = 1)

Output goes out at each C<print> (the default) or when the buffer fills.

=head2 binmode

  $sock->binmode($layer?)

As Perl's C<binmode>; the socket's bytes are bytes already.

=head2 blocking

  $previous = $sock->blocking($on?)

C<blocking(0)> is C<settimeout(0)>, C<blocking(1)> is
C<settimeout(undef)>; returns the previous state, as C<getblocking>
says it (true for a socket with a timeout).

=head2 connected

  $address = $sock->connected

The peer's address (as C<getpeername> gives it), or undef.

=head2 eof

  $bool = $sock->eof

True when the peer has closed and nothing is buffered; waits (per the
timeout) for the next byte to know.

=head2 getline

  $line = $sock->getline

=head2 getlines

  @lines = $sock->getlines

C<readline> in scalar and list context (the latter until end of file).

=head2 opened

  $bool = $sock->opened

=head2 peerhost

  $host = $sock->peerhost

=head2 peerport

  $port = $sock->peerport

=head2 sockhost

  $host = $sock->sockhost

=head2 sockport

  $port = $sock->sockport

The parts of the peer's and of the socket's own inet address; undef
where there is none.

=head2 pending

  $count = $sock->pending

How many bytes a buffered read took ahead and the next receive will
return first, or the bytes of the datagrams that wait in a UDP socket
after L</recv_many> (see L</BATCHES>).

=head2 print

  $ok = $sock->print(@items)

=head2 printf

  $ok = $sock->printf($format, @items)

=head2 say

  $ok = $sock->say(@items)

As the builtins on the socket.

=head2 protocol

  $proto = $sock->protocol

=head2 sockdomain

  $family = $sock->sockdomain

=head2 socktype

  $type = $sock->socktype

IO::Socket's names for C<proto>, C<family> and C<type>.

=head2 sysread

  $count = $sock->sysread($buffer, $length, $offset = 0)

As Perl's C<sysread>, with the socket's rules: bytes a buffered read
took ahead first, then at most one receive, waiting as the timeout says.
Returns the count (0 at end of file), or undef with C<$!> set.

=head2 syswrite

  $count = $sock->syswrite($buffer, $length?, $offset = 0)

As Perl's C<syswrite>, with the socket's rules: one send (fewer bytes
may go), waiting as the timeout says, never raising C<SIGPIPE>.  Returns
the count, or undef with C<$!> set.

=head1 MIGRATING

From L<IO::Socket::IP> (or L<IO::Socket::INET>) and core L<Socket>, the
common idioms side by side:

  # connecting
  my $s = IO::Socket::IP->new(PeerHost => $host, PeerPort => $port, Timeout => 5)
      or die "connect: $@";
  my $s = BSDSocket::create_connection([$host, $port], 5);   # dies with an object

  socket(my $s, PF_INET, SOCK_STREAM, 0); connect($s, pack_sockaddr_in($port, inet_aton($host)));
  my $s = BSDSocket::socket(AF_INET, SOCK_STREAM); $s->connect([$host, $port]);

  # serving
  my $l = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 8080, Listen => 5, ReuseAddr => 1);
  my $l = BSDSocket::create_server(['127.0.0.1', 8080], backlog => 5);
  my $c = $l->accept;                       # the same; in list context BSDSocket
  my ($c, $peer) = $l->accept;              # also gives [$host, $port]

  # lines
  print $s "hello\n"; my $line = <$s>;     # the same, with the socket's timeout
  $s->autoflush(1);                         # already on in BSDSocket

  # bytes
  $s->sysread(my $buf, 4096);               # the same
  my $buf = $s->recv(4096);                 # BSDSocket's own: the bytes, '' at EOF
  defined $s->send($data) or die;           # IO::Socket: undef and $! on failure
  $s->sendall($data);                       # BSDSocket: all of it, or an exception

  # addresses
  $s->peerhost, $s->peerport                # the same
  my ($port, $ip) = sockaddr_in(getpeername($s));   # core Socket: packed structures
  my ($host, $port) = @{ $s->getpeername };         # BSDSocket: Perl values

  # errors
  $s->connect(...) or die "connect: $!";    # IO::Socket: false and $!
  eval { $s->connect(...); 1 } or do { die $@ unless $@->errname eq 'ECONNREFUSED'; ... };

  # non-blocking and timeouts
  $s->blocking(0);                          # the same (settimeout(0))
  $s->timeout(5);                           # IO::Socket: connect and accept only
  $s->settimeout(5);                        # BSDSocket: every call, reads and writes too

What differs: BSDSocket's methods die on failure instead of returning
false; C<recv> returns the bytes (IO::Socket's returns the peer and fills
a buffer); addresses are Perl values, not packed C<sockaddr>s; every fd is
close-on-exec; the timeout applies to every call.

=head1 ADDRESSES

Addresses are Perl values; one converter, in C, turns them into socket
addresses and back, for every method that takes or returns one.  What
C<getsockname>, C<getpeername>, C<accept> and C<recvfrom> return is
accepted back by C<bind>, C<connect> and C<sendto> unchanged.

=over 4

=item C<AF_INET>

C<[$host, $port]>, exactly two elements.  C<$host> is a dotted quad
(taken as is), a host name (resolved with C<getaddrinfo>), C<''> for
C<INADDR_ANY> or C<'E<lt>broadcastE<gt>'> for C<INADDR_BROADCAST>.
Returned as C<[$dotted_quad, $port]>.  C<bind>, C<connect> (and
C<connect_ex>) also take the older form, two arguments C<($host, $port)>.

=item C<AF_UNIX>

A path string; a leading C<"\0"> names the Linux abstract namespace (every
byte after it counts, NULs included; elsewhere it dies C<ENOSYS>, see
L</PLATFORMS>).  Returned as the path, as the C<"\0name">, or C<''> for an
unnamed socket, on every platform.

=item C<AF_INET6>

C<[$host, $port, $flowinfo = 0, $scope_id = 0]>, two to four elements.
C<$host> is an IPv6 literal, possibly with C<%scope> (an interface name
or number, which sets the scope id unless C<$scope_id> is given), a host
name (resolved for IPv6), or C<''> for the wildcard C<::>.  An IPv4
literal is refused (C<::ffff:a.b.c.d> maps one).  C<$flowinfo> is
0..1048575, C<$scope_id> 0..4294967295.  Returned as all four, the host
without C<%scope> (the scope is in C<$scope_id>).  The older
C<($host, $port)> form works here too.

=item C<AF_NETLINK>, C<AF_PACKET>, C<AF_VSOCK>, C<AF_ALG> (Linux)

As CPython has them: C<AF_NETLINK> C<[$pid, $groups]> (0 for the kernel);
C<AF_PACKET> C<[$ifname, $proto, $pkttype = 0, $hatype = 0, $addr = '']>,
with C<$ifname> an interface name (C<''> for any; at most 15 bytes, never
cut short; one that is not there dies C<ENODEV>), C<$proto> an
C<ETH_P_*> number in host order, C<$addr> at most 8 bytes; C<AF_VSOCK>
C<[$cid, $port]> (C<VMADDR_CID_ANY>, C<VMADDR_PORT_ANY>); C<AF_ALG>
C<[$type, $name]> (C<['hash', 'sha256']>; a type of at most 13 bytes, a
name of at most 63).  Every number is range-checked.  The C<NETLINK_*>,
C<ETH_P_*>, C<PACKET_*>, C<VMADDR_*> and C<ALG_*> constants come with
them.  A build without them (see L</PLATFORMS>) takes these families as
any other.

=item any other family

Returned as C<[$family, $raw_bytes]> (the bytes after the family field),
and taken back in that form.

=back

A port is an integer in 0..65535, a decimal string of one (C<'4242'>), or
an object with numeric overloading.  Service names (C<'http'>), hex, blanks,
C<''>, C<undef>, fractions, Inf/NaN and references die: look service
names up with L</getservbyname>.  A host is a string or an object with
string overloading.

The arrays BSDSocket returns are read-only, like Python's tuples: they
remember the socket address they stand for, so passing one back costs no
parsing.  Copy one (C<[@$address]>) to change it.

Bad values never crash and are never cut short silently.  Each dies with
a L<BSDSocket::Error> of op C<address>, errno EINVAL, whose C<address> is
the value given, and whose message names the problem:

=over 4

=item * not an array reference (C<AF_INET>) or not a string (C<AF_UNIX>): the wrong form for the socket's family

=item * the wrong number of elements

=item * a port that is not an integer in 0..65535

=item * a host that is not a string, has a NUL or a character above 255 in it, or is an address of the other IP family

=item * an C<AF_INET6> flowinfo or scope_id out of range

=item * an C<AF_UNIX> path longer than C<sun_path> (C<UNIX_PATH_MAX>: 108 bytes on Linux, 104 on the BSDs and macOS; the message gives the path's length and the limit), or with a NUL inside (other than the abstract namespace's leading one, on Linux; elsewhere a leading NUL dies C<ENOSYS>)

=item * a raw address of a family other than the socket's

=back

A host name that does not resolve dies with
L<BSDSocket::Error::GAI|BSDSocket::Error/BSDSocket::Error::GAI> (errno is
the C<EAI_*> code, message C<"cannot resolve host 'name': ...">).

=head1 DATA AND STRINGS

Sent data is bytes.  A string with a character above 255 dies with
C<"Wide character in send"> (or C<sendto>), as C<syswrite> does; a
UTF-8-flagged string whose characters all fit in a byte is sent as those
bytes (your string is not changed).  C<undef>, references without string
overloading and globs are not data and die with EINVAL.

Received data and addresses are byte strings.  Under C<perl -T> they are
tainted, as with Perl's own C<recv> and C<sysread>.

Magic is honoured once per argument: a tied scalar is fetched once, an
overloaded object converted once.  An exception thrown by an overload
method comes out of the call unchanged.

=head1 READINESS AND EVENT LOOPS

L</select> and L<BSDSocket::Poller> wait on BSDSocket's sockets, Perl
handles and fds together.  Everything else takes the socket itself, as
it would any Perl handle:

  # perl's own select
  vec(my $rin = '', fileno($sock), 1) = 1;
  select(my $rout = $rin, undef, undef, 1.5);

  # IO::Select and IO::Poll give the very object back
  my $sel = IO::Select->new($sock);
  for my $ready ($sel->can_read(1.5)) { my $line = <$ready>; ... }

  # EV and AnyEvent
  my $w = EV::io($sock, EV::READ, sub { ... });
  my $w = AnyEvent->io(fh => $sock, poll => 'r', cb => sub { ... });
  my $h = AnyEvent::Handle->new(fh => $sock, on_error => sub { ... });

  # IO::Async, Mojo, Future::IO
  $loop->add(IO::Async::Stream->new(handle => $sock, on_read => sub { ... }));
  my $stream = Mojo::IOLoop::Stream->new($sock);
  my $f = Future::IO->sysread($sock, 4096);

A loop that wants the handle non-blocking says so with the C<blocking>
method (C<blocking(0)> is C<settimeout(0)>, as IO::Async does) or by
setting C<O_NONBLOCK> on the fd with C<fcntl> (as AnyEvent::Handle does):
reads and writes through the handle follow that flag too, as they do on
Perl's own handles.  Loops read and write with C<sysread> and
C<syswrite>, which go through the socket's rules (see below).

=head2 TLS

  use IO::Socket::SSL;
  my $sock = BSDSocket::create_connection(['example.org', 443], 10);
  IO::Socket::SSL->start_SSL($sock, SSL_hostname => 'example.org')
      or die "TLS: $SSL_ERROR";
  print {$sock} "GET / HTTP/1.0\r\nHost: example.org\r\n\r\n";

C<start_SSL> works on a socket with a timeout.  It re-blesses the object
into IO::Socket::SSL and ties its handle: from then on IO::Socket::SSL
does the reading and writing, with its own rules (its C<Timeout>, and
OpenSSL writes to the fd itself, which raises C<SIGPIPE> on a closed
peer unless the program ignores it: C<$SIG{PIPE} = 'IGNORE'>).  The
BSDSocket methods are no longer the object's methods, but the functions
still take it (C<BSDSocket::Socket::getpeername($sock)>).

=head1 ERRORS

Every failure dies with a L<BSDSocket::Error> object (or a subclass),
never a plain string: system call failures, argument errors (errno
EINVAL, including a wrong number of arguments, whose message is the
call's usage), bad addresses (op C<address>), a method called on
something that is not a live socket object.  The object has C<errno>,
C<errname>, C<message>, C<op>, C<address>, C<sent>, C<file> and C<line>;
it stringifies as C<"connect to 127.0.0.1:19997: Connection refused at
FILE line N.\n"> (the address where the call has one, the caller's file
and line; C<"recv: Connection reset by peer at FILE line N.\n"> where it
has none), numifies to the errno and is always true.
C<$!> is set to the errno of a failed system call too, so C<$!{EAGAIN}>
works.  See L<BSDSocket::Error>.

  use Errno qw(ECONNREFUSED);
  eval { $sock->connect(['127.0.0.1', $port]); 1 } or do {
      die $@ unless ref $@ && $@->errno == ECONNREFUSED;
      ...   # nobody there
  };

=head1 TIMEOUTS AND SIGNALS

Every call that can wait (C<accept>, C<connect>, C<recv>, C<recvfrom>,
C<recv_into>, C<recvfrom_into>, C<recvmsg>, C<recv_fds>, C<recv_many>,
C<recv_exact>, C<recv_until>,
C<send>, C<sendto>, C<sendall>, C<sendmsg>, C<send_fds>, C<send_many>,
C<sendfile>) goes through one driver in the C code (F<src/call.c>; the
first attempt is made directly, and anything but success goes to the
driver).  What it does depends on the socket's timeout (L</settimeout>):

=over 4

=item C<undef> (the default): blocking

The call waits as long as it takes.

=item C<0>: non-blocking

A call that would have to wait dies with C<EAGAIN> (C<EINPROGRESS> for
C<connect>).

=item a number of seconds

The call waits with C<poll> at most that long, then dies with
L<BSDSocket::Error::Timeout|BSDSocket::Error/BSDSocket::Error::Timeout>
(C<"recv: timed out at FILE line N.">).  The timeout is a deadline for
the whole call: C<sendall>, C<sendfile>, and a C<connect> or C<recv>
interrupted by signals, do not restart the clock.  Timeouts longer than C<poll> can
take in one go (24 days) work too.

=back

New sockets start with the default timeout (L</setdefaulttimeout>), and
so do sockets returned by C<accept>: they do not inherit the listener's.

=head2 deadline

  @result = BSDSocket::deadline($seconds, sub { ... })

A time budget over many calls: the code runs, and every BSDSocket call
inside it, on any socket, waits no later than C<$seconds> from now
(C<select> and the poller's C<poll> included), then dies with
L<BSDSocket::Error::Timeout|BSDSocket::Error/BSDSocket::Error::Timeout>
as the socket's own timeout would.  A per-call timeout cannot do that: a
peer that sends a byte every second keeps each C<recv> inside a 2-second
timeout for as long as it likes.

  my $reply = BSDSocket::deadline(5, sub {
      $sock->sendall($request);
      my $line = '';
      $line .= $sock->recv(1024) until $line =~ /\n/;
      $line;
  });

A socket's own timeout still counts when it is shorter; a blocking socket
waits until the deadline (a listener's fd is left non-blocking after an
C<accept> inside one, as after a timed C<accept>: see L</settimeout>); a
non-blocking one still dies C<EAGAIN> at once.  Deadlines nest, and an inner one never extends an outer one.
C<deadline> returns what the code returns, in the caller's context; an
exception from the code comes through, and no deadline is left in force
however the code leaves.  C<$seconds> is a number, 0 or more (0: only
what needs no waiting gets done); anything else dies C<EINVAL>.  A new
thread starts with no deadline.  Host-name lookups count too (see
L</getaddrinfo>).

The fd's C<O_NONBLOCK> flag follows C<getblocking>: set for timeout 0,
clear otherwise (but see L</settimeout> for a listener that has
accepted), so that code using the fd itself (another process, a module
handed C<fileno>, IO::Socket::SSL after C<start_SSL>) sees a blocking
socket as blocking.  BSDSocket's
own calls do not depend on the flag: a dup or another handle sharing the
fd may change it without changing the socket's timeout.

When a signal arrives during a wait, the call runs the Perl signal
handlers that are due (Perl defers them until it is safe), and then
carries on with what is left of its timeout.  A handler that returns
normally does not abort the call.  A handler that dies takes its
exception out of the call, and the socket is left as it was and usable:

  local $SIG{ALRM} = sub { die "timeout\n" };
  alarm 2;
  my $data = eval { $sock->recv(1024) };
  alarm 0;

If a handler closes the socket, the interrupted call dies with C<EBADF>;
if it drops the last reference to the socket, the call finishes first.
C<close> is never retried.

Sending never raises C<SIGPIPE>: a send to a closed peer dies with
C<EPIPE> (C<sendfile>, whose system call has no C<MSG_NOSIGNAL>, blocks
the signal for the call and takes back the one it raised).  Every fd
BSDSocket creates (C<socket>, C<socketpair>, C<accept>, C<fromfd>,
C<dup>, C<makefile>, and those C<recv_fds> and C<recvmsg> receive) is
close-on-exec, as Perl does for its
own handles above C<$^F>; L</set_inheritable> changes that for one.

=head1 THREADS AND FORK

After C<fork>, parent and child each own a copy of every fd.  A socket
object closes its own copy when it goes; it never calls C<shutdown>, so
the connection lives on in the other process until both have closed it.

A new Perl thread (L<threads>) gets a copy of every socket object, as it
does of every variable.  BSDSocket gives each copy a descriptor of its
own, a close-on-exec C<dup> of the original: both threads can use the
socket, each closes only its own descriptor, and nothing is closed twice
or under another thread.  The copy's handle is open on that descriptor
too (what the original's handle had read ahead stays with the
original).  (If the C<dup> fails, for want of descriptors, the thread's
copy starts closed.)  Like C<fork>, this means the
connection stays open until every thread has closed its copy; call
C<shutdown> to end it for all of them.

=head1 BATCHES

A UDP program that moves many small datagrams spends its time per
datagram, in the system call and in the kernel's UDP and IP code.
L</send_many> and L</recv_many> cut both: one call moves many datagrams
(C<sendmmsg>, C<recvmmsg>), and C<send_many> hands a run of datagrams of
one size to one address to the kernel as one buffer that UDP cuts into
those datagrams after routing (Linux's UDP GSO, C<UDP_SEGMENT>), so the
run goes through the stack once.  The receiver sees the same datagrams,
in the same order, either way.  C<send_many> finds the runs itself: at
most 64 datagrams and 60000 bytes each, all of one size but the last,
which may be shorter.  It uses them on UDP sockets of a kernel that
supports GSO (4.18 and later: it asks once per socket) unless you set
C<UDP_SEGMENT> yourself; a run the kernel refuses (a path MTU smaller
than its datagrams, a device without checksum offload) goes one
datagram at a time.

  # a UDP echo server: up to 64 datagrams per system call each way
  my $s = BSDSocket::socket(AF_INET, SOCK_DGRAM);
  $s->bind(['127.0.0.1', 9999]);
  while (1) {
      my @in = $s->recv_many(64, 2048);     # [$bytes, $address, $msg_flags] each
      $s->send_many(\@in);                  # each back to its sender
  }

  # a client sending 1000 datagrams
  my $sent = 0;
  $sent += $c->send_many([@msgs[$sent .. $#msgs]], $server) while $sent < @msgs;

A non-blocking or timed socket may take fewer datagrams than offered (its
send buffer is full): C<send_many> returns how many went, as C<send>
returns a short count, and the loop above sends the rest.

The receiving side has the same offload the other way (Linux's UDP GRO,
C<UDP_GRO>, 5.0 and later): the kernel may queue a run of datagrams from
one sender as one buffer, and one system call takes the whole run.  Turn
it on with C<< $sock->sockopt('UDP_GRO', 1) >> (or C<setsockopt>); it
counts for what arrives after that.  Each buffer is cut in C into its
datagrams, in order, each with its sender, so nothing you receive is
ever a run: C<recv_many> returns at most C<$count> items, and the
datagrams a run held beyond those wait in the socket.  Every later
receive on the socket (C<recv>, C<recvfrom>, the C<_into> forms,
C<recvmsg>, C<sysread> and the handle's reads, C<recv_many> again) takes
them first, one at a time, and L</pending> counts their bytes.

What waits in the socket is not in the kernel's queue, so nothing that
polls the descriptor sees it: L</select> and L<BSDSocket::Poller> report
such a socket (the object itself, not its fd number or a
C<makefile> handle) as readable, but an event loop that watches the fd
(IO::Select, EV, AnyEvent, Mojo) would wait for new traffic with
datagrams in hand.  Under one, after C<recv_many> ask
C<< $sock->pending >> (or C<select> with a timeout of 0) and go on
reading while something waits; that is why C<recv_many> does not turn
C<UDP_GRO> on by itself.

C<recvmsg> hands each datagram the control messages that came with its
run (C<IP_PKTINFO>, timestamps), never the C<UDP_GRO> one.  A peek
(C<MSG_PEEK>) takes the run from the kernel into the socket and leaves
the datagram there for the next receive.  A copy of the socket
(L</dup>, L</fromfd>, a new thread's) asks the kernel once whether
C<UDP_GRO> is on and cuts runs too, but the datagrams one object holds
are its own; turn C<UDP_GRO> on before making copies, through BSDSocket
(Perl's own C<setsockopt> on the handle goes unseen by a socket that
asked already).  A socket with C<UDP_GRO> on keeps a receive area of 64
KiB per buffer it reads into (up to 64 for a C<recv_many>, one for any
other receive), freed when it closes.

See L</PERFORMANCE> for what batching does to datagrams per second.

=head1 PERFORMANCE

A method call in Perl costs more than a builtin op: C<pp_method_named>
looks the name up in the object's class, and C<pp_entersub> wraps every
XSUB call in a scope.  For a 1-byte C<send> that is most of the
user-space work.  So BSDSocket gives the method ops of its own per-message
methods (C<send>, C<recv>, C<sendto>, C<recvfrom>, C<accept>,
C<connect>, C<close>, C<fileno>, C<sendall>, C<recv_into>,
C<recvfrom_into>, C<send_many>, C<recv_many>) a shortcut: when the object is a
C<BSDSocket::Socket> (not a subclass) and the method is still BSDSocket's,
the XSUB is called directly; anything else takes Perl's ordinary path.
Subclasses can override any method as usual.  (A profiler that hooks
Perl's ops, such as Devel::NYTProf, does not see these calls as method
calls; they are still timed as part of their statement.)

C<$lexical = $sock-E<gt>recv($n)> receives straight into C<$lexical>'s
buffer, as C<sysread> does, with no temporary copy and no allocation per
call.  Other results are read straight into a new string.  Addresses are
read-only values that remember their C<sockaddr>, so passing the address
C<recvfrom> returned back to C<sendto> costs no parsing.

One run of C<perl bench/run.pl> (7 rounds; medians, and the median of
each round's ratio), as it printed it, on a shared 2-core Linux VM,
perl 5.36, Python 3.11, 2026-11-25.  In W3B, C<C mmsg> uses C<sendmmsg>
and C<recvmmsg>, and C<C GSO> does in C what C<send_many> does underneath
(L</BATCHES>):

    W1: 1-byte ping-pong, socketpair, round trips/s
      variant             median             min - max       vs C  vs builtins
      C                   278675       253846 - 291355      1.00x        1.14x
      BSDSocket           254811       217573 - 267332      0.91x        1.01x
      builtins            250203       236261 - 255589      0.88x        1.00x
      IO::Socket          161041       143999 - 163529      0.57x        0.65x
      python3             226615       194170 - 228007      0.78x        0.89x

    W2: 64 KiB chunks, 1 GiB, two processes, MB/s
      variant             median             min - max       vs C  vs builtins
      C                     5437           3067 - 5808      1.00x        1.09x
      BSDSocket             5281            931 - 5780      1.00x        1.19x
      builtins              4498           3222 - 5139      0.92x        1.00x
      IO::Socket            4506           3490 - 5726      0.93x        1.00x
      python3               4569           1568 - 5632      0.94x        1.17x

    W3: 64-byte UDP lock-step, 127.0.0.1, datagrams/s
      variant             median             min - max       vs C  vs builtins
      C                   278496       250488 - 280980      1.00x        1.06x
      BSDSocket           251480       240771 - 257398      0.91x        0.96x
      builtins            257399       233284 - 264774      0.94x        1.00x
      IO::Socket          205778       187680 - 212449      0.75x        0.80x
      python3             215654       200406 - 220736      0.78x        0.84x

    W3B: 64-byte UDP, lock-step batches of 32, 127.0.0.1 (BSDSocket: send_many/recv_many; C, builtins, IO::Socket, python3, BSDSocket 1x1: a datagram per call), datagrams/s
      variant             median             min - max       vs C  vs builtins
      C                   283378       263072 - 285820      1.00x        1.09x
      BSDSocket           856891       770524 - 862522      3.02x        3.18x
      builtins            260670       246053 - 270742      0.92x        1.00x
      IO::Socket          218301       212613 - 220421      0.77x        0.83x
      python3             233964       227168 - 235409      0.82x        0.89x
      BSDSocket 1x1       265084       253838 - 268423      0.94x        1.01x
      C mmsg              356178       341046 - 360595      1.26x        1.37x
      C GSO              1109501      979120 - 1120232      3.93x        4.26x

    W4: connect+accept+close, 127.0.0.1, connections/s
      variant             median             min - max       vs C  vs builtins
      C                    16391         16273 - 28520      1.00x        1.04x
      BSDSocket            16235         15771 - 27789      0.98x        1.02x
      builtins             15898         15688 - 24414      0.96x        1.00x
      IO::Socket           14506         14315 - 15961      0.88x        0.91x
      python3              15862         15728 - 23389      0.96x        0.99x

    W4 system calls per connection (strace -f -c, 2000 minus 1000 connections):
      C            5.0  (accept4 1.0, close 2.0, connect 1.0, socket 1.0)
      BSDSocket    5.0  (accept4 1.0, close 2.0, connect 1.0, socket 1.0)
      builtins    17.0  (accept4 1.0, close 2.0, connect 1.0, fcntl 4.0, ioctl 4.0, lseek 4.0, socket 1.0)
      IO::Socket  17.0  (accept4 1.0, close 2.0, connect 1.0, fcntl 4.0, ioctl 4.0, lseek 4.0, socket 1.0)
      python3      6.0  (accept4 1.0, close 2.0, connect 1.0, getsockname 1.0, socket 1.0)

    W1 user-space instructions per round trip (callgrind, 40000 minus 20000 round trips):
      C                75    1.00x C    0.04x builtins
      BSDSocket      1621   21.62x C    0.79x builtins
      builtins       2053   27.37x C    1.00x builtins
      IO::Socket    15707   209.42x C    7.65x builtins
      python3        6072   80.96x C    2.96x builtins

W6 puts the socket to work as a Perl filehandle: C<print> a line,
C<readline> it on the other end, and back, against perl's own
C<socketpair> handles with C<autoflush> (C C<write>s the line and
C<read>s until its newline).  One run of C<perl bench/run.pl
--only w1,w6> (7 rounds), on the same kind of machine, 2026-12-03, after
the socket became a filehandle:

    W1: 1-byte ping-pong, socketpair, round trips/s
      variant             median             min - max       vs C  vs builtins
      C                   172590       148050 - 205535      1.00x        1.21x
      BSDSocket           169177       135150 - 184577      0.93x        1.15x
      builtins            142297       125950 - 163850      0.83x        1.00x
      IO::Socket           98340        81458 - 109956      0.53x        0.64x
      python3             134026       105469 - 150347      0.76x        0.96x

    W6: print a line, readline it, both ways, socketpair, round trips/s
      variant             median             min - max       vs C  vs builtins
      C                   174063       158494 - 185354      1.00x        1.30x
      BSDSocket           135554        93496 - 151479      0.76x        0.96x
      builtins            132300       100933 - 153235      0.77x        1.00x
      IO::Socket          100141        85525 - 132912      0.58x        0.85x
      python3              85311         57147 - 94209      0.47x        0.68x

    W1 user-space instructions per round trip (callgrind, 40000 minus 20000 round trips):
      C                75    1.00x C    0.04x builtins
      BSDSocket      1641   21.88x C    0.80x builtins
      builtins       2055   27.39x C    1.00x builtins
      IO::Socket    15817   210.90x C    7.70x builtins
      python3        6061   80.82x C    2.95x builtins

The machine is noisy (see the min - max columns); the ratios are taken
within each round, and the instruction counts do not depend on the
noise.  W2, bulk transfer between two processes, is the noisiest: across
runs BSDSocket's ratio to C has ranged from 0.89x to 1.00x with nothing
changed in between.  Run it yourself with C<perl Makefile.PL && make && perl
bench/run.pl>; C<perl bench/run.pl --help> lists its options
(C<--rounds>, C<--only>, C<--scale>, ...).

UDP with both offloads on (L</BATCHES>): C<send_many> sending runs with
GSO and C<recv_many> taking them with GRO (C<UDP_GRO> set on both
sockets).  W3B is the lock-step echo above; W3R the receive side alone,
1200-byte datagrams from a C sender that uses GSO, each receiver timed
from its first datagram to its 600000th (UDP drops what a receiver
cannot take).  C<C GSO+GRO> and C<C GRO> do in C what BSDSocket does
underneath, without making a Perl value per datagram.  One run of
C<perl bench/run.pl --only w3b,w3r --rounds 7> on the same kind of
machine, 2026-12-03:

    W3B: 64-byte UDP, lock-step batches of 32, 127.0.0.1 (BSDSocket: send_many/recv_many, UDP_GRO on; C, builtins, IO::Socket, python3, BSDSocket 1x1: a datagram per call), datagrams/s
      variant             median             min - max       vs C  vs builtins
      C                   229172       226032 - 261462      1.00x        1.06x
      BSDSocket          2010720     1952184 - 2040608      8.78x        9.39x
      builtins            214941       213324 - 216162      0.94x        1.00x
      IO::Socket          176439       166860 - 177482      0.77x        0.82x
      python3             187667       180457 - 188140      0.82x        0.87x
      BSDSocket 1x1       215956       214959 - 217250      0.94x        1.00x
      C mmsg              283088       276514 - 283827      1.23x        1.32x
      C GSO               893997       872132 - 898950      3.89x        4.16x
      C GSO+GRO          5769300     5523527 - 6395907     24.98x       26.76x

    W3R: 1200-byte UDP from a GSO sender, 127.0.0.1, received by: C, builtins, python3, BSDSocket 1x1: recvfrom, a datagram per call; BSDSocket: recv_many(64), UDP_GRO on; C mmsg: recvmmsg(64); C GRO: UDP_GRO recvmsg, datagrams/s
      variant             median             min - max       vs C  vs builtins
      C                   524660       486471 - 543252      1.00x        1.19x
      BSDSocket          1049256      993865 - 1147296      2.07x        2.47x
      builtins            432717       423923 - 464564      0.84x        1.00x
      python3             257981       244715 - 264543      0.49x        0.59x
      BSDSocket 1x1       386403       358082 - 391846      0.72x        0.87x
      C mmsg              611593       603054 - 626411      1.18x        1.40x
      C GRO              2927043     2838181 - 2991862      5.58x        6.66x

C<recv_many> takes runs at twice the rate of C receiving one datagram
per call, and a third of C on GRO: what is left is the Perl value per
datagram (an array, a 1200-byte string, its address and flags, made and
freed again), about 2600 instructions per datagram with the loop that
reads it (callgrind).

W5 is an event-loop server: 1000 TCP connections in lock-step, 64-byte
messages from a C load generator with its own epoll loop on one CPU, the
server on the other (C<taskset>), its CPU time per round trip read from
F</proc>, and its user-space instructions per round trip counted by
callgrind.  The BSDSocket::Poller server is the loop of
L<BSDSocket::Poller>'s SYNOPSIS, with C<poll_items>.  Most of a server's
time is the kernel's (for C, nearly all of it is system time), and the
C and Poller servers make the same system calls per round trip (a
C<recvfrom> and a C<sendto>; C<epoll_wait> returns hundreds of events
at a time).
One run of C<perl bench/run.pl --only w5 --rounds 11 --no-strace>,
2026-12-03:

    W5: 64-byte echo servers, 1000 TCP connections in lock-step, 127.0.0.1, round trips/s
      variant                   median             min - max vs C epoll
      C epoll                   150671       138369 - 153900      1.00x
      BSDSocket::Poller         136964       113949 - 145850      0.94x
      BSDSocket EV              137574        95122 - 142741      0.90x
      BSDSocket IO::Async       110858        93865 - 131229      0.74x
      EV IO::Socket             104927        82656 - 115550      0.70x
      IO::Poll                   94820        85186 - 107573      0.64x
      Mojo::IOLoop               42678         32865 - 45510      0.28x
      python3 selectors         128550       117186 - 129760      0.84x
      python3 asyncio            21470         19339 - 23338      0.14x
      python3 uvloop            128841       110906 - 131971      0.84x

    W5 server CPU time per round trip (microseconds, its utime + stime over the timed echoes):
      C epoll                6.53    1.00x C epoll
      BSDSocket::Poller      7.20    1.07x C epoll
      BSDSocket EV           7.27    1.11x C epoll
      BSDSocket IO::Async    9.00    1.38x C epoll
      EV IO::Socket          9.53    1.46x C epoll
      IO::Poll              10.40    1.58x C epoll
      Mojo::IOLoop          23.47    3.59x C epoll
      python3 selectors      7.80    1.20x C epoll
      python3 asyncio       46.40    7.05x C epoll
      python3 uvloop         7.73    1.21x C epoll
      the server ran on CPU 0, the load generator on CPU 1 (taskset)
      python3 uvloop runs on /usr/bin/python3, python3 3.11.2: the python3 above has no uvloop
      Mojo::IOLoop on Mojo::Reactor::EV, IO::Async on IO::Async::Loop::Epoll

    W5 server user-space instructions per round trip (callgrind, 40000 minus 20000 round trips):
      C epoll                  58      1.0x C epoll
      BSDSocket::Poller      2003     34.5x C epoll
      BSDSocket EV           2271     39.1x C epoll

The Poller server's instructions per round trip, by the loop it runs
(callgrind, the same W5 server): 4532 with C<poll> before C<poll_into>
was there, 3470 with C<poll_into> as it first was, and now 4076 with
C<poll>, 3181 with C<poll_into> and 2003 with C<poll_items>.  Of those
2003, about 450 are perl's own C<$item == $listener> (comparing two
references makes two temporary numbers), and most of the rest is perl
running the loop's ops; C<recv> and C<sendall> take about 320 and 270.

=head1 PLATFORMS

BSDSocket is written for Linux (glibc and musl), FreeBSD, OpenBSD, NetBSD
and macOS, with perl 5.22 or newer, threaded or not.  C<perl Makefile.PL>
probes the platform (it compiles a few lines for each call below, and
prints what it found); what a platform lacks, a portable stand-in
replaces, giving the caller the same results (the differences are listed
below) for usually one or two more system calls.  L</platform> says which
ones a build uses.  The project's CI runs the tests on Linux with glibc,
on a perl without threads, and on a build that uses every stand-in
(C<BSDSOCKET_PORTABLE=1>), and compiles every C file with Linux's and
glibc's extras hidden and against musl's headers; it has no BSD or macOS
machine, so there the tests have yet to run.

  name              the platform's own            the stand-in
  sock_flags        SOCK_CLOEXEC, SOCK_NONBLOCK   fcntl after socket()
  accept4           accept4                       accept, then fcntl
  msg_nosignal      MSG_NOSIGNAL on every send    SO_NOSIGPIPE (macOS), or
  so_nosigpipe                                    SIGPIPE blocked and taken
                                                  back around each send
  msg_cmsg_cloexec  MSG_CMSG_CLOEXEC              fcntl on each received fd
  mmsg              sendmmsg, recvmmsg            one sendmsg or recvmsg
                                                  per datagram
  udp_gso           UDP_SEGMENT (send_many)       one datagram at a time
  udp_gro           UDP_GRO (recv_many)           one datagram at a time
  linux_sendfile    sendfile(2) (Linux)           read and send, 64 KiB at
                                                  a time
  epoll             epoll (the Poller's default)  poll
  so_domain         SO_DOMAIN (fromfd)            getsockname's family
  so_protocol       SO_PROTOCOL (fromfd)          0 (the family's default)
  gethostbyname_r   glibc's _r calls              getaddrinfo, getnameinfo
  getservbyname_r                                 (tcp and udp services)
  getprotobyname_r                                getprotobyname, locked
  linux_tcp_info    Linux's struct tcp_info       none: sockopt('TCP_INFO')
                                                  dies ENOSYS
  linux_families    AF_NETLINK, AF_PACKET,        [$family, $bytes], as any
                    AF_VSOCK, AF_ALG addresses    other family
  sigtimedwait      sigtimedwait (SIGPIPE)        sigwait (OpenBSD)
  sa_len            sockaddrs carry their length  (Linux has no such field)
  abstract_unix     Linux's abstract AF_UNIX      none: dies ENOSYS
                    names
  linux_cmsg        Linux's control message       none: the number means
                    numbers (the pidfd's 4)       something else elsewhere

What nothing can stand in for dies with C<ENOSYS> and a message that says
what is missing: an abstract C<AF_UNIX> name (a leading C<"\0">) outside
Linux, a constant the platform lacks (see L</EXPORTS>), and
C<Poller-E<gt>new(backend =E<gt> 'epoll')> without epoll (the default
backend is then C<poll>).  Where the BSDs and macOS differ in what they
give back, BSDSocket gives the same: an unnamed C<AF_UNIX> socket's
address is C<''> everywhere (they give a C<sun_path> of NULs, Linux no
bytes at all), and only Linux's control message 4 is taken for a pidfd
(elsewhere that number is another message).  Without C<MSG_CMSG_CLOEXEC>
a received fd is close-on-exec a moment after it arrives, and without
C<SOCK_CLOEXEC> a new socket a moment after it is made: an C<exec> in
another thread in between takes it along.  Without the C<_r> calls,
C<gethostbyname_ex> and C<gethostbyaddr> give no aliases, and
C<getservbyname> and C<getservbyport> know C<tcp> and C<udp> only.
Where C<SO_NOSIGPIPE> stands in for C<MSG_NOSIGNAL>, C<fromfd> sets it on
the socket it adopts, which the caller's own fd shares: writes through
that fd then get C<EPIPE> instead of C<SIGPIPE> too.  The C<recv_many>
stand-in takes what is queued after the first datagram only while the
socket holds no error, which it leaves for the next call, as
C<recvmmsg> does.

C<BSDSOCKET_PORTABLE=1> in the environment of C<perl Makefile.PL> builds
with every stand-in even on Linux, and the tests pass on that build too
(the project's CI runs them so).

=head1 TESTING

C<perl Makefile.PL && make test> runs the suite; it talks only to
loopback and to AF_UNIX paths in temporary directories.  Beyond the
per-call tests it has a seeded fuzz test (F<t/91-fuzz.t>: 30,000 random
argument values through 60 kinds of call by default, 200,000 under
AddressSanitizer in CI), leak tests around every call and its die paths
(Test::LeakTrace), fault tests (descriptor exhaustion, errors injected
with C<strace>, peers that reset or die mid-transfer) and stability tests
(descriptor counts over 1000 cycles, memory over 200,000 round trips).
F<t/README> in the distribution lists every fault case and how to replay
a fuzz seed; F<xt/asan.sh> and F<xt/valgrind.sh> are the sanitizer and
memcheck passes CI runs.

=head1 SEE ALSO

L<BSDSocket::Poller>, for waiting on many sockets; L<BSDSocket::Error>;
L<Socket>, the core module with the same constants and functional
pack/unpack helpers; L<IO::Socket::IP>, the handle-based interface that
does IPv4 and IPv6; Python's C<socket> module, whose design this follows.
The examples in F<eg/>: F<echo-server.pl> and F<echo-client.pl> (the
echo pair of Python's socket documentation, in Perl), F<poller-echo-server.pl> (many clients on one poller),
F<udp-echo.pl> (datagrams in batches) and F<fd-passing.pl> (a file
descriptor handed to another process).

=head1 AUTHOR

The BSDSocket maintainers.

=head1 LICENSE

Copyright 2026 the BSDSocket maintainers.

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
