use strict;
use warnings;
use Test::More;
use POSIX ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);

guard_alarm(30);

# A forked child owns copies of the parent's fds.  Its objects close its
# copies when it exits; DESTROY never calls shutdown, so the connection
# lives on in the parent.
my ($l, $c, $s) = tcp_pair();

my $pid = fork // die "fork: $!";
if (!$pid) {
    $s->send("from the child\n");
    undef $s;                  # the child's DESTROY closes the child's fd
    undef $c;
    POSIX::_exit(0) if $ENV{BSD_NO_GLOBAL_DESTRUCT};
    exit 0;                    # global destruction closes the rest
}
waitpid $pid, 0;
is($?, 0, 'the child exited cleanly');
is($c->recv(100), "from the child\n", 'the child wrote through its copy');
$s->send("parent still connected\n");
is($c->recv(100), "parent still connected\n", 'the connection survives the child closing its copies');
$c->send("and back\n");
is($s->recv(100), "and back\n", '... in both directions');

# both sides close: the parent's close is the one the peer sees
$pid = fork // die "fork: $!";
if (!$pid) { $s->close; POSIX::_exit(0) }
waitpid $pid, 0;
$s->send('x');
is($c->recv(10), 'x', 'a close in the child is not a close in the parent');
$s->close;
is($c->recv(10), '', 'the parent\'s close is the EOF');

done_testing;
