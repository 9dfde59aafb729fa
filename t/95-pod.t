use strict;
use warnings;
use Test::More;

# Every POD document in the distribution parses cleanly.
eval { require Test::Pod; Test::Pod->VERSION(1.22); 1 }
    or plan skip_all => 'Test::Pod 1.22 is not installed (Debian: libtest-pod-perl)';
Test::Pod::all_pod_files_ok(Test::Pod::all_pod_files(grep { -d } qw(blib lib eg)));
