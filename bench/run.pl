#!/usr/bin/perl
# bench/run.pl - BSDSocket's benchmarks, side by side with the alternatives.
#
#   perl Makefile.PL && make && perl bench/run.pl [options]
#
# Runs the same workloads through BSDSocket, Perl's builtins, IO::Socket,
# a C program making the raw system calls (built here with the system
# compiler) and, when python3 is there, Python's socket module.  Variants
# are interleaved round by round (their order rotates each round), so a
# slow patch of a shared machine hits all of them; each round gives every
# variant a ratio to C from that same round, and the table shows the
# median of those ratios.
#
#   W1  1-byte send / recv(64) ping-pong over a socketpair, one process (round trips/s)
#   W2  64 KiB chunks from a child process over a socketpair, 1 GiB (MB/s)
#   W3  64-byte UDP datagrams in lock-step on 127.0.0.1 (datagrams/s)
#   W3B the same in lock-step batches of 32: BSDSocket's send_many and
#       recv_many against one datagram per call (C, builtins, IO::Socket,
#       python3, BSDSocket), and, for reference, C on sendmmsg/recvmmsg
#       ("C mmsg") and C with what send_many does underneath ("C GSO":
#       UDP_SEGMENT sends, recvmmsg receives) and what send_many and
#       recv_many do with UDP_GRO on, as BSDSocket's sockets have it here
#       ("C GSO+GRO": the same sends, received on UDP_GRO sockets with
#       recvmmsg)
#   W3R the receive side alone: 1200-byte UDP datagrams from a C sender
#       process sending as fast as UDP GSO lets it, taken one per recvfrom
#       (C, builtins, python3, BSDSocket 1x1), with BSDSocket's
#       recv_many(64) on a UDP_GRO socket, and, for reference, C on recvmmsg ("C mmsg") and C
#       on UDP GRO ("C GRO": a run of datagrams per recvmsg); timed from
#       the first datagram to the Nth, UDP drops what the receiver cannot
#       take (datagrams/s).  A receiver faster than the sender gets the
#       sender's rate instead, as C GRO does on two CPUs
#   W4  connect + accept + close both on 127.0.0.1 (connections/s)
#   W5  echo servers on event loops: a C load generator with its own
#       epoll loop keeps 1000 TCP connections to one server process on
#       127.0.0.1 in lock-step (each sends 64 bytes, waits for the echo,
#       sends again) and times N echoes after a warm-up.  The servers: C
#       on epoll (what the others are compared with), the Poller
#       SYNOPSIS's loop, BSDSocket sockets on EV and on IO::Async,
#       IO::Socket on EV and on IO::Poll, Mojo::IOLoop, and python3 on
#       selectors, asyncio and uvloop (asyncio's Protocol on uvloop's
#       loop, from whichever python3 on the PATH has it); a server whose
#       module is missing is left out, and the output says so.  The
#       server runs on CPU 0 and the generator on CPU 1 where taskset
#       can put them there (round trips/s)
#   W6  a line protocol, print and readline, over a socketpair: the
#       socket object as a Perl filehandle against perl's own socketpair
#       handles, autoflushed (round trips/s)
# Then: W5's server CPU time per round trip, from the same rounds: the
# server's utime + stime across the timed echoes.  The load generator
# does about as much work a round trip as a fast server, so with those
# the rate is the pair's more than the server's; the CPU time is the
# server's alone.  It leaves out the kernel's packet handling on
# loopback where the kernel counts softirq time apart (about the same
# for every server).  Then system calls per W4 connection (strace -c),
# and user-space instructions per W1 round trip and per W5 round trip in
# the server (C's, the Poller's, BSDSocket on EV) (valgrind
# --tool=callgrind, two loop lengths, the difference divided out), each
# when the tool is there.
#
# Options:
#   --rounds N       rounds (default 7)
#   --only w1,w3     just these workloads
#   --scale F        multiply every loop length by F (0.1 for a quick look)
#   --no-callgrind   --no-strace   skip those parts
use strict;
use warnings;
use Config;
use File::Basename qw(dirname);
use File::Path qw(make_path);
use File::Spec;
use Getopt::Long;
use List::Util qw(min max);
use POSIX ();

