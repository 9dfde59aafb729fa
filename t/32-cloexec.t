use strict;
use warnings;
use Test::More;

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# Every fd the module makes is close-on-exec, as perl's own are;
# set_inheritable(1) lets one through.  Checked the direct way: exec a
# program and see which of the fds it got.

guard_alarm(30);

my $l = tcp_listener();
my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
$c->connect($l->getsockname);
my ($accepted) = $l->accept;
my ($p, $q) = BSDSocket::socketpair();
my $from = BSDSocket::fromfd($p);
my $fh = $q->makefile('rw');
my $kept = BSDSocket::socket(AF_INET, SOCK_DGRAM);

ok(!$kept->get_inheritable, 'get_inheritable is false for a new socket');
$kept->set_inheritable(1);
ok($kept->get_inheritable, 'set_inheritable(1)');

my %fd = (
    socket => $c->fileno, listener => $l->fileno, accept => $accepted->fileno,
    socketpair => $p->fileno, fromfd => $from->fileno, makefile => fileno($fh),
    inheritable => $kept->fileno,
);
my $list = join ' ', map { "$_=$fd{$_}" } sort keys %fd;
my $out = qx{$^X -MPOSIX -e 'for (split / /, shift) { my (\$k, \$fd) = split /=/; print "\$k=", do { my \$c = POSIX::dup(\$fd); defined \$c ? POSIX::close(\$c) && "open" : "closed" }, "\\n" }' '$list'};
my %seen = map { split /=/ } split /\n/, $out;
for my $kind (sort grep { $_ ne 'inheritable' } keys %fd) {
    is($seen{$kind}, 'closed', "the fd from $kind is closed across exec");
}
is($seen{inheritable}, 'open', 'the inheritable one is not');

$kept->set_inheritable(0);
ok(!$kept->get_inheritable, 'set_inheritable(0)');
$kept->close;
ok(!eval { $kept->get_inheritable; 1 }, 'get_inheritable on a closed socket dies');

done_testing;
