use strict;
use warnings;
use Test::More;
use Socket ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);

# The values come from the system headers; core Socket reads the same
# headers, so every constant both define must agree.
my $compared = 0;
for my $name (@BSDSocket::CONSTANT_NAMES) {
    next if $name =~ /^INADDR_/;            # Socket packs these; we give strings
    my $ours = eval { BSDSocket->can($name)->() };
    next unless defined $ours;              # not on this platform
    my $theirs = Socket->can($name) && eval { Socket->can($name)->() };
    next unless defined $theirs;
    is($ours, $theirs, "$name matches Socket") or next;
    $compared++;
}
cmp_ok($compared, '>', 100, "$compared constants agree with core Socket");

is(AF_INET, Socket::AF_INET(), 'AF_INET');
is(SOCK_STREAM, Socket::SOCK_STREAM(), 'SOCK_STREAM');
is(SOL_SOCKET, Socket::SOL_SOCKET(), 'SOL_SOCKET');

# INADDR_* are dotted quads, usable as hosts
is(INADDR_ANY, '0.0.0.0', 'INADDR_ANY');
is(INADDR_LOOPBACK, '127.0.0.1', 'INADDR_LOOPBACK');
is(INADDR_BROADCAST, '255.255.255.255', 'INADDR_BROADCAST');
is(INADDR_NONE, '255.255.255.255', 'INADDR_NONE');
{
    my $s = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $s->bind([INADDR_LOOPBACK, 0]);
    is($s->getsockname->[0], '127.0.0.1', 'INADDR_LOOPBACK binds as a host');
}

# A constant the platform lacks exists (so importing it works) but dies
# when called, at run time, with a BSDSocket::Error.
my @missing = grep { !defined eval { BSDSocket->can($_)->() } } @BSDSocket::CONSTANT_NAMES;
ok(scalar @missing, 'some listed constants are missing here: ' . join(' ', @missing[0 .. 4]));
SKIP: {
    skip 'every constant is defined on this platform', 4 unless @missing;
    my $name = $missing[0];
    ok(eval "package Importer; BSDSocket->import('$name'); 1", "importing $name works")
        or diag $@;
    my $e = dies_with(sub { BSDSocket->can($name)->() }, errno => Errno::ENOSYS(),
                      op => $name, message => qr/\Q$name\E is not defined on this platform/,
                      name => "calling $name dies");
    # compiled code that names it compiles, and dies only when it runs
    my $code = eval "sub { BSDSocket::$name() }";
    ok($code, 'code naming a missing constant compiles');
    ok(!eval { $code->(); 1 }, '... and dies when run');
}

# Every SO_*, IPPROTO_*, TCP_*, ... the platform defines.  Two
# independent witnesses: the names core Socket knows, and the macros the
# C preprocessor sees in the system headers.
my $spec_prefixes = qr/^(?:SOL|SO|IPPROTO|TCP|IP|IPV6|MSG|SHUT|AI|NI|EAI|SCM)_[A-Z0-9_]+$/;
{
    my @lacking;
    for my $name (grep { $_ =~ $spec_prefixes } @Socket::EXPORT, @Socket::EXPORT_OK) {
        next unless defined eval { Socket->can($name)->() };   # Socket lacks it here
        push @lacking, $name unless defined eval { BSDSocket->can($name)->() };
    }
    is("@lacking", '', 'every such constant core Socket defines here, BSDSocket defines');
}
SKIP: {
    require Config;
    my $cc = $Config::Config{cc};
    my $dir = temp_dir();
    open my $c, '>', "$dir/h.c" or die $!;
    print {$c} map { "#include <$_>\n" }
        qw(sys/types.h sys/socket.h netinet/in.h netinet/tcp.h netdb.h);
    close $c;
    my @macros = `$cc $Config::Config{ccflags} -E -dM $dir/h.c 2>/dev/null`;
    skip 'no C preprocessor to ask', 1 if $? || !@macros;
    my (@lacking, $checked);
    for (@macros) {
        # the plain ones: a name with a decimal or hex number for value
        my ($name, $value) = /^#define (\w+) (\d+|0x[0-9a-fA-F]+)$/ or next;
        next unless $name =~ $spec_prefixes;
        $checked++;
        my $want = $value =~ /^0x/ ? hex $value : $value;
        my $ours = eval { BSDSocket->can($name)->() };
        push @lacking, $name unless defined $ours && $ours == $want;
    }
    is("@lacking", '', "each of the $checked numeric SO_*, TCP_*, ... macros in the headers is a constant with its value");
}

# linux defines these
SKIP: {
    skip 'Linux-only checks', 3 unless $^O eq 'linux';
    ok(defined eval { SO_PEERCRED() }, 'SO_PEERCRED defined on Linux');
    ok(defined eval { MSG_NOSIGNAL() }, 'MSG_NOSIGNAL defined on Linux');
    ok(!defined eval { SO_NOSIGPIPE() }, 'SO_NOSIGPIPE (BSD) missing on Linux');
}

# no duplicates, and every name is exportable
my %seen;
is(scalar(grep { $seen{$_}++ } @BSDSocket::CONSTANT_NAMES), 0, 'no name listed twice');
my %ok = map { $_ => 1 } @BSDSocket::EXPORT_OK;
is(scalar(grep { !$ok{$_} } @BSDSocket::CONSTANT_NAMES), 0, 'every constant is in @EXPORT_OK');

done_testing;
