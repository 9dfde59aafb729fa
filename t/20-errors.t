use strict;
use warnings;
use Test::More;
use Errno qw(ECONNREFUSED EINVAL EBADF ENOSYS);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);

my $closed_port = do {
    my $t = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $t->bind(['127.0.0.1', 0]);
    $t->getsockname->[1];
};

# ------------------------------------------------------- the fields

my $s = BSDSocket::socket(AF_INET, SOCK_STREAM);
$! = 0;
my $line = __LINE__; eval { $s->connect(['127.0.0.1', $closed_port]) };
my $e = $@;
my $errno_after = $! + 0;

isa_ok($e, 'BSDSocket::Error');
ok($e->isa(BSDSocket::error), '$@->isa(BSDSocket::error) reads like Python\'s except socket.error');
is($e->errno, ECONNREFUSED, 'errno');
is($e->errname, 'ECONNREFUSED', 'errname');
is($e->message, do { local $! = ECONNREFUSED; "$!" }, 'message is strerror');
is($e->op, 'connect', 'op');
is_deeply($e->address, ['127.0.0.1', $closed_port], 'address, in its Perl form');
is($e->sent, undef, 'sent is undef outside sendall');
is($e->file, __FILE__, 'file is the caller\'s');
is($e->line, $line, 'line is the caller\'s');
is("$e", "connect to 127.0.0.1:$closed_port: " . $e->message . " at " . __FILE__ . " line $line.\n",
   'stringification: "op to address: message at FILE line N.\\n"');
{
    # bind's error names the address too, in the form it was given
    my $taken = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $taken->bind(['127.0.0.1', 0]);
    $taken->listen(1);
    my $port = $taken->getsockname->[1];
    my $e = dies_with(sub { BSDSocket::socket(AF_INET, SOCK_STREAM)->bind(['127.0.0.1', $port]) },
                      op => 'bind', errno => Errno::EADDRINUSE(),
                      name => 'bind to a port in use dies EADDRINUSE');
    is_deeply($e && $e->address, ['127.0.0.1', $port], "... and bind's error carries the address");
}
{
    # the address in the text, as each family reads
    my $text = sub { my $err = eval { $_[0]->(); 1 } ? 'lived' : $@; ref $err ? "$err" : $err };
    my $taken = BSDSocket::socket(AF_INET, SOCK_STREAM);
    $taken->bind(['127.0.0.1', 0]);
    my $port = $taken->getsockname->[1];
    like($text->(sub { BSDSocket::socket(AF_INET, SOCK_STREAM)->bind(['127.0.0.1', $port]) }),
         qr/^bind to 127\.0\.0\.1:$port: /, 'bind: the address in the text');
    SKIP: {
        my $six = eval { my $t = BSDSocket::socket(AF_INET6, SOCK_STREAM); $t->bind(['::1', 0]); $t };
        skip 'no IPv6 loopback here', 1 unless $six;
        my $p6 = $six->getsockname->[1];
        like($text->(sub { BSDSocket::socket(AF_INET6, SOCK_STREAM)->connect(['::1', $p6]) }),
             qr/^connect to \[::1\]:$p6: /, 'IPv6: [::1]:port');
    }
    my $dir = temp_dir();
    like($text->(sub { BSDSocket::socket(AF_UNIX, SOCK_STREAM)->connect("$dir/none") }),
         qr/^connect to \Q$dir\E\/none: /, 'AF_UNIX: the path');
    SKIP: {
        skip 'no abstract AF_UNIX names here', 1 unless platform_has('abstract_unix');
        like($text->(sub { BSDSocket::socket(AF_UNIX, SOCK_STREAM)->connect("\0bsd-none-$$") }),
             qr/^connect to \@bsd-none-$$: /, 'abstract AF_UNIX: @name');
        like($text->(sub { BSDSocket::socket(AF_UNIX, SOCK_STREAM)->connect("\0bsd\0none\n$$") }),
             qr/^connect to \@bsd\\x00none\\x0a$$: [^\n]*\n\z/, '... its control bytes as \\xNN: one line');
    }
    my $u = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    like($text->(sub { $u->sendto('x' x 70000, ['127.0.0.1', 9]) }),
         qr/^sendto 127\.0\.0\.1:9: /, 'sendto: "sendto address", not "sendto to"');
    like($text->(sub { $s->recv(1) }), qr/^recv: /, 'no address, no "to"');
}
is($e->as_string, "$e", 'as_string');
is(0 + $e, ECONNREFUSED, 'numification is the errno');
ok($e == ECONNREFUSED, '== compares the errno');
ok(!!$e, 'the error is true');
is($errno_after, ECONNREFUSED, '$! is set to the errno');
{
    local $! = ECONNREFUSED;
    ok($!{ECONNREFUSED}, '$!{ECONNREFUSED} works');
}

