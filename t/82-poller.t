use strict;
use warnings;
use Test::More;
use Tie::Array;
use Tie::Scalar;
use Config;
use Errno qw(EINVAL EBADF ENOENT EPERM ENOSYS);
use POSIX ();
use Scalar::Util qw(weaken);
use Time::HiRes qw(time);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);
use BSDSocket::Poller qw(:events);

# Readiness: BSDSocket::Poller, on epoll and on poll; a socket
# closed while registered never fires, nor does what reuses its number.

raise_nofile(2048);         # for the fd above FD_SETSIZE below
guard_alarm(60);
my $fds_before = open_fds();

sub ready_items { map { $_->[0] } @_ }

for my $backend (poller_backends()) {
    my $p = BSDSocket::Poller->new(backend => $backend);
    is($p->backend, $backend, "$backend: a poller");
    my ($a, $b) = BSDSocket::socketpair();

    # register, poll, data
    $p->register($a, POLLIN);
    is($p->count, 1, "$backend: one registered");
    is_deeply([$p->poll(0)], [], "$backend: nothing ready yet");
    $b->send('hello');
    my @ready = $p->poll(1);
    is(scalar @ready, 1, "$backend: one ready after a send");
    ok($ready[0][0] == $a, "$backend: ... reported as the very socket");
    is($ready[0][1], POLLIN, "$backend: ... with POLLIN");
    @ready = $p->poll(0);
    is(scalar @ready, 1, "$backend: level-triggered: still ready until read");
    $a->recv(100);

    # modify, with data
    my $state = { name => 'conn a' };
    $p->modify($a, POLLIN | POLLOUT, $state);
    @ready = $p->poll(0);
    ok(@ready == 1 && $ready[0][0] == $state, "$backend: modify: the data comes back instead of the item");
    is($ready[0][1], POLLOUT, "$backend: ... with POLLOUT");
    $p->modify($a, POLLIN);
    is_deeply([$p->poll(0)], [], "$backend: modify back to POLLIN: quiet again");

    # several kinds of item
    pipe(my $pr, my $pw) or die $!;
    $p->register($pr, POLLIN, 'the pipe');
    $p->register(fileno($pw), POLLOUT, 'the pipe\'s writing end');
    my %got = map { $_->[0] => $_->[1] } $p->poll(0);
    is_deeply(\%got, { 'the pipe\'s writing end' => POLLOUT }, "$backend: a handle and a plain fd");
    syswrite $pw, 'x';
    %got = map { $_->[0] => $_->[1] } $p->poll(0);
    is($got{'the pipe'}, POLLIN, "$backend: ... the handle reports");

    # hang-ups and errors come unasked
    $b->close;
    my ($ev) = map { $_->[1] } grep { ref $_->[0] && $_->[0] == $a } $p->poll(0);
    ok($ev && ($ev & POLLIN), "$backend: a closed peer: POLLIN (end of file)");
    $p->modify($a, 0);
    ($ev) = map { $_->[1] } grep { ref $_->[0] && $_->[0] == $a } $p->poll(0);
    ok($ev && ($ev & POLLHUP), "$backend: ... and POLLHUP comes without being asked for");

    # the errors
    dies_with(sub { $p->register($a, POLLIN) }, errno => EINVAL, op => 'register',
              message => qr/registered already/, name => "$backend: registering twice dies");
    my ($x, $y) = BSDSocket::socketpair();
    dies_with(sub { $p->modify($x, POLLIN) }, errno => ENOENT, op => 'modify',
              name => "$backend: modify of an unregistered item dies ENOENT");
    dies_with(sub { $p->unregister($x) }, errno => ENOENT, op => 'unregister',
              name => "$backend: unregister of an unregistered item dies ENOENT");
    dies_with(sub { $p->register($x, 0x4000) }, errno => EINVAL, op => 'register',
              message => qr/events must be/, name => "$backend: unknown event bits die");
    dies_with(sub { $p->register($x, 'lots') }, errno => EINVAL, op => 'register',
              name => "$backend: events that are no number die");
    dies_with(sub { $p->register('nope', POLLIN) }, errno => EINVAL, op => 'register',
              name => "$backend: something that is no item dies");
    my $closed = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $closed->close;
    dies_with(sub { $p->register($closed, POLLIN) }, errno => EBADF, op => 'register',
              name => "$backend: a closed socket dies EBADF");
    for my $number (2**31 - 1, 100_000) {
        dies_with(sub { $p->register($number, POLLIN) }, errno => EBADF, op => 'register',
                  name => "$backend: fd $number, not open, dies EBADF");
    }
    dies_with(sub { $p->poll(-1) }, errno => EINVAL, op => 'poll', name => "$backend: a negative timeout dies");
    if ($backend eq 'epoll') {
        open my $file, '<', $0 or die;
        dies_with(sub { $p->register($file, POLLIN) }, errno => EPERM, op => 'register',
                  name => 'epoll: a regular file dies EPERM');
    }

    $p->unregister($_) for $a, $pr, fileno($pw);
    is($p->count, 0, "$backend: all unregistered");

    # the timeout
    $p->register($x, POLLIN);
    my $t0 = time;
    is_deeply([$p->poll(0.2)], [], "$backend: nothing ready within the timeout: an empty list");
    ok(time - $t0 >= 0.19 && time - $t0 < 2, "$backend: ... after the timeout");

    # signals
    my ($ran, $ran_at) = (0, 0);
    local $SIG{USR1} = sub { $ran++; $ran_at = time; $p->unregister($x) };
    my $pid = signals_then_send(peer => $y, data => 'after the signal');
    @ready = $p->poll(1.5);
    my $returned_at = time;
    waitpid $pid, 0;
    ok($ran == 1 && $ran_at < $returned_at, "$backend: a signal during poll runs its handler there");
    is_deeply(\@ready, [], "$backend: ... which unregistered the item: it is not reported");

    $p->close;
    $p->close;
    dies_with(sub { $p->poll(0) }, errno => EBADF, op => 'poll', name => "$backend: a closed poller dies EBADF");
    dies_with(sub { $p->register($x, POLLIN) }, errno => EBADF, op => 'register',
              name => "$backend: ... in every call");
}

