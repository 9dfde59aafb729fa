use strict;
use warnings;
use Test::More;
use Errno qw(EBADF EINVAL);
use B ();

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);

# Method calls on BSDSocket::Socket objects take a shortcut past perl's
# method lookup (bsd_fast.c), and `$lexical = $sock->recv(...)` receives
# straight into the lexical.  Every case here must behave exactly as the
# ordinary method call would.

guard_alarm(30);
my ($a, $b) = BSDSocket::socketpair();

sub pv_addr { unpack 'J', pack 'p', $_[0] }

# ------------------------------------------- receiving into the lexical

{
    my $x;
    $a->send('first');
    $x = $b->recv(100);
    is($x, 'first', '$lexical = recv');
    $a->send('second');
    $x = $b->recv(100);
    is($x, 'second', '... again into the same lexical');

    my $buffer_before = pv_addr($x);
    $a->send('third');
    $x = $b->recv(100);
    is(pv_addr($x), $buffer_before, '... reusing its buffer, as sysread would');

    for my $i (1 .. 3) {
        $a->send("loop $i");
        my $y = $b->recv(100);
        is($y, "loop $i", "my \$y = recv in a loop ($i)");
    }

    $a->send('value of the assignment');
    is(length($x = $b->recv(100)), 23, 'the assignment\'s value is the variable');

    $x = 42;
    $a->send('was a number');
    $x = $b->recv(100);
    is($x, 'was a number', 'a number becomes the string');
    my $flags = B::svref_2object(\$x)->FLAGS;
    ok(!($flags & (B::SVf_IOK | B::SVf_NOK)), '... with no number left behind');

    $x = "\x{263a}";
    $a->send("\xff");
    $x = $b->recv(100);
    ok(!utf8::is_utf8($x) && $x eq "\xff", 'a UTF-8 string becomes bytes');

    $x = [1, 2];
    $a->send('was a ref');
    $x = $b->recv(100);
    is($x, 'was a ref', 'a lexical holding a reference takes the usual path');

    my $copy = 'shared';
    $x = $copy;              # may share a copy-on-write buffer
    $a->send('cow');
    $x = $b->recv(100);
    is($x, 'cow', 'a copy-on-write lexical is written...');
    is($copy, 'shared', '... without touching the string it shared');

    # the bufsize is read before anything is written
    $x = 3;
    $a->send('abcdef');
    $x = $b->recv($x);
    is($x, 'abc', '$x = recv($x) reads the size first');
    $b->recv(100);
}

# a big buffer is not pinned behind a short result
{
    my $x;
    $a->send('tiny');
    $x = $b->recv(1 << 20);
    is($x, 'tiny', 'recv(1 MiB) into a lexical');
    cmp_ok(B::svref_2object(\$x)->LEN, '<', 8192, '... which does not keep the megabyte');
}

# failures leave the lexical as it was
{
    my ($c, $d) = BSDSocket::socketpair();
    $d->close;
    my $x = 'untouched';
    dies_with(sub { $x = $d->recv(10) }, errno => EBADF, op => 'recv', name => 'recv on a closed socket dies');
    is($x, 'untouched', '... and the lexical keeps its value');
    dies_with(sub { $x = $c->recv(-1) }, errno => EINVAL, op => 'recv',
              message => qr/bufsize/, name => 'a bad size dies the same way');
    dies_with(sub { $x = $c->recv(10, 0, 'extra') }, errno => EINVAL, op => 'recv',
              message => qr/Usage/, name => 'too many arguments give the usage');
    dies_with(sub { $x = $c->recv() }, errno => EINVAL, op => 'recv',
              message => qr/Usage/, name => 'too few arguments give the usage');
    is($x, 'untouched', 'the lexical survived all of them');
}

# magic and globals take the usual path, with the usual result
{
    package Counter;
    sub TIESCALAR { bless { stores => 0 }, shift }
    sub FETCH { $_[0]{value} }
    sub STORE { $_[0]{stores}++; $_[0]{value} = $_[1] }
}
{
    tie my $t, 'Counter';
    $a->send('tied');
    $t = $b->recv(100);
    is($t, 'tied', 'a tied lexical gets the data');
    is((tied $t)->{stores}, 1, '... through one STORE');

    our $global;
    $a->send('global');
    $global = $b->recv(100);
    is($global, 'global', 'a package variable');

    my %h;
    $a->send('hash');
    $h{k} = $b->recv(100);
    is($h{k}, 'hash', 'a hash element');

    my @list;
    $a->send('list');
    @list = $b->recv(100);
    is_deeply(\@list, ['list'], 'list context');

    $a->send('void');
    $b->recv(100);
    pass('void context');
}

# ------------------------------------------------ who gets the shortcut

{
    package My::Sock;
    our @ISA = ('BSDSocket::Socket');
    our $sends = 0;
    sub send { $sends++; my $self = shift; $self->SUPER::send(@_) }
}
{
    my ($c, $d) = BSDSocket::socketpair();
    bless $c, 'My::Sock';
    $c->send('through the subclass');
    is($My::Sock::sends, 1, 'a subclass\'s override is called');
    is($d->recv(100), 'through the subclass', '... and reaches the base method');
}
sub taken { BSDSocket::_fastcall_count() }
{
    my ($c, $d) = BSDSocket::socketpair();
    my $before = taken();
    $c->send('counted');
    my $x = $d->recv(100);
    is(taken() - $before, 2, 'a send and a recv on our objects take the shortcut');
    $before = taken();
    my $sub = bless BSDSocket::fromfd($c), 'My::Sock';
    $sub->fileno;
    is(taken() - $before, 0, 'a subclass object does not');
}

{
    my ($c, $d) = BSDSocket::socketpair();
    my $calls = 0;
    {
        no warnings 'redefine';
        my $orig = \&BSDSocket::Socket::recv;
        local *BSDSocket::Socket::recv = sub { $calls++; goto &$orig };
        $c->send('redefined');
        my $x = $d->recv(100);
        is($x, 'redefined', 'a redefined method still works');
        is($calls, 1, '... and is the one called');
    }
    $c->send('restored');
    my $x = $d->recv(100);
    is($x, 'restored', 'the original comes back when the redefinition ends');
    is($calls, 1, '... and the redefinition is no longer called');
}
{
    # the same call site, with objects that are and are not ours
    package Other;
    sub new { bless {}, shift }
    sub send { 'Other::send' }
    sub recv { 'Other::recv' }
}
{
    my ($c, $d) = BSDSocket::socketpair();
    my @got;
    for my $obj (Other->new, $c, Other->new) {
        push @got, $obj->send('x');
    }
    is_deeply(\@got, ['Other::send', 1, 'Other::send'], 'one call site, several classes');
    my @r;
    for my $obj ($d, Other->new, $d) {
        my $x = $obj->recv(1);
        push @r, $x;
        $c->send('y') if $obj == $d;
    }
    is_deeply(\@r, ['x', 'Other::recv', 'y'], 'recv into a lexical from several classes');

    ok(!eval { my $u; $u->send('x'); 1 }, 'a method call on undef still dies as perl says');
    like($@, qr/Can't call method "send" on an undefined value/, '... with perl\'s message');
    ok(!eval { BSDSocket::Socket->send('x'); 1 }, 'a class-method call dies');
    isa_ok($@, 'BSDSocket::Error', '... with our error');
}

done_testing;
