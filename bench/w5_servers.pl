#!/usr/bin/perl
# w5_servers.pl VARIANT
#
# W5's Perl echo servers for bench/run.pl.  Each listens on 127.0.0.1 on
# a port the kernel picks, prints the port on a line of its own, and
# echoes whatever comes on every connection until it is stopped: the load
# generator in bench/c_workloads.c (c_workloads w5 N SERVER-COMMAND...)
# starts it, times it and stops it (SIGTERM).
#   VARIANT: poller            BSDSocket::Poller, its SYNOPSIS's loop as it is
#            bsdsocket_ev      BSDSocket sockets watched by EV
#            bsdsocket_ioasync BSDSocket sockets watched by IO::Async::Loop
#            ev_iosocket       IO::Socket::INET watched by EV
#            iopoll            IO::Socket::INET on IO::Poll
#            mojo              Mojo::IOLoop->server
# Each reads what a ready socket has (up to 4096 bytes) and writes it all
# back, blocking until it has gone, as the Poller SYNOPSIS does with
# recv(4096) and sendall; Mojo::IOLoop buffers its writes itself.  The
# event loops are loaded only by the variants that use them, so a missing
# one fails its own variant alone (run.pl leaves those out beforehand).
# C's and Python's servers are in bench/c_workloads.c (w5serve) and
# bench/py_workloads.py (w5serve).
use strict;
use warnings;
use BSDSocket qw(:all);
use IO::Socket::INET ();

my ($variant) = @ARGV;
my $code = $variant && main->can("w5_$variant")
    or die "usage: $0 poller|bsdsocket_ev|bsdsocket_ioasync|ev_iosocket|iopoll|mojo\n";
$code->();

# the port, for the load generator, once the server is listening
sub ready {
    my ($port) = @_;
    local $| = 1;
    print "$port\n";
}

sub bsdsocket_listener { BSDSocket::create_server(['127.0.0.1', 0]) }

sub iosocket_listener {
    return IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1024,
                                 ReuseAddr => 1) || die "listen: $@\n";
}

# syswrite until all of $data has gone, as sendall does
sub syswrite_all {
    my ($sock, $data) = @_;
    my $off = 0;
    $off += $sock->syswrite($data, length($data) - $off, $off) // die "syswrite: $!\n"
        while $off < length $data;
}

sub w5_poller {
    my $listener = bsdsocket_listener();
    ready($listener->getsockname->[1]);
    my $poller = BSDSocket::Poller->new;
    $poller->register($listener, POLLIN);
    my @ready;
    while (1) {
        $poller->poll_items(\@ready, 1.5);
        for my $item (@ready) {
            if ($item == $listener) {
                my $conn = $listener->accept;
                $poller->register($conn, POLLIN);
            }
            else {
                my $data = $item->recv(4096);
                if (length $data) { $item->sendall($data) }
                else { $poller->unregister($item); $item->close }
            }
        }
    }
}

# EV and IO::Async take the socket object itself: it is a Perl handle
sub w5_bsdsocket_ev {
    require EV;
    my $listener = bsdsocket_listener();
    my %watchers;    # by fd: a watcher lives as long as it is referenced
    my $accepting = EV::io($listener, EV::READ(), sub {
        my $conn = $listener->accept;
        my $fd = $conn->fileno;
        $watchers{$fd} = EV::io($conn, EV::READ(), sub {
            my $data = $conn->recv(4096);
            if (length $data) { $conn->sendall($data) }
            else { delete $watchers{$fd}; $conn->close }
        });
    });
    ready($listener->getsockname->[1]);
    EV::run();
}

sub w5_bsdsocket_ioasync {
    require IO::Async::Loop;
    my $loop = IO::Async::Loop->new;
    my $listener = bsdsocket_listener();
    $loop->watch_io(handle => $listener, on_read_ready => sub {
        my $conn = $listener->accept;
        $loop->watch_io(handle => $conn, on_read_ready => sub {
            my $data = $conn->recv(4096);
            if (length $data) { $conn->sendall($data) }
            else { $loop->unwatch_io(handle => $conn, on_read_ready => 1); $conn->close }
        });
    });
    ready($listener->getsockname->[1]);
    $loop->run;
}

sub w5_ev_iosocket {
    require EV;
    my $listener = iosocket_listener();
    my %watchers;
    my $accepting = EV::io($listener, EV::READ(), sub {
        my $conn = $listener->accept or die "accept: $!\n";
        my $fd = $conn->fileno;
        $watchers{$fd} = EV::io($conn, EV::READ(), sub {
            my $got = $conn->sysread(my $data, 4096) // die "sysread: $!\n";
            if ($got) { syswrite_all($conn, $data) }
            else { delete $watchers{$fd}; $conn->close }
        });
    });
    ready($listener->sockport);
    EV::run();
}

sub w5_iopoll {
    require IO::Poll;
    my ($in, $ready) = (IO::Poll::POLLIN(), IO::Poll::POLLIN() | IO::Poll::POLLHUP() | IO::Poll::POLLERR());
    my $listener = iosocket_listener();
    my $poll = IO::Poll->new;
    $poll->mask($listener => $in);
    ready($listener->sockport);
    while (1) {
        $poll->poll(1.5) // die "poll: $!\n";
        for my $sock ($poll->handles($ready)) {
            if ($sock == $listener) {
                my $conn = $listener->accept or die "accept: $!\n";
                $poll->mask($conn => $in);
                next;
            }
            my $got = $sock->sysread(my $data, 4096) // die "sysread: $!\n";
            if ($got) { syswrite_all($sock, $data) }
            else { $poll->remove($sock); $sock->close }
        }
    }
}

sub w5_mojo {
    require Mojo::IOLoop;
    # (its default, 1000 connections at once, is W5's number exactly)
    Mojo::IOLoop->singleton->max_connections(10_000);
    my $id = Mojo::IOLoop->server({address => '127.0.0.1', port => 0}, sub {
        my ($loop, $stream) = @_;
        $stream->on(read => sub { $_[0]->write($_[1]) });
    });
    ready(Mojo::IOLoop->acceptor($id)->port);
    Mojo::IOLoop->start;
}
