package BSDSocket;

use 5.010;
use strict;
use warnings;

our $VERSION = '0.01';

require XSLoader;
XSLoader::load('BSDSocket', $VERSION);

require BSDSocket::Error;

# Filled by the XS BOOT section: every constant name, defined here or not.
our @CONSTANT_NAMES;

# Functions are exported only on request; several shadow Perl builtins.
my @FUNCTIONS = qw(socket socketpair fromfd gethostbyname getservbyname error);

use Exporter 'import';
our @EXPORT      = ((grep { /^SOCK_/ } @CONSTANT_NAMES),
                    qw(AF_UNSPEC AF_UNIX AF_INET AF_INET6));
our @EXPORT_OK   = (@CONSTANT_NAMES, @FUNCTIONS);
our %EXPORT_TAGS = (
    constants => [@CONSTANT_NAMES],
    functions => [@FUNCTIONS],
    all       => [@CONSTANT_NAMES, @FUNCTIONS],
);

# The class every error is (or inherits from), so that
# $@->isa(BSDSocket::error) reads like the seed's "except socket.error".
sub error () { 'BSDSocket::Error' }

1;