# a socket closed while registered, whose file lives on in a dup (so the
# kernel keeps epoll's registration), never fires; nor does the socket
# that gets its number next
for my $backend (poller_backends()) {
    my $p = BSDSocket::Poller->new(backend => $backend);
    my ($a, $b) = BSDSocket::socketpair();
    my $keep = $a->dup;                 # the same file, another fd
    $p->register($a, POLLIN, 'old');
    my $number = $a->fileno;
    $b->send('ready');
    $a->close;
    is_deeply([$p->poll(0)], [], "$backend: a socket closed while registered (its file still open) is not reported");
    is($p->count, 0, "$backend: ... and it is dropped from the poller");

    # a new socket gets the number
    my (@new, $reused, $partner);
    while (!$reused && @new < 20) {
        my ($c, $d) = BSDSocket::socketpair();
        push @new, $c, $d;
        ($reused, $partner) = $c->fileno == $number ? ($c, $d) : $d->fileno == $number ? ($d, $c) : ();
    }
    ok($reused, "$backend: a new socket has the old one's number");
    $p->register($reused, POLLIN, 'new');
    $b->send('more for the old one');
    is_deeply([map { $_->[0] } $p->poll(0)], [], "$backend: the old file, ready again, is not reported as the new socket");
    $partner->send('for the new one');
    is_deeply([map { $_->[0] } $p->poll(1)], ['new'], "$backend: the new socket is reported, as itself");
    $p->unregister($reused);

    # a plain fd closed and its number reused for another file
    pipe(my $r1, my $w1) or die $!;
    my $fdnum = fileno $r1;
    $p->register($fdnum, POLLIN, 'plain fd');
    open my $dup, '<&', $r1 or die;     # keep the pipe alive
    close $r1;
    pipe(my $r2, my $w2) or die $!;
    POSIX::dup2(fileno($r2), $fdnum) // die "dup2: $!";   # another file, that number
    syswrite $w1, 'x';
    syswrite $w2, 'y';
    is_deeply([$p->poll(0)], [], "$backend: a plain fd whose number went to another file is not reported");
    POSIX::close($fdnum);

    # a handle closed while registered
    pipe(my $hr, my $hw) or die $!;
    $p->register($hr, POLLIN, 'handle');
    syswrite $hw, 'z';
    close $hr;
    is_deeply([$p->poll(0)], [], "$backend: a handle closed while registered is not reported");
    $p->unregister($hr) if $p->count;     # (unregister works on a closed handle too)
    pipe(my $h2r, my $h2w) or die $!;
    $p->register($h2r, POLLIN);
    close $h2r;
    $p->unregister($h2r);
    is($p->count, 0, "$backend: unregister a handle closed since");
}

