use strict;
use warnings;
use Test::More;
use Errno qw(EINVAL EBADF);
use POSIX ();
use Time::HiRes qw(time);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# Readiness: BSDSocket::select takes socket objects, fds and Perl
# handles, returns the very items that are ready, has no FD_SETSIZE limit
# and handles EINTR like every call that waits.

raise_nofile(2048);         # for the fd above FD_SETSIZE below
guard_alarm(60);
my $fds_before = open_fds();

{
    my ($a, $b) = BSDSocket::socketpair();
    my ($r, $w, $e) = BSDSocket::select([$a, $b], [$a], [$a], 0);
    is_deeply([scalar @$r, scalar @$w, scalar @$e], [0, 1, 0], 'nothing to read yet; room to write');
    ok($w->[0] == $a, '... and the writable item is the very socket object');
    $b->send('x');
    ($r) = BSDSocket::select([$a, $b], undef, undef, 0);
    is(scalar @$r, 1, 'one readable after a send');
    ok($r->[0] == $a, '... the one that was sent to');
    is($r->[0]->recv(10), 'x', '... and reading it works');

    # the three kinds of item, side by side
    pipe(my $pr, my $pw) or die $!;
    syswrite $pw, 'pipe data';
    $b->send('y');
    ($r) = BSDSocket::select([$a, fileno($pr), $pr, $b], [], [], 1);
    is(scalar @$r, 3, 'a socket, a plain fd and a handle, ready together');
    ok($r->[0] == $a, '... the socket object');
    is($r->[1], fileno($pr), '... the fd, as the number it was');
    ok($r->[2] == $pr, '... the handle, the same glob');
    $a->recv(10);
}

# timeouts
{
    my ($a, $b) = BSDSocket::socketpair();
    my $t0 = time;
    my ($r, $w, $e) = BSDSocket::select([$a], [], [], 0.2);
    my $took = time - $t0;
    is_deeply([@$r, @$w, @$e], [], 'nothing ready: three empty lists');
    ok($took >= 0.19 && $took < 2, sprintf('... after the timeout (%.3f s)', $took));
    $t0 = time;
    BSDSocket::select([$a], [], [], 0);
    ok(time - $t0 < 0.1, 'timeout 0 only looks');

    # undef: as long as it takes
    my $pid = fork // die;
    if (!$pid) { select undef, undef, undef, 0.2; $b->send('late'); POSIX::_exit(0) }
    ($r) = BSDSocket::select([$a], undef, undef, undef);
    is(scalar @$r, 1, 'timeout undef waits until something is ready');
    waitpid $pid, 0;
    ($r) = BSDSocket::select([$a]);
    is(scalar @$r, 1, 'and the timeout can be left out');
    $a->recv(10);
}

# end of file and hang-ups are readable; urgent data is in the error list
{
    my ($a, $b) = BSDSocket::socketpair();
    $b->close;
    my ($r) = BSDSocket::select([$a], [], [], 1);
    is(scalar @$r, 1, 'a closed peer makes the socket readable (EOF)');
    is($a->recv(10), '', '... and recv says end of file');

    my ($l, $c, $s) = tcp_pair();
    $c->send('!', MSG_OOB);
    my ($rr, $ww, $ee) = BSDSocket::select([], [], [$s], 2);
    is(scalar @$ee, 1, 'TCP urgent data puts the socket in the error list');
}

# one item in several lists; several entries for one fd
{
    my ($a, $b) = BSDSocket::socketpair();
    $b->send('z');
    my ($r, $w, $e) = BSDSocket::select([$a, $a->fileno], [$a], [$a], 0);
    is(scalar @$r, 2, 'the same fd twice in the read list: both entries come back');
    is(scalar @$w, 1, '... and it is in the write list too');
    is(scalar @$e, 0, '... but not in the error list');
}

