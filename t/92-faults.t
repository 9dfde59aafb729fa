use strict;
use warnings;
use Test::More;
use Errno qw(EMFILE EPIPE ECONNRESET ECONNABORTED ENOBUFS EINTR);
use POSIX ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# Faults from outside: descriptors running out, errors the kernel can
# return (injected with strace), peers that reset or die mid-transfer.
# Each must end in a clean BSDSocket::Error with the process and the
# other sockets still working.  (Fork and thread copies: t/40, t/41.)

guard_alarm(120);
my $sh = have_program('sh');

# Run perl code in a child and return its stdout ("key=value" lines).
sub child {
    my ($code, %opt) = @_;
    my @cmd = (perl_cmd('-e', $code));
    @cmd = ($sh, '-c', "ulimit -n $opt{nofile} && exec \"\$@\"", 'sh', @cmd) if $opt{nofile};
    @cmd = ($opt{strace}, '-f', '-o', '/dev/null', @{ $opt{strace_args} }, @cmd) if $opt{strace};
    open my $out, '-|', @cmd or die "cannot run @cmd: $!";
    local $/;
    my $text = <$out>;
    close $out;
    my %r = map { /^(\w+)=(.*)$/ ? ($1, $2) : () } split /\n/, $text // '';
    $r{exit} = $?;
    return \%r;
}

