use strict;
use warnings;
use Test::More;
use Errno qw(EINVAL ENODEV ENXIO);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:all);

# Network interfaces by name and by index.

my @all = BSDSocket::if_nameindex();
ok(scalar @all, 'if_nameindex lists the interfaces') or diag 'none listed';
ok(!grep({ ref ne 'ARRAY' || @$_ != 2 || $_->[0] !~ /^[1-9]\d*$/ || !length $_->[1] } @all),
   '... each as [index, name]');
my ($loopback) = grep { $_->[1] =~ /^lo\d*$/ } @all;
ok($loopback, 'the loopback interface is among them');

for my $entry (@all) {
    my ($index, $name) = @$entry;
    is(BSDSocket::if_nametoindex($name), $index, "if_nametoindex('$name') is $index");
    is(BSDSocket::if_indextoname($index), $name, "if_indextoname($index) is '$name'");
}
is(BSDSocket::if_indextoname("$loopback->[0]"), $loopback->[1], 'an index given as a string');

# an interface that is not there
dies_with(sub { BSDSocket::if_nametoindex('nosuchif0') }, op => 'if_nametoindex',
          errno => [ENODEV, ENXIO], message => qr/no interface named 'nosuchif0'/,
          name => 'an unknown name dies ENODEV');
my %taken = map { $_->[0] => 1 } @all;
my $free = 4_000_000_000;
$free-- while $taken{$free};
dies_with(sub { BSDSocket::if_indextoname($free) }, op => 'if_indextoname', errno => ENXIO,
          message => qr/no interface with index $free/, name => 'an unknown index dies ENXIO');
dies_with(sub { BSDSocket::if_indextoname(0) }, op => 'if_indextoname', errno => ENXIO,
          name => 'index 0 is no interface');

# bad names: never cut short, never passed with a NUL
my $max = IF_NAMESIZE - 1;
dies_with(sub { BSDSocket::if_nametoindex('x' x IF_NAMESIZE) }, op => 'if_nametoindex', errno => EINVAL,
          message => qr/an interface name is 1 to $max bytes/, name => 'a name too long dies EINVAL');
dies_with(sub { BSDSocket::if_nametoindex($loopback->[1] . 'x' x (IF_NAMESIZE + 4)) },
          op => 'if_nametoindex', errno => EINVAL,
          name => '... even one whose first bytes name an interface');
dies_with(sub { BSDSocket::if_nametoindex('') }, op => 'if_nametoindex', errno => EINVAL,
          name => 'an empty name dies EINVAL');
dies_with(sub { BSDSocket::if_nametoindex("$loopback->[1]\0x") }, op => 'if_nametoindex',
          errno => EINVAL, message => qr/NUL character inside interface name/,
          name => 'a NUL inside a name dies EINVAL');
dies_with(sub { BSDSocket::if_nametoindex("lo\x{263a}") }, op => 'if_nametoindex', errno => EINVAL,
          message => qr/Wide character in interface name/, name => 'a wide character dies EINVAL');
dies_with(sub { BSDSocket::if_nametoindex(undef) }, op => 'if_nametoindex', errno => EINVAL,
          message => qr/interface name must be a string/, name => 'undef dies EINVAL');
dies_with(sub { BSDSocket::if_nametoindex([]) }, op => 'if_nametoindex', errno => EINVAL,
          name => 'a reference dies EINVAL');

# bad indexes
for my $bad (-1, 2**32, 1.5, 'abc', '', undef, []) {
    my $shown = defined $bad ? ref $bad ? 'a reference' : "'$bad'" : 'undef';
    dies_with(sub { BSDSocket::if_indextoname($bad) }, op => 'if_indextoname', errno => EINVAL,
              message => qr/interface index must be an integer in 0\.\.4294967295/,
              name => "index $shown dies EINVAL");
}

# names come back as byte strings
{
    my ($name) = map { $_->[1] } BSDSocket::if_nameindex();
    ok(!utf8::is_utf8($name), 'names are byte strings');
}

done_testing;