# no FD_SETSIZE: an fd far above 1024
SKIP: {
    my ($a, $b) = BSDSocket::socketpair();
    my $free = 1500;
    $free++ while fd_is_open($free);           # (dup2 would close one in use)
    my $high = POSIX::dup2($a->fileno, $free);
    skip "cannot have fd $free here (ulimit -n)", 2 unless defined $high && $high == $free;
    $b->send('high');
    my ($r) = BSDSocket::select([$high], [], [], 1);
    is_deeply($r, [$high], "fd $high (above FD_SETSIZE) works");
    my @pairs = map { [BSDSocket::socketpair()] } 1 .. 300;
    $pairs[$_][0]->send('m') for grep { $_ % 3 == 0 } 0 .. $#pairs;
    ($r) = BSDSocket::select([map { @$_ } @pairs], [], [], 1);
    my @want = map { $pairs[$_][1] } grep { $_ % 3 == 0 } 0 .. $#pairs;
    is_deeply([map { $_->fileno } @$r], [map { $_->fileno } @want],
              '600 sockets: exactly the 100 sent to are readable, in the order given');
    POSIX::close($high);
}

# signals: the handlers run, and the wait goes on
{
    my ($a, $b) = BSDSocket::socketpair();
    my $ran = 0;
    local $SIG{USR1} = sub { $ran++ };
    my $pid = signals_then_send(peer => $b, data => 'after the signal', last_gap => 0.2);
    my $t0 = time;
    my ($r) = BSDSocket::select([$a], [], [], 5);
    waitpid $pid, 0;
    is($ran, 1, 'a signal during select runs its handler');
    is(scalar @$r, 1, '... and select goes on to report the socket');
    ok(time - $t0 >= 0.25, '... (it did not return early)');
    $a->recv(100);

    local $SIG{ALRM} = sub { die "alarm\n" };
    Time::HiRes::alarm(0.1);
    my $ok = eval { BSDSocket::select([$a], [], [], 5); 1 };
    Time::HiRes::alarm(0);
    is($@, "alarm\n", 'a handler that dies takes its exception out of select');
    guard_alarm(60);

    # a handler that empties the caller's lists: the items are held
    my @list = ($a);
    local $SIG{USR2} = sub { @list = () };
    $pid = signals_then_send(signal => 'USR2', peer => $b, data => 'x', last_gap => 0);
    ($r) = BSDSocket::select(\@list, [], [], 5);
    waitpid $pid, 0;
    ok(@$r == 1 && $r->[0] == $a, 'a handler that empties the list: the item still comes back');
}

# a hang-up only the read list asks for: select(2) would not wake for it,
# so neither does this (and no busy loop: it waits out the timeout)
{
    my ($a, $b) = BSDSocket::socketpair();
    $b->close;
    my $t0 = time;
    my @r = BSDSocket::select(undef, undef, [$a], 0.3);
    my $t = time - $t0;
    is_deeply([map { scalar @$_ } @r], [0, 0, 0], 'a hung-up socket only in the error list is not ready');
    ok($t >= 0.25 && $t < 3, sprintf('... and select waits out its timeout (%.2fs of 0.3)', $t));
    @r = BSDSocket::select([$a], undef, [$a], 0.3);
    is_deeply([map { scalar @$_ } @r], [1, 0, 0], '... in the read list it is (end of file)');
    # with no timeout it would wait for good: a signal ends the wait
    local $SIG{ALRM} = sub { die "alarm\n" };
    Time::HiRes::alarm(0.3);
    $t0 = time;
    my $ok = eval { BSDSocket::select(undef, undef, [$a]); 1 };
    Time::HiRes::alarm(0);
    guard_alarm(60);
    ok(!$ok && $@ eq "alarm\n" && time - $t0 >= 0.25, '... and with no timeout select blocks until a signal');
}

# a later list's magic cannot pull an earlier list out from under select
{
    package FreesReadList;
    sub TIESCALAR { bless [$_[1]], $_[0] }
    sub FETCH { ${ $_[0][0] } = undef; $main::reused = ['not an item']; [] }
}
{
    our $reused;
    my ($a, $b) = BSDSocket::socketpair();
    $b->send('x');
    my $read = [$a];
    tie my $write, 'FreesReadList', \$read;
    my @r = eval { BSDSocket::select($read, $write, undef, 0) };
    is($@, '', 'a tied write list that frees the read list: select still works');
    ok(@r && @{ $r[0] } == 1 && $r[0][0] == $a, '... with the read list it was given');
}