# a socket closed or detached while registered, its file gone: epoll drops
# the file from its set without a word, so nothing would ever report it;
# count drops such a registration (any kind: handles and bare fds too) and
# lets go of the object, and so does poll
my %done = (close => 'closed', detach => 'detached');
for my $backend (poller_backends()) {
    for my $how ('close', 'detach') {
        my $p = BSDSocket::Poller->new(backend => $backend);
        my ($a, $b) = BSDSocket::socketpair();
        $p->register($a, POLLIN, 'data');
        weaken(my $weak = $a);
        my $fd = $a->$how;
        undef $a;
        is($p->count, 0, "$backend: a socket $done{$how} while registered is not counted");
        ok(!defined $weak, "$backend: ... and count let go of the object");
        is_deeply([$p->poll(0)], [], "$backend: ... nor is it reported");
        POSIX::close($fd) if $how eq 'detach';
    }
    {
        my $p = BSDSocket::Poller->new(backend => $backend);
        my ($a, $b) = BSDSocket::socketpair();
        $p->register($a, POLLIN);
        weaken(my $weak = $a);
        $a->close;
        undef $a;
        is_deeply([$p->poll(0)], [], "$backend: poll after a registered socket was closed: nothing reported");
        ok(!defined $weak, "$backend: ... and poll let go of the object");
        is($p->count, 0, "$backend: ... and dropped it");
    }
    {
        my $p = BSDSocket::Poller->new(backend => $backend);
        pipe(my $r, my $w) or die $!;
        $p->register($r, POLLIN);
        weaken(my $weak = $r);
        close $r;
        undef $r;
        is($p->count, 0, "$backend: a Perl handle closed while registered is not counted");
        ok(!defined $weak, "$backend: ... and count let go of it");
        pipe(my $r2, my $w2) or die $!;
        my $fd = POSIX::dup(fileno $r2) // die "dup: $!";
        $p->register($fd, POLLIN);
        POSIX::close($fd);
        is($p->count, 0, "$backend: a bare fd closed with POSIX::close while registered is not counted");
    }
}

# unregister a socket closed since
{
    my $p = BSDSocket::Poller->new;
    my ($a) = BSDSocket::socketpair();
    $p->register($a, POLLIN);
    $a->close;
    $p->unregister($a);
    is($p->count, 0, 'unregister a socket closed since it was registered');
}

# the poller's own fd: readable when something is ready (nesting)
SKIP: {
    skip 'no epoll in this build', 3 unless platform_has('epoll');
    my $p = BSDSocket::Poller->new;
    my ($a, $b) = BSDSocket::socketpair();
    $p->register($a, POLLIN);
    my ($r) = BSDSocket::select([$p->fileno], [], [], 0);
    is(scalar @$r, 0, 'the epoll fd is quiet while nothing is ready');
    $b->send('x');
    ($r) = BSDSocket::select([$p->fileno], [], [], 1);
    is(scalar @$r, 1, '... and readable when something is');
    ok(is_cloexec($p->fileno), 'the epoll fd is close-on-exec');
}
is(BSDSocket::Poller->new(backend => 'poll')->fileno, -1, 'a poll-backed poller has no fd');
dies_with(sub { BSDSocket::Poller->new(backend => 'epoll') }, op => 'Poller->new', errno => ENOSYS,
          name => "backend => 'epoll' without epoll dies ENOSYS") unless platform_has('epoll');

# the poller goes away with its last reference, and so does what it held
{
    my ($a, $b) = BSDSocket::socketpair();
    my $freed = 0;
    {
        package Watched;
        sub new { bless {}, shift }
        sub DESTROY { $freed++ }
    }
    {
        my $p = BSDSocket::Poller->new;
        $p->register($a, POLLIN, Watched->new);
    }
    is($freed, 1, 'a poller freed frees its registrations\' data');
    my $p = BSDSocket::Poller->new;
    $p->register($a, POLLIN, Watched->new);
    $p->modify($a, POLLIN, 'other');
    is($freed, 2, 'modify lets the old data go');
    dies_with(sub { BSDSocket::Poller::poll(bless({}, 'BSDSocket::Poller'), 0) }, errno => EINVAL, op => 'poll',
              message => qr/expected a BSDSocket::Poller/, name => 'a forged poller is refused');
    dies_with(sub { BSDSocket::Poller->new(backend => 'kqueue') }, errno => EINVAL, op => 'Poller->new',
              name => 'an unknown backend dies');
    dies_with(sub { BSDSocket::Poller->new(bogus => 1) }, errno => EINVAL, op => 'Poller->new',
              message => qr/unknown option 'bogus'/, name => 'an unknown option dies');
}

