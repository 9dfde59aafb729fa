use strict;
use warnings;
use Test::More;
use Errno qw(EINVAL ENOPROTOOPT);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);

my $s = BSDSocket::socket(AF_INET, SOCK_STREAM);

is($s->getsockopt(SOL_SOCKET, SO_TYPE), SOCK_STREAM, 'getsockopt gives an integer');
$s->setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
ok($s->getsockopt(SOL_SOCKET, SO_REUSEADDR), 'setsockopt with an integer');
$s->setsockopt(SOL_SOCKET, SO_REUSEADDR, 0);
is($s->getsockopt(SOL_SOCKET, SO_REUSEADDR), 0, '... and back to 0');
$s->setsockopt(IPPROTO_TCP, TCP_NODELAY, !!1);
ok($s->getsockopt(IPPROTO_TCP, TCP_NODELAY), 'a boolean is passed as the int it stands for');
$s->setsockopt(SOL_SOCKET, SO_RCVBUF, '65536' + 0);
cmp_ok($s->getsockopt(SOL_SOCKET, SO_RCVBUF), '>=', 65536, 'SO_RCVBUF');

# a string is passed as its bytes: struct linger
$s->setsockopt(SOL_SOCKET, SO_LINGER, pack('ii', 1, 7));
my $linger = $s->getsockopt(SOL_SOCKET, SO_LINGER, 8);
is(length $linger, 8, 'getsockopt with buflen gives the bytes');
is_deeply([unpack 'ii', $linger], [1, 7], 'SO_LINGER set from packed bytes');

# the option's real length, at most buflen
is(length $s->getsockopt(SOL_SOCKET, SO_TYPE, 100), 4, 'the real length, not buflen');
is(length $s->getsockopt(SOL_SOCKET, SO_LINGER, 3), 3, 'never more than buflen');
is(unpack('i', $s->getsockopt(SOL_SOCKET, SO_TYPE, 4)), SOCK_STREAM, 'SO_TYPE as bytes');

for my $bad (0, 1025, -1, 'x', 1.5, undef) {
    dies_with(sub { $s->getsockopt(SOL_SOCKET, SO_TYPE, $bad) }, errno => EINVAL, op => 'getsockopt',
              message => qr/buflen must be an integer in 1\.\.1024/,
              name => 'buflen ' . ($bad // 'undef') . ' dies');
}

# perl's own rule: a string is bytes, so "1" is one byte, too short for an int
dies_with(sub { $s->setsockopt(SOL_SOCKET, SO_REUSEADDR, '1') }, errno => EINVAL, op => 'setsockopt',
          name => 'the string "1" is passed as one byte (and the kernel refuses it)');
$s->setsockopt(SOL_SOCKET, SO_REUSEADDR, pack('i', 1));
ok($s->getsockopt(SOL_SOCKET, SO_REUSEADDR), 'a packed int works');

for my $case ([undef, 'undef'], [[1], 'an array ref'], [2**40, '2**40'], [1.5, '1.5'], [sub {}, 'a code ref']) {
    dies_with(sub { $s->setsockopt(SOL_SOCKET, SO_REUSEADDR, $case->[0]) }, errno => EINVAL,
              op => 'setsockopt', message => qr/option value must be a byte string or an integer/,
              name => "setsockopt value $case->[1] dies");
}
dies_with(sub { $s->setsockopt(SOL_SOCKET, SO_LINGER, "\x{100}") }, errno => EINVAL,
          op => 'setsockopt', message => qr/Wide character in setsockopt/,
          name => 'setsockopt with a wide character dies');
dies_with(sub { $s->getsockopt(SOL_SOCKET, 12345) }, errno => ENOPROTOOPT, op => 'getsockopt',
          name => 'an unknown option dies ENOPROTOOPT');
dies_with(sub { $s->setsockopt(SOL_SOCKET, 12345, 1) }, errno => ENOPROTOOPT, op => 'setsockopt',
          name => 'setting an unknown option dies ENOPROTOOPT');
dies_with(sub { $s->getsockopt('SOL_SOCKET', SO_TYPE) }, errno => EINVAL, op => 'getsockopt',
          message => qr/level must be an integer/, name => 'a level that is not a number dies');
dies_with(sub { $s->setsockopt(SOL_SOCKET, SO_TYPE) }, errno => EINVAL, op => 'setsockopt',
          message => qr/Usage/, name => 'setsockopt without a value dies with its usage');

done_testing;