# a huge fd number is refused without a table that size (2**31 entries
# would be 8 GB): run where memory is limited to 1 GB
SKIP: {
    skip 'address space limits mean nothing under a sanitizer', 1 if $ENV{BSD_SANITIZER_LOG_DIR};
    my $code = 'use BSDSocket; eval { BSDSocket::select([0, 2**31 - 1], [], [], 0) }; '
             . 'print ref $@ ? $@->errname : "no error"';
    my $got = `ulimit -v 1000000 2>/dev/null; $^X -Mblib -e '$code' 2>&1`;
    is($got, 'EBADF', 'select on fd 2**31-1 dies EBADF in 1 GB of address space');
}

# a list too long to allocate for dies ENOMEM, as a recv too big does,
# instead of perl's "Out of memory!" exit: tied arrays that say they hold
# 2**31 - 1 items, in a child limited to 1 GB (whatever the machine has)
SKIP: {
    skip "address space limits mean nothing under a sanitizer", 5 if $ENV{BSD_SANITIZER_LOG_DIR};
    my $sh = have_program('sh') or skip "no sh for ulimit", 5;
    my $code = <<'PERL';
package Huge;
sub TIEARRAY { bless [], shift }
sub FETCHSIZE { 2**31 - 1 }
sub FETCH { 0 }
package main;
use BSDSocket;
$| = 1;
tie my @huge, 'Huge';
my %lists = (read => [\@huge, [], []], write => [[], \@huge, []], error => [[0], [], \@huge],
             all => [\@huge, \@huge, \@huge]);
for my $name (sort keys %lists) {
    my $e = eval { BSDSocket::select(@{ $lists{$name} }, 0); 1 } ? 'no error' : $@;
    print "$name=", (ref $e ? join(',', ref $e, $e->op, $e->errname // 'undef') : $e), "\n";
}
print "alive=1\n";
PERL
    open my $out, '-|', $sh, '-c', 'ulimit -v 1000000 2>/dev/null; exec "$@" 2>&1', 'sh', perl_cmd('-e', $code)
        or die "sh: $!";
    my $text = do { local $/; <$out> } // '';
    close $out;
    my %r = map { /^(\w+)=(.*)$/ ? ($1, $2) : () } split /\n/, $text;
    is($r{read}, 'BSDSocket::Error,select,ENOMEM', 'a read list of 2**31 - 1 items dies ENOMEM')
        or diag $text;
    is($r{write}, 'BSDSocket::Error,select,ENOMEM', '... so does such a write list');
    is($r{error}, 'BSDSocket::Error,select,ENOMEM', '... and an error list');
    is($r{all}, 'BSDSocket::Error,select,ENOMEM', '... and three of them (6e9 items in all)');
    is($?, 0, '... and perl lives on: the child exits 0');
}

# bad arguments
{
    my ($a) = BSDSocket::socketpair();
    my $closed = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $closed->close;
    dies_with(sub { BSDSocket::select([$closed], [], [], 0) }, errno => EBADF, op => 'select',
              name => 'a closed socket dies EBADF');
    dies_with(sub { BSDSocket::select(['abc'], [], [], 0) }, errno => EINVAL, op => 'select',
              message => qr/fd must be an integer/, name => 'something that is no item dies EINVAL');
    dies_with(sub { BSDSocket::select($a, [], [], 0) }, errno => EINVAL, op => 'select',
              message => qr/read list must be an array reference or undef/, name => 'a list that is no array');
    dies_with(sub { BSDSocket::select([$a], [], [], -1) }, errno => EINVAL, op => 'select',
              name => 'a negative timeout dies');
    my $unused = 900;
    $unused++ while fd_is_open($unused);
    dies_with(sub { BSDSocket::select([$unused], [], [], 0) }, errno => EBADF, op => 'select',
              name => 'an fd that is not open dies EBADF, as select(2)');
    dies_with(sub { BSDSocket::select([], [2**31 - 1], [], 0) }, errno => EBADF, op => 'select',
              name => 'so does the largest fd number there is');
    open my $never, '<', $0 or die;
    close $never;
    dies_with(sub { BSDSocket::select([$never], [], [], 0) }, errno => EBADF, op => 'select',
              name => 'a closed handle dies EBADF');
    my @empty = BSDSocket::select(undef, undef, undef, 0);
    is_deeply(\@empty, [[], [], []], 'no lists at all: just the timeout');
}

is(open_fds(), $fds_before, 'no fd left open');

done_testing;
