use strict;
use warnings;
use Test::More;
use Errno qw(EINVAL);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);

guard_alarm(30);

# A tied scalar that counts its FETCHes: every argument is read through
# its magic exactly once (SvGETMAGIC, then the _nomg accessors).
{
    package Counter;
    sub TIESCALAR { my ($class, $value) = @_; bless { value => $value, fetches => 0 }, $class }
    sub FETCH { my $self = shift; $self->{fetches}++; $self->{value} }
    sub STORE { $_[0]{value} = $_[1] }
}
sub counted {
    my ($value) = @_;
    tie my $sv, 'Counter', $value;
    return (\$sv, tied $sv);
}

my ($a, $b) = BSDSocket::socketpair();

{
    my ($data, $t) = counted('tied data');
    $a->send($$data);
    is($t->{fetches}, 1, 'send: data fetched once');
    is($b->recv(100), 'tied data', '... and sent');
}
{
    my ($size, $t) = counted(5);
    my ($flags, $tf) = counted(0);
    $a->send('hello world');
    is($b->recv($$size, $$flags), 'hello', 'recv with tied size and flags');
    is($t->{fetches}, 1, 'recv: bufsize fetched once');
    is($tf->{fetches}, 1, 'recv: flags fetched once');
    $b->recv(100);
}
{
    my ($family, $tfam) = counted(AF_INET);
    my ($type, $ttype) = counted(SOCK_DGRAM);
    my $u = BSDSocket::socket($$family, $$type);
    is($tfam->{fetches} + $ttype->{fetches}, 2, 'socket: family and type fetched once each');

    my ($host, $th) = counted('127.0.0.1');
    my ($port, $tp) = counted(0);
    $u->bind([$$host, $$port]);
    is($th->{fetches}, 1, 'address: host fetched once');
    is($tp->{fetches}, 1, 'address: port fetched once');

    my ($addr, $ta) = counted($u->getsockname);
    my $v = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $v->sendto('to tied', $$addr);
    is($ta->{fetches}, 1, 'sendto: a tied address fetched once');
    is($u->recv(100), 'to tied', '... and used');

    my ($value, $tv) = counted(1);
    my ($level, $tl) = counted(SOL_SOCKET);
    $u->setsockopt($$level, SO_REUSEADDR, $$value);
    is($tv->{fetches}, 1, 'setsockopt: value fetched once');
    is($tl->{fetches}, 1, 'setsockopt: level fetched once');
    my ($buflen, $tbl) = counted(4);
    is(length $u->getsockopt(SOL_SOCKET, SO_TYPE, $$buflen), 4, 'getsockopt with a tied buflen');
    is($tbl->{fetches}, 1, 'getsockopt: buflen fetched once');

    my ($path, $tpath) = counted(temp_dir() . '/tied');
    my $x = BSDSocket::socket(AF_UNIX, SOCK_DGRAM);
    $x->bind($$path);
    is($tpath->{fetches}, 1, 'an AF_UNIX path fetched once');
}
{
    # a tied invocant: a method call fetches it (perl does), a plain
    # function call lets us fetch it, once
    my ($sock, $t) = counted($a);
    is($$sock->fileno, $a->fileno, 'a method call on a tied socket');
    is($t->{fetches}, 1, '... fetched once (by perl, to find the method)');
    my ($fresh, $tf) = counted($a);
    is(BSDSocket::Socket::fileno($$fresh), $a->fileno, 'a function call with a tied socket');
    is($tf->{fetches}, 1, '... fetched once (by us)');
}

# overloaded objects as values: each conversion runs once
{
    package Str;
    our $calls = 0;
    use overload '""' => sub { $calls++; ${ $_[0] } }, fallback => 1;
}
{
    package Num;
    our $calls = 0;
    use overload '0+' => sub { $calls++; ${ $_[0] } }, fallback => 1;
}
{
    package Dies;
    use overload '""' => sub { die "overload died\n" }, '0+' => sub { die "overload died\n" },
        fallback => 1;
}
{
    $Str::calls = 0;
    $a->send(bless \(my $s = 'overloaded'), 'Str');
    is($Str::calls, 1, 'send: "" overloading called once');
    is($b->recv(100), 'overloaded', '... and its string sent');

    $Num::calls = 0;
    $a->send('12345678');
    is($b->recv(bless \(my $n = 4), 'Num'), '1234', 'recv: a bufsize with numeric overloading');
    is($Num::calls, 1, '... called once');
    $b->recv(100);

    my $u = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    $Str::calls = $Num::calls = 0;
    $u->bind([bless(\(my $h = '127.0.0.1'), 'Str'), bless(\(my $p = 0), 'Num')]);
    is($Str::calls, 1, 'host overloading called once');
    is($Num::calls, 1, 'port overloading called once');

    # an overload that dies: its exception comes through, nothing breaks
    my $d = bless \(my $z = 1), 'Dies';
    ok(!eval { $a->send($d); 1 }, 'send with a dying overload dies');
    is($@, "overload died\n", '... with that exception');
    ok(!eval { $a->recv($d); 1 }, 'recv with a dying overload dies');
    is($@, "overload died\n", '... with that exception');
    $a->send('still fine');
    is($b->recv(100), 'still fine', 'the socket is fine afterwards');

    # objects without overloading are not strings or numbers
    dies_with(sub { $a->recv(bless {}, 'Plain') }, errno => EINVAL, op => 'recv',
              message => qr/got a Plain object/, name => 'an object without overloading is no number');
    dies_with(sub { $a->send(bless {}, 'Plain') }, errno => EINVAL, op => 'send',
              message => qr/data must be a string, got a reference to HASH|got a Plain object/,
              name => '... and no string');
}


