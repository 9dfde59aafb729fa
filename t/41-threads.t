use strict;
use warnings;
use Config;
use Test::More;

BEGIN {
    plan skip_all => 'this perl has no ithreads' unless $Config{useithreads};
}
use threads;

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);

guard_alarm(60);

# A new Perl thread gets a copy of every socket object.  BSDSocket dups the
# fd for the copy (documented under THREADS AND FORK), so each thread owns
# its descriptor and closes only that one: nothing is closed twice and
# nothing is closed under another thread.
my ($a, $b) = BSDSocket::socketpair();
my $closed = BSDSocket::socket(AF_INET, SOCK_STREAM);
$closed->close;
my $parent_fd = $a->fileno;

my $thr = threads->create({ context => 'list' }, sub {
    my @r;
    push @r, $a->fileno;                         # the thread's own fd
    push @r, $a->send("from the thread");
    push @r, $closed->fileno;                    # still closed
    $a->close;                                   # closes the thread's copy only
    push @r, $a->fileno;
    return @r;
});
my ($thread_fd, $sent, $closed_fd, $after_close) = $thr->join;

isnt($thread_fd, $parent_fd, 'the thread\'s copy has a descriptor of its own');
is($sent, 15, 'the thread sent through its copy');
is($closed_fd, -1, 'a closed socket stays closed in the thread');
is($after_close, -1, 'the thread closed its copy');
is($b->recv(100), 'from the thread', 'the data arrived');
ok(fd_is_open($parent_fd), 'the parent\'s fd is still open');
$a->send('parent after the thread');
is($b->recv(100), 'parent after the thread', 'the parent\'s socket still works');

# many threads, each letting its copies go out of scope
my @t = map { threads->create(sub { $a->fileno }) } 1 .. 5;
my %fds = map { $_->join => 1 } @t;
ok(!exists $fds{$parent_fd}, 'no thread shared the parent\'s descriptor');
$a->send('still fine');
is($b->recv(100), 'still fine', 'the parent\'s socket survives five threads');

# the method-call shortcut works in a thread (its own interpreter's classes)
my $echo = threads->create(sub {
    $a->send('ping from a thread');
    my $got = $b->recv(100);
    return $got;
})->join;
is($echo, 'ping from a thread', 'send and $x = recv inside a thread');

# a socket made inside a thread is closed when the thread ends
my $inner_fd = threads->create(sub {
    my $t = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    return $t->fileno;
})->join;
ok(!fd_is_open($inner_fd) || $inner_fd == $a->fileno || $inner_fd == $b->fileno,
   'a thread\'s own socket is closed with the thread');

done_testing;
