use strict;
use warnings;
use Test::More;
use Errno qw(EINVAL);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);
use POSIX ();

# gethostbyname: /etc/hosts and literals only, never DNS
is(BSDSocket::gethostbyname('localhost'), '127.0.0.1', 'localhost');
is(BSDSocket::gethostbyname('10.1.2.3'), '10.1.2.3', 'an IPv4 literal comes back unchanged');
is(BSDSocket::gethostbyname(''), '0.0.0.0', "'' is INADDR_ANY");
is(BSDSocket::gethostbyname('<broadcast>'), '255.255.255.255', "'<broadcast>'");
{
    my $host = no_dns_host();
    my $e = dies_with(sub { BSDSocket::gethostbyname($host) }, class => 'BSDSocket::Error::Host',
                      op => 'gethostbyname', message => qr/\Q$host\E/,
                      name => 'an unknown host dies with BSDSocket::Error::Host');
    ok($e && defined $e->errname && $e->errname =~ /^(HOST_NOT_FOUND|NO_RECOVERY|NO_DATA|TRY_AGAIN)$/,
       'its errname is an h_errno name: ' . ($e && $e->errname // 'undef'));
    ok($e && $e->isa(BSDSocket::error), '... and it isa BSDSocket::error');
}
dies_with(sub { BSDSocket::gethostbyname("local\0host") }, errno => EINVAL, op => 'gethostbyname',
          message => qr/NUL character inside host name/, name => 'NUL inside a name dies');
dies_with(sub { BSDSocket::gethostbyname(undef) }, errno => EINVAL, op => 'gethostbyname',
          message => qr/host name must be a string/, name => 'undef dies');
dies_with(sub { BSDSocket::gethostbyname("\x{263a}") }, errno => EINVAL, op => 'gethostbyname',
          message => qr/Wide character in host name/, name => 'a wide character dies');

SKIP: {
    skip 'no /etc/services (Debian: netbase)', 7 unless -r '/etc/services';
    is(BSDSocket::getservbyname('http', 'tcp'), 80, 'getservbyname http/tcp');
    is(BSDSocket::getservbyname('domain', 'udp'), 53, 'getservbyname domain/udp');
    is(BSDSocket::getservbyname('ssh'), 22, 'getservbyname with any protocol');
    is(BSDSocket::getservbyname('ssh', undef), 22, '... undef protocol is any');
    my $e = dies_with(sub { BSDSocket::getservbyname('no-such-service') }, op => 'getservbyname',
                      errno => undef, message => qr/service 'no-such-service' not found/,
                      name => 'an unknown service dies');
    dies_with(sub { BSDSocket::getservbyname('http', 'nosuchproto') }, op => 'getservbyname',
              message => qr/for protocol nosuchproto/, name => 'an unknown protocol dies');
    dies_with(sub { BSDSocket::getservbyname("ht\0tp") }, op => 'getservbyname', errno => EINVAL,
              message => qr/NUL character inside service/, name => 'NUL inside a service name dies');
}

# ------------------------------------------------------------ getaddrinfo

{
    my @r = BSDSocket::getaddrinfo('127.0.0.1', 80, AF_INET, SOCK_STREAM);
    is(scalar @r, 1, 'getaddrinfo for a numeric host and a type');
    my ($family, $type, $proto, $canon, $address) = @{ $r[0] };
    is($family, AF_INET, '... family');
    is($type, SOCK_STREAM, '... type');
    is($proto, IPPROTO_TCP, '... protocol');
    is($canon, '', '... no canonical name unless asked');
    is_deeply($address, ['127.0.0.1', 80], '... the address in the form connect takes');
    my $s = BSDSocket::socket($family, $type, $proto);
    my $l = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $l->bind(['127.0.0.1', 0]);
    $l->listen(1);
    my ($e) = BSDSocket::getaddrinfo('127.0.0.1', $l->getsockname->[1], AF_INET, SOCK_STREAM);
    $s->connect($e->[4]);
    ok(scalar $l->accept, '... which connect takes unchanged');

    my @c = BSDSocket::getaddrinfo('localhost', 'http', AF_INET, SOCK_STREAM, 0, AI_CANONNAME);
    is($c[0][3], 'localhost', 'AI_CANONNAME gives the canonical name');
    is($c[0][4][1], 80, 'a service name as the port');
    my @p = BSDSocket::getaddrinfo(undef, '8080', AF_INET, SOCK_STREAM, 0, AI_PASSIVE);
    is_deeply($p[0][4], ['0.0.0.0', 8080], 'undef host with AI_PASSIVE is the wildcard');
    my @l = BSDSocket::getaddrinfo(undef, 8080, AF_INET, SOCK_STREAM);
    is_deeply($l[0][4], ['127.0.0.1', 8080], 'undef host without it is loopback');
    my @u = BSDSocket::getaddrinfo('127.0.0.1', undef, AF_INET, SOCK_DGRAM);
    is($u[0][4][1], 0, 'undef port is 0');
    SKIP: {
        skip 'no IPv6', 1 unless BSDSocket::has_ipv6();
        my @six = BSDSocket::getaddrinfo('::1', 443, AF_INET6, SOCK_STREAM);
        is_deeply($six[0][4], ['::1', 443, 0, 0], 'an IPv6 result in the AF_INET6 form');
    }

    my $gai = sub {
        my ($code, $name, %want) = @_;
        dies_with($code, class => 'BSDSocket::Error::GAI', op => 'getaddrinfo', name => $name, %want);
    };
    my $e1 = $gai->(sub { BSDSocket::getaddrinfo('127.0.0.1', 'no-such-service', AF_INET, SOCK_STREAM) },
                    'an unknown service name dies GAI');
    ok($e1 && $e1->errname =~ /^EAI_(?:SERVICE|NONAME)\z/, '... ' . ($e1 && $e1->errname));
    my $e2 = $gai->(sub { BSDSocket::getaddrinfo('1.2.3.4.5', 80, 0, 0, 0, AI_NUMERICHOST) },
                    'an unknown numeric form with AI_NUMERICHOST dies GAI');
    is($e2 && $e2->errname, 'EAI_NONAME', '... EAI_NONAME');
    my $e3 = $gai->(sub { BSDSocket::getaddrinfo('localhost', 80, 0, 0, 0, AI_NUMERICHOST) },
                    'AI_NUMERICHOST with a name dies GAI');
    is($e3 && $e3->errname, 'EAI_NONAME', '... EAI_NONAME');
    $gai->(sub { BSDSocket::getaddrinfo('127.0.0.1', 80, 12345) }, 'an unknown family dies GAI');
    $gai->(sub { BSDSocket::getaddrinfo(no_dns_host(), 80) }, 'an unresolvable name dies GAI');
    $gai->(sub { BSDSocket::getaddrinfo(undef, undef) }, 'no host and no port dies GAI');
    dies_with(sub { BSDSocket::getaddrinfo('127.0.0.1', 70000) }, errno => EINVAL, op => 'getaddrinfo',
              message => qr/port must be an integer in 0\.\.65535 or a service name/,
              name => 'port 70000 dies EINVAL');
    dies_with(sub { BSDSocket::getaddrinfo("local\0host", 80) }, errno => EINVAL, op => 'getaddrinfo',
              message => qr/NUL character inside host/, name => 'NUL inside the host dies');
    dies_with(sub { BSDSocket::getaddrinfo('127.0.0.1', 80, 'inet') }, errno => EINVAL, op => 'getaddrinfo',
              message => qr/family must be an integer/, name => 'a family that is no number dies');
}

# ------------------------------------------------------------ getnameinfo

SKIP: {
    skip 'no /etc/services', 6 unless -r '/etc/services';
    my ($host, $service) = BSDSocket::getnameinfo(['127.0.0.1', 22]);
    is($host, 'localhost', 'getnameinfo: the name from /etc/hosts');
    is($service, 'ssh', '... and the service');
    ($host, $service) = BSDSocket::getnameinfo(['127.0.0.1', 22], NI_NUMERICHOST | NI_NUMERICSERV);
    is("$host $service", '127.0.0.1 22', 'NI_NUMERICHOST | NI_NUMERICSERV');
    my $e = dies_with(sub { BSDSocket::getnameinfo(['localhost', 22]) }, class => 'BSDSocket::Error::GAI',
                      op => 'getnameinfo', message => qr/not a numeric address/,
                      name => 'a name instead of an address dies GAI');
    is($e && $e->errname, 'EAI_NONAME', '... EAI_NONAME');
    dies_with(sub { BSDSocket::getnameinfo('/tmp/sock') }, errno => EINVAL, op => 'getnameinfo',
              name => 'a path is no AF_INET address');
}
dies_with(sub { BSDSocket::getnameinfo(['127.0.0.1', 99999]) }, errno => EINVAL, op => 'address',
          name => 'getnameinfo: port out of range');
dies_with(sub { BSDSocket::getnameinfo(['127.0.0.1', 1], -1) }, class => 'BSDSocket::Error::GAI',
          op => 'getnameinfo', name => 'getnameinfo: bad flags die GAI');

# the address is converted once, numeric only: an object with string
# overloading, or a tied element, is held to that rule like a string
{
    package HostObject;
    use overload '""' => sub { ${ $_[0] } }, fallback => 1;
}
{
    package CountingHost;
    our $fetches = 0;
    sub TIESCALAR { bless [$_[1]], $_[0] }
    sub FETCH { $fetches++; $_[0][0] }
    sub STORE { }
}
{
    my $numeric = NI_NUMERICHOST | NI_NUMERICSERV;
    my $object = sub { bless \(my $h = $_[0]), 'HostObject' };
    my $e = dies_with(sub { BSDSocket::getnameinfo([$object->('localhost'), 22]) },
                      class => 'BSDSocket::Error::GAI', op => 'getnameinfo', message => qr/not a numeric address/,
                      name => 'getnameinfo: an object whose string is a name dies GAI (it is not resolved)');
    is($e && $e->errname, 'EAI_NONAME', '... EAI_NONAME');
    is(join(' ', eval { BSDSocket::getnameinfo([$object->('127.0.0.1'), 22], $numeric) }), '127.0.0.1 22',
       'an object whose string is 127.0.0.1 works') or diag $@;
    is(join(' ', eval { BSDSocket::getnameinfo([$object->('::1'), 22], $numeric) }), '::1 22',
       '... and one whose string is ::1 (an IPv6 address, from its string)') or diag $@;

    my @addr = (undef, 22);
    tie $addr[0], 'CountingHost', 'localhost';
    $e = dies_with(sub { BSDSocket::getnameinfo(\@addr) }, class => 'BSDSocket::Error::GAI', op => 'getnameinfo',
                   name => 'a tied host element that says a name dies GAI');
    is($e && $e->errname, 'EAI_NONAME', '... EAI_NONAME');
    is($CountingHost::fetches, 1, '... and it was fetched once');
    for my $host ('127.0.0.1', '::1') {
        $CountingHost::fetches = 0;
        my @tied = (undef, 22);
        tie $tied[0], 'CountingHost', $host;
        is(join(' ', eval { BSDSocket::getnameinfo(\@tied, $numeric) }), "$host 22",
           "a tied host element that says $host works") or diag $@;
        is($CountingHost::fetches, 1, '... fetched exactly once');
    }
}

# ---------------------------------------------- the gethostbyname family

{
    my ($name, $aliases, $addrs) = BSDSocket::gethostbyname_ex('localhost');
    is($name, 'localhost', 'gethostbyname_ex: the name');
    is(ref $aliases, 'ARRAY', '... aliases');
    is_deeply($addrs, ['127.0.0.1'], '... addresses');
    ($name, $aliases, $addrs) = BSDSocket::gethostbyname_ex('10.9.8.7');
    is_deeply($addrs, ['10.9.8.7'], 'gethostbyname_ex of a literal');
    dies_with(sub { BSDSocket::gethostbyname_ex(no_dns_host()) }, class => 'BSDSocket::Error::Host',
              op => 'gethostbyname_ex', name => 'gethostbyname_ex of an unknown host dies Host');
    dies_with(sub { BSDSocket::gethostbyname_ex(undef) }, errno => EINVAL, op => 'gethostbyname_ex',
              name => 'gethostbyname_ex(undef) dies EINVAL');

    ($name, $aliases, $addrs) = BSDSocket::gethostbyaddr('127.0.0.1');
    is($name, 'localhost', 'gethostbyaddr: the name from /etc/hosts');
    is_deeply($addrs, ['127.0.0.1'], '... and the address');
    dies_with(sub { BSDSocket::gethostbyaddr('localhost') }, errno => EINVAL, op => 'gethostbyaddr',
              message => qr/not an IPv4 or IPv6 address/, name => 'gethostbyaddr wants an address');
    dies_with(sub { BSDSocket::gethostbyaddr("127.0.0.1\0") }, errno => EINVAL, op => 'gethostbyaddr',
              name => 'gethostbyaddr: NUL inside dies');

    my $me = BSDSocket::gethostname();
    is($me, (POSIX::uname())[1], 'gethostname is the node name');
    dies_with(sub { BSDSocket::gethostname(1) }, errno => EINVAL, op => 'gethostname',
              message => qr/Usage/, name => 'gethostname takes no arguments');
}

SKIP: {
    skip 'no /etc/services or /etc/protocols', 9 unless -r '/etc/services' && -r '/etc/protocols';
    is(BSDSocket::getservbyport(80, 'tcp'), 'http', 'getservbyport');
    is(BSDSocket::getservbyport(53), 'domain', 'getservbyport with any protocol');
    dies_with(sub { BSDSocket::getservbyport(64999, 'tcp') }, op => 'getservbyport', errno => undef,
              message => qr/no service on port 64999/, name => 'a port with no service dies');
    dies_with(sub { BSDSocket::getservbyport(70000) }, op => 'getservbyport', errno => EINVAL,
              message => qr/port must be an integer in 0\.\.65535/, name => 'getservbyport(70000) dies EINVAL');
    is(BSDSocket::getprotobyname('tcp'), 6, 'getprotobyname tcp');
    is(BSDSocket::getprotobyname('udp'), 17, 'getprotobyname udp');
    dies_with(sub { BSDSocket::getprotobyname('nosuchproto') }, op => 'getprotobyname', errno => undef,
              message => qr/protocol 'nosuchproto' not found/, name => 'an unknown protocol dies');
    dies_with(sub { BSDSocket::getprotobyname("t\0cp") }, op => 'getprotobyname', errno => EINVAL,
              name => 'NUL inside a protocol name dies');
    dies_with(sub { BSDSocket::getprotobyname([]) }, op => 'getprotobyname', errno => EINVAL,
              name => 'a reference is no protocol name');
}

# ---------------------------------------------------------------- helpers

{
    is(BSDSocket::inet_aton('127.0.0.1'), "\x7f\0\0\1", 'inet_aton');
    is(BSDSocket::inet_aton('127.1'), "\x7f\0\0\1", 'inet_aton takes the short forms');
    for my $bad ('', 'localhost', '256.1.1.1', "1.2.3.4\0", '1.2.3.4 ') {
        dies_with(sub { BSDSocket::inet_aton($bad) }, errno => EINVAL, op => 'inet_aton',
                  name => "inet_aton('" . ($bad =~ s/\0/\\0/r) . "') dies, no resolver");
    }
    is(BSDSocket::inet_ntoa("\x0a\x00\x00\x01"), '10.0.0.1', 'inet_ntoa');
    for my $bad ('', 'abc', "\0" x 5, "\x{100}\0\0\0") {
        dies_with(sub { BSDSocket::inet_ntoa($bad) }, errno => EINVAL, op => 'inet_ntoa',
                  name => 'inet_ntoa of ' . length($bad) . ' characters dies');
    }
    is(BSDSocket::inet_pton(AF_INET, '192.0.2.1'), "\xc0\x00\x02\x01", 'inet_pton AF_INET');
    is(length BSDSocket::inet_pton(AF_INET6, '2001:db8::1'), 16, 'inet_pton AF_INET6');
    is(BSDSocket::inet_ntop(AF_INET6, BSDSocket::inet_pton(AF_INET6, '2001:db8:0::1')), '2001:db8::1',
       'inet_ntop AF_INET6 (canonical form)');
    is(BSDSocket::inet_ntop(AF_INET, "\x7f\0\0\1"), '127.0.0.1', 'inet_ntop AF_INET');
    dies_with(sub { BSDSocket::inet_pton(AF_INET, '127.1') }, errno => EINVAL, op => 'inet_pton',
              name => 'inet_pton is strict (no short forms)');
    dies_with(sub { BSDSocket::inet_pton(AF_INET6, '::1::') }, errno => EINVAL, op => 'inet_pton',
              name => 'inet_pton: a bad IPv6 address');
    dies_with(sub { BSDSocket::inet_pton(AF_UNIX, 'x') }, errno => Errno::EAFNOSUPPORT(), op => 'inet_pton',
              name => 'inet_pton: AF_UNIX dies EAFNOSUPPORT');
    dies_with(sub { BSDSocket::inet_ntop(AF_INET6, "\0" x 4) }, errno => EINVAL, op => 'inet_ntop',
              message => qr/must be 16 bytes, got 4/, name => 'inet_ntop: wrong length for the family');
    dies_with(sub { BSDSocket::inet_ntop(12345, "\0" x 4) }, errno => Errno::EAFNOSUPPORT(), op => 'inet_ntop',
              name => 'inet_ntop: unknown family');

    is(BSDSocket::htons(1), unpack('S', pack('n', 1)), 'htons');
    is(BSDSocket::ntohs(BSDSocket::htons(0x1234)), 0x1234, 'ntohs undoes htons');
    is(BSDSocket::htonl(1), unpack('L', pack('N', 1)), 'htonl');
    is(BSDSocket::ntohl(BSDSocket::htonl(0xdeadbeef)), 0xdeadbeef, 'ntohl undoes htonl');
    # 32-bit values are unsigned, the whole range (a perl whose IVs are 32
    # bits once took 0xffffffff for its bound, as -1)
    for my $fn ('htonl', 'ntohl') {
        my $f = BSDSocket->can($fn);
        for my $case ([0, 0], [1, unpack('L', pack('N', 1))], [4294967295, 4294967295],
                      ['4294967295', 4294967295, "'4294967295'"], [4294967295.0, 4294967295, '4294967295.0'],
                      [0x01020304, unpack('L', pack('N', 0x01020304))]) {
            my ($v, $want, $label) = @$case;
            is(eval { $f->($v) }, $want, "$fn(" . ($label // $v) . ")") or diag $@;
        }
        for my $v (4294967296, '4294967296', -1, '-1', 2**40) {
            my $label = ($v ^ $v) ? "'$v'" : $v;      # (a string, or a number)
            dies_with(sub { $f->($v) }, errno => EINVAL, op => $fn,
                      message => qr/value must be an integer in 0\.\.4294967295\b/,
                      name => "$fn($label) dies EINVAL, naming 0..4294967295");
        }
    }
    for my $case ([htons => 70000], [htons => -1], [ntohs => 65536], [htonl => 2**32], [htonl => -1],
                  [ntohl => 1.5], [htons => 'x'], [ntohl => undef]) {
        my ($fn, $v) = @$case;
        dies_with(sub { BSDSocket->can($fn)->($v) }, errno => EINVAL, op => $fn,
                  message => qr/value must be an integer in 0\.\./,
                  name => "$fn(" . ($v // 'undef') . ') dies, no silent wrap');
    }
}

# a reverse lookup that finds nothing: in a mount namespace of its own,
# the child sees an nsswitch.conf that says hosts come from /etc/hosts
# only, so no DNS server is ever asked
SKIP: {
    my ($unshare, $sh) = (have_program('unshare'), have_program('sh'));
    skip 'no unshare', 2 unless $unshare && $sh;
    skip 'cannot make a mount namespace here', 2
        unless system("$unshare -m $sh -c 'mount --bind /dev/null /dev/null' >/dev/null 2>&1") == 0;
    my $dir = temp_dir();
    open my $conf, '>', "$dir/nsswitch.conf" or die $!;
    print {$conf} "hosts: files\n";
    close $conf;
    my $code = <<'PERL';
use BSDSocket;
$| = 1;
for my $ip ('192.0.2.1', '2001:db8::1') {
    eval { BSDSocket::gethostbyaddr($ip); 1 } and do { print "found\n"; next };
    print join(',', ref $@, $@->op, $@->errname // '', $@->message), "\n";
}
PERL
    open my $out, '-|', $unshare, '-m', $sh, '-c', 'mount --bind "$1" /etc/nsswitch.conf && shift && exec "$@"',
        'sh', "$dir/nsswitch.conf", perl_cmd('-e', $code) or die "unshare: $!";
    chomp(my @lines = <$out>);
    close $out;
    like($lines[0] // '', qr/^BSDSocket::Error::Host,gethostbyaddr,HOST_NOT_FOUND,\S/,
         'gethostbyaddr of an IPv4 address no one names dies with BSDSocket::Error::Host');
    like($lines[1] // '', qr/^BSDSocket::Error::Host,gethostbyaddr,HOST_NOT_FOUND,\S/,
         '... and of an IPv6 one');
}

# numeric hosts never reach the resolver
SKIP: {
    my $strace = have_program('strace');
    skip 'strace is not installed', 2 unless $strace;
    skip 'strace cannot trace here', 2 unless system("$strace -f -o /dev/null true >/dev/null 2>&1") == 0;
    my $log = temp_dir() . '/trace';
    # (the IPv6 calls are in evals: where ::1 cannot be used they fail,
    # and what is checked is only that they ask no resolver)
    my $code = <<'PERL';
use BSDSocket qw(:all);
my $l = BSDSocket::create_server(['127.0.0.1', 0]);
open my $n, ">", "/dev/null"; syswrite $n, "MARK";
my $s = BSDSocket::socket(AF_INET, SOCK_DGRAM);
$s->connect(["127.0.0.1", 9]);
$s->sendto("x", ["127.0.0.1", 9]);
BSDSocket::gethostbyname("192.0.2.7");
BSDSocket::gethostbyname_ex("192.0.2.7");
BSDSocket::getaddrinfo("192.0.2.7", 80);
BSDSocket::getnameinfo(["192.0.2.7", 80], NI_NUMERICHOST | NI_NUMERICSERV);
BSDSocket::inet_aton("192.0.2.7");
BSDSocket::create_connection($l->getsockname, 5);
eval { BSDSocket::socket(AF_INET6, SOCK_DGRAM)->connect(["::1", 9]) };
eval { BSDSocket::getaddrinfo("::1", 80) };
syswrite $n, "DONE";
PERL
    system($strace, '-f', '-o', $log, '-e', 'trace=openat,connect,write', perl_cmd('-e', $code));
    is($?, 0, 'the child made every call');
    open my $fh, '<', $log or die $!;
    my @after;
    while (<$fh>) { @after = () if /MARK/; push @after, $_ }
    my @resolver = grep { m{/etc/(hosts|host\.conf|nsswitch|resolv|gai)|nscd} } @after;
    is(scalar @resolver, 0, 'numeric hosts open no resolver file and no nscd socket')
        or diag @resolver;
}

# a host given as an object or a tied element, that is a name: getnameinfo
# refuses it without asking any resolver
SKIP: {
    my $strace = have_program('strace');
    skip 'strace is not installed', 4 unless $strace;
    skip 'strace cannot trace here', 4 unless system("$strace -f -o /dev/null true >/dev/null 2>&1") == 0;
    my $log = temp_dir() . '/trace';
    my $code = <<'PERL';
use BSDSocket qw(:all);
{ package HostObject; use overload '""' => sub { ${ $_[0] } }, fallback => 1; }
{ package TiedHost; sub TIESCALAR { bless [$_[1]], $_[0] } sub FETCH { $_[0][0] } sub STORE { } }
$| = 1;
sub report { my ($k, $code) = @_; my @r = eval { $code->() }; print "$k=", (@r ? "@r" : ref $@ ? join(',', ref $@, $@->errname // '') : "plain: $@"), "\n" }
my @tied = (undef, 22);
tie $tied[0], 'TiedHost', 'localhost';
open my $n, ">", "/dev/null"; syswrite $n, "MARK";
report(object => sub { BSDSocket::getnameinfo([bless(\(my $h = 'localhost'), 'HostObject'), 22]) });
report(tied => sub { BSDSocket::getnameinfo(\@tied) });
syswrite $n, "DONE";
PERL
    open my $out, '-|', $strace, '-f', '-o', $log, '-e', 'trace=openat,connect,write', perl_cmd('-e', $code)
        or die "strace: $!";
    my %r = map { /^(\w+)=(.*)$/ ? ($1, $2) : () } <$out>;
    close $out;
    is_deeply([@r{qw(object tied)}], [('BSDSocket::Error::GAI,EAI_NONAME') x 2],
              'getnameinfo of an object or a tied element that says localhost dies EAI_NONAME')
        or diag explain \%r;
    open my $fh, '<', $log or die $!;
    my (@between, $in);
    while (<$fh>) {
        $in = 1, next if /MARK/;
        last if /DONE/;
        push @between, $_ if $in;
    }
    ok($in, '(the trace has the calls)');
    my @resolver = grep { m{/etc/(hosts|host\.conf|nsswitch|resolv|gai)|nscd} } @between;
    is(scalar @resolver, 0, '... and asks no resolver: no resolver file, no nscd socket')
        or diag @resolver;
    ok(!grep({ /\bconnect\(/ } @between), '... nor connects anywhere') or diag grep { /\bconnect\(/ } @between;
}

done_testing;
