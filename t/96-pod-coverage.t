use strict;
use warnings;
use Test::More;

# Every public function and method is documented: BSDSocket's functions,
# BSDSocket::Socket's methods (documented in BSDSocket.pm), the poller's
# and the error classes'.  Constants are documented by family in
# BSDSocket's EXPORTS (AF_*, SOCK_*, ...), not one by one.
eval { require Test::Pod::Coverage; Test::Pod::Coverage->VERSION(1.08); 1 }
    or plan skip_all => 'Test::Pod::Coverage 1.08 is not installed (Debian: libtest-pod-coverage-perl)';

use lib 'blib/lib', 'blib/arch';
require BSDSocket;
no warnings 'once';
# BSDSocket::Socket has no file of its own (BSDSocket.pm defines and
# documents it): tell Pod::Coverage's require it is loaded
$INC{'BSDSocket/Socket.pm'} = $INC{'BSDSocket.pm'};
my @constants = map { qr/^\Q$_\E$/ } @BSDSocket::CONSTANT_NAMES;

Test::Pod::Coverage::pod_coverage_ok('BSDSocket', { trustme => \@constants },
                                     'BSDSocket: every function documented');
Test::Pod::Coverage::pod_coverage_ok('BSDSocket::Socket', { pod_from => 'blib/lib/BSDSocket.pm' },
                                     'BSDSocket::Socket: every method documented (in BSDSocket.pm)');
Test::Pod::Coverage::pod_coverage_ok('BSDSocket::Poller', { trustme => \@constants },
                                     'BSDSocket::Poller: every method documented');
Test::Pod::Coverage::pod_coverage_ok('BSDSocket::Error', 'BSDSocket::Error: every accessor documented');

done_testing;
