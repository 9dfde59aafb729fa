#!/usr/bin/perl
# Passing an open file descriptor to another process over AF_UNIX.
#   perl -Mblib eg/fd-passing.pl
# The parent opens a file for writing and hands the descriptor to a
# child over a socketpair (SCM_RIGHTS).  The child never opened the file
# (it does not even know its name): it writes through the descriptor it
# received, and the parent reads the file back.
use strict;
use warnings;
use BSDSocket qw(:DEFAULT);
use File::Temp ();

my ($parent_end, $child_end) = BSDSocket::socketpair(AF_UNIX, SOCK_STREAM);
my $pid = fork // die "fork: $!";
if (!$pid) {
    $parent_end->close;
    my ($note, $handles) = $child_end->recv_fds(1024, 1);     # the handle owns the fd
    my $fh = $handles->[0];
    print {$fh} "Written by process $$, who was told: $note\n";
    close $fh;
    $child_end->send('done');
    exit 0;
}
$child_end->close;

my $tmp = File::Temp->new;
open my $out, '>', $tmp->filename or die "$tmp: $!";
$parent_end->send_fds(['write here, please'], [$out]);
close $out;                       # the child has its own copy of the descriptor
$parent_end->recv(10) eq 'done' or die "the child did not finish\n";
waitpid $pid, 0;

open my $in, '<', $tmp->filename or die $!;
print "The file now says: ", <$in>;
exit $?;