# what a registration's DESTROY does runs after the call, never inside it
{
    our $victim;
    {
        package ClosesPoller;
        sub new { bless {}, shift }
        sub DESTROY { $main::victim->close if $main::victim }
    }
    {
        package RegistersHigh;
        sub new { bless { fd => $_[1] }, $_[0] }
        sub DESTROY { $main::victim->register($_[0]{fd}, main::POLLIN()) if $main::victim }
    }
    for my $backend (poller_backends()) {
        # register over a stale registration whose data closes the poller
        $victim = BSDSocket::Poller->new(backend => $backend);
        my ($a, $b) = BSDSocket::socketpair();
        my $number = $a->fileno;
        $victim->register($a, POLLIN, ClosesPoller->new);
        $a->close;
        my ($c, $d) = BSDSocket::socketpair();
        is($c->fileno, $number, "$backend: a new socket takes the closed one's number");
        ok(eval { $victim->register($c, POLLIN); 1 }, "$backend: register over it, whose data's DESTROY closes the poller")
            or diag $@;
        dies_with(sub { $victim->poll(0) }, errno => EBADF, op => 'poll', name => "$backend: ... and it is closed after");

        # modify whose old data closes the poller
        $victim = BSDSocket::Poller->new(backend => $backend);
        $victim->register($c, POLLIN, ClosesPoller->new);
        ok(eval { $victim->modify($c, POLLOUT, 'new data'); 1 }, "$backend: modify, the old data's DESTROY closing the poller")
            or diag $@;
        dies_with(sub { $victim->poll(0) }, errno => EBADF, op => 'poll',
                  name => "$backend: ... and it is closed after");

        # a stale one found in poll, whose data grows the table
        $victim = BSDSocket::Poller->new(backend => $backend);
        my $free = 900;
        $free++ while fd_is_open($free);
        open my $high, '<&=', POSIX::dup2(fileno(STDERR), $free) or die "dup2: $!";
        $victim->register($c, POLLIN, RegistersHigh->new($free));
        my $keep = $c->dup;         # (the file lives on: epoll keeps reporting it)
        $c->close;
        $d->send('x');
        is_deeply([$victim->poll(0)], [], "$backend: a stale registration is not reported");
        is($victim->count, 1, "$backend: ... and its data's DESTROY registered fd $free after poll");
        undef $victim;
        close $high;
    }
}

# an fd far above FD_SETSIZE
for my $backend (poller_backends()) {
  SKIP: {
        my ($a, $b) = BSDSocket::socketpair();
        my $free = 1500;
        $free++ while fd_is_open($free);
        my $high = POSIX::dup2($b->fileno, $free);
        skip "cannot have fd $free here (ulimit -n)", 1 unless defined $high && $high == $free;
        my $p = BSDSocket::Poller->new(backend => $backend);
        $p->register($high, POLLIN, 'high');
        $a->send('x');
        is_deeply([$p->poll(1)], [['high', POLLIN]], "$backend: fd $high (above FD_SETSIZE) is reported");
        $p->close;
        POSIX::close($high);
    }
}

# undef data is no data: the item is reported
for my $backend (poller_backends()) {
    my $p = BSDSocket::Poller->new(backend => $backend);
    my ($a, $b) = BSDSocket::socketpair();
    $b->send('x');
    $p->register($a, POLLIN, undef);
    my ($r) = $p->poll(0);
    ok($r && $r->[0] == $a, "$backend: register with undef data reports the item");
    $p->modify($a, POLLIN, undef);
    ($r) = $p->poll(0);
    ok($r && $r->[0] == $a, "$backend: ... so does modify");
}