# rethrowing keeps the object
eval { eval { $s->connect(['127.0.0.1', $closed_port]) }; die $@ };
isa_ok($@, 'BSDSocket::Error', 'a rethrown error');

# -------------------------------------------------- argument errors

for my $case (
    [sub { $s->recv('ten') },            'recv',   qr/bufsize must be a non-negative integer, got "ten"/],
    [sub { $s->recv(10, 1.5) },          'recv',   qr/flags must be an integer in -2147483648\.\.2147483647, got 1\.5/],
    [sub { $s->listen('many') },         'listen', qr/backlog must be an integer/],
    [sub { $s->send(undef) },            'send',   qr/data must be a string, got undef/],
    [sub { $s->send([1]) },              'send',   qr/data must be a string, got a reference to ARRAY/],
    [sub { $s->send(*STDOUT) },          'send',   qr/data must be a string, got a glob/],
    [sub { $s->recv },                   'recv',   qr/^Usage: BSDSocket::Socket::recv\(self, bufsize, flags = 0\)$/],
    [sub { BSDSocket::socket() },        'socket', qr/^Usage: BSDSocket::socket\(family, type, proto = 0\)$/],
    [sub { BSDSocket::Socket->recv(1) }, 'recv',   qr/expected a BSDSocket::Socket object, got "BSDSocket::Socket"/],
    [sub { BSDSocket::Socket::recv({}, 1) }, 'recv', qr/expected a BSDSocket::Socket object, got a reference to HASH/],
    [sub { BSDSocket::Socket::fileno(bless {}, 'BSDSocket::Socket') }, 'fileno',
     qr/not a socket BSDSocket made/],
    [sub { BSDSocket::Socket::close(bless \(my $x = 3), 'BSDSocket::Socket') }, 'close',
     qr/not a socket BSDSocket made/],
    [sub { BSDSocket::Socket::send(bless([], 'Other'), 'x') }, 'send',
     qr/expected a BSDSocket::Socket object, got a Other object/],
) {
    my ($code, $op, $message) = @$case;
    my $err = dies_with($code, errno => EINVAL, op => $op, message => $message,
                        name => "$op: " . ($message =~ s/\(\?\^:(.*)\)/$1/r));
    is($err && $err->file, __FILE__, '... reported at the caller\'s file') if $err;
}

# objects with overloading but no way to read them as a string or number:
# perl would croak "no method found" with a plain string; we refuse them
{
    package OnlyEquals;
    use overload '==' => sub { 1 };
}
{
    my $obj = bless {}, 'OnlyEquals';
    dies_with(sub { $s->recv($obj) }, errno => EINVAL, op => 'recv',
              message => qr/bufsize must be a non-negative integer, got a OnlyEquals object/,
              name => 'an integer argument with only == overloaded');
    dies_with(sub { $s->send($obj) }, errno => EINVAL, op => 'send',
              message => qr/data must be a string, got a OnlyEquals object/,
              name => 'a data argument with only == overloaded');
    dies_with(sub { $s->connect([$obj, 80]) }, errno => EINVAL, op => 'address',
              message => qr/host name must be a string/, name => 'a host with only == overloaded');
}

