package BSDSocket::Poller;

use 5.010;
use strict;
use warnings;

our $VERSION = '0.01';

require BSDSocket;    # the XS half of this class lives in BSDSocket.so

# The event constants, for "use BSDSocket::Poller qw(POLLIN POLLOUT)".
my @EVENTS = qw(POLLIN POLLPRI POLLOUT POLLERR POLLHUP POLLRDHUP);
use Exporter 'import';
our @EXPORT_OK   = @EVENTS;
our %EXPORT_TAGS = (events => [@EVENTS]);
{
    no strict 'refs';
    *{$_} = \&{"BSDSocket::$_"} for @EVENTS;
}

sub new {
    my ($class, @opt) = @_;
    BSDSocket::_die_arg('Poller->new', 'options come in name => value pairs') if @opt % 2;
    my %opt = @opt;
    my $backend = delete $opt{backend};
    BSDSocket::_die_arg('Poller->new', 'unknown option ' . join(', ', map { "'$_'" } sort keys %opt))
        if %opt;
    BSDSocket::_die_arg('Poller->new', "backend must be 'epoll' or 'poll', got "
                                      . (defined $backend ? "'$backend'" : 'undef'))
        if @opt && !(defined $backend && ($backend eq 'epoll' || $backend eq 'poll'));
    return _new(ref $class || $class, defined $backend ? $backend : ());
}

1;

__END__

=head1 NAME

BSDSocket::Poller - wait on many sockets at once (epoll, or poll)

=head1 SYNOPSIS

  use BSDSocket qw(:all);

  my $poller = BSDSocket::Poller->new;
  $poller->register($listener, POLLIN);
  my @ready;
  while (1) {
      $poller->poll_items(\@ready, 1.5);     # each is ready to read
      for my $item (@ready) {
          if ($item == $listener) {
              my $conn = $listener->accept;
              $poller->register($conn, POLLIN);
          }
          else {
              my $data = $item->recv(4096);   # data, or '' at the end
              if (length $data) { $item->sendall($data) }
              else { $poller->unregister($item); $item->close }
          }
      }
  }

  # the events too, where an item waits for more than one thing
  for my $ready ($poller->poll(1.5)) {
      my ($item, $events) = @$ready;
      ...
  }

=head1 DESCRIPTION

A poller watches any number of sockets, Perl handles and fds, and says
which are ready.  It is C<epoll> on Linux (one system call per wait,
whatever the number of registrations) and C<poll> elsewhere; neither has
C<select>'s limit of 1024 descriptors.  Readiness is level-triggered: an
item is reported on every C<poll> for as long as it is ready.

An item is a L<BSDSocket> socket object, a Perl handle (a glob, a
reference to one, an L<IO::Handle> object such as an L<IO::Socket>) or a
plain fd number.  Each fd can be registered once.

A socket or handle closed while registered is never reported, and
neither is whatever file later gets its fd number: before an event is
handed out, the poller checks that the socket object or handle still has
the fd it was registered with, and for a handle or a plain fd number,
that the fd is still the same file.  A closed one is dropped from the
poller there; unregistering before closing is still the tidy way, and
frees the registration at once.  A handle that C<open> has pointed at
another file counts as closed too: register it again.

Errors are L<BSDSocket::Error> objects, as everywhere in BSDSocket.

=head1 CONSTANTS

C<POLLIN> (data to read, or a connection to accept, or end of file),
C<POLLPRI> (urgent data), C<POLLOUT> (room to write), C<POLLRDHUP> (the
peer shut down its writing side), and, reported whether asked for or not,
C<POLLERR> (an error is pending: C<getsockopt(SOL_SOCKET, SO_ERROR)> or
the next call says which) and C<POLLHUP> (hung up).  They are
BSDSocket's constants; this module exports them on request too
(C<use BSDSocket::Poller qw(:events)>).

=head1 METHODS

=head2 new

  $poller = BSDSocket::Poller->new
  $poller = BSDSocket::Poller->new(backend => 'poll')

A new, empty poller.  Without C<backend> it uses epoll where the kernel
has it and poll otherwise (L</backend> tells which).  C<< backend =>
'epoll' >> insists: on a kernel without epoll it dies with C<ENOSYS>
rather than quietly using poll; C<< backend => 'poll' >> always works.
The epoll instance is close-on-exec.  Dies with C<EMFILE> when out of
descriptors, EINVAL for an unknown option or backend.

=head2 register

  $poller->register($item, $events, $data?)