# a handle that open() points at another file counts as closed
for my $backend (poller_backends()) {
    my $p = BSDSocket::Poller->new(backend => $backend);
    pipe(my $r, my $w) or die $!;
    my $number = fileno $r;
    $p->register($r, POLLIN, 'old file');
    pipe(my $r2, my $w2) or die $!;
    open($r, '<&', $r2) or die "reopen: $!";
    close $r2;
    is(fileno $r, $number, "$backend: a reopened handle keeps its fd number");
    syswrite $w2, 'x';
    is_deeply([$p->poll(0)], [], "$backend: ... its old registration is not reported");
    ok(eval { $p->register($r, POLLIN, 'new file'); 1 }, "$backend: ... and it can be registered again") or diag $@;
    is_deeply([ready_items($p->poll(1))], ['new file'], "$backend: ... and then reports the new file");
}

# a rebuild keeps the fd number: a poll-based loop around it carries on
SKIP: {
    skip 'no epoll in this build', 5 unless platform_has('epoll');
    my $inner = BSDSocket::Poller->new;
    my $outer = BSDSocket::Poller->new(backend => 'poll');
    my $number = $inner->fileno;
    $outer->register($number, POLLIN, 'inner');
    my ($a, $b) = BSDSocket::socketpair();
    my ($c, $d) = BSDSocket::socketpair();
    $inner->register($a, POLLIN);
    $inner->register($c, POLLIN);
    my $keep = $a->dup;
    $a->close;
    $b->send('x');
    is_deeply([$inner->poll(0)], [], 'the stale registration: nothing reported (and the set rebuilt)');
    is($inner->fileno, $number, '... the poller\'s fd number is the same');
    is_deeply([$outer->poll(0)], [], '... and quiet');
    $d->send('y');
    is_deeply([ready_items($outer->poll(1))], ['inner'], 'a poll-based loop around it still sees it wake');
    ok((ready_items($inner->poll(0)))[0] == $c, '... for the live socket');
}

# threads: the copy in a new thread is closed; the parent's keeps working
SKIP: {
    skip 'this perl has no threads', 2 unless $Config{useithreads};
    require threads;
    my $p = BSDSocket::Poller->new;
    my ($a, $b) = BSDSocket::socketpair();
    $p->register($a, POLLIN);
    my $in_thread = threads->create(sub { eval { $p->poll(0); 1 } ? 'worked' : $@->errname })->join;
    is($in_thread, 'EBADF', 'a poller in a new thread is closed there');
    $b->send('x');
    is(scalar(my @r = $p->poll(1)), 1, '... and still works in the parent');
}

