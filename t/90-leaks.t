use strict;
use warnings;
use Test::More;
use Errno qw(EAFNOSUPPORT EAGAIN EBADF EINVAL ENOTCONN EOPNOTSUPP);

BEGIN {
    eval { require Test::LeakTrace; Test::LeakTrace->import; 1 }
        or plan skip_all => 'Test::LeakTrace is not installed (Debian: libtest-leaktrace-perl)';
}

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# Every method and function, on its way through and on each way out
# (the die paths), leaks no SV.  (Test::LeakTrace runs each block more
# than once, so caches filled on the first run are not leaks.  malloc'd
# memory is valgrind's job: see t/README.)

guard_alarm(120);
my $dir = temp_dir();

my ($a, $b) = BSDSocket::socketpair();
my ($u, $v) = udp_pair();
my $v_addr = $v->getsockname;
my $listener = tcp_listener();
my $l_addr = $listener->getsockname;
my $closed = BSDSocket::socket(AF_INET, SOCK_STREAM);
$closed->close;
my $closed_poller = BSDSocket::Poller->new;
$closed_poller->close;
# ::1 cannot be bound where IPv6 is off: the cases that need it skip
my $have_ipv6 = eval { BSDSocket::socket(AF_INET6, SOCK_DGRAM)->bind(['::1', 0]); 1 };
my %needs_ipv6 = map { $_ => 1 } qw(ipv6 ipv6_address);
my $dead_port = do {
    my $t = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $t->bind(['127.0.0.1', 0]);
    $t->getsockname->[1];
};

my $big_file = "$dir/big";
{
    open my $out, '>', $big_file or die $!;
    print {$out} 'b' x 4_000_000;
    close $out or die $!;
}

