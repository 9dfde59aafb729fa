use strict;
use warnings;
use Test::More;
use Errno qw(EINVAL);

use lib 't/lib';
use BSDTest;
use BSDSocket qw(:constants);

# gethostbyname: /etc/hosts and literals only, never DNS
is(BSDSocket::gethostbyname('localhost'), '127.0.0.1', 'localhost');
is(BSDSocket::gethostbyname('10.1.2.3'), '10.1.2.3', 'an IPv4 literal comes back unchanged');
is(BSDSocket::gethostbyname(''), '0.0.0.0', "'' is INADDR_ANY");
is(BSDSocket::gethostbyname('<broadcast>'), '255.255.255.255', "'<broadcast>'");
{
    my $host = no_dns_host();
    my $e = dies_with(sub { BSDSocket::gethostbyname($host) }, class => 'BSDSocket::Error::Host',
                      op => 'gethostbyname', message => qr/\Q$host\E/,
                      name => 'an unknown host dies with BSDSocket::Error::Host');
    ok($e && defined $e->errname && $e->errname =~ /^(HOST_NOT_FOUND|NO_RECOVERY|NO_DATA|TRY_AGAIN)$/,
       'its errname is an h_errno name: ' . ($e && $e->errname // 'undef'));
    ok($e && $e->isa(BSDSocket::error), '... and it isa BSDSocket::error');
}
dies_with(sub { BSDSocket::gethostbyname("local\0host") }, errno => EINVAL, op => 'gethostbyname',
          message => qr/NUL character inside host name/, name => 'NUL inside a name dies');
dies_with(sub { BSDSocket::gethostbyname(undef) }, errno => EINVAL, op => 'gethostbyname',
          message => qr/host name must be a string/, name => 'undef dies');
dies_with(sub { BSDSocket::gethostbyname("\x{263a}") }, errno => EINVAL, op => 'gethostbyname',
          message => qr/Wide character in gethostbyname/, name => 'a wide character dies');

SKIP: {
    skip 'no /etc/services (Debian: netbase)', 7 unless -r '/etc/services';
    is(BSDSocket::getservbyname('http', 'tcp'), 80, 'getservbyname http/tcp');
    is(BSDSocket::getservbyname('domain', 'udp'), 53, 'getservbyname domain/udp');
    is(BSDSocket::getservbyname('ssh'), 22, 'getservbyname with any protocol');
    is(BSDSocket::getservbyname('ssh', undef), 22, '... undef protocol is any');
    my $e = dies_with(sub { BSDSocket::getservbyname('no-such-service') }, op => 'getservbyname',
                      errno => undef, message => qr/service 'no-such-service' not found/,
                      name => 'an unknown service dies');
    dies_with(sub { BSDSocket::getservbyname('http', 'nosuchproto') }, op => 'getservbyname',
              message => qr/for protocol nosuchproto/, name => 'an unknown protocol dies');
    dies_with(sub { BSDSocket::getservbyname("ht\0tp") }, op => 'getservbyname', errno => EINVAL,
              message => qr/NUL character inside service/, name => 'NUL inside a service name dies');
}

done_testing;