# global destruction frees the sockets while the poller that holds them
# may live on: a DESTROY that then polls (and counts) must find those
# registrations gone, never read the freed sockets.  The sockets count
# their own freeing; of the holders (each with the poller), the first to
# go after a socket did polls.  Run in a child perl, and under valgrind.
sub run_merged {            # output (stdout and stderr) and wait status
    my @cmd = @_;
    my $pid = open(my $out, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        exec @cmd or POSIX::_exit(127);
    }
    local $/;
    my $text = <$out> // '';
    close $out;
    return ($text, $?);
}
my $destruct_code = <<'PERL';
use strict; use warnings;
use BSDSocket qw(:all);
use POSIX ();
$| = 1;
my ($backend, $n) = (shift, 16);
{
    package Counted;        # a socket that counts its own freeing
    our @ISA = ('BSDSocket::Socket');
    our $freed = 0;
    sub DESTROY { $freed++ }
}
{
    package Holder;
    our $done;
    sub new { bless { poller => $_[1] }, $_[0] }
    sub DESTROY {
        my $p = $_[0]{poller};
        return if $done || !$p || !$Counted::freed;
        $done = 1;
        my $freed = $Counted::freed;
        # (the freed sockets' numbers go to other files: poll(2) reports them)
        my @fill = map { POSIX::dup(2) } 1 .. 2 * $n;
        my $first = eval { $p->count } // "died: $@";
        my @ready = eval { $p->poll(0) };
        print "poll_died=$@\n" if $@;
        my $strays = grep { !(ref $_->[0] && eval { $_->[0]->fileno >= 0 }) } @ready;
        my $count = eval { $p->count } // "died: $@";
        print "freed=$freed\nlive=", $n - $freed, "\nfirst=$first\ncount=$count\nstrays=$strays\n";
        POSIX::close($_) for grep { defined } @fill;
    }
}
our $poller = BSDSocket::Poller->new(backend => $backend);
our (@sockets, @holders, @keep);
for (1 .. $n) {
    my ($a, $b) = BSDSocket::socketpair();
    bless $a, 'Counted';
    $poller->register($a, POLLIN | POLLOUT);
    push @keep, POSIX::dup($a->fileno);     # (its file outlives it: epoll reports it)
    $b->send('x');
    push @sockets, $a, $b;
    push @holders, Holder->new($poller);
}
print "set up\n";
PERL
guard_alarm(120);
my $valgrind = have_program('valgrind');
for my $backend (poller_backends()) {
    my ($out, $status) = run_merged(perl_cmd('-e', $destruct_code, $backend));
    my %r = map { /^(\w+)=(.*)$/ ? ($1, $2) : () } split /\n/, $out;
    is($status, 0, "$backend: a DESTROY polling at global destruction: the child exits 0")
        or diag $out;
    unlike($out, qr/panic|Segmentation|Attempt to free/, '... with no complaint from perl');
    ok(defined $r{freed} && $r{freed} > 0 && $r{freed} < 16,
       "... and it polled with some sockets freed and some alive ($r{freed} of 16 freed)")
        or diag $out;
  SKIP: {
        skip 'the holders went before the sockets here', 3 unless defined $r{freed};
        is($r{first}, $r{live}, "... count says $r{live}: only the sockets still alive");
        is($r{strays}, 0, '... poll reports none of the freed ones');
        is($r{count}, $r{live}, '... nor counts them after');
    }
  SKIP: {
        skip 'valgrind is not installed', 1 unless $valgrind;
        skip 'already under a sanitizer or valgrind', 1 if $ENV{BSD_SANITIZER_LOG_DIR} || $ENV{BSD_TEST_SLOW_TOOL};
        ($out, $status) = run_merged($valgrind, '-q', '--error-exitcode=99',
                                     perl_cmd('-e', $destruct_code, $backend));
        ok($status == 0 && $out !~ /Invalid (read|write)/, "$backend: ... and valgrind finds no invalid access")
            or diag "exit status $status\n", join "\n", grep { defined } (split /\n/, $out)[0 .. 14];
    }
}
guard_alarm(60);

