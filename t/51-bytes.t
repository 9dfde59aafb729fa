use strict;
use warnings;
use Test::More;
use Errno qw(EINVAL ENOMEM);
use B ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);

guard_alarm(30);
my ($a, $b) = BSDSocket::socketpair();
my ($u, $v) = udp_pair();

# sent data is bytes
dies_with(sub { $a->send("smile \x{263a}") }, errno => EINVAL, op => 'send',
          message => qr/^Wide character in send$/, name => 'a wide character dies in send');
dies_with(sub { $u->sendto("\x{100}", $v->getsockname) }, errno => EINVAL, op => 'sendto',
          message => qr/^Wide character in sendto$/, name => '... and in sendto');
{
    my $latin = "caf\xe9";
    utf8::upgrade($latin);
    ok(utf8::is_utf8($latin), 'an upgraded string with only byte-sized characters');
    is($a->send($latin), 4, 'is sent as 4 bytes');
    is($b->recv(10), "caf\xe9", '... the bytes of its characters');
    ok(utf8::is_utf8($latin), 'the caller\'s string is left as it was');
}
{
    my $all = join '', map { chr } 0 .. 255;
    $a->send($all);
    my $got = '';
    $got .= $b->recv(256) while length $got < 256;
    is($got, $all, 'every byte value, NULs included, round trips');
}
$a->send(42);
is($b->recv(10), '42', 'a number is sent as its string');

# received data is a byte string
{
    $a->send("\xff\xfe");
    my $got = $b->recv(10);
    ok(!utf8::is_utf8($got), 'received data has no UTF-8 flag');
    is(length $got, 2, '... and is bytes');
    my $sv = B::svref_2object(\$got);
    ok(!($sv->FLAGS & (B::SVf_IOK | B::SVf_NOK)), '... and is just a string');
}

# recv reads straight into the result and does not keep a big buffer
# behind a short result
{
    $a->send('short');
    my $got = $b->recv(1 << 20);
    is($got, 'short', 'recv(1 MiB) of a short message');
    cmp_ok(B::svref_2object(\$got)->LEN, '<', 4096, '... keeps no megabyte behind it');
    $a->send('small');
    my $small = $b->recv(64);
    cmp_ok(B::svref_2object(\$small)->LEN, '<', 256, 'a small recv keeps a small buffer');
}
{
    # results from one call site are separate strings
    $a->send('one');
    my $first = $b->recv(10);
    $a->send('two');
    my $second = $b->recv(10);
    my @list;
    for (1 .. 3) { $a->send("n$_"); push @list, $b->recv(10) }
    is("$first $second @list", 'one two n1 n2 n3', 'each result is its own string');
}

# sizes
for my $bad (-1, -2**40, 1.5, 'abc', '', undef, 9**9**9) {
    dies_with(sub { $b->recv($bad) }, errno => EINVAL, op => 'recv',
              message => qr/bufsize must be a non-negative integer/,
              name => 'recv size ' . ($bad // 'undef') . ' dies EINVAL');
}
for my $huge (2**50, 2**62) {
    dies_with(sub { $b->recv($huge) }, errno => ENOMEM, op => 'recv',
              name => "recv($huge) dies ENOMEM instead of killing perl");
    dies_with(sub { $u->recvfrom($huge) }, errno => ENOMEM, op => 'recvfrom',
              name => "recvfrom($huge) dies ENOMEM");
}
$a->send('alive');
is($b->recv(10), 'alive', 'the interpreter and the socket carry on');

done_testing;
