#!/usr/bin/env perl
# xt/update-constants.pl - write src/constants.list, the fixed list of
# constant names this release of BSDSocket has (run at author time, and
# the result checked in).
#
#   perl xt/update-constants.pl     (from the top of a checkout, on Linux)
#
# Every name in the list becomes a sub on every platform: where the
# system headers define it, its value; elsewhere one that dies ENOSYS
# when called (Makefile.PL writes that table).  The list is the names
# below, which Linux, the BSDs and macOS define between them, plus what
# the headers of the machine running this define under the socket
# prefixes: a build never scans its own headers, so the same names exist
# everywhere.
use 5.010;
use strict;
use warnings;

# The names Linux, the BSDs and macOS define between them (and
# UNIX_PATH_MAX, which src/constant-headers.h gives everywhere);
# scan_header_constants() adds the rest of what these headers define.

my @int_constants = (
    # address and protocol families
    qw(AF_UNSPEC AF_UNIX AF_LOCAL AF_INET AF_INET6 AF_PACKET AF_NETLINK
       AF_BLUETOOTH AF_CAN AF_TIPC AF_VSOCK AF_ALG AF_RDS AF_KEY AF_ROUTE
       AF_LINK AF_APPLETALK AF_IPX AF_X25 AF_AX25 AF_DECnet AF_SNA AF_IRDA
       AF_LLC AF_XDP AF_SYSTEM AF_NDRV AF_MAX
       PF_UNSPEC PF_UNIX PF_LOCAL PF_INET PF_INET6 PF_PACKET PF_NETLINK),
    # socket types and type flags
    qw(SOCK_STREAM SOCK_DGRAM SOCK_RAW SOCK_RDM SOCK_SEQPACKET SOCK_DCCP
       SOCK_PACKET SOCK_NONBLOCK SOCK_CLOEXEC),
    # option levels
    qw(SOL_SOCKET SOL_IP SOL_IPV6 SOL_TCP SOL_UDP SOL_RAW SOL_PACKET SOL_TLS
       SOL_ALG SOL_NETLINK SOL_LOCAL),
    # socket-level options
    qw(SO_ACCEPTCONN SO_ACCEPTFILTER SO_ATTACH_FILTER SO_BINDTODEVICE
       SO_BINDTOIFINDEX SO_BROADCAST SO_BSDCOMPAT SO_BUSY_POLL SO_COOKIE
       SO_DEBUG SO_DETACH_FILTER SO_DOMAIN SO_DONTROUTE SO_ERROR
       SO_EXCLUSIVEADDRUSE SO_INCOMING_CPU SO_KEEPALIVE SO_LINGER
       SO_LOCK_FILTER SO_MARK SO_MAX_PACING_RATE SO_MEMINFO SO_NOSIGPIPE
       SO_NO_CHECK SO_NREAD SO_NWRITE SO_OOBINLINE SO_PASSCRED SO_PASSSEC
       SO_PEEK_OFF SO_PEERCRED SO_PEERGROUPS SO_PEERNAME SO_PEERSEC
       SO_PRIORITY SO_PROTOCOL SO_RCVBUF SO_RCVBUFFORCE SO_RCVLOWAT
       SO_RCVTIMEO SO_REUSEADDR SO_REUSEPORT SO_REUSEPORT_LB SO_RXQ_OVFL
       SO_SELECT_ERR_QUEUE SO_SETFIB SO_SNDBUF SO_SNDBUFFORCE SO_SNDLOWAT
       SO_SNDTIMEO SO_TIMESTAMP SO_TIMESTAMPING SO_TIMESTAMPNS SO_TXTIME
       SO_TYPE SO_USELOOPBACK SO_USER_COOKIE SO_WIFI_STATUS SO_ZEROCOPY
       SO_LINGER_SEC SO_NOADDRERR SO_LABEL SO_PEERLABEL SO_LISTENQLIMIT
       SO_BINTIME),
    # AF_UNIX options of the BSDs and macOS (level 0, SOL_LOCAL on macOS)
    qw(LOCAL_PEERCRED LOCAL_CREDS LOCAL_CREDS_PERSISTENT LOCAL_CONNWAIT
       LOCAL_PEERPID LOCAL_PEEREPID LOCAL_PEERUUID),
    # protocols
    qw(IPPROTO_IP IPPROTO_HOPOPTS IPPROTO_ICMP IPPROTO_IGMP IPPROTO_IPIP
       IPPROTO_TCP IPPROTO_EGP IPPROTO_PUP IPPROTO_UDP IPPROTO_IDP IPPROTO_TP
       IPPROTO_DCCP IPPROTO_IPV6 IPPROTO_ROUTING IPPROTO_FRAGMENT
       IPPROTO_RSVP IPPROTO_GRE IPPROTO_ESP IPPROTO_AH IPPROTO_ICMPV6
       IPPROTO_NONE IPPROTO_DSTOPTS IPPROTO_MTP IPPROTO_ENCAP IPPROTO_PIM
       IPPROTO_COMP IPPROTO_SCTP IPPROTO_UDPLITE IPPROTO_MPLS IPPROTO_MPTCP
       IPPROTO_RAW IPPROTO_MAX IPPROTO_DIVERT),
    # TCP options
    qw(TCP_NODELAY TCP_MAXSEG TCP_CORK TCP_KEEPIDLE TCP_KEEPINTVL TCP_KEEPCNT
       TCP_SYNCNT TCP_LINGER2 TCP_DEFER_ACCEPT TCP_WINDOW_CLAMP TCP_INFO
       TCP_QUICKACK TCP_CONGESTION TCP_MD5SIG TCP_THIN_LINEAR_TIMEOUTS
       TCP_THIN_DUPACK TCP_USER_TIMEOUT TCP_REPAIR TCP_REPAIR_QUEUE
       TCP_QUEUE_SEQ TCP_REPAIR_OPTIONS TCP_FASTOPEN TCP_TIMESTAMP
       TCP_NOTSENT_LOWAT TCP_CC_INFO TCP_SAVE_SYN TCP_SAVED_SYN
       TCP_REPAIR_WINDOW TCP_FASTOPEN_CONNECT TCP_ULP TCP_MD5SIG_EXT
       TCP_FASTOPEN_KEY TCP_FASTOPEN_NO_COOKIE TCP_ZEROCOPY_RECEIVE TCP_INQ
       TCP_TX_DELAY TCP_NOPUSH TCP_NOOPT TCP_KEEPALIVE TCP_KEEPINIT
       TCP_CONNECTIONTIMEOUT TCP_MAXWIN TCP_MAX_WINSHIFT TCP_MSS),
    # poll events (select, BSDSocket::Poller)
    qw(POLLIN POLLPRI POLLOUT POLLERR POLLHUP POLLNVAL POLLRDHUP POLLRDNORM
       POLLRDBAND POLLWRNORM POLLWRBAND),
    # UDP options
    qw(UDP_CORK UDP_ENCAP UDP_NO_CHECK6_TX UDP_NO_CHECK6_RX UDP_SEGMENT UDP_GRO),
    # IPv4 options
    qw(IP_OPTIONS IP_HDRINCL IP_TOS IP_TTL IP_RECVOPTS IP_RECVRETOPTS
       IP_RETOPTS IP_MULTICAST_IF IP_MULTICAST_TTL IP_MULTICAST_LOOP
       IP_ADD_MEMBERSHIP IP_DROP_MEMBERSHIP IP_UNBLOCK_SOURCE IP_BLOCK_SOURCE
       IP_ADD_SOURCE_MEMBERSHIP IP_DROP_SOURCE_MEMBERSHIP IP_MSFILTER
       IP_ROUTER_ALERT IP_PKTINFO IP_PKTOPTIONS IP_PMTUDISC IP_MTU_DISCOVER
       IP_RECVERR IP_RECVTTL IP_RECVTOS IP_MTU IP_FREEBIND IP_IPSEC_POLICY
       IP_XFRM_POLICY IP_PASSSEC IP_TRANSPARENT IP_ORIGDSTADDR
       IP_RECVORIGDSTADDR IP_MINTTL IP_NODEFRAG IP_CHECKSUM
       IP_BIND_ADDRESS_NO_PORT IP_RECVFRAGSIZE IP_MULTICAST_ALL
       IP_UNICAST_IF IP_PMTUDISC_DONT IP_PMTUDISC_WANT IP_PMTUDISC_DO
       IP_PMTUDISC_PROBE IP_PMTUDISC_INTERFACE IP_PMTUDISC_OMIT
       IP_DEFAULT_MULTICAST_TTL IP_DEFAULT_MULTICAST_LOOP IP_MAX_MEMBERSHIPS
       IP_RECVDSTADDR IP_RECVIF IP_SENDSRCADDR IP_BINDANY IP_DONTFRAG
       IP_MAXPACKET),
    # IPv6 options
    qw(IPV6_ADDRFORM IPV6_2292PKTINFO IPV6_2292HOPOPTS IPV6_2292DSTOPTS
       IPV6_2292RTHDR IPV6_2292PKTOPTIONS IPV6_CHECKSUM IPV6_2292HOPLIMIT
       IPV6_NEXTHOP IPV6_AUTHHDR IPV6_UNICAST_HOPS IPV6_MULTICAST_IF
       IPV6_MULTICAST_HOPS IPV6_MULTICAST_LOOP IPV6_JOIN_GROUP
       IPV6_LEAVE_GROUP IPV6_ADD_MEMBERSHIP IPV6_DROP_MEMBERSHIP
       IPV6_ROUTER_ALERT IPV6_MTU_DISCOVER IPV6_MTU IPV6_RECVERR IPV6_V6ONLY
       IPV6_JOIN_ANYCAST IPV6_LEAVE_ANYCAST IPV6_IPSEC_POLICY
       IPV6_XFRM_POLICY IPV6_HDRINCL IPV6_RECVPKTINFO IPV6_PKTINFO
       IPV6_RECVHOPLIMIT IPV6_HOPLIMIT IPV6_RECVHOPOPTS IPV6_HOPOPTS
       IPV6_RTHDRDSTOPTS IPV6_RECVRTHDR IPV6_RTHDR IPV6_RECVDSTOPTS
       IPV6_DSTOPTS IPV6_RECVPATHMTU IPV6_PATHMTU IPV6_DONTFRAG
       IPV6_RECVTCLASS IPV6_TCLASS IPV6_AUTOFLOWLABEL IPV6_ADDR_PREFERENCES
       IPV6_MINHOPCOUNT IPV6_ORIGDSTADDR IPV6_RECVORIGDSTADDR
       IPV6_TRANSPARENT IPV6_UNICAST_IF IPV6_RECVFRAGSIZE IPV6_FREEBIND
       IPV6_MULTICAST_ALL IPV6_PMTUDISC_DONT IPV6_PMTUDISC_WANT
       IPV6_PMTUDISC_DO IPV6_PMTUDISC_PROBE IPV6_PMTUDISC_INTERFACE
       IPV6_PMTUDISC_OMIT IPV6_RTHDR_LOOSE IPV6_RTHDR_STRICT
       IPV6_RTHDR_TYPE_0 IPV6_USE_MIN_MTU IPV6_BINDANY),
    # message flags
    qw(MSG_OOB MSG_PEEK MSG_DONTROUTE MSG_CTRUNC MSG_PROXY MSG_TRUNC
       MSG_DONTWAIT MSG_EOR MSG_WAITALL MSG_FIN MSG_SYN MSG_CONFIRM MSG_RST
       MSG_ERRQUEUE MSG_NOSIGNAL MSG_MORE MSG_WAITFORONE MSG_BATCH
       MSG_ZEROCOPY MSG_FASTOPEN MSG_CMSG_CLOEXEC MSG_EOF MSG_NOTIFICATION
       MSG_BCAST MSG_MCAST MSG_NBIO),
    # shutdown, listen
    qw(SHUT_RD SHUT_WR SHUT_RDWR SOMAXCONN),
    # Linux's AF_NETLINK, AF_PACKET, AF_VSOCK and AF_ALG
    qw(NETLINK_ROUTE NETLINK_USERSOCK NETLINK_SOCK_DIAG NETLINK_NFLOG NETLINK_XFRM
       NETLINK_SELINUX NETLINK_AUDIT NETLINK_KOBJECT_UEVENT NETLINK_GENERIC
       NETLINK_NETFILTER NETLINK_CRYPTO NETLINK_ADD_MEMBERSHIP NETLINK_DROP_MEMBERSHIP
       ETH_P_ALL ETH_P_IP ETH_P_IPV6 ETH_P_ARP ETH_P_8021Q ETH_P_LOOP
       PACKET_HOST PACKET_BROADCAST PACKET_MULTICAST PACKET_OTHERHOST PACKET_OUTGOING
       VMADDR_CID_ANY VMADDR_CID_HYPERVISOR VMADDR_CID_LOCAL VMADDR_CID_HOST VMADDR_PORT_ANY
       ALG_SET_KEY ALG_SET_IV ALG_SET_OP ALG_SET_AEAD_ASSOCLEN ALG_SET_AEAD_AUTHSIZE
       ALG_OP_DECRYPT ALG_OP_ENCRYPT),
    # the room for an AF_UNIX path; for an interface name (with its NUL)
    qw(UNIX_PATH_MAX IF_NAMESIZE),
    # getaddrinfo / getnameinfo flags and errors
    qw(AI_PASSIVE AI_CANONNAME AI_NUMERICHOST AI_V4MAPPED AI_ALL
       AI_ADDRCONFIG AI_NUMERICSERV AI_IDN AI_CANONIDN AI_DEFAULT AI_MASK
       NI_NUMERICHOST NI_NUMERICSERV NI_NOFQDN NI_NAMEREQD NI_DGRAM NI_IDN
       NI_MAXHOST NI_MAXSERV
       EAI_AGAIN EAI_BADFLAGS EAI_FAIL EAI_FAMILY EAI_MEMORY EAI_NONAME
       EAI_SERVICE EAI_SOCKTYPE EAI_SYSTEM EAI_OVERFLOW EAI_NODATA
       EAI_ADDRFAMILY EAI_BADHINTS EAI_PROTOCOL EAI_MAX),
    # gethostbyname-family errors (h_errno)
    qw(HOST_NOT_FOUND TRY_AGAIN NO_RECOVERY NO_DATA NO_ADDRESS),
    # ancillary data
    qw(SCM_RIGHTS SCM_CREDENTIALS SCM_CREDS SCM_TIMESTAMP SCM_TIMESTAMPNS
       SCM_TIMESTAMPING SCM_WIFI_STATUS SCM_TXTIME SCM_BINTIME),
);