# poll_into: the same pairs, into the caller's array, filled again in
# place where nothing else holds them
for my $backend (poller_backends()) {
    my $p = BSDSocket::Poller->new(backend => $backend);
    my @pairs = map { [BSDSocket::socketpair()] } 1 .. 3;
    $p->register($pairs[0][0], POLLIN);
    $p->register($pairs[1][0], POLLIN, 'second');
    $p->register($pairs[2][0], POLLIN);
    $_->[1]->send('x') for @pairs[0, 1];
    my @ready = ('junk') x 5;
    is($p->poll_into(\@ready, 1), 2, "$backend: poll_into returns how many are ready");
    is(scalar @ready, 2, '... the array holds just those');
    my %got = map { (ref $_->[0] ? 'first' : $_->[0]) => $_->[1] } @ready;
    is_deeply(\%got, { first => POLLIN, second => POLLIN }, '... [$data // $item, $events] each');
    my @same = map { 0 + $_ } @ready;
    my $kept = $ready[0];                       # the caller keeps one pair
    my $kept_item = $kept->[0];
    $pairs[2][1]->send('y');
    is($p->poll_into(\@ready, 1), 3, '... again, with a third one ready');
    is(0 + $ready[1], $same[1], '... a pair nobody else holds is filled again in place');
    isnt(0 + $ready[0], $same[0], '... the one the caller kept is not');
    is($kept->[0], $kept_item, '... and keeps its values');
    $_->[0]->recv(10) for @pairs;
    is($p->poll_into(\@ready, 0), 0, 'nothing ready: the array is emptied');
    is_deeply(\@ready, [], '... all of it');
    {
        # the pair held the last reference to an object: it goes at the
        # statement's end, not in the middle of the poll
        my ($x, $y) = BSDSocket::socketpair();
        my $fd = $x->fileno;
        $p->register($x, POLLIN);
        $y->send('z');
        $p->poll_into(\@ready, 1);
        $p->unregister($x);
        undef $x;                               # (the pair holds the last reference)
        ok(fd_is_open($fd), 'a pair holds the last reference to a socket');
        $pairs[0][1]->send('w');
        is($p->poll_into(\@ready, 1), 1, '... and is filled again with another');
        is($ready[0][0], $pairs[0][0], '... the new item');
        ok(!fd_is_open($fd), '... the old socket went (closed) with the statement');
        $pairs[0][0]->recv(10);
    }
    {
        # arrays with harmless magic are plain enough; odd pairs are not
        # filled again
        $pairs[0][1]->send('m');
        $#ready = -1;
        is($p->poll_into(\@ready, 1), 1, 'an array cleared with $#ready = -1');
        weaken(my $weak = \@ready);
        is($p->poll_into(\@ready, 1), 1, 'an array with a weak reference to it');
        my $pair = 0 + $ready[0];
        bless $ready[0], 'Somebody';
        $p->poll_into(\@ready, 1);
        isnt(0 + $ready[0], $pair, 'a pair the caller blessed is not filled again');
        ok(!Scalar::Util::blessed($ready[0]), '... the new one is plain');
        $ready[0][0] = \*STDERR;
        $ready[0][1] = [1];
        $p->poll_into(\@ready, 1);
        is($ready[0][0], $pairs[0][0], 'nor one holding a reference as its events');
        $pairs[0][0]->recv(10);
    }
    {
        # the timeout's get-magic drops the caller's array, and the poller
        package DropsAll;
        sub TIESCALAR { bless [$_[1]], $_[0] }
        sub FETCH { ${ $_[0][0] } = undef; 0 }
        package main;
        my $aref = [1, 2];
        tie my $t, 'DropsAll', \$aref;
        is($p->poll_into($aref, $t), 0, 'a timeout whose FETCH drops the array: no harm');
        my $q = BSDSocket::Poller->new(backend => $backend);
        tie my $t2, 'DropsAll', \$q;
        my @r;
        is($q->poll_into(\@r, $t2), 0, '... nor one that drops the poller');
    }
    tie my @tied, 'Tie::StdArray';
    dies_with(sub { $p->poll_into(\@tied, 0) }, errno => EINVAL, op => 'poll_into',
              message => qr/plain array/, name => 'a tied array is refused');
    dies_with(sub { $p->poll_into({}, 0) }, errno => EINVAL, op => 'poll_into',
              message => qr/array reference/, name => 'a hash is refused');
    dies_with(sub { $p->poll_into(\@ready, -1) }, errno => EINVAL, op => 'poll',
              name => 'a bad timeout');
    {
        # a signal handler that changes the array while the poll waits
        local $SIG{USR1} = sub { @ready = (1 .. 10); $pairs[1][1]->send('q') };
        my $pid = signals_then_send(count => 1, gap => 0.2);
        is($p->poll_into(\@ready, 5), 1, 'a handler that refilled the array while poll_into waited');
        waitpid $pid, 0;
        is(scalar @ready, 1, '... the array holds what is ready now');
        is($ready[0][0], 'second', '... that is, the one the handler made ready');
        $pairs[1][0]->recv(10);
    }
}