# ------------------------------------------- magic that runs Perl code
# (each of these crashed or corrupted memory once)

# an argument's magic frees the socket while the call is being set up
{
    package FreesSocket;
    use overload '0+' => sub { undef $main::victim; 0 }, fallback => 1;
}
{
    our $victim;
    ($victim, my $peer) = BSDSocket::socketpair();
    my $fd = $victim->fileno;
    my $reuse;
    {
        package FreesAndReuses;
        use overload '0+' => sub { undef $main::victim; ($reuse) = BSDSocket::socketpair(); 0 }, fallback => 1;
    }
    my $ok = eval { $victim->send('secret', bless({}, 'FreesAndReuses')); 1 };
    ok($ok, 'send finishes on the socket it started with');
    is($peer->recv(100), 'secret', '... the data went to the right peer');
}

# a FETCH that empties the address array it is an element of
{
    our @addr;
    package EmptiesArray;
    sub TIESCALAR { bless {}, shift }
    sub FETCH { my $v = '127.0.0.1'; undef @main::addr; $v }
}
{
    our @addr = (undef, 0);
    tie $addr[0], 'EmptiesArray';
    my $u = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    ok(eval { $u->bind(\@addr); 1 } || ref $@, 'a FETCH that empties the address array does not crash');
}

# getservbyname: the protocol's FETCH changes the service variable
{
    our $svc = 'http';
    package ChangesService;
    sub TIESCALAR { bless { n => 0 }, shift }
    sub FETCH { $_[0]{n}++; $main::svc = 'x' x 1000; 'tcp' }
}
SKIP: {
    skip 'no /etc/services', 2 unless -r '/etc/services';
    our $svc;
    tie my $proto, 'ChangesService';
    is(BSDSocket::getservbyname($svc, $proto), 80, 'the service is read before the protocol runs code');
    is((tied $proto)->{n}, 1, 'the protocol is fetched once');
}

# a tied invocant whose FETCH alternates between two sockets
{
    my @two = map { BSDSocket::socket(AF_INET, SOCK_DGRAM) } 1, 2;
    package Alternates;
    sub TIESCALAR { bless { n => 0, s => $_[1] }, $_[0] }
    sub FETCH { my $self = shift; $self->{n}++; $self->{s}[$self->{n} % 2] }
}
{
    my @two = map { BSDSocket::socket(AF_INET, SOCK_DGRAM) } 1, 2;
    tie my $t, 'Alternates', \@two;
    my $first = $t;                                   # fetch 1: $two[1]
    is($t->fileno, $two[0]->fileno, 'a method call uses the value perl just fetched');
    is((tied $t)->{n}, 2, '... fetched once for the call');
    is(BSDSocket::Socket::fileno($t), $two[1]->fileno, 'a function call fetches it once too');
    is((tied $t)->{n}, 3, '... and only once');
}

# an error that names a tied address does not fetch it again
{
    my $u = BSDSocket::socket(AF_UNIX, SOCK_STREAM);
    my ($addr, $t) = counted('/nonexistent/dir/socket');
    ok(!eval { $u->connect($$addr); 1 }, 'connect to a missing path dies');
    is($t->{fetches}, 1, '... and the tied address was fetched once, error and all');
}

# `local` on a glob aliased to a socket's scalar leaves the socket alone
{
    my ($c, $d) = BSDSocket::socketpair();
    our $g;
    *g = \$$c;
    { local $g; }
    my ($e, $f) = BSDSocket::socketpair();            # would reuse a freed fd
    $c->send('still mine');
    is($d->recv(100), 'still mine', 'local on an alias of the socket does not close it');
}

done_testing;
