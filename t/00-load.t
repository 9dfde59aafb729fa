use strict;
use warnings;
use Test::More;

BEGIN { use_ok('BSDSocket') }

ok(defined $BSDSocket::VERSION, "version $BSDSocket::VERSION");
is($BSDSocket::Error::VERSION, $BSDSocket::VERSION, 'BSDSocket::Error has the same version');
is(BSDSocket::error(), 'BSDSocket::Error', 'BSDSocket::error names the error class');

# what "use BSDSocket" gives by default: the families and SOCK_* constants,
# and no function (several would shadow perl builtins)
{
    package Default;
    BSDSocket->import;
    ::ok(defined &Default::AF_INET && defined &Default::AF_UNIX, 'AF_INET and AF_UNIX by default');
    ::ok(defined &Default::SOCK_STREAM && defined &Default::SOCK_DGRAM
         && defined &Default::SOCK_SEQPACKET, 'SOCK_* by default');
    ::ok(!defined &Default::socket, 'socket() is not exported by default');
    ::ok(!defined &Default::gethostbyname, 'gethostbyname() is not exported by default');
    ::ok(!defined &Default::SOL_SOCKET, 'option constants are not exported by default');
}
{
    package Tags;
    BSDSocket->import(qw(:functions :constants));
    ::ok(defined &Tags::socket && defined &Tags::fromfd && defined &Tags::socketpair,
         ':functions exports the functions');
    ::ok(defined &Tags::SO_REUSEADDR && defined &Tags::MSG_PEEK && defined &Tags::INADDR_ANY,
         ':constants exports the constants');
}
{
    package All;
    BSDSocket->import(':all');
    ::ok(defined &All::getservbyname && defined &All::SHUT_WR, ':all exports both');
}
ok(!eval { BSDSocket->import('no_such_name'); 1 }, 'importing an unknown name fails');

done_testing;
