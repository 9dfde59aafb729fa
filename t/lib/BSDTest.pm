package BSDTest;

# Helpers shared by the tests: loopback pairs, temp paths, an alarm guard,
# and a check for "dies with this BSDSocket::Error".

use strict;
use warnings;

use Errno ();
use Fcntl ();
use POSIX ();
use File::Spec ();
use File::Temp ();
use Test::More ();

use BSDSocket qw(:all);

use Exporter 'import';
our @EXPORT = qw(
    tcp_pair tcp_listener udp_pair temp_dir guard_alarm dies_with
    have_program no_dns_host fd_is_open open_fds perl_cmd is_cloexec
    signals_then_send raise_nofile wait_asleep poller_backends platform_has nonblocking
);

# A name the resolver rejects before asking anyone: a 64-byte label is
# longer than DNS allows, so glibc fails it locally (no query is sent).
sub no_dns_host { ('x' x 64) . '.invalid' }

# Every blocking test runs under this: a bug fails the test, not the suite.
# (Under valgrind, which xt/valgrind.sh says in BSD_TEST_SLOW_TOOL,
# everything takes several times as long.)
sub guard_alarm {
    my ($seconds) = @_;
    $seconds *= 4 if $ENV{BSD_TEST_SLOW_TOOL};
    $SIG{ALRM} = sub { die "test timed out after $seconds s\n" };
    alarm $seconds;
}

sub tcp_listener {
    my ($family) = @_;
    $family //= AF_INET;
    my $l = BSDSocket::socket($family, SOCK_STREAM);
    $l->setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    $l->bind($family == AF_INET6 ? ['::1', 0] : ['127.0.0.1', 0]);
    $l->listen(16);
    return $l;
}

# (listener, client, server-side connection), connected over 127.0.0.1.
sub tcp_pair {
    my $l = tcp_listener(@_);
    my $c = BSDSocket::socket($l->family, SOCK_STREAM);
    $c->connect($l->getsockname);
    my ($s) = $l->accept;
    return ($l, $c, $s);
}

# Two UDP sockets bound on 127.0.0.1, each knowing the other's address.
sub udp_pair {
    my @s = map {
        my $u = BSDSocket::socket(AF_INET, SOCK_DGRAM);
        $u->bind(['127.0.0.1', 0]);
        $u;
    } 1 .. 2;
    return @s;
}

sub temp_dir { File::Temp::tempdir('bsdsock-XXXXXX', TMPDIR => 1, CLEANUP => 1) }

