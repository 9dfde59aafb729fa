use strict;
use warnings;
use Test::More;
use Errno qw(EINVAL ENOTSOCK EBADF);
use Socket ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);

my ($l, $c, $s) = tcp_pair();

my $copy = BSDSocket::fromfd($s->fileno);
isa_ok($copy, 'BSDSocket::Socket', 'fromfd');
isnt($copy->fileno, $s->fileno, 'fromfd works on a dup');
is($copy->family, AF_INET, 'the family is read from the fd');
is($copy->type, SOCK_STREAM, 'the type is read from the fd');
if (platform_has('so_protocol')) {
    is($copy->proto, Socket::IPPROTO_TCP(), 'the protocol is read from the fd');
}
else {
    is($copy->proto, 0, 'without SO_PROTOCOL the protocol is 0, the default');
}
ok(is_cloexec($copy->fileno), 'the dup is close-on-exec');
$c->send('via the copy');
is($copy->recv(100), 'via the copy', 'the copy reads the same connection');
my $orig_fd = $s->fileno;
$copy->close;
ok(fd_is_open($orig_fd), 'closing the copy leaves the caller\'s fd open');
$s->send('still here');
is($c->recv(100), 'still here', '... and working');

my $given = BSDSocket::fromfd($s->fileno, AF_INET, SOCK_STREAM, 0);
is($given->proto, 0, 'family, type and proto as given');

my $from_obj = BSDSocket::fromfd($s);
is($from_obj->family, AF_INET, 'fromfd takes a socket object');

# a perl socket handle
{
    socket(my $perl_sock, Socket::AF_UNIX(), Socket::SOCK_DGRAM(), 0) or die $!;
    my $wrapped = BSDSocket::fromfd($perl_sock);
    is($wrapped->family, AF_UNIX, 'fromfd takes a perl handle');
    is($wrapped->type, SOCK_DGRAM, '... and reads its type');
    my $by_glob = BSDSocket::fromfd(*STDIN) if -S STDIN;
    pass('fromfd accepts globs');
}

# not a socket
{
    open my $file, '<', $0 or die $!;
    dies_with(sub { BSDSocket::fromfd(fileno $file) }, errno => ENOTSOCK, op => 'fromfd',
              name => 'a file is not a socket: ENOTSOCK');
    dies_with(sub { BSDSocket::fromfd($file) }, errno => ENOTSOCK, op => 'fromfd',
              name => '... given as a handle too');
    dies_with(sub { BSDSocket::fromfd(fileno $file, AF_INET, SOCK_STREAM, 0) }, errno => ENOTSOCK,
              op => 'fromfd', name => '... even when family, type and proto are given');
}
{
    my $t = BSDSocket::socket(AF_INET, SOCK_STREAM);
    my $n = $t->fileno;
    $t->close;
    dies_with(sub { BSDSocket::fromfd($n) }, errno => EBADF, op => 'fromfd',
              name => 'a closed fd dies EBADF');
    dies_with(sub { BSDSocket::fromfd($t) }, errno => EBADF, op => 'fromfd',
              name => 'a closed socket object dies EBADF');
}
for my $bad (-1, 2**32 + 3, 'abc', 1.5, undef, [1]) {
    dies_with(sub { BSDSocket::fromfd($bad) }, errno => EINVAL, op => 'fromfd',
              name => 'fromfd(' . ($bad // 'undef') . ') dies EINVAL');
}
dies_with(sub { BSDSocket::fromfd($s->fileno, 'inet') }, errno => EINVAL, op => 'fromfd',
          message => qr/family must be an integer/, name => 'a bad family dies');

done_testing;