# IPv4 addresses: exported as dotted-quad strings, usable as hosts.
my @inaddr_constants = qw(INADDR_ANY INADDR_BROADCAST INADDR_LOOPBACK
    INADDR_NONE INADDR_UNSPEC_GROUP INADDR_ALLHOSTS_GROUP
    INADDR_ALLRTRS_GROUP INADDR_MAX_LOCAL_GROUP);

# BSDSocket has every SO_*, IPPROTO_*, TCP_*, ... constant the platform
# defines, more than any list keeps up with (each kernel release adds
# some).  So also ask the C preprocessor which of those prefixes the very
# headers BSDSocket.xs compiles its constants with define, keep the ones
# that compile as integer constants, and add them after the listed names.
my @scanned_headers = do {
    # the headers BSDSocket.xs compiles its table of constants with
    open my $in, '<', 'src/constant-headers.h' or die "src/constant-headers.h: $!";
    map { /^#include <([^>]+)>/ ? $1 : () } <$in>;
};
my $scanned_prefixes = qr/^(?:SO|SOL|IPPROTO|TCP|UDP|IP|IPV6|MSG|SHUT|AI|NI|EAI|SCM|INADDR)_[A-Za-z0-9_]+$/;

sub scan_header_constants {
    my ($listed) = @_;
    require Config;
    require File::Temp;
    # the compiler the build will use (CC=... on our command line wins),
    # speaking English, so that its "error"/"warning" can be read
    my ($cc) = map { /^CC=(.*)$/s ? $1 : () } @ARGV;
    $cc = $Config::Config{cc} unless defined $cc && length $cc;
    local $ENV{LC_ALL} = 'C';
    my $dir = File::Temp::tempdir('bsdsocket-scan-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $source = "$dir/scan.c";
    my $includes = join '', map { "#include <$_>\n" } @scanned_headers;
    _write_file($source, $includes);
    # -dM: the macros in force after the headers, one #define per line;
    # function-like ones (NAME(...)) are not constants
    my @names = grep { $_ =~ $scanned_prefixes && !$listed->{$_} }
                map  { /^#define (\w+)\s+\S/ ? $1 : () }
                `$cc $Config::Config{ccflags} -E -dM "$source" 2>/dev/null`;
    return () if $? || !@names;
    @names = sort { $a cmp $b } keys %{{ map { $_ => 1 } @names }};
    # keep what compiles, without a warning, as an integer constant; drop,
    # by line number, whatever the compiler refuses (a string, a struct
    # initializer) or warns about (the deprecated AI_IDN_* flags)
    for (1 .. 3) {
        _write_file($source, $includes . "static const long long bsd_scan[] = {\n"
                             . join('', map { "    (long long)($_),\n" } @names) . "};\n");
        my @complaints = `$cc $Config::Config{ccflags} -c -o "$dir/scan.o" "$source" 2>&1`;
        my $failed = $?;
        my $first = 1 + @scanned_headers + 1;           # the line of $names[0]
        my %bad = map { /scan\.c:(\d+):\d+: (?:error|warning)/ ? ($1 - $first => 1) : () }
                  @complaints;
        return @names unless $failed || %bad;
        return () unless %bad;                          # can't tell which: take none
        @names = @names[grep { !$bad{$_} } 0 .. $#names];
    }
    return ();
}

sub _write_file {
    my ($file, $text) = @_;
    open my $out, '>', $file or die "$file: $!";
    print {$out} $text;
    close $out or die "$file: $!";
}

sub write_list {
    my ($file) = @_;
    my %listed = map { $_ => 1 } @int_constants, @inaddr_constants;
    for my $name (scan_header_constants(\%listed)) {
        push @{ $name =~ /^INADDR_/ ? \@inaddr_constants : \@int_constants }, $name;
    }
    my %seen;
    my @lines = ("# Generated by xt/update-constants.pl; do not edit.  One name a line;\n",
                 "# \"inaddr\" after a name: an IPv4 address, given as a dotted quad.\n");
    for my $name (@int_constants) {
        die "$name is listed twice\n" if $seen{$name}++;
        push @lines, "$name\n";
    }
    for my $name (@inaddr_constants) {
        die "$name is listed twice\n" if $seen{$name}++;
        push @lines, "$name inaddr\n";
    }
    _write_file($file, join '', @lines);
    printf "%s: %d names\n", $file, scalar keys %seen;
}

write_list('src/constants.list');