my %opt = (rounds => 7, scale => 1);
my $usage = "usage: perl bench/run.pl [--rounds N] [--only w1,w2] [--scale F] [--no-callgrind] [--no-strace]\n";
GetOptions(\%opt, 'rounds=i', 'only=s', 'scale=f', 'no-callgrind', 'no-strace', 'help')
    or die $usage;
if ($opt{help}) {
    open my $self, '<', __FILE__ or die $!;
    while (<$self>) { last unless /^#/; print s/^# ?//r if $. > 1 }
    exit 0;
}
die "--rounds must be at least 1\n" if $opt{rounds} < 1;

my $bench = dirname(File::Spec->rel2abs(__FILE__));
my $top = dirname($bench);
chdir $top or die "$top: $!";
-e "blib/arch/auto/BSDSocket/BSDSocket.so"
    or die "build BSDSocket first: perl Makefile.PL && make\n";

my %workload = (
    w1 => { n => 200_000, unit => 'round trips/s', what => '1-byte ping-pong, socketpair' },
    w2 => { n => 16_384,  unit => 'MB/s',          what => '64 KiB chunks, 1 GiB, two processes',
            per_unit_bytes => 65536 },
    w3 => { n => 100_000, unit => 'datagrams/s',   what => '64-byte UDP lock-step, 127.0.0.1',
            units_per_n => 2 },
    w3b => { n => 5_000,  unit => 'datagrams/s',
             what => '64-byte UDP, lock-step batches of 32, 127.0.0.1 '
                   . '(BSDSocket: send_many/recv_many, UDP_GRO on; C, builtins, IO::Socket, python3, BSDSocket 1x1: '
                   . 'a datagram per call)',
             units_per_n => 2 * 32,
             extra => [qw(w3b_bsdsocket_1x1 w3b_c_mmsg w3b_c_gso w3b_c_gro)] },
    w3r => { n => 600_000, unit => 'datagrams/s',
             what => '1200-byte UDP from a GSO sender, 127.0.0.1, received by: '
                   . 'C, builtins, python3, BSDSocket 1x1: recvfrom, a datagram per call; '
                   . 'BSDSocket: recv_many(64), UDP_GRO on; C mmsg: recvmmsg(64); C GRO: UDP_GRO recvmsg',
             without => ['IO::Socket'],
             extra => [qw(w3r_bsdsocket_1x1 w3r_c_mmsg w3r_c_gro)] },
    w4 => { n => 20_000,  unit => 'connections/s', what => 'connect+accept+close, 127.0.0.1' },
    # (the variants come from w5_variants below; N takes the C server
    # 1.5 to 3 s on a two-CPU VM, the slowest about 6 s)
    w5 => { n => 150_000, unit => 'round trips/s',
            what => '64-byte echo servers, 1000 TCP connections in lock-step, 127.0.0.1',
            base => 'C epoll' },
    w6 => { n => 100_000, unit => 'round trips/s', what => 'print a line, readline it, both ways, socketpair' },
);
my @workloads = $opt{only} ? split(/,/, lc $opt{only}) : sort keys %workload;
$workload{$_} or die "unknown workload $_\n" for @workloads;

# ---------------------------------------------------------------- variants

my $c_prog = build_c();
# the interpreter itself, not a wrapper script (pyenv's shims are bash)
my $python = which('python3');
$python &&= do { my $exe = `$python -c 'import sys; print(sys.executable)'`; chomp $exe; $exe };
my @perl = ($^X, '-Mblib');
my @variants = (
    [C         => sub { ($c_prog, @_) }],
    [BSDSocket => sub { (@perl, "$bench/perl_workloads.pl", 'bsdsocket', @_) }],
    [builtins  => sub { (@perl, "$bench/perl_workloads.pl", 'builtin', @_) }],
    ['IO::Socket' => sub { (@perl, "$bench/perl_workloads.pl", 'iosocket', @_) }],
    $python ? (['python3' => sub { ($python, "$bench/py_workloads.py", @_) }]) : (),
);
# variants only some workloads have (the workload name is passed and ignored)
my %extra_variant = (
    w3b_bsdsocket_1x1 => ['BSDSocket 1x1' => sub { (@perl, "$bench/perl_workloads.pl", 'bsdsocket1', 'w3b', $_[1]) }],
    w3b_c_mmsg        => ['C mmsg'        => sub { ($c_prog, 'w3m', $_[1]) }],
    w3b_c_gso         => ['C GSO'         => sub { ($c_prog, 'w3g', $_[1]) }],
    w3b_c_gro         => ['C GSO+GRO'     => sub { ($c_prog, 'w3ggro', $_[1]) }],
    w3r_bsdsocket_1x1 => ['BSDSocket 1x1' => sub { (@perl, "$bench/perl_workloads.pl", 'bsdsocket1', 'w3r', $_[1]) }],
    w3r_c_mmsg        => ['C mmsg'        => sub { ($c_prog, 'w3rm', $_[1]) }],
    w3r_c_gro         => ['C GRO'         => sub { ($c_prog, 'w3rgro', $_[1]) }],
);
# less the ones a workload leaves out (W3R: IO::Socket, whose recv is the
# builtin's behind a method call, as W1 and W3 already show); W5 has its
# own
sub variants_of {
    my ($w) = @_;
    return @{ $workload{$w}{variants} } if $workload{$w}{variants};
    my %without = map { $_ => 1 } @{ $workload{$w}{without} // [] };
    return ((grep { !$without{ $_->[0] } } @variants),
            map { $extra_variant{$_} } @{ $workload{$w}{extra} // [] });
}

# W5's servers, each started, timed and stopped by the C load generator:
# c_workloads w5 N SERVER-COMMAND...  Notes say where they ran and which
# were left out for want of a module or a program.
my @w5_notes;
my %w5_server;    # each W5 variant's server command, by name
$workload{w5}{variants} = [w5_variants()] if grep { $_ eq 'w5' } @workloads;

sub w5_variants {
    my ($client_cpu, $server_cpu, $pinning) = w5_pinning();
    push @w5_notes, $pinning;
    my @perl_server = (@perl, "$bench/w5_servers.pl");
    my @py_server = ("$bench/py_workloads.py", 'w5serve');
    my $uvloop = $python && python_with('uvloop');
    push @w5_notes, "python3 uvloop runs on $uvloop, python3 " . python_version($uvloop)
                  . ': the python3 above has no uvloop'
        if $uvloop && $uvloop ne $python;
    # name, server command, the Perl module it needs
    my @servers = (
        ['C epoll'             => [$c_prog, 'w5serve']],
        ['BSDSocket::Poller'   => [@perl_server, 'poller']],
        ['BSDSocket EV'        => [@perl_server, 'bsdsocket_ev'], 'EV'],
        ['BSDSocket IO::Async' => [@perl_server, 'bsdsocket_ioasync'], 'IO::Async::Loop'],
        ['EV IO::Socket'       => [@perl_server, 'ev_iosocket'], 'EV'],
        ['IO::Poll'            => [@perl_server, 'iopoll'], 'IO::Poll'],
        ['Mojo::IOLoop'        => [@perl_server, 'mojo'], 'Mojo::IOLoop'],
        ['python3 selectors'   => $python && [$python, @py_server, 'selectors']],
        ['python3 asyncio'     => $python && [$python, @py_server, 'asyncio']],
        ['python3 uvloop'      => $uvloop && [$uvloop, @py_server, 'uvloop']],
    );
    my (@variants, @skipped, %have);
    for (@servers) {
        my ($name, $server, $module) = @$_;
        if (!$server) {
            push @skipped, "$name (" . ($python ? 'no python3 with uvloop' : 'no python3') . ')';
            next;
        }
        if ($module && !($have{$module} //= silent(@perl, "-M$module", '-e1'))) {
            push @skipped, "$name (no $module)";
            next;
        }
        push @variants, [$name => sub { (@$client_cpu, $c_prog, 'w5', $_[1], @$server_cpu, @$server) }];
        $w5_server{$name} = $server;
    }
    # what the frameworks chose to run on
    my @on;
    push @on, 'Mojo::IOLoop on ' . perl_says('-MMojo::Reactor::Poll', 'print Mojo::Reactor::Poll->detect')
        if $have{'Mojo::IOLoop'};
    push @on, 'IO::Async on ' . perl_says('-MIO::Async::Loop', 'print ref IO::Async::Loop->new')
        if $have{'IO::Async::Loop'};
    push @w5_notes, join(', ', @on) if @on;
    push @w5_notes, 'left out: ' . join(', ', @skipped) if @skipped;
    return @variants;
}

# taskset prefixes for the load generator and the server, and what they do
sub w5_pinning {
    my $taskset = which('taskset');
    my $why = !$taskset ? 'no taskset'
            : cpus() < 2 ? 'fewer than 2 CPUs'
            : !(silent($taskset, '-c', 0, $^X, '-e1') && silent($taskset, '-c', 1, $^X, '-e1'))
                ? 'taskset cannot use CPUs 0 and 1 here'
            : undef;
    return ([], [], "not pinned to CPUs: $why") if $why;
    return ([$taskset, '-c', 1], [$taskset, '-c', 0],
            'the server ran on CPU 0, the load generator on CPU 1 (taskset)');
}

# the first python3 on the PATH, the harness's first, that can import
# the module
sub python_with {
    my ($module) = @_;
    my %seen;
    for my $candidate ($python, which_all('python3')) {
        my $exe = `$candidate -c 'import sys; print(sys.executable)' 2>/dev/null` or next;
        chomp $exe;
        next if $seen{$exe}++;
        return $exe if silent($exe, '-c', "import $module");
    }
    return;
}

sub python_version {
    my ($exe) = @_;
    my $v = `$exe -c 'import sys; print(sys.version.split()[0])'`;
    chomp $v;
    return $v;
}

sub perl_says {
    my @args = @_;
    open my $out, '-|', @perl, @args[0 .. $#args - 1], '-e', $args[-1] or return '?';
    my $text = do { local $/; <$out> };
    return length $text ? $text : '?';
}

sub build_c {
    my $dir = "$bench/build";
    make_path($dir);
    my $exe = "$dir/c_workloads";
    my @cmd = ($Config{cc}, '-O2', '-o', $exe, "$bench/c_workloads.c");
    system(@cmd) == 0 or die "could not build the C baseline: @cmd\n";
    return $exe;
}

sub which { (which_all(@_))[0] }

sub which_all {
    my ($name) = @_;
    return grep { -x } map { File::Spec->catfile($_, $name) } File::Spec->path;
}

# the loop's seconds, and for W5 the server's CPU seconds after them
sub run_seconds {
    my @cmd = @_;
    open my $out, '-|', @cmd or die "cannot run @cmd: $!\n";
    my $text = do { local $/; <$out> };
    close $out;
    die "failed ($?): @cmd\n"
        if $? || !defined $text || $text !~ /^(\d+\.\d+)(?: (\d+\.\d+))?\s*$/;
    return ($1, $2);
}

sub median {
    my @s = sort { $a <=> $b } @_;
    return @s % 2 ? $s[$#s / 2] : ($s[@s / 2 - 1] + $s[@s / 2]) / 2;
}

sub human {
    my ($x) = @_;
    return sprintf('%.0f', $x) if $x >= 100;
    return sprintf('%.1f', $x);
}

# ------------------------------------------------------------- the rounds

print "BSDSocket benchmarks, $opt{rounds} rounds, ", scalar(localtime), "\n";
printf "perl %s, %s, %d CPUs online\n", $^V, $Config{archname}, cpus();
print "python3: ", ($python ? `$python -c 'import sys; print(sys.version.split()[0])'` : "not found\n");
print "\n";

my %rate;     # $rate{$w}{$variant}[$round]
my %cpu;      # W5's server CPU microseconds per round trip, the same way
for my $round (1 .. $opt{rounds}) {
    for my $w (@workloads) {
        my $spec = $workload{$w};
        my @all = variants_of($w);
        my @order = map { $all[($_ + $round - 1) % @all] } 0 .. $#all;
        my $n = int($spec->{n} * $opt{scale}) || 1;
        for my $v (@order) {
            my ($name, $cmd) = @$v;
            my ($secs, $cpu) = run_seconds($cmd->($w, $n));
            my $units = $n * ($spec->{units_per_n} // 1);
            $cpu{$w}{$name}[$round - 1] = $cpu * 1e6 / $units if defined $cpu;
            $rate{$w}{$name}[$round - 1] = $spec->{per_unit_bytes}
                ? $n * $spec->{per_unit_bytes} / 1e6 / $secs
                : $units / $secs;
        }
    }
    print STDERR "round $round of $opt{rounds} done\n";
}

# (W5's names are longer, and it has no builtins)
for my $w (@workloads) {
    my $spec = $workload{$w};
    my $base = $spec->{base} // 'C';
    my @names = map { $_->[0] } variants_of($w);
    my $width = max(13, map { length } @names);
    my $builtins = grep { $_ eq 'builtins' } @names;
    printf "%s: %s, %s\n", uc $w, $spec->{what}, $spec->{unit};
    printf "  %-*s %12s %21s %10s%s\n", $width, 'variant', 'median', 'min - max', "vs $base",
        $builtins ? sprintf(' %12s', 'vs builtins') : '';
    for my $v (@names) {
        my @r = @{ $rate{$w}{$v} };
        my @vs_c = map { $r[$_] / $rate{$w}{$base}[$_] } 0 .. $#r;
        my @vs_b = $builtins ? map { $r[$_] / $rate{$w}{builtins}[$_] } 0 .. $#r : ();
        printf "  %-*s %12s %21s %9.2fx%s\n", $width, $v, human(median(@r)),
            human(min(@r)) . ' - ' . human(max(@r)), median(@vs_c),
            $builtins ? sprintf(' %11.2fx', median(@vs_b)) : '';
    }
    print "\n";
}

# ---------------------------------------- W5's server CPU per round trip

if (grep { $_ eq 'w5' } @workloads) {
    my $base = $workload{w5}{base};
    my @names = map { $_->[0] } variants_of('w5');
    my $width = max(map { length } @names);
    print "W5 server CPU time per round trip (microseconds, its utime + stime over the timed echoes):\n";
    my @rounds = grep { $cpu{w5}{$base}[$_] > 0 } 0 .. $opt{rounds} - 1;   # (a tiny --scale reads 0)
    for my $v (@names) {
        my @c = @{ $cpu{w5}{$v} };
        my @vs = map { $c[$_] / $cpu{w5}{$base}[$_] } @rounds;
        printf "  %-*s %7.2f   %s %s\n", $width, $v, median(@c),
            @vs ? sprintf('%5.2fx', median(@vs)) : '     -', $base;
    }
    print "  $_\n" for @w5_notes;
    print "\n";
}

# ---------------------------------------------- system calls per connection

if (!$opt{'no-strace'} && grep { $_ eq 'w4' } @workloads) {
    if (my $strace = which('strace')) {
        print "W4 system calls per connection (strace -f -c, 2000 minus 1000 connections):\n";
        for my $v (@variants) {
            my ($name, $cmd) = @$v;
            my %one = strace_counts($strace, $cmd->('w4', 1000));
            my %two = strace_counts($strace, $cmd->('w4', 2000));
            my @per = map { [$_, ($two{$_} // 0) - ($one{$_} // 0)] } sort keys %two;
            my $total = 0;
            $total += $_->[1] for @per;
            # name the calls made about once per connection or more; the
            # total counts every call, the rest as "other"
            my @named = grep { $_->[1] >= 500 } @per;
            my $other = $total;
            $other -= $_->[1] for @named;
            printf "  %-11s %4.1f  (%s)\n", $name, $total / 1000,
                join(', ', (map { sprintf '%s %.1f', $_->[0], $_->[1] / 1000 } @named),
                           abs($other) >= 50 ? sprintf('other %.1f', $other / 1000) : ());
        }
        print "\n";
    }
    else {
        print "W4 system calls: strace not found, skipped\n\n";
    }
}

sub strace_counts {
    my ($strace, @cmd) = @_;
    my $log = "$bench/build/strace.txt";
    quiet_system($strace, '-f', '-c', '-o', $log, @cmd) or die "strace @cmd failed\n";
    open my $fh, '<', $log or die "$log: $!";
    my %calls;
    while (<$fh>) {
        # % time  seconds  usecs/call  calls  [errors]  syscall
        next unless /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/;
        $calls{$2} = $1 unless $2 eq 'total';
    }
    return %calls;
}

# ---------------------------------------- instructions per W1 round trip

if (!$opt{'no-callgrind'} && grep { $_ eq 'w1' } @workloads) {
    if (my $valgrind = which('valgrind')) {
        print "W1 user-space instructions per round trip (callgrind, 40000 minus 20000 round trips):\n";
        my %ir;
        for my $v (@variants) {
            my ($name, $cmd) = @$v;
            my $one = callgrind_ir($valgrind, $cmd->('w1', 20_000));
            my $two = callgrind_ir($valgrind, $cmd->('w1', 40_000));
            $ir{$name} = ($two - $one) / 20_000;
        }
        for my $v (map { $_->[0] } @variants) {
            printf "  %-11s %7.0f   %5.2fx C   %5.2fx builtins\n", $v, $ir{$v},
                $ir{$v} / $ir{C}, $ir{$v} / $ir{builtins};
        }
        print "\n";
    }
    else {
        print "W1 instructions: valgrind not found, skipped\n\n";
    }
}

# ------------------------- instructions per W5 round trip, in the server

# The server alone runs under callgrind (the load generator stops it with
# SIGTERM, which leaves valgrind the moment to write its count); the
# C server, the Poller's, and the BSDSocket sockets on EV.
if (!$opt{'no-callgrind'} && grep { $_ eq 'w5' } @workloads) {
    if (my $valgrind = which('valgrind')) {
        print "W5 server user-space instructions per round trip (callgrind, 40000 minus 20000 round trips):\n";
        my @names = grep { $w5_server{$_} } 'C epoll', 'BSDSocket::Poller', 'BSDSocket EV';
        my %ir;
        for my $name (@names) {
            my @ir = map { callgrind_ir_under([$c_prog, 'w5', $_], $valgrind, @{ $w5_server{$name} }) }
                20_000, 40_000;
            $ir{$name} = ($ir[1] - $ir[0]) / 20_000;
        }
        printf "  %-19s %7.0f   %6.1fx %s\n", $_, $ir{$_}, $ir{$_} / $ir{$names[0]}, $names[0]
            for @names;
        print "\n";
    }
    else {
        print "W5 instructions: valgrind not found, skipped\n\n";
    }
}

# the user-space instructions @cmd ran
sub callgrind_ir {
    my ($valgrind, @cmd) = @_;
    return callgrind_ir_under([], $valgrind, @cmd);
}

# the same for @cmd started by the command @$starter (W5's load generator)
sub callgrind_ir_under {
    my ($starter, $valgrind, @cmd) = @_;
    my $out = "$bench/build/callgrind.out";
    my $log = "$bench/build/callgrind.log";
    unlink $log;
    quiet_system(@$starter, $valgrind, '--tool=callgrind', "--callgrind-out-file=$out", "--log-file=$log", @cmd)
        or die "callgrind @cmd failed\n";
    open my $fh, '<', $log or die "$log: $!";
    while (my $line = <$fh>) {
        return $1 =~ tr/,//dr if $line =~ /Collected\s*:\s*([\d,]+)/;
    }
    die "no instruction count in $log\n";
}

# run a command with its output and its errors thrown away (a probe)
sub silent {
    my @cmd = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', File::Spec->devnull or die $!;
        open STDERR, '>', File::Spec->devnull or die $!;
        exec @cmd or POSIX::_exit(127);
    }
    waitpid $pid, 0;
    return $? == 0;
}

# run a command with its output (the loop's seconds) thrown away
sub quiet_system {
    my @cmd = @_;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', File::Spec->devnull or die $!;
        exec @cmd or die "exec $cmd[0]: $!";
    }
    waitpid $pid, 0;
    return $? == 0;
}

sub cpus {
    open my $fh, '<', '/proc/cpuinfo' or return 0;
    return scalar grep { /^processor\s*:/ } <$fh>;
}
