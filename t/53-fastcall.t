use strict;
use warnings;
use Test::More;
use Errno qw(EBADF EINVAL);
use B ();
use POSIX ();

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

# Run $code in a child process and hand back the name => value list it
# returned, and its wait status: a case that aborted perl (realloc on a
# pointer into a buffer) fails its tests here instead of ending the file.
sub in_child {
    my ($code) = @_;
    pipe(my $from_child, my $to_parent) or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        close $from_child;
        $SIG{ALRM} = 'DEFAULT';     # a child that hangs dies of its own alarm
        alarm 20;
        my @out = eval { $code->() };
        @out = (died => "$@") unless @out || $@ eq '';
        print {$to_parent} pack '(w/a)*', map { defined $_ ? "d$_" : 'u' } @out;
        close $to_parent;
        POSIX::_exit(0);
    }
    close $to_parent;
    my $packed = do { local $/; <$from_child> } // '';
    close $from_child;
    waitpid $pid, 0;
    my $status = $?;
    return ($status, map { /^d/ ? substr($_, 1) : undef } unpack '(w/a)*', $packed);
}

# is($status, 0) with the signal or exit code spelt out
sub child_ok {
    my ($status, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    ok($status == 0, $name)
        or diag($status & 127 ? 'the child was killed by signal ' . ($status & 127)
                              : 'the child exited with ' . ($status >> 8));
}

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

# ---------------------------- targets whose buffer is not simply theirs
#
# (issue 12) `$v = $sock->recv(...)` reused $v's buffer as it found it.
# After substr($v, 0, 4, '') (OOK: the string starts inside its buffer) a
# short reply made it shrink the buffer with realloc on that inner
# pointer: "realloc(): invalid pointer", an abort.  Each case runs in a
# child, and the data it received is checked, not only that it lived.

{
    my ($status, %got) = in_child(sub {
        my ($c, $d) = BSDSocket::socketpair();
        my (@first, @second);
        my $taken = 0;
        for my $round (1 .. 3) {
            $c->send('A' x 65536);
            $c->send("short reply $round");
            my $before = taken();
            my $v = $d->recv(65536);           # the parsing idiom: read a lot,
            push @first, length($v) . ':' . ($v eq 'A' x 65536 ? 'A' : '?');
            substr($v, 0, 4, '');              # eat a header,
            $v = $d->recv(4096);               # read the next reply into it
            $taken += taken() - $before;
            push @second, $v;
        }
        return (first => "@first", second => join('|', @second), taken => $taken);
    });
    child_ok($status, 'recv(65536), substr($v, 0, 4, \'\'), $v = recv(4096): no abort');
    is($got{first}, '65536:A 65536:A 65536:A', '... the 64 KiB arrived, three times');
    is($got{second}, 'short reply 1|short reply 2|short reply 3', '... and so did each short reply after the chop');
    is($got{taken}, 6, '... all through the shortcut');
}

# the same with other chopped, shared or borrowed strings, and the *_into
# calls, which write into a string of the caller's
{
    my @cases = (
        ['a chopped big buffer, a short message' => sub {
            my ($c, $d) = @_;
            my $v = 'x' x 100_000;
            substr($v, 0, 4, '');
            $c->send('short');
            $v = $d->recv(4096);
            return (data => $v);
         }, { data => 'short' }],
        ['a chopped small buffer, a bigger bufsize' => sub {
            my ($c, $d) = @_;
            my $v = 'x' x 100;
            substr($v, 0, 10, '');
            $c->send('y' x 3000);
            $v = $d->recv(4096);
            return (data => $v);
         }, { data => 'y' x 3000 }],
        ['my $v = recv in a loop, chopped each time' => sub {
            my ($c, $d) = @_;
            $c->send('A' x 20_000);
            $c->send('tail');
            my @got;
            for (1 .. 2) {
                my $v = $d->recv(20_000);
                substr($v, 0, 100, '') if length $v > 100;
                push @got, length $v;
            }
            return (data => "@got");
         }, { data => '19900 4' }],
        ['recv_into a chopped string, with nbytes' => sub {
            my ($c, $d) = @_;
            my $v = 'x' x 100_000;
            substr($v, 0, 4, '');
            $c->send('into');
            my $n = $d->recv_into($v, 4096);
            return (n => $n, data => $v);
         }, { n => 4, data => 'into' }],
        ['recv_into a chopped string, nbytes from its length' => sub {
            my ($c, $d) = @_;
            my $v = 'abcdefgh' x 10;
            substr($v, 0, 40, '');
            $c->send('z' x 100);
            my $n = $d->recv_into($v);
            return (n => $n, data => $v);
         }, { n => 40, data => 'z' x 40 }],
        ['recvfrom_into a chopped string' => sub {
            my ($c, $d) = @_;
            my $v = 'x' x 5000;
            substr($v, 0, 4, '');
            $c->send('from');
            my ($n, $from) = $d->recvfrom_into($v, 100);
            return (n => $n, data => $v, from => $from);
         }, { n => 4, data => 'from', from => '' }],
        ['recv_into a copy-on-write string' => sub {
            my ($c, $d) = @_;
            my $x = 'abc' x 1000;
            my $y = $x;
            $c->send('cow');
            my $n = $d->recv_into($y);
            return (n => $n, data => $y, other => $x eq 'abc' x 1000 ? 'unchanged' : 'CHANGED');
         }, { n => 3, data => 'cow', other => 'unchanged' }],
        ['recvfrom_into a copy-on-write string' => sub {
            my ($c, $d) = @_;
            my $x = 'abc' x 1000;
            my $y = $x;
            $c->send('cow');
            my $n = $d->recvfrom_into($y, 10);
            return (n => $n, data => $y, other => $x eq 'abc' x 1000 ? 'unchanged' : 'CHANGED');
         }, { n => 3, data => 'cow', other => 'unchanged' }],
        ['$lexical = recv into a copy-on-write string' => sub {
            my ($c, $d) = @_;
            my $x = 'abc' x 1000;
            my $y = $x;
            $c->send('cow');
            $y = $d->recv(100);
            return (data => $y, other => $x eq 'abc' x 1000 ? 'unchanged' : 'CHANGED');
         }, { data => 'cow', other => 'unchanged' }],
        ['recv_into a copy of a hash key' => sub {
            my ($c, $d) = @_;
            my %h = (the_key_name => 1);
            my ($k) = keys %h;
            $c->send('hk');
            my $n = $d->recv_into($k, 20);
            return (n => $n, data => $k, keys => join(',', keys %h), exists => exists $h{the_key_name} ? 1 : 0);
         }, { n => 2, data => 'hk', keys => 'the_key_name', exists => 1 }],
        ['recvfrom_into a copy of a hash key, nbytes from its length' => sub {
            my ($c, $d) = @_;
            my %h = (the_key_name => 1);
            my ($k) = keys %h;
            $c->send('0123456789abcdef');
            my $n = $d->recvfrom_into($k);
            return (n => $n, data => $k, keys => join(',', keys %h));
         }, { n => 12, data => '0123456789ab', keys => 'the_key_name' }],
        ['$lexical = recv into a copy of a hash key' => sub {
            my ($c, $d) = @_;
            my %h = (the_key_name => 1);
            my ($k) = keys %h;
            $c->send('hk');
            $k = $d->recv(100);
            return (data => $k, keys => join(',', keys %h));
         }, { data => 'hk', keys => 'the_key_name' }],
    );
    for my $case (@cases) {
        my ($name, $code, $want) = @$case;
        my ($status, %got) = in_child(sub { $code->(BSDSocket::socketpair()) });
        child_ok($status, "$name: the child lived");
        is_deeply({ map { $_ => $got{$_} } keys %$want }, $want, "... and got the data")
            or diag explain \%got;
    }
}

# Converting recv's arguments runs Perl code (an object's numeric
# overloading), which may change the variable the result is assigned to
# after the shortcut looked at it: the result must still be right.
{
    package Size;
    use overload '0+' => sub { $_[0]{then}->(); $_[0]{size} }, fallback => 1;
    sub new { my ($class, $size, $then) = @_; bless { size => $size, then => $then }, $class }
}
{
    my @arrays = ([1, 2]);
    my @cases = (
        ['makes it a reference'  => sub { ${ $_[0] } = \@arrays }],
        ['undefines it'          => sub { undef ${ $_[0] } }],
        ['gives it a big string' => sub { ${ $_[0] } = 'z' x 100_000 }],
        ['ties it'               => sub { tie ${ $_[0] }, 'Counter' }],
        ['chops it'              => sub { substr(${ $_[0] }, 0, 10, '') }],
    );
    for my $case (@cases) {
        my ($name, $then) = @$case;
        my ($status, %got) = in_child(sub {
            my ($c, $d) = BSDSocket::socketpair();
            my $v = 'y' x 5000;
            $c->send("a size that $name");
            my $size = Size->new(100, sub { $then->(\$v) });
            $v = $d->recv($size);
            my $tied = tied $v;
            return (data => (ref $v ? 'a ' . ref($v) . ' reference' : $v),
                    stores => $tied ? $tied->{stores} : 'not tied');
        });
        child_ok($status, "a bufsize whose 0+ $name: the child lived");
        is($got{data}, "a size that $name", '... and the variable holds the data');
        is($got{stores}, 1, '... stored once through the tie') if $name eq 'ties it';
    }
    # and through the flags
    my ($status, %got) = in_child(sub {
        my ($c, $d) = BSDSocket::socketpair();
        my $v = 'y' x 5000;
        $c->send('flags that free the buffer');
        $v = $d->recv(100, Size->new(0, sub { undef $v; $v = \@arrays }));
        return (data => ref $v ? 'a reference' : $v);
    });
    child_ok($status, 'flags whose 0+ replaces the variable: the child lived');
    is($got{data}, 'flags that free the buffer', '... and the variable holds the data');
}

# ------------------------------------ temporaries among the arguments
#
# (issue 19) perl's entersub gives a sub copies of its temporary (PADTMP)
# arguments; the shortcut did not.  So $s->recv_into("x" x 10) died
# "buffer is read-only" where the function call and $s->$name returned 5,
# and a writable temporary ($x . "") was written in place where perl
# writes a copy.  Every call form must do the same.
{
    my ($c, $d) = BSDSocket::socketpair();
    my $x = 'abcdefghij';
    # the arguments, written in place at the call so that they are the
    # temporaries (or constants) they look like
    my %calls = (
        recv_into => {
            'a folded constant, "x" x 10' => {
                method   => sub { $d->recv_into('x' x 10) },
                function => sub { BSDSocket::Socket::recv_into($d, 'x' x 10) },
                dynamic  => sub { my $m = 'recv_into'; $d->$m('x' x 10) },
            },
            'a folded constant with nbytes' => {
                method   => sub { $d->recv_into('x' x 10, 3) },
                function => sub { BSDSocket::Socket::recv_into($d, 'x' x 10, 3) },
                dynamic  => sub { my $m = 'recv_into'; $d->$m('x' x 10, 3) },
            },
            'a literal' => {
                method   => sub { $d->recv_into('xxxxxxxxxx') },
                function => sub { BSDSocket::Socket::recv_into($d, 'xxxxxxxxxx') },
                dynamic  => sub { my $m = 'recv_into'; $d->$m('xxxxxxxxxx') },
            },
            'a writable temporary, $x . ""' => {
                method   => sub { $d->recv_into($x . '') },
                function => sub { BSDSocket::Socket::recv_into($d, $x . '') },
                dynamic  => sub { my $m = 'recv_into'; $d->$m($x . '') },
            },
            'a temporary, lc $x' => {
                method   => sub { $d->recv_into(lc $x, 4) },
                function => sub { BSDSocket::Socket::recv_into($d, lc $x, 4) },
                dynamic  => sub { my $m = 'recv_into'; $d->$m(lc $x, 4) },
            },
        },
        recvfrom_into => {
            'a folded constant, "x" x 10' => {
                method   => sub { $d->recvfrom_into('x' x 10) },
                function => sub { BSDSocket::Socket::recvfrom_into($d, 'x' x 10) },
                dynamic  => sub { my $m = 'recvfrom_into'; $d->$m('x' x 10) },
            },
            'a folded constant with nbytes' => {
                method   => sub { $d->recvfrom_into('x' x 10, 3) },
                function => sub { BSDSocket::Socket::recvfrom_into($d, 'x' x 10, 3) },
                dynamic  => sub { my $m = 'recvfrom_into'; $d->$m('x' x 10, 3) },
            },
            'a literal' => {
                method   => sub { $d->recvfrom_into('xxxxxxxxxx') },
                function => sub { BSDSocket::Socket::recvfrom_into($d, 'xxxxxxxxxx') },
                dynamic  => sub { my $m = 'recvfrom_into'; $d->$m('xxxxxxxxxx') },
            },
            'a writable temporary, $x . ""' => {
                method   => sub { $d->recvfrom_into($x . '') },
                function => sub { BSDSocket::Socket::recvfrom_into($d, $x . '') },
                dynamic  => sub { my $m = 'recvfrom_into'; $d->$m($x . '') },
            },
            'a temporary, lc $x' => {
                method   => sub { $d->recvfrom_into(lc $x, 4) },
                function => sub { BSDSocket::Socket::recvfrom_into($d, lc $x, 4) },
                dynamic  => sub { my $m = 'recvfrom_into'; $d->$m(lc $x, 4) },
            },
        },
    );
    # What a call did: its result or error, what is left to read, and
    # whether the temporary it was given (a target in the sub's pad) now
    # holds the data: perl writes into a copy, never into the op's target.
    my $describe = sub {
        my ($code) = @_;
        $c->send('HELLO');
        my @r = eval { $code->() };
        my $e = $@;
        my $result = $e ? 'died: ' . (ref $e ? $e->message : $e =~ s/ at \S+ line \d+\.\n\z//r)
                        : 'returned ' . join(',', map { $_ // 'undef' } @r);
        my $left = eval { $d->recv(100, MSG_DONTWAIT) } // 'nothing';
        my @pad = B::svref_2object($code)->PADLIST->ARRAYelt(1)->ARRAY;
        my $written = grep { ref($_) =~ /^B::PV/ && $_->FLAGS & B::SVs_PADTMP && ($_->PV // '') =~ /^HEL/ } @pad;
        return "$result; left '$left'; " . ($written ? 'a temporary of the caller holds the data' : 'no temporary written');
    };
    for my $method (sort keys %calls) {
        for my $what (sort keys %{ $calls{$method} }) {
            my $forms = $calls{$method}{$what};
            my %did = map { $_ => $describe->($forms->{$_}) } qw(method function dynamic);
            is($did{method}, $did{function}, "$method($what): \$s->$method as BSDSocket::Socket::$method")
                or diag "function: $did{function}";
            is($did{dynamic}, $did{function}, "... and as \$s->\$name");
            like($did{function}, qr/^returned [345]\b.*no temporary written/, "... which returned the count, writing only a copy")
                unless $what eq 'a literal';
            like($did{function}, qr/^died: buffer is read-only/, '... which dies: a literal is read-only')
                if $what eq 'a literal';
        }
    }
    is($x, 'abcdefghij', 'the variable behind the temporaries is untouched');
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

# ------------------------------------- a method deleted from the class
#
# The shortcut kept the glob it found when the module loaded: after
# `delete $BSDSocket::Socket::{send}` and a new `sub BSDSocket::Socket::send`
# it still called the XSUB, and after the delete alone it still called it
# where perl dies "Can't locate object method".  Each runs in a perl of
# its own, since it changes the class for good.
{
    my $script = <<'PERL';
use strict;
use warnings;
use BSDSocket;
my ($what) = @ARGV;
my ($c, $d) = BSDSocket::socketpair();
my $before = BSDSocket::_fastcall_count();
$c->send('warm');      # the shortcut was taken, so it knows the method
$d->recv(10);
print 'warm ', BSDSocket::_fastcall_count() - $before, "\n";
delete $BSDSocket::Socket::{send};
if ($what eq 'replaced') {
    eval q{ sub BSDSocket::Socket::send { my $self = shift; "replacement got @_" } 1 } or die $@;
}
for my $form (qw(method dynamic)) {
    my $name = 'send';
    my $r = eval { $form eq 'method' ? $c->send('x') : $c->$name('x') };
    (my $e = $@) =~ s/ at \S+ line \d+\.\n\z//;
    print "$form ", defined $r ? "returned $r" : "died: $e", "\n";
}
print 'sent ', (eval { $d->recv(10, BSDSocket::MSG_DONTWAIT()) } // 'nothing'), "\n";
$before = BSDSocket::_fastcall_count();
$c->sendall('y');
print 'other methods ', BSDSocket::_fastcall_count() - $before, ' ', $d->recv(10), "\n";
PERL
    my %want = (
        replaced => ["warm 2", "method returned replacement got x", "dynamic returned replacement got x",
                     "sent nothing", "other methods 1 y"],
        deleted  => ["warm 2", qq{method died: Can't locate object method "send" via package "BSDSocket::Socket"},
                     qq{dynamic died: Can't locate object method "send" via package "BSDSocket::Socket"},
                     "sent nothing", "other methods 1 y"],
    );
    for my $what (qw(replaced deleted)) {
        open my $from, '-|', perl_cmd('-e', $script, $what) or die "perl: $!";
        chomp(my @lines = <$from>);
        close $from;
        child_ok($?, "a child perl where send was $what ran");
        is_deeply(\@lines, $want{$what},
                  "send $what in the class: the method call does what perl's lookup does");
    }
}

done_testing;