# The block must die with a BSDSocket::Error, and with this errno (a
# number) or a message matching this pattern (a qr//) when one is given.
# Anything else dies here, which fails the case.
sub dies(&;$) {
    my ($code, $want) = @_;
    eval { $code->(); 1 } and die "expected a die\n";
    my $e = $@;
    ref $e && eval { $e->isa('BSDSocket::Error') } or die "expected a BSDSocket::Error, got: $e";
    return if !defined $want || (ref $want ? $e->message =~ $want : ($e->errno // -1) == $want);
    die 'expected ' . (ref $want ? "a message matching $want" : "errno $want") . ", got: $e";
}

# -------------------------------------------------------- happy paths

my %happy = (
    socket      => sub { my $s = BSDSocket::socket(AF_INET, SOCK_STREAM) },
    new         => sub { my $s = BSDSocket::Socket->new(AF_UNIX, SOCK_DGRAM) },
    socketpair  => sub { my ($x, $y) = BSDSocket::socketpair() },
    fromfd      => sub { my $s = BSDSocket::fromfd($a->fileno) },
    gethostbyname => sub { my $ip = BSDSocket::gethostbyname('localhost') },
    getservbyname => sub { my $p = -r '/etc/services' ? BSDSocket::getservbyname('http', 'tcp') : 0 },
    constants   => sub { my $x = AF_INET + SOCK_STREAM; my $y = INADDR_LOOPBACK },
    send_recv   => sub { $a->send('hello'); my $d = $b->recv(100) },
    send_recv_big => sub { $a->send('x' x 5000); my $d = ''; $d .= $b->recv(8192) while length $d < 5000 },
    recv_list   => sub { $a->send('list'); my @d = $b->recv(100) },
    sendto_recvfrom => sub { $u->sendto('dgram', $v_addr); my ($d, $from) = $v->recvfrom(100) },
    sendto_flags => sub { $u->sendto('dgram', 0, $v_addr); my $d = $v->recvfrom(100) },
    sendto_copy => sub { $u->sendto('dgram', [@$v_addr]); my ($d, $from) = $v->recvfrom(100) },
    connect_accept_close => sub {
        my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
        $c->connect($l_addr);
        my ($s, $peer) = $listener->accept;
        $c->close;
        $s->close;
    },
    seed_form   => sub {
        my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
        $c->connect('127.0.0.1', $l_addr->[1]);
        my $s = $listener->accept;
    },
    sock_peer_names => sub { my $n = $u->getsockname; my $p = $a->getpeername },
    sockopt     => sub {
        $u->setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
        $u->setsockopt(SOL_SOCKET, SO_LINGER, pack('ii', 0, 0));
        my $x = $u->getsockopt(SOL_SOCKET, SO_TYPE);
        my $y = $u->getsockopt(SOL_SOCKET, SO_LINGER, 8);
        my $z = $u->sockopt('SO_LINGER'); $u->sockopt(SO_LINGER => [0, 0]);
        my $w = $u->sockopt('SO_RCVTIMEO'); $u->sockopt(IP_TTL => 9); my $ttl = $u->sockopt(SO_TYPE);
        eval { $u->sockopt('SO_NOPE') }; eval { $u->sockopt(SO_LINGER => [1]) };
        $u->sockopt(IP_ADD_MEMBERSHIP => ['239.255.0.7', '127.0.0.1']);
        $u->sockopt(IP_DROP_MEMBERSHIP => ['239.255.0.7', '127.0.0.1']);
        eval { $u->sockopt(IP_ADD_MEMBERSHIP => ['239.255.0.7', 1]) };
        eval { $u->sockopt(IP_DROP_MEMBERSHIP => ['239.255.0.7', 1]) };
        eval { $u->sockopt(IP_ADD_MEMBERSHIP => ['239.255.0.7', 'nosuchif0']) };
        eval { $u->sockopt(IP_ADD_MEMBERSHIP => ['nonsense']) };
    },
    makefile    => sub { my $fh = $a->makefile('rw'); print {$fh} "x\n"; close $fh; my $d = $b->recv(10) },
    accessors   => sub { my @x = ($a->fileno, $a->family, $a->type, $a->proto) },
    unix_paths  => sub {
        my $s = BSDSocket::socket(AF_UNIX, SOCK_DGRAM);
        $s->bind("$dir/leak-$$");
        unlink "$dir/leak-$$";
        my $n = $s->getsockname;
    },
    shutdown    => sub { my ($x, $y) = BSDSocket::socketpair(); $x->shutdown(SHUT_WR) },
    listen_bind => sub { my $s = BSDSocket::socket(AF_INET, SOCK_STREAM); $s->bind(['127.0.0.1', 0]); $s->listen },
    utf8_data   => sub { my $t = "caf\xe9"; utf8::upgrade($t); $a->send($t); my $d = $b->recv(10) },
    timeouts    => sub {
        $u->settimeout(1.5); my $t = $u->gettimeout; $u->setblocking(0); my $bl = $u->getblocking;
        $u->settimeout(undef);
        BSDSocket::setdefaulttimeout(2); my $d = BSDSocket::getdefaulttimeout; BSDSocket::setdefaulttimeout(undef);
    },
    sendall     => sub { $a->sendall('x' x 1000); my $d = ''; $d .= $b->recv(2000) while length $d < 1000 },
    connect_ex  => sub { my $c = BSDSocket::socket(AF_INET, SOCK_STREAM); my $e = $c->connect_ex($l_addr); my $s = $listener->accept },
    inheritable => sub { my $s = BSDSocket::socket(AF_INET, SOCK_DGRAM); $s->set_inheritable(1); my $i = $s->get_inheritable },
    recv_timed  => sub { $b->settimeout(5); $a->send('t'); my $d = $b->recv(10); $b->settimeout(undef) },
    getaddrinfo => sub { my @r = BSDSocket::getaddrinfo('localhost', 'http', 0, SOCK_STREAM, 0, AI_CANONNAME) },
    getnameinfo => sub { my @r = BSDSocket::getnameinfo(['127.0.0.1', 80]) },
    hostent     => sub { my @r = BSDSocket::gethostbyname_ex('localhost'); my @s = BSDSocket::gethostbyaddr('127.0.0.1') },
    host_proto_names => sub { my $h = BSDSocket::gethostname(); my $p = -r '/etc/protocols' ? BSDSocket::getprotobyname('tcp') : 6 },
    linux_families => sub {
        return unless BSDSocket::platform()->{linux_families};
        my $nl = BSDSocket::socket(AF_NETLINK, SOCK_RAW, 0); $nl->bind([0, 0]); my $me = $nl->getsockname;
        eval { $nl->bind([-1, 0]) }; eval { $nl->sendto('x', [1, 2, 3]) };
        my $vs = eval { BSDSocket::socket(AF_VSOCK, SOCK_STREAM) };
        eval { $vs->bind([VMADDR_CID_ANY, 2**33]) } if $vs;
    },
    servbyport  => sub { my $n = -r '/etc/services' ? BSDSocket::getservbyport(80, 'tcp') : '' },
    helpers     => sub {
        my $p = BSDSocket::inet_aton('127.0.0.1'); my $t = BSDSocket::inet_ntoa($p);
        my $q = BSDSocket::inet_pton(AF_INET6, '::1'); my $u = BSDSocket::inet_ntop(AF_INET6, $q);
        my $n = BSDSocket::ntohs(BSDSocket::htons(80)) + BSDSocket::ntohl(BSDSocket::htonl(1));
        my $v = BSDSocket::has_ipv6(); my $pl = BSDSocket::platform();
        my @if = BSDSocket::if_nameindex(); my $i = BSDSocket::if_nametoindex($if[0][1]);
        my $ifname = BSDSocket::if_indextoname($i);
        eval { BSDSocket::if_nametoindex('nosuchif0') }; eval { BSDSocket::if_indextoname(-1) };
        eval { BSDSocket::if_nametoindex('x' x 40) };
        my $fds = BSDSocket::decode_cmsg(SOL_SOCKET, SCM_RIGHTS, pack('i2', 0, 1));
        my $ttl = BSDSocket::decode_cmsg(IPPROTO_IP, IP_TTL, pack('i', 64));
        eval { BSDSocket::decode_cmsg(SOL_SOCKET, SCM_RIGHTS, 'xyz') };
        eval { BSDSocket::decode_cmsg(SOL_SOCKET, 9999, '') };
        eval { my $e = BSDSocket::decode_cmsg(IPPROTO_IP, IP_RECVERR,
                                              pack('L C4 L L', 111, 2, 3, 3, 0, 0, 0) . pack('s n a4 x8', AF_INET, 0, "\x7f\0\0\1")) };
        my $w = BSDSocket::has_dualstack_ipv6();
        my $c = BSDSocket::error;
        my $l = BSDSocket::CMSG_LEN(4) + BSDSocket::CMSG_SPACE(4);
    },
    ipv6        => sub {
        my $s = BSDSocket::socket(AF_INET6, SOCK_DGRAM);
        $s->bind(['::1', 0]);
        $s->sendto('six', $s->getsockname);
        my ($d, $from) = $s->recvfrom(10);
    },
    create_connection => sub { my $c = BSDSocket::create_connection($l_addr, 5); my $s = $listener->accept },
    create_server     => sub { my $s = BSDSocket::create_server(['127.0.0.1', 0], backlog => 2) },
    recv_into   => sub { my $buf = 'old'; $a->send('into'); my $n = $b->recv_into($buf, 10) },
    recvfrom_into => sub { my $buf; $u->sendto('dgram', $v_addr); my ($n, $from) = $v->recvfrom_into($buf, 10) },
    dup_detach  => sub { my $d = $a->dup; my $e = $d->dup; my $fd = $e->detach; POSIX::close($fd) },
    sendmsg_recvmsg => sub {
        $u->sendmsg(['a', 'b'], [], 0, $v_addr);
        my ($d, $anc, $flags, $from) = $v->recvmsg(10, 64);
    },
    send_recv_fds => sub {
        pipe(my $r, my $w) or die $!;
        $a->send_fds(['fd'], [$w, fileno $r]);
        my ($d, $handles, $flags) = $b->recv_fds(10, 4);
    },
    fds_truncated => sub {
        pipe(my $r, my $w) or die $!;
        $a->send_fds(['fd'], [$w, $r, $w]);
        my ($d, $handles, $flags) = $b->recv_fds(10, 1);
    },
    raw_rights  => sub {
        pipe(my $r, my $w) or die $!;
        $a->sendmsg(['fd'], [[SOL_SOCKET, SCM_RIGHTS, pack 'i', fileno $w]]);
        my ($d, $anc) = $b->recvmsg(10, CMSG_SPACE(4));
        POSIX::close(unpack 'i', $anc->[0][2]);
    },
    sendfile    => sub {
        open my $in, '<', $0 or die $!;
        my $n = $a->sendfile($in, 0, 1000);
        my $d = ''; $d .= $b->recv(2000) while length $d < 1000;
    },
    sendfile_pipe => sub {
        pipe(my $r, my $w) or die $!;
        syswrite $w, 'piped'; close $w;
        my $n = $a->sendfile($r);
        my $d = $b->recv(10);
    },
    select      => sub {
        $a->send('s');
        my ($r, $w, $e) = BSDSocket::select([$b, $a->fileno], [$a], undef, 0);
        my $d = $b->recv(10);
    },
    poller      => sub {
        for my $backend (poller_backends()) {
            my $p = BSDSocket::Poller->new(backend => $backend);
            $p->register($b, POLLIN, { state => [1] });
            $p->register($a->fileno, POLLOUT);
            $a->send('p');
            my @ready = $p->poll(0);
            $p->modify($b, POLLIN | POLLOUT, 'data');
            @ready = $p->poll(0);
            $p->unregister($b);
            my $d = $b->recv(10);
        }
    },
    poller_accessors => sub {
        for my $backend (poller_backends()) {
            my $p = BSDSocket::Poller->new(backend => $backend);
            $p->register($a, POLLIN);
            my @x = ($p->count, $p->backend, $p->fileno);
        }
    },
    poller_into => sub {
        my $p = BSDSocket::Poller->new;
        my ($x, $y) = BSDSocket::socketpair();
        $p->register($x, POLLIN, 'x');
        $y->send('z');
        my @ready;
        $p->poll_into(\@ready, 0) for 1 .. 3;
        $x->recv(10);
        $p->poll_into(\@ready, 0);
    },
    poller_items => sub {
        my $p = BSDSocket::Poller->new;
        my ($x, $y) = BSDSocket::socketpair();
        my ($u, $v) = BSDSocket::socketpair();
        $p->register($x, POLLIN);
        $p->register($u, POLLIN, 'u');
        $y->send('z');
        $v->send('z');
        my @ready = ('junk') x 4;
        $p->poll_items(\@ready, 0) for 1 .. 3;
        my $held = \$ready[0];
        $p->poll_items(\@ready, 0);
        $x->recv(10);
        $p->poll_items(\@ready, 0);
    },
    poller_stale => sub {
        my $p = BSDSocket::Poller->new;
        my ($x, $y) = BSDSocket::socketpair();
        my $keep = $x->dup;
        $p->register($x, POLLIN, [1, 2]);
        $y->send('z');
        $x->close;
        my @ready = $p->poll(0);        # drops it, rebuilds the epoll set
    },
    gro         => sub {
        return unless platform_has('udp_gro');
        my $r = BSDSocket::socket(AF_INET, SOCK_DGRAM);
        $r->bind(['127.0.0.1', 0]);
        $r->sockopt('UDP_GRO', 1);
        $u->send_many([('x' x 100) x 10], $r->getsockname);
        my @got = $r->recv_many(3, 200);
        push @got, scalar $r->recv(200);
        $r->close;                      # (three still held: let go with it)
    },
    deadline    => sub {
        BSDSocket::deadline(5, sub { BSDSocket::deadline(1, sub { $u->getsockname }) });
        eval { BSDSocket::deadline(0, sub { $v->recv(1) }) };
    },
    batches     => sub {
        my $n = $u->send_many(['one', ['two', $v_addr]], $v_addr);
        my @got = $v->recv_many(4, 10);
        push @got, $v->recv_many(4, 10) while @got < 2;
    },
);
# (a timeout inside a deadline fills caches of perl's on its first two
# runs, and only then settles: Test::LeakTrace's leaked_count says 10, 1,
# then 0 for 1, 10 and 100 runs)
eval { BSDSocket::deadline(0, sub { $v->recv(1) }) } for 1 .. 3;
for my $name (sort keys %happy) {
    SKIP: {
        skip "$name: ::1 cannot be bound here", 1 if $needs_ipv6{$name} && !$have_ipv6;
        no_leaks_ok(\&{ $happy{$name} }, "no leak: $name");
    }
}

# ---------------------------------------------------------- die paths

my %dies = (
    closed_socket   => sub { dies { $closed->send('x') } },
    forged          => sub { dies { BSDSocket::Socket::recv(bless({}, 'BSDSocket::Socket'), 1) } },
    usage           => sub { dies { $a->recv } },
    bad_size        => sub { dies { $a->recv(-1) } },
    huge_size       => sub { dies { $a->recv(2**50) } },
    bad_flags       => sub { dies { $a->send('x', 'flags') } },
    wide_data       => sub { dies { $a->send("\x{263a}") } },
    bad_address     => sub { dies { $u->sendto('x', ['127.0.0.1', 'http']) } },
    address_shape   => sub { dies { $u->sendto('x', {}) } },
    unresolvable    => sub { dies { $u->sendto('x', [no_dns_host(), 9]) } },
    long_path       => sub { dies { BSDSocket::socket(AF_UNIX, SOCK_DGRAM)->bind('p' x 200) } },
    refused         => sub { dies { BSDSocket::socket(AF_INET, SOCK_STREAM)->connect(['127.0.0.1', $dead_port]) } },
    bad_family      => sub { dies { BSDSocket::socket(12345, SOCK_STREAM) } EAFNOSUPPORT },
    new_bad_family  => sub { dies { BSDSocket::Socket->new(12345, SOCK_STREAM) } EAFNOSUPPORT },
    socketpair_inet => sub { dies { my @p = BSDSocket::socketpair(AF_INET) } EOPNOTSUPP },
    not_connected   => sub { dies { $u->getpeername } ENOTCONN;
                             dies { BSDSocket::socket(AF_INET, SOCK_STREAM)->shutdown(SHUT_WR) } ENOTCONN },
    closed_methods  => sub { dies { $closed->getsockname } EBADF; dies { $closed->set_inheritable(1) } EBADF;
                             dies { $closed->get_inheritable } EBADF; dies { $closed->setblocking(0) } EBADF;
                             dies { $closed->detach } EBADF },
    close_extra_arg => sub { dies { $a->close(1) } qr/^Usage: /; $a->fileno >= 0 or die "close(1) closed it\n" },
    not_a_socket    => sub { open my $fh, '<', $0 or die; dies { BSDSocket::fromfd($fh) } },
    bad_fd          => sub { dies { BSDSocket::fromfd(-1) } },
    unknown_host    => sub { dies { BSDSocket::gethostbyname(no_dns_host()) } },
    unknown_service => sub { dies { BSDSocket::getservbyname('no-such-service') } },
    bad_option      => sub { dies { $u->setsockopt(SOL_SOCKET, SO_REUSEADDR, undef) } },
    unknown_option  => sub { dies { $u->getsockopt(SOL_SOCKET, 12345) } },
    bad_buflen      => sub { dies { $u->getsockopt(SOL_SOCKET, SO_TYPE, 0) } },
    bad_mode        => sub { dies { $a->makefile('x') } },
    missing_const   => sub {
        my ($m) = grep { !defined eval { BSDSocket->can($_)->() } } @BSDSocket::CONSTANT_NAMES;
        dies { BSDSocket->can($m)->() } if $m;
    },
    overload_dies   => sub {               # the overload's own die, as it was
        eval { $a->send(bless [], 'LeakDies') } and die "expected a die\n";
        $@ eq "no string for you\n" or die "expected the overload's die, got: $@";
    },
    accept_udp      => sub { dies { $u->accept } },
    listen_udp      => sub { dies { $u->listen } },
    eaddrinuse      => sub { dies { BSDSocket::socket(AF_INET, SOCK_STREAM)->bind($l_addr) } },
    timeout_expires => sub { $b->settimeout(0.01); dies { $b->recv(10) }; $b->settimeout(undef) },
    would_block     => sub { $b->settimeout(0); dies { $b->recv(10) }; $b->settimeout(undef) },
    bad_timeout     => sub { dies { $b->settimeout(-1) } },
    sendall_timeout => sub {
        my ($x, $y) = BSDSocket::socketpair();
        $x->settimeout(0.01);
        dies { $x->sendall('z' x 1_000_000) };
    },
    sendall_epipe   => sub { my ($x, $y) = BSDSocket::socketpair(); $y->close; dies { $x->sendall('z' x 100) } },
    connect_ex_bad  => sub { dies { BSDSocket::socket(AF_INET, SOCK_STREAM)->connect_ex(['127.0.0.1', 'x']) } },
    gai_error       => sub { dies { BSDSocket::getaddrinfo('localhost', 80, 0, 0, 0, AI_NUMERICHOST) } },
    gai_port        => sub { dies { BSDSocket::getaddrinfo('127.0.0.1', 70000) } },
    nameinfo_error  => sub { dies { BSDSocket::getnameinfo(['localhost', 80]) } },
    hostent_error   => sub { dies { BSDSocket::gethostbyname_ex(no_dns_host()) } },
    hostaddr_error  => sub { dies { BSDSocket::gethostbyaddr('not-an-ip') } },
    helper_errors   => sub { dies { BSDSocket::inet_aton('x') }; dies { BSDSocket::htons(70000) };
                             dies { BSDSocket::inet_ntop(AF_INET, 'abc') } },
    helper_ranges   => sub { dies { BSDSocket::inet_ntoa('abc') } EINVAL; dies { BSDSocket::inet_pton(AF_INET, 'x') } EINVAL;
                             dies { BSDSocket::inet_pton(12345, '127.0.0.1') } EAFNOSUPPORT;
                             dies { BSDSocket::ntohs(70000) } EINVAL; dies { BSDSocket::htonl(2**32) } EINVAL;
                             dies { BSDSocket::ntohl(-1) } EINVAL; dies { BSDSocket::CMSG_SPACE(-1) } EINVAL;
                             dies { BSDSocket::CMSG_LEN(2**40) } EINVAL },
    bad_default_timeout => sub { dies { BSDSocket::setdefaulttimeout(-1) } EINVAL;
                             defined BSDSocket::getdefaulttimeout() and die "the default changed\n" },
    unknown_protocol => sub { dies { BSDSocket::getprotobyname('no-such-protocol') } qr/not found/ },
    ipv6_address    => sub { dies { BSDSocket::socket(AF_INET6, SOCK_DGRAM)->bind(['::1', 1, 2**20]) } EINVAL },
    all_refused     => sub { dies { BSDSocket::create_connection(['127.0.0.1', $dead_port], 5) } },
    create_server_bad => sub { dies { BSDSocket::create_server(['127.0.0.1', 0], bogus => 1) } },
    into_readonly   => sub { dies { $b->recv_into('literal', 3) } },
    into_huge       => sub { my $buf = ''; dies { $b->recv_into($buf, 2**50) } },
    into_would_block => sub { my $buf = 'x'; $b->settimeout(0); dies { $b->recv_into($buf, 3) }; $b->settimeout(undef) },
    from_would_block => sub {
        my $s = nonblocking(BSDSocket::socket(AF_INET, SOCK_DGRAM));
        $s->bind(['127.0.0.1', 0]);
        my $buf;
        dies { my ($d, $from) = $s->recvfrom(10) } EAGAIN;
        dies { my ($n, $from) = $s->recvfrom_into($buf, 10) } EAGAIN;
    },
    from_into_readonly => sub { dies { my ($n, $from) = $v->recvfrom_into('literal', 3) } EINVAL },
    dup_closed      => sub { dies { $closed->dup } },
    sendmsg_shape   => sub { dies { $a->sendmsg(['x'], [[SOL_SOCKET]]) }; dies { $a->sendmsg(["\x{263a}"]) } },
    recvmsg_size    => sub { dies { $b->recvmsg(-1) } },
    recvmsg_empty   => sub { $b->settimeout(0); dies { $b->recvmsg(10, 64) }; dies { $b->recv_fds(10, 2) };
                             $b->settimeout(undef) },
    send_fds_bad    => sub { dies { $a->send_fds(['x'], [-1]) }; dies { $a->send_fds(['x'], [$a, 'x']) } },
    recv_fds_max    => sub { dies { $b->recv_fds(10, 1000) } },
    sendfile_bad    => sub {
        dies { $a->sendfile('no handle') };
        pipe(my $r, my $w) or die $!;
        dies { $a->sendfile($r, 10) };
    },
    sendfile_timeout => sub {
        my ($x, $y) = BSDSocket::socketpair();
        $x->settimeout(0.01);
        open my $in, '<', $big_file or die $!;
        dies { $x->sendfile($in) };
    },
    send_many_bad   => sub { dies { $u->send_many([['a', 'b', 'c']]) }; dies { $u->send_many([['a', {}]]) } },
    recv_many_bad   => sub {
        dies { $v->recv_many(0, 10) };
        # (a UDP socket reads whole buffers with GRO, and never needs that much)
        my ($x, $y) = BSDSocket::socketpair(AF_UNIX, SOCK_DGRAM);
        dies { $x->recv_many(1024, 2**40) };
    },
    select_bad      => sub { dies { BSDSocket::select([$closed], [], [], 0) }; dies { BSDSocket::select(['x']) };
                             dies { BSDSocket::select({}) }; dies { BSDSocket::select([$a], [], [], -1) } },
    poller_bad      => sub {
        my $p = BSDSocket::Poller->new;
        $p->register($a, POLLIN, 'kept');
        dies { $p->register($a, POLLIN, [1]) };
        dies { $p->register($b, 0x4000, [1]) };
        dies { $p->modify($b, POLLIN, [1]) };
        dies { $p->unregister($b) };
        dies { $p->register('nope', POLLIN) };
        dies { $p->poll(-1) };
        dies { BSDSocket::Poller->new(backend => 'x') };
        $p->close;
        dies { $p->poll(0) };
    },
    poller_closed   => sub { dies { $closed_poller->count } EBADF; dies { $closed_poller->backend } EBADF;
                             dies { $closed_poller->fileno } EBADF },
    recv_many_empty => sub { $v->settimeout(0); dies { $v->recv_many(4, 10) }; $v->settimeout(undef) },
);
{
    package LeakDies;
    use overload '""' => sub { die "no string for you\n" }, fallback => 1;
}
for my $name (sort keys %dies) {
    SKIP: {
        skip "$name: ::1 cannot be bound here", 2 if $needs_ipv6{$name} && !$have_ipv6;
        ok(eval { $dies{$name}->(); 1 }, "dies as documented: $name") or do { diag $@; last SKIP };
        no_leaks_ok(\&{ $dies{$name} }, "no leak when it dies: $name");
    }
}

# Every call with one argument too many, and one too few, dies with its
# usage (bind, connect and connect_ex count the address's parts instead):
# [name, invocant, fewest and most arguments after it].
my @usage = (
    (map { ["BSDSocket::$_->[0]", undef, @$_[1, 2]] }
        [socket => 2, 3], [socketpair => 0, 3], [fromfd => 1, 4], [gethostbyname => 1, 1],
        [getservbyname => 1, 2], [getaddrinfo => 1, 7], [getnameinfo => 1, 2],
        [gethostbyname_ex => 1, 1], [gethostbyaddr => 1, 1], [gethostname => 0, 0],
        [getservbyport => 1, 2], [getprotobyname => 1, 1], [inet_aton => 1, 1],
        [inet_ntoa => 1, 1], [inet_pton => 2, 2], [inet_ntop => 2, 2], [htons => 1, 1],
        [ntohs => 1, 1], [htonl => 1, 1], [ntohl => 1, 1], [has_ipv6 => 0, 0], [platform => 0, 0],
        [if_nameindex => 0, 0], [if_nametoindex => 1, 1], [if_indextoname => 1, 1],
        [decode_cmsg => 3, 3],
        [create_connection => 1, 3], [CMSG_LEN => 1, 1], [CMSG_SPACE => 1, 1],
        [select => 1, 4], [getdefaulttimeout => 0, 0], [setdefaulttimeout => 1, 1],
        [deadline => 2, 2]),
    ['BSDSocket::Socket::new', 'BSDSocket::Socket', 2, 3],
    (map { ["BSDSocket::Socket::$_->[0]", $u, @$_[1, 2]] }
        [accept => 0, 0], [bind => 1, 2], [close => 0, 0], [connect => 1, 2], [connect_ex => 1, 2],
        [detach => 0, 0], [dup => 0, 0], [fileno => 0, 0], [getpeername => 0, 0],
        [getsockname => 0, 0], [get_inheritable => 0, 0], [getblocking => 0, 0],
        [gettimeout => 0, 0], [getsockopt => 2, 3], [listen => 0, 1], [makefile => 0, 2],
        [recv => 1, 2], [recv_exact => 1, 2], [recv_fds => 2, 3], [recv_into => 1, 3], [recv_many => 2, 3],
        [recv_until => 2, 2],
        [recvfrom => 1, 2], [recvfrom_into => 1, 3], [recvmsg => 1, 3], [send => 1, 2],
        [send_fds => 2, 4], [send_many => 1, 2], [sendall => 1, 2], [sendfile => 1, 3],
        [sendmsg => 1, 4], [sendto => 2, 3], [set_inheritable => 1, 1], [setblocking => 1, 1],
        [settimeout => 1, 1], [setsockopt => 3, 3], [shutdown => 1, 1], [family => 0, 0],
        [sockopt => 1, 2],
        [type => 0, 0], [proto => 0, 0], [pending => 0, 0], [sysread => 2, 3],
        [syswrite => 1, 3]),
    ['BSDSocket::Poller::new', 'BSDSocket::Poller', 0, 0],     # pure Perl: options in pairs
    (map { ["BSDSocket::Poller::$_->[0]", BSDSocket::Poller->new, @$_[1, 2]] }
        [register => 2, 3], [modify => 2, 3], [unregister => 1, 1], [poll => 0, 1], [poll_into => 1, 2],
        [poll_items => 1, 2],
        [count => 0, 0], [backend => 0, 0], [fileno => 0, 0], [close => 0, 0]),
);
{
    my %listed = map { $_->[0] => 1 } @usage;
    my %pure_perl = map { $_ => 1 } qw(import bootstrap error has_dualstack_ipv6 create_server
        autoflush binmode blocking connected eof getline getlines opened peerhost peerport
        print printf protocol say sockdomain sockhost sockport socktype _inet_part keepalive);
    no strict 'refs';
    my @missing = grep { !$listed{$_} } map {
        my $package = $_;
        map { "${package}::$_" } grep { /^[a-z]/ && !$pure_perl{$_} && defined &{"${package}::$_"} }
            keys %{"${package}::"};
    } qw(BSDSocket BSDSocket::Socket BSDSocket::Poller);
    is("@{[ sort @missing ]}", '', 'the usage table has every call');
}
my $usage = qr/^Usage: |^expected one address or \(host, port\), got \d+ arguments|name => value pairs/;
for (@usage) {
    my ($name, $self, $fewest, $most) = @$_;
    my $code = \&{$name};
    my @self = defined $self ? $self : ();
    my $case = sub {
        dies { $code->(@self, ('0') x ($most + 1)) } $usage;
        # too few: one argument short, or for a method that takes none, no object
        dies { $code->($fewest ? (@self, ('0') x ($fewest - 1)) : ()) } $usage
            if $fewest || ref $self;
    };
    ok(eval { $case->(); 1 }, "wrong argument counts die with the usage: $name") or do { diag $@; next };
    no_leaks_ok(\&$case, "no leak from a usage error: $name");
}
# (gethostname has no other way to fail.)  BSDSocket::error has a ()
# prototype: perl refuses an argument at compile time.  The two calls
# written in Perl count theirs too.
for my $case (
    ['has_dualstack_ipv6 with an argument', sub { my $x = BSDSocket::has_dualstack_ipv6(1) }],
    ['create_server with an odd option list', sub { my $s = BSDSocket::create_server(['127.0.0.1', 0], 'backlog') }],
    ['create_server with no address', sub { my $s = BSDSocket::create_server() }],
) {
    my ($name, $code) = @$case;
    ok(eval { dies { $code->() } qr/^Usage: BSDSocket::/; 1 }, "$name dies with the usage") or diag $@;
    no_leaks_ok(sub { eval { $code->() } }, "no leak from a usage error: $name");
}

# a signal handler that dies out of a blocking call leaks nothing either
{
    local $SIG{ALRM} = sub { die "alarm\n" };
    no_leaks_ok(sub {
        eval {
            local $SIG{ALRM} = sub { die "alarm\n" };
            Time::HiRes::ualarm(20_000);
            my $d = $b->recv(10);
        };
        Time::HiRes::ualarm(0);
    }, 'no leak when a signal handler dies out of recv');
}
BEGIN { require Time::HiRes; require POSIX }

done_testing;