# a forged object with a plausible struct inside is still refused, and the
# fd number in it is never touched
{
    my $victim = BSDSocket::socket(AF_INET, SOCK_DGRAM);
    my $fd = $victim->fileno;
    my $forged = bless \(my $buf = pack('iiiid', $fd, AF_INET, SOCK_DGRAM, 0, -1)), 'BSDSocket::Socket';
    dies_with(sub { $forged->close }, errno => EINVAL, op => 'close', name => 'a forged object is refused');
    ok(fd_is_open($fd), 'the fd it named is untouched');
    undef $forged;
    ok(fd_is_open($fd), '... also when the forged object is freed');
}

# ------------------------------ errors from the module's own Perl code

{
    package BSDSocket::TestWrapper;
    sub connect_closed { $_[0]->connect(['127.0.0.1', $_[1]]) }
}
my $wline = __LINE__; eval { BSDSocket::TestWrapper::connect_closed($s, $closed_port) };
is($@->line, $wline, 'frames inside BSDSocket:: are skipped: the user\'s line is reported');

# ------------------------------------------------- no errno at all

{
    my $err = eval { BSDSocket::getservbyname('no-such-service-name'); 1 } ? undef : $@;
    SKIP: {
        skip 'no /etc/services', 4 unless $err && -r '/etc/services';
        is($err->errno, undef, 'an unknown service has errno undef');
        is($err->errname, undef, '... and errname undef');
        is(0 + $err, 0, '... numifies to 0');
        ok(!!$err, '... and is still true');
    }
}

# a missing constant
SKIP: {
    my ($missing) = grep { !defined eval { BSDSocket->can($_)->() } } @BSDSocket::CONSTANT_NAMES;
    skip 'no missing constant', 1 unless $missing;
    dies_with(sub { BSDSocket->can($missing)->() }, errno => ENOSYS, op => $missing,
              name => 'a missing constant dies with a BSDSocket::Error');
}

# every die is an object: none of these is a plain string
for my $code (sub { BSDSocket::socketpair(1, 2, 3, 4) }, sub { BSDSocket::fromfd() },
              sub { BSDSocket::gethostbyname() }, sub { $s->sendto() }, sub { $s->makefile('z') }) {
    eval { $code->() };
    ok(ref $@ && $@->isa('BSDSocket::Error'), 'an object, not a string: ' . (ref $@ ? $@->message : $@));
}

# the constructor's own error paths
{
    @My::Socket::ISA = ('BSDSocket::Socket');
    is(ref(My::Socket->new(AF_INET, SOCK_STREAM)), 'My::Socket', 'new blesses into a subclass');
    my $obj = BSDSocket::Socket->new(AF_INET, SOCK_STREAM);
    is(ref($obj->new(AF_INET, SOCK_DGRAM)), 'BSDSocket::Socket', '... or the class of the object it is called on');
    for my $case (['', '""'], [undef, 'undef'], [[], 'a reference to ARRAY'], [42, '42'],
                  ['Nope::Class', '"Nope::Class"'], ['main', '"main"'], [bless({}, 'Foo'), 'a Foo object']) {
        my ($class, $shown) = @$case;
        dies_with(sub { BSDSocket::Socket::new($class, AF_INET, SOCK_STREAM) }, op => 'new', errno => EINVAL,
                  message => qr/^class must be BSDSocket::Socket or a subclass of it, got \Q$shown\E$/,
                  name => "new on $shown dies");
    }
    dies_with(sub { BSDSocket::Socket->new(-1, SOCK_STREAM) }, op => 'socket',
              errno => Errno::EAFNOSUPPORT(), name => 'new with an unknown family dies EAFNOSUPPORT');
    dies_with(sub { BSDSocket::Socket->new(AF_INET, 'stream') }, errno => EINVAL,
              message => qr/type/, name => 'new with a type that is not an integer dies EINVAL');
    dies_with(sub { BSDSocket::Socket->new(AF_INET) }, errno => EINVAL,
              message => qr/usage/i, name => 'new without a type dies (usage)');
}

done_testing;