# dies_with(sub { ... }, errno => EINVAL, op => 'recv', message => qr/.../,
#           class => 'BSDSocket::Error', name => 'what it checks')
sub dies_with {
    my ($code, %want) = @_;
    my $name = delete $want{name} // 'dies';
    my $ok = eval { $code->(); 1 };
    my $e = $@;
    my $tb = Test::More->builder;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    if ($ok) {
        $tb->ok(0, $name);
        $tb->diag('it did not die');
        return;
    }
    my $class = $want{class} // 'BSDSocket::Error';
    unless (ref $e && eval { $e->isa($class) }) {
        $tb->ok(0, $name);
        $tb->diag("died with " . (ref $e || "a plain string: $e") . ", wanted $class");
        return;
    }
    my @problems;
    if (exists $want{errno}) {
        # (an array of errnos: where kernels differ, any of them)
        my $got = $e->errno;
        my @wanted = ref $want{errno} eq 'ARRAY' ? @{ $want{errno} } : ($want{errno});
        push @problems, "errno is " . ($got // 'undef') . ", wanted "
                        . join(' or ', map { $_ // 'undef' } @wanted)
            unless grep { (defined $got && defined $_ && $got == $_) || (!defined $got && !defined $_) }
                        @wanted;
    }
    push @problems, "op is '" . ($e->op // 'undef') . "', wanted '$want{op}'"
        if exists $want{op} && ($e->op // '') ne $want{op};
    push @problems, "message '" . $e->message . "' does not match $want{message}"
        if exists $want{message} && $e->message !~ $want{message};
    $tb->ok(!@problems, $name) or $tb->diag(join "\n", @problems, "error: $e");
    return $e;
}

# Run this test file again with a soft RLIMIT_NOFILE of at least $want
# (perl has no setrlimit of its own; sh's ulimit has), when the hard limit
# allows it.  Returns if the limit is already that high or cannot be.
# Call it before the first test.
sub raise_nofile {
    my ($want) = @_;
    return if $ENV{BSDTEST_NOFILE_RAISED}++;
    my $sh = have_program('sh') or return;
    chomp(my $soft = `$sh -c 'ulimit -Sn'`);
    chomp(my $hard = `$sh -c 'ulimit -Hn'`);
    return if $soft eq 'unlimited' || $soft >= $want;
    return unless $hard eq 'unlimited' || $hard >= $want;
    exec $sh, '-c', "ulimit -Sn $want && exec \"\$@\"", 'sh', perl_cmd($0, @ARGV);
    die "exec $sh: $!";
}

sub have_program {
    my ($name) = @_;
    for my $dir (File::Spec->path) {
        return File::Spec->catfile($dir, $name) if -x File::Spec->catfile($dir, $name);
    }
    return;
}

# Looking must not take ownership of the fd (an open "<&=" handle would
# close it when it goes, and perl marks what it opens close-on-exec):
# /proc where there is one; elsewhere a dup for "is it open", and for
# close-on-exec whether an exec'd perl finds it open.
sub fd_is_open {
    my ($fd) = @_;
    return -e "/proc/self/fd/$fd" if -d '/proc/self/fd';
    my $copy = POSIX::dup($fd);
    return 0 unless defined $copy;
    POSIX::close($copy);
    return 1;
}

sub is_cloexec {
    my ($fd) = @_;
    if (open my $info, '<', "/proc/self/fdinfo/$fd") {
        while (<$info>) {
            return oct($1) & 02000000 ? 1 : 0 if /^flags:\s+(\d+)/;   # O_CLOEXEC
        }
        return undef;
    }
    return undef unless fd_is_open($fd);
    my $status = system($^X, '-MPOSIX', '-e',
                        'my $c = POSIX::dup($ARGV[0]); exit(defined $c ? 0 : 1)', $fd);
    return $status == -1 ? undef : $status == 0 ? 0 : 1;
}

# Open descriptors, not counting the one doing the counting, nor a
# sanitizer's report file (xt/asan.sh names its directory in
# BSD_SANITIZER_LOG_DIR; ASan opens the file the first time it writes).
# From /proc where there is one; elsewhere by asking fcntl about every
# number up to the limit.
sub open_fds {
    if (opendir my $dh, '/proc/self/fd') {
        my @fds = grep { /^\d+$/ } readdir $dh;
        closedir $dh;
        my $logs = $ENV{BSD_SANITIZER_LOG_DIR};
        @fds = grep { (readlink("/proc/self/fd/$_") // '') !~ /^\Q$logs\E/ } @fds if $logs;
        return @fds - 1;
    }
    my $max = POSIX::sysconf(POSIX::_SC_OPEN_MAX()) // 1024;
    $max = 65536 if $max < 0 || $max > 65536;
    my $open = 0;
    for my $fd (0 .. $max - 1) {
        my $copy = POSIX::dup($fd);
        next unless defined $copy;
        POSIX::close($copy);
        $open++;
    }
    return $open;
}

# Until process $pid sleeps in the kernel (in the call under test); where
# /proc cannot tell, after a pause that is long enough on a quiet machine.
sub wait_asleep {
    my ($pid, %o) = @_;
    unless (-r "/proc/$pid/stat") {
        select undef, undef, undef, 0.3;
        return 1;
    }
    for (1 .. 2000) {
        open my $stat, '<', "/proc/$pid/stat" or return 0;
        if ((<$stat> // '') =~ /\) S /) {
            select undef, undef, undef, $o{settle} // 0;
            return 1;
        }
        select undef, undef, undef, 0.005;
    }
    return 0;
}

# The poller backends this build has: epoll (where there is one) and poll.
sub poller_backends {
    return BSDSocket::platform()->{epoll} ? ('epoll', 'poll') : ('poll');
}

# Sockets made non-blocking (SOCK_NONBLOCK is not everywhere: macOS).
sub nonblocking {
    $_->setblocking(0) for @_;
    return wantarray ? @_ : $_[0];
}

# Does this build have it (see BSDSocket::platform)?
sub platform_has { BSDSocket::platform()->{ $_[0] } }

# Fork a child that waits $gap seconds and sends this process $signal,
# $count times, then after $last_gap (default $gap) sends $data on $peer
# (when given) and leaves.  Returns its pid: the caller waits in the call
# under test meanwhile, then reaps it.
sub signals_then_send {
    my (%o) = @_;
    my ($count, $gap, $signal) = ($o{count} // 1, $o{gap} // 0.1, $o{signal} // 'USR1');
    my $parent = $$;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    for (1 .. $count) {
        select undef, undef, undef, $gap;
        kill $signal, $parent;
    }
    if ($o{peer}) {
        select undef, undef, undef, $o{last_gap} // $gap;
        $o{peer}->send($o{data});
    }
    POSIX::_exit(0);
}

# The command line for a child perl that sees the same build.
sub perl_cmd {
    return ($^X, (map { "-I$_" } grep { !ref } @INC), @_);
}

1;
