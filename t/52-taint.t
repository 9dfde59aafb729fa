use strict;
use warnings;
use Test::More;

use lib 't/lib';
use BSDTest;

# Received data and addresses are tainted under -T, as perl's own recv
# and sysread are.  Taint mode is per process: check it in a child.
my $child = <<'PERL';
use strict;
use warnings;
use Scalar::Util qw(tainted);
use BSDSocket qw(:constants);
my ($u, $v) = map { my $s = BSDSocket::socket(AF_INET, SOCK_DGRAM); $s->bind(['127.0.0.1', 0]); $s } 1, 2;
$v->sendto('outside data', $u->getsockname);
my ($data, $from) = $u->recvfrom(100);
my ($p, $q) = BSDSocket::socketpair();
$p->send('stream data');
my $stream = $q->recv(100);
$p->send('x' x 5000);
my $big = $q->recv(8192);
# one statement per value: perl taints everything a statement makes once
# it has read a tainted value
my @flags;
push @flags, tainted($data) ? 1 : 0;
push @flags, tainted($from->[0]) ? 1 : 0;
push @flags, tainted($stream) ? 1 : 0;
push @flags, tainted($big) ? 1 : 0;
push @flags, tainted($u->getsockname->[0]) ? 1 : 0;
my $literal = BSDSocket::gethostbyname('127.0.0.1');
push @flags, tainted($literal) ? 1 : 0;
my $l = BSDSocket::socket(AF_INET, SOCK_STREAM);
$l->bind(['127.0.0.1', 0]);
$l->listen(1);
my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
$c->connect($l->getsockname);
my ($conn, $peer) = $l->accept;
push @flags, tainted($peer->[0]) ? 1 : 0;
push @flags, tainted($peer->[1]) ? 1 : 0;
push @flags, tainted($c->getpeername->[0]) ? 1 : 0;
print join(',', @flags), "\n";
PERL

my $out = do {
    open my $fh, '-|', perl_cmd('-T', '-e', $child) or die "fork: $!";
    local $/;
    <$fh>;
};
is($?, 0, 'the taint child ran');
chomp $out;
my @flags = split /,/, $out // '';
is($flags[0], 1, 'recvfrom data is tainted');
is($flags[1], 1, 'recvfrom address is tainted');
is($flags[2], 1, 'recv data is tainted');
is($flags[3], 1, 'a big recv is tainted too');
is($flags[4], 1, 'getsockname\'s address is tainted');
is($flags[5], 0, 'a literal that comes back unchanged is not');
is($flags[6], 1, "accept's peer address is tainted");
is($flags[7], 1, '... its port too');
is($flags[8], 1, "getpeername's address is tainted");

# and without -T nothing is
use Scalar::Util qw(tainted);
use BSDSocket qw(:constants);
my ($p, $q) = BSDSocket::socketpair();
$p->send('plain');
ok(!tainted($q->recv(10)), 'no taint without -T');

done_testing;
