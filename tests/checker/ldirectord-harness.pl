#!/usr/bin/perl
# Runs an external-perl check file in-process the way ldirectord does, with
# ldirectord's own loader: check_external_perl is taken from the installed
# /usr/sbin/ldirectord and run with stubs for its logging and IPVS calls.
#
# usage: ldirectord-harness.pl FILE VIP VPORT RIP RPORT
# Prints "up", or "down: MESSAGE" (what the check died with), twice: the
# second call runs the cached sub and shows ldirectord survived the first.
# Exits 77 when ldirectord is not installed.
use strict;
use warnings;

my ($file, @args) = @ARGV;
my $ldirectord = $ENV{LDIRECTORD} // '/usr/sbin/ldirectord';
open(my $fh, '<', $ldirectord) or exit 77;
my $src = do { local $/; <$fh> };
close($fh);
$src =~ /^(sub check_external_perl\n\{\n.*?^\}\n)/ms or die "check_external_perl not found in $ldirectord\n";
my $loader = $1;

our %check_external_perl__funcs;
my ($status, $log);
no warnings 'once';
*main::service_set = sub { $status = $_[2] };
*main::ld_debug = sub { $log .= "$_[1]\n" };
eval "no strict; no warnings; $loader; 1" or die "cannot load check_external_perl: $@";

for my $round (1, 2) {
    my $v = { checkcommand => $file, checktimeout => 10, port => $args[1] };
    if ($args[0] =~ /\A[0-9]+\z/) { $v->{fwm} = $args[0] } else { $v->{server} = $args[0] }
    my $r = { server => $args[2], port => $args[3] };
    ($status, $log) = (undef, '');
    main::check_external_perl($v, $r);
    if (!defined $status) {
        print "no result\n";
    } elsif ($status eq 'up') {
        print "up\n";
    } else {
        my ($why) = $log =~ /: (.*?)\n after calling/s;
        print "down: ", ($why // $log), "\n";
    }
}