my $common = <<'PERL';
use strict; use warnings;
use BSDSocket qw(:all);
$| = 1;
sub report { my ($k, $e) = @_; print "$k=", (ref $e ? join(',', ref $e, $e->op, $e->errname // '') : "plain:$e"), "\n" }
PERL

# ------------------------------------------------------ out of descriptors

SKIP: {
    skip 'no sh for ulimit', 9 unless $sh;
    my $r = child($common . <<'PERL', nofile => 32);
my $l = BSDSocket::socket(AF_INET, SOCK_STREAM);
$l->bind(['127.0.0.1', 0]); $l->listen(64);
my $addr = $l->getsockname;
my @clients = map { my $c = BSDSocket::socket(AF_INET, SOCK_STREAM); $c->connect($addr); $c } 1 .. 3;
my @hog;
while (1) { my $s = eval { BSDSocket::socket(AF_INET, SOCK_DGRAM) } or do { report(socket => $@); last }; push @hog, $s }
eval { BSDSocket::socketpair() } or report(socketpair => $@);
eval { $l->accept } or report(accept => $@);
eval { BSDSocket::fromfd($l->fileno) } or report(fromfd => $@);
eval { $l->makefile('r') } or report(makefile => $@);
pop(@hog)->close for 1 .. 4;
my ($conn, $peer) = $l->accept;
print "accept_after=", ($conn ? 'ok' : 'no'), "\n";
$clients[0]->send('still talking');
print "data_after=", ($conn->recv(100) // ''), "\n";
my ($x, $y) = BSDSocket::socketpair();
print "socketpair_after=ok\n";
PERL
    is($r->{socket},     'BSDSocket::Error,socket,EMFILE',     'socket dies EMFILE');
    is($r->{socketpair}, 'BSDSocket::Error,socketpair,EMFILE', 'socketpair dies EMFILE');
    is($r->{accept},     'BSDSocket::Error,accept,EMFILE',     'accept dies EMFILE');
    is($r->{fromfd},     'BSDSocket::Error,fromfd,EMFILE',     'fromfd dies EMFILE');
    is($r->{makefile},   'BSDSocket::Error,makefile,EMFILE',   'makefile dies EMFILE');
    is($r->{accept_after}, 'ok', 'the listener accepts again once descriptors are free');
    is($r->{data_after}, 'still talking', 'the accepted connection works');
    is($r->{socketpair_after}, 'ok', 'socketpair works again');
    is($r->{exit}, 0, 'the child exited cleanly');
}

# the services and protocols databases cannot be opened without a free
# descriptor: that is the error (EMFILE, with errno), not "not found"
SKIP: {
    skip 'no sh for ulimit', 7 unless $sh;
    skip 'no /etc/services or /etc/protocols', 7 unless -r '/etc/services' && -r '/etc/protocols';
    my $r = child($common . <<'PERL', nofile => 32);
sub db_report {
    my ($k, $code) = @_;
    my $found = eval { $code->() };
    my $e = $@;
    return print "$k=found $found\n" if defined $found;
    print "$k=", (ref $e ? join(',', ref $e, $e->op, $e->errname // 'undef', $e->errno // 'undef') : "plain:$e"), "\n";
    print "${k}_message=", (ref $e ? $e->message : ''), "\n";
}
my @hog;
while (open my $fh, '<', '/dev/null') { push @hog, $fh }
print "exhausted=", ($!{EMFILE} ? 'EMFILE' : $! + 0), "\n";
db_report(getservbyname => sub { BSDSocket::getservbyname('http', 'tcp') });
db_report(getservbyport => sub { BSDSocket::getservbyport(80, 'tcp') });
db_report(getprotobyname => sub { BSDSocket::getprotobyname('tcp') });
splice @hog, 0, 4;
print "after=", join(',', BSDSocket::getservbyname('http', 'tcp'), BSDSocket::getservbyport(80, 'tcp'),
                     BSDSocket::getprotobyname('tcp')), "\n";
PERL
    my $emfile = 'BSDSocket::Error,%s,EMFILE,' . EMFILE;
    is($r->{exhausted}, 'EMFILE', 'the child used up its descriptors');
    is($r->{getservbyname}, sprintf($emfile, 'getservbyname'), 'getservbyname then dies EMFILE, errno set');
    is($r->{getservbyport}, sprintf($emfile, 'getservbyport'), 'getservbyport dies EMFILE, errno set');
    is($r->{getprotobyname}, sprintf($emfile, 'getprotobyname'), 'getprotobyname dies EMFILE, errno set');
    is($r->{after}, '80,http,6', 'all three work again once descriptors are free');
    is($r->{exit}, 0, 'the child exited cleanly');
    my @messages = map { $r->{"${_}_message"} // '' } qw(getservbyname getservbyport getprotobyname);
    ok(!grep({ /not found|no service/ } @messages), 'none of them says "not found"')
        or diag join "\n", @messages;
}

# --------------------------------------------------- injected errors

SKIP: {
    my $strace = have_program('strace');
    skip 'strace is not installed', 25 unless $strace;
    skip 'strace cannot trace here', 25
        unless system("$strace -f -o /dev/null true >/dev/null 2>&1") == 0;

    # Which of the child's $syscall calls (counting from 1) is the $k-th
    # after its MARK write whose strace line matches $like: count them in
    # one run, so that the next run's injection hits exactly that call and
    # none that perl makes on its own.
    my $nth_after_mark = sub {
        my ($code, $syscall, $like, $k) = @_;
        my $log = temp_dir() . '/strace.log';
        child($code, strace => $strace,
              strace_args => ['-o', $log, '-e', "trace=$syscall,write", '-e', 'signal=none']);
        open my $fh, '<', $log or die "$log: $!";
        my ($n, $marked) = (0, 0);
        while (<$fh>) {
            $marked = 1 if /MARK/;
            next unless /\b$syscall\(/;
            $n++;
            return $n if $marked && /$like/ && --$k == 0;
        }
        die "no such $syscall call after MARK";
    };

    my $r = child($common . <<'PERL', strace => $strace, strace_args => ['-e', 'trace=recvfrom', '-e', 'inject=recvfrom:error=EINTR:when=1']);
my ($a, $b) = BSDSocket::socketpair();
$a->send('through EINTR');
print "recv=", $b->recv(100), "\n";
PERL
    is($r->{recv}, 'through EINTR', 'recv retries after an injected EINTR');

    $r = child($common . <<'PERL', strace => $strace, strace_args => ['-e', 'trace=connect', '-e', 'inject=connect:error=EINTR:when=1']);
my $l = BSDSocket::socket(AF_INET, SOCK_STREAM);
$l->bind(['127.0.0.1', 0]); $l->listen(1);
my $c = BSDSocket::socket(AF_INET, SOCK_STREAM);
$c->connect($l->getsockname);
my $s = $l->accept;
$c->send('connected anyway');
print "connect=", $s->recv(100), "\n";
PERL
    is($r->{connect}, 'connected anyway', 'connect completes after an injected EINTR');

    $r = child($common . <<'PERL', strace => $strace, strace_args => ['-e', 'trace=sendto', '-e', 'inject=sendto:error=EPIPE:when=2']);
my ($a, $b) = BSDSocket::socketpair();
$a->send('first');
eval { $a->send('second'); 1 } or report(send => $@);
print "errno=", $! + 0, "\n";
$a->send('third');
print "after=", $b->recv(100), "\n";
PERL
    is($r->{send}, 'BSDSocket::Error,send,EPIPE', 'an injected EPIPE dies EPIPE');
    is($r->{errno}, EPIPE, '... with $! set');
    is($r->{after}, 'firstthird', 'the socket works afterwards');

    $r = child($common . <<'PERL', strace => $strace, strace_args => ['-e', 'trace=sendto', '-e', 'inject=sendto:error=ENOBUFS:when=1']);
my $u = BSDSocket::socket(AF_INET, SOCK_DGRAM);
eval { $u->sendto('x', ['127.0.0.1', 9]); 1 } or report(sendto => $@);
PERL
    is($r->{sendto}, 'BSDSocket::Error,sendto,ENOBUFS', 'an injected ENOBUFS dies ENOBUFS');

    $r = child($common . <<'PERL', strace => $strace, strace_args => ['-e', 'trace=accept4,accept', '-e', 'inject=accept4,accept:error=ECONNABORTED:when=1']);
my $l = BSDSocket::socket(AF_INET, SOCK_STREAM);
$l->bind(['127.0.0.1', 0]); $l->listen(4);
my @c = map { my $c = BSDSocket::socket(AF_INET, SOCK_STREAM); $c->connect($l->getsockname); $c } 1, 2;
eval { $l->accept; 1 } or report(accept => $@);
my $s = $l->accept;
print "accept_after=", ($s ? 'ok' : 'no'), "\n";
PERL
    is($r->{accept}, 'BSDSocket::Error,accept,ECONNABORTED', 'an injected ECONNABORTED dies ECONNABORTED');
    is($r->{accept_after}, 'ok', 'the listener accepts the next one');

    $r = child($common . <<'PERL', strace => $strace, strace_args => ['-e', 'trace=socket', '-e', 'inject=socket:error=EMFILE:when=1']);
eval { BSDSocket::socket(AF_INET, SOCK_STREAM); 1 } or report(socket => $@);
print "socket_after=", (BSDSocket::socket(AF_INET, SOCK_STREAM) ? 'ok' : 'no'), "\n";
PERL
    is($r->{socket}, 'BSDSocket::Error,socket,EMFILE', 'an injected EMFILE dies EMFILE');
    is($r->{socket_after}, 'ok', 'the next socket works');

    # close: find which close(2) is ours (a marker write just before it),
    # then make exactly that one fail with EINTR
    my $close_code = $common . <<'PERL';
my $s = BSDSocket::socket(AF_INET, SOCK_STREAM);
print "fd=", $s->fileno, "\n";
open my $null, '>', '/dev/null' or die; syswrite $null, "MARK\n";
eval { $s->close; 1 } or report(close => $@);
print "fileno=", $s->fileno, "\n";
PERL
    my $log = temp_dir() . '/strace.log';
    child($close_code, strace => $strace,
          strace_args => ['-o', $log, '-e', 'trace=close,write', '-e', 'signal=none']);
    open my $fh, '<', $log or die "$log: $!";
    my $closes = 0;
    while (<$fh>) {
        last if /MARK/;
        $closes++ if /\bclose\(/;
    }
    close $fh;
    my $nth = $closes + 1;
    $r = child($close_code, strace => $strace,
               strace_args => ['-o', $log, '-e', 'trace=close,write', '-e', "inject=close:error=EINTR:when=$nth"]);
    open $fh, '<', $log or die "$log: $!";
    my @after_mark;
    while (<$fh>) { @after_mark = () if /MARK/; push @after_mark, $_ }
    close $fh;
    my @ours = grep { /\bclose\($r->{fd}\)/ } @after_mark;
    is($r->{close}, undef, 'close does not die when close(2) says EINTR');
    is($r->{fileno}, -1, '... and the object is closed');
    is(scalar(grep { /EINTR/ } @ours), 1, 'the injected EINTR hit our close');
    is(scalar @ours, 1, 'close(2) was not retried');

    # ECONNRESET from close(2) is ignored (the peer was first)
    $r = child($close_code, strace => $strace,
               strace_args => ['-e', 'trace=close', '-e', "inject=close:error=ECONNRESET:when=$nth"]);
    is($r->{close}, undef, 'close does not die when close(2) says ECONNRESET');
    is($r->{fileno}, -1, '... and the object is closed');

    # a kernel without epoll: the default poller falls back to poll, one
    # asked for epoll by name says so
    $r = child($common . <<'PERL', strace => $strace, strace_args => ['-e', 'trace=epoll_create1', '-e', 'inject=epoll_create1:error=ENOSYS']);
my $p = BSDSocket::Poller->new;
print "backend=", $p->backend, "\n";
my ($a, $b) = BSDSocket::socketpair();
$p->register($b, POLLIN, 'b');
$a->send('x');
print "events=", join(',', map { "$_->[0]:$_->[1]" } $p->poll(2)), "\n";
eval { BSDSocket::Poller->new(backend => 'epoll'); 1 } or report(epoll => $@);
PERL
    is($r->{backend}, 'poll', 'without epoll the default poller uses poll');
    is($r->{events}, 'b:' . POLLIN, '... and works');
    is($r->{epoll}, 'BSDSocket::Error,Poller->new,ENOSYS', "backend => 'epoll' dies ENOSYS instead");

    # recv_fds: fds that arrived are closed when a later step fails (here
    # fcntl(F_GETFL) on the second of three)
    my $fds_code = $common . <<'PERL';
my ($a, $b) = BSDSocket::socketpair();
opendir my $dh, '/proc/self/fd' or die;
sub open_fds { rewinddir $dh; scalar grep { /^\d+$/ } readdir $dh }
my @send = map { BSDSocket::socket(AF_INET, SOCK_DGRAM) } 1 .. 3;
$a->send_fds(['x'], \@send);
my $before = open_fds();
open my $null, '>', '/dev/null' or die; syswrite $null, "MARK\n";
$before++;                                  # ($null)
my @got;
eval { @got = $b->recv_fds(10, 3); 1 } ? print("recv_fds=ok\n") : report(recv_fds => $@);
my $handles = @got ? @{ $got[1] } : 0;
print "handles=$handles\nleaked=", open_fds() - $before - $handles, "\n";
PERL
    my $nth_fcntl = $nth_after_mark->($fds_code, 'fcntl', qr/F_GETFL/, 2);
    $r = child($fds_code, strace => $strace,
               strace_args => ['-e', 'trace=fcntl', '-e', "inject=fcntl:error=EBADF:when=$nth_fcntl"]);
    is($r->{recv_fds}, 'BSDSocket::Error,recv_fds,EBADF', 'recv_fds dies when a received fd cannot become a handle');
    is($r->{leaked}, 0, '... and closes every fd that arrived');
    $r = child($fds_code);
    is_deeply([@$r{qw(recv_fds handles leaked)}], ['ok', 3, 0], '(without the injection all three arrive)');

    # sendfile: a file sendfile(2) refuses is sent by the copy loop
    my $dir = temp_dir();
    my $data = join '', map { pack 'N', $_ } 1 .. 300_000;      # 1.2 MB
    open my $file, '>', "$dir/in" or die $!;
    print {$file} $data;
    close $file;
    my $sendfile_code = $common . <<"PERL";
my (\$a, \$b) = BSDSocket::socketpair();
my \$pid = fork // die;
if (!\$pid) { \$a->close; my \$got = ''; while (length(my \$c = \$b->recv(65536))) { \$got .= \$c } print "got=", length(\$got), ",", unpack('%32C*', \$got), "\\n"; exit 0 }
\$b->close;
open my \$in, '<', '$dir/in' or die;
print "sent=", \$a->sendfile(\$in), "\\n";
print "part=", \$a->sendfile(\$in, 1000, 10), "\\n";
\$a->close;
waitpid \$pid, 0;
PERL
    $r = child($sendfile_code, strace => $strace,
               strace_args => ['-f', '-e', 'trace=sendfile', '-e', 'inject=sendfile:error=ENOSYS']);
    is($r->{sent}, length $data, 'sendfile falls back to copying when sendfile(2) says ENOSYS');
    is($r->{part}, 10, '... offset and count too');
    is($r->{got}, (length($data) + 10) . ',' . unpack('%32C*', $data . substr($data, 1000, 10)),
       '... and the peer got every byte');
}

# -------------------------------------------------- peers that go away

# a peer that resets the connection (SO_LINGER 0) in the middle of a transfer
{
    my ($l, $c, $s) = tcp_pair();
    $s->send('x' x 1000);
    $c->recv(10);
    $c->setsockopt(SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    $c->close;                       # RST: unread data was still queued
    my $e;
    for (1 .. 100) {
        last unless eval { $s->send('y' x 65536); 1 };
    }
    $e = $@;
    ok(ref $e && ($e->errno == ECONNRESET || $e->errno == EPIPE),
       'send after the peer reset dies ECONNRESET or EPIPE') or diag "got: $e";

    my ($l2, $c2, $s2) = tcp_pair();
    $c2->send('data the peer will never read');
    $s2->setsockopt(SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    $s2->close;
    select(undef, undef, undef, 0.05);
    my $e2 = eval { $c2->recv(100); 1 } ? undef : $@;
    ok(ref $e2 && $e2->errno == ECONNRESET, 'recv after the peer reset dies ECONNRESET')
        or diag 'got: ' . ($e2 // 'no error');
}

# a peer killed in the middle of a large transfer
{
    my ($l, $c, $s) = tcp_pair();
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        my $got = 0;
        $got += length $c->recv(65536) while $got < 1024 * 1024;
        kill 'KILL', $$;             # killed in the middle of the transfer
        POSIX::_exit(1);
    }
    $c->close;                       # the child holds the only copy now
    my $sent = 0;
    my $ok = eval {
        $sent += $s->send('z' x 65536) while $sent < 200 * 1024 * 1024;
        1;
    };
    my $e = $@;
    waitpid $pid, 0;
    ok(!$ok && ref $e && ($e->errno == EPIPE || $e->errno == ECONNRESET),
       'sending to a peer killed mid-transfer dies EPIPE or ECONNRESET')
        or diag "sent $sent, error: " . ($e // 'none');
    ok(kill(0, $$), 'and this process is alive (no SIGPIPE)');
}

done_testing;