Starts watching C<$item> for C<$events> (C<POLLIN>, C<POLLOUT>, ...
or'd together).  C<poll> reports C<$data> for it when given and defined
(any scalar: a reference to your connection state, say), else the item
itself.
Registering an fd that is registered already dies with EINVAL (use
L</modify>); an item that is not open dies with C<EBADF>; a regular file
dies with C<EPERM> under epoll (it is always ready).  The poller keeps a
copy of C<$item> (the same object) and of C<$data> until the item is
unregistered.

=head2 modify

  $poller->modify($item, $events, $data?)

Changes what a registered item is watched for, and its data (left out,
C<poll> reports the item itself again).  Dies with C<ENOENT> if the
item is not registered.

=head2 unregister

  $poller->unregister($item)

Stops watching C<$item>.  Works for a socket or handle that has been
closed since it was registered.  Dies with C<ENOENT> if it is not
registered.

=head2 poll

  @ready = $poller->poll($timeout = undef)

Waits until at least one registered item is ready, or C<$timeout>
seconds pass (C<undef>: as long as it takes; 0: just look), and returns
one C<[$data // $item, $events]> pair for each ready one (an empty list
when the time ran out).  C<$events> are the C<POLL*> bits that hold now,
C<POLLERR> and C<POLLHUP> included.  A UDP socket holding datagrams that
C<recv_many> left (see L<BSDSocket/BATCHES>) is ready for C<POLLIN>,
whatever its descriptor says.  Signals run Perl's handlers and the
wait goes on with what is left of the timeout, as every BSDSocket call
that waits does; a handler may register and unregister items (what it
unregisters is not reported).

=head2 poll_into

  $count = $poller->poll_into(\@ready, $timeout = undef)

As L</poll>, into an array of yours: C<@ready> ends up holding the
C<[$data // $item, $events]> pairs (and nothing else), and the count is
returned.  The pairs from the last call that nothing else holds are
filled again in place, so a loop that calls C<poll_into> with the same
array allocates nothing per event (L</poll> makes new pairs each time).
A pair you kept (C<< my $pair = $ready[0] >>) is left alone, and a new
one takes its place.  The array must be a plain array: a tied or
read-only one dies C<EINVAL>.

=head2 poll_items

  $count = $poller->poll_items(\@ready, $timeout = undef)

As L</poll_into>, with the ready items alone: C<@ready> ends up holding
C<$data // $item> for each ready registration, without its events, and
the count is returned.  That is all a loop needs when each item waits
for one thing, as the SYNOPSIS's wait for C<POLLIN>: an item reported is
ready to read, or at its end (C<POLLHUP>: C<recv> returns C<''>), or has
an error pending (C<POLLERR>: C<recv> dies with it; a server that must
outlive a client's reset catches that with C<eval>).  The scalars from
the last call that nothing else holds take the new items in place, so
C<for my $item (@ready)> allocates nothing, and there is no pair to
unpack: this is the cheapest loop there is (see L<BSDSocket/PERFORMANCE>:
in W5's echo server, 2003 user-space instructions a round trip, against
3181 with C<poll_into> and 4076 with C<poll>).  The same rules for the
array as for C<poll_into>.

=head2 count

  $n = $poller->count

How many items are registered.

=head2 backend

  $name = $poller->backend     # 'epoll' or 'poll'

=head2 fileno

  $fd = $poller->fileno

The epoll instance's fd (-1 with the poll backend): it is readable when
any registered item is ready, so a poller can itself be registered with
another event loop.

The number stays the same for the poller's life, but one thing replaces
the epoll instance behind it: a registered socket or handle closed while
a dup of its file lives on (a C<makefile> handle, a C<dup>, a forked
child's copy).  epoll keeps watching that file and offers no way to drop
it without an fd for it, so the poller builds its set again on a new
instance, moved onto the same number.  Loops built on C<poll> or
C<select> (L<IO::Select>, AnyEvent's pure-Perl loop) carry on unaware;
one built on epoll (another poller, L<EV>) loses its registration of the
old instance and must add the fd again.  Unregistering before closing
avoids the rebuild altogether.

=head2 close

  $poller->close

Closes the epoll instance and forgets every registration.  Idempotent;
every other later call dies with C<EBADF>.  A poller that goes out of
scope closes itself.

=head1 THREADS AND FORK

A poller does not cross into a new Perl thread: the thread's copy is
closed.  After C<fork>, parent and child share the epoll instance (the
kernel's, not the registrations this object keeps): use it in one of
them, and make a new one in the other.

=head1 SEE ALSO

L<BSDSocket> (C<BSDSocket::select> for a few items at a time),
L<epoll(7)>, L<poll(2)>.

=head1 LICENSE

Same terms as Perl itself.

=cut
