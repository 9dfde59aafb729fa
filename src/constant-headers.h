/*
 * constant-headers.h - the system headers BSDSocket's constants come from.
 *
 * BSDSocket.xs includes this file to compile its table of constants, and
 * xt/update-constants.pl reads its unindented #include lines to ask the
 * preprocessor which constants these headers define (the Linux-only ones
 * below, indented, have their names listed there by hand).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <netdb.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#ifdef BSD_HAVE_LINUX_FAMILIES     /* (bsd-config.h: Makefile.PL found them) */
#  include <netpacket/packet.h>
#  include <linux/if_ether.h>
#  include <linux/netlink.h>
#  include <linux/vm_sockets.h>
#  include <linux/if_alg.h>
#endif

/* The room for an AF_UNIX path (sun_path), under the name Linux's
 * <linux/un.h> gives it: every platform has one, few name it. */
#ifndef UNIX_PATH_MAX
#  define UNIX_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))
#endif