# poll_items: the items alone, into the caller's array, whose scalars
# take the new items in place where nothing else holds them
for my $backend (poller_backends()) {
    my $p = BSDSocket::Poller->new(backend => $backend);
    my @pairs = map { [BSDSocket::socketpair()] } 1 .. 3;
    $p->register($pairs[0][0], POLLIN);
    $p->register($pairs[1][0], POLLIN, 'second');
    $p->register($pairs[2][0], POLLIN | POLLOUT);
    $_->[1]->send('x') for @pairs[0, 1];
    my @ready = ('junk') x 5;
    is($p->poll_items(\@ready, 1), 3, "$backend: poll_items returns how many are ready");
    is(scalar @ready, 3, '... the array holds just those');
    is_deeply([sort map { ref $_ ? $_->fileno : $_ } @ready],
              [sort $pairs[0][0]->fileno, $pairs[2][0]->fileno, 'second'],
              '... $data // $item each, and no events');
    ok(!grep({ ref $_ && ref $_ ne 'BSDSocket::Socket' } @ready), '... the items themselves, not pairs');
    $p->modify($pairs[2][0], POLLIN);
    my @addr = map { 0 + \$_ } @ready;
    my $held = \$ready[0];                      # the caller holds one scalar
    my $held_was = $$held;
    for my $item (@ready) { }                   # (a loop leaves them as they were)
    $pairs[2][1]->send('y');
    is($p->poll_items(\@ready, 1), 3, '... again');
    is(0 + \$ready[1], $addr[1], '... a scalar nobody else holds takes the new item in place');
    isnt(0 + \$ready[0], $addr[0], '... the one the caller holds is not');
    is($$held, $held_was, '... and keeps its value');
    undef $held;
    $_->[0]->recv(10) for @pairs;
    is($p->poll_items(\@ready, 0), 0, 'nothing ready: the array is emptied');
    is_deeply(\@ready, [], '... all of it');
    {
        # the scalar held the last reference to an object: it goes at the
        # statement's end, not in the middle of the poll
        my ($x, $y) = BSDSocket::socketpair();
        my $fd = $x->fileno;
        $p->register($x, POLLIN);
        $y->send('z');
        $p->poll_items(\@ready, 1);
        $p->unregister($x);
        undef $x;
        ok(fd_is_open($fd), 'an item scalar holds the last reference to a socket');
        $pairs[0][1]->send('w');
        is($p->poll_items(\@ready, 1), 1, '... and takes another');
        is($ready[0], $pairs[0][0], '... the new item');
        ok(!fd_is_open($fd), '... the old socket went (closed) with the statement');
        $pairs[0][0]->recv(10);
    }
    {
        # scalars the caller changed: a weak reference, a glob, a
        # read-only one, a tied one; each gets the new item all the same
        $pairs[0][1]->send('m');
        $p->poll_items(\@ready, 1);
        weaken($ready[0]);
        is($p->poll_items(\@ready, 1), 1, 'a weakened item scalar');
        is($ready[0], $pairs[0][0], '... takes the item');
        ok(!Scalar::Util::isweak($ready[0]), '... as a strong reference');
        $ready[0] = *STDERR;
        $p->poll_items(\@ready, 1);
        is($ready[0], $pairs[0][0], 'a glob in its place: replaced');
        Internals::SvREADONLY($ready[0], 1);
        $p->poll_items(\@ready, 1);
        is($ready[0], $pairs[0][0], 'a read-only scalar: replaced');
        ok(!Internals::SvREADONLY($ready[0]), '... by a writable one');
        tie $ready[0], 'Tie::StdScalar', 'tied';
        $p->poll_items(\@ready, 1);
        ok(!tied $ready[0], 'a tied scalar: replaced');
        is($ready[0], $pairs[0][0], '... by the item');
        {
            # a loop over the array that polls into it again: the item it
            # is on stays as it was
            my @seen;
            for my $item (@ready) {
                $p->poll_items(\@ready, 1);
                push @seen, $item;
            }
            is_deeply(\@seen, [$pairs[0][0]], 'poll_items inside a loop over the same array');
        }
        $pairs[0][0]->recv(10);
    }
    tie my @tied, 'Tie::StdArray';
    dies_with(sub { $p->poll_items(\@tied, 0) }, errno => EINVAL, op => 'poll_items',
              message => qr/plain array/, name => 'poll_items: a tied array is refused');
    Internals::SvREADONLY(my @ro, 1);
    dies_with(sub { $p->poll_items(\@ro, 0) }, errno => EINVAL, op => 'poll_items',
              message => qr/plain array/, name => '... and a read-only one');
    dies_with(sub { $p->poll_items('x', 0) }, errno => EINVAL, op => 'poll_items',
              message => qr/array reference/, name => '... and a string');
    dies_with(sub { $p->poll_items(\@ready, 'soon') }, errno => EINVAL, op => 'poll',
              name => '... a bad timeout');
    {
        # a signal handler that changes the array while the poll waits
        local $SIG{USR1} = sub { @ready = (1 .. 10); $pairs[1][1]->send('q') };
        my $pid = signals_then_send(count => 1, gap => 0.2);
        is($p->poll_items(\@ready, 5), 1, 'a handler that refilled the array while poll_items waited');
        waitpid $pid, 0;
        is_deeply(\@ready, ['second'], '... the array holds what is ready now');
        $pairs[1][0]->recv(10);
    }
    {
        # a socket closed while registered is not reported
        my ($x, $y) = BSDSocket::socketpair();
        $p->register($x, POLLIN);
        $y->send('z');
        $x->close;
        is($p->poll_items(\@ready, 0), 0, 'a socket closed while registered is not reported');
    }
    $p->close;
    dies_with(sub { $p->poll_items(\@ready, 0) }, errno => EBADF, op => 'poll_items',
              name => 'poll_items on a closed poller');
}

is(open_fds(), $fds_before, 'no fd left open');

done_testing;
