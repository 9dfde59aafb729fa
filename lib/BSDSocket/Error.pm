package BSDSocket::Error;

use strict;
use warnings;

our $VERSION = '0.01';

# The objects are built in C (src/error.c) as blessed hashes;
# this file only reads them.

use overload
    '""'     => \&as_string,
    '0+'     => sub { $_[0]{errno} // 0 },
    'bool'   => sub { 1 },
    fallback => 1;

# Defined, so freeing an error never goes looking for an AUTOLOAD.
sub DESTROY { }

sub errno   { $_[0]{errno} }
sub errname { $_[0]{errname} }
sub message { $_[0]{message} }
sub op      { $_[0]{op} }
sub address { $_[0]{address} }
sub sent    { $_[0]{sent} }
sub attempts { $_[0]{attempts} }
sub received { $_[0]{received} }
sub file    { $_[0]{file} }
sub line    { $_[0]{line} }

# "connect to 127.0.0.1:80: Connection refused at FILE line N.": the
# address as C put it into words ("sendto 127.0.0.1:9", not "sendto to")
sub as_string {
    my ($self) = @_;
    my $op = $self->{op};
    $op .= ($op =~ /to\z/ ? ' ' : ' to ') . $self->{where} if defined $self->{where};
    my $at = defined $self->{file} ? " at $self->{file} line $self->{line}" : '';
    return "$op: $self->{message}$at.\n";
}

package BSDSocket::Error::Timeout;
our @ISA = ('BSDSocket::Error');
our $VERSION = $BSDSocket::Error::VERSION;

package BSDSocket::Error::GAI;
our @ISA = ('BSDSocket::Error');
our $VERSION = $BSDSocket::Error::VERSION;

package BSDSocket::Error::Host;
our @ISA = ('BSDSocket::Error');
our $VERSION = $BSDSocket::Error::VERSION;

package BSDSocket::Error::EOF;
our @ISA = ('BSDSocket::Error');
our $VERSION = $BSDSocket::Error::VERSION;

1;

__END__

=head1 NAME

BSDSocket::Error - the exceptions BSDSocket dies with

=head1 SYNOPSIS

  use BSDSocket;

  my $s = BSDSocket::socket(AF_INET, SOCK_STREAM);
  eval { $s->connect(['127.0.0.1', 9]); 1 } or do {
      my $e = $@;
      die $e unless ref $e && $e->isa('BSDSocket::Error');
      printf "%s failed: %s (%s)\n", $e->op, $e->message, $e->errname;
      # "connect failed: Connection refused (ECONNREFUSED)"
  };

=head1 DESCRIPTION

Everything BSDSocket dies with is an object of class C<BSDSocket::Error>
or one of its subclasses, never a plain string.  The object is built in C
at the point of failure; this module only gives it accessors and
stringification.  When a system call failed, C<$!> is set to its errno as
well, so C<$!{ECONNREFUSED}> works after the C<eval>.

=head1 METHODS

=head2 errno

  $code = $err->errno

The numeric errno of the failed call (C<EINVAL> for argument errors),
the EAI code for L</BSDSocket::Error::GAI>, the C<h_errno> code for
L</BSDSocket::Error::Host>; C<undef> where no code applies (an unknown
service name).  Compare it with L<Errno> constants, never with the text.

=head2 errname

  $name = $err->errname

The symbolic name of L</errno>: C<'ECONNREFUSED'>, C<'EAI_NONAME'>,
C<'HOST_NOT_FOUND'>; C<undef> when there is none.

=head2 message

  $text = $err->message

The human text: C<strerror>, C<gai_strerror>, C<hstrerror>, or the
module's own words for an argument error (which say what was wrong and
what was given).

=head2 op

  $op = $err->op

What failed: the method or function name (C<'connect'>, C<'recv'>,
C<'getservbyname'>), or C<'address'> when an address value could not be
converted.

=head2 address

  $address = $err->address

The address involved, in its Perl form (see L<BSDSocket/ADDRESSES>), for
C<bind>, C<connect> and C<sendto> failures and for bad address values;
C<undef> otherwise.

=head2 sent

  $bytes = $err->sent

For C<sendall>: how many bytes went out before the failure.  C<undef>
for every other call.

=head2 attempts

  $list = $err->attempts

For C<create_connection>: each address it tried, as
C<[$address, $errno, $message]>.  C<undef> for every other call.

=head2 received

  $bytes = $err->received

For L</BSDSocket::Error::EOF>: how many bytes arrived before the end of
file (they are buffered for the next read).  C<undef> for every other
error.

=head2 file

  $file = $err->file

Where the failing call was made: the caller's file, as C<croak> reports
it (frames inside BSDSocket itself are skipped).

=head2 line

  $line = $err->line

The caller's line number, with L</file>.

=head2 as_string

  $text = $err->as_string       # also "$err"

C<"connect to 127.0.0.1:19997: Connection refused at FILE line N.\n">:
the op, the address when the call has one, the message, the caller's
file and line.  The address reads C<127.0.0.1:80> for IPv4, C<[::1]:80>
for IPv6 (C<[fe80::1%eth0]:80> with a scope), the path for C<AF_UNIX>
(C<@name> for an abstract name), C<family N> for the others;
C<create_connection> names the host and port it was asked for, and its
message each address it tried.  A call without an address reads
C<"recv: Connection reset by peer at FILE line N.\n">.

=head1 OVERLOADING

Stringification gives L</as_string>; numification gives L</errno> (0 when
it is C<undef>); in boolean context the object is always true.

=head1 SUBCLASSES

=head2 BSDSocket::Error::Timeout

A socket timeout expired.  The message is exactly C<timed out>; errno is
C<ETIMEDOUT>.

=head2 BSDSocket::Error::GAI

C<getaddrinfo> or C<getnameinfo> failed, including the host-name lookup
done when an address names a host.  errno is the C<EAI_*> code (negative
on glibc); message is C<gai_strerror>'s text.  C<EAI_SYSTEM> is reported
as the plain C<BSDSocket::Error> for the system errno it stands for.

=head2 BSDSocket::Error::Host

C<gethostbyname> failed.  errno is the C<h_errno> code
(C<HOST_NOT_FOUND>, C<TRY_AGAIN>, C<NO_RECOVERY>, C<NO_DATA>).

=head2 BSDSocket::Error::EOF

C<recv_exact> or C<recv_until> met the peer's end of file before it was
done.  errno is C<undef>; L</received> says how many bytes did arrive,
and the message says it in words (C<"end of file after 3 bytes">).

=head1 SEE ALSO

L<BSDSocket>, L<Errno>

=head1 LICENSE

This library is free software; you can redistribute it and/or modify it
under the same terms as Perl itself.

=cut
